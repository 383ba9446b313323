//! The Raft layer end to end: RocksDB storage in temp dirs, restarts, snapshots, and 3-server clusters over real gRPC on
//! 127.0.0.1 that replicate, fail over and converge on a restored operator snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use drover::core::command::Command;
use drover::core::eval::Evaluation;
use drover::core::node::NodeStatus;
use drover::core::state::ClusterState;
use drover::core::var::Variable;
use drover::raft::db;
use drover::raft::log_store::LogStore;
use drover::raft::snapshot::SnapshotStore;
use drover::raft::state_machine::StateMachine;
use drover::raft::types::{LogId, StorageError, TypeConfig, Vote};
use drover::raft::{ProposeError, RaftConfig, RaftNode};
use drover::server::snapshot_file;
use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::testing::{log_id, StoreBuilder, Suite};
use openraft::{RaftLogReader, StorageIOError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("drover-raft-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
}

fn config(node_id: u64, rpc_addr: &str, dir: &Path) -> RaftConfig {
    RaftConfig { node_id, rpc_addr: rpc_addr.to_string(), data_dir: dir.to_path_buf(), ..Default::default() }
}

fn eval_cmd(i: u64) -> Command {
    let eval = Evaluation {
        id: format!("eval-{i:04}"),
        namespace: "default".into(),
        job_id: format!("job-{}", i % 7),
        priority: 50,
        triggered_by: "job-register".into(),
        ..Default::default()
    };
    Command::UpsertEvals { evals: vec![eval], now: 1_700_000_000 + i as i64 }
}

fn state_of(node: &RaftNode) -> ClusterState {
    node.state().read().expect("state lock").clone()
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_applied(node: &RaftNode, index: u64) {
    let mut applied = node.applied_index();
    tokio::time::timeout(Duration::from_secs(20), applied.wait_for(|i| *i >= index))
        .await
        .expect("timed out waiting for the applied index")
        .expect("raft stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_survives_restart() {
    init_tracing();
    let dir = TempDir::new("single");
    let cfg = config(1, "127.0.0.1:4647", dir.path());
    let members = BTreeMap::from([(1, cfg.rpc_addr.clone())]);

    let node = RaftNode::open(cfg.clone()).await.expect("open");
    node.bootstrap(members.clone()).await.expect("bootstrap");
    let mut leadership = node.leadership();
    tokio::time::timeout(Duration::from_secs(10), leadership.wait_for(|l| *l)).await.expect("leader").expect("watch");
    assert!(node.is_leader());
    assert_eq!(node.leader(), Some((1, cfg.rpc_addr.clone())));

    for i in 0..100 {
        let response = node.propose(eval_cmd(i)).await.expect("propose");
        assert_eq!(response.error, None);
        assert_eq!(response.index, *node.applied_index().borrow());
    }
    let rejected = Command::UpdateNodeStatus {
        node_id: "missing".into(),
        status: NodeStatus::Down,
        description: String::new(),
        evals: vec![],
        now: 1,
    };
    let response = node.propose(rejected).await.expect("propose");
    assert!(response.error.is_some_and(|e| e.contains("not found")));
    node.ensure_linearizable().await.expect("linearizable");

    let before = state_of(&node);
    assert_eq!(before.evals.len(), 100);
    let applied_before = *node.applied_index().borrow();
    let membership_before = *node.raft().metrics().borrow().membership_config.log_id();
    node.shutdown().await;
    assert!(!*node.leadership().borrow());
    assert!(matches!(node.propose(eval_cmd(1000)).await, Err(ProposeError::Stopped)));

    let node = RaftNode::open(cfg.clone()).await.expect("reopen");
    // The committed log was re-applied while opening.
    assert_eq!(state_of(&node), before);
    assert_eq!(*node.applied_index().borrow(), applied_before);
    node.bootstrap(members).await.expect("bootstrap again is a no-op");
    let mut leadership = node.leadership();
    tokio::time::timeout(Duration::from_secs(10), leadership.wait_for(|l| *l)).await.expect("leader").expect("watch");
    node.ensure_linearizable().await.expect("linearizable");
    // At most a new term's blank entry was added, and the membership is the bootstrapped one.
    let applied = *node.applied_index().borrow();
    assert!(applied == applied_before || applied == applied_before + 1, "applied {applied} after restart");
    assert_eq!(*node.raft().metrics().borrow().membership_config.log_id(), membership_before);
    assert_eq!(state_of(&node), before);

    let response = node.propose(eval_cmd(100)).await.expect("propose after restart");
    assert_eq!(response.index, applied + 1);
    assert_eq!(state_of(&node).evals.len(), 101);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_purged_log_survive_restart() {
    init_tracing();
    let dir = TempDir::new("snapshot");
    let cfg = RaftConfig {
        snapshot_logs_since_last: 20,
        snapshot_interval: Duration::from_millis(100),
        logs_to_keep_after_snapshot: 5,
        ..config(1, "127.0.0.1:4647", dir.path())
    };
    let node = RaftNode::open(cfg.clone()).await.expect("open");
    node.bootstrap(BTreeMap::from([(1, cfg.rpc_addr.clone())])).await.expect("bootstrap");
    let mut leadership = node.leadership();
    tokio::time::timeout(Duration::from_secs(10), leadership.wait_for(|l| *l)).await.expect("leader").expect("watch");
    for i in 0..110 {
        node.propose(eval_cmd(i)).await.expect("propose");
    }
    let metrics = node.raft().metrics();
    wait_for("a snapshot and a purge", Duration::from_secs(20), || {
        let m = metrics.borrow();
        m.snapshot.is_some_and(|s| s.index >= 80) && m.purged.is_some_and(|p| p.index >= 60)
    })
    .await;
    let before = state_of(&node);
    assert_eq!(before.evals.len(), 110);
    node.shutdown().await;
    {
        // On disk: a snapshot, and a log purged below it.
        let db = db::open(&cfg.raft_dir()).expect("open db");
        let (meta, _) = SnapshotStore::new(db.clone()).load().expect("load snapshot").expect("a snapshot");
        assert!(meta.last_log_id.is_some_and(|l| l.index >= 80), "stored snapshot {meta:?}");
        let log = LogStore::new(db).get_log_state().await.expect("log state");
        assert!(log.last_purged_log_id.is_some_and(|p| p.index >= 60), "log state {log:?}");
    }

    let node = RaftNode::open(cfg.clone()).await.expect("reopen");
    assert_eq!(state_of(&node), before);
    let metrics = node.raft().metrics();
    wait_for("the stored snapshot and purge in the metrics", Duration::from_secs(10), || {
        let m = metrics.borrow();
        m.snapshot.is_some_and(|s| s.index >= 80) && m.purged.is_some_and(|p| p.index >= 60)
    })
    .await;
    let mut leadership = node.leadership();
    tokio::time::timeout(Duration::from_secs(10), leadership.wait_for(|l| *l)).await.expect("leader").expect("watch");
    node.propose(eval_cmd(110)).await.expect("propose after restart");
    assert_eq!(state_of(&node).evals.len(), 111);
    node.shutdown().await;
}

/// A Raft server serving its gRPC service on its own port.
struct Server {
    node: RaftNode,
    addr: String,
    stop: Option<oneshot::Sender<()>>,
    serving: JoinHandle<Result<(), tonic::transport::Error>>,
    _dir: TempDir,
}

impl Server {
    async fn stop(mut self) {
        self.node.shutdown().await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.serving.await;
    }
}

async fn start_cluster(n: u64) -> Vec<Server> {
    let mut listeners = Vec::new();
    for _ in 0..n {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr").to_string();
        listeners.push((listener, addr));
    }
    let mut servers = Vec::new();
    for (i, (listener, addr)) in listeners.into_iter().enumerate() {
        let dir = TempDir::new(&format!("cluster-{}", i + 1));
        let node = RaftNode::open(config(i as u64 + 1, &addr, dir.path())).await.expect("open");
        let (stop, stopped) = oneshot::channel::<()>();
        let service = node.grpc_service();
        let serving = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                })
                .await
        });
        servers.push(Server { node, addr, stop: Some(stop), serving, _dir: dir });
    }
    servers
}

