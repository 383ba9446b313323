//! Nomad's reschedule arithmetic: an allocation's `RescheduleTracker`, when a failed allocation may
//! be replaced next (delay functions, attempts within the interval) and the tracker its replacement
//! carries. Times are unix nanoseconds passed in by the caller.

use serde::{Deserialize, Serialize};

use super::alloc::Allocation;
use super::job::ReschedulePolicy;

/// Past reschedule events an allocation carries when its policy has no attempt limit (Nomad's
/// `maxPastRescheduleEvents`).
pub const MAX_PAST_EVENTS: usize = 5;

/// `LastReschedule` of a replacement's tracker: the reschedule that created it succeeded.
pub const LAST_RESCHEDULE_OK: &str = "ok";

/// The reschedule attempts that led to an allocation (Nomad's `RescheduleTracker`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RescheduleTracker {
    pub events: Vec<RescheduleEvent>,
    /// Whether the most recent reschedule succeeded (`ok`), as Nomad annotates it.
    pub last_reschedule: String,
}

/// One reschedule: when, of which allocation on which node, after which delay (nanoseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RescheduleEvent {
    pub reschedule_time: i64,
    pub prev_alloc_id: String,
    pub prev_node_id: String,
    pub delay: i64,
}

fn events(a: &Allocation) -> &[RescheduleEvent] {
    a.reschedule_tracker.as_deref().map_or(&[], |t| t.events.as_slice())
}

/// When the allocation failed: the latest `finished_at` of its tasks, else its modify time.
pub fn last_event_time(a: &Allocation) -> i64 {
    let finished = a.task_states.values().map(|t| t.finished_at).max().unwrap_or(0);
    if finished > 0 {
        finished
    } else {
        a.modify_time
    }
}

/// Whether the policy reschedules at all: unlimited, or some attempts.
pub fn enabled(p: &ReschedulePolicy) -> bool {
    p.unlimited || p.attempts > 0
}

/// Reschedules counted against the policy at `fail_time`: the events less than `interval` old.
pub fn attempted(a: &Allocation, p: &ReschedulePolicy, fail_time: i64) -> u32 {
    if p.attempts <= 0 {
        return 0;
    }
    events(a).iter().filter(|e| fail_time - e.reschedule_time < p.interval).count() as u32
}

/// Whether the policy still allows a reschedule of `a` failed at `fail_time` (Nomad's
/// `RescheduleEligible`: unlimited, or fewer than `attempts` reschedules within `interval`).
pub fn eligible(a: &Allocation, p: &ReschedulePolicy, fail_time: i64) -> bool {
    if !enabled(p) {
        return false;
    }
    p.unlimited || attempted(a, p, fail_time) < p.attempts as u32
}

/// The delay before `a` may be replaced (Nomad's `NextDelay`): `delay` for a first failure; then
/// `constant` keeps it, `exponential` doubles the last one, `fibonacci` adds the last two; capped at
/// `max_delay`, and back to `delay` once the allocation ran longer than the cap since its reschedule.
pub fn next_delay(a: &Allocation, p: &ReschedulePolicy) -> i64 {
    let ev = events(a);
    let Some(last) = ev.last() else { return p.delay };
    let delay = match p.delay_function.as_str() {
        "exponential" => last.delay.saturating_mul(2),
        "fibonacci" => match ev.len() {
            1 => p.delay,
            n => {
                let (n1, n2) = (last.delay, ev[n - 2].delay);
                // A series capped at max_delay that was reset starts again.
                if n2 == p.max_delay && n1 == p.delay {
                    n1
                } else {
                    n1.saturating_add(n2)
                }
            }
        },
        _ => return p.delay,
    };
    if p.max_delay > 0 && delay > p.max_delay {
        if last_event_time(a) - last.reschedule_time > p.max_delay {
            return p.delay;
        }
        return p.max_delay;
    }
    delay
}

/// When a failed `a` may be replaced, and whether the policy allows it then (Nomad's
/// `NextRescheduleTime`; `None` when the policy does not reschedule).
pub fn next_reschedule_time(a: &Allocation, p: &ReschedulePolicy) -> Option<(i64, bool)> {
    if !enabled(p) {
        return None;
    }
    let fail_time = last_event_time(a);
    if fail_time <= 0 {
        return None;
    }
    let delay = next_delay(a, p);
    let ok = if p.attempts > 0 && !events(a).is_empty() {
        attempted(a, p, fail_time) < p.attempts as u32 && delay < p.interval
    } else {
        p.unlimited || p.attempts > 0
    };
    Some((fail_time.saturating_add(delay), ok))
}

/// The tracker of the allocation replacing `prev` at `now`: `prev`'s events still within the
/// interval (the last five when attempts are unlimited) and one for this reschedule.
pub fn tracker_for_replacement(prev: &Allocation, p: &ReschedulePolicy, now: i64) -> RescheduleTracker {
    let past = events(prev);
    let mut kept: Vec<RescheduleEvent> = if p.attempts > 0 {
        past.iter().filter(|e| p.interval > 0 && now - e.reschedule_time <= p.interval).cloned().collect()
    } else {
        past[past.len().saturating_sub(MAX_PAST_EVENTS)..].to_vec()
    };
    kept.push(RescheduleEvent {
        reschedule_time: now,
        prev_alloc_id: prev.id.to_string(),
        prev_node_id: prev.node_id.to_string(),
        delay: next_delay(prev, p),
    });
    RescheduleTracker { events: kept, last_reschedule: LAST_RESCHEDULE_OK.into() }
}
