//! Nomad's job JSON for what a task gets in its directory: templates, artifacts and the dispatch payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::job::{ChangeScript, DispatchPayloadConfig, TaskArtifact, Template, WaitConfig};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiChangeScript {
    pub command: String,
    pub args: Vec<String>,
    pub timeout: i64,
    pub fail_on_error: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiWait {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTemplate {
    pub source_path: String,
    pub dest_path: String,
    pub embedded_tmpl: String,
    pub change_mode: String,
    pub change_script: Option<ApiChangeScript>,
    pub change_signal: String,
    pub splay: Option<i64>,
    pub perms: String,
    pub uid: Option<i32>,
    pub gid: Option<i32>,
    pub left_delim: String,
    pub right_delim: String,
    pub envvars: bool,
    pub vault_grace: i64,
    pub wait: Option<ApiWait>,
    pub err_missing_key: bool,
    pub once: bool,
}

impl ApiTemplate {
    pub fn to_model(&self) -> Template {
        Template {
            source_path: self.source_path.clone(),
            dest_path: self.dest_path.clone(),
            embedded_tmpl: self.embedded_tmpl.clone(),
            change_mode: self.change_mode.clone(),
            change_signal: self.change_signal.clone(),
            change_script: self.change_script.as_ref().map(|c| ChangeScript {
                command: c.command.clone(),
                args: c.args.clone(),
                timeout: c.timeout,
                fail_on_error: c.fail_on_error,
            }),
            once: self.once,
            // Nomad's default splay is 5s.
            splay: self.splay.unwrap_or(5 * crate::core::job::SECOND),
            perms: self.perms.clone(),
            uid: self.uid,
            gid: self.gid,
            left_delim: self.left_delim.clone(),
            right_delim: self.right_delim.clone(),
            envvars: self.envvars,
            vault_grace: self.vault_grace,
            wait: self.wait.as_ref().map(|w| WaitConfig { min: w.min, max: w.max }),
            err_missing_key: self.err_missing_key,
        }
    }

    pub fn from_model(t: &Template) -> Self {
        Self {
            source_path: t.source_path.clone(),
            dest_path: t.dest_path.clone(),
            embedded_tmpl: t.embedded_tmpl.clone(),
            change_mode: t.change_mode.clone(),
            change_script: t.change_script.as_ref().map(|c| ApiChangeScript {
                command: c.command.clone(),
                args: c.args.clone(),
                timeout: c.timeout,
                fail_on_error: c.fail_on_error,
            }),
            change_signal: t.change_signal.clone(),
            splay: Some(t.splay),
            perms: t.perms.clone(),
            uid: t.uid,
            gid: t.gid,
            left_delim: t.left_delim.clone(),
            right_delim: t.right_delim.clone(),
            envvars: t.envvars,
            vault_grace: t.vault_grace,
            wait: t.wait.as_ref().map(|w| ApiWait { min: w.min, max: w.max }),
            err_missing_key: t.err_missing_key,
            once: t.once,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiArtifact {
    pub getter_source: String,
    pub getter_options: BTreeMap<String, String>,
    pub getter_headers: BTreeMap<String, String>,
    pub getter_mode: String,
    pub getter_insecure: bool,
    pub relative_dest: String,
    pub chown: bool,
}

impl ApiArtifact {
    pub fn to_model(&self) -> TaskArtifact {
        TaskArtifact {
            source: self.getter_source.clone(),
            options: self.getter_options.clone(),
            headers: self.getter_headers.clone(),
            mode: self.getter_mode.clone(),
            insecure: self.getter_insecure,
            destination: self.relative_dest.clone(),
            chown: self.chown,
        }
    }

    pub fn from_model(a: &TaskArtifact) -> Self {
        Self {
            getter_source: a.source.clone(),
            getter_options: a.options.clone(),
            getter_headers: a.headers.clone(),
            getter_mode: a.mode.clone(),
            getter_insecure: a.insecure,
            relative_dest: a.destination.clone(),
            chown: a.chown,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDispatchPayload {
    pub file: String,
}

impl ApiDispatchPayload {
    pub fn to_model(&self) -> DispatchPayloadConfig {
        DispatchPayloadConfig { file: self.file.clone() }
    }

    pub fn from_model(d: &DispatchPayloadConfig) -> Self {
        Self { file: d.file.clone() }
    }
}
