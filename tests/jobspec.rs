//! The jobspec parser against Nomad's own job file corpus (expected outcomes from its MANIFEST.md), plus
//! behaviour checks: error positions and suggestions, variable precedence, runtime interpolation, durations,
//! constraint shorthands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use drover::core::job::{Job, JobType, SECOND};
use drover::jobspec::{parse, parse_duration, ErrorKind, JobspecErrors, Variables};

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/nomad-jobspec-fixtures"))
}

/// `file -> (expected, note)` from the manifest's table rows `| file | expected (note) |`.
fn manifest(dir: &Path) -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.md")).expect("the corpus has a MANIFEST.md");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() != 2 || !cells[0].ends_with(".hcl") {
            continue;
        }
        let (expected, note) = match cells[1].split_once('(') {
            Some((e, n)) => (e.trim().to_string(), n.trim_end_matches(')').to_string()),
            None => (cells[1].to_string(), String::new()),
        };
        out.insert(cells[0].to_string(), (expected, note));
    }
    out
}

/// Checks an expected failure: it must name a block or an attribute, and what the note calls out.
fn check_invalid(file: &str, note: &str, errs: &JobspecErrors) -> Result<(), String> {
    let text = errs.to_string();
    let names_something = errs.iter().any(|e| !e.path.is_empty() || e.to_string().contains('"'));
    if !names_something {
        return Err(format!("{file}: the error names no block or attribute: {text}"));
    }
    if let Some(key) = note.split('`').nth(1) {
        if !text.contains(key) {
            return Err(format!("{file}: the error should name `{key}`: {text}"));
        }
    }
    if note.contains("block path") && !errs.iter().any(|e| e.path.contains(" > ")) {
        return Err(format!("{file}: the error should name the block path: {text}"));
    }
    if note.contains("collision") && !text.contains("already in use") {
        return Err(format!("{file}: expected a port label collision: {text}"));
    }
    if note.contains("empty label") && !text.contains("empty") {
        return Err(format!("{file}: expected an empty port label error: {text}"));
    }
    Ok(())
}

#[test]
fn nomad_conformance_corpus() {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "the Nomad jobspec conformance corpus is missing: expected it at {} (the shared conformance folder next to the crate)",
        dir.display()
    );
    let expectations = manifest(&dir);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "hcl")).collect();
    files.sort();
    let (mut passed, mut failures) = (0, Vec::new());
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(path).unwrap();
        let Some((expected, note)) = expectations.get(&name) else {
            failures.push(format!("{name}: not listed in MANIFEST.md"));
            continue;
        };
        let outcome = std::panic::catch_unwind(|| parse(&src, &name, &Variables::default()));
        let verdict = match (expected.as_str(), outcome) {
            (_, Err(_)) => Err(format!("{name}: the parser panicked")),
            // Nomad's parser tests assert parsing only; many fixtures are fragments (no driver, no task).
            ("valid", Ok(Ok(_))) => Ok(()),
            ("valid", Ok(Err(e))) => Err(format!("{name}: expected valid, got:\n{e}")),
            ("invalid", Ok(Ok(_))) => Err(format!("{name}: expected an error ({note}), but it parsed")),
            ("invalid", Ok(Err(e))) => check_invalid(&name, note, &e),
            ("not asserted upstream", Ok(_)) => Ok(()),
            (other, _) => Err(format!("{name}: unknown expectation \"{other}\"")),
        };
        let c = counts.entry(if expected.starts_with("not") { "not asserted" } else { expected.as_str() }).or_default();
        c.1 += 1;
        match verdict {
            Ok(()) => {
                passed += 1;
                c.0 += 1;
            }
            Err(m) => failures.push(m),
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, (ok, n))| format!("{k} {ok}/{n}")).collect();
    println!("nomad jobspec conformance: {passed}/{} files as expected ({})", files.len(), summary.join(", "));
    assert!(!files.is_empty(), "no .hcl files in {}", dir.display());
    assert!(failures.is_empty(), "{} of {} corpus files failed:\n{}", failures.len(), files.len(), failures.join("\n"));
}

