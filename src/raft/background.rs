//! Heavy background work of the Raft node (encoding a snapshot of the whole state) on a thread of
//! its own at a lower CPU priority, so that heartbeats, replication and applies keep their turn
//! when the machine is busy.
//!
//! Every server builds a snapshot at about the same log index; encoding a large state takes
//! seconds of CPU, and at normal priority on a loaded two-core machine it starved the leader's
//! heartbeats until the followers elected another leader (the C1M benchmark lost ~20 s so).

use tokio::sync::oneshot;

/// The `nice` value of background threads (0 is normal, 19 the lowest priority).
const NICE: i32 = 10;

/// Runs `work` on a new thread at lower priority and waits for its result; `None` if the thread
/// could not be started or panicked.
pub async fn run<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    let started = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        lower_priority();
        let _ = tx.send(work());
    });
    match started {
        Ok(_) => rx.await.ok(),
        Err(e) => {
            tracing::warn!(error = %e, "could not start a background thread");
            None
        }
    }
}

/// Lowers the calling thread's CPU priority (best effort: a refusal leaves it as it was).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions; setpriority on the calling thread's id changes only
    // that thread's nice value.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE);
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_the_work_at_a_lower_priority() {
        let nice = super::run("bg-test", || {
            // SAFETY: reads the calling thread's own nice value.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
        })
        .await;
        assert_eq!(nice, Some(super::NICE));
        assert_eq!(super::run("bg-test", || panic!("boom")).await, None::<()>);
    }
}
