//! The restart policy with Nomad's semantics: attempts per interval, a delay between restarts, and mode fail | delay.

use std::time::Duration;

use crate::core::job::{JobType, RestartPolicy};

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Restart after this delay.
    Restart(Duration),
    /// Give up: the task has failed.
    Fail,
    /// The task finished and is not restarted.
    Done,
}

/// Tracks restarts of one task. Times are passed in (milliseconds on any monotonic clock).
#[derive(Debug, Clone)]
pub struct RestartTracker {
    pub policy: RestartPolicy,
    job_type: JobType,
    interval_start_ms: u64,
    count: u32,
}

impl RestartTracker {
    pub fn new(policy: RestartPolicy, job_type: JobType, now_ms: u64) -> Self {
        Self { policy, job_type, interval_start_ms: now_ms, count: 0 }
    }

    /// What to do after the task exited (`success` = exit code 0 and not killed), at `now_ms`.
    pub fn next(&mut self, success: bool, now_ms: u64) -> Decision {
        // Successful exits restart only service-like tasks.
        if success && matches!(self.job_type, JobType::Batch | JobType::Sysbatch) {
            return Decision::Done;
        }
        let interval_ms = (self.policy.interval.max(0) / 1_000_000) as u64;
        let delay = Duration::from_nanos(self.policy.delay.max(0) as u64);
        if now_ms.saturating_sub(self.interval_start_ms) >= interval_ms {
            self.interval_start_ms = now_ms;
            self.count = 0;
        }
        if self.count < self.policy.attempts {
            self.count += 1;
            return Decision::Restart(delay);
        }
        if self.policy.mode == "delay" {
            // wait for the interval to end, then start counting again
            let left = interval_ms.saturating_sub(now_ms.saturating_sub(self.interval_start_ms));
            self.interval_start_ms = now_ms + left;
            self.count = 1;
            return Decision::Restart(Duration::from_millis(left).max(delay));
        }
        Decision::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::job::SECOND;

    fn policy(attempts: u32, mode: &str) -> RestartPolicy {
        RestartPolicy { attempts, interval: 60 * SECOND, delay: SECOND, mode: mode.into(), render_templates: false }
    }

    #[test]
    fn fail_mode_gives_up_after_attempts() {
        let mut t = RestartTracker::new(policy(2, "fail"), JobType::Service, 0);
        assert_eq!(t.next(false, 1000), Decision::Restart(Duration::from_secs(1)));
        assert_eq!(t.next(false, 2000), Decision::Restart(Duration::from_secs(1)));
        assert_eq!(t.next(false, 3000), Decision::Fail);
    }

    #[test]
    fn delay_mode_waits_for_the_interval() {
        let mut t = RestartTracker::new(policy(1, "delay"), JobType::Service, 0);
        assert_eq!(t.next(false, 1000), Decision::Restart(Duration::from_secs(1)));
        assert_eq!(t.next(false, 10_000), Decision::Restart(Duration::from_secs(50)));
    }

    #[test]
    fn batch_success_is_done_and_interval_resets() {
        let mut t = RestartTracker::new(policy(1, "fail"), JobType::Batch, 0);
        assert_eq!(t.next(true, 10), Decision::Done);
        assert_eq!(t.next(false, 20), Decision::Restart(Duration::from_secs(1)));
        assert_eq!(t.next(false, 61_000), Decision::Restart(Duration::from_secs(1)));
    }
}