/// Every fixture that parses survives HCL → job → Nomad JSON → job unchanged, and `drover fmt` of it
/// parses to the same job.
#[test]
fn corpus_round_trips_through_json_and_fmt() {
    let dir = corpus_dir();
    assert!(dir.is_dir(), "the Nomad jobspec conformance corpus is missing: expected it at {}", dir.display());
    let mut checked = 0;
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "hcl")).collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&path).unwrap();
        let Ok(parsed) = parse(&src, &name, &Variables::default()) else { continue };
        let formatted = drover::jobspec::format_hcl(&src);
        assert_eq!(drover::jobspec::format_hcl(&formatted), formatted, "{name}: fmt is not idempotent");
        let again = parse(&formatted, &name, &Variables::default())
            .unwrap_or_else(|e| panic!("{name}: the formatted file does not parse:\n{e}\n{formatted}"));
        assert_eq!(again.job, parsed.job, "{name}: fmt changed the job");
        let mut job = parsed.job;
        job.canonicalize();
        let json = serde_json::to_string(&drover::api::job::job_to_api(&job, "")).unwrap();
        let api = drover::api::job::decode_job_json(json.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = drover::api::job::job_from_api(&api).unwrap();
        assert_eq!(back, job, "{name}: the job changed through JSON");
        checked += 1;
    }
    println!("{checked} corpus jobs round-tripped through JSON and fmt");
    assert!(checked > 30);
}

fn job(src: &str) -> Job {
    match parse(src, "test.hcl", &Variables::default()) {
        Ok(p) => p.job,
        Err(e) => panic!("parse failed:\n{e}"),
    }
}

fn err(src: &str) -> JobspecErrors {
    parse(src, "example.hcl", &Variables::default()).expect_err("expected a parse error")
}

#[test]
fn error_has_position_path_and_suggestion() {
    let src = "job \"example\" {\n  group \"web\" {\n    task \"api\" {\n      driver = \"docker\"\n      resources {\n        memroy = 256\n      }\n    }\n  }\n}\n";
    let e = err(src);
    assert_eq!(
        e.to_string(),
        "example.hcl:6:9: group \"web\" > task \"api\" > resources: unknown attribute \"memroy\"; did you mean \"memory\"?"
    );
    assert!(matches!(&e.0[0].kind, ErrorKind::UnknownAttribute { suggestion: Some(s), .. } if s == "memory"));
}

#[test]
fn unknown_block_and_syntax_errors_have_positions() {
    let e = err("job \"x\" {\n  grup \"web\" {}\n}\n");
    assert_eq!(e.to_string(), "example.hcl:2:3: unknown block \"grup\"; did you mean \"group\"?");
    let e = err("job \"x\" {\n  group \"web\" {\n    count = = 1\n  }\n}\n");
    assert!(e.to_string().starts_with("example.hcl:3:"), "{e}");
    assert!(matches!(e.0[0].kind, ErrorKind::Syntax(_)));
}

#[test]
fn every_error_is_reported() {
    let e = err("job \"x\" {\n  group \"a\" {\n    cont = 1\n    task \"t\" {\n      drver = \"docker\"\n    }\n  }\n}\n");
    assert_eq!(e.len(), 2, "{e}");
    assert!(e.to_string().contains("did you mean \"count\"") && e.to_string().contains("did you mean \"driver\""), "{e}");
}

const VARS_JOB: &str = r#"
variable "image" {
  type    = string
  default = "redis:6"
}
variable "count" {
  type    = number
  default = 1
}
variable "dcs" {
  type    = list(string)
  default = ["dc1"]
}
locals {
  name = "cache-${var.image}"
}
job "cache" {
  datacenters = var.dcs
  group "g" {
    count = var.count
    task "redis" {
      driver = "docker"
      config {
        image = var.image
      }
      meta {
        label = local.name
      }
    }
  }
}
"#;

fn vars_job(vars: &Variables) -> Job {
    parse(VARS_JOB, "vars.hcl", vars).unwrap_or_else(|e| panic!("{e}")).job
}

#[test]
fn variable_precedence_default_env_file_cli() {
    let image = |j: &Job| j.task_groups[0].tasks[0].config["image"].clone();
    assert_eq!(image(&vars_job(&Variables::default())), "redis:6");
    let env: BTreeMap<String, String> = [("NOMAD_VAR_image".to_string(), "redis:env".to_string())].into_iter().collect();
    let v = Variables::from_sources(BTreeMap::new(), Vec::new(), &env);
    assert_eq!(image(&vars_job(&v)), "redis:env");
    let v = v.with_file("prod.vars.hcl", "image = \"redis:file\"\ncount = 3\n");
    let j = vars_job(&v);
    assert_eq!(image(&j), "redis:file");
    assert_eq!(j.task_groups[0].count, 3);
    let v = v.with_var("image", "redis:cli").with_var("dcs", "[\"a\", \"b\"]");
    let j = vars_job(&v);
    assert_eq!(image(&j), "redis:cli");
    assert_eq!(j.datacenters, vec!["a", "b"]);
    assert_eq!(j.task_groups[0].tasks[0].meta["label"], "cache-redis:cli");
    // DROVER_VAR_ wins over NOMAD_VAR_.
    let env: BTreeMap<String, String> =
        [("NOMAD_VAR_image".to_string(), "n".to_string()), ("DROVER_VAR_image".to_string(), "d".to_string())].into_iter().collect();
    assert_eq!(image(&vars_job(&Variables::from_sources(BTreeMap::new(), Vec::new(), &env))), "d");
}

