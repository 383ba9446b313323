//! Nomad's job JSON for services, their checks and check_restart, with their conversions to the job model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::core::job::{CheckRestart, Service, ServiceCheck};

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
