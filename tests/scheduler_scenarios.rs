//! Data-driven scheduler scenarios: every `tests/scenarios/*.txt` (format in `tests/scenario/mod.rs`)
//! is scheduled and its plan compared with the file's expectations; adding a case needs no code.
//! Each is also scheduled with feasibility judged node by node, which must give the same plan.

mod scenario;

use std::path::PathBuf;

use drover::core::scheduler::{schedule_at, schedule_with, Options};
use scenario::{parse_cases, parse_scenario};

fn scenario_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_gives_its_expected_plan() {
    let files = scenario_files();
    assert!(files.len() >= 15, "only {} scenario files", files.len());
    let mut failures = Vec::new();
    let mut total = 0;
    for path in &files {
        let name = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display().to_string();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cases = match parse_cases(&name, &text) {
            Ok(cases) => cases,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        for s in cases {
            total += 1;
            let plan = schedule_at(&s.state, &s.eval, s.seed, s.now);
            for e in s.check(&plan) {
                failures.push(format!("{}: {e}", s.file));
            }
            let uncached = schedule_with(&s.state, &s.eval, s.seed, s.now, Options { class_cache: false });
            if uncached != plan {
                failures.push(format!("{}: feasibility per node gives another plan than per class", s.file));
            }
            let again = schedule_at(&s.state, &s.eval, s.seed, s.now);
            if again != plan {
                failures.push(format!("{}: the same seed gave another plan", s.file));
            }
        }
    }
    assert!(total >= 60, "only {total} scenarios");
    assert!(failures.is_empty(), "{} scenario failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_malformed_scenario_names_its_file_and_line() {
    let bad = "seed 1\nnode n1 cpu=lots\n";
    let err = parse_scenario("tests/scenarios/bad.txt", bad).err().expect("a bad node line fails");
    assert!(err.starts_with("tests/scenarios/bad.txt:2: "), "{err}");
    assert!(err.contains("cpu"), "{err}");

    let bad_job = "node n1\njob <<\njob \"x\" {\n  group \"g\" {\n    count = \"many\"\n  }\n}\n>>\nexpect placed n1=1\n";
    let err = parse_scenario("tests/scenarios/bad_job.txt", bad_job).err().expect("a bad job fails");
    assert!(err.contains("tests/scenarios/bad_job.txt:5:"), "{err}");

    let unknown = "node n1\nfrobnicate\n";
    let err = parse_scenario("s.txt", unknown).err().expect("an unknown statement fails");
    assert_eq!(err, "s.txt:2: unknown statement \"frobnicate\"");

    let cases = "node n1\ncase a\njob <<\njob \"x\" {}\n>>\nexpect placed n1=1\ncase b\nnode n2 mem=x\n";
    let err = parse_cases("c.txt", cases).err().expect("a bad line in a case fails");
    assert!(err.starts_with("c.txt:8: ") && err.ends_with("(case b)"), "{err}");

    let unclosed = "node n1\njob <<\njob \"x\" {}\n";
    let err = parse_scenario("u.txt", unclosed).err().expect("an unclosed job fails");
    assert!(err.starts_with("u.txt:2: "), "{err}");
}
