//! Blocked work is placed when capacity frees up: a job that does not fit next to another is blocked,
//! and placed as soon as the other job's allocation ends (no node event needed), as Nomad does.

mod common;

use std::time::{Duration, Instant};

use common::agent::*;

fn running(agent: &DevAgent, job: &str) -> usize {
    let allocs = get_json(&agent.url(&format!("/v1/job/{job}/allocations")));
    allocs.as_array().map_or(0, |a| a.iter().filter(|x| x["ClientStatus"] == "running" && x["DesiredStatus"] == "run").count())
}

#[test]
fn a_blocked_job_is_placed_when_an_allocation_ends() {
    let Some((agent, dir)) = dev_agent("e2e-unblock") else { return };
    let _p = ["big1", "big2"].map(|j| PurgeOnDrop { base: agent.addr(), job: j });
    let nodes = get_json(&agent.url("/v1/nodes"));
    let node_id = nodes[0]["ID"].as_str().unwrap().to_string();
    let node = get_json(&agent.url(&format!("/v1/node/{node_id}")));
    let total = node["NodeResources"]["Memory"]["MemoryMB"].as_u64().expect("node memory");
    let each = total * 6 / 10;
    for id in ["big1", "big2"] {
        let file = dir.join(format!("{id}.hcl"));
        std::fs::write(&file, sleeper(id, "", "", each)).unwrap();
        let out = agent.cli(&["job", "run", "-detach", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    wait_until("big1 to run", Duration::from_secs(30), || running(&agent, "big1") == 1);
    wait_until("big2 to be blocked", Duration::from_secs(30), || {
        let evals = get_json(&agent.url("/v1/job/big2/evaluations"));
        evals.as_array().is_some_and(|e| e.iter().any(|x| x["Status"] == "blocked"))
    });
    assert_eq!(running(&agent, "big2"), 0, "two jobs of 60% of the node's memory both placed");

    let out = agent.cli(&["job", "stop", "big1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stopped = Instant::now();
    wait_until("big2 to be placed once big1 ended", Duration::from_secs(30), || running(&agent, "big2") == 1);
    eprintln!("blocked job placed {:.2}s after the other job's stop returned", stopped.elapsed().as_secs_f64());
}
