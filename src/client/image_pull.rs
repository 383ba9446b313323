//! Making a container task's image present before its executor starts, with the Nomad docker driver's
//! rules: pull when the image is not in the image dir, always re-resolve with `force_pull = true`, give up
//! after `image_pull_timeout` (default 5m); registry credentials come from `auth { username, password }`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::info;

use crate::image::pull::{self, Credentials, PullStats};

pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The pull-related keys of a container task's driver config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSettings {
    pub image: String,
    pub force_pull: bool,
    pub timeout: Duration,
    pub credentials: Option<Credentials>,
}

/// Reads `force_pull`, `image_pull_timeout` and `auth` from the driver config (already interpolated).
pub fn settings(config: &Value, image: &str) -> Result<PullSettings, String> {
    let force_pull = match config.get("force_pull") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(other) => return Err(format!("config.force_pull must be a boolean, not {other}")),
    };
    let timeout = match config.get("image_pull_timeout") {
        None | Some(Value::Null) => DEFAULT_PULL_TIMEOUT,
        Some(Value::String(s)) => crate::jobspec::duration::parse_duration(s)
            .ok()
            .filter(|ns| *ns > 0)
            .map(|ns| Duration::from_nanos(ns as u64))
            .ok_or_else(|| format!("config.image_pull_timeout: invalid duration {s:?}"))?,
        Some(other) => return Err(format!("config.image_pull_timeout must be a duration string, not {other}")),
    };
    // A block decodes as a list of one object; accept a plain object too.
    let auth = match config.get("auth") {
        Some(Value::Array(a)) => a.first(),
        other => other,
    };
    let credentials = match auth {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => {
            let field = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let (username, password) = (field("username"), field("password"));
            if username.is_empty() {
                return Err("config.auth needs a username".into());
            }
            Some(Credentials { username, password })
        }
        Some(_) => return Err("config.auth must be a block with username and password".into()),
    };
    Ok(PullSettings { image: image.to_string(), force_pull, timeout, credentials })
}

/// Whether the image must be pulled before the task starts.
pub async fn needs_pull(image_dir: &Path, s: &PullSettings) -> bool {
    if s.force_pull {
        return true;
    }
    let (dir, image) = (image_dir.to_path_buf(), s.image.clone());
    !tokio::task::spawn_blocking(move || pull::is_present(&dir, &image)).await.unwrap_or(false)
}

/// Pulls the image (bounded by its timeout) and logs what was downloaded and reused.
/// The error is the task event's message: "Failed to pull `<image>`: <registry error>".
pub async fn pull_image(image_dir: PathBuf, s: &PullSettings, alloc_id: &str, task: &str) -> Result<PullStats, String> {
    let started = Instant::now();
    let fail = |e: String| format!("Failed to pull `{}`: {e}", s.image);
    let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(30)).build().map_err(|e| fail(e.to_string()))?;
    let result = tokio::time::timeout(s.timeout, pull::pull(http, &image_dir, &s.image, s.credentials.clone())).await;
    let stats = match result {
        Err(_) => return Err(fail(pull::PullError::Timeout(s.timeout.as_secs()).to_string())),
        Ok(Err(e)) => return Err(fail(e.to_string())),
        Ok(Ok(stats)) => stats,
    };
    info!(
        alloc_id = %alloc_id,
        task = %task,
        image = %s.image,
        manifest = %stats.manifest_digest,
        downloaded_blobs = stats.downloaded_blobs,
        downloaded_bytes = stats.downloaded_bytes,
        reused_blobs = stats.reused_blobs,
        reused_bytes = stats.reused_bytes,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "pulled image"
    );
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_and_overrides() {
        let s = settings(&cfg(r#"{"image":"x"}"#), "x").unwrap();
        assert_eq!((s.force_pull, s.timeout, s.credentials), (false, DEFAULT_PULL_TIMEOUT, None));
        let s = settings(&cfg(r#"{"force_pull":true,"image_pull_timeout":"90s","auth":[{"username":"u","password":"p"}]}"#), "x").unwrap();
        assert!(s.force_pull);
        assert_eq!(s.timeout, Duration::from_secs(90));
        assert_eq!(s.credentials, Some(Credentials { username: "u".into(), password: "p".into() }));
        let s = settings(&cfg(r#"{"auth":{"username":"u"}}"#), "x").unwrap();
        assert_eq!(s.credentials.unwrap().password, "");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(settings(&cfg(r#"{"force_pull":3}"#), "x").is_err());
        assert!(settings(&cfg(r#"{"image_pull_timeout":"soon"}"#), "x").is_err());
        assert!(settings(&cfg(r#"{"auth":[{"password":"p"}]}"#), "x").is_err());
    }
}
