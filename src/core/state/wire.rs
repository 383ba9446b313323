//! How the state's tables are written in snapshots: maps with non-string keys as lists, allocations
//! by id (their secondary indexes are rebuilt on load, not written).

use super::*;

/// JSON object keys must be strings, so versions are stored as a list.
pub(super) mod versions_as_list {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(map: &BTreeMap<(JobKey, u64), Job>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<(JobKey, u64), Job>, D::Error> {
        let list: Vec<Job> = Vec::deserialize(d)?;
        Ok(list.into_iter().map(|j| ((j.key(), j.version), j)).collect())
    }
}

/// Allocations as a JSON object keyed by id (as before the keys were shared), read without a second map.
pub(super) mod allocs_by_id {
    use super::*;
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(map: &BTreeMap<Arc<str>, Shared<Allocation>>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter().map(|(k, v)| (&**k, v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Arc<str>, Shared<Allocation>>, D::Error> {
        struct ById;
        impl<'de> Visitor<'de> for ById {
            type Value = BTreeMap<Arc<str>, Shared<Allocation>>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("allocations by id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = access.next_entry::<String, Shared<Allocation>>()? {
                    // The key shares the allocation's own copy of its id.
                    let key = match v.id.shared() {
                        Some(id) if **id == *k => id.clone(),
                        _ => Arc::from(k),
                    };
                    out.insert(key, v);
                }
                Ok(out)
            }
        }
        d.deserialize_map(ById)
    }
}

/// Jobs are keyed by (namespace, id), which is not a JSON object key: stored as a list.
pub(super) mod jobs_as_list {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(map: &BTreeMap<JobKey, Job>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<JobKey, Job>, D::Error> {
        let list: Vec<Job> = Vec::deserialize(d)?;
        Ok(list.into_iter().map(|j| (j.key(), j)).collect())
    }
}

/// Variables are keyed by (namespace, path), which is not a JSON object key: stored as a list.
pub(super) mod vars_as_list {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(map: &BTreeMap<VarKey, Shared<Variable>>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<VarKey, Shared<Variable>>, D::Error> {
        let list: Vec<Shared<Variable>> = Vec::deserialize(d)?;
        Ok(list.into_iter().map(|v| (v.key(), v)).collect())
    }
}
