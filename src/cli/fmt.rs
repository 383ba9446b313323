//! `drover fmt`: rewrites HCL job files in the canonical layout, as `nomad fmt` does.

use std::path::{Path, PathBuf};

use crate::jobspec::format_hcl;

#[derive(clap::Args, Debug)]
pub struct FmtArgs {
    /// Files or directories (default: the current directory); `-` formats standard input to standard output
    pub paths: Vec<String>,
    /// Only check: exit 1 and list the files that are not formatted, without changing them
    #[arg(long)]
    pub check: bool,
    /// Print the names of the files that were (or, with -check, would be) changed
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub list: bool,
    /// Write the result back to the files
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub write: bool,
    /// Descend into subdirectories
    #[arg(long)]
    pub recursive: bool,
}

fn is_job_file(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "hcl" || x == "nomad")
}

fn collect(path: &Path, recursive: bool, top: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        if !top && !recursive {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?.flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            if e.is_dir() || is_job_file(&e) {
                collect(&e, recursive, false, out)?;
            }
        }
    } else {
        std::fs::metadata(path)?;
        out.push(path.to_path_buf());
    }
    Ok(())
}

pub fn run(a: &FmtArgs) -> i32 {
    if a.paths.len() == 1 && a.paths[0] == "-" {
        let text = match std::io::read_to_string(std::io::stdin()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("Error: reading standard input: {e}");
                return 1;
            }
        };
        let out = format_hcl(&text);
        if a.check {
            return i32::from(out != text);
        }
        print!("{out}");
        return 0;
    }
    let roots = if a.paths.is_empty() { vec![".".to_string()] } else { a.paths.clone() };
    let mut files = Vec::new();
    for r in &roots {
        if let Err(e) = collect(Path::new(r), a.recursive, true, &mut files) {
            eprintln!("Error: {r}: {e}");
            return 1;
        }
    }
    let mut unformatted = 0;
    for f in files {
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("Error: {}: {e}", f.display());
                return 1;
            }
        };
        let out = format_hcl(&text);
        if out == text {
            continue;
        }
        unformatted += 1;
        if a.list {
            println!("{}", f.display());
        }
        if !a.check && a.write {
            if let Err(e) = std::fs::write(&f, out) {
                eprintln!("Error: writing {}: {e}", f.display());
                return 1;
            }
        }
    }
    i32::from(a.check && unformatted > 0)
}
