#!/usr/bin/python3
"""Soak test: ringload on a mixed request file for a long run (default 10 minutes), its
memory and file descriptors sampled every second, its export checked line by line.

ringload-target (--threads 1) runs on SERVER_CPU, ringload (-t 1) on CLIENT_CPU:

    taskset -c CLIENT_CPU ringload -t 1 -c C -d DURATION --loop -f soak.jsonl --quiet
        --export OUT/export.jsonl --export-max-body MAXBODY -o OUT/report.json [--qps R --no-spin]

soak.jsonl mixes every kind of line (see request_lines()): HTTP GET and POST with bodies of
several sizes each way (/bytes/N, /chunked, /echo, plain POSTs up to 64 KiB), SSE streams
(fast, paced, large events, cut short by max_events, POST) and WebSocket sessions (echo,
text + binary + a fragmented 40 KB message, paced with repeat, ended by stream_timeout and
by until). Each line has a name, so the report's by_name and the export can be compared
line kind by line kind.

While ringload runs, every second: VmRSS (/proc/PID/status) and the open descriptors
(/proc/PID/fd: sockets and the rest). At the end it prints the samples, RSS at the end of the
warm-up (60 s) and at the end of the run, the least-squares slope of RSS after the warm-up in
KiB per minute, the descriptors after the warm-up, the report's figures and the export's,
and these checks (exit status 1 if one fails):

  rss-flat     |slope| x 10 min < MAX_SLOPE_PCT (1) % of the mean RSS after the warm-up
  fd-bounded   after the warm-up: the non-socket descriptors never change, and the sockets
               never exceed C x origins (http:// and ws:// are two), so none is leaked
  export-parse every exported line is whole (ends with a newline) and parses as JSON, and
               line i has seq i
  export-total exported lines == requests.total == export.lines of the report
  export-names per line name: exported lines == by_name[name].requests

Flags: --duration S (600), --warmup S (60, or a third of shorter runs), -c C (16),
--kinds http,sse,ws (a subset of the mix, to tell which kind of line leaks), --qps R (0:
closed loop; else open loop at R requests per second), --export-max-body SIZE (4KiB: keeps
the file about 2 GB per 10 minutes), --max-slope-pct P (1), --keep-export (else the export
file is deleted once checked).
Environment, as for the other scripts: RINGLOAD, TARGET_BIN, SERVER_CPU, CLIENT_CPU, OUT.
Standard library only; every process is started by this script and stopped by its PID.
"""
import argparse
import base64
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, SERVER_CPU, cpu_stall_us, die,  # noqa: E402
                      make_out_dir, proc_cpu_s, proc_fds, proc_rss_kib, start_target, stop,
                      write_summary)

def request_lines(port):
    """The soak mix: one line of each kind, in this order on every pass."""
    http = f"http://127.0.0.1:{port}"
    ws = f"ws://127.0.0.1:{port}/ws"
    rnd = random.Random(14)

    def blob(n):
        return base64.b64encode(bytes(rnd.randrange(256) for _ in range(n))).decode()

    return [
        # HTTP: response bodies of 13 B to 256 KiB, fixed-length and chunked.
        {"name": "get-13", "url": f"{http}/"},
        {"name": "get-1k", "url": f"{http}/bytes/1024"},
        {"name": "get-16k", "url": f"{http}/bytes/16384"},
        {"name": "get-256k", "url": f"{http}/bytes/262144"},
        {"name": "get-chunked", "url": f"{http}/chunked?n=16&size=1000"},
        {"name": "get-status", "url": f"{http}/status/204"},
        # HTTP: request bodies of 100 B to 64 KiB, text, JSON and binary; /echo returns them.
        {"name": "post-echo-100", "url": f"{http}/echo", "body": "e" * 100},
        {"name": "post-echo-json", "url": f"{http}/echo",
         "body": {"soak": True, "items": list(range(50)), "text": "j" * 500}},
        {"name": "post-echo-bin", "url": f"{http}/echo", "body_base64": blob(512)},
        {"name": "post-4k", "url": f"{http}/", "body": "p" * 4096,
         "headers": {"Content-Type": "text/plain"}},
        {"name": "put-64k", "method": "PUT", "url": f"{http}/", "body": "q" * 65536,
         "headers": [["X-Soak", "1"], ["X-Soak", "2"]]},
        # SSE: fast, paced (0.1 s), large events, cut short by the client, POST.
        {"name": "sse-fast", "proto": "sse", "url": f"{http}/sse?n=20&size=32"},
        {"name": "sse-paced", "proto": "sse", "url": f"{http}/sse?n=50&size=256&interval_us=2000"},
        {"name": "sse-big", "proto": "sse", "url": f"{http}/sse?n=4&size=65536&interval_us=10000"},
        {"name": "sse-max-events", "proto": "sse", "max_events": 25,
         "url": f"{http}/sse?n=1000&size=64&interval_us=200"},
        {"name": "sse-post", "proto": "sse", "method": "POST", "body": {"q": "soak"},
         "url": f"{http}/sse?n=5&size=16"},
        # WebSocket: echo, text + binary + a 40 KB (fragmented) message, paced with repeat,
        # ended by stream_timeout, ended by until.
        {"name": "ws-echo", "url": ws, "messages": ["hello", "world"]},
        {"name": "ws-mixed", "url": ws,
         "messages": ["t" * 1000, {"binary_base64": blob(4096)}, {"text": "u" * 40000}]},
        {"name": "ws-paced", "url": ws, "messages": ["tick"], "interval": 0.01, "repeat": 10},
        {"name": "ws-stream-timeout", "url": ws, "messages": ["a"], "interval": 0.02,
         "repeat": 0, "stream_timeout": 0.15},
        {"name": "ws-until", "url": ws, "messages": ["x", "y", "stop"], "until": "stop"},
    ]


