//! A fuzzer for the job file parser and formatter: random job files, generated from the HCL grammar with
//! Nomad's block and attribute names, and mutations of the conformance corpus and `jobs/`. Every input
//! must come back as a job or as errors — never a panic — and `drover fmt` must not change what a file
//! that parses means.
//!
//! It runs for `DROVER_FUZZ_SECS` seconds (default 5, so the suite stays quick); `scripts/fuzz` runs it
//! for longer. `DROVER_FUZZ_SEED` replays a run. A failing input is written to `target/fuzz-failure.hcl`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use drover::core::rng::SeededRng as SplitMix64;
use drover::jobspec::{format_hcl, parse, Variables};

const BLOCKS: &[&str] = &[
    "job",
    "group",
    "task",
    "config",
    "resources",
    "network",
    "port",
    "service",
    "check",
    "check_restart",
    "constraint",
    "affinity",
    "spread",
    "target",
    "update",
    "migrate",
    "reschedule",
    "restart",
    "ephemeral_disk",
    "logs",
    "template",
    "artifact",
    "volume",
    "volume_mount",
    "lifecycle",
    "periodic",
    "parameterized",
    "meta",
    "env",
    "scaling",
    "policy",
    "device",
    "dns",
    "vault",
    "consul",
    "identity",
    "disconnect",
    "dispatch_payload",
    "variable",
    "locals",
    "validation",
    "options",
    "headers",
    "wait",
    "change_script",
];
const ATTRS: &[&str] = &[
    "count",
    "driver",
    "image",
    "command",
    "args",
    "cpu",
    "memory",
    "memory_max",
    "cores",
    "disk",
    "attribute",
    "value",
    "operator",
    "weight",
    "percent",
    "static",
    "to",
    "host_network",
    "mode",
    "attempts",
    "interval",
    "delay",
    "delay_function",
    "max_delay",
    "unlimited",
    "max_parallel",
    "health_check",
    "min_healthy_time",
    "healthy_deadline",
    "progress_deadline",
    "canary",
    "auto_revert",
    "auto_promote",
    "datacenters",
    "type",
    "priority",
    "region",
    "namespace",
    "node_pool",
    "all_at_once",
    "name",
    "port",
    "tags",
    "provider",
    "path",
    "timeout",
    "data",
    "destination",
    "source",
    "change_mode",
    "hook",
    "sidecar",
    "cron",
    "crons",
    "prohibit_overlap",
    "payload",
    "meta_required",
    "kill_timeout",
    "kill_signal",
    "leader",
    "user",
    "distinct_hosts",
    "regexp",
    "set_contains",
    "version",
    "semver",
    "default",
    "description",
    "condition",
    "error_message",
    "min",
    "max",
    "enabled",
    "size",
    "sticky",
    "max_files",
    "max_file_size",
    "hostname",
    "servers",
    "memroy",
    "nterval",
    "lost_after",
    "replace",
    "reconcile",
];
const FUNCS: &[&str] = &[
    "format",
    "join",
    "split",
    "lookup",
    "merge",
    "concat",
    "upper",
    "lower",
    "replace",
    "trimspace",
    "jsonencode",
    "jsondecode",
    "try",
    "can",
    "length",
    "element",
    "keys",
    "values",
    "coalesce",
    "contains",
    "distinct",
    "flatten",
    "max",
    "min",
    "abs",
    "ceil",
    "floor",
    "range",
    "regex",
    "substr",
    "title",
    "tostring",
    "tonumber",
    "tobool",
    "tolist",
    "toset",
    "tomap",
    "formatdate",
    "timeadd",
    "base64encode",
    "base64decode",
    "reverse",
    "sort",
    "slice",
    "zipmap",
    "nope",
];
const STRINGS: &[&str] = &[
    "",
    "web",
    "docker",
    "raw_exec",
    "container",
    "10s",
    "1h30m",
    "-5s",
    "linux",
    "${attr.kernel.name}",
    "${node.datacenter}",
    "${meta.rack}",
    "${NOMAD_PORT_http}",
    "${env[\"X\"]}",
    "${var.image}",
    "${local.x}",
    ">= 1.2, < 2.0",
    "~> 3.2",
    "*/15 * * * *",
    "prestart",
    "poststop",
    "constant",
    "exponential",
    "fibonacci",
    "fail",
    "delay",
    "%{ if true }a%{ else }b%{ endif }",
    "%{ for x in [1,2] }${x}%{ endfor }",
    "\\u00e9\\n\\t\\\"",
    "${",
    "}}",
    "{{ key \"x\" }}",
    "nomad",
    "consul",
    "http",
    "tcp",
];

