//! The client's garbage collection of allocation directories (Nomad's client GC): what ended is
//! destroyed — its directory, its executors' state, its network — when the servers forget it, when
//! the node holds more than `gc_max_allocs` allocations, or while the allocation directory's disk or
//! inode usage is above `gc_disk_usage_threshold` / `gc_inode_usage_threshold` (checked every
//! `gc_interval`); oldest first. An allocation the servers forgot whose executors still run (it was
//! purged while this agent was down) has them stopped first.
//!
//! [`select`] decides (no IO); [`Collector`] looks at the disk, stops and destroys.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::config::ClientConfig;
use super::host_stats;
use super::network;
use crate::driver::spec::EXECUTOR_PID_FILE;

/// `client { gc_interval, gc_max_allocs, gc_disk_usage_threshold, gc_inode_usage_threshold }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GcConfig {
    pub interval: Duration,
    pub max_allocs: usize,
    /// Percent of the allocation directory's file system.
    pub disk_usage_threshold: f64,
    pub inode_usage_threshold: f64,
}

impl Default for GcConfig {
    /// Nomad's defaults.
    fn default() -> Self {
        Self { interval: Duration::from_secs(60), max_allocs: 50, disk_usage_threshold: 80.0, inode_usage_threshold: 70.0 }
    }
}

/// An allocation with a directory on this node, as the collector sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDisk {
    pub id: String,
    /// Something of it still runs (its runner or an executor).
    pub live: bool,
    /// The servers still know it.
    pub known: bool,
    /// When it was first seen ended (an order: smaller is older).
    pub ended: u64,
}

/// The allocations to destroy now, oldest first: every ended one the servers forgot, then as many of
/// the oldest ended ones as bring the count down to `max_allocs`. Live ones are never chosen.
pub fn select(allocs: &[OnDisk], max_allocs: usize) -> Vec<String> {
    let ended = oldest_ended(allocs.iter());
    let forgotten: Vec<String> = ended.iter().filter(|a| !a.known).map(|a| a.id.clone()).collect();
    let mut over = allocs.len().saturating_sub(forgotten.len()).saturating_sub(max_allocs);
    let mut out = forgotten;
    for a in ended.iter().filter(|a| a.known) {
        if over == 0 {
            break;
        }
        out.push(a.id.clone());
        over -= 1;
    }
    out
}

/// The ended allocations among `allocs`, oldest first.
fn oldest_ended<'a>(allocs: impl Iterator<Item = &'a OnDisk>) -> Vec<&'a OnDisk> {
    let mut ended: Vec<&OnDisk> = allocs.filter(|a| !a.live).collect();
    ended.sort_by(|a, b| (a.ended, &a.id).cmp(&(b.ended, &b.id)));
    ended
}

/// Runs the collection after each change of the node's allocations.
pub struct Collector {
    cfg: Arc<ClientConfig>,
    /// When each allocation was first seen ended (an order).
    ended: BTreeMap<String, u64>,
    next: u64,
    /// Forgotten allocations whose executors were asked to stop.
    stopping: BTreeSet<String>,
    /// Allocations without a runner found with no executor left: none starts again but through a
    /// runner, so their pid files are not read again until one runs them.
    no_executors: BTreeSet<String>,
    last_disk_check: Option<Instant>,
}

/// What one look at the disk found: the allocations there (sorted), and the executors still alive
/// of each one that was read.
struct Scan {
    ids: Vec<String>,
    executors: BTreeMap<String, Vec<i32>>,
}

impl Collector {
    pub fn new(cfg: Arc<ClientConfig>) -> Self {
        Self { cfg, ended: BTreeMap::new(), next: 1, stopping: BTreeSet::new(), no_executors: BTreeSet::new(), last_disk_check: None }
    }

