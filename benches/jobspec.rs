//! Parse-time benchmark: every conformance fixture and `jobs/` file, parsed repeatedly; prints the
//! median and best time per file, largest file first. `cargo bench --bench jobspec` measures (release);
//! under `cargo test` it runs each file a few times as a smoke check.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use drover::jobspec::{parse, Variables};

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [root.join("../shared/conformance/nomad-jobspec-fixtures"), root.join("jobs")] {
        if !dir.is_dir() {
            println!("note: {} is absent; not benchmarked", dir.display());
            continue;
        }
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "hcl") {
                let text = std::fs::read_to_string(&p).expect("readable");
                if parse(&text, "bench.hcl", &Variables::default()).is_ok() {
                    files.push((p, text));
                }
            }
        }
    }
    files.sort_by_key(|(_, t)| std::cmp::Reverse(t.len()));
    let rounds = if measuring { 2000 } else { 3 };
    println!("{:<45} {:>7} {:>12} {:>12}", "file (largest first)", "bytes", "median", "best");
    for (path, text) in files.iter().take(if measuring { files.len() } else { 5 }) {
        let vars = Variables::default();
        let mut times: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                let job = parse(text, "bench.hcl", &vars).expect("parses");
                std::hint::black_box(job);
                t.elapsed()
            })
            .collect();
        times.sort();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!("{name:<45} {:>7} {:>12?} {:>12?}", text.len(), times[times.len() / 2], times[0]);
    }
}
