//! Reading `-config` paths (the only file IO of agent configuration): a file, or a directory whose `*.hcl`
//! and `*.json` files are read in lexical order (not recursively), all merged in the order given.

use std::path::{Path, PathBuf};

use crate::jobspec::JobspecErrors;

use super::error::ConfigError;
use super::model::FileConfig;

/// The merged files, the warnings worth showing, and the files read.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: FileConfig,
    pub warnings: Vec<String>,
    pub files: Vec<PathBuf>,
}

/// Reads and merges every path; problems in several files are all reported.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, ConfigError> {
    let mut out = Loaded::default();
    let mut errors = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let files = if meta.is_dir() { dir_files(path)? } else { vec![path.clone()] };
        if files.is_empty() {
            out.warnings.push(format!("{}: no .hcl or .json configuration files in this directory", path.display()));
        }
        for file in files {
            let name = file.display().to_string();
            let src = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read { path: name.clone(), source })?;
            match super::parse(&src, &name) {
                Ok(p) => {
                    out.config = std::mem::take(&mut out.config).merge(p.config);
                    out.warnings.extend(p.warnings);
                }
                Err(e) => errors.extend(e.0),
            }
            out.files.push(file);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ConfigError::Files(JobspecErrors(errors)))
    }
}

/// A directory's configuration files in lexical order; hidden and editor backup files are skipped.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let read = |source| ConfigError::Read { path: dir.display().to_string(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.file_name().to_string_lossy().to_string();
        let wanted = (name.ends_with(".hcl") || name.ends_with(".json")) && !name.starts_with('.') && !name.starts_with('#');
        if wanted && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}
