//! `drover version`: prints the version of this binary, as `nomad version` prints its own.

pub fn run() -> i32 {
    println!("Drover v{}", env!("CARGO_PKG_VERSION"));
    0
}