#[test]
fn variable_errors() {
    let e = parse(VARS_JOB, "vars.hcl", &Variables::default().with_var("nope", "1")).unwrap_err();
    assert!(e.to_string().contains("\"nope\""), "{e}");
    let e = parse(VARS_JOB, "vars.hcl", &Variables::default().with_var("count", "many")).unwrap_err();
    assert!(e.to_string().contains("number"), "{e}");
    let e = parse("variable \"x\" {}\njob \"j\" {}\n", "v.hcl", &Variables::default()).unwrap_err();
    assert!(e.to_string().contains("\"x\" is not set"), "{e}");
    let src = "variable \"n\" {\n  default = 0\n  validation {\n    condition = var.n > 0\n    error_message = \"N must be positive.\"\n  }\n}\njob \"j\" {}\n";
    let e = parse(src, "v.hcl", &Variables::default()).unwrap_err();
    assert!(e.to_string().contains("N must be positive."), "{e}");
    assert!(parse(src, "v.hcl", &Variables::default().with_var("n", "2")).is_ok());
}

#[test]
fn runtime_interpolations_stay_literal() {
    let j = job(r#"
job "web" {
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }
  group "g" {
    task "t" {
      driver = "docker"
      env {
        DC    = "${node.datacenter}"
        RACK  = "rack-${meta.rack}"
        PORT  = "${NOMAD_PORT_http}"
        HOME2 = "${env["HOME"]}"
        UP    = upper("x")
      }
      config {
        args = ["--addr", "${NOMAD_ADDR_http}", "$${literal}"]
      }
    }
  }
}
"#);
    assert_eq!(j.constraints[0].ltarget, "${attr.kernel.name}");
    let env = &j.task_groups[0].tasks[0].env;
    assert_eq!(env["DC"], "${node.datacenter}");
    assert_eq!(env["RACK"], "rack-${meta.rack}");
    assert_eq!(env["PORT"], "${NOMAD_PORT_http}");
    assert_eq!(env["HOME2"], "${env[\"HOME\"]}");
    assert_eq!(env["UP"], "X");
    assert_eq!(j.task_groups[0].tasks[0].config["args"], serde_json::json!(["--addr", "${NOMAD_ADDR_http}", "${literal}"]));
}

#[test]
fn durations_in_nanoseconds() {
    assert_eq!(parse_duration("30s"), Ok(30 * SECOND));
    assert_eq!(parse_duration("1h30m"), Ok(5400 * SECOND));
    assert_eq!(parse_duration("250ms"), Ok(250_000_000));
    let j = job("job \"j\" {\n  group \"g\" {\n    shutdown_delay = \"5m\"\n    task \"t\" {\n      driver = \"exec\"\n      kill_timeout = \"1m30s\"\n    }\n  }\n}\n");
    assert_eq!(j.task_groups[0].shutdown_delay, Some(300 * SECOND));
    assert_eq!(j.task_groups[0].tasks[0].kill_timeout, 90 * SECOND);
    let e = err("job \"j\" {\n  group \"g\" {\n    shutdown_delay = \"5 minutes\"\n  }\n}\n");
    assert!(e.to_string().starts_with("example.hcl:3:22: group \"g\": attribute \"shutdown_delay\""), "{e}");
}

