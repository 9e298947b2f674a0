#!/usr/bin/python3
"""Peak RSS of ringload and wrk: same target, same connections and duration.

ringload-target (--threads TARGET_THREADS) runs on SERVER_CPU; each client on CLIENT_CPU
under /usr/bin/time (its peak RSS, %M). For each connection count in CS, ROUNDS interleaved
rounds of `wrk -t1 -c C -d D` and `ringload -t 1 -c C -d D --json` (and an older ringload,
"before", with RINGLOAD_BEFORE). Prints per-round rows, medians, KiB per connection (peak
RSS / C) and the marginal KiB per connection between the smallest and the largest C (what
one more connection costs, without the fixed part), plus ringload's own `memory` block
(total and per connection) when its report has one. See bench/README.md.

Environment (all optional):
  CS="64 10000"  D=2s  ROUNDS=3  TARGET_THREADS=1
  TOOLS="wrk ringload" (add "before" with RINGLOAD_BEFORE=PATH)
  RINGLOAD, TARGET_BIN, SERVER_CPU, CLIENT_CPU, OUT: as for http_vs_wrk.py
wrk gets its own fd limit (prlimit --nofile=C+64): ringload raises its own.
Standard library only; every process is started by this script and stopped by its PID.
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, SERVER_CPU,  # noqa: E402
                      alternated, die, env, keep_output, make_out_dir, median_row, require_tools, run_timed,
                      start_target, stop, time_usage, write_summary)

CS = [int(c) for c in env("CS", "64 10000").split()]
D = env("D", "2s")
ROUNDS = int(env("ROUNDS", "3"))
TARGET_THREADS = env("TARGET_THREADS", "1")
TOOLS = env("TOOLS", "wrk ringload").split()
RINGLOAD_BEFORE = env("RINGLOAD_BEFORE", "")


def client_cmd(tool, c, url):
    if tool == "wrk":
        # wrk keeps the process's fd limit: raise it for this run only.
        return ["prlimit", f"--nofile={c + 64}", "wrk", "-t1", f"-c{c}", f"-d{D}", url]
    binary = RINGLOAD_BEFORE if tool == "before" else RINGLOAD
    return [binary, "-t", "1", "-c", str(c), "-d", D, "--json", "--quiet", url]


def run_client(tool, c, url, out_dir, tag):
    time_file = os.path.join(out_dir, f"{tag}.time")
    p, cmd = run_timed(tool, client_cmd(tool, c, url), D, time_file)
    keep_output(tool, p, cmd, os.path.join(out_dir, f"{tag}.out"), with_cmd=False)
    _, _, rss_kb = time_usage(time_file)
    row = {"rss_kib": rss_kb, "kib_per_conn": rss_kb / c, "engine_kib": 0.0,
           "engine_b_per_conn": 0.0}
    if tool != "wrk":
        try:
            mem = json.loads(p.stdout).get("memory") or {}
            row["engine_kib"] = mem.get("total_bytes", 0) / 1024
            row["engine_b_per_conn"] = mem.get("per_connection_bytes", 0)
        except ValueError:
            die(f"cannot parse {tool} output (see {out_dir}/{tag}.out)")
    return row


KEYS = ("rss_kib", "kib_per_conn", "engine_kib", "engine_b_per_conn")


def fmt(tool, c, r):
    return (f"{tool:<9} {c:>6} {r['rss_kib'] / 1024:>8.1f} {r['kib_per_conn']:>9.2f} "
            f"{r['engine_kib'] / 1024:>9.2f} {r['engine_b_per_conn']:>10.0f}")


HEADER = f"{'tool':<9} {'C':>6} {'RSS MB':>8} {'KiB/conn':>9} {'engine MB':>9} {'engine B/c':>10}"


def main():
    require_tools(TOOLS, RINGLOAD_BEFORE)
    if "wrk" in TOOLS and not shutil.which("prlimit"):
        die("prlimit needed for wrk's descriptor limit: apt-get install util-linux")
    out_dir = make_out_dir("ringload-memory-")
    tmp = tempfile.mkdtemp(prefix="ringload-memory-srv-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, CS={CS}, D={D}, rounds={ROUNDS}, "
          f"tools={TOOLS}; raw outputs in {out_dir}")
    proc, port = start_target(tmp, TARGET_THREADS)
    url = f"http://127.0.0.1:{port}/"
    results = {(t, c): [] for t in TOOLS for c in CS}
    try:
        print(HEADER)
        for rnd in range(1, ROUNDS + 1):
            for c in CS:
                for tool in alternated(TOOLS, rnd):
                    r = run_client(tool, c, url, out_dir, f"{tool}-c{c}-r{rnd}")
                    results[(tool, c)].append(r)
                    print(fmt(tool, c, r), f"  (round {rnd})")
    finally:
        stop(proc)
    print(f"\n== medians over {ROUNDS} rounds (D={D})")
    print(HEADER)
    summary = {"cs": CS, "duration": D, "rounds": ROUNDS, "medians": {}}
    for tool in TOOLS:
        for c in CS:
            med = median_row(results[(tool, c)], KEYS)
            summary["medians"][f"{tool} c{c}"] = med
            print(fmt(tool, c, med))
        if len(CS) > 1:
            lo = summary["medians"][f"{tool} c{CS[0]}"]["rss_kib"]
            hi = summary["medians"][f"{tool} c{CS[-1]}"]["rss_kib"]
            marginal = (hi - lo) / (CS[-1] - CS[0])
            summary["medians"][f"{tool} marginal_kib_per_conn"] = marginal
            print(f"{tool}: {marginal:.2f} KiB per extra connection (c{CS[0]} -> c{CS[-1]})")
    write_summary(out_dir, summary)


if __name__ == "__main__":
    main()
