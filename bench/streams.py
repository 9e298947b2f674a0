#!/usr/bin/python3
"""ringload's SSE and WebSocket throughput against ringload-target, one core each, with wrk
alongside on the same SSE URLs.

ringload-target (--threads 1) runs on CPU 0, the client on CPU 1. Three modes, each run
ROUNDS times; within a round every mode and, for SSE, both tools run once, the order
reversed every other round so that drift in the machine favours neither:

  sse        long SSE streams, events per second:
               taskset -c 1 ringload -t 1 --sse -c C -d D --json --quiet URL
               taskset -c 1 wrk -t1 -cC -dD -H 'Accept: text/event-stream' URL
             URL = http://127.0.0.1:PORT/sse?n=SSE_EVENTS&size=SSE_SIZE: SSE_EVENTS events of
             SSE_SIZE data bytes sent as fast as the socket takes them, then "data: [DONE]"
             and the last chunk; the connection stays open for the next stream.
  sse-small  the same with n=SSE_SMALL_EVENTS (10): the cost per stream (request, response
             head, chunk framing, the stream's bookkeeping) dominates.
  ws         WebSocket echo messages per second, ringload alone:
               taskset -c 1 ringload -t 1 -c C -d D --loop --json --quiet -f FILE
             FILE has one line {"url":"ws://127.0.0.1:PORT/ws","messages":[...],"expect":N}:
             WS_MESSAGES text messages of WS_SIZE bytes, the session done when all N echoes
             are back; --loop opens the next session until -d ends the run.

Counting: a stream is n + 1 events (the [DONE] event counts, as in ringload's report).
ringload: events/s is sse.events_per_s (events / -d); streams still open when -d ends are in
flight, not counted. wrk reads each chunked response whole without parsing events and
counts completed responses, so its events/s is Requests/sec x (n + 1) (wrk divides by its
own measured run time). ws: ws.messages_per_s, messages received.

Per run: the client's user + system CPU (the child's resource usage, os.wait4) per event
or received message, its peak RSS, the target's CPU per item (/proc/PID/stat around the
run), connections ringload opened, failed streams (ringload: requests.failed and streams
ended by an error; wrk: socket errors and non-2xx answers), and how long runnable tasks
waited for a CPU during the run (/proc/pressure/cpu: more than a few ms means other work
shared the cores). Per round and mode, the ratios ringload/wrk; then the medians per tool
and the medians of the per-round ratios (paired rounds). WebSocket has no peer in Debian
(no WebSocket load tool is packaged): its rows stand alone, with the target's CPU per
message as the reference. Raw outputs and summary.json go to OUT.

Environment (all optional):
  C=64  D=5s  ROUNDS=5  WARMUP=1s  MODES="sse sse-small ws"  TOOLS="ringload wrk"
  SSE_EVENTS=1000  SSE_SMALL_EVENTS=10  SSE_SIZE=64  WS_MESSAGES=100  WS_SIZE=64
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  SERVER_CPU=0  CLIENT_CPU=1  OUT=directory for raw outputs (default: a new temporary one)
Standard library only; every process is started by this script and stopped by its PID.
"""
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# PYTHONSAFEPATH (or -P) leaves the script's directory off sys.path; benchlib.py is there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, SERVER_CPU, alternated, cpu_stall_us, die,  # noqa: E402
                      env, make_out_dir, median_row, parse_wrk, proc_cpu_s, seconds, start_target,
                      stop, write_summary)

C = int(env("C", "64"))
D = env("D", "5s")
ROUNDS = int(env("ROUNDS", "5"))
WARMUP = env("WARMUP", "1s")
MODES = env("MODES", "sse sse-small ws").split()
TOOLS = env("TOOLS", "ringload wrk").split()
SSE_EVENTS = int(env("SSE_EVENTS", "1000"))
SSE_SMALL_EVENTS = int(env("SSE_SMALL_EVENTS", "10"))
SSE_SIZE = int(env("SSE_SIZE", "64"))
WS_MESSAGES = int(env("WS_MESSAGES", "100"))
WS_SIZE = int(env("WS_SIZE", "64"))