/// Waits until every given server agrees on one leader among them and returns its position.
async fn agreed_leader(servers: &[Server]) -> usize {
    let mut leader = None;
    wait_for("an agreed leader", Duration::from_secs(20), || {
        let seen: Vec<_> = servers.iter().map(|s| s.node.leader().map(|(id, _)| id)).collect();
        let first = seen[0];
        leader = servers.iter().position(|s| Some(s.node.id()) == first && s.node.is_leader());
        leader.is_some() && seen.iter().all(|s| *s == first)
    })
    .await;
    leader.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_replicate_and_fail_over() {
    init_tracing();
    let mut servers = start_cluster(3).await;
    let members: BTreeMap<u64, String> = servers.iter().map(|s| (s.node.id(), s.addr.clone())).collect();
    servers[0].node.bootstrap(members.clone()).await.expect("bootstrap");

    let l = agreed_leader(&servers).await;
    let leader = &servers[l].node;
    for i in 0..30 {
        assert_eq!(leader.propose(eval_cmd(i)).await.expect("propose").error, None);
    }
    let follower = &servers[(l + 1) % 3].node;
    match follower.propose(eval_cmd(999)).await {
        Err(ProposeError::ForwardToLeader { leader_id, leader_addr }) => {
            assert_eq!(leader_id, Some(leader.id()));
            assert_eq!(leader_addr, Some(servers[l].addr.clone()));
        }
        other => panic!("a follower must refuse a proposal: {other:?}"),
    }
    assert!(matches!(follower.ensure_linearizable().await, Err(ProposeError::ForwardToLeader { .. })));
    let last = *leader.applied_index().borrow();
    for s in &servers {
        wait_applied(&s.node, last).await;
        assert_eq!(s.node.members(), members);
    }
    let expected = state_of(leader);
    assert_eq!(expected.evals.len(), 30);
    for s in &servers {
        assert_eq!(state_of(&s.node), expected, "state of server {}", s.node.id());
    }

    let old = servers.remove(l);
    let old_id = old.node.id();
    old.stop().await;
    let l = agreed_leader(&servers).await;
    let leader = &servers[l].node;
    assert_ne!(leader.id(), old_id);
    for i in 30..40 {
        assert_eq!(leader.propose(eval_cmd(i)).await.expect("propose to the new leader").error, None);
    }
    leader.ensure_linearizable().await.expect("linearizable with one server down");
    let last = *leader.applied_index().borrow();
    for s in &servers {
        wait_applied(&s.node, last).await;
    }
    let expected = state_of(leader);
    assert_eq!(expected.evals.len(), 40);
    for s in &servers {
        assert_eq!(state_of(&s.node), expected, "state of server {}", s.node.id());
    }
    for s in servers {
        s.stop().await;
    }
}

fn var_cmd(path: &str, value: &str, cas: Option<u64>) -> Command {
    let var = Variable {
        namespace: "default".into(),
        path: path.into(),
        items: [("k".to_string(), value.to_string())].into(),
        ..Default::default()
    };
    Command::UpsertVar { var, cas, now: 1_700_000_000 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_converge_on_a_restored_snapshot() {
    init_tracing();
    let servers = start_cluster(3).await;
    let members: BTreeMap<u64, String> = servers.iter().map(|s| (s.node.id(), s.addr.clone())).collect();
    servers[0].node.bootstrap(members).await.expect("bootstrap");
    let leader = &servers[agreed_leader(&servers).await].node;

    for i in 0..5 {
        leader.propose(eval_cmd(i)).await.expect("propose");
        leader.propose(var_cmd(&format!("app/{i}"), "saved", None)).await.expect("propose");
    }
    // a check-and-set conflict comes back through Raft with the current variable
    let r = leader.propose(var_cmd("app/0", "lost", Some(0))).await.expect("propose");
    assert!(r.conflict && r.error.is_none());
    assert_eq!(r.var.expect("current variable").items["k"], "saved");

    // the operator snapshot file of the leader's state, as `GET /v1/operator/snapshot` writes it
    let file = snapshot_file::encode(&state_of(leader)).expect("encode");
    let (_, saved) = snapshot_file::decode(&file, u64::MAX).expect("decode");
    for i in 5..10 {
        leader.propose(eval_cmd(i)).await.expect("propose");
        leader.propose(var_cmd(&format!("app/{i}"), "later", None)).await.expect("propose");
    }
    leader.propose(Command::DeleteVar { namespace: "default".into(), path: "app/1".into(), cas: None }).await.expect("propose");

    let r = leader.propose(Command::RestoreState { state: Box::new(saved.clone()) }).await.expect("restore");
    assert_eq!(r.error, None);
    for s in &servers {
        wait_applied(&s.node, r.index).await;
    }
    let expected = state_of(leader);
    assert_eq!(expected.vars, saved.vars);
    assert_eq!(expected.evals, saved.evals);
    assert_eq!(expected.vars.len(), 5);
    for s in &servers {
        assert_eq!(state_of(&s.node), expected, "state of server {}", s.node.id());
    }
    for s in servers {
        s.stop().await;
    }
}

/// Builds fresh stores in temp dirs for openraft's storage conformance suite.
struct SuiteBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for SuiteBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError> {
        let dir = TempDir::new("suite");
        let db = db::open(dir.path()).map_err(|e| StorageIOError::write(&e))?;
        let state_machine = StateMachine::open(db.clone()).map_err(|e| StorageIOError::read_state_machine(&e))?;
        Ok((dir, LogStore::new(db), state_machine))
    }
}

#[test]
fn storage_passes_openraft_suite() {
    init_tracing();
    Suite::test_all(SuiteBuilder).expect("openraft storage suite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_and_vote_are_durable_across_reopen() {
    let dir = TempDir::new("log");
    let entries: Vec<_> = (1..=10u64).map(|i| openraft::testing::blank_ent::<TypeConfig>(2, 1, i)).collect();
    let vote = Vote::new(3, 1);
    {
        let db = db::open(dir.path()).expect("open");
        let mut closed = db.closed();
        let mut store = LogStore::new(db);
        store.save_vote(&vote).await.expect("save vote");
        store.blocking_append(entries).await.expect("append");
        store.purge(log_id(2, 1, 3)).await.expect("purge");
        store.truncate(log_id(2, 1, 8)).await.expect("truncate");
        store.save_committed(Some(log_id(2, 1, 6))).await.expect("save committed");
        assert_eq!(store.read_committed().await.expect("read committed"), Some(log_id(2, 1, 6)));
        // The committed log id is written behind openraft; the database closes once it is.
        drop(store);
        let _ = closed.changed().await;
    }
    let mut store = LogStore::new(db::open(dir.path()).expect("reopen"));
    assert_eq!(store.read_vote().await.expect("read vote"), Some(vote));
    assert_eq!(store.read_committed().await.expect("read committed"), Some(log_id(2, 1, 6)));
    let state = store.get_log_state().await.expect("log state");
    assert_eq!(state.last_purged_log_id, Some(log_id(2, 1, 3)));
    assert_eq!(state.last_log_id, Some(log_id(2, 1, 7)));
    let ids: Vec<LogId> = store.try_get_log_entries(0..).await.expect("read log").into_iter().map(|e| e.log_id).collect();
    assert_eq!(ids, (4..=7).map(|i| log_id(2, 1, i)).collect::<Vec<_>>());
}

/// Concurrent small writes are bundled: every one is acknowledged with its own response (its own
/// cas outcome), all are applied, and they took fewer log entries than writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_log_entries() {
    init_tracing();
    let dir = TempDir::new("batch");
    let cfg = config(1, "127.0.0.1:4649", dir.path());
    let node = RaftNode::open(cfg.clone()).await.expect("open");
    node.bootstrap(BTreeMap::from([(1, cfg.rpc_addr.clone())])).await.expect("bootstrap");
    let mut leadership = node.leadership();
    tokio::time::timeout(Duration::from_secs(10), leadership.wait_for(|l| *l)).await.expect("leader").expect("watch");
    node.ensure_linearizable().await.expect("linearizable");
    let first = *node.applied_index().borrow();

    const WRITES: usize = 400;
    let mut tasks = Vec::new();
    for i in 0..WRITES {
        let node = node.clone();
        // Every 4th write is a create-only (cas 0) of one shared path: exactly one of those wins.
        let cmd = if i % 4 == 0 { var_cmd("shared", &i.to_string(), Some(0)) } else { var_cmd(&format!("v/{i}"), "x", None) };
        tasks.push(tokio::spawn(async move { (i, node.propose(cmd).await) }));
    }
    let mut created_shared = 0;
    for t in tasks {
        let (i, r) = t.await.expect("task");
        let r = r.expect("acknowledged");
        assert_eq!(r.error, None);
        assert!(r.batch.is_empty(), "a caller gets its own command's response");
        if i % 4 == 0 {
            if !r.conflict {
                created_shared += 1;
            }
        } else {
            assert!(!r.conflict);
            assert_eq!(r.var.as_ref().map(|v| v.path.clone()), Some(format!("v/{i}")));
        }
    }
    assert_eq!(created_shared, 1, "cas 0 on one path succeeds once");
    let state = state_of(&node);
    assert_eq!(state.vars.len(), WRITES - WRITES / 4 + 1);
    let entries = *node.applied_index().borrow() - first;
    println!("{WRITES} concurrent writes took {entries} log entries");
    assert!(entries < WRITES as u64, "{WRITES} writes took {entries} entries: not batched");
    node.shutdown().await;

    // The batches replay to the same state after a restart.
    let node = RaftNode::open(cfg).await.expect("reopen");
    assert_eq!(state_of(&node), state);
    node.shutdown().await;
}
