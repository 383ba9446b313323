//! Nomad's variable JSON: `Variable` (with `Items`) and `VariableMetadata` (without), and their conversion.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::var::Variable;

/// A variable as `GET /v1/var/:path` returns it and `PUT` takes it (only Namespace, Path and Items are read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiVariable {
    pub namespace: String,
    pub path: String,
    pub create_index: u64,
    pub modify_index: u64,
    pub create_time: i64,
    pub modify_time: i64,
    #[serde(deserialize_with = "super::null_default")]
    pub items: BTreeMap<String, String>,
}

/// An entry of `GET /v1/vars`: a variable without its items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiVariableMetadata {
    pub namespace: String,
    pub path: String,
    pub create_index: u64,
    pub modify_index: u64,
    pub create_time: i64,
    pub modify_time: i64,
}

pub fn var_to_api(v: &Variable) -> ApiVariable {
    ApiVariable {
        namespace: v.namespace.clone(),
        path: v.path.clone(),
        create_index: v.create_index,
        modify_index: v.modify_index,
        create_time: v.create_time,
        modify_time: v.modify_time,
        items: v.items.clone(),
    }
}

pub fn var_metadata(v: &Variable) -> ApiVariableMetadata {
    ApiVariableMetadata {
        namespace: v.namespace.clone(),
        path: v.path.clone(),
        create_index: v.create_index,
        modify_index: v.modify_index,
        create_time: v.create_time,
        modify_time: v.modify_time,
    }
}

/// What a client asks to store: namespace, path and items (indexes and times are the server's).
pub fn var_from_api(a: &ApiVariable) -> Variable {
    Variable { namespace: a.namespace.clone(), path: a.path.clone(), items: a.items.clone(), ..Default::default() }
}
