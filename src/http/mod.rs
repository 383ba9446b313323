//! Nomad's HTTP API on port 4646: routes, shared state, and the listener.

pub mod actions;
pub mod agent_info;
pub mod alloc_exec;
pub mod alloc_ops;
pub mod allocs;
pub mod body;
pub mod deployments;
pub mod error;
pub mod evals;
pub mod events;
pub mod fs;
pub mod host_stats;
pub mod job_actions;
pub mod job_launch;
pub mod job_plan;
pub mod job_views;
pub mod jobs;
pub mod list;
pub mod logs;
pub mod members;
pub mod nodes;
pub mod operator;
pub mod pretty;
pub mod query;
pub mod region;
pub mod scheduler_config;
pub mod search;
pub mod services;
pub mod status;
pub mod system;
pub mod telemetry;
pub mod vars;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, put};
use axum::Router;
use tracing::info;

use crate::server::Server;

/// What the HTTP handlers can reach, shared: axum clones the state for every request and every
/// layer, so a clone is one reference count (a deep copy of the server's identity per request cost
/// a fifth of a loaded server's CPU).
#[derive(Clone)]
pub struct HttpState(Arc<HttpShared>);

/// The server role (if this agent is a server) and the client's allocation directory (if it is a
/// client), for log reads.
pub struct HttpShared {
    pub server: Server,
    pub alloc_root: Option<PathBuf>,
    pub http: reqwest::Client,
    /// The client's allocation operations (restart, signal, stats, exec), if this agent is a client.
    pub client: Option<crate::client::ClientControl>,
}