struct Gen {
    rng: SplitMix64,
    out: String,
    budget: usize,
}

impl Gen {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.next_u64() as usize % xs.len()]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.rng.next_u64() % 100 < percent
    }

    fn expr(&mut self, depth: usize) {
        self.budget = self.budget.saturating_sub(1);
        let leaf = depth > 3 || self.budget == 0;
        match self.rng.next_u64() % if leaf { 5 } else { 12 } {
            0 => {
                let s = self.pick(STRINGS);
                self.out.push_str(&format!("\"{s}\""));
            }
            1 => {
                let n = self.rng.next_u64() % 5000;
                let neg = if self.chance(10) { "-" } else { "" };
                self.out.push_str(&format!("{neg}{n}"));
                if self.chance(10) {
                    self.out.push_str(".5");
                }
            }
            2 => {
                let b = if self.chance(50) { "true" } else { "false" };
                self.out.push_str(b);
            }
            3 => {
                let v = self.pick(&[
                    "var.image",
                    "var.count",
                    "local.x",
                    "var.nope",
                    "attr.kernel.name",
                    "null",
                    "var.list[0]",
                    "var.map[\"k\"]",
                ]);
                self.out.push_str(v);
            }
            4 => {
                let s = self.pick(STRINGS);
                self.out.push_str(&format!("<<-EOT\n  {s}\n  line two ${{upper(\"x\")}}\n  EOT\n"));
            }
            5 | 6 => {
                self.out.push('[');
                for i in 0..self.rng.next_u64() % 4 {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(depth + 1);
                }
                self.out.push(']');
            }
            7 => {
                self.out.push('{');
                for _ in 0..self.rng.next_u64() % 3 {
                    let k = self.pick(ATTRS);
                    self.out.push_str(&format!(" {k} = "));
                    self.expr(depth + 1);
                }
                self.out.push_str(" }");
            }
            8 | 9 => {
                let f = self.pick(FUNCS);
                self.out.push_str(f);
                self.out.push('(');
                for i in 0..self.rng.next_u64() % 4 {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(depth + 1);
                }
                self.out.push(')');
            }
            10 => {
                self.expr(depth + 1);
                let op = self.pick(&[" + ", " - ", " * ", " / ", " % ", " == ", " != ", " && ", " || ", " < ", " >= "]);
                self.out.push_str(op);
                self.expr(depth + 1);
            }
            _ => {
                self.out.push_str("[for x in ");
                self.expr(depth + 1);
                self.out.push_str(" : x]");
                if self.chance(30) {
                    self.out.push_str(" ? 1 : 2");
                }
            }
        }
    }

    fn block(&mut self, name: &str, depth: usize) {
        let indent = "  ".repeat(depth);
        self.out.push_str(&format!("{indent}{name}"));
        if matches!(name, "job" | "group" | "task" | "port" | "variable" | "volume" | "template") || self.chance(10) {
            let label = self.pick(&["web", "api", "http", "db", "", "x y"]);
            self.out.push_str(&format!(" \"{label}\""));
        }
        self.out.push_str(" {\n");
        let items = 1 + self.rng.next_u64() % 6;
        for _ in 0..items {
            if self.budget == 0 {
                break;
            }
            if depth < 5 && self.chance(35) {
                let child = match name {
                    "job" if self.chance(60) => "group",
                    "group" if self.chance(60) => "task",
                    _ => self.pick(BLOCKS),
                };
                self.block(child, depth + 1);
            } else {
                let a = self.pick(ATTRS);
                self.out.push_str(&format!("{indent}  {a} = "));
                self.expr(0);
                self.out.push('\n');
            }
        }
        self.out.push_str(&format!("{indent}}}\n"));
    }

    fn file(&mut self) -> String {
        self.out.clear();
        self.budget = 200;
        if self.chance(40) {
            self.out.push_str("variable \"image\" {\n  type = string\n  default = \"busybox:local\"\n}\n");
        }
        if self.chance(30) {
            self.out.push_str("locals {\n  x = ");
            self.expr(0);
            self.out.push_str("\n}\n");
        }
        self.block("job", 0);
        std::mem::take(&mut self.out)
    }
}

