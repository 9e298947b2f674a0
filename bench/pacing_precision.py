#!/usr/bin/python3
"""How precisely ringload's open loop holds a fixed rate, and what it costs.

ringload-target (--threads 1) runs on CPU 0, ringload (-t 1) on CPU 1, so the client's
shard has a core of its own. For each rate R the script runs ROUNDS times

    taskset -c 1 /usr/bin/time -f "%U %S %M" ringload -t 1 --qps R -d D -c C --json --quiet URL

with the target's counter reset before each run, and prints per round and as medians:
the achieved rate as ringload saw it ((requests.total + in_flight_at_end) / duration_s) and
as the target counted it (/count / duration_s), their error against R, the send lag
(actual send minus intended send) p50/p99/max, the latency (from the intended send)
p50/p99 (and `w1 p99`: the first 1 s window's), open_loop.waited_for_connection and
unsent_at_end, the client's user+sys CPU per request, and how busy each CPU was with
anything else during the run. With RINGLOAD_BEFORE set, each round runs that older binary
too, interleaved (before, then now), for a before/after in the same sitting. See
bench/README.md ("Pacing precision").

Environment (all optional):
  RATES="1000 10000 50000"  D=10s  C=256  ROUNDS=3  EXTRA=""  (e.g. EXTRA=--no-spin)
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  RINGLOAD_BEFORE=PATH (an older binary, run interleaved)  EXTRA_BEFORE (default: EXTRA)
  SERVER_CPU=0  CLIENT_CPU=1  OUT=directory for raw outputs (default: a new temporary one)
Standard library only; every process is started by this script and stopped by its PID.
"""
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, SERVER_CPU, TARGET_BIN, TICK, TIME_BIN,  # noqa: E402
                      die, env, keep_output, make_out_dir, median_row, proc_cpu_ticks, run_timed,
                      start_target, stop, time_usage, write_summary)

RATES = [float(r) for r in env("RATES", "1000 10000 50000").split()]
D = env("D", "10s")
C = int(env("C", "256"))
ROUNDS = int(env("ROUNDS", "3"))
EXTRA = env("EXTRA", "").split()
RINGLOAD_BEFORE = env("RINGLOAD_BEFORE", "")
EXTRA_BEFORE = env("EXTRA_BEFORE", " ".join(EXTRA)).split()


# ------------------------------------------------------------------------ the server

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

def run_once(server, port, rate, out_dir, tag, who="now"):
    target_get(port, "/reset")
    before = [cpu_ticks(SERVER_CPU), cpu_ticks(CLIENT_CPU), proc_cpu_ticks(server.pid)]
    time_file = os.path.join(out_dir, f"{tag}.time")
    binary, extra = (RINGLOAD_BEFORE, EXTRA_BEFORE) if who == "before" else (RINGLOAD, EXTRA)
    cmd = [binary, "-t", "1", "--qps", f"{rate:g}", "-d", D, "-c", str(C), "--json",
           "--quiet"] + extra + [f"http://127.0.0.1:{port}/"]
    p, cmd = run_timed("ringload", cmd, D, time_file)
    keep_output("ringload", p, cmd, os.path.join(out_dir, f"{tag}.json"), with_cmd=False)
    after = [cpu_ticks(SERVER_CPU), cpu_ticks(CLIENT_CPU), proc_cpu_ticks(server.pid)]
    served = settled_count(port)
    try:
        r = json.loads(p.stdout)
        user, sys_s, _rss = time_usage(time_file)
        dur = float(r["duration_s"])
        client_ticks = (user + sys_s) * TICK
        # What else ran on the two CPUs meanwhile (other processes, interrupts), in % of
        # each CPU: the numbers are only worth reading when both are near 0.
        other = []
        for k, ours in ((0, after[2] - before[2]), (1, client_ticks)):
            busy, total = after[k][0] - before[k][0], after[k][1] - before[k][1]
            other.append(max(0.0, (busy - ours) * 100.0 / total) if total else 0.0)
        sent = r["requests"]["total"] + r["requests"]["in_flight_at_end"]
        lag, lat, ol = r["send_lag_us"], r["latency_us"], r["open_loop"]
        w1 = (r.get("timeline") or [{}])[0]
        return {
            "who": who, "rate": rate, "client_rate": sent / dur, "server_rate": served / dur,
            "client_err_pct": (sent / dur - rate) * 100 / rate,
            "server_err_pct": (served / dur - rate) * 100 / rate,
            "lag_p50": lag["p50"], "lag_p99": lag["p99"], "lag_max": lag["max"],
            "lat_p50": lat["p50"], "lat_p99": lat["p99"], "w1_p99": w1.get("p99_us") or 0,
            "waited": ol["waited_for_connection"], "unsent": ol["unsent_at_end"],
            "failed": r["requests"]["failed"],
            "cpu_us_per_req": (user + sys_s) * 1e6 / max(sent, 1),
            "user_s": user, "sys_s": sys_s,
            "other_cpu0_pct": other[0], "other_cpu1_pct": other[1],
        }
    except (ValueError, KeyError, TypeError) as e:
        die(f"cannot read ringload's report or time ({e}); see {out_dir}/{tag}.json")


