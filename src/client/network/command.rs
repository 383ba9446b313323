//! Running the host's network tools (`ip`, `nft`) and writing sysctls, with errors that name the
//! command and carry what it printed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::NetworkError;

/// Runs `program args…`, feeding `stdin` when given; its stdout on success.
pub fn run(program: &'static str, args: &[&str], stdin: Option<&str>) -> Result<String, NetworkError> {
    tracing::debug!(program, ?args, "network command");
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| NetworkError::Spawn { program, source })?;
    let fed = match (stdin, child.stdin.take()) {
        // the pipe closes at the end of this arm: the program sees the end of its input
        (Some(input), Some(mut pipe)) => pipe.write_all(input.as_bytes()),
        _ => Ok(()),
    };
    // waited for in any case, so that no child is left behind
    let out = child.wait_with_output().map_err(|source| NetworkError::Spawn { program, source })?;
    fed.map_err(|source| NetworkError::Spawn { program, source })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(NetworkError::Command {
        command: format!("{program} {}", args.join(" ")),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// Runs `ip args…`.
pub fn ip(args: &[&str]) -> Result<String, NetworkError> {
    run("ip", args, None)
}

/// Applies an nft script in one transaction (`nft -f -`).
pub fn nft(script: &str) -> Result<(), NetworkError> {
    run("nft", &["-f", "-"], Some(script)).map(|_| ())
}

/// Writes a sysctl, e.g. `net/ipv4/ip_forward`, unless it already has that value.
pub fn sysctl(key: &str, value: &str) -> Result<(), NetworkError> {
    let path = Path::new("/proc/sys").join(key);
    if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(&path, value).map_err(|source| NetworkError::Io { path, source })
}

/// Whether a network interface of that name exists in this namespace.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}
