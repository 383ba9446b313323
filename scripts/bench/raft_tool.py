#!/usr/bin/env python3
# Helper of scripts/bench-raft: leader lookup, failover timing (kill, new leader, first acked write) and the report.
"""scripts/bench-raft's helper: who leads a Drover or etcd cluster, the failover measurement (kill
the leader, time a new leader and the first acknowledged write), and the final report with ratios.

Subcommands:
  leader SYSTEM URL...              prints the leader's client URL once every URL agrees on one
  failover SYSTEM PID OLD_URL SURVIVOR_URL... --tag T
                                    SIGKILLs PID (the leader at OLD_URL) and prints
                                    `leader_ms=… write_ms=…` measured from the kill
  settle PID...                     returns once those processes are idle (below 10% of a core for 1 s, at most 60 s)
  report RESULTS                    prints the table from the key=value lines scripts/bench-raft wrote
"""

import base64
import json
import math
import os
import signal
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

# Between two failover write probes to one survivor.
PROBE_EVERY = 0.025
# Between two leader polls of one survivor.
POLL_EVERY = 0.01
VALUE = "v" * int(os.environ.get("BENCH_VALUE_BYTES", "256"))


def http(method, url, body=None, timeout=1.0):
    """(status, parsed JSON or None); status 0 when the server could not be reached."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        return e.code, None
    except Exception:  # refused, reset, timed out: not reachable
        return 0, None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


# --- what one server says -------------------------------------------------------------------------


def drover_leader(url, timeout=0.5):
    """The leader's client URL as the Drover server at `url` sees it, or None."""
    status, body = http("GET", url + "/v1/status/leader", timeout=timeout)
    if status != 200 or not isinstance(body, str) or not body:
        return None
    host = body.rsplit(":", 1)[0]
    return "http://%s:4646" % host


def etcd_status(url, timeout=0.5):
    status, body = http("POST", url + "/v3/maintenance/status", {}, timeout=timeout)
    if status != 200 or not isinstance(body, dict):
        return None
    return body


def etcd_leader_id(url, timeout=0.5):
    s = etcd_status(url, timeout)
    if not s or str(s.get("leader", "0")) == "0":
        return None
    return str(s["leader"])


def leader_of(system, url, timeout=0.5):
    """An opaque leader identity as `url` sees it (Drover: its client URL; etcd: its member id)."""
    return drover_leader(url, timeout) if system == "drover" else etcd_leader_id(url, timeout)


def write(system, url, key, timeout):
    """One acknowledged write of a 256-byte value, or False."""
    if system == "drover":
        status, _ = http("PUT", "%s/v1/var/%s" % (url, key), {"Items": {"v": VALUE}}, timeout=timeout)
    else:
        b64 = lambda s: base64.b64encode(s.encode()).decode()
        status, _ = http("POST", url + "/v3/kv/put", {"key": b64(key), "value": b64(VALUE)}, timeout=timeout)
    return status == 200


# --- leader -----------------------------------------------------------------------------------------


def agreed_leader_url(system, urls):
    """The leader's client URL if every URL names the same leader, else None."""
    seen = [leader_of(system, u) for u in urls]
    if seen[0] is None or any(s != seen[0] for s in seen):
        return None
    if system == "drover":
        return seen[0]
    for u in urls:  # which of them is the member with that id
        s = etcd_status(u)
        if s and str(s.get("header", {}).get("member_id")) == seen[0]:
            return u
    return None


def cmd_leader(args):
    system, urls = args[0], args[1:]
    deadline = time.monotonic() + float(os.environ.get("BENCH_LEADER_TIMEOUT", "90"))
    while time.monotonic() < deadline:
        url = agreed_leader_url(system, urls)
        if url:
            print(url)
            return 0
        time.sleep(0.05)
    print("no agreed leader among %s" % " ".join(urls), file=sys.stderr)
    return 1


# --- failover ---------------------------------------------------------------------------------------


