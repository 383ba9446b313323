//! Heartbeat timers: kept in leader memory only (never in Raft); nodes that miss TTL + grace are
//! marked down. The TTL a node is given grows with the cluster, as Nomad's: the servers handle at
//! most `max_heartbeats_per_second` heartbeats, so 5,000 nodes at 50/s beat every 100–200 s rather
//! than every few seconds each.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

use super::ops::Server;

/// Default grace added to the TTL before a node is declared down (also given after a leadership change).
pub const HEARTBEAT_GRACE: Duration = Duration::from_secs(10);

/// How long a node may go between heartbeats, as a function of the cluster's size (Nomad's
/// `min_heartbeat_ttl` and `max_heartbeats_per_second`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeartbeatTtl {
    /// The TTL of a small cluster.
    pub min: Duration,
    /// Heartbeats per second the servers should handle at most, all nodes together.
    pub max_per_second: f64,
}

impl Default for HeartbeatTtl {
    fn default() -> Self {
        Self { min: Duration::from_secs(10), max_per_second: 50.0 }
    }
}

impl HeartbeatTtl {
    /// The TTL given to `node_id` in a cluster of `nodes` nodes: `nodes / max_per_second`, at least
    /// `min`. Once that exceeds `min`, a stagger of up to the same amount again is added (Nomad
    /// adds a random one), so the nodes of a large cluster do not beat in step; it is derived from
    /// the node's id, so every server gives a node the same TTL. A small cluster keeps `min`, and
    /// a failure is noticed within `min` + grace.
    pub fn ttl(&self, nodes: usize, node_id: &str) -> Duration {
        let scaled = if self.max_per_second > 0.0 { Duration::from_secs_f64(nodes as f64 / self.max_per_second) } else { Duration::ZERO };
        if scaled <= self.min {
            return self.min;
        }
        // FNV-1a: stable across builds, so servers of different versions agree.
        let hash = node_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        let fraction = (hash >> 11) as f64 / (1u64 << 53) as f64;
        scaled + scaled.mul_f64(fraction)
    }
}

/// When each node last beat and the TTL it was given then.
pub struct Heartbeats {
    ttl: HeartbeatTtl,
    last: Mutex<HashMap<String, (Instant, Duration)>>,
}

impl Default for Heartbeats {
    fn default() -> Self {
        Self::new(HeartbeatTtl::default())
    }
}

impl Heartbeats {
    pub fn new(ttl: HeartbeatTtl) -> Self {
        Self { ttl, last: Mutex::default() }
    }

    /// The TTL to give `node_id` in a cluster of `nodes` nodes.
    pub fn ttl(&self, nodes: usize, node_id: &str) -> Duration {
        self.ttl.ttl(nodes, node_id)
    }

    /// Records a beat of `node_id` in a cluster of `nodes` nodes; returns the TTL it is given,
    /// which is the TTL to tell the node (its timer runs out after exactly this TTL + grace).
    pub fn beat(&self, node_id: &str, nodes: usize) -> Duration {
        let ttl = self.ttl(nodes, node_id);
        self.last.lock().unwrap_or_else(|e| e.into_inner()).insert(node_id.to_string(), (Instant::now(), ttl));
        ttl
    }

    /// Forgets every timer: a new leader gives every node a fresh TTL + grace.
    pub fn reset(&self) {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The nodes among `node_ids` whose TTL + `grace` has run out at `now`: counted from their last
    /// beat, or from `since` (leadership gained) with the TTL they would be given now in a cluster
    /// of `nodes` nodes.
    fn expired(&self, node_ids: &[String], nodes: usize, since: Instant, now: Instant, grace: Duration) -> Vec<String> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        node_ids
            .iter()
            .filter(|id| {
                let (at, ttl) = last.get(*id).copied().unwrap_or_else(|| (since, self.ttl(nodes, id)));
                now.duration_since(at.max(since)) > ttl + grace
            })
            .cloned()
            .collect()
    }
}

