//! The positioned tree both file syntaxes are read into: objects of keyed entries, lists and scalar values,
//! each with the byte offset it was written at, so one decoder serves HCL and JSON files alike.

use hcl::Value;

/// A value in a configuration file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Byte offset in the file.
    pub at: Option<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A string, number, bool or null.
    Scalar(Value),
    List(Vec<Node>),
    Object(Vec<Entry>),
}

/// One key of an object: an HCL attribute or block, or a JSON member.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    /// Where the key was written.
    pub at: Option<usize>,
    /// Written as an HCL block (`key "label" { … }`) rather than as `key = …`.
    pub block: bool,
    /// An HCL block's labels; JSON nests labels as object keys instead.
    pub labels: Vec<String>,
    pub value: Node,
}

impl Node {
    /// A tree for an evaluated value, every part placed at `at`.
    pub(crate) fn from_value(v: Value, at: Option<usize>) -> Node {
        let kind = match v {
            Value::Array(items) => Kind::List(items.into_iter().map(|i| Node::from_value(i, at)).collect()),
            Value::Object(o) => Kind::Object(
                o.into_iter().map(|(key, v)| Entry { key, at, block: false, labels: Vec::new(), value: Node::from_value(v, at) }).collect(),
            ),
            scalar => Kind::Scalar(scalar),
        };
        Node { at, kind }
    }

    /// The plain value, for typed conversion.
    pub(crate) fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Scalar(v) => v.clone(),
            Kind::List(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Kind::Object(entries) => Value::Object(entries.iter().map(|e| (e.key.clone(), e.value.to_value())).collect()),
        }
    }

    pub(crate) fn is_object(&self) -> bool {
        matches!(self.kind, Kind::Object(_))
    }

    /// The objects this node stands for as a block: itself, or each element of a JSON list of objects.
    pub(crate) fn block_bodies(&self) -> Option<Vec<&Node>> {
        match &self.kind {
            Kind::Object(_) => Some(vec![self]),
            Kind::List(items) if items.iter().all(Node::is_object) => Some(items.iter().collect()),
            _ => None,
        }
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        match &self.kind {
            Kind::Object(e) => e,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let v = Value::from_iter([("a".to_string(), Value::Array(vec![Value::from(1), Value::from("x")]))]);
        let n = Node::from_value(v.clone(), Some(3));
        assert_eq!(n.to_value(), v);
        assert_eq!(n.entries()[0].at, Some(3));
    }

    #[test]
    fn json_lists_of_objects_are_blocks() {
        let obj = Node { at: None, kind: Kind::Object(Vec::new()) };
        let list = Node { at: None, kind: Kind::List(vec![obj.clone(), obj.clone()]) };
        assert_eq!(list.block_bodies().map(|b| b.len()), Some(2));
        assert!(Node::from_value(Value::from(1), None).block_bodies().is_none());
    }
}
