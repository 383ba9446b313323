//! Nomad's defaults for a job: what canonicalization fills in when a job file or JSON leaves it unset
//! (restart and reschedule per job type, update, migrate, weights, service and template defaults, …).

use super::job::*;

/// Nomad's default weight (50) for affinities and spreads that set none.
fn default_weights(affinities: &mut [Affinity], spreads: &mut [Spread]) {
    for a in affinities.iter_mut().filter(|a| a.weight == 0) {
        a.weight = 50;
    }
    for s in spreads.iter_mut().filter(|s| s.weight == 0) {
        s.weight = 50;
    }
}

impl Service {
    /// Nomad's service defaults; `default_name` is `<job>-<group>[-<task>]`.
    fn canonicalize(&mut self, default_name: &str) {
        if self.name.is_empty() {
            self.name = default_name.to_string();
        }
        for (field, default) in [
            (&mut self.address_mode, "auto"),
            (&mut self.on_update, "require_healthy"),
            (&mut self.provider, "consul"),
            (&mut self.cluster, "default"),
        ] {
            if field.is_empty() {
                *field = default.into();
            }
        }
        for c in &mut self.checks {
            if c.on_update.is_empty() {
                c.on_update.clone_from(&self.on_update);
            }
            c.check_restart = match (&self.check_restart, c.check_restart.take()) {
                (Some(s), Some(mine)) => Some(CheckRestart {
                    limit: if mine.limit == 0 { s.limit } else { mine.limit },
                    grace: mine.grace.or(s.grace),
                    ignore_warnings: mine.ignore_warnings || s.ignore_warnings,
                }),
                (s, mine) => mine.or_else(|| s.clone()),
            };
        }
    }
}

impl Template {
    fn canonicalize(&mut self) {
        if self.change_mode.is_empty() {
            self.change_mode = "restart".into();
        }
        if self.change_mode == "signal" && self.change_signal.is_empty() {
            self.change_signal = "SIGHUP".into();
        }
        self.change_signal = self.change_signal.to_uppercase();
        for (field, default) in [(&mut self.perms, "0644"), (&mut self.left_delim, "{{"), (&mut self.right_delim, "}}")] {
            if field.is_empty() {
                *field = default.into();
            }
        }
    }
}

impl Job {
    /// Fills in Nomad's defaults for anything left unset.
    pub fn canonicalize(&mut self) {
        if self.name.is_empty() {
            self.name = self.id.clone();
        }
        if self.namespace.is_empty() {
            self.namespace = "default".into();
        }
        if self.region.is_empty() {
            self.region = "global".into();
        }
        if self.priority == 0 {
            self.priority = 50;
        }
        if self.datacenters.is_empty() {
            self.datacenters = vec!["*".into()];
        }
        if self.node_pool.is_empty() {
            self.node_pool = "default".into();
        }
        for g in &mut self.task_groups {
            if g.restart_policy.mode.is_empty() {
                g.restart_policy = RestartPolicy::default_for(self.job_type);
            }
            for t in &mut g.tasks {
                if t.kill_timeout == 0 {
                    t.kill_timeout = 5 * SECOND;
                }
            }
        }
        self.canonicalize_policies();
    }

    /// Nomad's defaults for the update, migrate, reschedule, periodic, scaling, service and template blocks.
    fn canonicalize_policies(&mut self) {
        let jt = self.job_type;
        if self.update.is_none() && matches!(jt, JobType::Service | JobType::System) {
            self.update = Some(Box::default());
        }
        if let Some(p) = &mut self.periodic {
            if p.spec_type.is_empty() {
                p.spec_type = "cron".into();
            }
            if p.time_zone.is_empty() {
                p.time_zone = "UTC".into();
            }
        }
        default_weights(&mut self.affinities, &mut self.spreads);
        let job_name = self.name.clone();
        for g in &mut self.task_groups {
            if g.update.is_none() {
                g.update = self.update.as_deref().cloned();
            }
            if g.reschedule_policy.is_none() && !matches!(jt, JobType::System | JobType::Sysbatch) {
                g.reschedule_policy = Some(self.reschedule.as_deref().cloned().unwrap_or_else(|| ReschedulePolicy::default_for(jt)));
            }
            if g.migrate.is_none() && (self.migrate.is_some() || jt == JobType::Service) {
                g.migrate = Some(self.migrate.as_deref().cloned().unwrap_or_default());
            }
            if let Some(s) = &mut g.scaling {
                if s.kind.is_empty() {
                    s.kind = "horizontal".into();
                }
                s.min.get_or_insert(i64::from(g.count));
            }
            if let Some(d) = &mut g.disconnect {
                d.replace.get_or_insert(true);
                if d.reconcile.is_empty() {
                    d.reconcile = "best_score".into();
                }
            }
            default_weights(&mut g.affinities, &mut g.spreads);
            for s in &mut g.services {
                s.canonicalize(&format!("{job_name}-{}", g.name));
            }
            for t in &mut g.tasks {
                t.restart_policy.get_or_insert_with(|| g.restart_policy.clone());
                default_weights(&mut t.affinities, &mut Vec::new());
                for s in &mut t.services {
                    s.canonicalize(&format!("{job_name}-{}-{}", g.name, t.name));
                }
                for tp in &mut t.templates {
                    tp.canonicalize();
                }
                for a in &mut t.artifacts {
                    if a.mode.is_empty() {
                        a.mode = "any".into();
                    }
                }
                for v in &mut t.volume_mounts {
                    if v.propagation_mode.is_empty() {
                        v.propagation_mode = "private".into();
                    }
                }
                for d in &mut t.resources.devices {
                    if d.count == 0 {
                        d.count = 1;
                    }
                    default_weights(&mut d.affinities, &mut Vec::new());
                }
                if t.lifecycle.as_ref().is_some_and(|l| l.hook.is_empty()) {
                    t.lifecycle = None;
                }
            }
        }
    }
}
