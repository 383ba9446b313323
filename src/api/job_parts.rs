//! Nomad's job JSON for placement (constraints, affinities, spreads) and policies (restart, reschedule,
//! update, migrate, disconnect, periodic, parameterized, scaling, logs, ephemeral disk, lifecycle), with
//! their conversions to the job model.
//!
//! Policies a group inherits (restart, reschedule, update, migrate) come as structs of optional fields,
//! as Nomad's API does, so a partial policy is merged over the inherited one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::core::job::{
    Affinity, Constraint, DisconnectStrategy, EphemeralDisk, LogConfig, MigrateStrategy, ParameterizedJobConfig, PeriodicConfig,
    ReschedulePolicy, RestartPolicy, ScalingPolicy, Spread, SpreadTarget, TaskLifecycle, UpdateStrategy,
};

/// Sets `dst` from an optional API field when present (a partial policy over an inherited one).
pub(super) fn set_from<T: Clone>(dst: &mut T, src: &Option<T>) {
    if let Some(v) = src {
        *dst = v.clone();
    }
}

// ---------------------------------------------------------------------------------------------
// Placement

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiConstraint {
    #[serde(rename = "LTarget")]
    pub l_target: String,
    #[serde(rename = "RTarget")]
    pub r_target: String,
    pub operand: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAffinity {
    #[serde(rename = "LTarget")]
    pub l_target: String,
    #[serde(rename = "RTarget")]
    pub r_target: String,
    pub operand: String,
    pub weight: i8,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiSpreadTarget {
    pub value: String,
    pub percent: u8,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiSpread {
    pub attribute: String,
    pub weight: i8,
    pub spread_target: Vec<ApiSpreadTarget>,
}

pub fn constraints_in(v: &[ApiConstraint]) -> Vec<Constraint> {
    v.iter().map(|c| Constraint { ltarget: c.l_target.clone(), rtarget: c.r_target.clone(), operand: c.operand.clone() }).collect()
}

pub fn constraints_out(v: &[Constraint]) -> Vec<ApiConstraint> {
    v.iter().map(|c| ApiConstraint { l_target: c.ltarget.clone(), r_target: c.rtarget.clone(), operand: c.operand.clone() }).collect()
}

pub fn affinities_in(v: &[ApiAffinity]) -> Vec<Affinity> {
    v.iter()
        .map(|a| Affinity { ltarget: a.l_target.clone(), rtarget: a.r_target.clone(), operand: a.operand.clone(), weight: a.weight })
        .collect()
}

pub fn affinities_out(v: &[Affinity]) -> Vec<ApiAffinity> {
    v.iter()
        .map(|a| ApiAffinity { l_target: a.ltarget.clone(), r_target: a.rtarget.clone(), operand: a.operand.clone(), weight: a.weight })
        .collect()
}

pub fn spreads_in(v: &[ApiSpread]) -> Vec<Spread> {
    v.iter()
        .map(|s| Spread {
            attribute: s.attribute.clone(),
            weight: s.weight,
            targets: s.spread_target.iter().map(|t| SpreadTarget { value: t.value.clone(), percent: t.percent }).collect(),
        })
        .collect()
}

pub fn spreads_out(v: &[Spread]) -> Vec<ApiSpread> {
    v.iter()
        .map(|s| ApiSpread {
            attribute: s.attribute.clone(),
            weight: s.weight,
            spread_target: s.targets.iter().map(|t| ApiSpreadTarget { value: t.value.clone(), percent: t.percent }).collect(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Policies

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiRestartPolicy {
    pub attempts: Option<u32>,
    pub interval: Option<i64>,
    pub delay: Option<i64>,
    pub mode: Option<String>,
    pub render_templates: Option<bool>,
}

impl ApiRestartPolicy {
    pub fn merged_over(&self, base: &RestartPolicy) -> RestartPolicy {
        let mut p = base.clone();
        set_from(&mut p.attempts, &self.attempts);
        set_from(&mut p.interval, &self.interval);
        set_from(&mut p.delay, &self.delay);
        set_from(&mut p.mode, &self.mode);
        set_from(&mut p.render_templates, &self.render_templates);
        p
    }

    pub fn from_model(p: &RestartPolicy) -> Self {
        Self {
            attempts: Some(p.attempts),
            interval: Some(p.interval),
            delay: Some(p.delay),
            mode: Some(p.mode.clone()),
            render_templates: Some(p.render_templates),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiReschedulePolicy {
    pub attempts: Option<i32>,
    pub interval: Option<i64>,
    pub delay: Option<i64>,
    pub delay_function: Option<String>,
    pub max_delay: Option<i64>,
    pub unlimited: Option<bool>,
}

impl ApiReschedulePolicy {
    pub fn merged_over(&self, base: &ReschedulePolicy) -> ReschedulePolicy {
        let mut p = base.clone();
        set_from(&mut p.attempts, &self.attempts);
        set_from(&mut p.interval, &self.interval);
        set_from(&mut p.delay, &self.delay);
        set_from(&mut p.delay_function, &self.delay_function);
        set_from(&mut p.max_delay, &self.max_delay);
        set_from(&mut p.unlimited, &self.unlimited);
        p
    }

    pub fn from_model(p: &ReschedulePolicy) -> Self {
        Self {
            attempts: Some(p.attempts),
            interval: Some(p.interval),
            delay: Some(p.delay),
            delay_function: Some(p.delay_function.clone()),
            max_delay: Some(p.max_delay),
            unlimited: Some(p.unlimited),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiUpdateStrategy {
    pub stagger: Option<i64>,
    pub max_parallel: Option<i32>,
    pub health_check: Option<String>,
    pub min_healthy_time: Option<i64>,
    pub healthy_deadline: Option<i64>,
    pub progress_deadline: Option<i64>,
    pub canary: Option<i32>,
    pub auto_revert: Option<bool>,
    pub auto_promote: Option<bool>,
}

impl ApiUpdateStrategy {
    pub fn merged_over(&self, base: &UpdateStrategy) -> UpdateStrategy {
        let mut u = base.clone();
        set_from(&mut u.stagger, &self.stagger);
        set_from(&mut u.max_parallel, &self.max_parallel);
        set_from(&mut u.health_check, &self.health_check);
        set_from(&mut u.min_healthy_time, &self.min_healthy_time);
        set_from(&mut u.healthy_deadline, &self.healthy_deadline);
        set_from(&mut u.progress_deadline, &self.progress_deadline);
        set_from(&mut u.canary, &self.canary);
        set_from(&mut u.auto_revert, &self.auto_revert);
        set_from(&mut u.auto_promote, &self.auto_promote);
        u
    }

    pub fn from_model(u: &UpdateStrategy) -> Self {
        Self {
            stagger: Some(u.stagger),
            max_parallel: Some(u.max_parallel),
            health_check: Some(u.health_check.clone()),
            min_healthy_time: Some(u.min_healthy_time),
            healthy_deadline: Some(u.healthy_deadline),
            progress_deadline: Some(u.progress_deadline),
            canary: Some(u.canary),
            auto_revert: Some(u.auto_revert),
            auto_promote: Some(u.auto_promote),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiMigrateStrategy {
    pub max_parallel: Option<i32>,
    pub health_check: Option<String>,
    pub min_healthy_time: Option<i64>,
    pub healthy_deadline: Option<i64>,
}

impl ApiMigrateStrategy {
    pub fn merged_over(&self, base: &MigrateStrategy) -> MigrateStrategy {
        let mut m = base.clone();
        set_from(&mut m.max_parallel, &self.max_parallel);
        set_from(&mut m.health_check, &self.health_check);
        set_from(&mut m.min_healthy_time, &self.min_healthy_time);
        set_from(&mut m.healthy_deadline, &self.healthy_deadline);
        m
    }

    pub fn from_model(m: &MigrateStrategy) -> Self {
        Self {
            max_parallel: Some(m.max_parallel),
            health_check: Some(m.health_check.clone()),
            min_healthy_time: Some(m.min_healthy_time),
            healthy_deadline: Some(m.healthy_deadline),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDisconnect {
    pub lost_after: i64,
    pub stop_on_client_after: Option<i64>,
    pub replace: Option<bool>,
    pub reconcile: String,
}

impl ApiDisconnect {
    pub fn to_model(&self) -> DisconnectStrategy {
        DisconnectStrategy {
            lost_after: self.lost_after,
            stop_on_client_after: self.stop_on_client_after,
            replace: self.replace,
            reconcile: self.reconcile.clone(),
        }
    }

    pub fn from_model(d: &DisconnectStrategy) -> Self {
        Self { lost_after: d.lost_after, stop_on_client_after: d.stop_on_client_after, replace: d.replace, reconcile: d.reconcile.clone() }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiPeriodic {
    pub enabled: Option<bool>,
    pub spec: String,
    pub specs: Vec<String>,
    pub spec_type: String,
    pub prohibit_overlap: bool,
    pub time_zone: String,
}

impl ApiPeriodic {
    pub fn to_model(&self) -> PeriodicConfig {
        PeriodicConfig {
            enabled: self.enabled.unwrap_or(true),
            spec: self.spec.clone(),
            specs: self.specs.clone(),
            spec_type: self.spec_type.clone(),
            prohibit_overlap: self.prohibit_overlap,
            time_zone: self.time_zone.clone(),
        }
    }

    pub fn from_model(p: &PeriodicConfig) -> Self {
        Self {
            enabled: Some(p.enabled),
            spec: p.spec.clone(),
            specs: p.specs.clone(),
            spec_type: p.spec_type.clone(),
            prohibit_overlap: p.prohibit_overlap,
            time_zone: p.time_zone.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiParameterized {
    pub payload: String,
    pub meta_required: Vec<String>,
    pub meta_optional: Vec<String>,
}

impl ApiParameterized {
    pub fn to_model(&self) -> ParameterizedJobConfig {
        ParameterizedJobConfig {
            payload: if self.payload.is_empty() { "optional".into() } else { self.payload.clone() },
            meta_required: self.meta_required.clone(),
            meta_optional: self.meta_optional.clone(),
        }
    }

    pub fn from_model(p: &ParameterizedJobConfig) -> Self {
        Self { payload: p.payload.clone(), meta_required: p.meta_required.clone(), meta_optional: p.meta_optional.clone() }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiScalingPolicy {
    #[serde(rename = "ID")]
    pub id: String,
    pub namespace: String,
    pub target: BTreeMap<String, String>,
    #[serde(rename = "Type")]
    pub kind: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub enabled: Option<bool>,
    pub policy: BTreeMap<String, Json>,
    pub create_index: u64,
    pub modify_index: u64,
}

impl ApiScalingPolicy {
    pub fn to_model(&self) -> ScalingPolicy {
        ScalingPolicy {
            kind: self.kind.clone(),
            min: self.min,
            max: self.max.unwrap_or(0),
            enabled: self.enabled.unwrap_or(true),
            policy: self.policy.clone(),
        }
    }

    pub fn from_model(s: &ScalingPolicy, target: BTreeMap<String, String>) -> Self {
        Self {
            kind: s.kind.clone(),
            min: s.min,
            max: Some(s.max),
            enabled: Some(s.enabled),
            policy: s.policy.clone(),
            target,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiLogConfig {
    pub max_files: Option<u32>,
    #[serde(rename = "MaxFileSizeMB")]
    pub max_file_size_mb: Option<u32>,
    pub disabled: Option<bool>,
}

impl ApiLogConfig {
    pub fn to_model(&self) -> LogConfig {
        let mut l = LogConfig::default();
        set_from(&mut l.max_files, &self.max_files);
        set_from(&mut l.max_file_size_mb, &self.max_file_size_mb);
        set_from(&mut l.disabled, &self.disabled);
        l
    }

    pub fn from_model(l: &LogConfig) -> Self {
        Self { max_files: Some(l.max_files), max_file_size_mb: Some(l.max_file_size_mb), disabled: Some(l.disabled) }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiEphemeralDisk {
    pub sticky: Option<bool>,
    #[serde(rename = "SizeMB")]
    pub size_mb: Option<u64>,
    pub migrate: Option<bool>,
}

impl ApiEphemeralDisk {
    pub fn to_model(&self) -> EphemeralDisk {
        let mut d = EphemeralDisk::default();
        set_from(&mut d.sticky, &self.sticky);
        set_from(&mut d.size_mb, &self.size_mb);
        set_from(&mut d.migrate, &self.migrate);
        d
    }

    pub fn from_model(d: &EphemeralDisk) -> Self {
        Self { sticky: Some(d.sticky), size_mb: Some(d.size_mb), migrate: Some(d.migrate) }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiLifecycle {
    pub hook: String,
    pub sidecar: bool,
}

impl ApiLifecycle {
    pub fn to_model(&self) -> TaskLifecycle {
        TaskLifecycle { hook: self.hook.clone(), sidecar: self.sidecar }
    }

    pub fn from_model(l: &TaskLifecycle) -> Self {
        Self { hook: l.hook.clone(), sidecar: l.sidecar }
    }
}
