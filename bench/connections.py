#!/usr/bin/python3
"""How many connections one ringload process holds, how fast it opens and closes them.

TARGETS ringload-target processes (one process holds at most RLIMIT_NOFILE sockets) run on
SERVER_CPU; the client on CLIENT_CPU. For each C in CONNS, ROUNDS interleaved rounds of

  ringload  -f ORIGINS --loop --connections-total -c C -t SHARDS --qps QPS -d D   (direct descriptors)
  regular   the same with --descriptors regular (only where C fits RLIMIT_NOFILE)
  before    RINGLOAD_BEFORE (an older binary), same flags, where C fits RLIMIT_NOFILE
  wrk       wrk -t1 -c min(C, limit) -d D over the first origin (its peak RSS; it opens
            its connections as it goes and says nothing of when)

For each run: connections opened before the first send (open_loop.preopened_connections),
the time to open them (open_loop.warm_up_s), the time from the end of the load to the exit
(the close of every connection), peak RSS (/usr/bin/time) and descriptors (fds) at the
peak. Medians per tool and C; see bench/README.md.

Environment (all optional):
  CONNS="10000 40000"  SHARDS=4  QPS=1000  D=1s  ROUNDS=3  TARGETS=3  TOOLS="ringload regular wrk"
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  RINGLOAD_BEFORE=PATH
  SERVER_CPU=0  CLIENT_CPU=1  OUT=directory for raw outputs
Standard library only; every process is started by this script and stopped by its PID.
"""
import json
import os
import resource
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (RINGLOAD, alternated, die, env, make_out_dir, proc_fds, require_tools,  # noqa: E402
                      run_timed, seconds, start_target, stop, time_usage, write_summary)

CONNS = [int(c) for c in env("CONNS", "10000 40000").split()]
SHARDS = env("SHARDS", "4")
QPS = env("QPS", "1000")
D = env("D", "1s")
ROUNDS = int(env("ROUNDS", "3"))
TARGETS = int(env("TARGETS", "3"))
TOOLS = env("TOOLS", "ringload regular wrk").split()
RINGLOAD_BEFORE = env("RINGLOAD_BEFORE", "")


def fd_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def client_cmd(tool, conns, origins_file, first_url):
    if tool == "wrk":
        return ["wrk", "-t1", "-c", str(min(conns, fd_limit() - 100)), "-d", D, first_url]
    binary = RINGLOAD_BEFORE if tool == "before" else RINGLOAD
    cmd = [binary, "--json", "--quiet", "-f", origins_file, "--loop", "--connections-total", "-c", str(conns),
           "-t", SHARDS, "--qps", QPS, "-d", D]
    return cmd + (["--descriptors", "regular"] if tool == "regular" else [])


def fits(tool, conns):
    return tool in ("ringload", "wrk") or conns + 100 <= fd_limit()


class FdPeak(threading.Thread):
    """The most descriptors the client (the child of taskset/time) had open."""

    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_part, self.peak, self.done = name, 0, False

    def run(self):
        while not self.done:
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{pid}/comm") as f:
                            if f.read().strip() == self.name_part:
                                self.peak = max(self.peak, sum(proc_fds(int(pid)) or (0, 0)))
                    except OSError:
                        pass
            time.sleep(0.2)


def run_one(tool, conns, origins_file, first_url, out_dir, tag):
    time_file = os.path.join(out_dir, f"{tag}.time")
    watch = FdPeak("wrk" if tool == "wrk" else "ringload")
    watch.start()
    t0 = time.monotonic()
    p, cmd = run_timed(tool, client_cmd(tool, conns, origins_file, first_url), D, time_file)
    elapsed = time.monotonic() - t0
    watch.done = True
    with open(os.path.join(out_dir, f"{tag}.out"), "w") as f:
        f.write(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    user, sys_, rss = time_usage(time_file)
    row = {"rss_mb": rss / 1024, "fds": watch.peak, "cpu_s": user + sys_}
    if tool == "wrk":
        return row
    if p.returncode != 0:
        die(f"{tool} -c {conns} failed ({p.returncode}): {p.stderr[-400:]}")
    r = json.loads(p.stdout)
    warm = r["open_loop"]["warm_up_s"]
    row.update(opened=r["open_loop"]["preopened_connections"], open_s=warm,
               exit_s=elapsed - warm - r["duration_s"], errors=sum(r["errors"].values()),
               descriptors=r.get("descriptors", "regular"))
    return row


def main():
    require_tools([t for t in TOOLS if t != "regular"], RINGLOAD_BEFORE)
    out_dir = make_out_dir("ringload-bench-conns-")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    targets = []
    for k in range(TARGETS):  # each its own folder: start_target's port file is per folder
        os.makedirs(os.path.join(out_dir, f"target{k}"))
        targets.append(start_target(os.path.join(out_dir, f"target{k}"), threads=1))
    summary = [f"connections.py: CONNS={CONNS} SHARDS={SHARDS} QPS={QPS} D={D} ROUNDS={ROUNDS} "
               f"TARGETS={TARGETS} fd limit {hard}; raw outputs in {out_dir}"]
    try:
        origins_file = os.path.join(out_dir, "origins.jsonl")
        with open(origins_file, "w") as f:
            for _, port in targets:
                f.write(json.dumps({"url": f"http://127.0.0.1:{port}/"}) + "\n")
        first_url = f"http://127.0.0.1:{targets[0][1]}/"
        for conns in CONNS:
            tools = [t for t in TOOLS if fits(t, conns)]
            results = {t: [] for t in tools}
            for rnd in range(ROUNDS):
                for tool in alternated(tools, rnd):
                    results[tool].append(run_one(tool, conns, origins_file, first_url, out_dir,
                                                 f"c{conns}-{tool}-{rnd}"))
                    time.sleep(seconds("1s"))  # TIME_WAIT and the targets settle
            summary.append(f"\n-c {conns} (medians of {ROUNDS})")
            summary.append(f"{'tool':10} {'opened':>8} {'open s':>8} {'exit s':>8} {'RSS MB':>8} {'fds':>7} "
                           f"{'errors':>7}")
            for tool, rows in results.items():
                def med(key):
                    vals = [r[key] for r in rows if key in r]
                    return statistics.median(vals) if vals else float("nan")
                summary.append(f"{tool:10} {med('opened'):8.0f} {med('open_s'):8.3f} {med('exit_s'):8.3f} "
                               f"{med('rss_mb'):8.1f} {med('fds'):7.0f} {med('errors'):7.0f}")
    finally:
        for proc, _ in targets:
            stop(proc)
    print("\n".join(summary))
    write_summary(out_dir, summary)


if __name__ == "__main__":
    main()