def kind_of(line):
    if line.get("proto") == "sse":
        return "sse"
    return "ws" if line["url"].startswith("ws") else "http"


# ---------------------------------------------------------------------------- sampling

def sample_run(proc):
    """One sample a second while proc runs: (t s, RSS KiB, sockets, other fds)."""
    samples = []
    t0 = time.monotonic()
    k = 1
    while proc.poll() is None:
        delay = t0 + k - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        k += 1
        t = time.monotonic() - t0
        rss, fds = proc_rss_kib(proc.pid), proc_fds(proc.pid)
        if rss is None or fds is None or proc.poll() is not None:
            break
        samples.append((t, rss, fds[0], fds[1]))
        if k % 60 == 0:
            print(f"  t={t:5.0f} s  RSS {rss} KiB  fds {fds[0]} sockets + {fds[1]} other",
                  flush=True)
    return samples


# ---------------------------------------------------------------------------- export

def check_export(path):
    """Whole lines, each parsing as JSON, seq i on line i: (lines, by name, by kind of
    ending, problems)."""
    lines, problems = 0, []
    names, errors = {}, {}
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                problems.append(f"line {lines + 1} is not whole ({len(raw)} bytes, no newline)")
                break
            try:
                obj = json.loads(raw)
            except ValueError as e:
                problems.append(f"line {lines + 1} does not parse: {e}")
                lines += 1
                continue
            if obj.get("seq") != lines and len(problems) < 10:
                problems.append(f"line {lines + 1} has seq {obj.get('seq')}, not {lines}")
            names[obj.get("name")] = names.get(obj.get("name"), 0) + 1
            if obj.get("error"):
                kind = obj["error"].get("kind")
                errors[kind] = errors.get(kind, 0) + 1
            lines += 1
    return lines, names, errors, problems


# ---------------------------------------------------------------------------- report

def nearest(samples, t):
    return min(samples, key=lambda s: abs(s[0] - t))


def summarize(samples, duration, warmup, max_slope_pct, connections, origins):
    """Prints the memory and descriptor figures; returns (figures, checks)."""
    running = [s for s in samples if s[0] <= duration + 0.5]
    after = [s for s in running if s[0] >= warmup]
    if len(after) < 3:
        die(f"only {len(after)} samples after the {warmup:.0f} s warm-up: run longer")
    rss_all = [s[1] for s in samples]
    print(f"\n== samples: {len(samples)} ({len(running)} while the run lasted, {len(after)} "
          f"after the {warmup:.0f} s warm-up)")
    print(f"RSS KiB: first {samples[0][1]} (t={samples[0][0]:.0f} s), min {min(rss_all)}, "
          f"max {max(rss_all)}, last {samples[-1][1]} (t={samples[-1][0]:.0f} s)")
    at_warmup, at_end = nearest(running, warmup), running[-1]
    fit = statistics.linear_regression([s[0] / 60 for s in after], [s[1] for s in after])
    mean_rss = statistics.fmean(s[1] for s in after)
    limit = max_slope_pct / 100 * mean_rss / 10  # KiB per minute
    flat = abs(fit.slope) < limit
    print(f"RSS at {at_warmup[0]:.0f} s: {at_warmup[1]} KiB; at the end ({at_end[0]:.0f} s): "
          f"{at_end[1]} KiB ({at_end[1] - at_warmup[1]:+d} KiB)")
    print(f"RSS slope after {warmup:.0f} s (least squares over {len(after)} samples): "
          f"{fit.slope:+.2f} KiB/min = {fit.slope * 10:+.1f} KiB per 10 min; threshold "
          f"|slope| < {max_slope_pct:g} % of the mean RSS ({mean_rss:.0f} KiB) per 10 min = "
          f"{limit:.2f} KiB/min: {'FLAT' if flat else 'GROWING' if fit.slope > 0 else 'SHRINKING'}")
    socks = [s[2] for s in after]
    other = [s[3] for s in after]
    total = [s[2] + s[3] for s in after]
    fd_fit = statistics.linear_regression([s[0] / 60 for s in after], total)
    sock_limit = connections * origins
    fd_ok = min(other) == max(other) and max(socks) <= sock_limit
    print(f"fds after {warmup:.0f} s: total min {min(total)} max {max(total)} (slope "
          f"{fd_fit.slope:+.3f}/min); sockets min {min(socks)} max {max(socks)} (limit "
          f"{sock_limit} = -c {connections} x {origins} origins); other min {min(other)} max "
          f"{max(other)} (must not change)")
    figures = {"samples": len(samples), "warmup_s": warmup,
               "rss_kib_at_warmup": at_warmup[1], "rss_kib_at_end": at_end[1],
               "rss_kib_min": min(rss_all), "rss_kib_max": max(rss_all),
               "rss_slope_kib_per_min": fit.slope, "rss_slope_limit_kib_per_min": limit,
               "fd_total_min": min(total), "fd_total_max": max(total),
               "fd_sockets_max": max(socks), "fd_other_min": min(other),
               "fd_other_max": max(other), "fd_slope_per_min": fd_fit.slope}
    checks = {"rss-flat": flat, "fd-bounded": fd_ok}
    return figures, checks


