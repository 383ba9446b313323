//! gRPC between agents on port 4647: generated code from `proto/` and the conversions at that edge.

pub mod client;
pub mod convert;
pub mod service;

/// Generated from `proto/agent.proto`.
pub mod pb {
    tonic::include_proto!("drover.agent.v1");
}
