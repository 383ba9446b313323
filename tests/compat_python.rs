//! Compatibility with an existing Nomad API client: python-nomad (the Python client library) drives a
//! live `drover agent -dev` through `tests/compat/python_nomad.py`. `scripts/test` installs the library
//! into `$DROVER_PYENV` (default /var/tmp/drover-pyenv).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::agent::*;

#[test]
fn python_nomad_client_works_against_drover() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs a real agent and needs root");
        return;
    }
    let env = std::env::var_os("DROVER_PYENV").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/tmp/drover-pyenv"));
    let python = env.join("bin/python");
    if !python.exists() {
        // Without the library there is nothing to run; scripts/test (and so CI) always installs it.
        assert!(std::env::var_os("CI").is_none(), "python-nomad is missing in CI: {} not found", python.display());
        eprintln!("skipping: python-nomad is not installed at {} (scripts/test installs it)", env.display());
        return;
    }
    let dir = temp_dir("compat-python");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let agent = DevAgent::start(&dir, &images, free_port(), free_port());
    let _purge = PurgeOnDrop { base: agent.addr(), job: "pycompat" };
    let out = Command::new(&python)
        .arg(repo().join("tests/compat/python_nomad.py"))
        .args(["127.0.0.1", &agent.http_port.to_string()])
        .output()
        .expect("run python");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{text}");
    assert!(out.status.success(), "python-nomad against Drover failed:\n{text}\nagent log:\n{}", agent.log());
    assert!(text.contains("ok: variables"), "{text}");
}
