//! What a container runs, with Docker semantics: argv from entrypoint and command, environment, working dir and user.

use std::path::Path;

use super::error::ExecutorError;
use super::user::{resolve_user, ResolvedUser};
use crate::driver::spec::ExecSpec;
use crate::image::ImageRunConfig;

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The container's init process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerProcess {
    pub args: Vec<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub cwd: String,
    pub user: ResolvedUser,
}

/// Combines the task spec with the image config (`rootfs` is read for /etc/passwd and /etc/group).
///
/// - argv = entrypoint ++ cmd, where `spec.entrypoint` replaces the image Entrypoint (and, as with
///   `docker run --entrypoint`, drops the image Cmd), and `spec.command` + `spec.args` replace the Cmd
///   (`args` alone also replace it);
/// - env = image Env with `spec.env` laid over it (PATH defaulted, HOME from /etc/passwd if unset);
/// - cwd = `work_dir`, else image WorkingDir, else `/`;
/// - user = `spec.user`, else image User, else root.
pub fn container_process(spec: &ExecSpec, image: &ImageRunConfig, rootfs: &Path) -> Result<ContainerProcess, ExecutorError> {
    let (entrypoint, image_cmd) = match &spec.entrypoint {
        Some(ep) => (ep.clone(), Vec::new()),
        None => (image.entrypoint.clone(), image.cmd.clone()),
    };
    let cmd = match spec.command.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => std::iter::once(c.to_string()).chain(spec.args.iter().cloned()).collect(),
        None if !spec.args.is_empty() => spec.args.clone(),
        None => image_cmd,
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(ExecutorError::InvalidSpec(
            "no command to run: the task sets no command and the image has no Entrypoint or Cmd".into(),
        ));
    }

    let user_spec = spec.user.as_deref().filter(|u| !u.is_empty()).or(image.user.as_deref());
    let user = resolve_user(rootfs, user_spec)?;

    let mut env = image.env.clone();
    for (k, v) in &spec.env {
        set_env(&mut env, k, v);
    }
    if !has_env(&env, "PATH") {
        env.push(DEFAULT_PATH.to_string());
    }
    if !has_env(&env, "HOME") {
        let home = user.home.clone().unwrap_or_else(|| "/".to_string());
        env.push(format!("HOME={home}"));
    }
    if let Some(h) = spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        if !has_env(&env, "HOSTNAME") {
            env.push(format!("HOSTNAME={h}"));
        }
    }

    let dir = spec.work_dir.as_deref().filter(|w| !w.is_empty()).or(image.working_dir.as_deref()).unwrap_or("/");
    let cwd = if dir.starts_with('/') { dir.to_string() } else { format!("/{dir}") };

    Ok(ContainerProcess { args, env, cwd, user })
}

fn has_env(env: &[String], key: &str) -> bool {
    env.iter().any(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
}

fn set_env(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = format!("{key}={value}");
    match env.iter_mut().find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key) {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::spec::DriverKind;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn spec() -> ExecSpec {
        ExecSpec {
            id: "a-t".into(),
            alloc_id: "a".into(),
            task_name: "t".into(),
            driver: DriverKind::Container,
            image: Some("busybox:local".into()),
            entrypoint: None,
            command: None,
            args: vec![],
            env: BTreeMap::new(),
            work_dir: None,
            user: None,
            alloc_dir: PathBuf::from("/a"),
            task_dir: PathBuf::from("/a/t"),
            stdout_path: PathBuf::from("/a/out"),
            stderr_path: PathBuf::from("/a/err"),
            state_dir: PathBuf::from("/s"),
            image_dir: PathBuf::from("/i"),
            cpu_mhz: 100,
            memory_mb: 64,
            memory_max_mb: 0,
            pids_limit: 0,
            network_mode: "host".into(),
            network_namespace: None,
            hostname: None,
            kill_signal: "SIGTERM".into(),
            kill_timeout_ms: 1000,
        }
    }

    fn image() -> ImageRunConfig {
        ImageRunConfig {
            entrypoint: vec!["/entry".into()],
            cmd: vec!["serve".into(), "--port=1".into()],
            env: vec!["PATH=/bin".into(), "A=image".into()],
            working_dir: Some("/srv".into()),
            user: None,
        }
    }

    #[test]
    fn docker_argv_semantics() {
        let root = Path::new("/nonexistent-rootfs");
        let p = container_process(&spec(), &image(), root).unwrap();
        assert_eq!(p.args, vec!["/entry", "serve", "--port=1"]);
        assert_eq!(p.cwd, "/srv");

        let mut s = spec();
        s.command = Some("run".into());
        s.args = vec!["x".into()];
        assert_eq!(container_process(&s, &image(), root).unwrap().args, vec!["/entry", "run", "x"]);

        let mut s = spec();
        s.entrypoint = Some(vec!["/bin/sh".into(), "-c".into()]);
        assert_eq!(container_process(&s, &image(), root).unwrap().args, vec!["/bin/sh", "-c"]);

        let mut s = spec();
        s.args = vec!["only".into()];
        assert_eq!(container_process(&s, &image(), root).unwrap().args, vec!["/entry", "only"]);

        let empty = ImageRunConfig::default();
        assert!(container_process(&spec(), &empty, root).is_err());
    }

    #[test]
    fn env_overlay_and_defaults() {
        let mut s = spec();
        s.env.insert("A".into(), "task".into());
        s.env.insert("B".into(), "b".into());
        s.work_dir = Some("work".into());
        let p = container_process(&s, &image(), Path::new("/nonexistent-rootfs")).unwrap();
        assert_eq!(p.env, vec!["PATH=/bin", "A=task", "B=b", "HOME=/"]);
        assert_eq!(p.cwd, "/work");
        assert_eq!((p.user.uid, p.user.gid), (0, 0));
    }
}
