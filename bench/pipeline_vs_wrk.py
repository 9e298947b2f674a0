#!/usr/bin/python3
"""ringload --pipeline N vs wrk with a pipelining Lua script: same server, same connections
and duration, one core each.

wrk pipelines with the standard pipeline.lua (its `init` concatenates N wrk.format()
requests, its `request` returns them: N requests per write, N responses counted); ringload
runs `--pipeline N`. The server runs on CPU 0, the client on CPU 1. For each target (nginx
with one worker returning a small body; ringload-target --threads 1) the script runs ROUNDS
interleaved rounds of `wrk -t1 -c C -d D -s pipeline.lua` and `ringload -t 1 -c C -d D
--pipeline N --json`, measures the client's user+sys CPU and peak RSS with /usr/bin/time,
and prints per-round tables, the medians, the ratios ringload/wrk, and requests per client
CPU-second (the goal of issue 13: ringload >= 2x wrk at N=16). See bench/README.md.

Environment (all optional):
  N=16  C=64  D=10s  ROUNDS=3  WARMUP=1s
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  TARGETS="nginx target"  SERVER_CPU=0  CLIENT_CPU=1
  OUT=directory for raw outputs (default: a new temporary directory)
Standard library only; every process is started by this script and stopped by its PID.
"""
import os
import shutil
import sys
import tempfile

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, SERVER_CPU, alternated, die, env, keep_output,  # noqa: E402
                      make_out_dir, median_row, parse_ringload, parse_wrk, require_tools, run_timed, seconds,
                      stop, time_usage, write_summary)
from http_vs_wrk import start_server  # noqa: E402  (the same nginx and ringload-target)

N = int(env("N", "16"))
C = int(env("C", "64"))
D = env("D", "10s")
ROUNDS = int(env("ROUNDS", "3"))
WARMUP = env("WARMUP", "1s")
TARGETS = env("TARGETS", "nginx target").split()
TOOLS = ["wrk", "ringload"]

# wrk's scripts/pipeline.lua, N deep.
PIPELINE_LUA = """\
init = function(args)
   local r = {{}}
   for i = 1, {n} do
      r[i] = wrk.format(nil, "/")
   end
   req = table.concat(r)
end

request = function()
   return req
end
"""


def client_cmd(tool, url, duration, lua):
    if tool == "wrk":
        return ["wrk", "-t1", f"-c{C}", f"-d{duration}", "-s", lua, url]
    return [RINGLOAD, "-t", "1", "-c", str(C), "-d", duration, "--pipeline", str(N), "--json", "--quiet", url]


def run_client(tool, url, duration, out_dir, tag, lua):
    time_file = os.path.join(out_dir, f"{tag}.time")
    p, cmd = run_timed(tool, client_cmd(tool, url, duration, lua), duration, time_file)
    keep_output(tool, p, cmd, os.path.join(out_dir, f"{tag}.out"), with_cmd=False)
    parsed = parse_wrk(p.stdout) if tool == "wrk" else parse_ringload(p.stdout)
    if parsed is None:
        die(f"cannot parse {tool} output (see {out_dir}/{tag}.out)")
    user, sys_s, rss_kb = time_usage(time_file)
    cpu = user + sys_s
    parsed.update(user_s=user, sys_s=sys_s, rss_mb=rss_kb / 1024,
                  cpu_us_per_req=cpu * 1e6 / max(parsed["requests"], 1),
                  req_per_cpu_s=parsed["requests"] / cpu if cpu > 0 else 0.0)
    return parsed


HEADER = (f"{'tool':<9} {'req/s':>11} {'requests':>10} {'user s':>7} {'sys s':>7} "
          f"{'CPU us/req':>10} {'req/CPU s':>11} {'RSS MB':>7} {'errors':>7}")
KEYS = ("rps", "requests", "user_s", "sys_s", "cpu_us_per_req", "req_per_cpu_s", "rss_mb", "errors")


def row(tool, r):
    return (f"{tool:<9} {r['rps']:>11.0f} {r['requests']:>10} {r['user_s']:>7.2f} "
            f"{r['sys_s']:>7.2f} {r['cpu_us_per_req']:>10.3f} {r['req_per_cpu_s']:>11.0f} {r['rss_mb']:>7.1f} "
            f"{r['errors']:>7}")


def summarize(target, results):
    print(f"\n== {target}: medians over {ROUNDS} rounds (N={N}, C={C}, D={D})")
    print(HEADER)
    med = {tool: median_row(results[tool], KEYS, ints=("requests", "errors")) for tool in TOOLS}
    for tool in TOOLS:
        print(row(tool, med[tool]))
    w, r = med["wrk"], med["ringload"]
    # Paired: each round's ringload against the same round's wrk, then the median.
    paired = sorted(rr["req_per_cpu_s"] / ww["req_per_cpu_s"] for rr, ww in zip(results["ringload"], results["wrk"])
                    if ww["req_per_cpu_s"] > 0)
    paired_med = paired[len(paired) // 2] if paired else 0.0
    print(f"ringload/wrk: req/s x{r['rps'] / w['rps']:.3f}, "
          f"CPU/request x{r['cpu_us_per_req'] / w['cpu_us_per_req']:.3f}, "
          f"requests per CPU-second x{r['req_per_cpu_s'] / w['req_per_cpu_s']:.3f} "
          f"(paired rounds' median x{paired_med:.3f}; goal >= 2), "
          f"RSS x{r['rss_mb'] / w['rss_mb']:.2f} ({r['rss_mb']:.1f} MB vs {w['rss_mb']:.1f} MB)")
    return med


def main():
    require_tools(TOOLS)
    out_dir = make_out_dir("ringload-bench-pipe-")
    tmp = tempfile.mkdtemp(prefix="ringload-bench-srv-")
    lua = os.path.join(out_dir, "pipeline.lua")
    with open(lua, "w") as f:
        f.write(PIPELINE_LUA.format(n=N))
    load = os.getloadavg()
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, N={N}, C={C}, D={D}, rounds={ROUNDS}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; raw outputs in {out_dir}")
    summary = {}
    try:
        for target in TARGETS:
            proc, url = start_server(target, tmp)
            try:
                if seconds(WARMUP) > 0:
                    run_client("wrk", url, WARMUP, out_dir, f"{target}-warmup", lua)
                results = {tool: [] for tool in TOOLS}
                for rnd in range(1, ROUNDS + 1):
                    print(f"\n-- {target} round {rnd} ({url})")
                    print(HEADER)
                    for tool in alternated(TOOLS, rnd):
                        r = run_client(tool, url, D, out_dir, f"{target}-r{rnd}-{tool}", lua)
                        results[tool].append(r)
                        print(row(tool, r), flush=True)
                summary[target] = {"median": summarize(target, results), "rounds": results}
            finally:
                stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    write_summary(out_dir, {"N": N, "C": C, "D": D, "rounds": ROUNDS, "targets": summary})


if __name__ == "__main__":
    main()