/// Byte- and line-level damage to a real file.
fn mutate(rng: &mut SplitMix64, src: &str) -> String {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.next_u64() % 4 {
        if lines.is_empty() {
            break;
        }
        let i = rng.next_u64() as usize % lines.len();
        match rng.next_u64() % 7 {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => {
                let j = rng.next_u64() as usize % lines.len();
                lines.swap(i, j);
            }
            3 => {
                let mut b = lines[i].clone().into_bytes();
                if !b.is_empty() {
                    let k = rng.next_u64() as usize % b.len();
                    b[k] = b"{}[]()\"=$%~\\#<>,.:?!0a-\n\t"[rng.next_u64() as usize % 25];
                }
                lines[i] = String::from_utf8_lossy(&b).into_owned();
            }
            4 => {
                let cut = rng.next_u64() as usize % (lines[i].len() + 1);
                let cut = (0..=cut).rev().find(|c| lines[i].is_char_boundary(*c)).unwrap_or(0);
                lines[i].truncate(cut);
            }
            5 => lines[i] = lines[i].replace('"', "'"),
            _ => lines[i].push_str(" ${var.x}"),
        }
    }
    lines.join("\n")
}

fn seeds() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [root.join("../shared/conformance/nomad-jobspec-fixtures"), root.join("jobs")] {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().extension().is_some_and(|x| x == "hcl") {
                out.extend(std::fs::read_to_string(e.path()).ok());
            }
        }
    }
    out
}

/// Runs one input; `Err` describes a property that failed.
fn check(src: &str) -> Result<(), String> {
    let vars = Variables::default().with_var("count", "2");
    let parsed = std::panic::catch_unwind(|| parse(src, "fuzz.hcl", &vars)).map_err(|_| "the parser panicked".to_string())?;
    let formatted = std::panic::catch_unwind(|| format_hcl(src)).map_err(|_| "fmt panicked".to_string())?;
    if let Ok(p) = parsed {
        let again = parse(&formatted, "fuzz.hcl", &vars).map_err(|e| format!("the formatted file no longer parses: {e}"))?;
        if again.job != p.job {
            return Err("fmt changed the job".into());
        }
        let mut job = p.job;
        std::panic::catch_unwind(move || {
            job.canonicalize();
            let _ = job.validate();
        })
        .map_err(|_| "canonicalize/validate panicked".to_string())?;
    }
    Ok(())
}

#[test]
fn fuzz_job_files() {
    let secs: u64 = std::env::var("DROVER_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let seed: u64 = std::env::var("DROVER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1));
    println!("fuzzing the jobspec parser for {secs}s, DROVER_FUZZ_SEED={seed}");
    std::panic::set_hook(Box::new(|_| {}));
    let corpus = seeds();
    let mut gen = Gen { rng: SplitMix64::new(seed), out: String::new(), budget: 0 };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut cases, mut parsed_ok, mut slowest) = (0u64, 0u64, Duration::ZERO);
    while Instant::now() < deadline {
        let src = if corpus.is_empty() || gen.chance(50) {
            gen.file()
        } else {
            let base = &corpus[gen.rng.next_u64() as usize % corpus.len()];
            mutate(&mut gen.rng, base)
        };
        let t = Instant::now();
        let result = check(&src);
        slowest = slowest.max(t.elapsed());
        if let Err(why) = result {
            let _ = std::panic::take_hook();
            let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failure.hcl");
            let _ = std::fs::create_dir_all(out.parent().unwrap());
            let _ = std::fs::write(&out, &src);
            panic!("case {cases} (seed {seed}): {why}; input saved to {}:\n{src}", out.display());
        }
        if parse(&src, "fuzz.hcl", &Variables::default()).is_ok() {
            parsed_ok += 1;
        }
        cases += 1;
    }
    let _ = std::panic::take_hook();
    println!("{cases} inputs in {secs}s ({parsed_ok} parsed into a job), slowest {slowest:?}, no panic");
    assert!(cases > 0);
}
