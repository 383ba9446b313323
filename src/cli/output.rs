//! `-json` and `-t <template>`: the raw API object of a command, as JSON or through a Go-style template.

use serde_json::Value;

use super::api_client::ApiClient;
use super::template;

/// Nomad's output flags, flattened into the commands that print API objects.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputFlags {
    /// Print the API object as JSON
    #[arg(long)]
    pub json: bool,
    /// Format the API object with a Go text/template (e.g. -t '{{range .}}{{.ID}}{{end}}')
    #[arg(short = 't', value_name = "TEMPLATE")]
    pub template: Option<String>,
}

impl OutputFlags {
    pub fn wanted(&self) -> bool {
        self.json || self.template.is_some()
    }

    /// Formats `value` as asked; `None` when neither flag was given.
    pub fn format(&self, value: &Value) -> Option<Result<String, String>> {
        if self.json && self.template.is_some() {
            return Some(Err("both -json and -t are not allowed".into()));
        }
        if self.json {
            return Some(serde_json::to_string_pretty(value).map(|s| format!("{s}\n")).map_err(|e| e.to_string()));
        }
        let t = self.template.as_deref()?;
        Some(template::render(t, value).map_err(|e| e.to_string()))
    }

    /// When a flag was given: fetches `path`, prints it as asked and returns the outcome.
    pub async fn emit(&self, api: &ApiClient, path: &str) -> Option<Result<(), String>> {
        if !self.wanted() {
            return None;
        }
        let value: Value = match api.get(path).await {
            Ok(v) => v,
            Err(e) => return Some(Err(e.to_string())),
        };
        Some(self.print(&value))
    }

    /// Prints `value` as asked (the caller checked `wanted`).
    pub fn print(&self, value: &Value) -> Result<(), String> {
        let text = self.format(value).unwrap_or_else(|| serde_json::to_string_pretty(value).map_err(|e| e.to_string()))?;
        print!("{text}");
        Ok(())
    }
}
