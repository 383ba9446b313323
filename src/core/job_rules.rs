//! Nomad's rules for a job and its parts (constraint operators, policy ranges, lifecycle hooks, port
//! labels, …): each part reports its problems as sentences, the job gathers them with their block paths.

use super::job::*;
use super::resources::NetworkResource;

/// Every constraint operator Nomad documents.
pub const CONSTRAINT_OPERATORS: &[&str] = &[
    "=",
    "==",
    "is",
    "!=",
    "not",
    "<",
    "<=",
    ">",
    ">=",
    "distinct_hosts",
    "distinct_property",
    "regexp",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
    "version",
    "semver",
    "is_set",
    "is_not_set",
];

/// Pushes a problem when `value` is set and not one of `allowed`.
fn check_one_of(errs: &mut Vec<String>, field: &str, value: &str, allowed: &[&str]) {
    if !value.is_empty() && !allowed.contains(&value) {
        errs.push(format!("{field} must be one of {}, got \"{value}\"", allowed.join(", ")));
    }
}

/// Checks a Go-version/semver constraint such as `>= 1.2, < 2.0` or `~> 3.2`.
fn version_spec_problem(spec: &str) -> Option<String> {
    let ok = !spec.trim().is_empty()
        && spec.split(',').all(|clause| {
            let c = clause.trim();
            let v = ["~>", ">=", "<=", "!=", ">", "<", "="].iter().find_map(|op| c.strip_prefix(op)).unwrap_or(c).trim();
            let core = v.strip_prefix('v').unwrap_or(v).split(['-', '+']).next().unwrap_or("");
            !core.is_empty() && core.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
    (!ok).then(|| format!("invalid version constraint \"{spec}\""))
}

/// Checks the operand and targets shared by constraints and affinities.
fn operand_problems(errs: &mut Vec<String>, operand: &str, ltarget: &str, rtarget: &str) {
    match operand {
        "distinct_hosts" => {}
        "set_contains" | "set_contains_all" | "set_contains_any" if rtarget.is_empty() => {
            errs.push(format!("operator \"{operand}\" needs a value"))
        }
        "regexp" => {
            if let Err(e) = regex::Regex::new(rtarget) {
                errs.push(format!("regular expression \"{rtarget}\" does not compile: {e}"));
            }
        }
        "version" | "semver" => errs.extend(version_spec_problem(rtarget)),
        "distinct_property" if !rtarget.is_empty() && !rtarget.parse::<u64>().is_ok_and(|n| n >= 1) => {
            errs.push(format!("distinct_property allows a count of 1 or more, got \"{rtarget}\""))
        }
        "is_set" | "is_not_set" if !rtarget.is_empty() => errs.push(format!("operator \"{operand}\" takes no value")),
        "=" | "==" | "is" | "!=" | "not" | "<" | "<=" | ">" | ">=" if rtarget.is_empty() => {
            errs.push(format!("operator \"{operand}\" needs a value"))
        }
        op if !CONSTRAINT_OPERATORS.contains(&op) => {
            errs.push(format!("unknown operator \"{op}\"; use one of {}", CONSTRAINT_OPERATORS.join(", ")))
        }
        _ => {}
    }
    if operand != "distinct_hosts" && ltarget.is_empty() {
        errs.push(format!("operator \"{operand}\" needs an attribute"));
    }
}

impl Constraint {
    /// Nomad's rules for one constraint, as lower-case sentences.
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        operand_problems(&mut errs, &self.operand, &self.ltarget, &self.rtarget);
        errs
    }
}

impl Affinity {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if matches!(self.operand.as_str(), "distinct_hosts" | "distinct_property" | "is_set" | "is_not_set") {
            errs.push(format!("operator \"{}\" cannot be used in an affinity", self.operand));
        } else {
            operand_problems(&mut errs, &self.operand, &self.ltarget, &self.rtarget);
        }
        if self.weight == 0 || !(-100..=100).contains(&self.weight) {
            errs.push(format!("weight must be between -100 and 100 and not zero, got {}", self.weight));
        }
        errs
    }
}

impl Spread {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.attribute.is_empty() {
            errs.push("missing spread attribute".into());
        }
        if !(1..=100).contains(&self.weight) {
            errs.push(format!("weight must be between 1 and 100, got {}", self.weight));
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &self.targets {
            if !seen.insert(t.value.as_str()) {
                errs.push(format!("target \"{}\" is defined more than once", t.value));
            }
        }
        let sum: u32 = self.targets.iter().map(|t| u32::from(t.percent)).sum();
        if sum > 100 {
            errs.push(format!("target percentages add up to {sum}, more than 100"));
        }
        errs
    }
}

