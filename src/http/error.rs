//! HTTP errors as Nomad returns them: a status code and a plain-text message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::server::ServerError;

#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, msg.into())
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Self(StatusCode::INTERNAL_SERVER_ERROR, msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self(StatusCode::NOT_FOUND, msg.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        let code = match &e {
            ServerError::NotFound(_) => StatusCode::NOT_FOUND,
            ServerError::Invalid(_) | ServerError::Rejected(_) => StatusCode::BAD_REQUEST,
            ServerError::NoLeader | ServerError::Raft(_) | ServerError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self(code, e.to_string())
    }
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("Invalid URL: no such endpoint {}", uri.path()))
}
