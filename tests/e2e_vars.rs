//! Variables and operator snapshots through a real `drover agent -dev`: PUT/GET/list/DELETE, check-and-set
//! conflicts (409 with the current value), the 64 KiB limit, blocking reads, the `var` CLI, snapshot
//! save → change → restore, refused snapshot files, and variables surviving a restart.

mod common;

use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::{json, Value};

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `(status, X-Nomad-Index, body)` of a request with an optional JSON body.
fn call(agent: &DevAgent, method: &str, path: &str, body: Option<Value>) -> (u16, u64, String) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (code, head, payload) = http_bytes(method, &agent.url(path), body.as_bytes()).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let index = header(&head, "X-Nomad-Index").and_then(|i| i.parse().ok()).unwrap_or(0);
    (code, index, String::from_utf8_lossy(&payload).to_string())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn put_var(agent: &DevAgent, path: &str, items: Value) -> Value {
    let (code, _, body) = call(agent, "PUT", &format!("/v1/var/{path}"), Some(json!({ "Items": items })));
    assert_eq!(code, 200, "PUT {path}: {body}");
    json_of(&body)
}

fn get_var(agent: &DevAgent, path: &str) -> Option<Value> {
    let (code, _, body) = call(agent, "GET", &format!("/v1/var/{path}"), None);
    match code {
        200 => Some(json_of(&body)),
        404 => None,
        _ => panic!("GET {path}: {code} {body}"),
    }
}

