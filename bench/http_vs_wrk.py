#!/usr/bin/python3
"""ringload vs wrk: same server, same connections and duration, one core each.

The server runs on CPU 0 (taskset -c 0), the client on CPU 1. For each target (nginx with
one worker returning a small body; ringload-target --threads 1) the script runs ROUNDS
interleaved rounds of `wrk -t1 -c C -d D` and `ringload -t 1 -c C -d D --json`, measures
the client's user+sys CPU and peak RSS with /usr/bin/time, and prints per-round tables,
the medians, and the ratios ringload/wrk. See bench/README.md.

Environment (all optional):
  C=64  D=10s  ROUNDS=3  WARMUP=1s
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  TOOLS="wrk ringload"  TARGETS="nginx target"  SERVER_CPU=0  CLIENT_CPU=1
  OUT=directory for raw outputs (default: a new temporary directory)
Standard library only; every process is started by this script and stopped by its PID.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(name, default):
    return os.environ.get(name, default)


def repo_path(p):
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


C = int(env("C", "64"))
D = env("D", "10s")
ROUNDS = int(env("ROUNDS", "3"))
WARMUP = env("WARMUP", "1s")
RINGLOAD = repo_path(env("RINGLOAD", "build/ringload"))
TARGET_BIN = repo_path(env("TARGET_BIN", "build/ringload-target"))
TOOLS = env("TOOLS", "wrk ringload").split()
TARGETS = env("TARGETS", "nginx target").split()
SERVER_CPU = env("SERVER_CPU", "0")
CLIENT_CPU = env("CLIENT_CPU", "1")
TIME_BIN = "/usr/bin/time"


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def seconds(dur):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", dur)
    if not m:
        die(f"cannot parse duration {dur!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[m.group(2)]


# ---------------------------------------------------------------- processes and ports

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc, grace=5.0):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    default_type text/plain;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ return 200 "hello, world\\n"; }}
    }}
}}
"""


