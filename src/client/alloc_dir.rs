//! Nomad's allocation directory: `alloc/{logs,tmp,data}` shared by the tasks, and `<task>/{local,secrets,tmp}` per task;
//! files written into a task's `local` directory (a dispatched job's payload).

use std::io;
use std::path::{Component, Path, PathBuf};

pub struct AllocDir {
    pub root: PathBuf,
}

impl AllocDir {
    pub fn new(alloc_root: &Path, alloc_id: &str) -> Self {
        Self { root: alloc_root.join(alloc_id) }
    }

    pub fn shared(&self) -> PathBuf {
        self.root.join("alloc")
    }

    pub fn logs(&self) -> PathBuf {
        self.shared().join("logs")
    }

    pub fn task(&self, task: &str) -> PathBuf {
        self.root.join(task)
    }

    /// Creates the directories (idempotent). Secrets are private to root.
    pub fn build(&self, tasks: &[&str]) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for d in ["logs", "tmp", "data"] {
            std::fs::create_dir_all(self.shared().join(d))?;
        }
        for t in tasks {
            for d in ["local", "secrets", "tmp"] {
                std::fs::create_dir_all(self.task(t).join(d))?;
            }
            std::fs::set_permissions(self.task(t).join("secrets"), std::fs::Permissions::from_mode(0o700))?;
            std::fs::set_permissions(self.task(t).join("tmp"), std::fs::Permissions::from_mode(0o1777))?;
        }
        std::fs::set_permissions(self.shared().join("tmp"), std::fs::Permissions::from_mode(0o1777))?;
        Ok(())
    }

    /// Writes `data` to `<task>/local/<file>` (creating its directories); `file` must stay inside
    /// `local`. Returns the path written.
    pub fn write_local(&self, task: &str, file: &str, data: &[u8]) -> io::Result<PathBuf> {
        let rel = Path::new(file);
        if file.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("\"{file}\" escapes the task's local directory")));
        }
        let path = self.task(task).join("local").join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, data)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_land_in_the_task_local_dir_and_may_not_escape_it() {
        let root = std::env::temp_dir().join(format!("drover-allocdir-{}", uuid::Uuid::new_v4()));
        let dir = AllocDir::new(&root, "a1");
        let p = dir.write_local("t", "in/put.txt", b"payload").unwrap();
        assert_eq!(p, root.join("a1/t/local/in/put.txt"));
        assert_eq!(std::fs::read(&p).unwrap(), b"payload");
        for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
            let e = dir.write_local("t", bad, b"x").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
