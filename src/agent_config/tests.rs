//! Tests over whole files: parsing HCL and JSON into the file model, merging files and flags, and the
//! errors and warnings a user sees (positions, block paths, suggestions).

use std::net::IpAddr;
use std::time::Duration;

use super::{assemble, parse, Context, FileConfig};

fn ok(src: &str, file: &str) -> FileConfig {
    match parse(src, file) {
        Ok(p) => p.config,
        Err(e) => panic!("{file} should parse:\n{e}"),
    }
}

/// The errors of a file that must not parse, one line each.
fn errors(src: &str, file: &str) -> Vec<String> {
    match parse(src, file) {
        Ok(p) => panic!("{file} should not parse, got {:?}", p.config),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn context() -> Context {
    Context { dev: false, hostname: "host1".into(), dev_data_dir: "/tmp/dev".into(), image_dir: "/images".into() }
}

const FULL_HCL: &str = r#"
name       = "n1"
region     = "eu"
datacenter = "dc2"
data_dir   = "/var/lib/drover"
bind_addr  = "0.0.0.0"
log_level  = "DEBUG"
log_json   = true
ports {
  http = 5646
  rpc  = 5647
}
addresses {
  http = "127.0.0.1"
}
advertise {
  rpc = "10.1.2.3"
}
server {
  enabled          = true
  bootstrap_expect = 3
  server_join {
    retry_join     = ["10.0.0.2", "10.0.0.3:4647"]
    retry_max      = 5
    retry_interval = "15s"
  }
  heartbeat_grace = "30s"
  min_heartbeat_ttl = "5s"
  max_heartbeats_per_second = 20.5
  num_schedulers  = 4
  raft_multiplier = 2
  raft_snapshot_interval = "30s"
}
client {
  enabled           = true
  servers           = ["127.0.0.1:5647"]
  node_class        = "web"
  node_pool         = "blue"
  network_interface = "lo"
  cpu_total_compute = 8000
  memory_total_mb   = 4096
  bridge_network_name   = "br-test"
  bridge_network_subnet = "10.77.0.0/24"
  min_dynamic_port  = 21000
  max_dynamic_port  = 22000
  gc_interval       = "30s"
  gc_max_allocs     = 20
  gc_disk_usage_threshold  = 90
  gc_inode_usage_threshold = 75.5
  meta {
    rack = "r1"
  }
  options = {
    "driver.raw_exec.enable" = "1"
  }
  reserved {
    cpu            = 500
    memory         = 256
    disk           = 1024
    reserved_ports = "22,8000-8002"
  }
  host_volume "data" {
    path      = "/srv/data"
    read_only = true
  }
}
"#;

#[test]
fn a_full_hcl_file() {
    let c = ok(FULL_HCL, "agent.hcl");
    assert_eq!((c.name.as_deref(), c.region.as_deref(), c.datacenter.as_deref()), (Some("n1"), Some("eu"), Some("dc2")));
    assert_eq!(c.bind_addr, Some(IpAddr::from([0, 0, 0, 0])));
    assert_eq!((c.log_level.as_deref(), c.log_json), (Some("debug"), Some(true)));
    assert_eq!((c.ports.http, c.ports.rpc, c.addresses.http), (Some(5646), Some(5647), Some(IpAddr::from([127, 0, 0, 1]))));
    assert_eq!(c.advertise.rpc.as_deref(), Some("10.1.2.3"));
    assert_eq!((c.server.enabled, c.server.bootstrap_expect), (Some(true), Some(3)));
    assert_eq!(c.server.server_join.retry_join, ["10.0.0.2", "10.0.0.3:4647"]);
    assert_eq!((c.server.server_join.retry_max, c.server.server_join.retry_interval), (Some(5), Some(Duration::from_secs(15))));
    assert_eq!(
        (c.server.heartbeat_grace, c.server.num_schedulers, c.server.raft_multiplier),
        (Some(Duration::from_secs(30)), Some(4), Some(2))
    );
    assert_eq!(c.client.meta.get("rack").map(String::as_str), Some("r1"));
    assert_eq!(c.client.options.get("driver.raw_exec.enable").map(String::as_str), Some("1"));
    assert_eq!(c.client.reserved.reserved_ports, Some(vec![22, 8000, 8001, 8002]));
    assert!(c.client.host_volumes["data"].read_only);

    let a = assemble(c, FileConfig::default(), &context()).unwrap();
    assert!(a.server && a.client && a.raw_exec_enabled);
    assert_eq!(a.http_addr().to_string(), "127.0.0.1:5646");
    assert_eq!(a.rpc_addr().to_string(), "0.0.0.0:5647");
    assert_eq!(a.advertise_rpc.as_deref(), Some("10.1.2.3:5647"));
    assert_eq!((a.bootstrap_expect, a.retry_max, a.num_schedulers, a.raft_multiplier), (3, 5, 4, 2));
    assert_eq!(a.raft_snapshot_interval, Some(Duration::from_secs(30)));
    assert_eq!(a.heartbeat_ttl, crate::server::heartbeat::HeartbeatTtl { min: Duration::from_secs(5), max_per_second: 20.5 });
    assert_eq!((a.node_class.as_str(), a.node_pool.as_str()), ("web", "blue"));
    assert_eq!((a.reserved.cpu_mhz, a.reserved.memory_mb, a.reserved.disk_mb), (500, 256, 1024));
    assert_eq!((a.min_dynamic_port, a.max_dynamic_port, a.cpu_total_compute, a.memory_total_mb), (21000, 22000, Some(8000), Some(4096)));
    assert_eq!(a.network_interface.as_deref(), Some("lo"));
    assert_eq!((a.bridge_network_name.as_str(), a.bridge_network_subnet.as_str()), ("br-test", "10.77.0.0/24"));
    let gc = crate::client::gc::GcConfig {
        interval: Duration::from_secs(30),
        max_allocs: 20,
        disk_usage_threshold: 90.0,
        inode_usage_threshold: 75.5,
    };
    assert_eq!(a.client_gc, gc);
}

#[test]
fn json_reads_like_hcl() {
    let json = r#"{
  "name": "n1", "region": "eu", "datacenter": "dc2", "data_dir": "/var/lib/drover", "bind_addr": "0.0.0.0",
  "log_level": "DEBUG", "log_json": true,
  "ports": {"http": 5646, "rpc": 5647},
  "addresses": [{"http": "127.0.0.1"}],
  "advertise": {"rpc": "10.1.2.3"},
  "server": [{
    "enabled": true, "bootstrap_expect": 3,
    "server_join": {"retry_join": ["10.0.0.2", "10.0.0.3:4647"], "retry_max": 5, "retry_interval": "15s"},
    "heartbeat_grace": "30s", "min_heartbeat_ttl": "5s", "max_heartbeats_per_second": 20.5, "num_schedulers": 4, "raft_multiplier": 2, "raft_snapshot_interval": "30s"
  }],
  "client": {
    "enabled": true, "servers": ["127.0.0.1:5647"], "node_class": "web", "node_pool": "blue",
    "network_interface": "lo", "cpu_total_compute": 8000, "memory_total_mb": 4096,
    "bridge_network_name": "br-test", "bridge_network_subnet": "10.77.0.0/24",
    "min_dynamic_port": 21000, "max_dynamic_port": 22000,
    "gc_interval": "30s", "gc_max_allocs": 20, "gc_disk_usage_threshold": 90, "gc_inode_usage_threshold": 75.5,
    "meta": {"rack": "r1"}, "options": {"driver.raw_exec.enable": "1"},
    "reserved": {"cpu": 500, "memory": 256, "disk": 1024, "reserved_ports": "22,8000-8002"},
    "host_volume": [{"data": {"path": "/srv/data", "read_only": true}}]
  }
}"#;
    assert_eq!(ok(json, "agent.json"), ok(FULL_HCL, "agent.hcl"));
}

#[test]
fn unknown_keys_name_the_place_and_suggest() {
    let src = "client {\n  enabled = true\n  node_clas = \"web\"\n  reserved {\n    memroy = 10\n  }\n}\nserver {\n  bootstrap_expcet = 3\n}\nsevrer {}\n";
    assert_eq!(
        errors(src, "c.hcl"),
        [
            "c.hcl:3:3: client: unknown attribute \"node_clas\"; did you mean \"node_class\"?",
            "c.hcl:5:5: client > reserved: unknown attribute \"memroy\"; did you mean \"memory\"?",
            "c.hcl:9:3: server: unknown attribute \"bootstrap_expcet\"; did you mean \"bootstrap_expect\"?",
            "c.hcl:11:1: unknown block \"sevrer\"; did you mean \"server\"?",
        ]
    );
    let json = "{\n  \"client\": {\n    \"nodeclass\": \"web\"\n  }\n}";
    assert_eq!(errors(json, "c.json"), ["c.json:3:5: client: unknown attribute \"nodeclass\"; did you mean \"node_class\"?"]);
}

#[test]
fn wrong_types_and_values() {
    let src = r#"server {
  bootstrap_expect = "three"
  retry_interval   = "15 s"
  raft_multiplier  = 11
}
client {
  servers = "10.0.0.1"
  min_dynamic_port = 70000
  reserved {
    reserved_ports = "22,90-80"
  }
  meta {
    rack = ["a"]
  }
}
bind_addr = "{{ GetPrivateIP }}"
log_level = "verbose"
ports = 4646
"#;
    assert_eq!(
        errors(src, "t.hcl"),
        [
            "t.hcl:2:22: server: attribute \"bootstrap_expect\": expected a number, got \"three\"",
            "t.hcl:3:22: server: attribute \"retry_interval\": unknown unit \" s\" in duration \"15 s\"",
            "t.hcl:4:22: server: attribute \"raft_multiplier\": must be between 1 and 10, got 11",
            "t.hcl:7:13: client: attribute \"servers\": expected a list of strings, got \"10.0.0.1\"",
            "t.hcl:8:22: client: attribute \"min_dynamic_port\": 70000 is out of range (0 to 65535)",
            "t.hcl:10:22: client > reserved: attribute \"reserved_ports\": invalid range \"90-80\": the first port is greater than the last",
            "t.hcl:13:12: client > meta: attribute \"rack\": expected a string, got a list",
            "t.hcl:16:13: attribute \"bind_addr\": expected an IP address, got \"{{ GetPrivateIP }}\"",
            "t.hcl:17:13: attribute \"log_level\": unknown log level \"verbose\" (one of trace, debug, info, warn, error)",
            "t.hcl:18:1: \"ports\" is a block, not an attribute: write `ports { … }`",
        ]
    );
}