def start_nginx(tmp):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, nginx, "-c", conf, "-p", tmp,
                             "-e", os.path.join(tmp, "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(port, proc):
        stop(proc)
        die(f"nginx did not start (see {tmp}/error.log)")
    return proc, f"http://127.0.0.1:{port}/"


def start_target(tmp):
    if not os.access(TARGET_BIN, os.X_OK):
        die(f"ringload-target not found at {TARGET_BIN} (set TARGET_BIN)")
    port_file = os.path.join(tmp, "target.port")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, TARGET_BIN, "--host", "127.0.0.1",
                             "--port", "0", "--port-file", port_file, "--threads", "1",
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    port = None
    while port is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(port_file) as f:
                port = int(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    if not port or not wait_port(port, proc):
        stop(proc)
        die("ringload-target did not start")
    return proc, f"http://127.0.0.1:{port}/"


# ----------------------------------------------------------------------- the clients

def client_cmd(tool, url, duration):
    if tool == "wrk":
        return ["wrk", "-t1", f"-c{C}", f"-d{duration}", url]
    return [RINGLOAD, "-t", "1", "-c", str(C), "-d", duration, "--json", "--quiet", url]


def parse_wrk(out):
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not total or not rps:
        return None
    return {"requests": int(total.group(1)), "rps": float(rps.group(1)),
            "errors": errs + (int(non2xx.group(1)) if non2xx else 0)}


def parse_ringload(out):
    try:
        r = json.loads(out)
        return {"requests": r["requests"]["total"], "rps": float(r["throughput"]["rps"]),
                "errors": r["requests"]["failed"]}
    except (ValueError, KeyError, TypeError):
        return None


def run_client(tool, url, duration, out_dir, tag):
    time_file = os.path.join(out_dir, f"{tag}.time")
    cmd = ["taskset", "-c", CLIENT_CPU, TIME_BIN, "-f", "%U %S %M", "-o", time_file]
    cmd += client_cmd(tool, url, duration)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds(duration) + 60)
    except subprocess.TimeoutExpired:
        die(f"{tool} did not finish: {' '.join(cmd)}")
    with open(os.path.join(out_dir, f"{tag}.out"), "w") as f:
        f.write(p.stdout + "\n--- stderr ---\n" + p.stderr)
    if p.returncode != 0:
        die(f"{tool} exited {p.returncode}: {' '.join(cmd)}\n{p.stderr[-1000:]}")
    parsed = parse_wrk(p.stdout) if tool == "wrk" else parse_ringload(p.stdout)
    if parsed is None:
        die(f"cannot parse {tool} output (see {out_dir}/{tag}.out)")
    with open(time_file) as f:
        user, sys_s, rss_kb = f.read().split()[-3:]
    cpu_s = float(user) + float(sys_s)
    parsed.update(user_s=float(user), sys_s=float(sys_s), rss_mb=int(rss_kb) / 1024,
                  cpu_us_per_req=cpu_s * 1e6 / max(parsed["requests"], 1))
    return parsed


# ---------------------------------------------------------------------------- report

HEADER = (f"{'tool':<9} {'req/s':>11} {'requests':>10} {'user s':>7} {'sys s':>7} "
          f"{'CPU us/req':>10} {'RSS MB':>7} {'errors':>7}")


def row(tool, r):
    return (f"{tool:<9} {r['rps']:>11.0f} {r['requests']:>10} {r['user_s']:>7.2f} "
            f"{r['sys_s']:>7.2f} {r['cpu_us_per_req']:>10.3f} {r['rss_mb']:>7.1f} "
            f"{r['errors']:>7}")


def summarize(target, results):
    print(f"\n== {target}: medians over {ROUNDS} rounds (C={C}, D={D})")
    print(HEADER)
    med = {}
    for tool in TOOLS:
        rs = results[tool]
        med[tool] = {k: statistics.median(r[k] for r in rs)
                     for k in ("rps", "requests", "user_s", "sys_s", "cpu_us_per_req",
                               "rss_mb", "errors")}
        med[tool]["requests"] = int(med[tool]["requests"])
        med[tool]["errors"] = int(med[tool]["errors"])
        print(row(tool, med[tool]))
    if "wrk" in med and "ringload" in med:
        w, r = med["wrk"], med["ringload"]
        print(f"ringload/wrk: req/s x{r['rps'] / w['rps']:.3f}, "
              f"CPU/request x{r['cpu_us_per_req'] / w['cpu_us_per_req']:.3f}, "
              f"RSS x{r['rss_mb'] / w['rss_mb']:.2f} ({r['rss_mb']:.1f} MB vs {w['rss_mb']:.1f} MB)")
    return med


def main():
    if not os.access(TIME_BIN, os.X_OK):
        die(f"{TIME_BIN} missing: apt-get install time")
    if "ringload" in TOOLS and not os.access(RINGLOAD, os.X_OK):
        die(f"ringload not found at {RINGLOAD} (set RINGLOAD)")
    if "wrk" in TOOLS and not shutil.which("wrk"):
        die("wrk missing: apt-get install wrk")
    out_dir = env("OUT", "") or tempfile.mkdtemp(prefix="ringload-bench-")
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ringload-bench-srv-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, C={C}, D={D}, rounds={ROUNDS}, "
          f"tools={TOOLS}; raw outputs in {out_dir}")
    summary = {}
    try:
        for target in TARGETS:
            proc, url = (start_nginx if target == "nginx" else start_target)(tmp)
            try:
                if seconds(WARMUP) > 0:
                    run_client(TOOLS[0], url, WARMUP, out_dir, f"{target}-warmup")
                results = {tool: [] for tool in TOOLS}
                for rnd in range(1, ROUNDS + 1):
                    # Alternate which tool goes first so drift does not favour either.
                    order = TOOLS if rnd % 2 else list(reversed(TOOLS))
                    print(f"\n-- {target} round {rnd} ({url})")
                    print(HEADER)
                    for tool in order:
                        r = run_client(tool, url, D, out_dir, f"{target}-r{rnd}-{tool}")
                        results[tool].append(r)
                        print(row(tool, r), flush=True)
                summary[target] = {"median": summarize(target, results), "rounds": results}
            finally:
                stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump({"C": C, "D": D, "rounds": ROUNDS, "targets": summary}, f, indent=1)
    print(f"\nsummary: {out_dir}/summary.json")


if __name__ == "__main__":
    main()
