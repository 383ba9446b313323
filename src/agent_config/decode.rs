//! The top level of an agent configuration file: identity, directories, logging, listeners
//! (`ports`, `addresses`, `advertise`), `plugin` blocks, and the `server` and `client` blocks.

use std::net::IpAddr;

use crate::jobspec::{suggest, Cx, Path};

use super::decode_client::client;
use super::decode_server::server;
use super::keys::{Block, Keys};
use super::model::{FileConfig, Plugin};
use super::tree::Node;

const TOP: Keys = Keys {
    used: &[
        "name",
        "region",
        "datacenter",
        "data_dir",
        "bind_addr",
        "log_level",
        "log_json",
        "ports",
        "addresses",
        "advertise",
        "server",
        "client",
        "plugin",
    ],
    ignored: &[
        "plugin_dir",
        "log_file",
        "log_include_location",
        "log_rotate_duration",
        "log_rotate_bytes",
        "log_rotate_max_files",
        "enable_debug",
        "acl",
        "telemetry",
        "leave_on_interrupt",
        "leave_on_terminate",
        "enable_syslog",
        "syslog_facility",
        "disable_update_check",
        "disable_anonymous_signature",
        "consul",
        "vault",
        "ui",
        "tls",
        "http_api_response_headers",
        "sentinel",
        "autopilot",
        "limits",
        "audit",
        "reporting",
        "keyring",
    ],
};

const PORTS: Keys = Keys { used: &["http", "rpc"], ignored: &["serf"] };
const ADDRESSES: Keys = Keys { used: &["http", "rpc"], ignored: &["serf"] };
const ADVERTISE: Keys = Keys { used: &["http", "rpc"], ignored: &["serf"] };
const PLUGIN: Keys = Keys { used: &["config"], ignored: &["args"] };
const RAW_EXEC_CONFIG: Keys = Keys { used: &["enabled"], ignored: &["no_cgroups", "denied_host_uids", "denied_host_gids"] };

/// Log levels the agent accepts (Nomad writes them in capitals; both are fine).
pub const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// Decodes a whole file's tree.
pub(crate) fn file(cx: &mut Cx<'_>, root: &Node) -> FileConfig {
    let top = Block::open(cx, root, Path::default(), &TOP);
    let mut c = FileConfig {
        name: top.get(cx, "name"),
        region: top.get(cx, "region"),
        datacenter: top.get(cx, "datacenter"),
        data_dir: top.get(cx, "data_dir"),
        bind_addr: top.parsed(cx, "bind_addr", ip),
        log_level: top.parsed(cx, "log_level", parse_log_level),
        log_json: top.get(cx, "log_json"),
        ..FileConfig::default()
    };
    top.block(cx, "ports", &PORTS, |cx, b| {
        c.ports.http = b.get(cx, "http").or(c.ports.http);
        c.ports.rpc = b.get(cx, "rpc").or(c.ports.rpc);
    });
    top.block(cx, "addresses", &ADDRESSES, |cx, b| {
        c.addresses.http = b.parsed(cx, "http", ip).or(c.addresses.http);
        c.addresses.rpc = b.parsed(cx, "rpc", ip).or(c.addresses.rpc);
    });
    top.block(cx, "advertise", &ADVERTISE, |cx, b| {
        c.advertise.http = b.parsed(cx, "http", advertise).or(c.advertise.http.take());
        c.advertise.rpc = b.parsed(cx, "rpc", advertise).or(c.advertise.rpc.take());
    });
    top.block(cx, "server", &super::decode_server::SERVER, |cx, b| server(cx, b, &mut c.server));
    top.block(cx, "client", &super::decode_client::CLIENT, |cx, b| client(cx, b, &mut c.client));
    for (name, b) in top.labeled(cx, "plugin", &PLUGIN) {
        if name == "raw_exec" {
            let mut p = Plugin::default();
            b.block(cx, "config", &RAW_EXEC_CONFIG, |cx, conf| p.enabled = conf.get(cx, "enabled").or(p.enabled));
            c.plugins.insert(name, p);
        } else {
            cx.warn(b.node.at, &Path::default(), &format!("plugin \"{name}\" has no effect in drover; only raw_exec is configurable"));
        }
    }
    c
}

pub(crate) fn ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("expected an IP address, got \"{s}\""))
}

/// A log level, lower-cased; unknown ones are refused with a suggestion.
pub fn parse_log_level(s: &str) -> Result<String, String> {
    let l = s.to_lowercase();
    if LOG_LEVELS.contains(&l.as_str()) {
        return Ok(l);
    }
    let hint = suggest(&l, LOG_LEVELS).map(|h| format!("; did you mean \"{h}\"?")).unwrap_or_default();
    Err(format!("unknown log level \"{s}\" (one of {}){hint}", LOG_LEVELS.join(", ")))
}

/// `host` or `host:port`; IPv6 addresses with a port are written `[::1]:4647`.
pub(crate) fn advertise(s: &str) -> Result<String, String> {
    let s = s.trim();
    let (host, port) = match s.rsplit_once(':') {
        _ if s.parse::<IpAddr>().is_ok() => (s, None),
        Some((h, p)) if !h.is_empty() => (h.trim_start_matches('[').trim_end_matches(']'), Some(p)),
        _ => (s, None),
    };
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('{') {
        return Err(format!("expected host or host:port, got \"{s}\" (address templates are not supported)"));
    }
    if let Some(p) = port {
        p.parse::<u16>().map_err(|_| format!("invalid port \"{p}\" in \"{s}\""))?;
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(ip("0.0.0.0"), Ok(IpAddr::from([0, 0, 0, 0])));
        assert!(ip("{{ GetPrivateIP }}").is_err());
        assert_eq!(parse_log_level("INFO"), Ok("info".into()));
        assert_eq!(
            parse_log_level("debgu").unwrap_err(),
            "unknown log level \"debgu\" (one of trace, debug, info, warn, error); did you mean \"debug\"?"
        );
        assert_eq!(advertise("10.0.0.1"), Ok("10.0.0.1".into()));
        assert_eq!(advertise("10.0.0.1:5000"), Ok("10.0.0.1:5000".into()));
        assert_eq!(advertise("fe80::1"), Ok("fe80::1".into()));
        assert_eq!(advertise("[fe80::1]:4647"), Ok("[fe80::1]:4647".into()));
        assert_eq!(advertise("node1.example:4647"), Ok("node1.example:4647".into()));
        assert!(advertise("10.0.0.1:http").is_err());
        assert!(advertise("").is_err());
    }
}
