#!/usr/bin/python3
"""How precisely ringload's open loop holds a fixed rate, and what it costs.

ringload-target (--threads 1) runs on CPU 0, ringload (-t 1) on CPU 1, so the client's
shard has a core of its own. For each rate R the script runs ROUNDS times

    taskset -c 1 /usr/bin/time -f "%U %S %M" ringload -t 1 --qps R -d D -c C --json --quiet URL

with the target's counter reset before each run, and prints per round and as medians:
the achieved rate as ringload saw it ((requests.total + in_flight_at_end) / duration_s) and
as the target counted it (/count / duration_s), their error against R, the send lag
(actual send minus intended send) p50/p99/max, the latency (from the intended send)
p50/p99, open_loop.waited_for_connection and unsent_at_end, and the client's user+sys CPU
per request, and how busy each CPU was with anything else during the run. See
bench/README.md ("Pacing precision").

Environment (all optional):
  RATES="1000 10000 50000"  D=10s  C=256  ROUNDS=3  EXTRA=""  (e.g. EXTRA=--no-spin)
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  SERVER_CPU=0  CLIENT_CPU=1  OUT=directory for raw outputs (default: a new temporary one)
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
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(name, default):
    return os.environ.get(name, default)


def repo_path(p):
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


RATES = [float(r) for r in env("RATES", "1000 10000 50000").split()]
D = env("D", "10s")
C = int(env("C", "256"))
ROUNDS = int(env("ROUNDS", "3"))
EXTRA = env("EXTRA", "").split()
RINGLOAD = repo_path(env("RINGLOAD", "build/ringload"))
TARGET_BIN = repo_path(env("TARGET_BIN", "build/ringload-target"))
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


# ------------------------------------------------------------------------ the server

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


def start_target(tmp):
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
    return proc, port


def target_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5.0) as r:
        return r.read().decode()


def cpu_ticks(cpu):
    """(busy, total) clock ticks of one CPU since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0] == f"cpu{cpu}":
                v = [int(x) for x in parts[1:]]
                idle = v[3] + (v[4] if len(v) > 4 else 0)
                return sum(v) - idle, sum(v)
    return 0, 0


