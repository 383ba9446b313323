//! Runtime interpolation of `${NOMAD_*}`, `${attr.*}`, `${node.*}`, `${meta.*}` and `${env["X"]}` in task config and env.

use std::collections::BTreeMap;

use crate::core::node::Node;

/// Resolves runtime variables for one task.
pub struct Interpolator<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub node: &'a Node,
}

impl Interpolator<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        let name = name.trim();
        if let Some(key) = name.strip_prefix("env[").and_then(|r| r.strip_suffix(']')) {
            return self.env.get(key.trim_matches('"')).cloned();
        }
        if let Some(v) = self.env.get(name) {
            return Some(v.clone());
        }
        crate::core::scheduler::constraint::resolve(&format!("${{{name}}}"), self.node)
    }

    /// Replaces every resolvable `${…}`; anything unknown stays as written.
    pub fn apply(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    let name = &after[..end];
                    match self.lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => out.push_str(&rest[start..start + 3 + end]),
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Interpolates every string inside a JSON value (driver config).
    pub fn apply_json(&self, v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::String(s) => serde_json::Value::String(self.apply(s)),
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(|x| self.apply_json(x)).collect()),
            serde_json::Value::Object(o) => serde_json::Value::Object(o.iter().map(|(k, x)| (k.clone(), self.apply_json(x))).collect()),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_known_and_keeps_unknown() {
        let mut env = BTreeMap::new();
        env.insert("NOMAD_PORT_http".to_string(), "8080".to_string());
        env.insert("HOME".to_string(), "/root".to_string());
        let mut node = Node { datacenter: "dc1".into(), ..Default::default() };
        node.attributes.insert("kernel.name".into(), "linux".into());
        node.meta.insert("rack".into(), "r1".into());
        let i = Interpolator { env: &env, node: &node };
        assert_eq!(i.apply("port ${NOMAD_PORT_http} on ${node.datacenter}"), "port 8080 on dc1");
        assert_eq!(i.apply("${attr.kernel.name}/${meta.rack}/${env[\"HOME\"]}"), "linux/r1//root");
        assert_eq!(i.apply("${unknown.thing} and ${"), "${unknown.thing} and ${");
    }
}
