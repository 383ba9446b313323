//! Request bodies: Nomad JSON decoded with Go clients' nulls read as absent and errors that name the
//! failing field; an empty body reads as `{}`.

use super::error::ApiError;
use crate::api::job::decode_value;

pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let v: serde_json::Value = if body.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("failed to parse JSON request body: {e}")))?
    };
    decode_value(v).map_err(|e| ApiError::bad_request(format!("failed to parse JSON request body: {e}")))
}
