//! Nomad's allocation directory: `alloc/{logs,tmp,data}` shared by the tasks, and `<task>/{local,secrets,tmp}` per task.

use std::io;
use std::path::{Path, PathBuf};

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
}
