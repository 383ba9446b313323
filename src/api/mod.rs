//! Nomad's JSON wire types (PascalCase, durations in nanoseconds) and their conversion to and from the job model.
//!
//! Only this module knows Nomad's JSON field names; the domain model stays independent of them.

pub mod alloc;
pub mod deployment;
pub mod eval;
pub mod exec;
pub mod filter;
pub mod fs;
pub mod host_stats;
pub mod job;
pub mod job_dispatch;
pub mod job_parts;
pub mod job_plan;
pub mod job_resources;
pub mod job_service;
pub mod job_task_files;
pub mod node;
pub mod scheduler_config;
pub mod service_reg;
pub mod stats;
pub mod var;

/// Turns an explicit JSON `null` (as Go clients send for empty slices and maps) into the default.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
