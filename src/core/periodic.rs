//! Periodic jobs: the child a launch creates, a parent's children, and the launcher's decisions —
//! which periodic jobs are due at a given time (passed in), derived from the replicated state alone
//! (the last launch is read back from the children's ids), so a new leader picks up where the old
//! one stopped.

use std::collections::BTreeMap;

use super::dispatch::reset_bookkeeping;
use super::job::{Job, JobKey, JobStatus};
use super::state::ClusterState;

/// What separates a periodic child's id from its parent's.
pub const PERIODIC_SUFFIX: &str = "/periodic-";

/// Catch-up after downtime launches once, for the latest missed time. The search for it starts in the
/// smallest of these windows before now that holds a launch time, then steps forward (bounded).
const CATCH_UP_WINDOWS: [i64; 5] = [60, 3_600, 86_400, 32 * 86_400, 367 * 86_400];
const MAX_CATCH_UP_STEPS: usize = 10_000;

/// The child a launch at `launch_secs` (unix seconds) creates: `<parent>/periodic-<launch_secs>`,
/// the parent's spec without its `periodic` block.
pub fn periodic_child(parent: &Job, launch_secs: i64) -> Job {
    let mut child = parent.clone();
    child.id = format!("{}{PERIODIC_SUFFIX}{launch_secs}", parent.id);
    child.name = child.id.clone();
    child.parent_id = parent.id.clone();
    child.periodic = None;
    reset_bookkeeping(&mut child);
    child
}

/// The jobs launched or dispatched from `key` (their ids start with `<parent>/`).
pub fn children<'a>(state: &'a ClusterState, key: &JobKey) -> impl Iterator<Item = &'a Job> + 'a {
    let prefix = format!("{}/", key.id);
    let start = JobKey::new(&key.namespace, &prefix);
    let (ns, parent) = (key.namespace.clone(), key.id.clone());
    state
        .jobs
        .range(start..)
        .take_while(move |(k, _)| k.namespace == ns && k.id.starts_with(&prefix))
        .map(|(_, j)| j)
        .filter(move |j| j.parent_id == parent)
}

/// The launch time of the newest periodic child of `key`, from the children's ids.
pub fn last_launch(state: &ClusterState, key: &JobKey) -> Option<i64> {
    let prefix = format!("{}{PERIODIC_SUFFIX}", key.id);
    children(state, key).filter_map(|c| c.id.strip_prefix(&prefix)?.parse::<i64>().ok()).max()
}

/// A launch the launcher decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub job: JobKey,
    /// The scheduled time (unix seconds): the child's id.
    pub time: i64,
    /// `prohibit_overlap` and a previous child is still running: this launch is skipped.
    pub skipped: bool,
}

#[derive(Debug, Clone, Copy)]
struct Tracked {
    job_modify_index: u64,
    next: Option<i64>,
}

/// The leader's memory of the next launch of every active periodic job. Rebuilt from the state on
/// leadership: nothing in it is needed across leaders.
#[derive(Debug, Default)]
pub struct Launcher {
    tracked: BTreeMap<JobKey, Tracked>,
}

impl Launcher {
    /// The launches due at `now` (unix seconds). A job seen for the first time, or registered again,
    /// starts after its newest child's launch or its submission, whichever is later; launches missed
    /// meanwhile collapse into one, at the latest missed time.
    pub fn due(&mut self, state: &ClusterState, now: i64) -> Vec<Launch> {
        let mut out = Vec::new();
        let mut seen = BTreeMap::new();
        for job in state.jobs.values().filter(|j| j.is_periodic_active()) {
            let Some(p) = job.periodic.as_deref() else { continue };
            let key = job.key();
            let mut t = match self.tracked.get(&key) {
                Some(t) if t.job_modify_index == job.job_modify_index => *t,
                _ => {
                    let submitted = job.submit_time.div_euclid(1_000_000_000);
                    let base = last_launch(state, &key).map_or(submitted, |l| l.max(submitted));
                    Tracked { job_modify_index: job.job_modify_index, next: p.next_launch(base) }
                }
            };
            if let Some(mut at) = t.next.filter(|n| *n <= now) {
                if let Some(n) = CATCH_UP_WINDOWS.iter().find_map(|w| p.next_launch(now - w).filter(|n| *n <= now)) {
                    at = at.max(n);
                }
                for _ in 0..MAX_CATCH_UP_STEPS {
                    match p.next_launch(at) {
                        Some(n) if n <= now => at = n,
                        _ => break,
                    }
                }
                t.next = p.next_launch(at);
                let skipped = p.prohibit_overlap && children(state, &key).any(|c| state.job_status(c) != JobStatus::Dead);
                out.push(Launch { job: key.clone(), time: at, skipped });
            }
            seen.insert(key, t);
        }
        self.tracked = seen;
        out
    }