#[test]
fn client_gc_settings_are_checked() {
    let src =
        "client {\n  gc_max_allocs = 0\n  gc_disk_usage_threshold = 120\n  gc_inode_usage_threshold = \"x\"\n  gc_interval = \"1 m\"\n}\n";
    assert_eq!(
        errors(src, "g.hcl"),
        [
            "g.hcl:2:19: client: attribute \"gc_max_allocs\": must be at least 1",
            "g.hcl:3:29: client: attribute \"gc_disk_usage_threshold\": must be a percentage from 0 to 100, got 120",
            "g.hcl:4:30: client: attribute \"gc_inode_usage_threshold\": expected a number, got \"x\"",
            "g.hcl:5:17: client: attribute \"gc_interval\": unknown unit \" m\" in duration \"1 m\"",
        ]
    );
}

#[test]
fn syntax_duplicates_and_labels() {
    assert_eq!(errors("server {\n  enabled = \n}\n", "s.hcl").len(), 1);
    assert!(errors("server {\n  enabled = \n}\n", "s.hcl")[0].starts_with("s.hcl:2:"));
    assert_eq!(
        errors("server {}\nserver {}\nclient {\n  enabled = true\n  host_volume { path = \"/x\" }\n  host_volume \"v\" {}\n}\n", "d.hcl"),
        [
            "d.hcl:2:1: only one \"server\" block is allowed",
            "d.hcl:5:3: client: block \"host_volume\" takes 1 label, got 0",
            "d.hcl:6:3: client > host_volume \"v\": missing required attribute \"path\"",
        ]
    );
    // HCL refuses an attribute set twice while parsing; JSON leaves it to the decoder.
    assert!(errors("client {\n  enabled = true\n  enabled = false\n}\n", "d.hcl")[0].starts_with("d.hcl:3:3: syntax error"));
    assert_eq!(
        errors("{\"client\": {\"enabled\": true,\n \"enabled\": false}}", "d.json"),
        ["d.json:2:2: client: attribute \"enabled\" is set more than once"]
    );
    assert!(errors("{\"server\": {\"enabled\": tru}}", "s.json")[0].starts_with("s.json:1:24: syntax error"));
    assert_eq!(errors("\n [1]", "s.json"), ["s.json:2:2: a configuration file holds an object of settings"]);
}