#[test]
fn constraint_shorthands() {
    let j = job(r#"
job "j" {
  constraint { distinct_hosts = true }
  constraint { distinct_property = "${meta.rack}" }
  constraint {
    attribute = "${attr.kernel.version}"
    regexp    = "[0-9.]+"
  }
  constraint {
    attribute = "${attr.os.version}"
    version   = ">= 12, < 14"
  }
  constraint {
    attribute = "${attr.vault.version}"
    semver    = "~> 1.2"
  }
  constraint {
    attribute    = "${meta.tags}"
    set_contains = "a,b"
  }
  constraint {
    attribute        = "${meta.tags}"
    set_contains_any = "c"
  }
  constraint {
    attribute = "${attr.gpu}"
    is_set    = true
  }
  constraint {
    attribute = "${attr.driver.docker}"
    value     = "1"
  }
}
"#);
    let ops: Vec<(&str, &str, &str)> = j.constraints.iter().map(|c| (c.ltarget.as_str(), c.operand.as_str(), c.rtarget.as_str())).collect();
    assert_eq!(
        ops,
        vec![
            ("", "distinct_hosts", ""),
            ("${meta.rack}", "distinct_property", ""),
            ("${attr.kernel.version}", "regexp", "[0-9.]+"),
            ("${attr.os.version}", "version", ">= 12, < 14"),
            ("${attr.vault.version}", "semver", "~> 1.2"),
            ("${meta.tags}", "set_contains", "a,b"),
            ("${meta.tags}", "set_contains_any", "c"),
            ("${attr.gpu}", "is_set", ""),
            ("${attr.driver.docker}", "=", "1"),
        ]
    );
    let e = err("job \"j\" {\n  constraint {\n    attribute = \"x\"\n    operator = \"~=\"\n    value = \"y\"\n  }\n}\n");
    assert!(e.to_string().contains("unknown operator \"~=\""), "{e}");
}

#[test]
fn weights_and_ports_are_validated() {
    let e = err("job \"j\" {\n  affinity {\n    attribute = \"${node.class}\"\n    value = \"a\"\n    weight = 0\n  }\n}\n");
    assert!(e.to_string().starts_with("example.hcl:2:3: affinity: weight"), "{e}");
    let e = err("job \"j\" {\n  group \"g\" {\n    network {\n      port \"http\" {}\n      port \"HTTP\" {}\n    }\n  }\n}\n");
    assert!(e.to_string().contains("port label \"HTTP\" already in use"), "{e}");
    let e = err("job \"j\" {\n  group \"g\" {\n    count = -1\n  }\n}\n");
    assert!(e.to_string().contains("must not be negative"), "{e}");
}

#[test]
fn defaults_and_canonicalization() {
    let mut j = job("job \"j\" {\n  type = \"batch\"\n  group \"g\" {\n    restart { attempts = 1 }\n    task \"t\" {\n      driver = \"exec\"\n      restart { delay = \"1s\" }\n      resources { memory = 64 }\n    }\n  }\n}\n");
    assert_eq!(j.job_type, JobType::Batch);
    let g = &j.task_groups[0];
    assert_eq!(g.count, 1);
    assert_eq!((g.restart_policy.attempts, g.restart_policy.delay), (1, 15 * SECOND));
    let tr = g.tasks[0].restart_policy.clone().unwrap();
    assert_eq!((tr.attempts, tr.delay, tr.mode.as_str()), (1, SECOND, "fail"));
    assert_eq!((g.tasks[0].resources.cpu, g.tasks[0].resources.memory_mb), (100, 64));
    j.canonicalize();
    assert_eq!(j.datacenters, vec!["*"]);
    assert_eq!(j.task_groups[0].tasks[0].kill_timeout, 5 * SECOND);
    assert_eq!(j.task_groups[0].reschedule_policy.as_ref().map(|r| r.attempts), Some(1));
    assert_eq!(j.task_groups[0].ephemeral_disk.size_mb, 300);
    assert!(j.validate().is_ok(), "{:?}", j.validate());
}

#[test]
fn functions_for_and_dynamic_blocks() {
    let j = job(r#"
locals {
  ports = { http = 8080, admin = 9090 }
}
job "j" {
  meta = merge({ a = "1" }, { b = format("%s-%d", "x", 2) })
  group "g" {
    network {
      dynamic "port" {
        for_each = local.ports
        labels   = [port.key]
        content {
          to = port.value
        }
      }
    }
    task "t" {
      driver = "docker"
      env = { for k, v in local.ports : upper(k) => try(nosuch(v), format("%d", v)) }
    }
  }
}
"#);
    assert_eq!(j.meta["b"], "x-2");
    let ports: Vec<(&str, i32)> = j.task_groups[0].networks[0].dynamic_ports.iter().map(|p| (p.label.as_str(), p.to)).collect();
    assert_eq!(ports, vec![("http", 8080), ("admin", 9090)]);
    assert_eq!(j.task_groups[0].tasks[0].env["HTTP"], "8080");
}

#[test]
fn unsupported_blocks_are_kept_with_a_warning() {
    let p = parse(
        "job \"j\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      vault {\n        policies = [\"p\"]\n      }\n    }\n  }\n}\n",
        "u.hcl",
        &Variables::default(),
    )
    .unwrap();
    assert_eq!(p.job.task_groups[0].tasks[0].unsupported["vault"], serde_json::json!({"policies": ["p"]}));
    assert!(p.warnings.iter().any(|w| w.contains("\"vault\" is not supported")), "{:?}", p.warnings);
}
