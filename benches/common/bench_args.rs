//! Command-line handling shared by the benchmarks: `--bench` (cargo bench: measure) or a smoke run
//! (cargo test), `--NAME VALUE` options, flags, and the drover binary to start.

use std::path::PathBuf;

pub struct BenchArgs {
    argv: Vec<String>,
}

impl BenchArgs {
    pub fn from_env() -> Self {
        Self { argv: std::env::args().collect() }
    }

    /// Run by `cargo bench` (measure), not by `cargo test` (a small smoke run).
    pub fn measuring(&self) -> bool {
        self.flag("--bench")
    }

    pub fn flag(&self, name: &str) -> bool {
        self.argv.iter().any(|a| a == name)
    }

    pub fn value(&self, name: &str) -> Option<String> {
        self.argv.iter().position(|a| a == name).and_then(|i| self.argv.get(i + 1)).cloned()
    }

    /// A number option, `default` when absent; a malformed one stops the benchmark naming it.
    pub fn number(&self, name: &str, default: usize) -> usize {
        self.value(name).map(|n| n.parse().unwrap_or_else(|_| panic!("{name} N: not a number: {n}"))).unwrap_or(default)
    }

    /// `--drover-bin PATH`, else `$DROVER_BIN`, else the binary cargo built with the benchmark.
    pub fn drover_bin(&self) -> PathBuf {
        PathBuf::from(
            self.value("--drover-bin").or_else(|| std::env::var("DROVER_BIN").ok()).unwrap_or_else(|| env!("CARGO_BIN_EXE_drover").into()),
        )
    }
}
