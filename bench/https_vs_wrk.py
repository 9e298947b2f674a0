#!/usr/bin/python3
"""ringload vs wrk over HTTPS: same nginx, same connections and duration, one core each.

nginx (one worker, TLS 1.3 only, an EC P-256 certificate, `return 200` with a small body,
keep-alive without a request limit) runs on CPU 0 (taskset), the client on CPU 1. Two
phases, each ROUNDS interleaved rounds (the order alternates every round):

  keepalive  wrk -t1 -c C -d D URL            vs  ringload -t 1 -c C -d D URL
  handshake  wrk -t1 -c HC -d D -H "Connection: close" URL   (wrk reconnects per request)
             vs  ringload -t 1 -c HC -d D --tls-handshake-each URL
             (and ringload ... --no-tls-resume, unless NO_RESUME_ROW=0)

For every run: requests/s, requests, client user+sys CPU and peak RSS (/usr/bin/time),
CPU us per request, errors, the server's CPU us per request (nginx's /proc/PID/stat),
and the share of the run some task on the machine waited for a CPU (PSI, "stall %": a
run with a high figure measured a shared machine); then the medians per tool and the
ratios ringload/wrk.

Before measuring it checks that the ringload binary links the fast wolfSSL (its report
must not carry the notice about Debian's wolfSSL without AES-NI) and finds out what each
tool negotiates: a short run of each tool, in each phase, against a second server block
that logs $ssl_protocol, $ssl_cipher, $ssl_curve and $ssl_session_reused, plus
`openssl s_client`.
See bench/README.md.

Environment (all optional):
  C=64  HC=16  D=10s  ROUNDS=3  WARMUP=1s  OBSERVE=2s  PHASES="keepalive handshake"
  RINGLOAD=build/ringload (relative to the repo root)  VERIFY=1 (0: ringload -k)
  NO_RESUME_ROW=1  SERVER_CPU=0  CLIENT_CPU=1  OUT=directory for raw outputs
  TLS13_SUITES=  e.g. TLS_AES_128_GCM_SHA256 to make nginx pick one suite for both tools
  ECDH_CURVE=  e.g. X25519: the key-exchange groups nginx accepts (ssl_ecdh_curve)
  QUIET=0  e.g. 3: before each run wait until CPU pressure (PSI some avg10) is below 3 %
  QUIET_MAX_WAIT=300  seconds to wait for that at most
Standard library only; every process is started by this script and stopped by its PID.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, NGINX_CONF_HEAD, RINGLOAD, SERVER_CPU, TIME_BIN,  # noqa: E402
                      alternated, cpu_stall_us, die, env, free_port, keep_output, make_certs,
                      make_out_dir, median_row, parse_wrk, run_timed, seconds, server_cpu_s, start_nginx, stop,
                      time_usage, write_summary)

C = int(env("C", "64"))
HC = int(env("HC", "16"))
D = env("D", "10s")
ROUNDS = int(env("ROUNDS", "3"))
WARMUP = env("WARMUP", "1s")
OBSERVE = env("OBSERVE", "2s")
PHASES = env("PHASES", "keepalive handshake").split()
VERIFY = env("VERIFY", "1") != "0"
NO_RESUME_ROW = env("NO_RESUME_ROW", "1") != "0"
TLS13_SUITES = env("TLS13_SUITES", "")
ECDH_CURVE = env("ECDH_CURVE", "")
SLOW_WOLFSSL_NOTICE = "wolfSSL without AES-NI"
NOISY_STALL_PCT = 10.0
QUIET = float(env("QUIET", "0"))
QUIET_MAX_WAIT = float(env("QUIET_MAX_WAIT", "300"))


# ------------------------------------------------------------------------- the server

def run(cmd, cwd=None, timeout=60, stdin=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          input=stdin)


# The measured server logs nothing; the observer (same worker, idle while measuring) logs
# what each client negotiated.
NGINX_CONF = NGINX_CONF_HEAD + """\
    ssl_certificate {tmp}/server.pem;
    ssl_certificate_key {tmp}/server.key;
    ssl_protocols TLSv1.3;
    ssl_session_cache shared:SSL:32m;
    ssl_session_tickets on;
{suites}\
    log_format observe '$ssl_protocol $ssl_cipher $ssl_curve $ssl_session_reused';
    server {{
        listen 127.0.0.1:{port} ssl backlog=4096;
        location / {{ return 200 "hello, world\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{observe_port} ssl backlog=4096;
        access_log {tmp}/observe.log observe;
        location / {{ return 200 "hello, world\\n"; }}
    }}
}}
"""


def start_server(tmp):
    port, observe_port = free_port(), free_port()
    suites = (f"    ssl_prefer_server_ciphers on;\n"
              f"    ssl_conf_command Ciphersuites {TLS13_SUITES};\n" if TLS13_SUITES else "")
    if ECDH_CURVE:
        suites += f"    ssl_ecdh_curve {ECDH_CURVE};\n"
    conf = NGINX_CONF.format(tmp=tmp, port=port, observe_port=observe_port, suites=suites)
    proc = start_nginx(tmp, conf, [port, observe_port])
    SERVER[:] = [proc]
    return proc, port, observe_port


# ----------------------------------------------------------------------- the clients

# tool: "wrk", "ringload", or "ringload-noresume" (ringload with --no-tls-resume).
def client_cmd(tool, phase, url, duration, tmp):
    conns = C if phase == "keepalive" else HC
    if tool == "wrk":
        cmd = ["wrk", "-t1", f"-c{conns}", f"-d{duration}"]
        if phase == "handshake":
            cmd += ["-H", "Connection: close"]
        return cmd + [url]
    cmd = [RINGLOAD, "-t", "1", "-c", str(conns), "-d", duration, "--json", "--quiet"]
    cmd += ["--cacert", os.path.join(tmp, "ca.pem")] if VERIFY else ["--insecure"]
    if phase == "handshake":
        cmd.append("--tls-handshake-each")
    if tool == "ringload-noresume":
        cmd.append("--no-tls-resume")
    return cmd + [url]


def parse_ringload(out):
    try:
        r = json.loads(out)
        tls = r.get("tls") or {}
        return {"requests": r["requests"]["total"], "rps": float(r["throughput"]["rps"]),
                "errors": r["requests"]["failed"] + sum(r["errors"].values()),
                "handshakes": tls.get("handshakes", 0), "resumed": tls.get("resumed", 0),
                "cipher": tls.get("cipher"), "version": tls.get("version"),
                "notices": r.get("notices") or []}
    except (ValueError, KeyError, TypeError):
        return None


def cpu_pressure_avg10():
    try:
        with open("/proc/pressure/cpu") as f:
            return float(re.search(r"some avg10=([\d.]+)", f.read()).group(1))
    except (OSError, AttributeError, ValueError):
        return 0.0


def wait_quiet():
    """With QUIET set, waits (at most QUIET_MAX_WAIT s) until tasks on the machine have
    waited for a CPU less than QUIET % of the last 10 s, so other people's work on a
    shared machine does not land inside a measurement."""
    if QUIET <= 0:
        return
    deadline = time.monotonic() + QUIET_MAX_WAIT
    while cpu_pressure_avg10() >= QUIET and time.monotonic() < deadline:
        time.sleep(2)


def run_client(tool, phase, url, duration, tmp, out_dir, tag):
    wait_quiet()
    time_file = os.path.join(out_dir, f"{tag}.time")
    stall0, t0, server0 = cpu_stall_us(), time.monotonic(), server_cpu_s(SERVER[0])
    p, cmd = run_timed(tool, client_cmd(tool, phase, url, duration, tmp), duration, time_file)
    stall1, wall, server1 = cpu_stall_us(), time.monotonic() - t0, server_cpu_s(SERVER[0])
    keep_output(tool, p, cmd, os.path.join(out_dir, f"{tag}.out"))
    parsed = parse_wrk(p.stdout) if tool == "wrk" else parse_ringload(p.stdout)
    if parsed is None:
        die(f"cannot parse {tool} output (see {out_dir}/{tag}.out)")
    user, sys_s, rss_kb = time_usage(time_file)
    parsed.update(user_s=user, sys_s=sys_s, rss_mb=rss_kb / 1024,
                  cpu_us_per_req=(user + sys_s) * 1e6 / max(parsed["requests"], 1),
                  server_us_per_req=(server1 - server0) * 1e6 / max(parsed["requests"], 1),
                  stall_pct=(100.0 * (stall1 - stall0) / (wall * 1e6)
                             if stall0 is not None and stall1 is not None else -1.0))
    return parsed


SERVER = []  # the nginx process, whose CPU time (with its worker's) is read around each run



# ------------------------------------------------------------- what each tool negotiates

def s_client_cipher(port):
    """What a default OpenSSL 3 client (wrk links libssl) gets from this nginx."""
    try:
        p = run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                 "localhost"], timeout=15, stdin="")
    except subprocess.TimeoutExpired:
        return "s_client timed out"
    m = re.search(r"Cipher is (\S+)", p.stdout)
    v = re.search(r"New, (TLSv[\d.]+)", p.stdout)
    return f"{v.group(1) if v else '?'} {m.group(1) if m else '?'}"


def observe(tool, phase, port, tmp, out_dir):
    """Runs the tool briefly against the logging server: {protocol cipher: n}, resumed %."""
    log = os.path.join(tmp, "observe.log")
    with open(log, "w"):  # nginx appends (O_APPEND): truncating in place is safe
        pass
    run_client(tool, phase, f"https://127.0.0.1:{port}/", OBSERVE, tmp, out_dir,
               f"observe-{phase}-{tool}")
    time.sleep(0.5)  # nginx logs after each response
    counts, reused, total = {}, 0, 0
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4:
                continue
            key = " ".join(parts[:3])
            counts[key] = counts.get(key, 0) + 1
            reused += parts[3] == "r"
            total += 1
    return {"negotiated": counts, "requests": total,
            "resumed_pct": 100.0 * reused / total if total else 0.0}


# ---------------------------------------------------------------------------- report

HEADER = (f"{'tool':<18} {'req/s':>10} {'requests':>10} {'user s':>7} {'sys s':>7} "
          f"{'CPU us/req':>10} {'RSS MB':>7} {'errors':>7} {'srv us/req':>10} {'stall %':>7}")
KEYS = ("rps", "requests", "user_s", "sys_s", "cpu_us_per_req", "rss_mb", "errors",
        "server_us_per_req", "stall_pct")


def row(tool, r):
    return (f"{tool:<18} {r['rps']:>10.0f} {r['requests']:>10} {r['user_s']:>7.2f} "
            f"{r['sys_s']:>7.2f} {r['cpu_us_per_req']:>10.2f} {r['rss_mb']:>7.1f} "
            f"{r['errors']:>7} {r['server_us_per_req']:>10.2f} {r['stall_pct']:>7.1f}")


def summarize(phase, tools, results):
    conns = C if phase == "keepalive" else HC
    print(f"\n== {phase}: medians over {ROUNDS} rounds (c={conns}, d={D})")
    print(HEADER)
    med = {}
    for tool in tools:
        med[tool] = median_row(results[tool], KEYS, ints=("requests", "errors"))
        print(row(tool, med[tool]))
    noisy = sum(r["stall_pct"] > NOISY_STALL_PCT for t in tools for r in results[t])
    if noisy:
        print(f"warning: {noisy} of {len(tools) * ROUNDS} runs had other work waiting for a "
              f"CPU more than {NOISY_STALL_PCT:.0f}% of the time: the machine was shared")
    w = med["wrk"]
    for tool in tools[1:]:
        r = med[tool]
        print(f"{tool}/wrk: req/s x{r['rps'] / w['rps']:.3f}, "
              f"CPU/request x{r['cpu_us_per_req'] / w['cpu_us_per_req']:.3f}, "
              f"RSS x{r['rss_mb'] / w['rss_mb']:.2f}")
    return med


def check_fast_wolfssl(url, tmp, out_dir):
    r = run_client("ringload", "keepalive", url, "1s", tmp, out_dir, "check-wolfssl")
    slow = [n for n in r["notices"] if SLOW_WOLFSSL_NOTICE in n]
    if slow and env("ALLOW_SLOW_WOLFSSL", "0") == "0":
        die(f"{RINGLOAD} uses Debian's wolfSSL without AES-NI ({slow[0]}); run "
            "tools/build_wolfssl.sh and rebuild (ALLOW_SLOW_WOLFSSL=1 to measure it anyway)")
    print(f"ringload links the fast wolfSSL: {not slow} (notices: {r['notices']})")
    return not slow


def main():
    for tool, path in (("time", TIME_BIN), ("ringload", RINGLOAD)):
        if not os.access(path, os.X_OK):
            die(f"{tool} not found at {path}")
    for tool in ("wrk", "nginx", "openssl", "taskset"):
        if not shutil.which(tool) and not os.access(f"/usr/sbin/{tool}", os.X_OK):
            die(f"{tool} missing")
    out_dir = make_out_dir("ringload-bench-https-")
    tmp = tempfile.mkdtemp(prefix="ringload-bench-https-srv-")
    make_certs(tmp)
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, C={C}, HC={HC}, D={D}, "
          f"rounds={ROUNDS}, verify={VERIFY}; raw outputs in {out_dir}")
    summary = {"C": C, "HC": HC, "D": D, "rounds": ROUNDS, "verify": VERIFY,
               "tls13_suites": TLS13_SUITES or None, "ecdh_curve": ECDH_CURVE or None,
               "phases": {}}
    proc = None
    try:
        proc, port, observe_port = start_server(tmp)
        url = f"https://127.0.0.1:{port}/"
        summary["fast_wolfssl"] = check_fast_wolfssl(url, tmp, out_dir)
        summary["openssl_s_client"] = s_client_cipher(port)
        print(f"openssl s_client (default OpenSSL client, as wrk): "
              f"{summary['openssl_s_client']}")
        for phase in PHASES:
            tools = ["wrk", "ringload"]
            if phase == "handshake" and NO_RESUME_ROW:
                tools.append("ringload-noresume")
            negotiated = {t: observe(t, phase, observe_port, tmp, out_dir) for t in tools}
            for t, o in negotiated.items():
                print(f"{phase} {t}: negotiated {o['negotiated']}, "
                      f"{o['resumed_pct']:.1f}% of requests on a resumed session")
            if seconds(WARMUP) > 0:
                for t in tools:
                    run_client(t, phase, url, WARMUP, tmp, out_dir, f"{phase}-warmup-{t}")
            results = {t: [] for t in tools}
            for rnd in range(1, ROUNDS + 1):
                print(f"\n-- {phase} round {rnd} ({url})")
                print(HEADER)
                for t in alternated(tools, rnd):
                    r = run_client(t, phase, url, D, tmp, out_dir, f"{phase}-r{rnd}-{t}")
                    results[t].append(r)
                    print(row(t, r), flush=True)
            summary["phases"][phase] = {"median": summarize(phase, tools, results),
                                        "negotiated": negotiated, "rounds": results}
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    write_summary(out_dir, summary)


if __name__ == "__main__":
    main()