/// Leader loop: checks every second for ready nodes whose heartbeat expired (TTL + `grace`).
pub async fn run(server: Server, grace: Duration) {
    server.heartbeats.reset();
    let since = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let (ready, nodes) =
            server.read(|s| (s.nodes.values().filter(|n| n.ready()).map(|n| n.id.clone()).collect::<Vec<_>>(), s.nodes.len()));
        for node_id in server.heartbeats.expired(&ready, nodes, since, Instant::now(), grace) {
            if let Err(e) = server.mark_node_down(&node_id).await {
                warn!(node_id = %node_id, error = %e, "could not mark node down");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ttl_grows_with_the_cluster_and_is_the_same_for_a_node_everywhere() {
        let t = HeartbeatTtl::default();
        // A small cluster: the minimum, whatever the node.
        assert_eq!(t.ttl(1, "a"), Duration::from_secs(10));
        assert_eq!(t.ttl(500, "b"), Duration::from_secs(10));
        // 5,000 nodes at 50/s: 100 s, plus a stagger below 100 s that depends only on the node.
        let ttls: Vec<Duration> = (0..200).map(|i| t.ttl(5_000, &format!("node-{i}"))).collect();
        assert!(ttls.iter().all(|d| *d >= Duration::from_secs(100) && *d < Duration::from_secs(200)), "{ttls:?}");
        assert_eq!(t.ttl(5_000, "node-7"), ttls[7]);
        // Spread: the 200 nodes' TTLs cover most of the range, so their heartbeats do not come in step.
        let (lo, hi) = (ttls.iter().min().copied().unwrap_or_default(), ttls.iter().max().copied().unwrap_or_default());
        assert!(hi - lo > Duration::from_secs(80), "{lo:?}..{hi:?}");
        // The rate: 5,000 nodes beating at half their TTL stay under 2 x 50 beats a second.
        let per_second: f64 = ttls.iter().map(|d| 2.0 / d.as_secs_f64()).sum::<f64>() * 5_000.0 / 200.0;
        assert!(per_second <= 100.0, "{per_second}");
        let custom = HeartbeatTtl { min: Duration::from_secs(2), max_per_second: 1000.0 };
        assert_eq!(custom.ttl(1_000, "x"), Duration::from_secs(2));
    }

    #[test]
    fn a_node_expires_after_the_ttl_it_was_given_plus_grace() {
        let hb = Heartbeats::new(HeartbeatTtl { min: Duration::from_secs(10), max_per_second: 1.0 });
        let since = Instant::now();
        let grace = Duration::from_secs(5);
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        // 20 nodes at 1/s: a TTL of 20–40 s each.
        hb.beat("a", 20);
        let ttl_a = hb.ttl(20, "a");
        assert!(ttl_a >= Duration::from_secs(20) && ttl_a < Duration::from_secs(40));
        let at = |d: Duration| since + d;
        // Nothing before the TTL + grace of any node (b and c never beat: counted from `since`).
        let shortest = ["a", "b", "c"].iter().map(|id| hb.ttl(20, id)).min().unwrap_or_default();
        assert!(hb.expired(&ids, 20, since, at(shortest), grace).is_empty());
        // Past everyone's TTL + grace: all three.
        let longest = ["a", "b", "c"].iter().map(|id| hb.ttl(20, id)).max().unwrap_or_default();
        assert_eq!(hb.expired(&ids, 20, since, at(longest + grace + Duration::from_secs(2)), grace), ids);
        // Exactly per node: a expires just after its own TTL + grace, not before.
        let a = vec!["a".to_string()];
        assert!(hb.expired(&a, 20, since, at(ttl_a + grace - Duration::from_millis(1)), grace).is_empty());
        assert_eq!(hb.expired(&a, 20, since, at(ttl_a + grace + Duration::from_secs(1)), grace), a);
    }
}