    /// One pass: `known` are the allocations the servers hold for this node, `running` those whose
    /// runner is still at work.
    pub async fn collect(&mut self, known: &BTreeSet<String>, running: &BTreeSet<String>) {
        self.no_executors.retain(|id| !running.contains(id));
        // Only what is not running through a runner is looked at for surviving executors.
        let (cfg, running, skip) = (self.cfg.clone(), running.clone(), self.no_executors.clone());
        let scan = tokio::task::spawn_blocking(move || {
            let ids = on_disk(&cfg);
            let read = ids.iter().filter(|id| !running.contains(*id) && !skip.contains(*id));
            let mut executors: BTreeMap<String, Vec<i32>> = read.map(|id| (id.clone(), live_executors(&cfg, id))).collect();
            executors.extend(skip.into_iter().map(|id| (id, Vec::new())));
            Scan { ids, executors }
        });
        let Scan { ids, executors: idle } = match scan.await {
            Ok(scan) => scan,
            Err(e) => return warn!(error = %e, "looking at allocation directories"),
        };
        // `ids` is sorted: forget what is no longer on disk.
        self.stopping.retain(|id| ids.binary_search(id).is_ok());
        self.ended.retain(|id, _| ids.binary_search(id).is_ok());
        self.no_executors.retain(|id| ids.binary_search(id).is_ok());
        let mut allocs = Vec::with_capacity(ids.len());
        for id in ids {
            let executors = idle.get(&id);
            let live = executors.is_none_or(|e| !e.is_empty());
            if executors.is_some_and(Vec::is_empty) {
                self.no_executors.insert(id.clone());
            }
            let known = known.contains(&id);
            if let Some(pids) = executors.filter(|e| !known && !e.is_empty()) {
                if self.stopping.insert(id.clone()) {
                    tokio::spawn(stop_and_destroy(self.cfg.clone(), id.clone(), pids.clone()));
                }
            }
            let ended = if live {
                self.ended.remove(&id);
                0
            } else {
                *self.ended.entry(id.clone()).or_insert_with(|| {
                    self.next += 1;
                    self.next
                })
            };
            allocs.push(OnDisk { id, live, known, ended });
        }
        let chosen = select(&allocs, self.cfg.gc.max_allocs);
        for id in &chosen {
            let reason = if known.contains(id) { "more allocations than gc_max_allocs" } else { "the servers no longer have it" };
            self.destroy(id, reason).await;
        }
        let due = self.last_disk_check.is_none_or(|t| t.elapsed() >= self.cfg.gc.interval);
        if !due {
            return;
        }
        self.last_disk_check = Some(Instant::now());
        let chosen: BTreeSet<&String> = chosen.iter().collect();
        for a in oldest_ended(allocs.iter().filter(|a| !chosen.contains(&a.id))) {
            let root = self.cfg.alloc_root();
            let Ok(disk) = tokio::task::spawn_blocking(move || host_stats::disk(&root)).await else { break };
            let over = if disk.used_percent > self.cfg.gc.disk_usage_threshold {
                "disk usage above gc_disk_usage_threshold"
            } else if disk.inodes_used_percent > self.cfg.gc.inode_usage_threshold {
                "inode usage above gc_inode_usage_threshold"
            } else {
                break;
            };
            self.destroy(&a.id, over).await;
        }
    }

    async fn destroy(&mut self, id: &str, reason: &str) {
        info!(alloc_id = %id, reason, "garbage collecting allocation");
        self.ended.remove(id);
        self.no_executors.remove(id);
        destroy(self.cfg.clone(), id.to_string()).await;
    }
}

