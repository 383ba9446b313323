//! Dispatching a parameterized job: the request's rules (payload, required and permitted meta keys)
//! and the child job it creates. The id suffix and the time arrive as arguments.

use std::collections::BTreeMap;

use super::job::Job;

/// Nomad's limit on a dispatch payload, in bytes.
pub const PAYLOAD_LIMIT: usize = 16 * 1024;

/// What separates a dispatched job's id from its parent's.
pub const DISPATCH_SUFFIX: &str = "/dispatch-";

/// A dispatch's input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchRequest {
    pub payload: Vec<u8>,
    pub meta: BTreeMap<String, String>,
    /// Goes into the child's id after `dispatch-`.
    pub id_prefix_template: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    #[error("Specified job \"{0}\" is not a parameterized job")]
    NotParameterized(String),
    #[error("Specified job \"{0}\" is stopped")]
    Stopped(String),
    #[error("Payload is not provided: the parameterized job requires one (payload = \"required\")")]
    PayloadRequired,
    #[error("Payload is not allowed: the parameterized job forbids one (payload = \"forbidden\")")]
    PayloadForbidden,
    #[error("Payload exceeds maximum size; {0} > {PAYLOAD_LIMIT} bytes")]
    PayloadTooLarge(usize),
    #[error("Dispatch did not provide required meta keys: [{}]", .0.join(" "))]
    MissingMeta(Vec<String>),
    #[error("Dispatch provided unpermitted meta keys: [{}]", .0.join(" "))]
    UnpermittedMeta(Vec<String>),
}

/// `<parent>/dispatch-[<template>-]<unix seconds>-<suffix>`, as Nomad names dispatched jobs.
pub fn dispatched_id(parent: &str, template: &str, now_secs: i64, suffix: &str) -> String {
    if template.is_empty() {
        format!("{parent}{DISPATCH_SUFFIX}{now_secs}-{suffix}")
    } else {
        format!("{parent}{DISPATCH_SUFFIX}{template}-{now_secs}-{suffix}")
    }
}

/// Checks the request against the parent's `parameterized` block and builds the child job: the
/// parent's spec with its own id, the payload, the parent's meta overlaid with the request's, and no
/// `parameterized` block. `suffix` is 8 random hex digits chosen by the caller.
pub fn dispatch_child(parent: &Job, req: &DispatchRequest, now_secs: i64, suffix: &str) -> Result<Job, DispatchError> {
    let Some(p) = parent.parameterized.as_deref().filter(|_| !parent.dispatched) else {
        return Err(DispatchError::NotParameterized(parent.id.clone()));
    };
    if parent.stop {
        return Err(DispatchError::Stopped(parent.id.clone()));
    }
    match p.payload.as_str() {
        "required" if req.payload.is_empty() => return Err(DispatchError::PayloadRequired),
        "forbidden" if !req.payload.is_empty() => return Err(DispatchError::PayloadForbidden),
        _ => {}
    }
    if req.payload.len() > PAYLOAD_LIMIT {
        return Err(DispatchError::PayloadTooLarge(req.payload.len()));
    }
    let missing: Vec<String> = p.meta_required.iter().filter(|k| !req.meta.contains_key(*k)).cloned().collect();
    if !missing.is_empty() {
        return Err(DispatchError::MissingMeta(missing));
    }
    let unpermitted: Vec<String> =
        req.meta.keys().filter(|k| !p.meta_required.contains(k) && !p.meta_optional.contains(k)).cloned().collect();
    if !unpermitted.is_empty() {
        return Err(DispatchError::UnpermittedMeta(unpermitted));
    }
    let mut child = parent.clone();
    child.id = dispatched_id(&parent.id, &req.id_prefix_template, now_secs, suffix);
    child.name = child.id.clone();
    child.parent_id = parent.id.clone();
    child.dispatched = true;
    child.parameterized = None;
    child.payload = req.payload.clone();
    child.meta.extend(req.meta.iter().map(|(k, v)| (k.clone(), v.clone())));
    reset_bookkeeping(&mut child);
    Ok(child)
}

