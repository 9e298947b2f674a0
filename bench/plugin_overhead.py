#!/usr/bin/python3
"""What a plugin costs: ringload with a plugin that does nothing against ringload alone.

ringload-target (--threads 1) runs on CPU 0, ringload (-t THREADS, 1 by default) on CPU 1.
Each round runs, in an order that alternates from round to round,

    ringload -t 1 -c C -d D --json --quiet URL                                  (none)
    ringload -t 1 -c C -d D --json --quiet --plugin build/.../libnoop.so URL    (plugin)

examples/plugins/noop.c: on_request returns 0, on_response does nothing, so what is
measured is the hooks' calls and what loading any plugin turns on (the response head kept
for on_response). PLUGIN=PATH[:ARGS] measures another plugin the same way (a .py one:
PLUGIN=examples/python/noop.py, the Python hooks). Per run:
requests/s, client CPU µs per request ((user + sys) / requests), peak RSS, and the CPU
stall of the machine during the run (PSI: other work competing for the cores). Then the medians, the ratios plugin/none of the medians and the median of the
rounds' paired ratios. Issue 11's goal: the no-op plugin costs at most 5 % of requests/s
and of CPU per request (req/s ratio >= 0.95, CPU/request ratio <= 1.05).

Environment (all optional):
  C=64  D=5s  ROUNDS=5  WARMUP=1s  PATH_=/ (request path)  THREADS=1 (ringload's -t;
  give CLIENT_CPU as many CPUs, e.g. CLIENT_CPU=0,1)
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  PLUGIN=<RINGLOAD's directory>/examples/plugins/libnoop.so (PATH[:ARGS])
  SERVER_CPU=0  CLIENT_CPU=1
  OUT=directory for raw outputs (default: a new temporary directory)
Standard library only; every process is started by this script and stopped by its PID.
"""
import json
import os
import shutil
import statistics
import sys
import tempfile

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, SERVER_CPU, alternated, cpu_stall_us, die, env,  # noqa: E402
                      keep_output, make_out_dir, median_row, repo_path, require_time_and_ringload,
                      run_timed, seconds, start_target, stop, time_usage, write_summary)

C = int(env("C", "64"))
THREADS = int(env("THREADS", "1"))
D = env("D", "5s")
ROUNDS = int(env("ROUNDS", "5"))
WARMUP = env("WARMUP", "1s")
REQ_PATH = env("PATH_", "/")
PLUGIN = repo_path(env("PLUGIN", os.path.join(os.path.dirname(RINGLOAD), "examples", "plugins", "libnoop.so")))
PLUGIN_FILE = PLUGIN.split(":", 1)[0]
MODES = ("none", "plugin")
GOAL = 0.05  # issue 11: a plugin that does nothing costs at most 5 %


def run(mode, url, duration, out_dir, tag):
    time_file = os.path.join(out_dir, f"{tag}.time")
    cmd = [RINGLOAD, "-t", str(THREADS), "-c", str(C), "-d", duration, "--json", "--quiet"]
    if mode == "plugin":
        cmd += ["--plugin", PLUGIN]
    cmd.append(url)
    stall0 = cpu_stall_us()
    p, cmd = run_timed("ringload", cmd, duration, time_file)
    stall1 = cpu_stall_us()
    keep_output("ringload", p, cmd, os.path.join(out_dir, f"{tag}.out"))
    try:
        r = json.loads(p.stdout)
        res = {"rps": float(r["throughput"]["rps"]), "requests": r["requests"]["total"],
               "failed": r["requests"]["failed"]}
        if mode == "plugin" and not r.get("plugins"):
            die(f"{tag}: the report lists no plugin")
    except (ValueError, KeyError, TypeError):
        die(f"cannot parse ringload's report (see {out_dir}/{tag}.out)")
    user, sys_s, rss_kb = time_usage(time_file)
    stall = (stall1 - stall0) / 1e3 / seconds(duration) if stall0 is not None and stall1 is not None else 0.0
    res.update(cpu_us_per_req=(user + sys_s) * 1e6 / max(res["requests"], 1), rss_mb=rss_kb / 1024,
               stall_ms_per_s=stall)
    return res


