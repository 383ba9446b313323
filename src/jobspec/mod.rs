//! Nomad HCL2 job files parsed into the job model, as Nomad's jobspec2 parses them. Pure: text and variable
//! values in, job out (the CLI reads files and the environment and passes them in).
//!
//! The job comes back as written, with the defaults Nomad's parser fills in (task restart policies merged
//! onto the group's, template and artifact defaults, a group's count); [`Job::canonicalize`] adds the rest.
//! Runtime references (`${attr.kernel.name}`, `${node.datacenter}`, `${NOMAD_PORT_http}`, `${env["X"]}`)
//! stay literal for the client to resolve.

mod cx;
mod decode_files;
mod decode_group;
mod decode_job;
mod decode_placement;
mod decode_policy;
mod decode_resources;
mod decode_service;
mod decode_task;
pub mod duration;
mod error;
mod eval;
mod format;
mod funcs;
mod funcs_data;
mod opaque;
mod reader;
mod template;
mod types;
mod unsupported;
mod variables;

use std::cell::Cell;

use hcl::Value;

use crate::core::job::Job;

pub use duration::parse_duration;
pub use error::{ErrorKind, JobspecError, JobspecErrors, Pos};
pub use format::format_hcl;
pub use variables::Variables;

// Shared with the agent configuration reader (`crate::agent_config`): positions, block paths, errors and
// warnings, suggestions, expression evaluation and typed conversion.
pub(crate) use cx::{Cx, Lines, Path};
pub(crate) use error::suggest;
pub(crate) use eval::Env;
pub(crate) use reader::FromHcl;
pub(crate) use types::describe;

use reader::{BlockView, Reader, Schema};

/// A parsed job and the warnings worth showing (blocks kept but not acted on, obsolete attributes, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub job: Job,
    pub warnings: Vec<String>,
}

const TOP: Schema = Schema { attrs: &[], blocks: &["job", "variable", "variables", "locals"] };

/// Parses a Nomad HCL2 job file. `filename` is only used in messages.
pub fn parse(src: &str, filename: &str, vars: &Variables) -> Result<Parsed, JobspecErrors> {
    let body = hcl::edit::parser::parse_body(src).map_err(|e| {
        let pos = Some(Pos { line: e.location().line(), column: e.location().column() });
        JobspecErrors(vec![JobspecError {
            file: filename.into(),
            pos,
            path: String::new(),
            kind: ErrorKind::Syntax(e.message().to_string()),
        }])
    })?;
    let steps = Cell::new(0);

    // Input variables and locals, evaluated with no variables in scope.
    let plain = Env::root(src, false, &steps);
    let mut cx = Cx::new(filename, src, &plain);
    let top = BlockView { ident: "", labels: Vec::new(), body: &body, start: None, bindings: Vec::new() };
    let top = Reader::open(&mut cx, top, Path::default(), &TOP);
    let (vars, locals) = variables::resolve(&mut cx, &body, src, vars);
    let (errors, warnings) = (std::mem::take(&mut cx.errors), std::mem::take(&mut cx.warnings));

    // The job, with `var` and `local` in scope.
    let mut env = Env::root(src, true, &steps);
    env.declare("var", Value::Object(vars));
    env.declare("local", Value::Object(locals));
    let mut cx = Cx::new(filename, src, &env);
    cx.errors = errors;
    cx.warnings = warnings;
    let jobs = top.blocks(&mut cx, "job");
    if jobs.len() > 1 {
        cx.error(jobs[1].start, &Path::default(), ErrorKind::DuplicateBlock("job".into()));
    }
    let Some(view) = jobs.into_iter().next() else {
        cx.error(None, &Path::default(), ErrorKind::Invalid("a job block is required".into()));
        return Err(finish(cx.errors));
    };
    let job = decode_job::job(&mut cx, view);
    for (path, message) in job.spec_problems() {
        let at = start_of(&cx, &path);
        let pos = at.map(|o| cx.lines.pos(o));
        cx.errors.push(JobspecError { file: filename.into(), pos, path, kind: ErrorKind::Invalid(message) });
    }
    if cx.errors.is_empty() {
        cx.warnings.sort_by_key(|(pos, _)| (pos.is_none(), *pos));
        Ok(Parsed { job, warnings: cx.warnings.into_iter().map(|(_, w)| w).collect() })
    } else {
        Err(finish(cx.errors))
    }
}

/// Where the block at `path` (or its closest recorded parent) starts.
fn start_of(cx: &Cx<'_>, path: &str) -> Option<usize> {
    let mut p = path;
    loop {
        if let Some(at) = cx.block_starts.get(p) {
            return Some(*at);
        }
        p = &p[..p.rfind(" > ")?];
    }
}

/// Errors in file order, without repeats.
fn finish(mut errors: Vec<JobspecError>) -> JobspecErrors {
    errors.sort_by_key(|e| (e.pos.is_none(), e.pos));
    errors.dedup();
    JobspecErrors(errors)
}
