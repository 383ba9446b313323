//! `drover executor`: the per-task child process that owns one task (container or process), its logs and its cleanup.

/// Runs the executor for the task described in `<state_dir>/spec.json`; returns the process exit code.
pub fn run(_state_dir: &std::path::Path) -> i32 {
    1
}
