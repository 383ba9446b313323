//! The parts of Nomad's job JSON below a task group: placement, policies, resources and networks,
//! services and checks, templates, artifacts and volumes, with their conversions to the job model.
//!
//! Policies a group inherits (restart, reschedule, update, migrate) come as structs of optional fields,
//! as Nomad's API does, so a partial policy is merged over the inherited one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::core::job::{
    Affinity, ChangeScript, CheckRestart, Constraint, DisconnectStrategy, DispatchPayloadConfig, EphemeralDisk, LogConfig, MigrateStrategy,
    ParameterizedJobConfig, PeriodicConfig, ReschedulePolicy, RestartPolicy, ScalingPolicy, Service, ServiceCheck, Spread, SpreadTarget,
    TaskArtifact, TaskLifecycle, Template, UpdateStrategy, WaitConfig,
};
use crate::core::resources::{CsiMountOptions, DnsConfig, NetworkResource, Port, RequestedDevice, Resources, VolumeMount, VolumeRequest};

/// Sets `$dst` from an optional API field when present.
macro_rules! merge {
    ($dst:expr, $src:expr) => {
        if let Some(v) = &$src {
            $dst = v.clone();
        }
    };
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
        merge!(p.attempts, self.attempts);
        merge!(p.interval, self.interval);
        merge!(p.delay, self.delay);
        merge!(p.mode, self.mode);
        merge!(p.render_templates, self.render_templates);
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
        merge!(p.attempts, self.attempts);
        merge!(p.interval, self.interval);
        merge!(p.delay, self.delay);
        merge!(p.delay_function, self.delay_function);
        merge!(p.max_delay, self.max_delay);
        merge!(p.unlimited, self.unlimited);
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
        merge!(u.stagger, self.stagger);
        merge!(u.max_parallel, self.max_parallel);
        merge!(u.health_check, self.health_check);
        merge!(u.min_healthy_time, self.min_healthy_time);
        merge!(u.healthy_deadline, self.healthy_deadline);
        merge!(u.progress_deadline, self.progress_deadline);
        merge!(u.canary, self.canary);
        merge!(u.auto_revert, self.auto_revert);
        merge!(u.auto_promote, self.auto_promote);
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
        merge!(m.max_parallel, self.max_parallel);
        merge!(m.health_check, self.health_check);
        merge!(m.min_healthy_time, self.min_healthy_time);
        merge!(m.healthy_deadline, self.healthy_deadline);
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
        merge!(l.max_files, self.max_files);
        merge!(l.max_file_size_mb, self.max_file_size_mb);
        merge!(l.disabled, self.disabled);
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
        merge!(d.sticky, self.sticky);
        merge!(d.size_mb, self.size_mb);
        merge!(d.migrate, self.migrate);
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

// ---------------------------------------------------------------------------------------------
// Resources and networks

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiPort {
    pub label: String,
    pub value: u16,
    pub to: i32,
    pub host_network: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDns {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiNetwork {
    pub mode: String,
    pub device: String,
    #[serde(rename = "CIDR")]
    pub cidr: String,
    #[serde(rename = "IP")]
    pub ip: String,
    #[serde(rename = "MBits")]
    pub mbits: u32,
    pub hostname: String,
    pub reserved_ports: Vec<ApiPort>,
    pub dynamic_ports: Vec<ApiPort>,
    #[serde(rename = "DNS")]
    pub dns: Option<ApiDns>,
}

fn ports_in(v: &[ApiPort]) -> Vec<Port> {
    v.iter().map(|p| Port { label: p.label.clone(), value: p.value, to: p.to, host_network: p.host_network.clone() }).collect()
}

fn ports_out(v: &[Port]) -> Vec<ApiPort> {
    v.iter().map(|p| ApiPort { label: p.label.clone(), value: p.value, to: p.to, host_network: p.host_network.clone() }).collect()
}

pub fn network_in(n: &ApiNetwork) -> NetworkResource {
    NetworkResource {
        mode: if n.mode.is_empty() { "host".into() } else { n.mode.clone() },
        mbits: n.mbits,
        hostname: n.hostname.clone(),
        reserved_ports: ports_in(&n.reserved_ports),
        dynamic_ports: ports_in(&n.dynamic_ports),
        dns: n.dns.as_ref().map(|d| DnsConfig { servers: d.servers.clone(), searches: d.searches.clone(), options: d.options.clone() }),
    }
}

pub fn network_out(n: &NetworkResource) -> ApiNetwork {
    ApiNetwork {
        mode: n.mode.clone(),
        mbits: n.mbits,
        hostname: n.hostname.clone(),
        reserved_ports: ports_out(&n.reserved_ports),
        dynamic_ports: ports_out(&n.dynamic_ports),
        dns: n.dns.as_ref().map(|d| ApiDns { servers: d.servers.clone(), searches: d.searches.clone(), options: d.options.clone() }),
        ..Default::default()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDevice {
    pub name: String,
    pub count: Option<u64>,
    pub constraints: Vec<ApiConstraint>,
    pub affinities: Vec<ApiAffinity>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiResources {
    #[serde(rename = "CPU")]
    pub cpu: Option<u64>,
    pub cores: Option<u32>,
    #[serde(rename = "MemoryMB")]
    pub memory_mb: Option<u64>,
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: Option<u64>,
    #[serde(rename = "DiskMB")]
    pub disk_mb: Option<u64>,
    pub networks: Vec<ApiNetwork>,
    pub devices: Vec<ApiDevice>,
}

impl ApiResources {
    pub fn to_model(&self) -> Resources {
        let mut r = Resources::default();
        merge!(r.cpu, self.cpu);
        merge!(r.cores, self.cores);
        merge!(r.memory_mb, self.memory_mb);
        merge!(r.memory_max_mb, self.memory_max_mb);
        merge!(r.disk_mb, self.disk_mb);
        r.networks = self.networks.iter().map(network_in).collect();
        r.devices = self
            .devices
            .iter()
            .map(|d| RequestedDevice {
                name: d.name.clone(),
                count: d.count.unwrap_or(0),
                constraints: constraints_in(&d.constraints),
                affinities: affinities_in(&d.affinities),
            })
            .collect();
        r
    }

    pub fn from_model(r: &Resources) -> Self {
        Self {
            cpu: Some(r.cpu),
            cores: Some(r.cores),
            memory_mb: Some(r.memory_mb),
            memory_max_mb: Some(r.memory_max_mb),
            disk_mb: Some(r.disk_mb),
            networks: r.networks.iter().map(network_out).collect(),
            devices: r
                .devices
                .iter()
                .map(|d| ApiDevice {
                    name: d.name.clone(),
                    count: Some(d.count),
                    constraints: constraints_out(&d.constraints),
                    affinities: affinities_out(&d.affinities),
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Volumes

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiMountOptions {
    #[serde(rename = "FSType")]
    pub fs_type: String,
    pub mount_flags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiVolumeRequest {
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub source: String,
    pub read_only: bool,
    pub sticky: bool,
    pub access_mode: String,
    pub attachment_mode: String,
    pub mount_options: Option<ApiMountOptions>,
    pub per_alloc: bool,
}

impl ApiVolumeRequest {
    pub fn to_model(&self) -> VolumeRequest {
        VolumeRequest {
            name: self.name.clone(),
            kind: self.kind.clone(),
            source: self.source.clone(),
            read_only: self.read_only,
            sticky: self.sticky,
            access_mode: self.access_mode.clone(),
            attachment_mode: self.attachment_mode.clone(),
            mount_options: self
                .mount_options
                .as_ref()
                .map(|m| CsiMountOptions { fs_type: m.fs_type.clone(), mount_flags: m.mount_flags.clone() }),
            per_alloc: self.per_alloc,
        }
    }

    pub fn from_model(v: &VolumeRequest) -> Self {
        Self {
            name: v.name.clone(),
            kind: v.kind.clone(),
            source: v.source.clone(),
            read_only: v.read_only,
            sticky: v.sticky,
            access_mode: v.access_mode.clone(),
            attachment_mode: v.attachment_mode.clone(),
            mount_options: v
                .mount_options
                .as_ref()
                .map(|m| ApiMountOptions { fs_type: m.fs_type.clone(), mount_flags: m.mount_flags.clone() }),
            per_alloc: v.per_alloc,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiVolumeMount {
    pub volume: String,
    pub destination: String,
    pub read_only: bool,
    pub propagation_mode: String,
    #[serde(rename = "SELinuxLabel")]
    pub selinux_label: String,
}

impl ApiVolumeMount {
    pub fn to_model(&self) -> VolumeMount {
        VolumeMount {
            volume: self.volume.clone(),
            destination: self.destination.clone(),
            read_only: self.read_only,
            propagation_mode: self.propagation_mode.clone(),
            selinux_label: self.selinux_label.clone(),
        }
    }

    pub fn from_model(v: &VolumeMount) -> Self {
        Self {
            volume: v.volume.clone(),
            destination: v.destination.clone(),
            read_only: v.read_only,
            propagation_mode: v.propagation_mode.clone(),
            selinux_label: v.selinux_label.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Services and checks

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiCheckRestart {
    pub limit: u32,
    pub grace: Option<i64>,
    pub ignore_warnings: bool,
}

fn check_restart_in(c: &Option<ApiCheckRestart>) -> Option<CheckRestart> {
    c.as_ref().map(|c| CheckRestart { limit: c.limit, grace: c.grace, ignore_warnings: c.ignore_warnings })
}

fn check_restart_out(c: &Option<CheckRestart>) -> Option<ApiCheckRestart> {
    c.as_ref().map(|c| ApiCheckRestart { limit: c.limit, grace: c.grace, ignore_warnings: c.ignore_warnings })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiServiceCheck {
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub command: String,
    pub args: Vec<String>,
    pub path: String,
    pub protocol: String,
    pub port_label: String,
    pub expose: bool,
    pub address_mode: String,
    pub advertise: String,
    pub interval: i64,
    pub timeout: i64,
    pub check_restart: Option<ApiCheckRestart>,
    #[serde(rename = "GRPCService")]
    pub grpc_service: String,
    #[serde(rename = "GRPCUseTLS")]
    pub grpc_use_tls: bool,
    #[serde(rename = "TLSServerName")]
    pub tls_server_name: String,
    #[serde(rename = "TLSSkipVerify")]
    pub tls_skip_verify: bool,
    pub header: BTreeMap<String, Vec<String>>,
    pub method: String,
    pub body: String,
    pub initial_status: String,
    pub notes: String,
    pub success_before_passing: u32,
    pub failures_before_critical: u32,
    pub failures_before_warning: u32,
    pub on_update: String,
    pub task_name: String,
}

impl ApiServiceCheck {
    fn to_model(&self) -> ServiceCheck {
        ServiceCheck {
            name: self.name.clone(),
            kind: self.kind.clone(),
            command: self.command.clone(),
            args: self.args.clone(),
            path: self.path.clone(),
            protocol: self.protocol.clone(),
            port_label: self.port_label.clone(),
            expose: self.expose,
            address_mode: self.address_mode.clone(),
            advertise: self.advertise.clone(),
            interval: self.interval,
            timeout: self.timeout,
            initial_status: self.initial_status.clone(),
            notes: self.notes.clone(),
            tls_server_name: self.tls_server_name.clone(),
            tls_skip_verify: self.tls_skip_verify,
            header: self.header.clone(),
            method: self.method.clone(),
            check_restart: check_restart_in(&self.check_restart),
            grpc_service: self.grpc_service.clone(),
            grpc_use_tls: self.grpc_use_tls,
            task_name: self.task_name.clone(),
            success_before_passing: self.success_before_passing,
            failures_before_critical: self.failures_before_critical,
            failures_before_warning: self.failures_before_warning,
            body: self.body.clone(),
            on_update: self.on_update.clone(),
        }
    }

    fn from_model(c: &ServiceCheck) -> Self {
        Self {
            name: c.name.clone(),
            kind: c.kind.clone(),
            command: c.command.clone(),
            args: c.args.clone(),
            path: c.path.clone(),
            protocol: c.protocol.clone(),
            port_label: c.port_label.clone(),
            expose: c.expose,
            address_mode: c.address_mode.clone(),
            advertise: c.advertise.clone(),
            interval: c.interval,
            timeout: c.timeout,
            check_restart: check_restart_out(&c.check_restart),
            grpc_service: c.grpc_service.clone(),
            grpc_use_tls: c.grpc_use_tls,
            tls_server_name: c.tls_server_name.clone(),
            tls_skip_verify: c.tls_skip_verify,
            header: c.header.clone(),
            method: c.method.clone(),
            body: c.body.clone(),
            initial_status: c.initial_status.clone(),
            notes: c.notes.clone(),
            success_before_passing: c.success_before_passing,
            failures_before_critical: c.failures_before_critical,
            failures_before_warning: c.failures_before_warning,
            on_update: c.on_update.clone(),
            task_name: c.task_name.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiService {
    pub name: String,
    pub tags: Vec<String>,
    pub canary_tags: Vec<String>,
    pub enable_tag_override: bool,
    pub port_label: String,
    pub address_mode: String,
    pub address: String,
    pub checks: Vec<ApiServiceCheck>,
    pub check_restart: Option<ApiCheckRestart>,
    pub meta: BTreeMap<String, String>,
    pub canary_meta: BTreeMap<String, String>,
    pub tagged_addresses: BTreeMap<String, String>,
    pub task_name: String,
    pub on_update: String,
    pub provider: String,
    pub cluster: String,
    pub kind: String,
    pub connect: Option<Json>,
    pub identity: Option<Json>,
    pub weights: Option<Json>,
    #[serde(rename = "DroverUnsupported", skip_serializing_if = "BTreeMap::is_empty")]
    pub unsupported: BTreeMap<String, Json>,
}

impl ApiService {
    pub fn to_model(&self) -> Service {
        Service {
            name: self.name.clone(),
            tags: self.tags.clone(),
            canary_tags: self.canary_tags.clone(),
            enable_tag_override: self.enable_tag_override,
            port_label: self.port_label.clone(),
            address_mode: self.address_mode.clone(),
            address: self.address.clone(),
            checks: self.checks.iter().map(ApiServiceCheck::to_model).collect(),
            check_restart: check_restart_in(&self.check_restart),
            meta: self.meta.clone(),
            canary_meta: self.canary_meta.clone(),
            tagged_addresses: self.tagged_addresses.clone(),
            task_name: self.task_name.clone(),
            on_update: self.on_update.clone(),
            provider: self.provider.clone(),
            cluster: self.cluster.clone(),
            kind: self.kind.clone(),
            unsupported: super::job::kept_in(
                &self.unsupported,
                &[("connect", &self.connect), ("identity", &self.identity), ("weights", &self.weights)],
            ),
        }
    }

    pub fn from_model(s: &Service) -> Self {
        Self {
            name: s.name.clone(),
            tags: s.tags.clone(),
            canary_tags: s.canary_tags.clone(),
            enable_tag_override: s.enable_tag_override,
            port_label: s.port_label.clone(),
            address_mode: s.address_mode.clone(),
            address: s.address.clone(),
            checks: s.checks.iter().map(ApiServiceCheck::from_model).collect(),
            check_restart: check_restart_out(&s.check_restart),
            meta: s.meta.clone(),
            canary_meta: s.canary_meta.clone(),
            tagged_addresses: s.tagged_addresses.clone(),
            task_name: s.task_name.clone(),
            on_update: s.on_update.clone(),
            provider: s.provider.clone(),
            cluster: s.cluster.clone(),
            kind: s.kind.clone(),
            connect: s.unsupported.get("connect").cloned(),
            identity: s.unsupported.get("identity").cloned(),
            weights: s.unsupported.get("weights").cloned(),
            unsupported: super::job::kept_rest(&s.unsupported, &["connect", "identity", "weights"]),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Templates, artifacts, dispatch payloads

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiChangeScript {
    pub command: String,
    pub args: Vec<String>,
    pub timeout: i64,
    pub fail_on_error: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiWait {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTemplate {
    pub source_path: String,
    pub dest_path: String,
    pub embedded_tmpl: String,
    pub change_mode: String,
    pub change_script: Option<ApiChangeScript>,
    pub change_signal: String,
    pub splay: Option<i64>,
    pub perms: String,
    pub uid: Option<i32>,
    pub gid: Option<i32>,
    pub left_delim: String,
    pub right_delim: String,
    pub envvars: bool,
    pub vault_grace: i64,
    pub wait: Option<ApiWait>,
    pub err_missing_key: bool,
    pub once: bool,
}

impl ApiTemplate {
    pub fn to_model(&self) -> Template {
        Template {
            source_path: self.source_path.clone(),
            dest_path: self.dest_path.clone(),
            embedded_tmpl: self.embedded_tmpl.clone(),
            change_mode: self.change_mode.clone(),
            change_signal: self.change_signal.clone(),
            change_script: self.change_script.as_ref().map(|c| ChangeScript {
                command: c.command.clone(),
                args: c.args.clone(),
                timeout: c.timeout,
                fail_on_error: c.fail_on_error,
            }),
            once: self.once,
            // Nomad's default splay is 5s.
            splay: self.splay.unwrap_or(5 * crate::core::job::SECOND),
            perms: self.perms.clone(),
            uid: self.uid,
            gid: self.gid,
            left_delim: self.left_delim.clone(),
            right_delim: self.right_delim.clone(),
            envvars: self.envvars,
            vault_grace: self.vault_grace,
            wait: self.wait.as_ref().map(|w| WaitConfig { min: w.min, max: w.max }),
            err_missing_key: self.err_missing_key,
        }
    }

    pub fn from_model(t: &Template) -> Self {
        Self {
            source_path: t.source_path.clone(),
            dest_path: t.dest_path.clone(),
            embedded_tmpl: t.embedded_tmpl.clone(),
            change_mode: t.change_mode.clone(),
            change_script: t.change_script.as_ref().map(|c| ApiChangeScript {
                command: c.command.clone(),
                args: c.args.clone(),
                timeout: c.timeout,
                fail_on_error: c.fail_on_error,
            }),
            change_signal: t.change_signal.clone(),
            splay: Some(t.splay),
            perms: t.perms.clone(),
            uid: t.uid,
            gid: t.gid,
            left_delim: t.left_delim.clone(),
            right_delim: t.right_delim.clone(),
            envvars: t.envvars,
            vault_grace: t.vault_grace,
            wait: t.wait.as_ref().map(|w| ApiWait { min: w.min, max: w.max }),
            err_missing_key: t.err_missing_key,
            once: t.once,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiArtifact {
    pub getter_source: String,
    pub getter_options: BTreeMap<String, String>,
    pub getter_headers: BTreeMap<String, String>,
    pub getter_mode: String,
    pub getter_insecure: bool,
    pub relative_dest: String,
    pub chown: bool,
}

impl ApiArtifact {
    pub fn to_model(&self) -> TaskArtifact {
        TaskArtifact {
            source: self.getter_source.clone(),
            options: self.getter_options.clone(),
            headers: self.getter_headers.clone(),
            mode: self.getter_mode.clone(),
            insecure: self.getter_insecure,
            destination: self.relative_dest.clone(),
            chown: self.chown,
        }
    }

    pub fn from_model(a: &TaskArtifact) -> Self {
        Self {
            getter_source: a.source.clone(),
            getter_options: a.options.clone(),
            getter_headers: a.headers.clone(),
            getter_mode: a.mode.clone(),
            getter_insecure: a.insecure,
            relative_dest: a.destination.clone(),
            chown: a.chown,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDispatchPayload {
    pub file: String,
}

impl ApiDispatchPayload {
    pub fn to_model(&self) -> DispatchPayloadConfig {
        DispatchPayloadConfig { file: self.file.clone() }
    }

    pub fn from_model(d: &DispatchPayloadConfig) -> Self {
        Self { file: d.file.clone() }
    }
}