def cmd_failover(args):
    tag = "failover"
    if "--tag" in args:
        i = args.index("--tag")
        tag = args[i + 1]
        args = args[:i] + args[i + 2 :]
    system, pid, old_url, survivors = args[0], int(args[1]), args[2], args[3:]
    old = leader_of(system, old_url)
    if old is None:
        print("the old leader at %s does not answer" % old_url, file=sys.stderr)
        return 1
    limit = float(os.environ.get("BENCH_FAILOVER_LIMIT", "30"))
    lock = threading.Lock()
    found = {}
    t0 = 0.0

    def record(what, value):
        with lock:
            found.setdefault(what, (time.monotonic() - t0) * 1000.0)
            if what == "leader":
                found.setdefault("leader_is", value)

    def watch(url):
        # A survivor naming a leader other than the killed one: a new leader exists.
        while "leader" not in found and time.monotonic() - t0 < limit:
            seen = leader_of(system, url, timeout=0.25)
            if seen is not None and seen != old:
                record("leader", seen)
                return
            time.sleep(POLL_EVERY)

    def probe(url, key):
        if write(system, url, key, timeout=limit):
            record("write", url)
            with lock:
                found.setdefault("write_via", url)

    def writer(url, n):
        # Open-loop probes: a new write every PROBE_EVERY, whatever the earlier ones wait for, so a
        # request stuck on the dead leader (until some client or server timeout) does not hide the
        # moment the cluster takes writes again. The first acknowledged one counts.
        i = 0
        while "write" not in found and time.monotonic() - t0 < limit:
            i += 1
            threading.Thread(target=probe, args=(url, "bench/%s/%d-%d" % (tag, n, i)), daemon=True).start()
            time.sleep(PROBE_EVERY)

    threads = [threading.Thread(target=watch, args=(u,), daemon=True) for u in survivors]
    threads += [threading.Thread(target=writer, args=(u, n), daemon=True) for n, u in enumerate(survivors)]
    t0 = time.monotonic()
    killed_at = time.strftime("%H:%M:%S", time.gmtime()) + ".%03d" % (int(time.time() * 1000) % 1000)
    os.kill(pid, signal.SIGKILL)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=limit + 1)
    leader_ms = found.get("leader", float("nan"))
    write_ms = found.get("write", float("nan"))
    print("leader_ms=%.1f write_ms=%.1f" % (leader_ms, write_ms))
    # Which survivor led and which one acknowledged first, for reading slow rounds against the logs.
    print(
        "    killed at %s UTC; new leader %s, first acknowledged write through %s"
        % (killed_at, found.get("leader_is"), found.get("write_via")),
        file=sys.stderr,
    )
    return 0


# --- settle -----------------------------------------------------------------------------------------


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def cmd_settle(args):
    """Leftover work (snapshots, compaction, a restarted server catching up) must not land in the next measurement."""
    hz = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + 60
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        before = cpu_ticks(args)
        time.sleep(0.5)
        busy = (cpu_ticks(args) - before) / hz / 0.5
        quiet = quiet + 1 if busy < 0.1 else 0
    return 0


# --- report -----------------------------------------------------------------------------------------


def percentile(values, p):
    """Nearest-rank percentile (with 20 samples, p99 is the largest); a timed-out round counts as infinite."""
    v = sorted(math.inf if math.isnan(x) else x for x in values)
    if not v:
        return float("nan")
    rank = max(1, math.ceil(p / 100.0 * len(v)))
    return v[rank - 1]


