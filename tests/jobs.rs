//! Every example job in `jobs/` parses, validates, is formatted as `drover fmt` would, and survives the
//! trip through Nomad's JSON unchanged; the example set covers every job type.

use std::collections::BTreeSet;

use drover::api::job::{decode_job_json, job_from_api, job_to_api};
use drover::jobspec::{self, format_hcl, Variables};

#[test]
fn every_example_job_is_valid_formatted_and_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs");
    let mut kinds = BTreeSet::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "hcl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        assert_eq!(format_hcl(&text), text, "{name} is not formatted (run `drover fmt jobs/`)");
        let parsed = jobspec::parse(&text, &name, &Variables::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut job = parsed.job;
        job.canonicalize();
        job.validate().unwrap_or_else(|e| panic!("{name}: {}", e.join("; ")));
        assert!(!job.task_groups.is_empty(), "{name}: no groups");
        kinds.insert(job.job_type.as_str().to_string());
        if job.periodic.is_some() {
            kinds.insert("periodic".into());
        }
        if job.parameterized.is_some() {
            kinds.insert("parameterized".into());
        }
        let json = serde_json::to_string(&job_to_api(&job, "")).unwrap();
        assert!(json.contains("\"TaskGroups\"") && json.contains("\"ID\""), "{name}: {json}");
        let back = job_from_api(&decode_job_json(json.as_bytes()).unwrap()).unwrap();
        assert_eq!(back, job, "{name}: the job changed through JSON");
        checked += 1;
    }
    println!("{checked} job files checked: {kinds:?}");
    for k in ["service", "batch", "system", "sysbatch", "periodic", "parameterized"] {
        assert!(kinds.contains(k), "jobs/ has no {k} example");
    }
}
