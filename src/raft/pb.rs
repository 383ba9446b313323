//! Generated gRPC code for `proto/raft.proto` (package `drover.raft.v1`) and the message size limit both sides use.

tonic::include_proto!("drover.raft.v1");

/// Largest encoded or decoded Raft message: a batch of log entries or one snapshot chunk plus its JSON envelope.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;
