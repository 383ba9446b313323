//! Architecture invariants, checked over the source tree: the pure core does no IO, every file says what it owns.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `word` used as a path or an import on this line of code (comments aside).
fn uses(line: &str, word: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    code.contains(&format!("{word}::"))
        || code.contains(&format!("use {word}"))
        || code.contains(&format!("{word} ")) && code.contains("extern crate")
}

#[test]
fn pure_core_imports_no_io() {
    const FORBIDDEN: [&str; 10] = [
        "tokio",
        "tonic",
        "rocksdb",
        "openraft",
        "libcontainer",
        "std::net",
        "std::fs",
        "std::env",
        "std::time::SystemTime",
        "std::process",
    ];
    // Agent configuration is pure too, except its loader; addresses (`std::net` values) are what it is about.
    let config_forbidden: Vec<&str> = FORBIDDEN.iter().copied().filter(|w| *w != "std::net").collect();
    let dirs: [(&str, &[&str], &[&str]); 3] =
        [("core", &FORBIDDEN, &[]), ("jobspec", &FORBIDDEN, &[]), ("agent_config", &config_forbidden, &["load.rs"])];
    let mut bad = Vec::new();
    for (dir, forbidden, exempt) in dirs {
        for f in rust_files(&src().join(dir)) {
            if exempt.iter().any(|e| f.ends_with(e)) {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                for word in forbidden {
                    if uses(line, word) {
                        bad.push(format!("{}:{}: uses {word}", f.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "the pure core must not do IO:\n{}", bad.join("\n"));
}

#[test]
fn every_file_starts_with_a_module_doc() {
    let missing: Vec<String> = rust_files(&src())
        .into_iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().trim_start().starts_with("//!"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a leading //! line:\n{}", missing.join("\n"));
}

#[test]
fn no_println_outside_the_cli() {
    let mut bad = Vec::new();
    for f in rust_files(&src()) {
        let rel = f.strip_prefix(src()).unwrap().to_string_lossy().to_string();
        if rel.starts_with("cli/") || rel == "main.rs" {
            continue;
        }
        for (n, line) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
            if line.contains("println!(") || line.contains("eprintln!(") {
                bad.push(format!("{rel}:{}", n + 1));
            }
        }
    }
    assert!(bad.is_empty(), "println!/eprintln! outside the CLI (use tracing):\n{}", bad.join("\n"));
}