def proc_ticks(pid):
    """user + system clock ticks of a process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def settled_count(port, timeout=5.0):
    """/count once it stops moving (responses still in flight get counted), bounded."""
    deadline = time.monotonic() + timeout
    last, since = int(target_get(port, "/count")), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < 0.3:
        time.sleep(0.05)
        now = int(target_get(port, "/count"))
        if now != last:
            last, since = now, time.monotonic()
    return last


# ------------------------------------------------------------------------ one run

def run_once(server, port, rate, out_dir, tag):
    target_get(port, "/reset")
    hz = os.sysconf("SC_CLK_TCK")
    before = [cpu_ticks(SERVER_CPU), cpu_ticks(CLIENT_CPU), proc_ticks(server.pid)]
    time_file = os.path.join(out_dir, f"{tag}.time")
    cmd = ["taskset", "-c", CLIENT_CPU, TIME_BIN, "-f", "%U %S %M", "-o", time_file,
           RINGLOAD, "-t", "1", "--qps", f"{rate:g}", "-d", D, "-c", str(C), "--json",
           "--quiet"] + EXTRA + [f"http://127.0.0.1:{port}/"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds(D) + 60)
    except subprocess.TimeoutExpired:
        die(f"ringload did not finish: {' '.join(cmd)}")
    with open(os.path.join(out_dir, f"{tag}.json"), "w") as f:
        f.write(p.stdout + "\n--- stderr ---\n" + p.stderr)
    if p.returncode != 0:
        die(f"ringload exited {p.returncode}: {' '.join(cmd)}\n{p.stderr[-1000:]}")
    after = [cpu_ticks(SERVER_CPU), cpu_ticks(CLIENT_CPU), proc_ticks(server.pid)]
    served = settled_count(port)
    try:
        r = json.loads(p.stdout)
        with open(time_file) as f:
            user, sys_s, _rss = f.read().split()[-3:]
        dur = float(r["duration_s"])
        client_ticks = (float(user) + float(sys_s)) * hz
        # What else ran on the two CPUs meanwhile (other processes, interrupts), in % of
        # each CPU: the numbers are only worth reading when both are near 0.
        other = []
        for k, ours in ((0, after[2] - before[2]), (1, client_ticks)):
            busy, total = after[k][0] - before[k][0], after[k][1] - before[k][1]
            other.append(max(0.0, (busy - ours) * 100.0 / total) if total else 0.0)
        sent = r["requests"]["total"] + r["requests"]["in_flight_at_end"]
        lag, lat, ol = r["send_lag_us"], r["latency_us"], r["open_loop"]
        return {
            "rate": rate, "client_rate": sent / dur, "server_rate": served / dur,
            "client_err_pct": (sent / dur - rate) * 100 / rate,
            "server_err_pct": (served / dur - rate) * 100 / rate,
            "lag_p50": lag["p50"], "lag_p99": lag["p99"], "lag_max": lag["max"],
            "lat_p50": lat["p50"], "lat_p99": lat["p99"],
            "waited": ol["waited_for_connection"], "unsent": ol["unsent_at_end"],
            "failed": r["requests"]["failed"],
            "cpu_us_per_req": (float(user) + float(sys_s)) * 1e6 / max(sent, 1),
            "user_s": float(user), "sys_s": float(sys_s),
            "other_cpu0_pct": other[0], "other_cpu1_pct": other[1],
        }
    except (ValueError, KeyError, TypeError) as e:
        die(f"cannot read ringload's report or time ({e}); see {out_dir}/{tag}.json")


# ---------------------------------------------------------------------------- report

HEADER = (f"{'R/s':>7} {'client/s':>10} {'err%':>7} {'server/s':>10} {'err%':>7} "
          f"{'lag p50':>8} {'lag p99':>8} {'lag max':>9} {'lat p50':>8} {'lat p99':>8} "
          f"{'waited':>6} {'unsent':>6} {'failed':>6} {'CPU us/req':>10} {'other%':>9}")


def row(r):
    return (f"{r['rate']:>7.0f} {r['client_rate']:>10.1f} {r['client_err_pct']:>+7.3f} "
            f"{r['server_rate']:>10.1f} {r['server_err_pct']:>+7.3f} {r['lag_p50']:>8.1f} "
            f"{r['lag_p99']:>8.1f} {r['lag_max']:>9.1f} {r['lat_p50']:>8.1f} "
            f"{r['lat_p99']:>8.1f} {r['waited']:>6.0f} {r['unsent']:>6.0f} {r['failed']:>6.0f} "
            f"{r['cpu_us_per_req']:>10.2f} {r['other_cpu0_pct']:>4.0f}/{r['other_cpu1_pct']:<4.0f}")


def median_row(rounds):
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    for path, what in ((RINGLOAD, "RINGLOAD"), (TARGET_BIN, "TARGET_BIN"), (TIME_BIN, "time")):
        if not os.access(path, os.X_OK):
            die(f"{path} not found (set {what}; /usr/bin/time: apt-get install time)")
    if not shutil.which("taskset"):
        die("taskset missing (util-linux)")
    out_dir = env("OUT", "") or tempfile.mkdtemp(prefix="ringload-pacing-")
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ringload-pacing-srv-")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, C={C}, D={D}, rounds={ROUNDS}, "
          f"extra={EXTRA}; load average {load()}; raw outputs in {out_dir}")
    print("rates in requests/s, lag and latency in us; client = (total + in_flight) / duration, "
          "server = the target's /count / duration;\nother% = CPU time of everything else "
          "on the server's / the client's CPU during the run")
    medians, all_rounds = [], {}
    proc, port = start_target(tmp)
    try:
        for rate in RATES:
            print(f"\n-- R = {rate:g}/s")
            print(HEADER)
            rounds = []
            for rnd in range(1, ROUNDS + 1):
                rounds.append(run_once(proc, port, rate, out_dir, f"r{rate:g}-{rnd}"))
                print(row(rounds[-1]), flush=True)
            all_rounds[f"{rate:g}"] = rounds
            medians.append(median_row(rounds))
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n== medians over {ROUNDS} rounds (load average at the end {load()})")
    print(HEADER)
    for m in medians:
        print(row(m))
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump({"C": C, "D": D, "rounds": ROUNDS, "extra": EXTRA, "medians": medians,
                   "rounds_by_rate": all_rounds}, f, indent=1)
    print(f"\nsummary: {out_dir}/summary.json")


if __name__ == "__main__":
    main()
