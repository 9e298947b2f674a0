#!/usr/bin/python3
"""ringload's SSE and WebSocket throughput against ringload-target, one core each.

ringload-target (--threads 1) runs on CPU 0, ringload (-t 1) on CPU 1. Two modes, run
ROUNDS times each, interleaved (the order alternates every round so that drift in the
machine favours neither):

  sse  SSE events per second:
         taskset -c 1 ringload -t 1 --sse -c C -d D --json --quiet \\
             'http://127.0.0.1:PORT/sse?n=SSE_EVENTS&size=SSE_SIZE'
       Each stream is SSE_EVENTS events of SSE_SIZE data bytes sent as fast as the socket
       takes them, then "data: [DONE]"; the server ends it and ringload opens the next.
       Figures from the report's "sse" block: events/s (sse.events_per_s), events, streams.

  ws   WebSocket echo messages per second:
         taskset -c 1 ringload -t 1 -c C -d D --loop --json --quiet -f FILE
       FILE has one line {"url":"ws://127.0.0.1:PORT/ws","messages":[...],"expect":N}:
       WS_MESSAGES text messages of WS_SIZE bytes, the session done when all N echoes are
       back; --loop opens the next session until -d ends the run. Figures from the report's
       "ws" block: messages/s (ws.messages_per_s), messages received, sessions.

Per run it also reports the client's user + system CPU (from the child's resource usage,
os.wait4) per event or per received message, its peak RSS, the target's CPU per event or
message (/proc/PID/stat around the run), failed requests (streams / sessions), and how
long runnable tasks waited for a CPU during the run (/proc/pressure/cpu: more than a few ms
means other work shared the cores and the run measured a busy machine). Then the medians.
A report without its "sse" / "ws" block is an error: the run had no streams, or this
ringload has no stream support. Raw outputs and summary.json go to OUT.

There is no comparable peer tool in Debian to run alongside; the target's own CPU per
event / message is printed instead, as the server-side reference.

Environment (all optional):
  C=64  D=5s  ROUNDS=3  WARMUP=1s  MODES="sse ws"
  SSE_EVENTS=1000  SSE_SIZE=64  WS_MESSAGES=100  WS_SIZE=64
  RINGLOAD=build/ringload  TARGET_BIN=build/ringload-target  (relative to the repo root)
  SERVER_CPU=0  CLIENT_CPU=1  OUT=directory for raw outputs (default: a new temporary one)
Standard library only; every process is started by this script and stopped by its PID.
"""
import base64
import json
import os
import re
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
D = env("D", "5s")
ROUNDS = int(env("ROUNDS", "3"))
WARMUP = env("WARMUP", "1s")
MODES = env("MODES", "sse ws").split()
SSE_EVENTS = int(env("SSE_EVENTS", "1000"))
SSE_SIZE = int(env("SSE_SIZE", "64"))
WS_MESSAGES = int(env("WS_MESSAGES", "100"))
WS_SIZE = int(env("WS_SIZE", "64"))
RINGLOAD = repo_path(env("RINGLOAD", "build/ringload"))
TARGET_BIN = repo_path(env("TARGET_BIN", "build/ringload-target"))
SERVER_CPU = env("SERVER_CPU", "0")
CLIENT_CPU = env("CLIENT_CPU", "1")
TICK = os.sysconf("SC_CLK_TCK")


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def seconds(dur):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", dur)
    if not m:
        die(f"cannot parse duration {dur!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[m.group(2)]


# ------------------------------------------------------------------------- the target

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
    if not os.access(TARGET_BIN, os.X_OK):
        die(f"ringload-target not found at {TARGET_BIN} (set TARGET_BIN)")
    port_file = os.path.join(tmp, "target.port")
    # taskset execs the target: the PID is the target's own, for /proc/PID/stat.
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
    if not port:
        stop(proc)
        die("ringload-target did not start")
    return proc, port


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


def proc_cpu_s(pid):
    """user + system seconds of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_stall_us():
    """Microseconds some runnable task waited for a CPU, machine-wide (PSI)."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(re.search(r"some .*total=(\d+)", f.read()).group(1))
    except (OSError, AttributeError, ValueError):
        return None


# ----------------------------------------------------------------------- the client

def write_ws_file(path, port):
    # Numbered so that a mix-up in the echo order would show in an export.
    messages = [(f"{i:04d}" + "m" * WS_SIZE)[:WS_SIZE] for i in range(WS_MESSAGES)]
    with open(path, "w") as f:
        f.write(json.dumps({"url": f"ws://127.0.0.1:{port}/ws", "messages": messages,
                            "expect": WS_MESSAGES}) + "\n")


def client_cmd(mode, port, duration, ws_file):
    base = [RINGLOAD, "-t", "1", "-c", str(C), "-d", duration, "--json", "--quiet"]
    if mode == "sse":
        return base + ["--sse", f"http://127.0.0.1:{port}/sse?n={SSE_EVENTS}&size={SSE_SIZE}"]
    return base + ["--loop", "-f", ws_file]


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


def figures(mode, report, out_path):
    """The count and rate a mode is measured by, from the report's stream block."""
    block = report.get(mode)
    if not isinstance(block, dict):
        die(f"the report has no {mode!r} block: this ringload has no {mode.upper()} support, "
            f"or the run had no streams (see {out_path}.stdout)")
    keys = (("events", "events_per_s", "streams") if mode == "sse"
            else ("messages_received", "messages_per_s", "sessions"))
    missing = [k for k in keys if not isinstance(block.get(k), (int, float))]
    if missing:
        die(f"the report's {mode!r} block lacks {missing} (see {out_path}.stdout)")
    count, rate, sessions = (block[k] for k in keys)
    ended = block.get("ended_by") or {}
    return count, float(rate), sessions, ended.get("error", 0)


def run_once(mode, port, target_pid, duration, out_dir, tag, ws_file):
    cmd = ["taskset", "-c", CLIENT_CPU] + client_cmd(mode, port, duration, ws_file)
    out_path = os.path.join(out_dir, tag)
    srv0, stall0 = proc_cpu_s(target_pid), cpu_stall_us()
    rc, stdout, stderr, usage = run_child(cmd, out_path, seconds(duration) + 60)
    srv_s = proc_cpu_s(target_pid) - srv0
    stall1 = cpu_stall_us()
    if rc != 0:
        die(f"ringload exited {rc}: {' '.join(cmd)}\n{stderr[-1000:]}")
    try:
        report = json.loads(stdout)
    except ValueError:
        die(f"ringload printed no JSON report (see {out_path}.stdout)")
    count, rate, sessions, ended_by_error = figures(mode, report, out_path)
    cpu_s = usage.ru_utime + usage.ru_stime
    per = max(count, 1)
    return {"rate": rate, "count": count, "sessions": sessions,
            "failed": (report.get("requests") or {}).get("failed", 0),
            "ended_by_error": ended_by_error,
            "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
            "cpu_us": cpu_s * 1e6 / per, "rss_mb": usage.ru_maxrss / 1024,
            "server_cpu_us": srv_s * 1e6 / per,
            "stall_ms": (stall1 - stall0) / 1000 if stall0 is not None and stall1 is not None
            else -1.0}


# ---------------------------------------------------------------------------- report

UNIT = {"sse": "event", "ws": "message"}
HEADER = (f"{'mode':<5} {'per s':>11} {'count':>11} {'streams':>8} {'user s':>7} {'sys s':>7} "
          f"{'client us/1':>11} {'server us/1':>11} {'RSS MB':>7} {'failed':>7} {'stall ms':>8}")
NUMERIC = ("rate", "count", "sessions", "failed", "user_s", "sys_s", "cpu_us", "server_cpu_us",
           "rss_mb", "stall_ms")


def row(mode, r):
    return (f"{mode:<5} {r['rate']:>11.0f} {r['count']:>11.0f} {r['sessions']:>8.0f} "
            f"{r['user_s']:>7.2f} {r['sys_s']:>7.2f} {r['cpu_us']:>11.3f} "
            f"{r['server_cpu_us']:>11.3f} {r['rss_mb']:>7.1f} {r['failed']:>7.0f} "
            f"{r['stall_ms']:>8.1f}")


def main():
    if not os.access(RINGLOAD, os.X_OK):
        die(f"ringload not found at {RINGLOAD} (set RINGLOAD)")
    unknown = [m for m in MODES if m not in UNIT]
    if unknown or not MODES:
        die(f"MODES must be a subset of 'sse ws', got {MODES}")
    if not 1 <= WS_SIZE < 65536 or SSE_EVENTS < 1 or WS_MESSAGES < 1:
        die("WS_SIZE must be 1 to 65535, SSE_EVENTS and WS_MESSAGES at least 1")
    out_dir = env("OUT", "") or tempfile.mkdtemp(prefix="ringload-bench-streams-")
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ringload-bench-srv-")
    ws_file = os.path.join(out_dir, "ws_requests.jsonl")
    print(f"server CPU {SERVER_CPU}, client CPU {CLIENT_CPU}, C={C}, D={D}, rounds={ROUNDS}, "
          f"modes={MODES}; sse: {SSE_EVENTS} events x {SSE_SIZE} B per stream; ws: "
          f"{WS_MESSAGES} messages x {WS_SIZE} B per session; raw outputs in {out_dir}")
    print("us/1: CPU microseconds per SSE event or per WebSocket message received (an echo)")
    proc, port = start_target(tmp)
    results = {m: [] for m in MODES}
    try:
        check_target(port)
        write_ws_file(ws_file, port)
        if seconds(WARMUP) > 0:
            for mode in MODES:
                run_once(mode, port, proc.pid, WARMUP, out_dir, f"warmup-{mode}", ws_file)
        for rnd in range(1, ROUNDS + 1):
            order = MODES if rnd % 2 else list(reversed(MODES))
            print(f"\n-- round {rnd}")
            print(HEADER)
            for mode in order:
                r = run_once(mode, port, proc.pid, D, out_dir, f"r{rnd}-{mode}", ws_file)
                results[mode].append(r)
                print(row(mode, r), flush=True)
    finally:
        stop(proc)
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    print(f"\n== medians over {ROUNDS} rounds (C={C}, D={D})")
    print(HEADER)
    medians = {}
    for mode in MODES:
        medians[mode] = {k: statistics.median(r[k] for r in results[mode]) for k in NUMERIC}
        print(row(mode, medians[mode]))
        bad = sum(r["failed"] + r["ended_by_error"] for r in results[mode])
        if bad:
            print(f"   {mode}: {bad} failed streams/sessions over all rounds (see the raw outputs)")
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump({"C": C, "D": D, "rounds": ROUNDS, "sse_events": SSE_EVENTS,
                   "sse_size": SSE_SIZE, "ws_messages": WS_MESSAGES, "ws_size": WS_SIZE,
                   "median": medians, "rounds_raw": results}, f, indent=1)
    print(f"\nsummary: {out_dir}/summary.json")


if __name__ == "__main__":
    main()