def print_report(report):
    req = report["requests"]
    print(f"\n== report: requests.total {req['total']} (succeeded {req['succeeded']}, failed "
          f"{req['failed']}, in flight at end {req['in_flight_at_end']}), "
          f"{report['throughput']['rps']:.0f} req/s over {report['duration_s']:.0f} s, "
          f"connections opened {report.get('connections_opened')}")
    errs = {k: v for k, v in (report.get("errors") or {}).items() if v}
    if errs:
        print(f"errors: {errs}; first: {report.get('first_errors')}")
    print(f"status codes: {report.get('status_codes')}")
    sse, ws = report.get("sse") or {}, report.get("ws") or {}
    if sse:
        print(f"sse: {sse.get('streams')} streams, {sse.get('events')} events, ended by "
              f"{ {k: v for k, v in sse.get('ended_by', {}).items() if v} }")
    if ws:
        print(f"ws: {ws.get('sessions')} sessions, {ws.get('messages_sent')} messages sent, "
              f"{ws.get('messages_received')} received, ended by "
              f"{ {k: v for k, v in ws.get('ended_by', {}).items() if v} }, close codes "
              f"{ws.get('close_codes')}")
    exp = report.get("export") or {}
    print(f"export: {exp.get('lines')} lines, {exp.get('waits')} waits")


def compare_names(report, names, kinds):
    """export-names: exported lines per name against by_name."""
    by_name = {r["name"]: r["requests"] for r in report.get("by_name") or []}
    print(f"\n{'name':<20} {'kind':<5} {'report':>9} {'exported':>9}")
    ok = True
    for name in sorted(set(by_name) | set(names), key=lambda n: (kinds.get(n, "?"), str(n))):
        r, e = by_name.get(name, 0), names.get(name, 0)
        ok &= r == e
        print(f"{str(name):<20} {kinds.get(name, '?'):<5} {r:>9} {e:>9}"
              f"{'' if r == e else '   MISMATCH'}")
    return ok


# ---------------------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=600, help="seconds (default 600)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds left out of the slope (default 60, a third of runs under 180 s)")
    ap.add_argument("-c", "--connections", type=int, default=16)
    ap.add_argument("--qps", type=float, default=0, help="open loop at this rate (0: closed)")
    ap.add_argument("--export-max-body", default="4KiB")
    ap.add_argument("--max-slope-pct", type=float, default=1.0)
    ap.add_argument("--keep-export", action="store_true")
    ap.add_argument("--kinds", default="http,sse,ws",
                    help="which lines of the mix: http, sse, ws (to tell a leak's kind apart)")
    a = ap.parse_args()
    if a.warmup is None:
        a.warmup = 60.0 if a.duration >= 180 else a.duration / 3
    if not 0 <= a.warmup < a.duration or a.duration < 3:
        die("--warmup must be shorter than --duration (at least 3 s)")
    a.kinds = a.kinds.split(",")
    if not a.kinds or set(a.kinds) - {"http", "sse", "ws"}:
        die(f"--kinds takes http, sse, ws separated by commas, got {a.kinds}")
    return a