fn paths(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|v| v["Path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn variables_and_snapshots() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs a real agent and needs root");
        return;
    }
    let dir = temp_dir("e2e-vars");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let (http_port, rpc_port) = (free_port(), free_port());
    let mut agent = DevAgent::start(&dir, &images, http_port, rpc_port);

    // create, read back; the write's index is the variable's
    let (code, index, body) = call(
        &agent,
        "PUT",
        "/v1/var/app/web/config",
        Some(json!({ "Namespace": "default", "Path": "app/web/config", "Items": { "user": "admin", "port": "8080" } })),
    );
    assert_eq!(code, 200, "{body}");
    let web = json_of(&body);
    let m1 = web["ModifyIndex"].as_u64().unwrap();
    assert!(m1 > 0 && web["CreateIndex"].as_u64() == Some(m1) && index == m1, "{body}");
    assert!(web["CreateTime"].as_i64().unwrap() > 1_600_000_000_000_000_000, "times are unix nanoseconds: {body}");
    assert_eq!(web["Items"], json!({ "user": "admin", "port": "8080" }));
    assert_eq!((web["Namespace"].as_str(), web["Path"].as_str()), (Some("default"), Some("app/web/config")));
    assert_eq!(get_var(&agent, "app/web/config"), Some(web.clone()));
    assert_eq!(get_var(&agent, "app/missing"), None);
    let (code, _, body) = call(&agent, "GET", "/v1/var/app/web/config?namespace=prod", None);
    assert_eq!(code, 404, "{body}");

    // list, prefix, namespaces; the list has no items
    put_var(&agent, "app/db", json!({ "password": "s3cret" }));
    put_var(&agent, "other/thing", json!({ "a": "1" }));
    let (code, _, body) = call(&agent, "PUT", "/v1/var/app/web/config?namespace=prod", Some(json!({ "Items": { "user": "ops" } })));
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["Namespace"], "prod");
    let (code, index, body) = call(&agent, "GET", "/v1/vars", None);
    assert_eq!(code, 200, "{body}");
    let list = json_of(&body);
    assert_eq!(paths(&list), ["app/db", "app/web/config", "other/thing"]);
    assert!(index >= m1);
    for v in list.as_array().unwrap() {
        assert!(v.get("Items").is_none(), "a list entry carries no items: {v}");
        for k in ["Namespace", "CreateIndex", "ModifyIndex", "CreateTime", "ModifyTime"] {
            assert!(v.get(k).is_some(), "{k} missing from {v}");
        }
    }
    assert_eq!(paths(&json_of(&call(&agent, "GET", "/v1/vars?prefix=app/", None).2)), ["app/db", "app/web/config"]);
    assert_eq!(paths(&json_of(&call(&agent, "GET", "/v1/vars?namespace=prod", None).2)), ["app/web/config"]);
    assert_eq!(json_of(&call(&agent, "GET", "/v1/vars?namespace=*", None).2).as_array().unwrap().len(), 4);

    // check-and-set: 409 with the current variable
    let new_items = json!({ "Items": { "user": "root" } });
    let (code, _, body) = call(&agent, "PUT", "/v1/var/app/web/config?cas=0", Some(new_items.clone()));
    assert_eq!(code, 409, "{body}");
    assert_eq!(json_of(&body), web, "the conflict returns the current variable");
    let (code, _, body) = call(&agent, "PUT", &format!("/v1/var/app/web/config?cas={m1}"), Some(new_items.clone()));
    assert_eq!(code, 200, "{body}");
    let web2 = json_of(&body);
    let m2 = web2["ModifyIndex"].as_u64().unwrap();
    assert!(m2 > m1 && web2["CreateIndex"].as_u64() == Some(m1) && web2["CreateTime"] == web["CreateTime"], "{body}");
    let (code, _, body) = call(&agent, "PUT", &format!("/v1/var/app/web/config?cas={m1}"), Some(json!({ "Items": { "x": "y" } })));
    assert_eq!(code, 409, "a stale index conflicts: {body}");
    assert_eq!(json_of(&body), web2);
    let (code, _, body) = call(&agent, "PUT", "/v1/var/app/fresh?cas=0", Some(json!({ "Items": { "k": "v" } })));
    assert_eq!(code, 200, "cas=0 creates a missing variable: {body}");
    let (code, _, body) = call(&agent, "PUT", "/v1/var/app/web/config?cas=abc", Some(new_items.clone()));
    assert_eq!(code, 400, "{body}");

    // delete with and without cas
    let (code, _, body) = call(&agent, "DELETE", &format!("/v1/var/app/web/config?cas={m1}"), None);
    assert_eq!(code, 409, "{body}");
    assert_eq!(json_of(&body), web2);
    assert!(get_var(&agent, "app/web/config").is_some());
    let (code, _, body) = call(&agent, "DELETE", &format!("/v1/var/app/web/config?cas={m2}"), None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(get_var(&agent, "app/web/config"), None);
    let (code, _, body) = call(&agent, "DELETE", "/v1/var/app/fresh", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(get_var(&agent, "app/fresh"), None);
    assert_eq!(call(&agent, "GET", "/v1/var/app/web/config?namespace=prod", None).0, 200, "other namespaces are untouched");

    // validation: paths as Nomad's, items required, the 64 KiB limit
    for (path, why) in [("bad%20path", "not allowed"), ("a.b", "not allowed"), ("a//b", "//"), ("a/", "start or end")] {
        let (code, _, body) = call(&agent, "PUT", &format!("/v1/var/{path}"), Some(json!({ "Items": { "k": "v" } })));
        assert_eq!(code, 400, "{path}: {body}");
        assert!(body.contains(why), "{path}: {body}");
    }
    let (code, _, body) = call(&agent, "PUT", &format!("/v1/var/{}", "x".repeat(129)), Some(json!({ "Items": { "k": "v" } })));
    assert!(code == 400 && body.contains("128"), "{code} {body}");
    let (code, _, body) = call(&agent, "PUT", "/v1/var/empty", Some(json!({ "Items": {} })));
    assert!(code == 400 && body.contains("Items"), "{code} {body}");
    let (code, _, body) = call(&agent, "PUT", "/v1/var/mismatch", Some(json!({ "Path": "other", "Items": { "k": "v" } })));
    assert!(code == 400 && body.contains("does not match"), "{code} {body}");
    let (code, _, body) = call(&agent, "PUT", "/v1/var/big", Some(json!({ "Items": { "blob": "x".repeat(65 * 1024) } })));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("65536") && body.contains("64 KiB") && body.contains(&(65 * 1024 + 11).to_string()), "{body}");
    assert_eq!(get_var(&agent, "big"), None);
    let blob = "y".repeat(60 * 1024);
    put_var(&agent, "big", json!({ "blob": blob }));
    assert_eq!(get_var(&agent, "big").unwrap()["Items"]["blob"].as_str().map(str::len), Some(60 * 1024));

    // a blocking read returns when the wait ends, and wakes on a write
    let (_, idx, _) = call(&agent, "GET", "/v1/var/app/db", None);
    let start = Instant::now();
    let (code, same, _) = call(&agent, "GET", &format!("/v1/var/app/db?index={idx}&wait=1s"), None);
    assert!(code == 200 && same == idx && start.elapsed() >= Duration::from_millis(900), "{code} {same} {:?}", start.elapsed());
    let url = agent.url(&format!("/v1/var/app/db?index={idx}&wait=30s"));
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        let (code, head, body) = http_bytes("GET", &url, b"").unwrap();
        (code, header(&head, "X-Nomad-Index"), String::from_utf8_lossy(&body).to_string(), start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(700));
    let written = put_var(&agent, "app/db", json!({ "password": "n3w" }));
    let (code, woke_index, body, waited) = waiter.join().unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["Items"]["password"], "n3w", "the blocking read sees the write");
    assert_eq!(woke_index.and_then(|i| i.parse().ok()), written["ModifyIndex"].as_u64());
    assert!(waited >= Duration::from_millis(600) && waited < Duration::from_secs(20), "waited {waited:?}");

    // the var CLI
    let out = agent.cli(&["var", "put", "cli/app", "k=v", "mode=a=b"]);
    assert!(out.status.success() && text(&out).contains("Created variable \"cli/app\""), "{}", text(&out));
    assert_eq!(get_var(&agent, "cli/app").unwrap()["Items"], json!({ "k": "v", "mode": "a=b" }));
    let out = agent.cli(&["var", "get", "-item", "mode", "cli/app"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a=b\n", "{}", text(&out));
    let out = agent.cli(&["var", "get", "cli/app"]);
    assert!(out.status.success() && text(&out).contains("Check Index") && text(&out).contains("mode = a=b"), "{}", text(&out));
    let out = agent.cli(&["var", "list", "cli/"]);
    assert!(out.status.success() && text(&out).contains("cli/app") && !text(&out).contains("app/db"), "{}", text(&out));
    let out = agent.cli(&["var", "put", "-check-index", "1", "cli/app", "k=z"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("Check-and-Set conflict"), "{}", text(&out));
    let out = agent.cli(&["var", "purge", "cli/app"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(get_var(&agent, "cli/app"), None);
    let out = agent.cli(&["var", "get", "cli/app"]);
    assert!(out.status.code() == Some(1) && text(&out).contains("not found"), "{}", text(&out));

    // snapshot save → change → restore: the saved data is back
    let snap = dir.join("backup.snap");
    let out = agent.cli(&["operator", "snapshot", "save", snap.to_str().unwrap()]);
    assert!(out.status.success() && text(&out).contains("State file written"), "{}", text(&out));
    let saved_list = json_of(&call(&agent, "GET", "/v1/vars?namespace=*", None).2);
    let saved_db = get_var(&agent, "app/db").unwrap();
    let out = agent.cli(&["operator", "snapshot", "inspect", snap.to_str().unwrap()]);
    assert!(out.status.success() && text(&out).contains("drover-snapshot v1") && text(&out).contains("Variables"), "{}", text(&out));
    let bytes = std::fs::read(&snap).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a snapshot file is gzip");

    put_var(&agent, "after/save", json!({ "k": "v" }));
    put_var(&agent, "other/thing", json!({ "a": "2" }));
    assert_eq!(call(&agent, "DELETE", "/v1/var/app/db", None).0, 200);
    let (_, before_restore, _) = call(&agent, "GET", "/v1/vars", None);
    let url = agent.url(&format!("/v1/vars?index={before_restore}&wait=30s"));
    let waiter = std::thread::spawn(move || http_bytes("GET", &url, b"").unwrap());

    let out = agent.cli(&["operator", "snapshot", "restore", snap.to_str().unwrap()]);
    assert!(out.status.success() && text(&out).contains("Snapshot Restored"), "{}", text(&out));
    let (code, head, body) = waiter.join().unwrap();
    assert_eq!(code, 200);
    let woke: u64 = header(&head, "X-Nomad-Index").unwrap().parse().unwrap();
    assert!(woke > before_restore, "a blocked list wakes on the restore");
    assert_eq!(paths(&json_of(&String::from_utf8_lossy(&body))), ["app/db", "big", "other/thing"]);
    assert_eq!(json_of(&call(&agent, "GET", "/v1/vars?namespace=*", None).2), saved_list);
    assert_eq!(get_var(&agent, "app/db"), Some(saved_db.clone()));
    assert_eq!(get_var(&agent, "after/save"), None);
    assert_eq!(get_var(&agent, "other/thing").unwrap()["Items"]["a"], "1");
    // the restored variables keep their indexes, so check-and-set continues from them
    let cas = saved_db["ModifyIndex"].as_u64().unwrap();
    let (code, _, body) = call(&agent, "PUT", &format!("/v1/var/app/db?cas={cas}"), Some(json!({ "Items": { "password": "again" } })));
    assert_eq!(code, 200, "{body}");
    assert!(json_of(&body)["ModifyIndex"].as_u64().unwrap() > woke);
    // the cluster still works: the node is there
    assert!(get_json(&agent.url("/v1/nodes")).to_string().contains("\"ready\""));

    // files that are not snapshots are refused with 400
    let mut truncated = bytes.clone();
    truncated.truncate(bytes.len() / 2);
    let mut flipped = bytes.clone();
    let n = flipped.len();
    flipped[n - 6] ^= 0xff;
    let junk = vec![b'x'; 9 << 20];
    let cases: [(&[u8], &str); 5] =
        [(b"hello", "not gzip"), (br#"{"jobs":[]}"#, "not gzip"), (&truncated, "corrupt"), (&flipped, "corrupt"), (&junk, "not gzip")];
    for (i, (data, why)) in cases.iter().enumerate() {
        let (code, _, body) = http_bytes("PUT", &agent.url("/v1/operator/snapshot"), data).unwrap();
        let body = String::from_utf8_lossy(&body);
        assert_eq!(code, 400, "case {i}: {body}");
        assert!(body.contains(why), "case {i}: {body}");
    }
    let bad = dir.join("bad.snap");
    std::fs::write(&bad, &truncated).unwrap();
    let out = agent.cli(&["operator", "snapshot", "restore", bad.to_str().unwrap()]);
    assert!(out.status.code() == Some(1) && text(&out).contains("corrupt"), "{}", text(&out));
    assert_eq!(get_var(&agent, "app/db").unwrap()["Items"]["password"], "again", "a refused file changes nothing");

    // variables survive a restart on the same data dir (the log, including the restore, is replayed)
    let before = json_of(&call(&agent, "GET", "/v1/vars?namespace=*", None).2);
    agent.stop();
    let agent = DevAgent::start(&dir, &images, http_port, rpc_port);
    assert_eq!(json_of(&call(&agent, "GET", "/v1/vars?namespace=*", None).2), before);
    assert_eq!(get_var(&agent, "app/db").unwrap()["Items"]["password"], "again");
    assert_eq!(get_var(&agent, "big").unwrap()["Items"]["blob"].as_str().map(str::len), Some(60 * 1024));

    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}
