//! Parsing a `WWW-Authenticate` header: the scheme (`Basic`, `Bearer`) and its `key="value"` parameters.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    /// `realm` is the token endpoint; `service` and `scope` are passed to it.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// The first challenge of a `WWW-Authenticate` value we can answer, if any.
pub fn parse(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(char::is_whitespace).unwrap_or((header, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let mut params = params(rest);
            let realm = params.remove("realm").filter(|r| !r.is_empty())?;
            Some(Challenge::Bearer { realm, service: params.remove("service"), scope: params.remove("scope") })
        }
        _ => None,
    }
}

/// `key="quoted, value",key2=token` → map (keys lower-cased, `\"` unescaped).
fn params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.trim().is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            continue;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>().trim().to_string();
        }
        out.insert(key.trim().to_ascii_lowercase(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_quoted_commas() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#;
        assert_eq!(
            parse(h),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
            })
        );
    }

    #[test]
    fn bearer_unquoted_spaces_and_case() {
        let h = r#"bearer Realm=http://127.0.0.1:9/token , error="invalid_token", SERVICE="a \"b\"""#;
        assert_eq!(
            parse(h),
            Some(Challenge::Bearer { realm: "http://127.0.0.1:9/token".into(), service: Some(r#"a "b""#.into()), scope: None })
        );
    }

    #[test]
    fn basic_and_unknown() {
        assert_eq!(parse(r#"Basic realm="basic-realm""#), Some(Challenge::Basic));
        assert_eq!(parse("Negotiate abc"), None);
        assert_eq!(parse(r#"Bearer service="x""#), None, "a bearer challenge needs a realm");
        assert_eq!(parse(""), None);
    }
}
