//! Failed allocations replaced by Nomad's reschedule policy on a real `drover agent -dev` (issue 5):
//! a failing service task is rescheduled exactly `attempts` times (each replacement chained to the
//! one it replaces, carrying the attempts so far), a longer delay is held by a delayed evaluation
//! that the broker releases at its time, a failing batch task is rescheduled by its own policy, and
//! a completed batch allocation is never run again.

mod common;

use std::time::{Duration, Instant};

use common::agent::*;
use drover::api::alloc::parse_rfc3339;
use serde_json::Value;

const SECOND: i64 = 1_000_000_000;

fn job(id: &str, kind: &str, script: &str, reschedule: &str) -> String {
    format!(
        r#"job "{id}" {{
  type = "{kind}"
  group "g" {{
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    reschedule {{
{reschedule}
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "{script}"]
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

fn run(agent: &DevAgent, dir: &std::path::Path, id: &str, hcl: &str) {
    let file = dir.join(format!("{id}.hcl"));
    std::fs::write(&file, hcl).unwrap();
    let out = agent.cli(&["job", "run", "-detach", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// The job's allocations in full, oldest first.
fn allocs(agent: &DevAgent, job: &str) -> Vec<Value> {
    let list = get_json(&agent.url(&format!("/v1/job/{job}/allocations")));
    let mut all: Vec<Value> = list
        .as_array()
        .map(|a| a.iter().map(|x| get_json(&agent.url(&format!("/v1/allocation/{}", x["ID"].as_str().unwrap())))).collect())
        .unwrap_or_default();
    all.sort_by_key(|a| a["CreateIndex"].as_u64());
    all
}

fn wait_for_allocs(agent: &DevAgent, job: &str, n: usize, status: &str) -> Vec<Value> {
    wait_until(&format!("{n} {status} allocations of {job}"), Duration::from_secs(90), || {
        let a = allocs(agent, job);
        a.len() >= n && a.iter().all(|x| x["ClientStatus"] == status)
    });
    allocs(agent, job)
}

fn tracker_events(a: &Value) -> Vec<Value> {
    a["RescheduleTracker"]["Events"].as_array().cloned().unwrap_or_default()
}

/// When the allocation's task finished (its failure time), unix nanoseconds.
fn finished_at(a: &Value) -> i64 {
    parse_rfc3339(a["TaskStates"]["t"]["FinishedAt"].as_str().unwrap_or("")).unwrap_or_else(|| panic!("no FinishedAt: {a}"))
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn failed_allocations_are_rescheduled_by_policy() {
    let Some((agent, dir)) = dev_agent("e2e-reschedule") else { return };
    let started = Instant::now();
    let _p = ["rs-svc", "rs-delay", "rs-batch", "rs-done"].map(|j| PurgeOnDrop { base: agent.addr(), job: j });
    let svc_policy = "      attempts       = 2\n      interval       = \"1h\"\n      delay          = \"1s\"\n      delay_function = \"constant\"\n      unlimited      = false";
    run(&agent, &dir, "rs-svc", &job("rs-svc", "service", "exit 1", svc_policy));
    let delay_policy = "      attempts       = 1\n      interval       = \"1h\"\n      delay          = \"4s\"\n      delay_function = \"constant\"\n      unlimited      = false";
    run(&agent, &dir, "rs-delay", &job("rs-delay", "service", "exit 1", delay_policy));
    let batch_policy = "      attempts       = 1\n      interval       = \"1h\"\n      delay          = \"1s\"\n      delay_function = \"constant\"\n      unlimited      = false";
    run(&agent, &dir, "rs-batch", &job("rs-batch", "batch", "exit 3", batch_policy));
    run(&agent, &dir, "rs-done", &job("rs-done", "batch", "exit 0", batch_policy));

    // A delayed reschedule: the failed allocation waits for a follow-up evaluation due at failure + 4 s.
    wait_until("rs-delay to fail and get its follow-up", Duration::from_secs(60), || {
        allocs(&agent, "rs-delay").first().is_some_and(|a| a["FollowupEvalID"].as_str().is_some_and(|f| !f.is_empty()))
    });
    let first = allocs(&agent, "rs-delay").remove(0);
    let followup_id = first["FollowupEvalID"].as_str().unwrap().to_string();
    let status = agent.cli(&["alloc", "status", first["ID"].as_str().unwrap()]);
    assert!(text(&status).contains("Reschedule Eligibility"), "alloc status names when it reschedules:\n{}", text(&status));
    eprintln!("alloc status while waiting:\n{}", text(&status));
    let f = get_json(&agent.url(&format!("/v1/evaluation/{followup_id}")));
    assert_eq!(
        (f["TriggeredBy"].as_str(), f["StatusDescription"].as_str()),
        (Some("alloc-failure"), Some("created for delayed rescheduling"))
    );
    let wait_until_ns = parse_rfc3339(f["WaitUntil"].as_str().unwrap()).unwrap_or_else(|| panic!("no WaitUntil: {f}"));
    assert_eq!(wait_until_ns, finished_at(&first) + 4 * SECOND, "due at failure + delay: {f}");
    let out = agent.cli(&["eval", "status", &followup_id]);
    assert!(text(&out).contains("Wait Until"), "eval status names when a delayed evaluation runs:\n{}", text(&out));

    // The service job: the original and exactly two replacements, each chained to the one it replaces.
    let svc = wait_for_allocs(&agent, "rs-svc", 3, "failed");
    let delayed = wait_for_allocs(&agent, "rs-delay", 2, "failed");
    let batch = wait_for_allocs(&agent, "rs-batch", 2, "failed");
    let done = wait_for_allocs(&agent, "rs-done", 1, "complete");
    // Nothing more comes: the attempts are used up, the completed batch allocation is not re-run,
    // even when its job is evaluated again.
    let (code, body) = http("PUT", &agent.url("/v1/job/rs-done/evaluate"), Some("{}")).unwrap();
    assert_eq!(code, 200, "{body}");
    std::thread::sleep(Duration::from_secs(5));
    for (job, n) in [("rs-svc", 3), ("rs-delay", 2), ("rs-batch", 2), ("rs-done", 1)] {
        assert_eq!(allocs(&agent, job).len(), n, "{job} has exactly {n} allocations");
    }

    assert!(svc[0]["RescheduleTracker"].is_null() && svc[0]["PreviousAllocation"] == "", "{}", svc[0]);
    for (i, pair) in svc.windows(2).enumerate() {
        let (prev, next) = (&pair[0], &pair[1]);
        assert_eq!(next["PreviousAllocation"], prev["ID"], "replacement {} chains to its predecessor", i + 1);
        assert_eq!(prev["NextAllocation"], next["ID"]);
        assert_eq!(prev["DesiredDescription"], "alloc was rescheduled because it failed");
        let events = tracker_events(next);
        assert_eq!(events.len(), i + 1, "replacement {} carries {} reschedule events: {next}", i + 1, i + 1);
        let last = events.last().unwrap();
        assert_eq!((&last["PrevAllocID"], &last["PrevNodeID"], last["Delay"].as_i64()), (&prev["ID"], &prev["NodeID"], Some(SECOND)));
        let gap = next["CreateTime"].as_i64().unwrap() - finished_at(prev);
        eprintln!("rs-svc replacement {}: created {:.3} s after its predecessor failed", i + 1, gap as f64 / 1e9);
        assert!(gap >= 0, "a replacement follows the failure");
    }
    let last = &svc[2];
    assert_eq!((last["DesiredStatus"].as_str(), last["NextAllocation"].as_str()), (Some("run"), Some("")), "the last one stays failed");
    let out = agent.cli(&["alloc", "status", last["ID"].as_str().unwrap()]);
    assert!(text(&out).contains("Reschedule Attempts = 2/2"), "{}", text(&out));
    let out = agent.cli(&["alloc", "status", svc[0]["ID"].as_str().unwrap()]);
    let short = &svc[1]["ID"].as_str().unwrap()[..8];
    assert!(text(&out).contains(&format!("Replacement Alloc ID = {short}")), "{}", text(&out));

    // The delayed one: created no earlier than its follow-up's time, by that evaluation.
    let repl = &delayed[1];
    assert_eq!(repl["PreviousAllocation"], delayed[0]["ID"]);
    assert_eq!(repl["EvalID"].as_str(), Some(followup_id.as_str()), "the follow-up evaluation placed it");
    let gap = repl["CreateTime"].as_i64().unwrap() - finished_at(&delayed[0]);
    eprintln!("rs-delay replacement: created {:.3} s after the failure (delay 4 s)", gap as f64 / 1e9);
    assert!(repl["CreateTime"].as_i64().unwrap() >= wait_until_ns, "not placed before the follow-up was due");
    assert_eq!(tracker_events(repl)[0]["Delay"].as_i64(), Some(4 * SECOND));
    let f = get_json(&agent.url(&format!("/v1/evaluation/{followup_id}")));
    assert_eq!(f["Status"], "complete", "{f}");

    // The batch job: one reschedule, chained.
    assert_eq!(batch[1]["PreviousAllocation"], batch[0]["ID"]);
    assert_eq!(tracker_events(&batch[1]).len(), 1);
    assert_eq!(done[0]["NextAllocation"], "", "{}", done[0]);
    eprintln!("e2e_reschedule took {:?}", started.elapsed());
}

#[test]
fn a_delayed_reschedule_survives_a_server_restart() {
    let Some((mut agent, dir)) = dev_agent("e2e-reschedule-restart") else { return };
    let _p = PurgeOnDrop { base: agent.addr(), job: "rs-restart" };
    let policy = "      attempts       = 1\n      interval       = \"1h\"\n      delay          = \"8s\"\n      delay_function = \"constant\"\n      unlimited      = false";
    run(&agent, &dir, "rs-restart", &job("rs-restart", "service", "exit 1", policy));
    wait_until("rs-restart to fail and get its follow-up", Duration::from_secs(60), || {
        allocs(&agent, "rs-restart").first().is_some_and(|a| a["FollowupEvalID"].as_str().is_some_and(|f| !f.is_empty()))
    });
    let first = allocs(&agent, "rs-restart").remove(0);
    let followup_id = first["FollowupEvalID"].as_str().unwrap().to_string();
    let f = get_json(&agent.url(&format!("/v1/evaluation/{followup_id}")));
    assert_eq!(f["Status"], "pending", "{f}");
    let due = parse_rfc3339(f["WaitUntil"].as_str().unwrap()).unwrap();

    // The leader goes away with the follow-up pending; the restarted server's broker holds it again.
    let restart = Instant::now();
    agent.stop();
    agent = DevAgent::start(&dir, &dir.join("images"), agent.http_port, agent.rpc_port);
    eprintln!("agent restarted in {:?}", restart.elapsed());
    let both = wait_for_allocs(&agent, "rs-restart", 2, "failed");
    let repl = &both[1];
    assert_eq!(repl["PreviousAllocation"], first["ID"]);
    assert_eq!(repl["EvalID"].as_str(), Some(followup_id.as_str()), "the follow-up from before the restart placed it");
    assert!(repl["CreateTime"].as_i64().unwrap() >= due, "not placed before the follow-up was due");
    eprintln!(
        "rs-restart replacement: created {:.3} s after the failure (delay 8 s)",
        (repl["CreateTime"].as_i64().unwrap() - finished_at(&first)) as f64 / 1e9
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(allocs(&agent, "rs-restart").len(), 2, "one attempt only");
}