impl RestartPolicy {
    /// Checks a policy that is set (an empty mode means "not set yet": nothing to check).
    pub fn problems_if_set(&self) -> Vec<String> {
        if self.mode.is_empty() {
            return Vec::new();
        }
        self.problems()
    }

    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        check_one_of(&mut errs, "mode", &self.mode, &["delay", "fail"]);
        if self.interval < 5 * SECOND {
            errs.push(format!("interval must be at least 5s, got {}ms", self.interval / 1_000_000));
        }
        if i64::from(self.attempts).saturating_mul(self.delay) > self.interval {
            errs.push(format!(
                "{} attempts with a delay of {}s do not fit in an interval of {}s",
                self.attempts,
                self.delay / SECOND,
                self.interval / SECOND
            ));
        }
        errs
    }
}

impl ReschedulePolicy {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        check_one_of(&mut errs, "delay_function", &self.delay_function, &["constant", "exponential", "fibonacci"]);
        if self.attempts < 0 || self.interval < 0 || self.delay < 0 || self.max_delay < 0 {
            errs.push("attempts, interval, delay and max_delay must not be negative".into());
        }
        if self.delay_function != "constant" && !self.delay_function.is_empty() && self.max_delay != 0 && self.max_delay < self.delay {
            errs.push("max_delay must not be shorter than delay".into());
        }
        errs
    }
}

impl UpdateStrategy {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        check_one_of(&mut errs, "health_check", &self.health_check, &["checks", "task_states", "manual"]);
        if self.max_parallel < 0 || self.canary < 0 {
            errs.push("max_parallel and canary must not be negative".into());
        }
        if self.min_healthy_time < 0 || self.healthy_deadline < 0 || self.progress_deadline < 0 || self.stagger < 0 {
            errs.push("durations must not be negative".into());
        }
        if self.healthy_deadline > 0 && self.min_healthy_time >= self.healthy_deadline {
            errs.push("min_healthy_time must be shorter than healthy_deadline".into());
        }
        if self.progress_deadline != 0 && self.progress_deadline < self.healthy_deadline {
            errs.push("progress_deadline must not be shorter than healthy_deadline".into());
        }
        if self.auto_promote && self.canary == 0 {
            errs.push("auto_promote needs canary to be more than 0".into());
        }
        errs
    }
}

impl MigrateStrategy {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        check_one_of(&mut errs, "health_check", &self.health_check, &["checks", "task_states"]);
        if self.max_parallel < 0 || self.min_healthy_time < 0 || self.healthy_deadline < 0 {
            errs.push("max_parallel and durations must not be negative".into());
        }
        if self.healthy_deadline > 0 && self.min_healthy_time >= self.healthy_deadline {
            errs.push("min_healthy_time must be shorter than healthy_deadline".into());
        }
        errs
    }
}

impl ScalingPolicy {
    /// `group`: a group's (horizontal) policy rather than a task's (vertical) one.
    pub fn problems(&self, group: bool) -> Vec<String> {
        let mut errs = Vec::new();
        if group {
            check_one_of(&mut errs, "type", &self.kind, &["horizontal"]);
        } else {
            check_one_of(&mut errs, "type", &self.kind, &["vertical_cpu", "vertical_mem"]);
        }
        if self.max < 0 {
            errs.push("max must not be negative".into());
        }
        match self.min {
            Some(min) if min < 0 => errs.push("min must not be negative".into()),
            Some(min) if min > self.max => errs.push(format!("max ({}) must not be less than min ({min})", self.max)),
            _ => {}
        }
        errs
    }
}

impl PeriodicConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if !self.spec.is_empty() && !self.specs.is_empty() {
            errs.push("set either cron or crons, not both".into());
        }
        if self.enabled && self.spec.is_empty() && self.specs.is_empty() {
            errs.push("a periodic job needs cron or crons".into());
        }
        check_one_of(&mut errs, "spec_type", &self.spec_type, &["cron"]);
        errs
    }
}

impl ParameterizedJobConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        check_one_of(&mut errs, "payload", &self.payload, &["optional", "required", "forbidden"]);
        for k in &self.meta_required {
            if self.meta_optional.contains(k) {
                errs.push(format!("meta key \"{k}\" is both required and optional"));
            }
        }
        errs
    }
}

impl TaskLifecycle {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.hook.is_empty() {
            errs.push("missing lifecycle hook".into());
        }
        check_one_of(&mut errs, "hook", &self.hook, &["prestart", "poststart", "poststop"]);
        errs
    }
}

