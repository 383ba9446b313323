//! `drover alloc exec [-i] [-t] [-task NAME] [-job] <alloc|job> <command> [args…]`: Nomad's `alloc exec` — runs a
//! command inside a running task over the exec websocket, relaying stdin, stdout and stderr (on a raw
//! local terminal with `-t`), and exits with the command's exit code.

use std::io::{IsTerminal, Write};

use futures::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message;

use crate::api::exec::{ExecFrame, StreamFrame, TtySize};

use super::alloc_task::lookup;
use super::api_client::{enc, ApiClient};
use super::exec_escape::EscapeFilter;

#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// Pass stdin to the command (default true; -i=false to close it at once)
    #[arg(short = 'i', long = "i", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub stdin: bool,
    /// Run the command on a pseudo-terminal (default: when stdin is a terminal)
    #[arg(short = 't', long = "t", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub tty: Option<bool>,
    /// Escape character for sessions on a terminal: at a line start, `<e>.` ends the session ("none" turns it off)
    #[arg(short = 'e', long = "e", value_name = "CHAR", default_value = "~")]
    pub escape: String,
    /// The task to run the command in (needed when the allocation has several)
    #[arg(long = "task", value_name = "NAME")]
    pub task: Option<String>,
    /// Take the first running allocation of this job; the first argument is then the job id
    #[arg(long)]
    pub job: bool,
    /// Allocation id (or unique prefix), or with -job the job id
    pub alloc: String,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// What the stdin reader passes to the session: a frame to send, or the escape sequence that ends it.
enum Input {
    Frame(ExecFrame),
    Quit,
}

/// Puts the local terminal in raw mode for the life of the value.
struct RawTerminal(Option<nix::sys::termios::Termios>);

impl RawTerminal {
    fn enable() -> Self {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(&stdin) else { return Self(None) };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        if tcsetattr(&stdin, SetArg::TCSANOW, &raw).is_err() {
            return Self(None);
        }
        Self(Some(saved))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(std::io::stdin(), nix::sys::termios::SetArg::TCSANOW, saved);
        }
    }
}

fn terminal_size() -> Option<TtySize> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize into a valid local.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_row > 0).then_some(TtySize { height: ws.ws_row, width: ws.ws_col })
}

/// The websocket URL for an API address (`http://h:p` → `ws://h:p`).
pub fn ws_url(address: &str, path: &str) -> String {
    let base = address.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        format!("ws://{base}")
    };
    format!("{base}{path}")
}

