#!/usr/bin/python3
"""The Python module against the CLI: the same run through `ringload.run(...)` and through
`ringload`, on the same target, in interleaved paired rounds.

ringload-target (--threads 1) runs on CPU 0, the client on CPU 1. Each round runs, in an
order that alternates from round to round,

    ringload -t 1 -c C -d D --json --quiet URL                                      (cli)
    /usr/bin/python3 -c 'import ringload; ringload.run(URL, threads=1, connections=C,
                         duration=D) ...'                                           (sdk)

Per run: requests/s, client CPU µs per request ((user + sys) / requests; the sdk's includes
starting the interpreter and importing the module, about 20-30 ms), peak RSS, and the
machine's CPU stall (PSI). Then the medians and the ratios sdk/cli, of the medians and
the median of the paired rounds. Issue 12 expects no measurable difference: both are the
same engine, the module only releases the GIL and waits.

Environment (all optional):
  C=64  D=5s  ROUNDS=5  WARMUP=1s
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  MODULE_DIR=<RINGLOAD's directory>/python (where `import ringload` is found)
  SERVER_CPU=0  CLIENT_CPU=1  OUT=directory for raw outputs
Standard library only; every process is started by this script and stopped by its PID.
"""
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, SERVER_CPU, alternated, cpu_stall_us, die, env,  # noqa: E402
                      keep_output, make_out_dir, median_row, repo_path, require_time_and_ringload,
                      run_timed, seconds, start_target, stop, time_usage, write_summary)

C = int(env("C", "64"))
D = env("D", "5s")
ROUNDS = int(env("ROUNDS", "5"))
WARMUP = env("WARMUP", "1s")
MODULE_DIR = repo_path(env("MODULE_DIR", os.path.join(os.path.dirname(RINGLOAD), "python")))
MODES = ("cli", "sdk")
SDK = ("import json, sys; sys.path.insert(0, sys.argv[1]); import ringload; "
       "print(json.dumps(ringload.run(sys.argv[2], threads=1, connections=int(sys.argv[3]), duration=sys.argv[4])))")


def run(mode, url, duration, out_dir, tag):
    time_file = os.path.join(out_dir, f"{tag}.time")
    if mode == "cli":
        cmd = [RINGLOAD, "-t", "1", "-c", str(C), "-d", duration, "--json", "--quiet", url]
    else:
        cmd = ["/usr/bin/python3", "-c", SDK, MODULE_DIR, url, str(C), duration]
    stall0 = cpu_stall_us()
    p, cmd = run_timed(mode, cmd, duration, time_file)
    stall1 = cpu_stall_us()
    keep_output(mode, p, cmd, os.path.join(out_dir, f"{tag}.out"))
    try:
        r = json.loads(p.stdout)
        res = {"rps": float(r["throughput"]["rps"]), "requests": r["requests"]["total"],
               "failed": r["requests"]["failed"]}
    except (ValueError, KeyError, TypeError):
        die(f"cannot parse the report (see {out_dir}/{tag}.out)")
    user, sys_s, rss_kb = time_usage(time_file)
    stall = (stall1 - stall0) / 1e3 / seconds(duration) if stall0 is not None and stall1 is not None else 0.0
    res.update(cpu_us_per_req=(user + sys_s) * 1e6 / max(res["requests"], 1), rss_mb=rss_kb / 1024,
               stall_ms_per_s=stall)
    return res


HEADER = (f"{'mode':<5} {'req/s':>10} {'requests':>10} {'CPU us/req':>10} {'RSS MB':>7} "
          f"{'stall ms/s':>10} {'failed':>7}")


def row(mode, r):
    return (f"{mode:<5} {r['rps']:>10.0f} {int(r['requests']):>10} {r['cpu_us_per_req']:>10.3f} "
            f"{r['rss_mb']:>7.1f} {r['stall_ms_per_s']:>10.1f} {int(r['failed']):>7}")


def main():
    require_time_and_ringload()
    if not os.path.exists(os.path.join(MODULE_DIR, "ringload", "__init__.py")):
        die(f"the Python module is not built in {MODULE_DIR} (pybind11-dev; or set MODULE_DIR)")
    out_dir = make_out_dir("ringload-sdk-bench-")
    tmp = tempfile.mkdtemp(prefix="ringload-sdk-bench-srv-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, C={C}, D={D}, rounds={ROUNDS}; "
          f"load average {os.getloadavg()[0]:.2f}; raw outputs in {out_dir}")
    results = {m: [] for m in MODES}
    proc = None
    try:
        proc, port = start_target(tmp)
        url = f"http://127.0.0.1:{port}/"
        if seconds(WARMUP) > 0:
            run("cli", url, WARMUP, out_dir, "warmup")
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
    print(f"\n== medians over {ROUNDS} rounds (C={C}, D={D}; load average now {os.getloadavg()[0]:.2f})\n{HEADER}")
    for m in MODES:
        print(row(m, med[m]))
    rps = med["sdk"]["rps"] / med["cli"]["rps"]
    cpu = med["sdk"]["cpu_us_per_req"] / med["cli"]["cpu_us_per_req"]
    rss = med["sdk"]["rss_mb"] / med["cli"]["rss_mb"]
    paired_rps = statistics.median(b["rps"] / a["rps"] for a, b in zip(results["cli"], results["sdk"]))
    paired_cpu = statistics.median(b["cpu_us_per_req"] / a["cpu_us_per_req"]
                                   for a, b in zip(results["cli"], results["sdk"]))
    print(f"sdk/cli, of the medians: req/s x{rps:.3f}, CPU/request x{cpu:.3f}, RSS x{rss:.3f}")
    print(f"sdk/cli, median of the {ROUNDS} paired rounds: req/s x{paired_rps:.3f}, CPU/request x{paired_cpu:.3f}")
    write_summary(out_dir, {"C": C, "D": D, "rounds": ROUNDS, "median": med, "runs": results,
                            "ratio": {"rps": rps, "cpu_per_request": cpu, "rss": rss},
                            "paired_ratio": {"rps": paired_rps, "cpu_per_request": paired_cpu}})


if __name__ == "__main__":
    main()