#[test]
fn nomad_keys_drover_ignores_are_warnings() {
    let src =
        "ports {\n  serf = 4648\n}\ntelemetry {\n  prometheus_metrics = true\n}\nserver {\n  raft_protocol = 3\n}\nplugin \"docker\" {}\n";
    let p = parse(src, "w.hcl").unwrap();
    assert_eq!(
        p.warnings,
        [
            "w.hcl:2:3: ports: \"serf\" has no effect in drover; it is accepted for compatibility with Nomad",
            "w.hcl:4:1: \"telemetry\" has no effect in drover; it is accepted for compatibility with Nomad",
            "w.hcl:8:3: server: \"raft_protocol\" has no effect in drover; it is accepted for compatibility with Nomad",
            "w.hcl:10:1: plugin \"docker\" has no effect in drover; only raw_exec is configurable",
        ]
    );
}

#[test]
fn later_files_and_then_flags_win() {
    let a = ok(
        r#"
datacenter = "dc-a"
name       = "from-a"
data_dir   = "/a"
server {
  enabled = true
  server_join { retry_join = ["a1", "a2"] }
}
client {
  enabled    = true
  servers    = ["s1"]
  node_class = "class-a"
  meta {
    rack = "r1"
    zone = "z1"
  }
  reserved {
    cpu    = 100
    memory = 200
  }
  host_volume "x" { path = "/a/x" }
  host_volume "y" { path = "/a/y" }
}
"#,
        "10-a.hcl",
    );
    let b = ok(
        r#"{"datacenter": "dc-b", "log_level": "warn",
            "server": {"server_join": {"retry_join": ["b1"]}},
            "client": {"servers": ["s2:5000"], "meta": {"zone": "z2"}, "reserved": {"memory": 300},
                       "host_volume": {"x": {"path": "/b/x", "read_only": true}}}}"#,
        "20-b.json",
    );
    let files = a.merge(b);
    let mut flags = FileConfig { name: Some("from-flags".into()), ..FileConfig::default() };
    flags.client.meta.insert("rack".into(), "r9".into());
    flags.client.servers = vec!["s3".into()];
    flags.client.node_class = Some("class-flag".into());
    let c = assemble(files.clone(), flags.clone(), &context()).unwrap();
    assert_eq!((c.datacenter.as_str(), c.node_name.as_str(), c.log_level.as_str()), ("dc-b", "from-flags", "warn"));
    assert_eq!(c.retry_join, ["b1"], "a later non-empty server_join.retry_join replaces");
    assert_eq!(c.servers, ["s1:4647", "s2:5000", "s3:4647"], "client servers append, flags last");
    assert_eq!(c.node_class, "class-flag");
    let meta: Vec<(&str, &str)> = c.node_meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(meta, [("rack", "r9"), ("zone", "z2")], "maps merge key by key");
    assert_eq!((c.reserved.cpu_mhz, c.reserved.memory_mb), (100, 300));
    assert_eq!(c.host_volumes["x"].path.to_str(), Some("/b/x"));
    assert!(c.host_volumes["x"].read_only);
    assert_eq!(c.host_volumes["y"].path.to_str(), Some("/a/y"));

    // -retry-join replaces the files' list, as Nomad's flag does.
    flags.server.server_join.retry_join = vec!["f1".into()];
    assert_eq!(assemble(files, flags, &context()).unwrap().retry_join, ["f1"]);
}

