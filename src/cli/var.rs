//! `drover var get|put|list|purge`: variables from the command line, as `nomad var`.

use std::collections::BTreeMap;

use crate::api::var::{ApiVariable, ApiVariableMetadata};

use super::api_client::{enc, ApiClient, ApiClientError};
use super::format::{kv, table, time};
use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum VarCmd {
    /// Print a variable, or one of its items
    Get {
        /// Print only this item's value
        #[arg(long)]
        item: Option<String>,
        /// Output format: table or json
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        out: String,
        path: String,
    },
    /// Create or replace a variable: `var put <path> key=value…`
    Put {
        /// Write only if the variable's modify index is this (0: only if it does not exist)
        #[arg(long)]
        check_index: Option<u64>,
        path: String,
        /// Items as key=value
        #[arg(required = true)]
        items: Vec<String>,
    },
    /// List variables, optionally only those whose path starts with a prefix
    List { prefix: Option<String> },
    /// Delete a variable
    Purge {
        /// Delete only if the variable's modify index is this
        #[arg(long)]
        check_index: Option<u64>,
        path: String,
    },
}

pub async fn run(cmd: VarCmd, g: &Global) -> i32 {
    let api = g.client();
    // The variable's namespace: `-namespace` (or NOMAD_NAMESPACE), else "default".
    let ns = g.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
    let r = match cmd {
        VarCmd::Get { item, out, path } => get(&api, &ns, &path, item.as_deref(), &out).await,
        VarCmd::Put { check_index, path, items } => put(&api, &ns, &path, &items, check_index).await,
        VarCmd::List { prefix } => list(&api, &ns, prefix.as_deref().unwrap_or("")).await,
        VarCmd::Purge { check_index, path } => purge(&api, &ns, &path, check_index).await,
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

/// `/v1/var/<path>?namespace=…[&cas=…]`, each path segment percent-encoded.
fn var_url(namespace: &str, path: &str, cas: Option<u64>) -> String {
    let path: Vec<String> = path.split('/').map(enc).collect();
    let cas = cas.map(|c| format!("&cas={c}")).unwrap_or_default();
    format!("/v1/var/{}?namespace={}{cas}", path.join("/"), enc(namespace))
}

/// A 409 reply's current variable, as a CAS conflict message.
fn conflict(e: &ApiClientError, check_index: Option<u64>) -> Option<String> {
    let ApiClientError::Status { status: 409, body } = e else { return None };
    let current: ApiVariable = serde_json::from_str(body).ok()?;
    Some(format!(
        "Check-and-Set conflict\n\nYour provided check-index ({}) does not match the server-side index ({}).",
        check_index.unwrap_or(0),
        current.modify_index
    ))
}

async fn get(api: &ApiClient, namespace: &str, path: &str, item: Option<&str>, out: &str) -> Result<(), String> {
    let v: ApiVariable = api.get(&var_url(namespace, path, None)).await.map_err(|e| match e {
        ApiClientError::Status { status: 404, .. } => format!("variable \"{path}\" not found"),
        e => e.to_string(),
    })?;
    if let Some(item) = item {
        let value = v.items.get(item).ok_or_else(|| format!("variable \"{path}\" has no item \"{item}\""))?;
        println!("{value}");
        return Ok(());
    }
    if out == "json" {
        println!("{}", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?);
        return Ok(());
    }
    print!(
        "{}",
        kv(&[
            ("Namespace", v.namespace.clone()),
            ("Path", v.path.clone()),
            ("Create Time", time(v.create_time)),
            ("Check Index", v.modify_index.to_string()),
        ])
    );
    let items: Vec<(&str, String)> = v.items.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    print!("\nItems\n{}", kv(&items));
    Ok(())
}

async fn put(api: &ApiClient, namespace: &str, path: &str, pairs: &[String], check_index: Option<u64>) -> Result<(), String> {
    let mut items = BTreeMap::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| format!("item \"{p}\" is not key=value"))?;
        items.insert(k.to_string(), v.to_string());
    }
    let body = ApiVariable { namespace: namespace.into(), path: path.into(), items, ..Default::default() };
    let v: ApiVariable = api.put(&var_url(namespace, path, check_index), &body).await.map_err(|e| {
        let msg = conflict(&e, check_index).unwrap_or_else(|| e.to_string());
        format!("writing variable: {msg}")
    })?;
    let verb = if v.create_index == v.modify_index { "Created" } else { "Updated" };
    println!("{verb} variable \"{}\" with modify index {}", v.path, v.modify_index);
    Ok(())
}

async fn list(api: &ApiClient, namespace: &str, prefix: &str) -> Result<(), String> {
    let url = format!("/v1/vars?namespace={}&prefix={}", enc(namespace), enc(prefix));
    let vars: Vec<ApiVariableMetadata> = api.get(&url).await.map_err(|e| e.to_string())?;
    if vars.is_empty() {
        println!("No matching variables found");
        return Ok(());
    }
    let mut rows = vec![vec!["Namespace".to_string(), "Path".into(), "Last Updated".into()]];
    rows.extend(vars.into_iter().map(|v| vec![v.namespace, v.path, time(v.modify_time)]));
    print!("{}", table(&rows));
    Ok(())
}

async fn purge(api: &ApiClient, namespace: &str, path: &str, check_index: Option<u64>) -> Result<(), String> {
    api.delete_empty(&var_url(namespace, path, check_index)).await.map_err(|e| {
        let msg = conflict(&e, check_index).unwrap_or_else(|| e.to_string());
        format!("purging variable: {msg}")
    })?;
    println!("Successfully purged variable \"{path}\"!");
    Ok(())
}
