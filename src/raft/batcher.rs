//! Write batching: small client writes that arrive while earlier ones are being replicated are
//! proposed together as one `Command::Batch` log entry, so many writes share one log append, one
//! fsync on each server and one replication round.
//!
//! A proposal waits only while the pipeline is busy: with nothing in flight it is proposed at once,
//! alone. At most [`IN_FLIGHT`] batches are in flight, each of at most [`MAX_BATCH`] commands.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::error::ProposeError;
use super::types::Raft;
use crate::core::command::{Command, CommandResponse};

/// Batches replicated at the same time.
const IN_FLIGHT: usize = 4;
/// Commands in one batch.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<CommandResponse, ProposeError>>;

/// Queues proposals for one Raft node; clones share the queue.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<(Command, Reply)>,
}

impl Batcher {
    /// Starts the batching task; it ends when every `Batcher` clone is dropped.
    pub fn start(raft: Raft) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, rx));
        Self { queue }
    }

    /// Proposes `cmd` in the next batch; returns its own response once the batch is applied here.
    pub async fn propose(&self, cmd: Command) -> Result<CommandResponse, ProposeError> {
        let (tx, rx) = oneshot::channel();
        self.queue.send((cmd, tx)).map_err(|_| ProposeError::Stopped)?;
        rx.await.map_err(|_| ProposeError::Stopped)?
    }
}

async fn run(raft: Raft, mut rx: mpsc::UnboundedReceiver<(Command, Reply)>) {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else { break };
        // Everything that queued up while waiting for a free slot goes into this batch.
        let mut items = vec![first];
        while items.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            let _permit = permit;
            propose_batch(&raft, items).await;
        });
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
