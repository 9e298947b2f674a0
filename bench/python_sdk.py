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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, SERVER_CPU, ab_rounds, ab_summary, die, env,  # noqa: E402
                      make_out_dir, measured_report_run, repo_path, require_time_and_ringload,
                      write_summary)

C = int(env("C", "64"))
D = env("D", "5s")
ROUNDS = int(env("ROUNDS", "5"))
WARMUP = env("WARMUP", "1s")
MODULE_DIR = repo_path(env("MODULE_DIR", os.path.join(os.path.dirname(RINGLOAD), "python")))
MODES = ("cli", "sdk")
SDK = ("import json, sys; sys.path.insert(0, sys.argv[1]); import ringload; "
       "print(json.dumps(ringload.run(sys.argv[2], threads=1, connections=int(sys.argv[3]), duration=sys.argv[4])))")


def run(mode, url, duration, out_dir, tag):
    if mode == "cli":
        cmd = [RINGLOAD, "-t", "1", "-c", str(C), "-d", duration, "--json", "--quiet", url]
    else:
        cmd = ["/usr/bin/python3", "-c", SDK, MODULE_DIR, url, str(C), duration]
    return measured_report_run(mode, cmd, duration, out_dir, tag)[0]


def main():
    require_time_and_ringload()
    if not os.path.exists(os.path.join(MODULE_DIR, "ringload", "__init__.py")):
        die(f"the Python module is not built in {MODULE_DIR} (pybind11-dev; or set MODULE_DIR)")
    out_dir = make_out_dir("ringload-sdk-bench-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, C={C}, D={D}, rounds={ROUNDS}; "
          f"load average {os.getloadavg()[0]:.2f}; raw outputs in {out_dir}")
    results = ab_rounds(MODES, run, ROUNDS, D, WARMUP, out_dir)
    s = ab_summary(results, "cli", "sdk", f"C={C}, D={D}")
    r, p = s["ratio"], s["paired_ratio"]
    print(f"sdk/cli, of the medians: req/s x{r['rps']:.3f}, CPU/request x{r['cpu_per_request']:.3f}, RSS x{r['rss']:.3f}")
    print(f"sdk/cli, median of the {ROUNDS} paired rounds: req/s x{p['rps']:.3f}, "
          f"CPU/request x{p['cpu_per_request']:.3f}")
    write_summary(out_dir, {"C": C, "D": D, "rounds": ROUNDS, "runs": results, **s})


if __name__ == "__main__":
    main()
