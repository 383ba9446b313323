//! Write batching: small client writes that arrive while earlier ones are being replicated are
//! proposed together as one `Command::Batch` log entry, so many writes share one log append, one
//! fsync on each server and one replication round.
//!
//! A proposal waits only while the pipeline is busy: with a slot free it is proposed at once,
//! alone. At most [`IN_FLIGHT`] batches are in flight, each of at most [`MAX_BATCH`] commands.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::error::ProposeError;
use super::types::Raft;
use crate::core::command::{Command, CommandResponse};

/// Batches replicated at the same time.
const IN_FLIGHT: usize = 4;
/// Commands in one batch.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<CommandResponse, ProposeError>>;

/// Proposals waiting for a free slot, and how many batches are being replicated.
#[derive(Default)]
struct Queue {
    waiting: Vec<(Command, Reply)>,
    in_flight: usize,
}

impl Queue {
    /// The next batch: the oldest waiting proposals, at most [`MAX_BATCH`].
    fn take(&mut self) -> Vec<(Command, Reply)> {
        let n = self.waiting.len().min(MAX_BATCH);
        self.waiting.drain(..n).collect()
    }
}

/// Queues proposals for one Raft node; clones share the queue.
#[derive(Clone)]
pub struct Batcher {
    raft: Raft,
    queue: Arc<Mutex<Queue>>,
}

impl Batcher {
    pub fn start(raft: Raft) -> Self {
        Self { raft, queue: Arc::default() }
    }

    /// Proposes `cmd` in the next batch; returns its own response once the batch is applied here.
    ///
    /// With a slot free the batch is launched from here (a task spawned on this thread, so an idle
    /// server adds no hop to another thread); otherwise the proposal waits for the batch that a
    /// finishing one launches next. Batches run in their own tasks, so a caller that goes away (a
    /// closed HTTP connection) never cancels other callers' writes.
    pub async fn propose(&self, cmd: Command) -> Result<CommandResponse, ProposeError> {
        let (tx, rx) = oneshot::channel();
        let launch = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.waiting.push((cmd, tx));
            (q.in_flight < IN_FLIGHT).then(|| {
                q.in_flight += 1;
                q.take()
            })
        };
        if let Some(batch) = launch {
            let this = self.clone();
            tokio::spawn(async move { this.run(batch).await });
        }
        rx.await.map_err(|_| ProposeError::Stopped)?
    }

    /// Proposes `batch`, then whatever queued up meanwhile, until nothing waits; then frees the slot.
    async fn run(&self, mut batch: Vec<(Command, Reply)>) {
        loop {
            propose_batch(&self.raft, batch).await;
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.waiting.is_empty() {
                q.in_flight -= 1;
                return;
            }
            batch = q.take();
        }
    }
}

async fn propose_batch(raft: &Raft, mut items: Vec<(Command, Reply)>) {
    if items.len() == 1 {
        let (cmd, reply) = items.pop().expect("one item");
        let r = raft.client_write(cmd).await.map(|r| r.data).map_err(ProposeError::from);
        let _ = reply.send(r);
        return;
    }
    let (cmds, replies): (Vec<Command>, Vec<Reply>) = items.into_iter().unzip();
    match raft.client_write(Command::Batch { cmds }).await {
        Ok(r) => {
            let mut responses = r.data.batch.into_iter();
            for reply in replies {
                let response = responses.next().ok_or_else(|| ProposeError::Fatal("batch response is missing a command".into()));
                let _ = reply.send(response);
            }
        }
        Err(e) => {
            let e = ProposeError::from(e);
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
