#!/usr/bin/python3
"""ringload vs h2load over HTTP/2: same nginx, same connections and streams, one core each.

nginx (one worker, `return 200` with a small body, keep-alive without a request limit)
serves h2c with prior knowledge (`listen ... http2;`) and h2 over TLS 1.3 (`listen ... ssl
http2;`, ALPN) on CPU 0 (taskset); the client runs on CPU 1. For each protocol, ROUNDS
interleaved rounds (the order alternates every round) of

  h2c  h2load -t1 -c C -m M -D SECONDS URL   vs  ringload --h2c -t 1 -c C --max-streams M -d D URL
  h2   h2load ... https URL                  vs  ringload --http2 --cacert CA ... https URL

For every run: requests/s, requests, client user+sys CPU and peak RSS (/usr/bin/time), CPU us
per request, nginx's CPU us per request served ("srv us/req", /proc/PID/stat), errors
(h2load's failed, ringload's requests.failed) and the share of the run some task on the
machine waited for a CPU (PSI, "stall ms/s"); then the medians per tool,
the ratios ringload/h2load of the medians and the medians of the paired rounds' ratios.
Before measuring a protocol, a 1 s run of each tool against a second server block that logs
$server_protocol shows that both spoke HTTP/2 (else the script ends).

--peer-only runs h2load alone (TOOLS=h2load): the setup check until ringload speaks HTTP/2.
Without it, a ringload whose --help has no --h2c ends the script with that message.
See bench/README.md.

Environment (all optional):
  C=16  M=32  D=5s  ROUNDS=3  WARMUP=1s  PROTOS="h2c h2"  TOOLS="h2load ringload"
  RINGLOAD=build/ringload (relative to the repo root)  SERVER_CPU=0  CLIENT_CPU=1
  OUT=directory for raw outputs (default: a new temporary directory)
Standard library only; every process is started by this script and stopped by its PID.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, NGINX_CONF_HEAD, RINGLOAD, SERVER_CPU,  # noqa: E402
                      alternated, cpu_stall_us, die, env, free_port, keep_output, make_certs,
                      make_out_dir, median_row, parse_ringload, require_tools, run_timed, seconds, server_cpu_s,
                      start_nginx, stop, time_usage, write_summary)

C = int(env("C", "16"))
M = int(env("M", "32"))
D = env("D", "5s")
ROUNDS = int(env("ROUNDS", "3"))
WARMUP = env("WARMUP", "1s")
PROTOS = env("PROTOS", "h2c h2").split()
TOOLS = env("TOOLS", "h2load ringload").split()


# ------------------------------------------------------------------------- the server

NGINX_CONF = NGINX_CONF_HEAD + """\
    ssl_certificate {tmp}/server.pem;
    ssl_certificate_key {tmp}/server.key;
    ssl_protocols TLSv1.3;
    server {{
        listen 127.0.0.1:{h2c_port} http2 backlog=4096;
        location / {{ return 200 "hello, world\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{h2_port} ssl http2 backlog=4096;
        location / {{ return 200 "hello, world\\n"; }}
    }}
    log_format observe '$server_protocol';
    server {{
        listen 127.0.0.1:{h2c_observe} http2;
        access_log {tmp}/observe-h2c.log observe;
        location / {{ return 200 "hello, world\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{h2_observe} ssl http2;
        access_log {tmp}/observe-h2.log observe;
        location / {{ return 200 "hello, world\\n"; }}
    }}
}}
"""


def start_server(tmp):
    """nginx with the measured servers (no log) and their observers (which log each
    request's protocol): (process, {proto: URL}, {proto: observer URL})."""
    make_certs(tmp)
    ports = {name: free_port() for name in ("h2c_port", "h2_port", "h2c_observe", "h2_observe")}
    proc = start_nginx(tmp, NGINX_CONF.format(tmp=tmp, **ports), list(ports.values()))
    SERVER[:] = [proc]
    urls = {"h2c": f"http://127.0.0.1:{ports['h2c_port']}/", "h2": f"https://127.0.0.1:{ports['h2_port']}/"}
    observers = {"h2c": f"http://127.0.0.1:{ports['h2c_observe']}/",
                 "h2": f"https://127.0.0.1:{ports['h2_observe']}/"}
    return proc, urls, observers


def observe(proto, url, tmp, out_dir):
    """A 1 s run of each tool against the observer: {tool: {protocol nginx logged: requests}};
    ends the benchmark unless every request was HTTP/2.0 (a client that fell back to
    HTTP/1.1 would measure something else)."""
    log = os.path.join(tmp, f"observe-{proto}.log")
    seen = {}
    for tool in TOOLS:
        run_client(tool, proto, url, "1s", tmp, out_dir, f"{proto}-observe-{tool}")
        time.sleep(0.3)  # nginx logs after the response
        with open(log) as f:
            counts = {}
            for line in f.read().split():
                counts[line] = counts.get(line, 0) + 1
        open(log, "w").close()  # nginx appends (O_APPEND): truncating in place is safe
        seen[tool] = counts
        if set(counts) != {"HTTP/2.0"}:
            die(f"{tool} over {proto}: nginx logged {counts}, not only HTTP/2.0")
    print(f"{proto}: nginx logged " + ", ".join(f"{t} {c}" for t, c in seen.items()))
    return seen


# ----------------------------------------------------------------------- the clients

def client_cmd(tool, proto, url, duration, tmp):
    if tool == "h2load":
        # -D takes whole seconds; h2load reads the CA nowhere and checks no certificate.
        return ["h2load", "-t1", f"-c{C}", f"-m{M}", "-D", str(max(1, round(seconds(duration)))), url]
    cmd = [RINGLOAD, "--h2c" if proto == "h2c" else "--http2", "-t", "1", "-c", str(C),
           "--max-streams", str(M), "-d", duration, "--json", "--quiet"]
    if proto == "h2":
        cmd += ["--cacert", os.path.join(tmp, "ca.pem")]
    return cmd + [url]


def parse_h2load(out):
    """requests (succeeded), requests/s and errors (failed) from h2load's output; None if it
    has no totals."""
    rps = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    totals = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed", out)
    if not rps or not totals:
        return None
    return {"requests": int(totals.group(1)), "rps": float(rps.group(1)), "errors": int(totals.group(2))}


def run_client(tool, proto, url, duration, tmp, out_dir, tag):
    time_file = os.path.join(out_dir, f"{tag}.time")
    stall0, server0 = cpu_stall_us(), server_cpu_s(SERVER[0])
    p, cmd = run_timed(tool, client_cmd(tool, proto, url, duration, tmp), duration, time_file)
    stall1, server1 = cpu_stall_us(), server_cpu_s(SERVER[0])
    keep_output(tool, p, cmd, os.path.join(out_dir, f"{tag}.out"))
    parsed = parse_h2load(p.stdout) if tool == "h2load" else parse_ringload(p.stdout)
    if parsed is None:
        die(f"cannot parse {tool} output (see {out_dir}/{tag}.out)")
    user, sys_s, rss_kb = time_usage(time_file)
    stall = (stall1 - stall0) / 1e3 / seconds(duration) if stall0 is not None and stall1 is not None else 0.0
    parsed.update(user_s=user, sys_s=sys_s, rss_mb=rss_kb / 1024, stall_ms_per_s=stall,
                  cpu_us_per_req=(user + sys_s) * 1e6 / max(parsed["requests"], 1),
                  server_us_per_req=(server1 - server0) * 1e6 / max(parsed["requests"], 1))
    return parsed


SERVER = []  # the nginx process, whose CPU time (with its worker's) is read around each run



def ringload_speaks_h2():
    """True when the ringload binary's --help lists --h2c."""
    try:
        p = subprocess.run([RINGLOAD, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--h2c" in p.stdout + p.stderr


# ---------------------------------------------------------------------------- report

HEADER = (f"{'tool':<9} {'req/s':>11} {'requests':>10} {'user s':>7} {'sys s':>7} "
          f"{'CPU us/req':>10} {'srv us/req':>10} {'RSS MB':>7} {'stall ms/s':>10} {'errors':>7}")
KEYS = ("rps", "requests", "user_s", "sys_s", "cpu_us_per_req", "server_us_per_req", "rss_mb", "stall_ms_per_s",
        "errors")


def row(tool, r):
    return (f"{tool:<9} {r['rps']:>11.0f} {r['requests']:>10} {r['user_s']:>7.2f} "
            f"{r['sys_s']:>7.2f} {r['cpu_us_per_req']:>10.3f} {r['server_us_per_req']:>10.3f} {r['rss_mb']:>7.1f} "
            f"{r['stall_ms_per_s']:>10.1f} {r['errors']:>7}")


def summarize(proto, results):
    print(f"\n== {proto}: medians over {ROUNDS} rounds (-c {C} -m {M}, D={D}; load average now "
          f"{os.getloadavg()[0]:.2f})")
    print(HEADER)
    med = {tool: median_row(results[tool], KEYS, ints=("requests", "errors")) for tool in TOOLS}
    for tool in TOOLS:
        print(row(tool, med[tool]))
    out = {"median": med}
    if "h2load" in med and "ringload" in med:
        p, r = med["h2load"], med["ringload"]
        out["ratio"] = {"rps": r["rps"] / p["rps"], "cpu_per_request": r["cpu_us_per_req"] / p["cpu_us_per_req"],
                        "rss": r["rss_mb"] / p["rss_mb"],
                        "server_cpu_per_request": r["server_us_per_req"] / max(p["server_us_per_req"], 1e-9)}
        pairs = list(zip(results["h2load"], results["ringload"]))
        out["paired_ratio"] = {"rps": statistics.median(b["rps"] / a["rps"] for a, b in pairs),
                               "cpu_per_request": statistics.median(b["cpu_us_per_req"] / a["cpu_us_per_req"]
                                                                    for a, b in pairs)}
        print(f"ringload/h2load: req/s x{out['ratio']['rps']:.3f} (paired x{out['paired_ratio']['rps']:.3f}), "
              f"CPU/request x{out['ratio']['cpu_per_request']:.3f} "
              f"(paired x{out['paired_ratio']['cpu_per_request']:.3f}), "
              f"RSS x{out['ratio']['rss']:.2f} ({r['rss_mb']:.1f} MB vs {p['rss_mb']:.1f} MB), "
              f"nginx CPU/request served x{out['ratio']['server_cpu_per_request']:.3f}")
    return out


def main():
    global TOOLS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--peer-only", action="store_true", help="run h2load alone (TOOLS=h2load)")
    args = p.parse_args()
    if args.peer_only:
        TOOLS = ["h2load"]
    for tool in ("h2load", "nginx", "openssl", "taskset"):
        if not shutil.which(tool) and not (tool == "nginx" and os.access("/usr/sbin/nginx", os.X_OK)):
            die(f"{tool} missing (h2load: apt-get install nghttp2-client)")
    require_tools(TOOLS)
    if "ringload" in TOOLS and not ringload_speaks_h2():
        die(f"{RINGLOAD} has no --h2c (its HTTP/2 session, issue 16, is not in this build): "
            "run with --peer-only to measure h2load alone")
    out_dir = make_out_dir("ringload-bench-h2-")
    tmp = tempfile.mkdtemp(prefix="ringload-bench-h2-srv-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, -c {C} -m {M}, D={D}, rounds={ROUNDS}, "
          f"tools={TOOLS}, protocols={PROTOS}; raw outputs in {out_dir}")
    summary = {}
    proc = None
    try:
        proc, urls, observers = start_server(tmp)
        for proto in PROTOS:
            url = urls[proto]
            observed = observe(proto, observers[proto], tmp, out_dir)
            if seconds(WARMUP) > 0:
                run_client(TOOLS[0], proto, url, WARMUP, tmp, out_dir, f"{proto}-warmup")
            results = {tool: [] for tool in TOOLS}
            for rnd in range(1, ROUNDS + 1):
                print(f"\n-- {proto} round {rnd} ({url})")
                print(HEADER)
                for tool in alternated(TOOLS, rnd):
                    r = run_client(tool, proto, url, D, tmp, out_dir, f"{proto}-r{rnd}-{tool}")
                    results[tool].append(r)
                    print(row(tool, r), flush=True)
            summary[proto] = dict(summarize(proto, results), rounds=results, observed=observed)
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    write_summary(out_dir, {"C": C, "M": M, "D": D, "rounds": ROUNDS, "tools": TOOLS, "protocols": summary})


if __name__ == "__main__":
    main()