# ------------------------------------------------------------------------- the target

def recv_until(sock, buf, pred, what):
    """Reads into `buf` until pred(buf) holds; bounded by the socket's timeout."""
    while not pred(buf):
        chunk = sock.recv(65536)
        if not chunk:
            die(f"target self-check: connection closed before {what}")
        buf += chunk
    return buf


def check_target(port):
    """Both endpoints answer as this benchmark expects, so that a failure later is the
    client's: one short SSE stream and one WebSocket echo over raw sockets."""
    with socket.create_connection(("127.0.0.1", port), timeout=5.0) as s:
        s.sendall(b"GET /sse?n=2&size=3 HTTP/1.1\r\nHost: t\r\n\r\n")
        buf = recv_until(s, bytearray(), lambda b: b.endswith(b"0\r\n\r\n"), "the end of /sse")
        if (not buf.startswith(b"HTTP/1.1 200 ") or b"text/event-stream" not in buf
                or b"data: [DONE]" not in buf):
            die(f"target self-check: unexpected /sse answer {bytes(buf[:300])!r}")
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=5.0) as s:
        mask = os.urandom(4)
        payload = b"x" * WS_SIZE
        head = bytes([0x81]) + (bytes([0x80 | WS_SIZE]) if WS_SIZE < 126 else
                                bytes([0x80 | 126]) + WS_SIZE.to_bytes(2, "big"))
        frame = head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        s.sendall(f"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode() + frame)
        buf = recv_until(s, bytearray(), lambda b: b.endswith(payload), "the /ws echo")
        if not buf.startswith(b"HTTP/1.1 101 "):
            die(f"target self-check: unexpected /ws answer {bytes(buf[:300])!r}")


# ----------------------------------------------------------------------- the clients

def sse_n(mode):
    return SSE_EVENTS if mode == "sse" else SSE_SMALL_EVENTS


def sse_url(mode, port):
    return f"http://127.0.0.1:{port}/sse?n={sse_n(mode)}&size={SSE_SIZE}"


def tools_for(mode):
    return ["ringload"] if mode == "ws" else TOOLS


def write_ws_file(path, port):
    # Numbered so that a mix-up in the echo order would show in an export.
    messages = [(f"{i:04d}" + "m" * WS_SIZE)[:WS_SIZE] for i in range(WS_MESSAGES)]
    with open(path, "w") as f:
        f.write(json.dumps({"url": f"ws://127.0.0.1:{port}/ws", "messages": messages,
                            "expect": WS_MESSAGES}) + "\n")


def client_cmd(mode, tool, port, duration, ws_file):
    if tool == "wrk":
        # The same Accept header ringload sends, so both requests cost the target the same.
        return ["wrk", "-t1", f"-c{C}", f"-d{duration}", "-H", "Accept: text/event-stream",
                sse_url(mode, port)]
    base = [RINGLOAD, "-t", "1", "-c", str(C), "-d", duration, "--json", "--quiet"]
    if mode == "ws":
        return base + ["--loop", "-f", ws_file]
    return base + ["--sse", sse_url(mode, port)]


def run_child(cmd, out_path, timeout):
    """Runs cmd to completion (bounded); returns (exit code, stdout, stderr, rusage)."""
    with open(out_path + ".stdout", "w") as out, open(out_path + ".stderr", "w") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        status = usage = None
        while time.monotonic() < deadline:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            time.sleep(0.02)
        else:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            die(f"client did not finish in {timeout:.0f} s: {' '.join(cmd)}")
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    with open(out_path + ".stdout") as f:
        stdout = f.read()
    with open(out_path + ".stderr") as f:
        stderr = f.read()
    return proc.returncode, stdout, stderr, usage


def wrk_figures(mode, stdout, out_path):
    """wrk counts whole responses; each one carried n + 1 events."""
    w = parse_wrk(stdout)
    if w is None:
        die(f"cannot parse wrk's output (see {out_path}.stdout)")
    per = sse_n(mode) + 1
    return {"count": w["requests"] * per, "rate": w["rps"] * per, "sessions": w["requests"],
            "failed": w["errors"], "conns": None}


def ringload_figures(mode, report, out_path):
    """The count and rate a mode is measured by, from the report's stream block."""
    block_name = "ws" if mode == "ws" else "sse"
    block = report.get(block_name)
    if not isinstance(block, dict):
        die(f"the report has no {block_name!r} block: this ringload has no "
            f"{block_name.upper()} support, or the run had no streams (see {out_path}.stdout)")
    keys = (("messages_received", "messages_per_s", "sessions") if mode == "ws"
            else ("events", "events_per_s", "streams"))
    missing = [k for k in keys if not isinstance(block.get(k), (int, float))]
    if missing:
        die(f"the report's {block_name!r} block lacks {missing} (see {out_path}.stdout)")
    count, rate, sessions = (block[k] for k in keys)
    ended = block.get("ended_by") or {}
    if mode != "ws":
        check_events_per_stream(mode, count, ended, out_path)
    requests = report.get("requests") or {}
    rtt = block.get("rtt_us") or {}
    return {"count": count, "rate": float(rate), "sessions": sessions,
            "rtt_p50_us": rtt.get("p50"), "rtt_p99_us": rtt.get("p99"),
            "failed": requests.get("failed", 0) + ended.get("error", 0),
            "conns": report.get("connections_opened"),
            "in_flight": requests.get("in_flight_at_end", 0),
            "run_end": ended.get("run_end", 0)}


def check_events_per_stream(mode, events, ended, out_path):
    """wrk's events are responses x (n + 1): says so if ringload's own count disagrees."""
    per = sse_n(mode) + 1
    complete = ended.get("server", 0) * per
    if not complete <= events <= complete + ended.get("run_end", 0) * per:
        print(f"   warning: {events} events from {ended} is not {per} per stream "
              f"(see {out_path}.stdout)", flush=True)


def run_once(mode, tool, port, target_pid, duration, out_dir, tag, ws_file):
    cmd = ["taskset", "-c", CLIENT_CPU] + client_cmd(mode, tool, port, duration, ws_file)
    out_path = os.path.join(out_dir, tag)
    srv0, stall0 = proc_cpu_s(target_pid), cpu_stall_us()
    rc, stdout, stderr, usage = run_child(cmd, out_path, seconds(duration) + 60)
    srv_s = proc_cpu_s(target_pid) - srv0
    stall1 = cpu_stall_us()
    if rc != 0:
        die(f"{tool} exited {rc}: {' '.join(cmd)}\n{stderr[-1000:]}")
    if tool == "wrk":
        r = wrk_figures(mode, stdout, out_path)
    else:
        try:
            report = json.loads(stdout)
        except ValueError:
            die(f"ringload printed no JSON report (see {out_path}.stdout)")
        r = ringload_figures(mode, report, out_path)
    per = max(r["count"], 1)
    r.update(user_s=usage.ru_utime, sys_s=usage.ru_stime,
             cpu_us=(usage.ru_utime + usage.ru_stime) * 1e6 / per,
             rss_mb=usage.ru_maxrss / 1024, server_cpu_us=srv_s * 1e6 / per,
             stall_ms=(stall1 - stall0) / 1000 if None not in (stall0, stall1) else -1.0)
    return r


# ---------------------------------------------------------------------------- report

HEADER = (f"{'mode':<9} {'tool':<8} {'per s':>10} {'count':>10} {'streams':>8} {'conns':>6} "
          f"{'user s':>6} {'sys s':>6} {'client us/1':>11} {'server us/1':>11} {'RSS MB':>6} "
          f"{'failed':>6} {'stall ms':>8}")
NUMERIC = ("rate", "count", "sessions", "failed", "user_s", "sys_s", "cpu_us", "server_cpu_us",
           "rss_mb", "stall_ms")
RATIOS = (("rate", "per s"), ("cpu_us", "client CPU/1"), ("server_cpu_us", "server CPU/1"))


def row(mode, tool, r):
    conns = "-" if r.get("conns") is None else f"{r['conns']:.0f}"
    return (f"{mode:<9} {tool:<8} {r['rate']:>10.0f} {r['count']:>10.0f} {r['sessions']:>8.0f} "
            f"{conns:>6} {r['user_s']:>6.2f} {r['sys_s']:>6.2f} {r['cpu_us']:>11.4f} "
            f"{r['server_cpu_us']:>11.4f} {r['rss_mb']:>6.1f} {r['failed']:>6.0f} "
            f"{r['stall_ms']:>8.1f}")


def ratios(ring, peer):
    return {k: ring[k] / peer[k] if peer[k] else float("nan") for k, _ in RATIOS}


def ratio_line(mode, q):
    return f"{mode:<9} ringload/wrk: " + ", ".join(f"{name} x{q[k]:.3f}" for k, name in RATIOS)


def paired(mode):
    return mode != "ws" and "ringload" in TOOLS and "wrk" in TOOLS


def run_round(rnd, port, target_pid, out_dir, ws_file, results, round_ratios):
    # Reversed every other round, the modes and the tools within a mode alike.
    print(f"\n-- round {rnd}")
    print(HEADER)
    for mode in alternated(MODES, rnd):
        this = {}
        for tool in alternated(tools_for(mode), rnd):
            r = run_once(mode, tool, port, target_pid, D, out_dir, f"r{rnd}-{mode}-{tool}",
                         ws_file)
            results[mode][tool].append(r)
            this[tool] = r
            print(row(mode, tool, r), flush=True)
            if mode == "ws":
                print(f"{'':<9} echo round trip p50 {r['rtt_p50_us']:.0f} us, p99 "
                      f"{r['rtt_p99_us']:.0f} us (ws.rtt_us)", flush=True)
        if paired(mode):
            round_ratios[mode].append(ratios(this["ringload"], this["wrk"]))
            print(ratio_line(mode, round_ratios[mode][-1]), flush=True)
        elif mode == "ws":
            print(f"{'ws':<9} (no peer: no WebSocket load tool in Debian 12)", flush=True)


def summarize(results, round_ratios):
    print(f"\n== medians over {ROUNDS} rounds (C={C}, D={D})")
    print(HEADER)
    medians, ratio_medians = {}, {}
    for mode in MODES:
        medians[mode] = {}
        for tool in tools_for(mode):
            rs = results[mode][tool]
            medians[mode][tool] = median_row(rs, NUMERIC)
            medians[mode][tool]["conns"] = (None if rs[0]["conns"] is None
                                            else statistics.median(r["conns"] for r in rs))
            if mode == "ws":
                for k in ("rtt_p50_us", "rtt_p99_us"):
                    medians[mode][tool][k] = statistics.median(r[k] for r in rs)
            print(row(mode, tool, medians[mode][tool]))
            if mode == "ws":
                print(f"{'':<9} echo round trip p50 {medians[mode][tool]['rtt_p50_us']:.0f} us, "
                      f"p99 {medians[mode][tool]['rtt_p99_us']:.0f} us (medians)")
            bad = sum(r["failed"] for r in rs)
            if bad:
                print(f"   {mode} {tool}: {bad} failed streams/sessions over all rounds "
                      f"(see the raw outputs)")
    print("\nmedians of the per-round ratios ringload/wrk (range over the rounds)")
    for mode in MODES:
        if not paired(mode):
            print(f"{mode:<9} no peer: ringload alone")
            continue
        qs = round_ratios[mode]
        ratio_medians[mode] = {k: statistics.median(q[k] for q in qs) for k, _ in RATIOS}
        print(f"{mode:<9} " + ", ".join(
            f"{name} x{ratio_medians[mode][k]:.3f} ({min(q[k] for q in qs):.2f}"
            f"..{max(q[k] for q in qs):.2f})" for k, name in RATIOS))
    return medians, ratio_medians


def check_setup():
    if "ringload" not in TOOLS or not os.access(RINGLOAD, os.X_OK):
        die(f"ringload not found at {RINGLOAD} (set RINGLOAD; TOOLS must include ringload)")
    if "wrk" in TOOLS and not shutil.which("wrk"):
        die("wrk missing: apt-get install wrk (or TOOLS=ringload)")
    if "wrk" in TOOLS and any(not re.fullmatch(r"\d+[sm]?", d) for d in (D, WARMUP)):
        die(f"wrk takes whole seconds or minutes: D={D} WARMUP={WARMUP}")
    if not MODES or [m for m in MODES if m not in ("sse", "sse-small", "ws")]:
        die(f"MODES must be a subset of 'sse sse-small ws', got {MODES}")
    if [t for t in TOOLS if t not in ("ringload", "wrk")]:
        die(f"TOOLS must be a subset of 'ringload wrk', got {TOOLS}")
    if (not 1 <= WS_SIZE < 65536 or min(SSE_EVENTS, SSE_SMALL_EVENTS, WS_MESSAGES) < 1
            or ROUNDS < 1):
        die("WS_SIZE must be 1 to 65535; SSE_EVENTS, SSE_SMALL_EVENTS, WS_MESSAGES and "
            "ROUNDS at least 1")


def main():
    check_setup()
    out_dir = make_out_dir("ringload-bench-streams-")
    tmp = tempfile.mkdtemp(prefix="ringload-bench-srv-")
    ws_file = os.path.join(out_dir, "ws_requests.jsonl")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, C={C}, D={D}, rounds={ROUNDS}, "
          f"modes={MODES}, tools={TOOLS}; sse: {SSE_EVENTS} events x {SSE_SIZE} B per stream, "
          f"sse-small: {SSE_SMALL_EVENTS}, both + [DONE]; ws: {WS_MESSAGES} messages x "
          f"{WS_SIZE} B per session; raw outputs in {out_dir}")
    print("us/1: CPU microseconds per SSE event (the [DONE] one included) or per WebSocket "
          "message received (an echo); wrk's events = its complete responses x (n + 1)")
    proc, port = start_target(tmp)
    results = {m: {t: [] for t in tools_for(m)} for m in MODES}
    round_ratios = {m: [] for m in MODES}
    try:
        check_target(port)
        write_ws_file(ws_file, port)
        if seconds(WARMUP) > 0:
            for mode in MODES:
                for tool in tools_for(mode):
                    run_once(mode, tool, port, proc.pid, WARMUP, out_dir,
                             f"warmup-{mode}-{tool}", ws_file)
        for rnd in range(1, ROUNDS + 1):
            run_round(rnd, port, proc.pid, out_dir, ws_file, results, round_ratios)
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    medians, ratio_medians = summarize(results, round_ratios)
    write_summary(out_dir, {"C": C, "D": D, "rounds": ROUNDS, "tools": TOOLS,
                            "sse_events": SSE_EVENTS, "sse_small_events": SSE_SMALL_EVENTS,
                            "sse_size": SSE_SIZE, "ws_messages": WS_MESSAGES, "ws_size": WS_SIZE,
                            "median": medians, "median_ratio_ringload_wrk": ratio_medians,
                            "round_ratios": round_ratios, "rounds_raw": results})


if __name__ == "__main__":
    main()
