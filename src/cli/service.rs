//! `drover service list|info|delete`: Nomad's native service registrations, as `nomad service`.

use crate::api::service_reg::{ApiServiceListStub, ApiServiceRegistration};

use super::api_client::{enc, ApiClient, ApiClientError};
use super::format::{kv, short, table};
use super::output::OutputFlags;
use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum ServiceCmd {
    /// List the registered services (per namespace, with their tags)
    List {
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Show the registrations of one service
    Info {
        /// Show every field of each registration, with full ids
        #[arg(long)]
        verbose: bool,
        #[command(flatten)]
        out: OutputFlags,
        name: String,
    },
    /// Delete one registration of a service
    Delete { name: String, id: String },
}

pub async fn run(cmd: ServiceCmd, g: &Global) -> i32 {
    let api = g.client();
    let ns = g.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
    let r = match cmd {
        ServiceCmd::List { out } => list(&api, &ns, &out).await,
        ServiceCmd::Info { verbose, out, name } => info(&api, &ns, &name, verbose, &out).await,
        ServiceCmd::Delete { name, id } => delete(&api, &ns, &name, &id).await,
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

fn tags(t: &[String]) -> String {
    format!("[{}]", t.join(","))
}

async fn list(api: &ApiClient, namespace: &str, out: &OutputFlags) -> Result<(), String> {
    let path = format!("/v1/services?namespace={}", enc(namespace));
    if let Some(r) = out.emit(api, &path).await {
        return r;
    }
    let lists: Vec<ApiServiceListStub> = api.get(&path).await.map_err(|e| format!("listing services: {e}"))?;
    if lists.iter().all(|l| l.services.is_empty()) {
        println!("No service registrations found");
        return Ok(());
    }
    let all = namespace == "*";
    let mut rows = vec![if all {
        vec!["Service Name".to_string(), "Namespace".into(), "Tags".into()]
    } else {
        vec!["Service Name".to_string(), "Tags".into()]
    }];
    for l in &lists {
        for s in &l.services {
            rows.push(if all {
                vec![s.service_name.clone(), l.namespace.clone(), tags(&s.tags)]
            } else {
                vec![s.service_name.clone(), tags(&s.tags)]
            });
        }
    }
    print!("{}", table(&rows));
    Ok(())
}

async fn info(api: &ApiClient, namespace: &str, name: &str, verbose: bool, out: &OutputFlags) -> Result<(), String> {
    let path = format!("/v1/service/{}?namespace={}", enc(name), enc(namespace));
    if let Some(r) = out.emit(api, &path).await {
        return r;
    }
    let regs: Vec<ApiServiceRegistration> = api.get(&path).await.map_err(|e| format!("reading service \"{name}\": {e}"))?;
    if regs.is_empty() {
        println!("No service registrations found");
        return Ok(());
    }
    if verbose {
        let blocks: Vec<String> = regs
            .iter()
            .map(|r| {
                kv(&[
                    ("ID", r.id.clone()),
                    ("Service Name", r.service_name.clone()),
                    ("Namespace", r.namespace.clone()),
                    ("Job ID", r.job_id.clone()),
                    ("Alloc ID", r.alloc_id.clone()),
                    ("Node ID", r.node_id.clone()),
                    ("Datacenter", r.datacenter.clone()),
                    ("Address", format!("{}:{}", r.address, r.port)),
                    ("Tags", tags(&r.tags)),
                    ("Health", health(&r.health).into()),
                ])
            })
            .collect();
        print!("{}", blocks.join("\n"));
        return Ok(());
    }
    let mut rows = vec![vec!["Job ID".to_string(), "Address".into(), "Tags".into(), "Health".into(), "Node ID".into(), "Alloc ID".into()]];
    rows.extend(regs.iter().map(|r| {
        vec![
            r.job_id.clone(),
            format!("{}:{}", r.address, r.port),
            tags(&r.tags),
            health(&r.health).into(),
            short(&r.node_id),
            short(&r.alloc_id),
        ]
    }));
    print!("{}", table(&rows));
    Ok(())
}

/// A registration's check health as shown: `<none>` without checks.
fn health(h: &str) -> &str {
    if h.is_empty() {
        "<none>"
    } else {
        h
    }
}

async fn delete(api: &ApiClient, namespace: &str, name: &str, id: &str) -> Result<(), String> {
    let path = format!("/v1/service/{}/{}?namespace={}", enc(name), enc(id), enc(namespace));
    api.delete_empty(&path).await.map_err(|e| match e {
        ApiClientError::Status { status: 404, .. } => format!("service registration \"{id}\" of service \"{name}\" not found"),
        e => format!("deleting service registration: {e}"),
    })?;
    println!("Successfully deleted service registration");
    Ok(())
}
