//! Nomad-style agent configuration files (`drover agent -config FILE_OR_DIR`), in HCL or JSON: parsed into
//! a file model, merged file over file and then under the command-line flags, and resolved into the
//! agent's [`AgentConfig`](crate::agent::AgentConfig).
//!
//! Pure apart from [`load`]: text in, configuration or positioned errors out. Keys Drover uses are read;
//! Nomad's other documented keys are accepted with a warning; anything else is an error with a
//! "did you mean" suggestion. Nomad decodes agent files with HCL1, which lets a block be written as an
//! object attribute (`client = { … }`); that form is accepted too, as are JSON lists of blocks.
//!
//! One deliberate difference from Nomad's merge: a value written in a later file always wins, even
//! `false` or `0` (Nomad ignores zero values, so `enabled = false` could not turn a role off).

mod decode;
mod decode_client;
mod decode_server;
mod error;
mod hcl_text;
mod json_text;
mod keys;
mod load;
mod merge;
mod model;
mod resolve;
#[cfg(test)]
mod tests;
mod tree;

use std::cell::Cell;

use crate::jobspec::{Cx, Env, JobspecError, JobspecErrors};

pub use decode::{parse_log_level, LOG_LEVELS};
pub use error::ConfigError;
pub use load::{load, Loaded};
pub use model::{Addresses, Advertise, ClientFile, FileConfig, Plugin, Ports, Reserved, ServerFile, ServerJoin};
pub use resolve::{assemble, dev_base, resolve, Context, DEFAULT_HTTP_PORT, DEFAULT_RPC_PORT};

/// One parsed file and its warnings (`file:line:column: block: message`), in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub config: FileConfig,
    pub warnings: Vec<String>,
}

/// Parses one configuration file: JSON when `filename` ends in `.json`, HCL otherwise.
pub fn parse(src: &str, filename: &str) -> Result<Parsed, JobspecErrors> {
    let tree = if filename.ends_with(".json") { json_text::parse(src, filename) } else { hcl_text::parse(src, filename) };
    let tree = tree.map_err(JobspecErrors)?;
    if !tree.is_object() {
        let pos = tree.at.map(|o| crate::jobspec::Lines::new(src).pos(o));
        let kind = crate::jobspec::ErrorKind::Invalid("a configuration file holds an object of settings".into());
        return Err(JobspecErrors(vec![JobspecError { file: filename.into(), pos, path: String::new(), kind }]));
    }
    let steps = Cell::new(0);
    let env = Env::root(src, false, &steps);
    let mut cx = Cx::new(filename, src, &env);
    let config = decode::file(&mut cx, &tree);
    if cx.errors.is_empty() {
        cx.warnings.sort_by_key(|(pos, _)| (pos.is_none(), *pos));
        Ok(Parsed { config, warnings: cx.warnings.into_iter().map(|(_, w)| w).collect() })
    } else {
        Err(sorted(cx.errors))
    }
}

fn sorted(mut errors: Vec<JobspecError>) -> JobspecErrors {
    errors.sort_by_key(|e| (e.pos.is_none(), e.pos));
    errors.dedup();
    JobspecErrors(errors)
}
