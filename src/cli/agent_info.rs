//! `drover agent-info`: what the agent answering the API is (name, region, datacenter, role, Raft).

use super::format::kv;
use super::output::OutputFlags;
use super::Global;

pub async fn run(g: &Global, out: &OutputFlags) -> i32 {
    let api = g.client();
    if let Some(r) = out.emit(&api, "/v1/agent/self").await {
        return match r {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("Error: {e}");
                1
            }
        };
    }
    let v: serde_json::Value = match api.get("/v1/agent/self").await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let s = |p: &str| v.pointer(p).map(|x| x.as_str().map(String::from).unwrap_or_else(|| x.to_string())).unwrap_or_default();
    print!(
        "{}",
        kv(&[
            ("Name", s("/member/Name")),
            ("Address", format!("{}:{}", s("/member/Addr"), s("/member/Port"))),
            ("Region", s("/config/Region")),
            ("Datacenter", s("/config/Datacenter")),
            ("Version", s("/config/Version/Version")),
            ("Server", s("/config/Server/Enabled")),
            ("Client", s("/config/Client/Enabled")),
            ("Raft Leader", s("/stats/raft/leader")),
            ("Raft Applied Index", s("/stats/raft/applied_index")),
        ])
    );
    0
}
