//! `alloc exec -e`: the escape character of a terminal session (ssh's `~.`): at the start of a line,
//! the escape character followed by `.` ends the session; typed twice it sends itself once.

/// Follows the bytes typed into a session and takes out escape sequences.
#[derive(Debug, Clone)]
pub struct EscapeFilter {
    escape: Option<u8>,
    at_line_start: bool,
    pending: bool,
}

/// What a chunk of typed input became.
#[derive(Debug, PartialEq, Eq)]
pub struct Filtered {
    /// The bytes to send to the command.
    pub send: Vec<u8>,
    /// The user asked to end the session.
    pub close: bool,
}

impl EscapeFilter {
    /// `spec` is the `-e` value: one character, or `none` to turn escapes off.
    pub fn new(spec: &str) -> Result<Self, String> {
        let escape = match spec {
            "none" => None,
            s if s.len() == 1 && s.is_ascii() => Some(s.as_bytes()[0]),
            s => return Err(format!("-e must be a single ASCII character or \"none\", not {s:?}")),
        };
        Ok(Self { escape, at_line_start: true, pending: false })
    }

    pub fn filter(&mut self, input: &[u8]) -> Filtered {
        let Some(esc) = self.escape else {
            return Filtered { send: input.to_vec(), close: false };
        };
        let mut send = Vec::with_capacity(input.len());
        for &b in input {
            if self.pending {
                self.pending = false;
                match b {
                    b'.' => return Filtered { send, close: true },
                    b if b == esc => {
                        send.push(esc);
                        self.at_line_start = false;
                        continue;
                    }
                    _ => send.push(esc),
                }
            } else if self.at_line_start && b == esc {
                self.pending = true;
                continue;
            }
            send.push(b);
            self.at_line_start = b == b'\r' || b == b'\n';
        }
        Filtered { send, close: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &mut EscapeFilter, s: &str) -> (String, bool) {
        let r = f.filter(s.as_bytes());
        (String::from_utf8(r.send).unwrap(), r.close)
    }

    #[test]
    fn tilde_dot_at_line_start_closes() {
        let mut f = EscapeFilter::new("~").unwrap();
        assert_eq!(run(&mut f, "ls\r"), ("ls\r".into(), false));
        assert_eq!(run(&mut f, "~"), ("".into(), false));
        assert_eq!(run(&mut f, "."), ("".into(), true));
    }

    #[test]
    fn escape_elsewhere_is_plain_input() {
        let mut f = EscapeFilter::new("~").unwrap();
        assert_eq!(run(&mut f, "cd ~.x\r"), ("cd ~.x\r".into(), false));
        assert_eq!(run(&mut f, "~~.\r"), ("~.\r".into(), false));
        assert_eq!(run(&mut f, "~a"), ("~a".into(), false));
    }

    #[test]
    fn other_characters_and_none() {
        let mut f = EscapeFilter::new("^").unwrap();
        assert_eq!(run(&mut f, "^."), ("".into(), true));
        let mut off = EscapeFilter::new("none").unwrap();
        assert_eq!(run(&mut off, "~."), ("~.".into(), false));
        assert!(EscapeFilter::new("ab").is_err());
    }
}
