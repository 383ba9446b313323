//! `drover agent -config`: a server+client agent configured only by files in a directory (HCL and JSON)
//! registers a node carrying the configured class, pool, meta, datacenter and reserved resources; a config
//! with an unknown key, or a missing file, makes the agent exit 1 with a clear message before it starts.

mod common;

use std::ffi::OsString;
use std::process::Command;

use common::agent::*;

#[test]
fn an_agent_configured_by_files_registers_its_configured_node() {
    let dir = temp_dir("agent-config");
    let data_dir = dir.join("data");
    let image_dir = dir.join("images");
    std::fs::create_dir_all(&image_dir).unwrap();
    let conf = dir.join("conf.d");
    std::fs::create_dir_all(&conf).unwrap();
    let (http_port, rpc_port) = (free_port(), free_port());
    std::fs::write(
        conf.join("10-server.hcl"),
        format!(
            r#"
name       = "configured-node"
datacenter = "dc-from-file"
data_dir   = "{}"
bind_addr  = "127.0.0.1"
ports {{
  http = {http_port}
  rpc  = {rpc_port}
  serf = 4648
}}
server {{
  enabled          = true
  bootstrap_expect = 1
}}
telemetry {{
  prometheus_metrics = true
}}
"#,
            data_dir.display()
        ),
    )
    .unwrap();
    std::fs::write(
        conf.join("20-client.json"),
        r#"{"client": {"enabled": true, "node_class": "web", "node_pool": "default",
                       "meta": {"rack": "r1", "zone": "z1"},
                       "reserved": {"cpu": 250, "memory": 128, "reserved_ports": "22,80"}}}"#,
    )
    .unwrap();
    // Not a config file: ignored.
    std::fs::write(conf.join("notes.txt"), "not a config").unwrap();

    let args: Vec<OsString> = vec![
        "agent".into(),
        "-config".into(),
        conf.clone().into(),
        "-image-dir".into(),
        image_dir.clone().into(),
        "-meta".into(),
        "zone=z9".into(),
    ];
    let mut agent = DevAgent::start_with(&args, &data_dir, &image_dir, http_port);

    let nodes = get_json(&agent.url("/v1/nodes"));
    let id = nodes[0]["ID"].as_str().expect("a node id").to_string();
    let node = get_json(&agent.url(&format!("/v1/node/{id}")));
    assert_eq!(node["Name"], "configured-node", "{node}");
    assert_eq!(node["Datacenter"], "dc-from-file", "{node}");
    assert_eq!(node["NodeClass"], "web", "{node}");
    assert_eq!(node["NodePool"], "default", "{node}");
    assert_eq!(node["Meta"]["rack"], "r1", "{node}");
    assert_eq!(node["Meta"]["zone"], "z9", "a -meta flag wins over the files: {node}");
    assert_eq!(node["ReservedResources"]["Cpu"]["CpuShares"], 250, "{node}");
    assert_eq!(node["ReservedResources"]["Memory"]["MemoryMB"], 128, "{node}");
    assert_eq!(node["ReservedResources"]["Networks"]["ReservedHostPorts"], "22,80", "{node}");
    assert!(agent.alive());
    let log = agent.log();
    assert!(log.contains("\"serf\" has no effect in drover"), "the ignored key is warned about:\n{log}");
    assert!(log.contains("\"telemetry\" has no effect in drover"), "{log}");
    agent.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_key_stops_the_agent_before_it_starts() {
    let dir = temp_dir("agent-config-bad");
    let data_dir = dir.join("data");
    let file = dir.join("agent.hcl");
    std::fs::write(&file, format!("data_dir = \"{}\"\nclient {{\n  enabled   = true\n  node_clas = \"web\"\n}}\n", data_dir.display()))
        .unwrap();
    let out = Command::new(bin()).args(["agent", "-server", "-config"]).arg(&file).output().expect("run drover agent");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected = format!("Error: {}:4:3: client: unknown attribute \"node_clas\"; did you mean \"node_class\"?", file.display());
    assert!(stderr.contains(&expected), "expected {expected:?} in:\n{stderr}");
    assert!(!data_dir.exists(), "nothing was started or created");

    let missing = dir.join("missing.hcl");
    let out = Command::new(bin()).args(["agent", "-dev", "-config"]).arg(&missing).output().expect("run drover agent");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("Error: config {}: No such file or directory", missing.display())), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
