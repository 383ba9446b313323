//! Errors of server operations, mapped to HTTP status codes and gRPC statuses at the edges.

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("no cluster leader")]
    NoLeader,
    #[error("raft: {0}")]
    Raft(String),
    #[error("{0}")]
    Rejected(String),
    #[error("internal error: {0}")]
    Internal(String),
}