def cmd_report(args):
    r = {}
    samples = {}
    with open(args[0]) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            # "<prefix> k=v k=v …": wrk lines become <prefix>.k, failover rounds become samples.
            prefix, _, rest = line.partition(" ")
            kv = dict(p.split("=", 1) for p in rest.split() if "=" in p)
            if prefix.endswith(".failover"):
                for k, v in kv.items():
                    samples.setdefault(prefix + "." + k, []).append(float(v))
            else:
                # One line per wrk run; with several rounds each figure is their median.
                for k, v in kv.items():
                    r.setdefault(prefix + "." + k, []).append(v)

    def values(key):
        out = []
        for v in r.get(key, []):
            try:
                out.append(float(v))
            except ValueError:
                pass
        return out

    def num(key):
        v = values(key)
        return statistics.median(v) if v else float("nan")

    def total(key):
        return sum(values(key))

    def fmt(x, unit=""):
        if isinstance(x, float) and math.isnan(x):
            return "-"
        if isinstance(x, float) and math.isinf(x):
            return "timeout"
        if unit == "rps":
            return "%.0f" % x
        if unit == "x":
            return "%.2f" % x
        return "%.2f" % x

    def ratio(a, b):
        ok = b and all(not (math.isnan(x) or math.isinf(x)) for x in (a, b))
        return a / b if ok else float("nan")

    def errors(system, c):
        status = total("%s.c%s.non2xx" % (system, c))
        socket = sum(total("%s.c%s.%s" % (system, c, k)) for k in ("connect_err", "read_err", "write_err", "timeouts"))
        return "-" if math.isnan(status) or math.isnan(socket) else "%d/%d" % (status, socket)

    rows = []
    for c in ("1", "256"):
        for metric, unit, key, scale in (
            ("writes/s", "rps", "rps", 1.0),
            ("p50 ms", "", "p50_us", 1e-3),
            ("p99 ms", "", "p99_us", 1e-3),
        ):
            d = num("drover.c%s.%s" % (c, key)) * scale
            e = num("etcd.c%s.%s" % (c, key)) * scale
            rows.append(("%s writer%s %s" % (c, "" if c == "1" else "s", metric), fmt(d, unit), fmt(e, unit), fmt(ratio(d, e), "x")))
        rows.append(("%s writer%s non-2xx/socket errors" % (c, "" if c == "1" else "s"), errors("drover", c), errors("etcd", c), ""))
    fo = {}
    for s in ("drover", "etcd"):
        for k in ("leader_ms", "write_ms"):
            vals = samples.get("%s.failover.%s" % (s, k), [])
            fo[(s, k)] = (percentile(vals, 50), percentile(vals, 99), len(vals), sum(1 for v in vals if math.isnan(v)))
    for k, label in (("leader_ms", "kill -> new leader"), ("write_ms", "kill -> first acked write")):
        for i, p in ((0, "p50"), (1, "p99")):
            d, e = fo[("drover", k)][i], fo[("etcd", k)][i]
            rows.append(("%s %s ms" % (label, p), fmt(d), fmt(e), fmt(ratio(d, e), "x")))
    def rounds(system):
        n, lost = fo[(system, "leader_ms")][2], fo[(system, "leader_ms")][3] + fo[(system, "write_ms")][3]
        return "%d (%d)" % (n, lost)

    rows.append(("failover rounds (timeouts)", rounds("drover"), rounds("etcd"), ""))

    w = max(len(x[0]) for x in rows)
    print("%-*s %12s %12s %12s" % (w, "", "Drover", "etcd", "Drover/etcd"))
    for name, d, e, q in rows:
        print("%-*s %12s %12s %12s" % (w, name, d, e, q))

    d1, e1 = num("drover.c1.rps"), num("etcd.c1.rps")
    d1p, e1p = num("drover.c1.p50_us"), num("etcd.c1.p50_us")
    d256, e256 = num("drover.c256.rps"), num("etcd.c256.rps")
    leader99, write99 = fo[("drover", "leader_ms")][1], fo[("drover", "write_ms")][1]
    nan = lambda *xs: any(math.isnan(x) for x in xs)
    verdict = lambda ok, *xs: "not measured" if nan(*xs) else ("MET" if ok else "MISSED")
    print()
    print("targets")
    print("  1 writer: writes/s >= etcd (%.2fx) and p50 <= etcd (%.2f vs %.2f ms): %s" % (
        ratio(d1, e1), d1p / 1e3, e1p / 1e3, verdict(d1 >= e1 and d1p <= e1p, d1, e1, d1p, e1p)))
    print("  256 writers: writes/s >= 2x etcd (%.2fx): %s" % (ratio(d256, e256), verdict(d256 >= 2 * e256, d256, e256)))
    print("  new leader p99 <= 1000 ms (%.0f ms): %s" % (leader99, verdict(leader99 <= 1000, leader99)))
    print("  writes resumed p99 <= 1500 ms (%.0f ms): %s" % (write99, verdict(write99 <= 1500, write99)))
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    return {"leader": cmd_leader, "failover": cmd_failover, "settle": cmd_settle, "report": cmd_report}[cmd](args)


if __name__ == "__main__":
    sys.exit(main())
