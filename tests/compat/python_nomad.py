"""Drives a Drover agent with python-nomad, the Python client library for Nomad's HTTP API.

Usage: python_nomad.py HOST PORT. Prints one line per call group and exits non-zero on the first
incompatibility (an exception from the library or a missing field), naming it.
"""

import sys
import time

import nomad
from nomad.api import exceptions

HCL = """job "pycompat" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo py-log; exec sleep 300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"""


PARAM_HCL = """job "pyparam" {
  type = "batch"
  parameterized {
    meta_required = ["who"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
"""

PERIODIC_HCL = """job "pycron" {
  type = "batch"
  periodic {
    crons = ["0 0 1 1 *"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
"""


def need(what, obj, keys):
    missing = [k for k in keys if k not in obj]
    if missing:
        raise SystemExit(f"{what}: missing {missing} in {obj}")


def wait_for(what, pred, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    n = nomad.Nomad(host=host, port=port, timeout=30)
    done = []

    leader = n.status.leader.get_leader()
    assert ":" in leader, leader
    assert n.status.peers.get_peers(), "no peers"
    need("agent", n.agent.get_agent(), ["config", "member", "stats"])
    need("members", n.agent.get_members(), ["Members"])
    assert n.agent.get_servers(), "no servers"
    assert n.regions.get_regions() == ["global"]
    done.append("status, agent, regions")

    nodes = n.nodes.get_nodes()
    need("node stub", nodes[0], ["ID", "Name", "Status", "Drain", "SchedulingEligibility", "NodePool"])
    node_id = nodes[0]["ID"]
    need("node", n.node.get_node(node_id), ["ID", "Attributes", "NodeResources", "Drivers"])
    n.node.eligible_node(node_id, ineligible=True)
    assert n.node.get_node(node_id)["SchedulingEligibility"] == "ineligible"
    n.node.eligible_node(node_id, eligible=True)
    need("node evaluate", n.node.evaluate_node(node_id), ["EvalIDs"])
    drained = n.node.drain_node_with_spec(node_id, {"Deadline": -1}, mark_eligible=False)
    need("drain", drained, ["EvalIDs", "NodeModifyIndex"])
    n.node.drain_node_with_spec(node_id, None, mark_eligible=True)
    wait_for("the node eligible again", lambda: n.node.get_node(node_id)["SchedulingEligibility"] == "eligible", timeout=10)
    done.append("nodes, node, eligibility, evaluate, drain")

    job = n.jobs.parse(HCL)
    need("parsed job", job, ["ID", "TaskGroups"])
    valid = n.validate.validate_job({"Job": job})
    valid = valid.json() if hasattr(valid, "json") else valid  # this call returns the raw response
    need("validate", valid, ["ValidationErrors", "Warnings"])
    reg = n.jobs.register_job({"Job": job})
    need("register", reg, ["EvalID", "JobModifyIndex"])
    done.append("jobs.parse, validate, register")

    def running():
        allocs = n.job.get_allocations("pycompat")
        return [a for a in allocs if a["ClientStatus"] == "running" and a["DesiredStatus"] == "run"]

    alloc_id = wait_for("a running allocation", running)[0]["ID"]
    assert [j["ID"] for j in n.jobs.get_jobs(prefix="pyc")] == ["pycompat"]
    assert "pycompat" in n.jobs
    need("job", n.job.get_job("pycompat"), ["ID", "Type", "Status", "Version", "TaskGroups"])
    assert len(n.job.get_versions("pycompat")["Versions"]) == 1
    need("job evals", n.job.get_evaluations("pycompat")[0], ["ID", "Status", "TriggeredBy"])
    need("summary", n.job.get_summary("pycompat"), ["JobID", "Summary"])
    need("evaluate", n.job.evaluate_job("pycompat"), ["EvalID"])
    plan = n.job.plan_job("pycompat", {"Job": job}, diff=True)
    need("plan", plan, ["Annotations", "Diff", "JobModifyIndex"])
    n.job.stable_job("pycompat", 0, True)
    job["Meta"] = {"rev": "2"}
    n.job.register_job("pycompat", {"Job": job})
    n.job.revert_job("pycompat", 0)
    done.append("job: get, versions, allocations, evaluations, summary, evaluate, plan, stable, update, revert")

    alloc_id = wait_for("a running allocation after the revert", running)[0]["ID"]
    need("allocation", n.allocation.get_allocation(alloc_id), ["ID", "JobID", "TaskStates", "AllocatedResources"])
    assert any(a["ID"] == alloc_id for a in n.allocations.get_allocations())
    evals = n.evaluations.get_evaluations()
    need("evaluation", n.evaluation.get_evaluation(evals[0]["ID"]), ["ID", "Status"])
    n.evaluation.get_allocations(evals[0]["ID"])
    assert any(a["ID"] == alloc_id for a in n.node.get_allocations(node_id))
    done.append("allocations, allocation, evaluations, evaluation, node allocations")

    files = n.client.ls.list_files(alloc_id, "/")
    assert any(f["Name"] == "alloc" for f in files), files
    need("stat", n.client.stat.stat_file(alloc_id, "/alloc"), ["Name", "IsDir"])
    log = wait_for("the task's log", lambda: n.client.cat.read_file(alloc_id, "alloc/logs/t.stdout.0"))
    assert "py-log" in log, log
    plain = n.client.stream_logs.stream(alloc_id, "t", "stdout", plain=True)
    assert "py-log" in plain, plain
    need("alloc stats", n.client.allocation.read_allocation_stats(alloc_id), ["ResourceUsage", "Tasks"])
    need("host stats", n.client.stats.read_stats(), ["Memory", "CPU", "Uptime"])
    need("host stats of a node", n.client.stats.read_stats(node_id), ["Memory", "CPU"])
    n.client.allocation.signal_allocation(alloc_id, "SIGHUP", task="t")
    n.client.allocation.restart_allocation(alloc_id)
    done.append("client: ls, stat, cat, logs, alloc stats, host stats, signal, restart")

    need("metrics", n.metrics.get_metrics(), ["Gauges", "Counters"])
    need("raft configuration", n.operator.get_configuration(), ["Servers"])
    assert any(ns["Name"] == "default" for ns in n.namespaces.get_namespaces())
    found = n.search.search("pyc", "jobs")
    assert found["Matches"]["jobs"] == ["pycompat"], found
    done.append("metrics, operator, namespaces, search")

    n.variable.create_variable("py/cfg", {"Items": {"k": "v"}})
    assert n.variable.get_variable("py/cfg")["Items"] == {"k": "v"}
    assert any(v["Path"] == "py/cfg" for v in n.variables.get_variables(prefix="py/"))
    n.variable.delete_variable("py/cfg")
    try:
        n.variable.get_variable("py/cfg")
        raise SystemExit("a deleted variable is still there")
    except exceptions.URLNotFoundNomadException:
        pass
    done.append("variables: create, get, list, delete")

    param = n.jobs.parse(PARAM_HCL)
    n.jobs.register_job({"Job": param})
    d = n.job.dispatch_job("pyparam", meta={"who": "py"}, payload="aGVsbG8=")  # base64, as Nomad takes []byte
    need("dispatch", d, ["DispatchedJobID", "EvalID"])
    periodic = n.jobs.parse(PERIODIC_HCL)
    n.jobs.register_job({"Job": periodic})
    need("periodic force", n.job.periodic_job("pycron"), ["EvalID"])
    n.job.deregister_job("pyparam", purge=True)
    n.job.deregister_job("pycron", purge=True)
    done.append("dispatch, periodic force")

    need("stop", n.allocation.stop_allocation(alloc_id), ["EvalID"])
    n.job.deregister_job("pycompat", purge=True)
    wait_for("the job to be purged", lambda: "pycompat" not in n.jobs, timeout=20)
    try:
        n.job.get_job("nosuchjob")
        raise SystemExit("an unknown job did not raise")
    except exceptions.URLNotFoundNomadException:
        pass
    done.append("allocation stop, deregister with purge, 404 as URLNotFoundNomadException")

    for d in done:
        print("ok:", d)


if __name__ == "__main__":
    main()