HEADER = (f"{'mode':<6} {'req/s':>10} {'requests':>10} {'CPU us/req':>10} {'RSS MB':>7} "
          f"{'stall ms/s':>10} {'failed':>7}")


def row(mode, r):
    return (f"{mode:<6} {r['rps']:>10.0f} {int(r['requests']):>10} {r['cpu_us_per_req']:>10.3f} "
            f"{r['rss_mb']:>7.1f} {r['stall_ms_per_s']:>10.1f} {int(r['failed']):>7}")


def verdict(rps_ratio, cpu_ratio):
    ok = rps_ratio >= 1 - GOAL and cpu_ratio <= 1 + GOAL
    return ("meets" if ok else "MISSES") + f" the {GOAL:.0%} goal"


def main():
    require_time_and_ringload()
    if not os.path.exists(PLUGIN_FILE):
        die(f"plugin not found at {PLUGIN_FILE} (build examples/plugins, or set PLUGIN)")
    out_dir = make_out_dir("ringload-plugin-bench-")
    tmp = tempfile.mkdtemp(prefix="ringload-plugin-bench-srv-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, -t {THREADS}, C={C}, D={D}, rounds={ROUNDS}, "
          f"plugin {PLUGIN}; load average {os.getloadavg()[0]:.2f}; raw outputs in {out_dir}")
    results = {m: [] for m in MODES}
    proc = None
    try:
        proc, port = start_target(tmp)
        url = f"http://127.0.0.1:{port}{REQ_PATH}"
        if seconds(WARMUP) > 0:
            run("none", url, WARMUP, out_dir, "warmup")
        for rnd in range(1, ROUNDS + 1):
            print(f"\n-- round {rnd} ({url})\n{HEADER}")
            for mode in alternated(MODES, rnd):
                r = run(mode, url, D, out_dir, f"r{rnd}-{mode}")
                results[mode].append(r)
                print(row(mode, r), flush=True)
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    med = {m: median_row(rs) for m, rs in results.items()}
    print(f"\n== medians over {ROUNDS} rounds (-t {THREADS}, C={C}, D={D}; load average now {os.getloadavg()[0]:.2f})\n{HEADER}")
    for m in MODES:
        print(row(m, med[m]))
    rps = med["plugin"]["rps"] / med["none"]["rps"]
    cpu = med["plugin"]["cpu_us_per_req"] / med["none"]["cpu_us_per_req"]
    rss = med["plugin"]["rss_mb"] / med["none"]["rss_mb"]
    paired_rps = statistics.median(b["rps"] / a["rps"] for a, b in zip(results["none"], results["plugin"]))
    paired_cpu = statistics.median(b["cpu_us_per_req"] / a["cpu_us_per_req"]
                                   for a, b in zip(results["none"], results["plugin"]))
    print(f"plugin/none, of the medians: req/s x{rps:.3f}, CPU/request x{cpu:.3f}, RSS x{rss:.3f}: {verdict(rps, cpu)}")
    print(f"plugin/none, median of the {ROUNDS} paired rounds: req/s x{paired_rps:.3f}, "
          f"CPU/request x{paired_cpu:.3f}: {verdict(paired_rps, paired_cpu)}")
    write_summary(out_dir, {"C": C, "THREADS": THREADS, "D": D, "rounds": ROUNDS, "plugin": PLUGIN, "median": med, "runs": results,
                            "ratio": {"rps": rps, "cpu_per_request": cpu, "rss": rss},
                            "paired_ratio": {"rps": paired_rps, "cpu_per_request": paired_cpu}})


if __name__ == "__main__":
    main()