impl HttpState {
    pub fn new(shared: HttpShared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for HttpState {
    type Target = HttpShared;

    fn deref(&self) -> &HttpShared {
        &self.0
    }
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/v1/jobs", get(jobs::list).put(jobs::register).post(jobs::register))
        .route("/v1/job/{id}", get(jobs::read).put(jobs::register_one).post(jobs::register_one).delete(jobs::deregister))
        .route("/v1/job/{id}/allocations", get(jobs::allocations))
        .route("/v1/job/{id}/evaluations", get(jobs::evaluations))
        .route("/v1/job/{id}/summary", get(job_views::summary))
        .route("/v1/job/{id}/scale", get(job_actions::scale_status).put(job_actions::scale).post(job_actions::scale))
        .route("/v1/job/{id}/revert", put(job_actions::revert).post(job_actions::revert))
        .route("/v1/job/{id}/evaluate", put(job_actions::evaluate).post(job_actions::evaluate))
        .route("/v1/job/{id}/plan", put(job_plan::plan).post(job_plan::plan))
        .route("/v1/job/{id}/versions", get(job_views::versions))
        .route("/v1/job/{id}/services", get(services::of_job))
        .route("/v1/allocation/{id}/services", get(services::of_alloc))
        .route("/v1/services", get(services::list))
        .route("/v1/service/{name}", get(services::read))
        .route("/v1/service/{name}/{id}", delete(services::delete))
        .route("/v1/job/{id}/stable", put(job_actions::stable).post(job_actions::stable))
        .route("/v1/job/{id}/dispatch", put(job_launch::dispatch).post(job_launch::dispatch))
        .route("/v1/job/{id}/periodic/force", put(job_launch::periodic_force).post(job_launch::periodic_force))
        .route("/v1/allocations", get(allocs::list))
        .route("/v1/allocation/{id}", get(allocs::read))
        .route("/v1/allocation/{id}/stop", put(actions::stop_alloc).post(actions::stop_alloc))
        .route("/v1/node/{id}/eligibility", put(actions::node_eligibility).post(actions::node_eligibility))
        .route("/v1/node/{id}/drain", put(actions::node_drain).post(actions::node_drain))
        .route("/v1/node/{id}/purge", put(actions::purge_node).post(actions::purge_node))
        .route("/v1/node/{id}/evaluate", put(actions::evaluate_node).post(actions::evaluate_node))
        .route("/v1/search", put(search::search).post(search::search))
        .route("/v1/system/gc", put(system::gc).post(system::gc))
        .route("/v1/system/reconcile/summaries", put(system::reconcile_summaries).post(system::reconcile_summaries))
        .route("/v1/namespace/{name}", get(agent_info::namespace))
        .route("/v1/deployments", get(deployments::list))
        .route("/v1/deployment/{id}", get(deployments::read))
        .route("/v1/deployment/allocations/{id}", get(deployments::allocations))
        .route("/v1/deployment/promote/{id}", put(deployments::promote).post(deployments::promote))
        .route("/v1/deployment/fail/{id}", put(deployments::fail).post(deployments::fail))
        .route("/v1/deployment/pause/{id}", put(deployments::pause).post(deployments::pause))
        .route("/v1/deployment/allocation-health/{id}", put(deployments::alloc_health).post(deployments::alloc_health))
        .route("/v1/job/{id}/deployments", get(deployments::of_job))
        .route("/v1/job/{id}/deployment", get(deployments::latest_of_job))
        .route("/v1/evaluations", get(evals::list))
        .route("/v1/evaluation/{id}", get(evals::read))
        .route("/v1/evaluation/{id}/allocations", get(evals::allocations))
        .route("/v1/nodes", get(nodes::list))
        .route("/v1/node/{id}", get(nodes::read))
        .route("/v1/node/{id}/allocations", get(nodes::allocations))
        .route("/v1/status/leader", get(status::leader))
        .route("/v1/status/peers", get(status::peers))
        .route("/v1/agent/health", get(status::health))
        .route("/v1/client/stats", get(host_stats::server_stats))
        .route("/v1/client/fs/logs/{alloc}", get(logs::logs))
        .route("/v1/client/fs/ls/{alloc}", get(fs::ls))
        .route("/v1/client/fs/stat/{alloc}", get(fs::stat_file))
        .route("/v1/client/fs/cat/{alloc}", get(fs::cat_file))
        .route("/v1/client/allocation/{alloc}/restart", put(alloc_ops::restart).post(alloc_ops::restart))
        .route("/v1/client/allocation/{alloc}/signal", put(alloc_ops::signal).post(alloc_ops::signal))
        .route("/v1/client/allocation/{alloc}/stats", get(alloc_ops::stats))
        .route("/v1/client/allocation/{alloc}/checks", get(alloc_ops::checks))
        .route("/v1/client/allocation/{alloc}/exec", get(alloc_exec::exec))
        .route("/v1/metrics", get(telemetry::metrics))
        .route("/v1/regions", get(status::regions))
        .route("/v1/operator/raft/configuration", get(members::configuration))
        .route("/v1/operator/raft/peer", delete(members::remove_peer))
        .route("/v1/operator/raft/transfer-leadership", put(members::transfer_leadership).post(members::transfer_leadership))
        .route("/v1/agent/members", get(members::members))
        .route("/v1/agent/self", get(agent_info::agent_self))
        .route("/v1/agent/servers", get(agent_info::servers))
        .route("/v1/namespaces", get(agent_info::namespaces))
        .route(
            "/v1/operator/scheduler/configuration",
            get(scheduler_config::read).put(scheduler_config::update).post(scheduler_config::update),
        )
        .route("/v1/jobs/parse", put(jobs::parse).post(jobs::parse))
        .route("/v1/validate/job", put(jobs::validate).post(jobs::validate))
        .route("/v1/event/stream", get(events::stream))
        .route("/v1/vars", get(vars::list))
        .route("/v1/var/{*path}", get(vars::read).put(vars::put).post(vars::put).delete(vars::delete))
        .route(
            "/v1/operator/snapshot",
            get(operator::save).put(operator::restore).post(operator::restore).layer(DefaultBodyLimit::max(operator::MAX_UPLOAD_BYTES)),
        )
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(8 * 1024 * 1024))
        .layer(axum::middleware::from_fn(pretty::indent))
        .layer(axum::middleware::from_fn_with_state(state.clone(), region::route))
        .layer(axum::middleware::from_fn(telemetry::record))
        .with_state(state)
}

/// The API of a client-only agent: the endpoints answered from the client's own allocations, its
/// health and its metrics.
pub fn client_router(alloc_root: PathBuf, control: crate::client::ClientControl) -> Router {
    Router::new()
        .route("/v1/client/stats", get(host_stats::client_stats))
        .route("/v1/client/fs/logs/{alloc}", get(logs::client_logs))
        .route("/v1/client/fs/ls/{alloc}", get(fs::client_ls))
        .route("/v1/client/fs/stat/{alloc}", get(fs::client_stat))
        .route("/v1/client/fs/cat/{alloc}", get(fs::client_cat))
        .route("/v1/agent/health", get(status::client_health))
        .route("/v1/metrics", get(telemetry::client_metrics))
        .with_state(alloc_root)
        .merge(alloc_ops::client_routes(control))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(telemetry::record))
}

/// Serves the API until the listener fails. Through `into_make_service`: a `Router` served directly
/// clones its whole route table for every connection (tens of KB each), which thousands of parked
/// blocking queries cannot afford.
pub async fn serve(addr: SocketAddr, state: HttpState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    info!(%addr, "http api listening");
    axum::serve(listener, router(state).into_make_service()).await
}