/// Runs the command; returns the CLI's exit code (the command's, or 1 with a one-line error).
pub async fn run(api: &ApiClient, address: &str, a: ExecArgs) -> i32 {
    match exec(api, address, a).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

/// The first running allocation of a job.
async fn job_alloc(api: &ApiClient, job: &str) -> Result<String, String> {
    let allocs: Vec<serde_json::Value> = api.get(&format!("/v1/job/{}/allocations", enc(job))).await.map_err(|e| e.to_string())?;
    allocs
        .iter()
        .find(|a| a["ClientStatus"] == "running")
        .and_then(|a| a["ID"].as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("job \"{job}\" has no running allocation"))
}

async fn exec(api: &ApiClient, address: &str, a: ExecArgs) -> Result<i32, String> {
    let mut escape = EscapeFilter::new(&a.escape)?;
    let alloc_id = if a.job { job_alloc(api, &a.alloc).await? } else { a.alloc.clone() };
    let alloc = lookup(api, &alloc_id).await?;
    let task = match (a.task, alloc.tasks.as_slice()) {
        (Some(t), _) => {
            alloc.check(&t)?;
            t
        }
        (None, [one]) => one.clone(),
        (None, tasks) => return Err(format!("Please specify the task with -task; the allocation has tasks {}", tasks.join(", "))),
    };
    let tty = a.tty.unwrap_or_else(|| std::io::stdin().is_terminal());
    let command = serde_json::to_string(&a.command).map_err(|e| e.to_string())?;
    let path = format!("/v1/client/allocation/{}/exec?task={}&tty={tty}&command={}", enc(&alloc.id), enc(&task), enc(&command));
    let url = ws_url(address, &path);
    let request = api.websocket_request(&url).map_err(|e| format!("bad exec URL {url}: {e}"))?;
    let (ws, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| match e {
        tokio_tungstenite::tungstenite::Error::Http(resp) => {
            let body = resp.body().as_deref().map(|b| String::from_utf8_lossy(b).trim().to_string()).unwrap_or_default();
            format!("{}: {body}", resp.status().as_u16())
        }
        e => format!("could not reach {address}: {e}"),
    })?;
    let (mut tx, mut rx) = ws.split();
    let _raw = (tty && a.stdin && std::io::stdin().is_terminal()).then(RawTerminal::enable);
    if tty {
        if let Some(size) = terminal_size() {
            let f = ExecFrame { tty_size: Some(size), ..Default::default() };
            tx.send(Message::Text(f.to_json().into())).await.map_err(|e| e.to_string())?;
        }
    }
    let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<Input>(16);
    if !tty {
        escape = EscapeFilter::new("none")?;
    }
    if a.stdin {
        tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let typed = escape.filter(&buf[..n]);
                        if !typed.send.is_empty() {
                            let f = ExecFrame { stdin: Some(StreamFrame::data(&typed.send)), ..Default::default() };
                            if in_tx.send(Input::Frame(f)).await.is_err() {
                                return;
                            }
                        }
                        if typed.close {
                            // `~.`: the session ends here, as ssh's does.
                            let _ = in_tx.send(Input::Quit).await;
                            return;
                        }
                    }
                }
            }
            let _ = in_tx.send(Input::Frame(ExecFrame { stdin: Some(StreamFrame::close()), ..Default::default() })).await;
        });
    } else {
        let _ = in_tx.send(Input::Frame(ExecFrame { stdin: Some(StreamFrame::close()), ..Default::default() })).await;
        drop(in_tx);
    }
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut input_open = true;
    loop {
        tokio::select! {
            frame = in_rx.recv(), if input_open => match frame {
                Some(Input::Frame(f)) => {
                    if tx.send(Message::Text(f.to_json().into())).await.is_err() {
                        input_open = false;
                    }
                }
                Some(Input::Quit) => {
                    let _ = tx.close().await;
                    drop(_raw);
                    eprintln!("\nConnection to the task closed (escape sequence).");
                    return Ok(0);
                }
                None => input_open = false,
            },
            msg = rx.next() => {
                let msg = match msg {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return Err(format!("exec session failed: {e}")),
                    None => return Err("exec session ended without an exit code".into()),
                };
                match msg {
                    Message::Text(t) => {
                        let Ok(f) = serde_json::from_str::<ExecFrame>(t.as_str()) else { continue };
                        if let Some(out) = f.stdout {
                            let _ = stdout.write_all(&out.bytes());
                            let _ = stdout.flush();
                        }
                        if let Some(err) = f.stderr {
                            let _ = stderr.write_all(&err.bytes());
                            let _ = stderr.flush();
                        }
                        if f.exited {
                            let _ = tx.close().await;
                            return Ok(f.result.map(|r| r.exit_code).unwrap_or(0));
                        }
                    }
                    Message::Close(frame) => {
                        let reason = frame.map(|f| f.reason.as_str().to_string()).filter(|r| !r.is_empty());
                        return Err(reason.unwrap_or_else(|| "exec session closed without an exit code".into()));
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ws_url;

    #[test]
    fn websocket_urls() {
        assert_eq!(ws_url("http://127.0.0.1:4646/", "/v1/x"), "ws://127.0.0.1:4646/v1/x");
        assert_eq!(ws_url("https://h:1", "/p"), "wss://h:1/p");
        assert_eq!(ws_url("h:1", "/p"), "ws://h:1/p");
    }
}
