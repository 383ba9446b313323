"""Helper of scripts/bench-rollout: time from submitting a job of N busybox containers to all N running.

  drover URL N            registers a service job of N busybox containers through the HTTP API
                          (`PUT /v1/jobs`, as `drover job run -detach` does) and polls its
                          allocations every 10 ms until N run
  swarm DOCKER_HOST N     `docker service create --replicas N busybox:local sleep 3600` against a
                          swarm-mode daemon, polled every 50 ms until `docker service ls` shows N/N
  wait-gone URL           waits until the agent runs no allocation (after the job is stopped)
Prints `name ms=… n=…` lines; measures only, asserts nothing.
"""

import json
import subprocess
import sys
import time

from agent_http import http


def job(n):
    return {
        "ID": "rollout",
        "Name": "rollout",
        "Type": "service",
        "Datacenters": ["*"],
        "TaskGroups": [
            {
                "Name": "g",
                "Count": n,
                "Tasks": [
                    {
                        "Name": "t",
                        "Driver": "docker",
                        "Config": {"image": "busybox:local", "command": "/bin/sleep", "args": ["3600"]},
                        "Resources": {"CPU": 10, "MemoryMB": 8},
                    }
                ],
            }
        ],
    }


def drover(url, n):
    t0 = time.monotonic()
    http("PUT", url + "/v1/jobs", {"Job": job(n)})
    while True:
        allocs = http("GET", url + "/v1/job/rollout/allocations")
        running = sum(1 for a in allocs if a["ClientStatus"] == "running")
        if running >= n:
            break
        failed = [a for a in allocs if a["ClientStatus"] == "failed"]
        if failed:
            sys.exit("an allocation failed: %s" % json.dumps(failed[0].get("TaskStates"))[:2000])
        if time.monotonic() - t0 > 300:
            sys.exit("only %d of %d running after 300 s" % (running, n))
        time.sleep(0.01)
    print("drover.rollout ms=%.0f n=%d" % ((time.monotonic() - t0) * 1000, n))
    http("DELETE", url + "/v1/job/rollout?purge=true")


def wait_gone(url):
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        allocs = http("GET", url + "/v1/allocations")
        if all(a["ClientStatus"] in ("complete", "failed", "lost") for a in allocs):
            return
        time.sleep(0.2)
    sys.exit("allocations still running 120 s after the job was stopped")


def swarm(docker_host, n):
    docker = ["/usr/bin/docker", "-H", docker_host]
    t0 = time.monotonic()
    subprocess.run(
        docker + ["service", "create", "--detach", "--quiet", "--no-resolve-image", "--name", "rollout", "--replicas", str(n), "busybox:local", "sleep", "3600"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    while True:
        out = subprocess.run(docker + ["service", "ls", "--filter", "name=rollout", "--format", "{{.Replicas}}"], capture_output=True, text=True)
        replicas = out.stdout.strip().split(" ")[0]
        if replicas == "%d/%d" % (n, n):
            break
        if time.monotonic() - t0 > 600:
            sys.exit("swarm: only %s after 600 s" % replicas)
        time.sleep(0.05)
    print("swarm.rollout ms=%.0f n=%d" % ((time.monotonic() - t0) * 1000, n))
    subprocess.run(docker + ["service", "rm", "rollout"], check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "drover":
        drover(sys.argv[2], int(sys.argv[3]))
    elif cmd == "swarm":
        swarm(sys.argv[2], int(sys.argv[3]))
    elif cmd == "wait-gone":
        wait_gone(sys.argv[2])
    else:
        sys.exit(__doc__)