    /// The next launch of a tracked job.
    pub fn next(&self, key: &JobKey) -> Option<i64> {
        self.tracked.get(key).and_then(|t| t.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::command::Command;
    use crate::core::job::{JobType, PeriodicConfig, Task, TaskGroup};

    const S: i64 = 1_000_000_000;

    fn periodic(id: &str, cron: &str, overlap: bool) -> Job {
        Job {
            id: id.into(),
            namespace: "default".into(),
            job_type: JobType::Batch,
            priority: 50,
            periodic: Some(Box::new(PeriodicConfig {
                enabled: true,
                spec: cron.into(),
                spec_type: "cron".into(),
                prohibit_overlap: overlap,
                time_zone: "UTC".into(),
                ..Default::default()
            })),
            task_groups: vec![TaskGroup {
                name: "g".into(),
                count: 1,
                tasks: vec![Task { name: "t".into(), driver: "raw_exec".into(), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn register(state: &mut ClusterState, job: Job, now_secs: i64) {
        let index = state.index + 1;
        state.apply(index, &Command::RegisterJob { job, eval: None, now: now_secs * S });
    }

    #[test]
    fn a_child_is_the_parent_without_its_schedule() {
        let mut parent = periodic("backup", "* * * * *", false);
        parent.version = 4;
        parent.stop = true;
        let child = periodic_child(&parent, 1_800_000_060);
        assert_eq!(child.id, "backup/periodic-1800000060");
        assert_eq!(child.parent_id, "backup");
        assert!(child.periodic.is_none() && !child.is_parent() && !child.stop && child.version == 0);
    }

    #[test]
    fn registration_refuses_a_bad_schedule_naming_it() {
        let mut job = periodic("a", "*/5 * * *", false);
        job.periodic.as_mut().unwrap().time_zone = "Europe/Minsk".into();
        let errs = job.validate().unwrap_err().join("\n");
        assert!(errs.contains("periodic: cron \"*/5 * * *\": expected 5 fields"), "{errs}");
        assert!(errs.contains("periodic: time_zone \"Europe/Minsk\" is not supported"), "{errs}");
        assert!(periodic("a", "@hourly", false).validate().is_ok());
    }

    #[test]
    fn children_are_found_by_prefix_and_parent() {
        let mut state = ClusterState::default();
        register(&mut state, periodic("a", "* * * * *", false), 100);
        register(&mut state, periodic_child(&periodic("a", "* * * * *", false), 120), 120);
        register(&mut state, periodic_child(&periodic("a", "* * * * *", false), 180), 180);
        register(&mut state, periodic_child(&periodic("ab", "* * * * *", false), 240), 240);
        let mut stray = periodic_child(&periodic("a", "* * * * *", false), 300);
        stray.parent_id = "other".into();
        register(&mut state, stray, 300);
        let key = JobKey::new("default", "a");
        let ids: Vec<&str> = children(&state, &key).map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["a/periodic-120", "a/periodic-180"]);
        assert_eq!(last_launch(&state, &key), Some(180));
    }

    #[test]
    fn the_launcher_launches_on_schedule_and_once_after_downtime() {
        let mut state = ClusterState::default();
        register(&mut state, periodic("a", "*/5 * * * *", false), 1_000_000_030);
        let mut l = Launcher::default();
        // Registered at ...030 (= 16666667 min + 30 s): the next */5 minute is 1_000_000_200.
        assert!(l.due(&state, 1_000_000_100).is_empty());
        assert_eq!(l.next(&JobKey::new("default", "a")), Some(1_000_000_200));
        let due = l.due(&state, 1_000_000_200);
        assert_eq!(due, [Launch { job: JobKey::new("default", "a"), time: 1_000_000_200, skipped: false }]);
        assert!(l.due(&state, 1_000_000_201).is_empty(), "launched once");
        register(&mut state, periodic_child(&periodic("a", "*/5 * * * *", false), 1_000_000_200), 1_000_000_200);
        // A new leader an hour later: one launch, at the latest missed time.
        let mut fresh = Launcher::default();
        let due = fresh.due(&state, 1_000_003_700);
        assert_eq!(due.iter().map(|d| d.time).collect::<Vec<_>>(), [1_000_003_500]);
        assert_eq!(fresh.next(&JobKey::new("default", "a")), Some(1_000_003_800));
        // Even decades behind (a child id from long ago), one launch at the latest missed minute.
        let mut state = ClusterState::default();
        register(&mut state, periodic("b", "* * * * *", false), 0);
        let due = Launcher::default().due(&state, 1_000_000_030);
        assert_eq!(due.iter().map(|d| d.time).collect::<Vec<_>>(), [1_000_000_020]);
    }

    #[test]
    fn overlap_is_skipped_while_a_child_runs_and_stopped_jobs_are_forgotten() {
        let mut state = ClusterState::default();
        register(&mut state, periodic("a", "* * * * *", true), 0);
        // A child with no allocations yet is pending: still running as far as overlap goes.
        register(&mut state, periodic_child(&periodic("a", "* * * * *", true), 60), 60);
        let mut l = Launcher::default();
        let due = l.due(&state, 125);
        assert_eq!(due, [Launch { job: JobKey::new("default", "a"), time: 120, skipped: true }]);
        let mut stopped = periodic("a", "* * * * *", true);
        stopped.stop = true;
        register(&mut state, stopped, 130);
        assert!(l.due(&state, 1000).is_empty());
        assert_eq!(l.next(&JobKey::new("default", "a")), None);
    }
}
