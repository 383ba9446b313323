//! `drover job plan`: the scheduler's dry run of a job file, printed as Nomad prints it — the diff
//! from the stored job with `+`, `-` and `+/-` markers, the placement outcome, and the job modify
//! index for `job run -check-index`. Exit codes: 0 nothing created or destroyed, 1 allocations
//! created or destroyed, 255 an error.

use crate::api::job::job_to_api;
use crate::api::job_plan::{ApiFieldDiff, ApiJobDiff, ApiObjectDiff, ApiTaskDiff, ApiTaskGroupDiff, JobPlanResponse};

use crate::core::job_plan::next_periodic_launch;

use super::api_client::{enc, ApiClient};
use super::format::{duration_secs, time};
use super::job::explain_metrics;
use super::job_file;

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: job_file::JobSource,
    /// Show the diff from the submitted job (-diff=false hides it)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub diff: bool,
    /// Show every field of added and removed blocks too
    #[arg(long)]
    pub verbose: bool,
    /// Ask for Sentinel policies to be overridden (accepted for Nomad compatibility)
    #[arg(long = "policy-override")]
    pub policy_override: bool,
}

/// Exit code when the plan could not be made.
const ERROR: i32 = 255;

pub async fn run(api: &ApiClient, a: PlanArgs) -> i32 {
    let (job, warnings) = match job_file::load(&a.source) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("Error getting job struct: {}", one_line(&e));
            return ERROR;
        }
    };
    for w in warnings {
        eprintln!("Warning: {w}");
    }
    let body = serde_json::json!({ "Job": job_to_api(&job, ""), "Diff": a.diff, "PolicyOverride": a.policy_override });
    let resp: JobPlanResponse = match api.put(&format!("/v1/job/{}/plan", enc(&job.id)), &body).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error during plan: {}", one_line(&e.to_string()));
            return ERROR;
        }
    };
    if let Some(diff) = resp.diff.as_ref().filter(|_| a.diff) {
        println!("{}\n", format_job_diff(diff, a.verbose).trim());
    }
    let mut dry = dry_run(&resp, job.job_type.as_str() == "system");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    if let Some(next) = next_periodic_launch(&job, now) {
        dry.push_str(&format!(
            "\n- If submitted now, next periodic launch would be at {} ({} from now).",
            time(next * 1_000_000_000),
            duration_secs(next - now)
        ));
    }
    println!("Scheduler dry-run:\n{dry}\n");
    if !resp.warnings.is_empty() {
        println!("Job Warnings:\n{}\n", resp.warnings);
    }
    println!("{}", modify_index_help(resp.job_modify_index, &a.source.file));
    exit_code(&resp)
}