/// A new job starts at version 0, unstopped and unstable; indexes and times are set by apply.
pub(crate) fn reset_bookkeeping(job: &mut Job) {
    job.stop = false;
    job.stable = false;
    job.version = 0;
    job.create_index = 0;
    job.modify_index = 0;
    job.job_modify_index = 0;
    job.submit_time = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::job::ParameterizedJobConfig;

    fn parent(payload: &str) -> Job {
        Job {
            id: "transcode".into(),
            name: "transcode".into(),
            meta: BTreeMap::from([("quality".into(), "low".into()), ("owner".into(), "ops".into())]),
            parameterized: Some(Box::new(ParameterizedJobConfig {
                payload: payload.into(),
                meta_required: vec!["format".into()],
                meta_optional: vec!["quality".into()],
            })),
            version: 3,
            create_index: 7,
            ..Default::default()
        }
    }

    fn req(payload: &[u8], meta: &[(&str, &str)]) -> DispatchRequest {
        DispatchRequest {
            payload: payload.to_vec(),
            meta: meta.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            id_prefix_template: String::new(),
        }
    }

    #[test]
    fn a_valid_dispatch_makes_a_child() {
        let child =
            dispatch_child(&parent("optional"), &req(b"hello", &[("format", "mp4"), ("quality", "high")]), 1_700_000_000, "0a1b2c3d")
                .unwrap();
        assert_eq!(child.id, "transcode/dispatch-1700000000-0a1b2c3d");
        assert_eq!(child.name, child.id);
        assert_eq!(child.parent_id, "transcode");
        assert!(child.dispatched && child.parameterized.is_none() && !child.is_parent());
        assert_eq!(child.payload, b"hello");
        let meta: Vec<(&str, &str)> = child.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(meta, [("format", "mp4"), ("owner", "ops"), ("quality", "high")], "request meta overrides the parent's");
        assert_eq!((child.version, child.create_index), (0, 0));
    }

    #[test]
    fn the_id_prefix_template_goes_after_dispatch() {
        let mut r = req(b"", &[("format", "x")]);
        r.id_prefix_template = "nightly".into();
        assert_eq!(dispatch_child(&parent("optional"), &r, 5, "deadbeef").unwrap().id, "transcode/dispatch-nightly-5-deadbeef");
    }

    #[test]
    fn the_rules_of_the_parameterized_block() {
        let ok = [("format", "mp4")];
        let err =
            |p: &str, payload: &[u8], meta: &[(&str, &str)]| dispatch_child(&parent(p), &req(payload, meta), 1, "00000000").unwrap_err();
        assert_eq!(err("required", b"", &ok), DispatchError::PayloadRequired);
        assert_eq!(err("forbidden", b"x", &ok), DispatchError::PayloadForbidden);
        assert_eq!(err("optional", &[0u8; PAYLOAD_LIMIT + 1], &ok), DispatchError::PayloadTooLarge(PAYLOAD_LIMIT + 1));
        assert!(dispatch_child(&parent("optional"), &req(&[0u8; PAYLOAD_LIMIT], &ok), 1, "0").is_ok(), "exactly 16 KiB is allowed");
        let missing = err("optional", b"", &[("quality", "x")]);
        assert_eq!(missing.to_string(), "Dispatch did not provide required meta keys: [format]");
        let extra = err("optional", b"", &[("format", "x"), ("colour", "red"), ("bogus", "1")]);
        assert_eq!(extra.to_string(), "Dispatch provided unpermitted meta keys: [bogus colour]");
        assert!(err("required", b"", &ok).to_string().contains("payload = \"required\""));
    }

    #[test]
    fn only_a_live_parameterized_job_dispatches() {
        let plain = Job { id: "web".into(), ..Default::default() };
        assert_eq!(dispatch_child(&plain, &req(b"", &[]), 1, "0").unwrap_err(), DispatchError::NotParameterized("web".into()));
        let mut stopped = parent("optional");
        stopped.stop = true;
        assert_eq!(
            dispatch_child(&stopped, &req(b"", &[("format", "x")]), 1, "0").unwrap_err(),
            DispatchError::Stopped("transcode".into())
        );
        let mut child = parent("optional");
        child.dispatched = true;
        assert!(matches!(dispatch_child(&child, &req(b"", &[("format", "x")]), 1, "0"), Err(DispatchError::NotParameterized(_))));
    }
}
