//! gRPC between agents on port 4647: generated code from `proto/` and the conversions at that edge.

pub mod client;
pub mod convert;
pub mod peer_client;
pub mod peer_service;
pub mod service;

/// Generated from `proto/agent.proto`.
pub mod pb {
    tonic::include_proto!("drover.agent.v1");
}

/// Generated from `proto/server.proto`.
pub mod server_pb {
    tonic::include_proto!("drover.server.v1");
}