#[test]
fn the_older_retry_join_appends_and_conflicts_with_server_join() {
    let a = ok("data_dir = \"/d\"\nserver {\n  retry_join = [\"a\"]\n}\n", "a.hcl");
    let b = ok("server {\n  retry_join = [\"b\"]\n  retry_max = 2\n}\n", "b.hcl");
    let c = assemble(a.clone().merge(b), FileConfig::default(), &context()).unwrap();
    assert_eq!((c.retry_join.clone(), c.retry_max), (vec!["a".to_string(), "b".to_string()], 2));
    let mut flags = FileConfig::default();
    flags.server.server_join.retry_join = vec!["f".into()];
    let e = assemble(a, flags, &context()).unwrap_err();
    assert!(e.to_string().contains("server_join and retry_join cannot both be defined"), "{e}");
}

#[test]
fn example_configs_parse() {
    let server = parse(include_str!("../../configs/server.hcl"), "configs/server.hcl").unwrap();
    assert!(server.warnings.is_empty(), "{:?}", server.warnings);
    let s = assemble(server.config, FileConfig::default(), &context()).unwrap();
    assert!(s.server && !s.client);
    assert_eq!((s.bootstrap_expect, s.retry_join.len(), s.advertise_rpc.as_deref()), (3, 2, Some("10.0.0.11:4647")));

    let client = parse(include_str!("../../configs/client.hcl"), "configs/client.hcl").unwrap();
    assert!(client.warnings.is_empty(), "{:?}", client.warnings);
    let c = assemble(client.config, FileConfig::default(), &context()).unwrap();
    assert!(c.client && !c.server && !c.raw_exec_enabled);
    assert_eq!(c.servers, ["10.0.0.11:4647", "10.0.0.12:4647", "10.0.0.13:4647"]);
    assert_eq!((c.node_class.as_str(), c.reserved.ports.len()), ("web", 2 + 101));
}

#[test]
fn heartbeat_ttl_keys_are_checked() {
    let src = "server {\n  min_heartbeat_ttl = \"soon\"\n  max_heartbeats_per_second = 0\n}\n";
    let e = errors(src, "hb.hcl");
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].starts_with("hb.hcl:2:") && e[0].contains("\"min_heartbeat_ttl\""), "{e:?}");
    assert!(e[1].starts_with("hb.hcl:3:") && e[1].contains("\"max_heartbeats_per_second\": must be a positive number, got 0"), "{e:?}");
    // Unset: Nomad's defaults, 10 s and 50 a second.
    let a = assemble(ok("data_dir = \"/var/lib/d\"\nserver {\n  enabled = true\n}\n", "s.hcl"), FileConfig::default(), &context()).unwrap();
    assert_eq!(a.heartbeat_ttl, crate::server::heartbeat::HeartbeatTtl::default());
}