/// 1 when allocations would be created or destroyed, as Nomad's `job plan`.
pub fn exit_code(resp: &JobPlanResponse) -> i32 {
    let changes = resp.annotations.iter().flat_map(|a| a.desired_tg_updates.values()).any(|u| u.creates_or_destroys());
    i32::from(changes)
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

fn dry_run(resp: &JobPlanResponse, system: bool) -> String {
    let Some(failed) = resp.failed_tg_allocs.as_ref().filter(|f| !f.is_empty()) else {
        return "- All tasks successfully allocated.".into();
    };
    let mut out = if system {
        "- WARNING: Failed to place allocations on all nodes.\n".to_string()
    } else {
        "- WARNING: Failed to place all allocations.\n".to_string()
    };
    for line in explain_metrics(failed).lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.trim_end().to_string()
}

fn modify_index_help(index: u64, file: &str) -> String {
    format!(
        "Job Modify Index: {index}\n\
         To submit the job with version verification run:\n\n\
         drover job run -check-index {index} {file}\n\n\
         When running the job with the check-index flag, the job will only be run if the\n\
         job modify index given matches the server-side version. If the index has\n\
         changed, another user has modified the job and the plan's results are\n\
         potentially invalid."
    )
}

/// A diff type's marker and its width.
fn marker(kind: &str) -> &'static str {
    match kind {
        "Added" => "+ ",
        "Deleted" => "- ",
        "Edited" => "+/- ",
        _ => "",
    }
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// The job diff in Nomad's layout: markers aligned per level, a block's fields shown when it was
/// edited (or always with `verbose`).
pub fn format_job_diff(job: &ApiJobDiff, verbose: bool) -> String {
    let mut out = format!("{}Job: \"{}\"\n", marker(&job.kind), job.id);
    let (longest_field, mut longest_marker) = longest(&job.fields, &job.objects);
    longest_marker = longest_marker.max(job.task_groups.iter().map(|g| marker(&g.diff.kind).len()).max().unwrap_or(0));
    if job.kind == "Edited" || verbose {
        let fo = fields_and_objects(&job.fields, &job.objects, 0, longest_field, longest_marker);
        if !fo.is_empty() {
            out.push_str(&fo);
            out.push('\n');
        }
    }
    for g in &job.task_groups {
        out.push_str(&format_group(g, longest_marker - marker(&g.diff.kind).len(), verbose));
        out.push('\n');
    }
    out
}

fn format_group(group: &ApiTaskGroupDiff, prefix: usize, verbose: bool) -> String {
    let g = &group.diff;
    let mut out = format!("{}{}Task Group: \"{}\"", marker(&g.kind), pad(prefix), g.name);
    if !group.updates.is_empty() {
        let updates: Vec<String> = group.updates.iter().map(|(k, n)| format!("{n} {k}")).collect();
        out.push_str(&format!(" ({})", updates.join(", ")));
    }
    out.push('\n');
    let (longest_field, mut longest_marker) = longest(&g.fields, &g.objects);
    longest_marker = longest_marker.max(group.tasks.iter().map(|t| marker(&t.diff.kind).len()).max().unwrap_or(0));
    let start = prefix + 2;
    if g.kind == "Edited" || verbose {
        let fo = fields_and_objects(&g.fields, &g.objects, start, longest_field, longest_marker);
        if !fo.is_empty() {
            out.push_str(&fo);
            out.push('\n');
        }
    }
    for t in &group.tasks {
        out.push_str(&format_task(t, start, longest_marker - marker(&t.diff.kind).len(), verbose));
        out.push('\n');
    }
    out
}

fn format_task(task: &ApiTaskDiff, start: usize, prefix: usize, verbose: bool) -> String {
    let t = &task.diff;
    let mut out = format!("{}{}{}Task: \"{}\"", pad(start), marker(&t.kind), pad(prefix), t.name);
    if !task.annotations.is_empty() {
        out.push_str(&format!(" ({})", task.annotations.join(", ")));
    }
    let shown = t.kind == "Edited" || (verbose && t.kind != "None");
    if shown {
        let (longest_field, longest_marker) = longest(&t.fields, &t.objects);
        out.push('\n');
        out.push_str(&fields_and_objects(&t.fields, &t.objects, start + 2, longest_field, longest_marker));
    }
    out
}

fn longest(fields: &[ApiFieldDiff], objects: &[ApiObjectDiff]) -> (usize, usize) {
    let field = fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let m = fields.iter().map(|f| marker(&f.kind).len()).chain(objects.iter().map(|o| marker(&o.kind).len())).max().unwrap_or(0);
    (field, m)
}

fn fields_and_objects(
    fields: &[ApiFieldDiff],
    objects: &[ApiObjectDiff],
    start: usize,
    longest_field: usize,
    longest_marker: usize,
) -> String {
    let mut lines: Vec<String> = fields
        .iter()
        .map(|f| {
            let value = match f.kind.as_str() {
                "Added" => format!("{:?}", f.new),
                "Deleted" => format!("{:?}", f.old),
                "Edited" => format!("{:?} => {:?}", f.old, f.new),
                _ => format!("{:?}", f.new),
            };
            let m = marker(&f.kind);
            format!("{}{m}{}{}: {}{value}", pad(start), pad(longest_marker - m.len()), f.name, pad(longest_field - f.name.len()))
        })
        .collect();
    lines.extend(objects.iter().map(|o| format_object(o, start, longest_marker - marker(&o.kind).len())));
    lines.join("\n")
}

fn format_object(o: &ApiObjectDiff, start: usize, prefix: usize) -> String {
    let m = marker(&o.kind);
    let (longest_field, longest_marker) = longest(&o.fields, &o.objects);
    let inner = fields_and_objects(&o.fields, &o.objects, start + prefix + 2, longest_field, longest_marker);
    format!("{}{m}{}{} {{\n{inner}\n{}}}", pad(start), pad(prefix), o.name, pad(start + m.len() + prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::job_plan::{ApiDesiredUpdates, ApiPlanAnnotations};

    fn field(kind: &str, name: &str, old: &str, new: &str) -> ApiFieldDiff {
        ApiFieldDiff { kind: kind.into(), name: name.into(), old: old.into(), new: new.into(), annotations: None }
    }

    fn block(kind: &str, name: &str, fields: Vec<ApiFieldDiff>, objects: Vec<ApiObjectDiff>) -> ApiObjectDiff {
        ApiObjectDiff { kind: kind.into(), name: name.into(), fields, objects }
    }

    #[test]
    fn an_edited_job_shows_markers_fields_and_objects() {
        let diff = ApiJobDiff {
            kind: "Edited".into(),
            id: "web".into(),
            task_groups: vec![ApiTaskGroupDiff {
                diff: block("Edited", "g", vec![field("Edited", "Count", "1", "2")], vec![]),
                tasks: vec![ApiTaskDiff {
                    diff: block(
                        "Edited",
                        "t",
                        vec![field("Added", "Env[A]", "", "1")],
                        vec![block("Edited", "Resources", vec![field("Edited", "MemoryMB", "16", "32")], vec![])],
                    ),
                    annotations: vec!["forces create/destroy update".into()],
                }],
                updates: [("create".to_string(), 1), ("create/destroy update".to_string(), 1)].into(),
            }],
            ..Default::default()
        };
        let text = format_job_diff(&diff, false);
        let expected = [
            "+/- Job: \"web\"",
            "+/- Task Group: \"g\" (1 create, 1 create/destroy update)",
            "  +/- Count: \"1\" => \"2\"",
            "  +/- Task: \"t\" (forces create/destroy update)",
            "    +   Env[A]: \"1\"",
            "    +/- Resources {",
            "      +/- MemoryMB: \"16\" => \"32\"",
            "        }",
            "",
            "",
        ]
        .join("\n");
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn a_new_job_shows_only_its_outline() {
        let diff = ApiJobDiff {
            kind: "Added".into(),
            id: "web".into(),
            fields: vec![field("Added", "Priority", "", "50")],
            task_groups: vec![ApiTaskGroupDiff {
                diff: block("Added", "g", vec![field("Added", "Count", "", "1")], vec![]),
                tasks: vec![ApiTaskDiff { diff: block("Added", "t", vec![], vec![]), annotations: vec!["forces create".into()] }],
                updates: [("create".to_string(), 1)].into(),
            }],
            ..Default::default()
        };
        assert_eq!(format_job_diff(&diff, false), "+ Job: \"web\"\n+ Task Group: \"g\" (1 create)\n  + Task: \"t\" (forces create)\n\n");
        assert!(format_job_diff(&diff, true).contains("+ Priority: \"50\""));
    }

    #[test]
    fn diff_is_a_go_style_bool_flag() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            plan: PlanArgs,
        }
        let parse = |args: &[&str]| {
            let argv = crate::cli::normalize(std::iter::once("plan").chain(args.iter().copied()).map(String::from).collect());
            <Cli as clap::Parser>::try_parse_from(argv).map(|c| (c.plan.diff, c.plan.source.file))
        };
        assert_eq!(parse(&["f.hcl"]).unwrap(), (true, "f.hcl".to_string()));
        assert_eq!(parse(&["-diff", "f.hcl"]).unwrap(), (true, "f.hcl".to_string()));
        assert_eq!(parse(&["-diff=false", "f.hcl"]).unwrap(), (false, "f.hcl".to_string()));
    }

    #[test]
    fn exit_code_follows_creations_and_destructions() {
        let with = |u: ApiDesiredUpdates| JobPlanResponse {
            annotations: Some(ApiPlanAnnotations { desired_tg_updates: [("g".to_string(), u)].into(), preempted_allocs: None }),
            ..Default::default()
        };
        assert_eq!(exit_code(&with(ApiDesiredUpdates { ignore: 2, in_place_update: 1, ..Default::default() })), 0);
        assert_eq!(exit_code(&with(ApiDesiredUpdates { place: 1, ..Default::default() })), 1);
        assert_eq!(exit_code(&with(ApiDesiredUpdates { stop: 1, ..Default::default() })), 1);
        assert_eq!(exit_code(&with(ApiDesiredUpdates { destructive_update: 1, ..Default::default() })), 1);
    }
}
