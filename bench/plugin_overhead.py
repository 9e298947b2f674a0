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

H2C=M runs over HTTP/2 instead: nginx (one worker on SERVER_CPU, h2c, `return 200`) and
ringload --h2c --max-streams M, so the hooks run once per stream; PIPELINE=N adds
--pipeline N (HTTP/1.1 against ringload-target).

Environment (all optional):
  C=64  D=5s  ROUNDS=5  WARMUP=1s  PATH_=/ (request path)  THREADS=1 (ringload's -t;
  give CLIENT_CPU as many CPUs, e.g. CLIENT_CPU=0,1)  H2C=0 (streams per connection; 0: HTTP/1.1
  against ringload-target)  PIPELINE=1
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  PLUGIN=<RINGLOAD's directory>/examples/plugins/libnoop.so (PATH[:ARGS])
  SERVER_CPU=0  CLIENT_CPU=1
  OUT=directory for raw outputs (default: a new temporary directory)
Standard library only; every process is started by this script and stopped by its PID.
"""
import os
import sys

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, NGINX_CONF_HEAD, RINGLOAD, SERVER_CPU, ab_rounds, ab_summary, die,  # noqa: E402
                      env, free_port, make_out_dir, measured_report_run, repo_path, require_time_and_ringload,
                      start_nginx, write_summary)

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
H2C = int(env("H2C", "0"))
PIPELINE = int(env("PIPELINE", "1"))
NGINX_H2C = NGINX_CONF_HEAD + """\
    server {{
        listen 127.0.0.1:{port} http2 backlog=4096;
        location / {{ return 200 "hello, world\\n"; }}
    }}
}}
"""


def start_h2c(tmp):
    port = free_port()
    return start_nginx(tmp, NGINX_H2C.format(tmp=tmp, port=port), [port]), f"http://127.0.0.1:{port}"


def run(mode, url, duration, out_dir, tag):
    cmd = [RINGLOAD, "-t", str(THREADS), "-c", str(C), "-d", duration, "--json", "--quiet"]
    if H2C:
        cmd += ["--h2c", "--max-streams", str(H2C)]
    if PIPELINE > 1:
        cmd += ["--pipeline", str(PIPELINE)]
    if mode == "plugin":
        cmd += ["--plugin", PLUGIN]
    res, report = measured_report_run("ringload", cmd + [url], duration, out_dir, tag)
    if mode == "plugin" and not report.get("plugins"):
        die(f"{tag}: the report lists no plugin")
    return res


def verdict(rps_ratio, cpu_ratio):
    ok = rps_ratio >= 1 - GOAL and cpu_ratio <= 1 + GOAL
    return ("meets" if ok else "MISSES") + f" the {GOAL:.0%} goal"


def main():
    require_time_and_ringload()
    if not os.path.exists(PLUGIN_FILE):
        die(f"plugin not found at {PLUGIN_FILE} (build examples/plugins, or set PLUGIN)")
    out_dir = make_out_dir("ringload-plugin-bench-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, -t {THREADS}, C={C}, D={D}, rounds={ROUNDS}, "
          f"{'nginx h2c, --max-streams ' + str(H2C) if H2C else 'HTTP/1.1, ringload-target'}, "
          f"plugin {PLUGIN}; load average {os.getloadavg()[0]:.2f}; raw outputs in {out_dir}")
    results = ab_rounds(MODES, run, ROUNDS, D, WARMUP, out_dir, REQ_PATH, start_h2c if H2C else None)
    s = ab_summary(results, "none", "plugin", f"-t {THREADS}, C={C}, D={D}" + (f", h2c x{H2C}" if H2C else "") +
                   (f", --pipeline {PIPELINE}" if PIPELINE > 1 else ""))
    r, p = s["ratio"], s["paired_ratio"]
    print(f"plugin/none, of the medians: req/s x{r['rps']:.3f}, CPU/request x{r['cpu_per_request']:.3f}, "
          f"RSS x{r['rss']:.3f}: {verdict(r['rps'], r['cpu_per_request'])}")
    print(f"plugin/none, median of the {ROUNDS} paired rounds: req/s x{p['rps']:.3f}, "
          f"CPU/request x{p['cpu_per_request']:.3f}: {verdict(p['rps'], p['cpu_per_request'])}")
    write_summary(out_dir, {"C": C, "THREADS": THREADS, "D": D, "rounds": ROUNDS, "plugin": PLUGIN, "h2c": H2C, "pipeline": PIPELINE,
                            "runs": results, **s})


if __name__ == "__main__":
    main()
