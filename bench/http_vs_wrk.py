#!/usr/bin/python3
"""ringload vs wrk: same server, same connections and duration, one core each.

The server runs on CPU 0 (taskset -c 0), the client on CPU 1. For each target (nginx with
one worker returning a small body; ringload-target --threads 1) the script runs ROUNDS
interleaved rounds of `wrk -t1 -c C -d D` and `ringload -t 1 -c C -d D --json`, measures
the client's user+sys CPU and peak RSS with /usr/bin/time (and the user-space share of that
CPU), the server's CPU per request it served (its processes' /proc CPU time over the run),
and prints per-round tables, the medians, and the ratios ringload/wrk. See bench/README.md.

Environment (all optional):
  C=64  D=10s  ROUNDS=3  WARMUP=1s
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  TOOLS="wrk ringload"  (add "before" with RINGLOAD_BEFORE=PATH: an older ringload binary in
                         the same interleaved rounds, for a refactor's before/after)  TARGETS="nginx target"  SERVER_CPU=0  CLIENT_CPU=1
  OUT=directory for raw outputs (default: a new temporary directory)
Standard library only; every process is started by this script and stopped by its PID.
"""
import os
import shutil
import sys
import tempfile

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, NGINX_CONF_HEAD, RINGLOAD, SERVER_CPU,  # noqa: E402
                      alternated, die, env, free_port, keep_output, make_out_dir, median_row, require_tools,
                      parse_ringload, parse_wrk, run_timed, seconds, server_cpu_s, start_nginx, start_target, stop,
                      time_usage, write_summary)

C = int(env("C", "64"))
D = env("D", "10s")
ROUNDS = int(env("ROUNDS", "3"))
WARMUP = env("WARMUP", "1s")
TOOLS = env("TOOLS", "wrk ringload").split()
TARGETS = env("TARGETS", "nginx target").split()
RINGLOAD_BEFORE = env("RINGLOAD_BEFORE", "")


# ------------------------------------------------------------------------ the servers

NGINX_CONF = NGINX_CONF_HEAD + """\
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ return 200 "hello, world\\n"; }}
    }}
}}
"""


def start_server(target, tmp):
    if target == "nginx":
        port = free_port()
        proc = start_nginx(tmp, NGINX_CONF.format(tmp=tmp, port=port), [port])
    else:
        proc, port = start_target(tmp)
    return proc, f"http://127.0.0.1:{port}/"


# ----------------------------------------------------------------------- the clients

def client_cmd(tool, url, duration):
    if tool == "wrk":
        return ["wrk", "-t1", f"-c{C}", f"-d{duration}", url]
    binary = RINGLOAD_BEFORE if tool == "before" else RINGLOAD
    return [binary, "-t", "1", "-c", str(C), "-d", duration, "--json", "--quiet", url]


def run_client(tool, url, duration, out_dir, tag, server=None):
    time_file = os.path.join(out_dir, f"{tag}.time")
    server_before = server_cpu_s(server) if server else 0.0
    p, cmd = run_timed(tool, client_cmd(tool, url, duration), duration, time_file)
    server_s = server_cpu_s(server) - server_before if server else 0.0
    keep_output(tool, p, cmd, os.path.join(out_dir, f"{tag}.out"), with_cmd=False)
    parsed = parse_wrk(p.stdout) if tool == "wrk" else parse_ringload(p.stdout)
    if parsed is None:
        die(f"cannot parse {tool} output (see {out_dir}/{tag}.out)")
    user, sys_s, rss_kb = time_usage(time_file)
    parsed.update(user_s=user, sys_s=sys_s, rss_mb=rss_kb / 1024,
                  cpu_us_per_req=(user + sys_s) * 1e6 / max(parsed["requests"], 1),
                  user_pct=100 * user / (user + sys_s) if user + sys_s > 0 else 0.0,
                  server_us_per_req=server_s * 1e6 / max(parsed["requests"], 1))
    return parsed


# ---------------------------------------------------------------------------- report

HEADER = (f"{'tool':<9} {'req/s':>11} {'requests':>10} {'user s':>7} {'sys s':>7} {'user %':>6} "
          f"{'CPU us/req':>10} {'srv us/req':>10} {'RSS MB':>7} {'errors':>7}")
KEYS = ("rps", "requests", "user_s", "sys_s", "user_pct", "cpu_us_per_req", "server_us_per_req", "rss_mb", "errors")


def row(tool, r):
    return (f"{tool:<9} {r['rps']:>11.0f} {r['requests']:>10} {r['user_s']:>7.2f} "
            f"{r['sys_s']:>7.2f} {r['user_pct']:>6.1f} {r['cpu_us_per_req']:>10.3f} "
            f"{r['server_us_per_req']:>10.3f} {r['rss_mb']:>7.1f} {r['errors']:>7}")


def summarize(target, results):
    print(f"\n== {target}: medians over {ROUNDS} rounds (C={C}, D={D})")
    print(HEADER)
    med = {}
    for tool in TOOLS:
        med[tool] = median_row(results[tool], KEYS, ints=("requests", "errors"))
        print(row(tool, med[tool]))
    for peer in ("wrk", "before"):
        if peer in med and "ringload" in med:
            w, r = med[peer], med["ringload"]
            print(f"ringload/{peer}: req/s x{r['rps'] / w['rps']:.3f}, "
                  f"CPU/request x{r['cpu_us_per_req'] / w['cpu_us_per_req']:.3f}, "
                  f"server CPU per request served x{r['server_us_per_req'] / max(w['server_us_per_req'], 1e-9):.3f}, "
                  f"user-space share {r['user_pct']:.1f}% vs {w['user_pct']:.1f}%, "
                  f"RSS x{r['rss_mb'] / w['rss_mb']:.2f} ({r['rss_mb']:.1f} MB vs {w['rss_mb']:.1f} MB)")
    return med


def main():
    require_tools(TOOLS, RINGLOAD_BEFORE)
    out_dir = make_out_dir("ringload-bench-")
    tmp = tempfile.mkdtemp(prefix="ringload-bench-srv-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, C={C}, D={D}, rounds={ROUNDS}, "
          f"tools={TOOLS}; raw outputs in {out_dir}")
    summary = {}
    try:
        for target in TARGETS:
            proc, url = start_server(target, tmp)
            try:
                if seconds(WARMUP) > 0:
                    run_client(TOOLS[0], url, WARMUP, out_dir, f"{target}-warmup")
                results = {tool: [] for tool in TOOLS}
                for rnd in range(1, ROUNDS + 1):
                    print(f"\n-- {target} round {rnd} ({url})")
                    print(HEADER)
                    for tool in alternated(TOOLS, rnd):
                        r = run_client(tool, url, D, out_dir, f"{target}-r{rnd}-{tool}", server=proc)
                        results[tool].append(r)
                        print(row(tool, r), flush=True)
                summary[target] = {"median": summarize(target, results), "rounds": results}
            finally:
                stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_summary(out_dir, {"C": C, "D": D, "rounds": ROUNDS, "targets": summary})


if __name__ == "__main__":
    main()