impl Service {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        check_one_of(&mut errs, "provider", &self.provider, &["consul", "nomad"]);
        check_one_of(&mut errs, "address_mode", &self.address_mode, &["auto", "host", "driver", "alloc"]);
        check_one_of(&mut errs, "on_update", &self.on_update, &["require_healthy", "ignore_warnings", "ignore"]);
        if self.name.contains(' ') {
            errs.push(format!("service name \"{}\" must not contain spaces", self.name));
        }
        for c in &self.checks {
            let mut ce = Vec::new();
            check_one_of(&mut ce, "type", &c.kind, &["http", "tcp", "grpc", "script"]);
            check_one_of(&mut ce, "address_mode", &c.address_mode, &["host", "driver", "alloc"]);
            check_one_of(&mut ce, "initial_status", &c.initial_status, &["passing", "warning", "critical"]);
            check_one_of(&mut ce, "on_update", &c.on_update, &["require_healthy", "ignore_warnings", "ignore"]);
            if c.kind == "script" && c.command.is_empty() {
                ce.push("a script check needs a command".into());
            }
            if c.interval < 0 || c.timeout < 0 {
                ce.push("interval and timeout must not be negative".into());
            }
            errs.extend(ce.into_iter().map(|e| format!("check \"{}\": {e}", c.name)));
        }
        errs
    }
}

impl Template {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.change_mode == "signal" && self.change_signal.is_empty() {
            errs.push("change_mode \"signal\" needs a change_signal".into());
        }
        if self.change_mode == "script" && self.change_script.as_ref().is_none_or(|s| s.command.is_empty()) {
            errs.push("change_mode \"script\" needs a change_script with a command".into());
        }
        if self.source_path.is_empty() && self.embedded_tmpl.is_empty() {
            errs.push("a template needs a source or data".into());
        }
        if let Some(WaitConfig { min: Some(min), max: Some(max) }) = self.wait {
            if min > max {
                errs.push("wait min must not be greater than max".into());
            }
        }
        errs
    }
}

impl TaskArtifact {
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.source.is_empty() {
            errs.push("an artifact needs a source".into());
        }
        check_one_of(&mut errs, "mode", &self.mode, &["any", "file", "dir"]);
        if self.destination.starts_with("..") {
            errs.push(format!("destination \"{}\" escapes the allocation directory", self.destination));
        }
        errs
    }
}