/// Stops the executors of an allocation the servers no longer have (it was purged or collected
/// while this agent was down): SIGTERM, as a stop does (each stops its task with its kill signal
/// and timeout, then cleans up), then destroys the allocation once they are gone.
async fn stop_and_destroy(cfg: Arc<ClientConfig>, id: String, executors: Vec<i32>) {
    info!(alloc_id = %id, executors = executors.len(), "stopping the executors of an allocation the servers no longer have");
    for pid in &executors {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_WAIT;
    while !live_executors(&cfg, &id).is_empty() {
        if Instant::now() > deadline {
            return warn!(alloc_id = %id, "executors still running after SIGTERM; the allocation is kept");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    info!(alloc_id = %id, reason = "the servers no longer have it", "garbage collecting allocation");
    destroy(cfg, id).await;
}

/// How long a forgotten allocation's executors get to stop (Nomad's longest kill timeout is the
/// client's `max_kill_timeout`, 30 s by default).
const STOP_WAIT: Duration = Duration::from_secs(45);

/// Removes an ended allocation's network, directory and executor state.
async fn destroy(cfg: Arc<ClientConfig>, alloc_id: String) {
    let id = alloc_id.clone();
    let done = tokio::task::spawn_blocking(move || {
        if network::exists(&alloc_id) {
            if let Err(e) = network::teardown(&cfg.bridge, &alloc_id) {
                warn!(alloc_id = %alloc_id, error = %e, "could not remove the allocation's network");
            }
        }
        for dir in [cfg.alloc_root().join(&alloc_id), cfg.executor_root().join(&alloc_id)] {
            remove(&dir);
        }
    })
    .await;
    if let Err(e) = done {
        warn!(alloc_id = %id, error = %e, "garbage collection did not finish");
    }
}

/// Ids of the allocations with a directory or executor state here, sorted.
fn on_disk(cfg: &ClientConfig) -> Vec<String> {
    let mut ids = BTreeSet::new();
    for root in [cfg.alloc_root(), cfg.executor_root()] {
        let Ok(entries) = std::fs::read_dir(&root) else { continue };
        ids.extend(entries.flatten().filter(|e| e.path().is_dir()).filter_map(|e| e.file_name().into_string().ok()));
    }
    ids.into_iter().collect()
}

/// The pids of the allocation's executors that still run.
pub(super) fn live_executors(cfg: &ClientConfig, alloc_id: &str) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(cfg.executor_root().join(alloc_id)) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|t| super::task_runner::read_pid(&t.path().join(EXECUTOR_PID_FILE)))
        .filter(|p| super::task_runner::alive(*p))
        .collect()
}

/// Removes a directory tree, unmounting whatever is still mounted under it first (never following a
/// mount into another file system).
fn remove(dir: &Path) {
    if !dir.exists() {
        return;
    }
    let left = crate::executor::mounts::unmount_all_under(dir);
    if !left.is_empty() {
        return warn!(path = %dir.display(), mounts = ?left, "mounts remain; directory kept");
    }
    if let Err(e) = std::fs::remove_dir_all(dir) {
        warn!(path = %dir.display(), error = %e, "removing directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(id: &str, live: bool, known: bool, ended: u64) -> OnDisk {
        OnDisk { id: id.into(), live, known, ended }
    }

    #[test]
    fn forgotten_ended_allocations_go_first_and_always() {
        let allocs = [a("run", true, false, 0), a("gone", false, false, 5), a("old", false, true, 1)];
        assert_eq!(select(&allocs, 50), vec!["gone".to_string()], "a live one stays even when forgotten");
    }

    #[test]
    fn the_oldest_ended_go_until_the_count_is_down_to_max() {
        let allocs =
            [a("r1", true, true, 0), a("e3", false, true, 3), a("e1", false, true, 1), a("e2", false, true, 2), a("r2", true, true, 0)];
        assert_eq!(select(&allocs, 3), vec!["e1".to_string(), "e2".to_string()]);
        assert_eq!(select(&allocs, 5), Vec::<String>::new());
        // Live allocations count but are never chosen: with max 1 every ended one goes, no more.
        assert_eq!(select(&allocs, 1).len(), 3);
        // A forgotten one counts toward the reduction.
        let allocs = [a("f", false, false, 9), a("e1", false, true, 1), a("e2", false, true, 2)];
        assert_eq!(select(&allocs, 1), vec!["f".to_string(), "e1".to_string()]);
    }
}
