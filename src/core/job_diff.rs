//! The structured difference between a stored job and a submitted one (`job plan`'s diff), in the
//! model's own field names: job fields, groups and tasks matched by name, nested blocks as objects.
//!
//! Values are compared through the model's serde form, so every field takes part without a list to
//! keep up to date; maps of strings (`env`, `meta`) become `name[key]` fields, lists of plain values
//! (`datacenters`) are compared as sets, a task's driver `config` is flattened to `key[0].sub` paths.
//! Unchanged fields are left out; an added or deleted block lists all of its fields.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::job::{Job, Task, TaskGroup};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffType {
    #[default]
    None,
    Added,
    Deleted,
    Edited,
}

impl DiffType {
    fn of(old: bool, new: bool, changed: bool) -> Self {
        match (old, new) {
            (false, true) => DiffType::Added,
            (true, false) => DiffType::Deleted,
            _ if changed => DiffType::Edited,
            _ => DiffType::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldDiff {
    pub kind: DiffType,
    pub name: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectDiff {
    pub kind: DiffType,
    pub name: String,
    pub fields: Vec<FieldDiff>,
    pub objects: Vec<ObjectDiff>,
}

/// A task's diff has the shape of a block's: its fields and nested blocks.
pub type TaskDiff = ObjectDiff;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupDiff {
    pub kind: DiffType,
    pub name: String,
    pub fields: Vec<FieldDiff>,
    pub objects: Vec<ObjectDiff>,
    pub tasks: Vec<TaskDiff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobDiff {
    pub kind: DiffType,
    pub id: String,
    pub fields: Vec<FieldDiff>,
    pub objects: Vec<ObjectDiff>,
    pub groups: Vec<GroupDiff>,
}

/// Bookkeeping the server stamps: never part of a diff.
const JOB_SKIP: [&str; 7] = ["task_groups", "version", "submit_time", "create_index", "modify_index", "job_modify_index", "stable"];
/// Maps of plain values shown as `name[key]` fields of their level.
const STRING_MAPS: [&str; 2] = ["env", "meta"];

/// The diff from `old` to `new` (either may be absent: a new or a removed job).
pub fn job_diff(old: Option<&Job>, new: Option<&Job>) -> JobDiff {
    let (fields, objects) = level(old.map(to_map).as_ref(), new.map(to_map).as_ref(), &JOB_SKIP);
    let empty = Vec::new();
    let old_groups = old.map_or(&empty, |j| &j.task_groups);
    let new_groups = new.map_or(&empty, |j| &j.task_groups);
    let groups: Vec<GroupDiff> =
        by_name(old_groups, new_groups, |g| &g.name).into_iter().map(|(name, o, n)| group_diff(name, o, n)).collect();
    let changed = !fields.is_empty() || !objects.is_empty() || groups.iter().any(|g| g.kind != DiffType::None);
    JobDiff {
        kind: DiffType::of(old.is_some(), new.is_some(), changed),
        id: new.or(old).map(|j| j.id.clone()).unwrap_or_default(),
        fields,
        objects,
        groups,
    }
}

fn group_diff(name: &str, old: Option<&TaskGroup>, new: Option<&TaskGroup>) -> GroupDiff {
    let (fields, objects) = level(old.map(to_map).as_ref(), new.map(to_map).as_ref(), &["name", "tasks"]);
    let empty = Vec::new();
    let tasks: Vec<TaskDiff> = by_name(old.map_or(&empty, |g| &g.tasks), new.map_or(&empty, |g| &g.tasks), |t| &t.name)
        .into_iter()
        .map(|(name, o, n)| task_diff(name, o, n))
        .collect();
    let changed = !fields.is_empty() || !objects.is_empty() || tasks.iter().any(|t| t.kind != DiffType::None);
    GroupDiff { kind: DiffType::of(old.is_some(), new.is_some(), changed), name: name.into(), fields, objects, tasks }
}

fn task_diff(name: &str, old: Option<&Task>, new: Option<&Task>) -> TaskDiff {
    let (fields, objects) = level(old.map(to_map).as_ref(), new.map(to_map).as_ref(), &["name"]);
    let changed = !fields.is_empty() || !objects.is_empty();
    TaskDiff { kind: DiffType::of(old.is_some(), new.is_some(), changed), name: name.into(), fields, objects }
}

/// Pairs items by name: the new list's order first, then the removed ones.
fn by_name<'a, T>(old: &'a [T], new: &'a [T], name: impl Fn(&T) -> &String) -> Vec<(&'a str, Option<&'a T>, Option<&'a T>)> {
    let mut out: Vec<(&str, Option<&T>, Option<&T>)> =
        new.iter().map(|n| (name(n).as_str(), old.iter().find(|o| name(o) == name(n)), Some(n))).collect();
    for o in old.iter().filter(|o| !new.iter().any(|n| name(n) == name(o))) {
        out.push((name(o).as_str(), Some(o), None));
    }
    out
}

fn to_map<T: serde::Serialize>(v: &T) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Absent, null, empty lists and empty maps all mean "not set".
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn field(name: String, old: Option<String>, new: Option<String>) -> Option<FieldDiff> {
    let kind = DiffType::of(old.is_some(), new.is_some(), old != new);
    (kind != DiffType::None).then(|| FieldDiff { kind, name, old: old.unwrap_or_default(), new: new.unwrap_or_default() })
}

/// The fields and objects of one level (job, group or task), minus `skip`.
fn level(old: Option<&Map<String, Value>>, new: Option<&Map<String, Value>>, skip: &[&str]) -> (Vec<FieldDiff>, Vec<ObjectDiff>) {
    let keys: BTreeSet<&String> = old.into_iter().chain(new).flat_map(|m| m.keys()).collect();
    let mut fields = Vec::new();
    let mut objects = Vec::new();
    for k in keys.into_iter().filter(|k| !skip.contains(&k.as_str())) {
        let o = present(old.and_then(|m| m.get(k)));
        let n = present(new.and_then(|m| m.get(k)));
        let Some(shape) = n.or(o) else { continue };
        match shape {
            Value::Object(_) if STRING_MAPS.contains(&k.as_str()) => {
                let (om, nm) = (leaves(o), leaves(n));
                let subkeys: BTreeSet<&String> = om.keys().chain(nm.keys()).collect();
                fields.extend(subkeys.into_iter().filter_map(|s| field(format!("{k}[{s}]"), om.get(s).cloned(), nm.get(s).cloned())));
            }
            Value::Object(_) => objects.extend(object(k, o, n)),
            Value::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => objects.extend(set_object(k, o, n)),
            Value::Array(_) => {
                let (oa, na) = (o.and_then(Value::as_array), n.and_then(Value::as_array));
                let len = oa.map_or(0, Vec::len).max(na.map_or(0, Vec::len));
                objects.extend((0..len).filter_map(|i| object(k, oa.and_then(|a| a.get(i)), na.and_then(|a| a.get(i)))));
            }
            _ => fields.extend(field(k.clone(), o.map(scalar), n.map(scalar))),
        }
    }
    (fields, objects)
}

/// A nested block: its leaves, flattened to paths, as fields.
fn object(name: &str, old: Option<&Value>, new: Option<&Value>) -> Option<ObjectDiff> {
    let (om, nm) = (leaves(old), leaves(new));
    let paths: BTreeSet<&String> = om.keys().chain(nm.keys()).collect();
    let fields: Vec<FieldDiff> = paths.into_iter().filter_map(|p| field(p.clone(), om.get(p).cloned(), nm.get(p).cloned())).collect();
    let kind = DiffType::of(!om.is_empty(), !nm.is_empty(), !fields.is_empty());
    (kind != DiffType::None).then(|| ObjectDiff { kind, name: name.into(), fields, objects: Vec::new() })
}

/// A list of plain values compared as a set: one field per value added or removed.
fn set_object(name: &str, old: Option<&Value>, new: Option<&Value>) -> Option<ObjectDiff> {
    let set = |v: Option<&Value>| -> BTreeSet<String> { v.and_then(Value::as_array).into_iter().flatten().map(scalar).collect() };
    let (os, ns) = (set(old), set(new));
    let mut fields: Vec<FieldDiff> = ns.difference(&os).filter_map(|v| field(name.into(), None, Some(v.clone()))).collect();
    fields.extend(os.difference(&ns).filter_map(|v| field(name.into(), Some(v.clone()), None)));
    let kind = DiffType::of(!os.is_empty(), !ns.is_empty(), !fields.is_empty());
    (kind != DiffType::None).then(|| ObjectDiff { kind, name: name.into(), fields, objects: Vec::new() })
}

/// Every plain value under `v`, by path (`a.b`, `list[0]`, `map.key`).
fn leaves(v: Option<&Value>) -> BTreeMap<String, String> {
    fn walk(v: &Value, path: String, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Null => {}
            Value::Object(m) => {
                for (k, x) in m {
                    walk(x, if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, format!("{path}[{i}]"), out);
                }
            }
            other => {
                out.insert(path, scalar(other));
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Some(v) = v {
        walk(v, String::new(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::job::{Job, Task, TaskGroup};

    fn job() -> Job {
        let mut t = Task { name: "t".into(), driver: "raw_exec".into(), ..Default::default() };
        t.config.insert("command".into(), Value::String("/bin/sleep".into()));
        t.config.insert("args".into(), serde_json::json!(["300"]));
        t.env.insert("A".into(), "1".into());
        let g = TaskGroup { name: "g".into(), count: 1, tasks: vec![t], ..Default::default() };
        let mut j = Job { id: "web".into(), name: "web".into(), priority: 50, task_groups: vec![g], ..Default::default() };
        j.datacenters = vec!["dc1".into()];
        j.canonicalize();
        j
    }

    fn edited(name: &str, old: &str, new: &str) -> FieldDiff {
        FieldDiff { kind: DiffType::Edited, name: name.into(), old: old.into(), new: new.into() }
    }

    #[test]
    fn a_new_job_is_added_with_all_its_fields() {
        let d = job_diff(None, Some(&job()));
        assert_eq!(d.kind, DiffType::Added);
        assert_eq!(d.id, "web");
        assert!(d.fields.iter().any(|f| f.name == "priority" && f.new == "50" && f.kind == DiffType::Added), "{:?}", d.fields);
        let g = &d.groups[0];
        assert_eq!((g.kind, g.name.as_str()), (DiffType::Added, "g"));
        assert!(g.fields.contains(&FieldDiff { kind: DiffType::Added, name: "count".into(), old: String::new(), new: "1".into() }));
        assert_eq!(g.tasks[0].kind, DiffType::Added);
    }

    #[test]
    fn the_same_job_has_no_changes_and_bookkeeping_is_ignored() {
        let old = job();
        let mut new = job();
        new.version = 4;
        new.job_modify_index = 99;
        new.submit_time = 12;
        let d = job_diff(Some(&old), Some(&new));
        assert_eq!(d.kind, DiffType::None, "{d:?}");
        assert!(d.fields.is_empty() && d.objects.is_empty());
        assert_eq!((d.groups[0].kind, d.groups[0].tasks[0].kind), (DiffType::None, DiffType::None));
    }

    #[test]
    fn count_env_config_and_resources_changes_are_edits() {
        let old = job();
        let mut new = job();
        new.task_groups[0].count = 3;
        let t = &mut new.task_groups[0].tasks[0];
        t.env.insert("A".into(), "2".into());
        t.env.insert("B".into(), "x".into());
        t.config.insert("args".into(), serde_json::json!(["300", "extra"]));
        t.resources.memory_mb = 512;
        let d = job_diff(Some(&old), Some(&new));
        assert_eq!(d.kind, DiffType::Edited);
        let g = &d.groups[0];
        assert_eq!(g.kind, DiffType::Edited);
        assert_eq!(g.fields, vec![edited("count", "1", "3")]);
        let t = &g.tasks[0];
        assert_eq!(t.kind, DiffType::Edited);
        assert_eq!(
            t.fields,
            vec![
                edited("env[A]", "1", "2"),
                FieldDiff { kind: DiffType::Added, name: "env[B]".into(), old: String::new(), new: "x".into() }
            ]
        );
        let config = t.objects.iter().find(|o| o.name == "config").expect("config object");
        assert_eq!(config.kind, DiffType::Edited);
        assert_eq!(
            config.fields,
            vec![FieldDiff { kind: DiffType::Added, name: "args[1]".into(), old: String::new(), new: "extra".into() }]
        );
        let res = t.objects.iter().find(|o| o.name == "resources").expect("resources object");
        assert_eq!(res.fields, vec![edited("memory_mb", "300", "512")]);
    }

    #[test]
    fn groups_and_tasks_added_and_removed_and_datacenters_as_a_set() {
        let old = job();
        let mut new = job();
        new.datacenters = vec!["dc2".into(), "dc1".into()];
        new.task_groups[0].name = "h".into();
        new.task_groups[0].tasks[0].driver = "exec".into();
        let d = job_diff(Some(&old), Some(&new));
        let dcs = d.objects.iter().find(|o| o.name == "datacenters").expect("datacenters");
        assert_eq!(
            dcs.fields,
            vec![FieldDiff { kind: DiffType::Added, name: "datacenters".into(), old: String::new(), new: "dc2".into() }]
        );
        let kinds: Vec<(&str, DiffType)> = d.groups.iter().map(|g| (g.name.as_str(), g.kind)).collect();
        assert_eq!(kinds, vec![("h", DiffType::Added), ("g", DiffType::Deleted)]);
        assert_eq!(d.groups[1].tasks[0].kind, DiffType::Deleted);

        let mut renamed_task = job();
        renamed_task.task_groups[0].tasks[0].driver = "exec".into();
        let d = job_diff(Some(&old), Some(&renamed_task));
        assert_eq!(d.groups[0].tasks[0].fields, vec![edited("driver", "raw_exec", "exec")]);
    }

    #[test]
    fn a_stopped_job_submitted_again_shows_stop() {
        let mut old = job();
        old.stop = true;
        let d = job_diff(Some(&old), Some(&job()));
        assert_eq!(d.kind, DiffType::Edited);
        assert_eq!(d.fields, vec![edited("stop", "true", "false")]);
    }
}
