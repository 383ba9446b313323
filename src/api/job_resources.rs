//! Nomad's job JSON for task resources, devices, networks and ports, and group volumes and task volume
//! mounts, with their conversions to the job model.

use serde::{Deserialize, Serialize};

use super::job_parts::{affinities_in, affinities_out, constraints_in, constraints_out, set_from, ApiAffinity, ApiConstraint};
use crate::core::resources::{CsiMountOptions, DnsConfig, NetworkResource, Port, RequestedDevice, Resources, VolumeMount, VolumeRequest};

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
        set_from(&mut r.cpu, &self.cpu);
        set_from(&mut r.cores, &self.cores);
        set_from(&mut r.memory_mb, &self.memory_mb);
        set_from(&mut r.memory_max_mb, &self.memory_max_mb);
        set_from(&mut r.disk_mb, &self.disk_mb);
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
