//! The `server` block: enabling the role, cluster formation (`bootstrap_expect`, `server_join` and the
//! older top-level `retry_join`), heartbeat TTL and grace, scheduler workers and Raft timing.

use crate::jobspec::Cx;

use super::keys::{Block, Keys};
use super::model::{ServerFile, ServerJoin};

pub(crate) const SERVER: Keys = Keys {
    used: &[
        "enabled",
        "bootstrap_expect",
        "server_join",
        "retry_join",
        "retry_max",
        "retry_interval",
        "heartbeat_grace",
        "min_heartbeat_ttl",
        "max_heartbeats_per_second",
        "num_schedulers",
        "raft_multiplier",
        "raft_snapshot_threshold",
        "raft_snapshot_interval",
        "raft_trailing_logs",
    ],
    ignored: &[
        "authoritative_region",
        "data_dir",
        "protocol_version",
        "raft_protocol",
        "enabled_schedulers",
        "node_gc_threshold",
        "job_gc_interval",
        "job_gc_threshold",
        "eval_gc_threshold",
        "batch_eval_gc_threshold",
        "deployment_gc_threshold",
        "csi_volume_claim_gc_interval",
        "csi_volume_claim_gc_threshold",
        "csi_plugin_gc_threshold",
        "acl_token_gc_threshold",
        "root_key_gc_interval",
        "root_key_gc_threshold",
        "root_key_rotation_threshold",
        "failover_heartbeat_ttl",
        "start_join",
        "rejoin_after_leave",
        "non_voting_server",
        "redundancy_zone",
        "upgrade_version",
        "encrypt",
        "default_scheduler_config",
        "plan_rejection_tracker",
        "enable_event_broker",
        "event_buffer_size",
        "license_path",
        "search",
        "deploy_query_rate_limit",
        "raft_boltdb",
        "raft_snapshot_interval",
        "job_default_priority",
        "job_max_priority",
        "job_max_source_size",
        "job_tracked_versions",
        "oidc_issuer",
    ],
};

pub(crate) const SERVER_JOIN: Keys = Keys { used: &["retry_join", "retry_max", "retry_interval"], ignored: &["start_join"] };

/// Nomad's accepted range for `raft_multiplier`.
const RAFT_MULTIPLIER: std::ops::RangeInclusive<u32> = 1..=10;

pub(crate) fn server(cx: &mut Cx<'_>, b: &Block<'_>, s: &mut ServerFile) {
    s.enabled = b.get(cx, "enabled").or(s.enabled);
    s.bootstrap_expect = b.get(cx, "bootstrap_expect").or(s.bootstrap_expect);
    b.block(cx, "server_join", &SERVER_JOIN, |cx, j| server_join(cx, j, &mut s.server_join));
    s.retry_join.extend(b.get::<Vec<String>>(cx, "retry_join").unwrap_or_default());
    s.retry_max = b.get(cx, "retry_max").or(s.retry_max);
    s.retry_interval = b.duration(cx, "retry_interval").or(s.retry_interval);
    s.heartbeat_grace = b.duration(cx, "heartbeat_grace").or(s.heartbeat_grace);
    s.min_heartbeat_ttl = b.duration(cx, "min_heartbeat_ttl").or(s.min_heartbeat_ttl);
    let rate = |r: &f64| if r.is_finite() && *r > 0.0 { Ok(()) } else { Err(format!("must be a positive number, got {r}")) };
    s.max_heartbeats_per_second = b.checked(cx, "max_heartbeats_per_second", rate).or(s.max_heartbeats_per_second);
    s.num_schedulers = b.get(cx, "num_schedulers").or(s.num_schedulers);
    let multiplier = |m: &u32| {
        let (lo, hi) = (RAFT_MULTIPLIER.start(), RAFT_MULTIPLIER.end());
        RAFT_MULTIPLIER.contains(m).then_some(()).ok_or_else(|| format!("must be between {lo} and {hi}, got {m}"))
    };
    s.raft_multiplier = b.checked(cx, "raft_multiplier", multiplier).or(s.raft_multiplier);
    let positive = |n: &u64| if *n > 0 { Ok(()) } else { Err("must be positive".to_string()) };
    s.raft_snapshot_threshold = b.checked(cx, "raft_snapshot_threshold", positive).or(s.raft_snapshot_threshold);
    s.raft_trailing_logs = b.checked(cx, "raft_trailing_logs", positive).or(s.raft_trailing_logs);
    s.raft_snapshot_interval = b.duration(cx, "raft_snapshot_interval").or(s.raft_snapshot_interval);
}

pub(crate) fn server_join(cx: &mut Cx<'_>, b: &Block<'_>, j: &mut ServerJoin) {
    j.retry_join.extend(b.get::<Vec<String>>(cx, "retry_join").unwrap_or_default());
    j.retry_max = b.get(cx, "retry_max").or(j.retry_max);
    j.retry_interval = b.duration(cx, "retry_interval").or(j.retry_interval);
}