impl Job {
    /// Nomad's structural rules; every problem found is reported.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errs = Vec::new();
        if self.id.is_empty() {
            errs.push("job: missing ID".to_string());
        } else if self.id.contains(' ') || self.id.contains('\0') {
            errs.push(format!("job \"{}\": ID contains a space or null character", self.id));
        }
        if self.task_groups.is_empty() {
            errs.push(format!("job \"{}\": missing job task groups", self.id));
        }
        if !(1..=100).contains(&self.priority) {
            errs.push(format!("job \"{}\": priority must be between 1 and 100, got {}", self.id, self.priority));
        }
        let batch_like = matches!(self.job_type, JobType::Batch | JobType::Sysbatch);
        if self.periodic.as_ref().is_some_and(|p| p.enabled) && !batch_like {
            errs.push(format!("job \"{}\": periodic can only be used with \"batch\" or \"sysbatch\" jobs", self.id));
        }
        // Checked at registration, not parsing (as Nomad: its parser takes any cron text and zone name).
        if let Some(p) = &self.periodic {
            errs.extend(p.schedule_problems().into_iter().map(|e| format!("periodic: {e}")));
        }
        if self.parameterized.is_some() && !batch_like {
            errs.push(format!("job \"{}\": parameterized can only be used with \"batch\" or \"sysbatch\" jobs", self.id));
        }
        if self.job_type == JobType::System && (!self.affinities.is_empty() || !self.spreads.is_empty()) {
            errs.push(format!("job \"{}\": system jobs may not have an affinity or spread block", self.id));
        }
        errs.extend(self.spec_problems().into_iter().map(|(path, msg)| if path.is_empty() { msg } else { format!("{path}: {msg}") }));
        let mut seen = std::collections::BTreeSet::new();
        for g in &self.task_groups {
            if !seen.insert(g.name.as_str()) {
                errs.push(format!("group \"{}\": defined more than once", g.name));
            }
            if g.tasks.is_empty() {
                errs.push(format!("group \"{}\": missing tasks", g.name));
            }
            if self.job_type == JobType::System && g.count > 1 {
                errs.push(format!("group \"{}\": count cannot exceed 1 in a system job, got {}", g.name, g.count));
            }
            if let Some(s) = &g.scaling {
                let count = i64::from(g.count);
                if count > s.max || s.min.is_some_and(|m| count < m) {
                    errs.push(format!("group \"{}\": count {count} is outside the scaling policy's min and max", g.name));
                }
            }
            let mut task_names = std::collections::BTreeSet::new();
            for t in &g.tasks {
                if !task_names.insert(t.name.as_str()) {
                    errs.push(format!("group \"{}\" > task \"{}\": defined more than once", g.name, t.name));
                }
                if t.driver.is_empty() {
                    errs.push(format!("group \"{}\" > task \"{}\": missing driver", g.name, t.name));
                }
                if let Some(f) = t.dispatch_payload.as_ref().map(|d| d.file.as_str()) {
                    if f.starts_with('/') || f.split('/').any(|c| c == "..") {
                        errs.push(format!(
                            "group \"{}\" > task \"{}\" > dispatch_payload: file \"{f}\" escapes the task's local directory",
                            g.name, t.name
                        ));
                    }
                }
                for tp in &t.templates {
                    let mut te = Vec::new();
                    check_one_of(&mut te, "change_mode", &tp.change_mode, &["noop", "restart", "signal", "script"]);
                    errs.extend(te.into_iter().map(|e| format!("group \"{}\" > task \"{}\" > template: {e}", g.name, t.name)));
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// The rules every part of a job must follow whether or not the job is complete, as
    /// (block path, problem) pairs; the jobspec parser reports them with file positions.
    pub fn spec_problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut add = |path: String, probs: Vec<String>| out.extend(probs.into_iter().map(|p| (path.clone(), p)));
        add_placement(&mut add, "", &self.constraints, &self.affinities, &self.spreads);
        for (name, probs) in [
            ("update", self.update.as_deref().map(UpdateStrategy::problems)),
            ("migrate", self.migrate.as_deref().map(MigrateStrategy::problems)),
            ("reschedule", self.reschedule.as_deref().map(ReschedulePolicy::problems)),
            ("periodic", self.periodic.as_deref().map(PeriodicConfig::problems)),
            ("parameterized", self.parameterized.as_deref().map(ParameterizedJobConfig::problems)),
        ] {
            add(name.into(), probs.unwrap_or_default());
        }
        for g in &self.task_groups {
            let gp = format!("group \"{}\"", g.name);
            add_placement(&mut add, &gp, &g.constraints, &g.affinities, &g.spreads);
            add(format!("{gp} > restart"), g.restart_policy.problems_if_set());
            for (name, probs) in [
                ("update", g.update.as_ref().map(UpdateStrategy::problems)),
                ("migrate", g.migrate.as_ref().map(MigrateStrategy::problems)),
                ("reschedule", g.reschedule_policy.as_ref().map(ReschedulePolicy::problems)),
                ("scaling", g.scaling.as_ref().map(|s| s.problems(true))),
            ] {
                add(format!("{gp} > {name}"), probs.unwrap_or_default());
            }
            for s in &g.services {
                add(format!("{gp} > service"), s.problems());
            }
            let mut nets: Vec<&NetworkResource> = g.networks.iter().collect();
            if g.networks.len() > 1 {
                add(format!("{gp} > network"), vec!["only one network block is allowed".into()]);
            }
            for t in &g.tasks {
                let tp = format!("{gp} > task \"{}\"", t.name);
                add_placement(&mut add, &tp, &t.constraints, &t.affinities, &[]);
                add(format!("{tp} > resources"), t.resources.problems());
                if let Some(r) = &t.restart_policy {
                    add(format!("{tp} > restart"), r.problems_if_set());
                }
                if let Some(l) = &t.lifecycle {
                    add(format!("{tp} > lifecycle"), l.problems());
                }
                for s in &t.services {
                    add(format!("{tp} > service"), s.problems());
                }
                for x in &t.templates {
                    add(format!("{tp} > template"), x.problems());
                }
                for a in &t.artifacts {
                    add(format!("{tp} > artifact"), a.problems());
                }
                for s in &t.scaling_policies {
                    add(format!("{tp} > scaling"), s.problems(false));
                }
                nets.extend(&t.resources.networks);
            }
            add(format!("{gp} > network"), super::resources::port_label_problems(&nets));
        }
        out
    }
}

fn add_placement(add: &mut impl FnMut(String, Vec<String>), path: &str, cs: &[Constraint], affs: &[Affinity], spreads: &[Spread]) {
    let at = |name: &str| if path.is_empty() { name.to_string() } else { format!("{path} > {name}") };
    for c in cs {
        add(at("constraint"), c.problems());
    }
    for a in affs {
        add(at("affinity"), a.problems());
    }
    for s in spreads {
        add(at("spread"), s.problems());
    }
}