# ---------------------------------------------------------------------------- report

HEADER = (f"{'who':>6} {'R/s':>7} {'client/s':>10} {'err%':>7} {'server/s':>10} {'err%':>7} "
          f"{'lag p50':>8} {'lag p99':>8} {'lag max':>9} {'lat p50':>8} {'lat p99':>8} {'w1 p99':>8} "
          f"{'waited':>6} {'unsent':>6} {'failed':>6} {'CPU us/req':>10} {'other%':>9}")


def row(r):
    return (f"{r['who']:>6} {r['rate']:>7.0f} {r['client_rate']:>10.1f} {r['client_err_pct']:>+7.3f} "
            f"{r['server_rate']:>10.1f} {r['server_err_pct']:>+7.3f} {r['lag_p50']:>8.1f} "
            f"{r['lag_p99']:>8.1f} {r['lag_max']:>9.1f} {r['lat_p50']:>8.1f} "
            f"{r['lat_p99']:>8.1f} {r['w1_p99']:>8.1f} {r['waited']:>6.0f} {r['unsent']:>6.0f} {r['failed']:>6.0f} "
            f"{r['cpu_us_per_req']:>10.2f} {r['other_cpu0_pct']:>4.0f}/{r['other_cpu1_pct']:<4.0f}")


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    tools = [(RINGLOAD, "RINGLOAD"), (TARGET_BIN, "TARGET_BIN"), (TIME_BIN, "time")]
    whos = ["now"]
    if RINGLOAD_BEFORE:
        tools.append((RINGLOAD_BEFORE, "RINGLOAD_BEFORE"))
        whos = ["before", "now"]
    for path, what in tools:
        if not os.access(path, os.X_OK):
            die(f"{path} not found (set {what}; /usr/bin/time: apt-get install time)")
    if not shutil.which("taskset"):
        die("taskset missing (util-linux)")
    out_dir = make_out_dir("ringload-pacing-")
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
            rounds = {who: [] for who in whos}
            for rnd in range(1, ROUNDS + 1):
                for who in whos:
                    rounds[who].append(run_once(proc, port, rate, out_dir, f"r{rate:g}-{rnd}-{who}", who))
                    print(row(rounds[who][-1]), flush=True)
            all_rounds[f"{rate:g}"] = rounds
            for who in whos:
                numbers = [k for k in rounds[who][0] if k != "who"]
                medians.append(dict(median_row(rounds[who], keys=numbers), who=who))
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n== medians over {ROUNDS} rounds (load average at the end {load()})")
    print(HEADER)
    for m in medians:
        print(row(m))
    write_summary(out_dir, {"C": C, "D": D, "rounds": ROUNDS, "extra": EXTRA,
                            "medians": medians, "rounds_by_rate": all_rounds})


if __name__ == "__main__":
    main()
