//! Nomad's `alloc exec` websocket frames (JSON text messages): input `{"stdin":{"data":…}}`,
//! `{"stdin":{"close":true}}`, `{"tty_size":{"height":…,"width":…}}`; output `{"stdout":{"data":…}}`,
//! `{"stderr":{…}}`, and finally `{"exited":true,"result":{"exit_code":N}}`. Data is base64.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct StreamFrame {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
}

impl StreamFrame {
    pub fn data(bytes: &[u8]) -> Self {
        Self { data: Some(STANDARD.encode(bytes)), close: false }
    }

    pub fn close() -> Self {
        Self { data: None, close: true }
    }

    /// The decoded data (empty when absent or not base64).
    pub fn bytes(&self) -> Vec<u8> {
        self.data.as_deref().and_then(|d| STANDARD.decode(d).ok()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TtySize {
    pub height: u16,
    pub width: u16,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ExitResult {
    pub exit_code: i32,
}

/// One frame in either direction; unset parts are left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ExecFrame {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<StreamFrame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<StreamFrame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<StreamFrame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty_size: Option<TtySize>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ExitResult>,
}

impl ExecFrame {
    pub fn exited(exit_code: i32) -> Self {
        Self { exited: true, result: Some(ExitResult { exit_code }), ..Self::default() }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_nomads() {
        let f = ExecFrame { stdout: Some(StreamFrame::data(b"hi\n")), ..Default::default() };
        assert_eq!(f.to_json(), r#"{"stdout":{"data":"aGkK"}}"#);
        assert_eq!(ExecFrame::exited(3).to_json(), r#"{"exited":true,"result":{"exit_code":3}}"#);
        let f: ExecFrame = serde_json::from_str(r#"{"stdin":{"close":true}}"#).unwrap();
        assert!(f.stdin.unwrap().close);
        let f: ExecFrame = serde_json::from_str(r#"{"tty_size":{"height":24,"width":80}}"#).unwrap();
        assert_eq!(f.tty_size, Some(TtySize { height: 24, width: 80 }));
        assert_eq!(StreamFrame::data(b"xyz").bytes(), b"xyz");
    }
}
