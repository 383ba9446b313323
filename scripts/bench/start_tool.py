"""Helper of scripts/bench-start: Drover container start latency and the same start with runc/crun.

  drover URL N [PREFIX]   N sequential busybox container starts through a dev agent's HTTP API; per
                          start, the time from the client's "Received" event to its "Started" event
                          (both stamped by the client) and from the job's submission to "Started"
  idle URL                waits until every allocation of the agent has ended
  oci RUNTIME BUNDLE N    N sequential `RUNTIME run --detach` of the bundle (the same rootfs): the
                          time until the command returns with the process running, then delete -f
Prints `name p50_ms=… p99_ms=… max_ms=… n=…` lines; measures only, asserts nothing.
"""

import json
import subprocess
import sys
import time

from agent_http import http


def pct(vals, p):
    s = sorted(vals)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def report(name, vals):
    print("%s p50_ms=%.2f p99_ms=%.2f max_ms=%.2f n=%d" % (name, pct(vals, 50), pct(vals, 99), max(vals), len(vals)))


def job(name):
    return {
        "ID": name,
        "Name": name,
        "Type": "batch",
        "Datacenters": ["*"],
        "TaskGroups": [
            {
                "Name": "g",
                "Count": 1,
                "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
                "ReschedulePolicy": {"Attempts": 0, "Unlimited": False},
                "Tasks": [
                    {
                        "Name": "t",
                        "Driver": "docker",
                        "Config": {"image": "busybox:local", "command": "/bin/sleep", "args": ["30"]},
                        "Resources": {"CPU": 20, "MemoryMB": 16},
                    }
                ],
            }
        ],
    }


def cmd_drover(url, n, prefix):
    received_to_started, submit_to_started = [], []
    for i in range(n):
        name = "%s-%d" % (prefix, i)
        t0 = time.time_ns()
        http("PUT", url + "/v1/jobs", {"Job": job(name)})
        deadline = time.time() + 30
        started = None
        while time.time() < deadline and started is None:
            for a in http("GET", url + "/v1/job/%s/allocations" % name) or []:
                events = (a.get("TaskStates") or {}).get("t", {}).get("Events") or []
                times = {e["Type"]: e["Time"] for e in events}
                if "Started" in times and "Received" in times:
                    started = (times["Received"], times["Started"])
            if started is None:
                time.sleep(0.002)
        if started is None:
            print("start %d: not started within 30 s" % i, file=sys.stderr)
            return 1
        received_to_started.append((started[1] - started[0]) / 1e6)
        submit_to_started.append((started[1] - t0) / 1e6)
        http("DELETE", url + "/v1/job/%s?purge=true" % name)
    report("drover.received_to_started", received_to_started)
    report("drover.submit_to_started", submit_to_started)
    return 0


def cmd_idle(url):
    """Waits until every allocation has ended (the containers outlive the agent otherwise)."""
    deadline = time.time() + 120
    while time.time() < deadline:
        allocs = http("GET", url + "/v1/allocations") or []
        if all(a["ClientStatus"] in ("complete", "failed", "lost") for a in allocs):
            return 0
        time.sleep(0.2)
    print("allocations still running after 120 s", file=sys.stderr)
    return 1


def cmd_oci(runtime, bundle, n):
    vals = []
    for i in range(n):
        cid = "bench-start-%s-%d" % (runtime, i)
        t0 = time.perf_counter()
        # The container's process inherits stdio: give it /dev/null, or the call waits for it to exit.
        r = subprocess.run(
            [runtime, "run", "--detach", "--bundle", bundle, cid],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        dt = (time.perf_counter() - t0) * 1000
        if r.returncode != 0:
            print("%s run failed with exit code %d" % (runtime, r.returncode), file=sys.stderr)
            subprocess.run([runtime, "delete", "-f", cid], capture_output=True)
            return 1
        vals.append(dt)
        subprocess.run([runtime, "delete", "-f", cid], capture_output=True)
    report(runtime + ".run_detached", vals)
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "drover":
        return cmd_drover(args[0], int(args[1]), args[2] if len(args) > 2 else "start")
    if cmd == "idle":
        return cmd_idle(args[0])
    if cmd == "oci":
        return cmd_oci(args[0], args[1], int(args[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