def main():
    a = parse_args()
    if not os.access(RINGLOAD, os.X_OK):
        die(f"ringload not found at {RINGLOAD} (set RINGLOAD)")
    out_dir = make_out_dir("ringload-soak-")
    tmp = tempfile.mkdtemp(prefix="ringload-soak-srv-")
    req_file, export = os.path.join(out_dir, "soak.jsonl"), os.path.join(out_dir, "export.jsonl")
    report_file = os.path.join(out_dir, "report.json")
    with open("/proc/loadavg") as f:
        load0 = f.read().split()[:3]
    print(f"soak: {a.duration:.0f} s, server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, "
          f"-c {a.connections}, {'closed loop' if not a.qps else f'--qps {a.qps:g}'}, "
          f"lines {'+'.join(a.kinds)}; "
          f"load average at start {' '.join(load0)}; outputs in {out_dir}")
    target = None
    try:
        target, port = start_target(tmp)
        lines = [ln for ln in request_lines(port) if kind_of(ln) in a.kinds]
        kinds = {ln["name"]: kind_of(ln) for ln in lines}
        # http://127.0.0.1:PORT and ws://127.0.0.1:PORT are two origins, a pool of -c each.
        origins = len({ln["url"].split(":")[0] for ln in lines})
        with open(req_file, "w") as f:
            f.writelines(json.dumps(ln) + "\n" for ln in lines)
        cmd = ["taskset", "-c", CLIENT_CPU, RINGLOAD, "-t", "1", "-c", str(a.connections),
               "-d", f"{a.duration:g}s", "--loop", "-f", req_file, "--quiet",
               "--export", export, "--export-max-body", a.export_max_body, "-o", report_file]
        if a.qps:
            cmd += ["--qps", f"{a.qps:g}", "--no-spin"]
        print(" ".join(cmd), flush=True)
        stall0, srv0, srv_rss0 = cpu_stall_us(), proc_cpu_s(target.pid), proc_rss_kib(target.pid)
        with open(os.path.join(out_dir, "ringload.stdout"), "w") as out, \
                open(os.path.join(out_dir, "ringload.stderr"), "w") as err:
            # taskset execs ringload: the PID is ringload's own, for /proc/PID.
            proc = subprocess.Popen(cmd, stdout=out, stderr=err)
            try:
                samples = sample_run(proc)
                rc = proc.wait(timeout=120)
            finally:
                stop(proc)
        stall1, srv1, srv_rss1 = cpu_stall_us(), proc_cpu_s(target.pid), proc_rss_kib(target.pid)
    finally:
        stop(target)
        shutil.rmtree(tmp, ignore_errors=True)
    with open("/proc/loadavg") as f:
        load1 = f.read().split()[:3]
    if rc != 0:
        with open(os.path.join(out_dir, "ringload.stderr")) as f:
            die(f"ringload exited {rc}: {f.read()[-1000:]}")
    with open(os.path.join(out_dir, "samples.csv"), "w") as f:
        f.write("t_s,rss_kib,sockets,other_fds\n")
        f.writelines(f"{t:.2f},{r},{s},{o}\n" for t, r, s, o in samples)
    stall = ((stall1 - stall0) / 1e6 / a.duration * 100
             if None not in (stall0, stall1) else float("nan"))
    print(f"machine: load average {' '.join(load0)} at the start, {' '.join(load1)} at the end; "
          f"some task waited for a CPU {stall:.1f} % of the run (PSI); target used "
          f"{srv1 - srv0:.0f} CPU s, RSS {srv_rss0} -> {srv_rss1} KiB")

    figures, checks = summarize(samples, a.duration, a.warmup, a.max_slope_pct, a.connections,
                                origins)
    try:
        with open(report_file) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        die(f"cannot read the JSON report {report_file}: {e}")
    print_report(report)
    size = os.path.getsize(export)
    t = time.monotonic()
    n, names, errors, problems = check_export(export)
    print(f"\n== export: {n} whole lines, {size / 1e6:.0f} MB, checked in "
          f"{time.monotonic() - t:.0f} s; error kinds {errors or 'none'}")
    for p in problems[:10]:
        print(f"  {p}")
    total = report["requests"]["total"]
    checks["export-parse"] = not problems
    checks["export-total"] = n == total == (report.get("export") or {}).get("lines")
    print(f"exported lines {n}, requests.total {total}, report export.lines "
          f"{(report.get('export') or {}).get('lines')}")
    checks["export-names"] = compare_names(report, names, kinds)
    if not a.keep_export:
        os.unlink(export)

    print("\n== checks")
    for name, ok in checks.items():
        print(f"  {name:<13} {'ok' if ok else 'FAILED'}")
    write_summary(out_dir, {"duration_s": a.duration, "connections": a.connections,
                            "qps": a.qps, "load_start": load0, "load_end": load1,
                            "cpu_stall_pct": stall, "figures": figures,
                            "requests_total": total, "failed": report["requests"]["failed"],
                            "exported_lines": n, "export_bytes": size,
                            "export_by_name": names, "checks": checks})
    if not all(checks.values()):
        print("FAILED: " + ", ".join(k for k, ok in checks.items() if not ok))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
