//! Constraint operators evaluated against a node's attributes, meta and identity.

use regex::Regex;

use crate::core::job::Constraint;
use crate::core::node::Node;

/// Resolves a constraint target such as `${attr.kernel.name}`, `${node.datacenter}` or `${meta.rack}`;
/// a string without `${…}` is a literal. `None` means the node does not have it.
pub fn resolve(target: &str, node: &Node) -> Option<String> {
    resolve_str(target, node).map(str::to_string)
}

/// `resolve` without copying: the value borrowed from the node (or the literal target).
pub fn resolve_str<'n>(target: &'n str, node: &'n Node) -> Option<&'n str> {
    let Some(inner) = target.strip_prefix("${").and_then(|t| t.strip_suffix('}')) else {
        return Some(target);
    };
    let inner = inner.trim();
    match inner {
        "node.unique.id" => Some(&node.id),
        "node.unique.name" => Some(&node.name),
        "node.datacenter" => Some(&node.datacenter),
        "node.class" => Some(&node.node_class),
        "node.pool" => Some(&node.node_pool),
        _ => {
            if let Some(a) = inner.strip_prefix("attr.") {
                node.attributes.get(a).map(String::as_str)
            } else if let Some(m) = inner.strip_prefix("meta.").or_else(|| inner.strip_prefix("node.meta.")) {
                node.meta.get(m).map(String::as_str)
            } else {
                None
            }
        }
    }
}

/// Whether `node` satisfies `c`. `distinct_hosts` and `distinct_property` are checked by the
/// scheduler against placements, so here they always hold.
pub fn satisfied(c: &Constraint, node: &Node) -> bool {
    matches(&c.ltarget, &c.operand, &c.rtarget, node)
}

/// Whether `ltarget operand rtarget` holds on `node` (constraints and affinities share the operators).
pub fn matches(ltarget: &str, operand: &str, rtarget: &str, node: &Node) -> bool {
    let l = resolve_str(ltarget, node);
    let r = resolve_str(rtarget, node);
    let op = operand;
    match op {
        "distinct_hosts" | "distinct_property" => true,
        "is_set" => l.is_some(),
        "is_not_set" => l.is_none(),
        _ => {
            let (Some(l), Some(r)) = (l, r) else { return false };
            match op {
                "" | "=" | "==" | "is" => l == r,
                "!=" | "not" => l != r,
                "<" | "<=" | ">" | ">=" => compare(l, r, op),
                "regexp" => Regex::new(r).map(|re| re.is_match(l)).unwrap_or(false),
                "version" | "semver" => version_matches(l, r),
                "set_contains" | "set_contains_all" => {
                    let set = split_set(l);
                    split_set(r).iter().all(|x| set.contains(x))
                }
                "set_contains_any" => {
                    let set = split_set(l);
                    split_set(r).iter().any(|x| set.contains(x))
                }
                _ => false,
            }
        }
    }
}

/// Whether a target names something unique to one node (`${node.unique.id}`, `${attr.unique.…}`,
/// `${meta.unique.…}`): such a constraint cannot be judged once per computed node class.
pub fn escapes(target: &str) -> bool {
    target.contains("${") && target.contains("unique.")
}

fn split_set(s: &str) -> Vec<&str> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).collect()
}

/// Numeric comparison when both sides are numbers, lexical otherwise (as Nomad).
fn compare(l: &str, r: &str, op: &str) -> bool {
    let ord = match (l.parse::<f64>(), r.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b),
        _ => Some(l.cmp(r)),
    };
    let Some(ord) = ord else { return false };
    match op {
        "<" => ord.is_lt(),
        "<=" => ord.is_le(),
        ">" => ord.is_gt(),
        _ => ord.is_ge(),
    }
}

fn parse_version(s: &str) -> Option<Vec<u64>> {
    let core = s.trim().trim_start_matches('v').split(['-', '+']).next()?;
    core.split('.').map(|p| p.parse().ok()).collect()
}

/// `version` constraints: a comma-separated list like `>= 1.2, < 2.0`, all of which must hold.
fn version_matches(have: &str, spec: &str) -> bool {
    let Some(have) = parse_version(have) else { return false };
    spec.split(',').all(|clause| {
        let clause = clause.trim();
        let (op, v) = ["~>", ">=", "<=", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| clause.strip_prefix(op).map(|rest| (*op, rest)))
            .unwrap_or(("=", clause));
        let Some(want) = parse_version(v) else { return false };
        let len = have.len().max(want.len());
        let pad = |v: &Vec<u64>| (0..len).map(|i| v.get(i).copied().unwrap_or(0)).collect::<Vec<_>>();
        let (h, w) = (pad(&have), pad(&want));
        match op {
            "=" => h == w,
            "!=" => h != w,
            ">" => h > w,
            ">=" => h >= w,
            "<" => h < w,
            "<=" => h <= w,
            _ => {
                // pessimistic: >= want, and the same prefix except the last given segment
                let keep = want.len().saturating_sub(1).max(1);
                h >= w && h[..keep.min(len) - 1] == w[..keep.min(len) - 1]
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Node {
        let mut n = Node { id: "n1".into(), name: "one".into(), datacenter: "dc1".into(), ..Default::default() };
        n.attributes.insert("kernel.name".into(), "linux".into());
        n.attributes.insert("cpu.numcores".into(), "8".into());
        n.attributes.insert("os.version".into(), "12.4".into());
        n.meta.insert("tags".into(), "a,b,c".into());
        n
    }

    fn c(l: &str, op: &str, r: &str) -> Constraint {
        Constraint { ltarget: l.into(), operand: op.into(), rtarget: r.into() }
    }

    #[test]
    fn operators() {
        let n = node();
        assert!(satisfied(&c("${attr.kernel.name}", "=", "linux"), &n));
        assert!(!satisfied(&c("${attr.kernel.name}", "!=", "linux"), &n));
        assert!(satisfied(&c("${attr.cpu.numcores}", ">=", "4"), &n));
        assert!(!satisfied(&c("${attr.cpu.numcores}", "<", "4"), &n));
        assert!(satisfied(&c("${node.datacenter}", "regexp", "^dc[0-9]$"), &n));
        assert!(satisfied(&c("${attr.os.version}", "version", ">= 12, < 13"), &n));
        assert!(!satisfied(&c("${attr.os.version}", "version", "> 12.4"), &n));
        assert!(satisfied(&c("${meta.tags}", "set_contains", "a,c"), &n));
        assert!(!satisfied(&c("${meta.tags}", "set_contains_all", "a,d"), &n));
        assert!(satisfied(&c("${meta.tags}", "set_contains_any", "d,b"), &n));
        assert!(satisfied(&c("${meta.missing}", "is_not_set", ""), &n));
        assert!(!satisfied(&c("${meta.missing}", "=", "x"), &n));
        assert!(satisfied(&c("${node.unique.name}", "==", "one"), &n));
    }
}
