#!/usr/bin/env python3
"""A hostile or broken server is counted as an error: never a crash, a hang or unbounded
memory. Each scenario is a small server on a free loopback port; ringload runs against it
with bounded time and its report is checked."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import read_request, serve, ws_upgrade  # noqa: E402


def endless_header(conn, stop):
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    deadline = time.time() + 10
    while not stop.is_set() and time.time() < deadline:
        conn.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")


def never_answers(conn, stop):
    read_request(conn)
    stop.wait(10)


def garbage(conn, stop):
    read_request(conn)
    conn.sendall(os.urandom(3000))


def slow_drip(conn, stop):
    read_request(conn)
    for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
        if stop.wait(0.2):
            return
        conn.sendall(bytes([b]))


def send_endless(conn, stop, head, filler):
    """Reads the request, sends `head`, then `filler` in 64 KiB writes for up to 10 s."""
    read_request(conn)
    conn.sendall(head)
    deadline = time.time() + 10
    while not stop.is_set() and time.time() < deadline:
        conn.sendall(filler * 65536)


def endless_body(conn, stop):
    send_endless(conn, stop, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"x")


def endless_sse_line(conn, stop):
    """An event stream whose one line never ends: the parser's 16 MiB cap must stop it."""
    send_endless(conn, stop,
                 b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: ", b"a")


def ws_giant_frame(conn, stop):
    """A binary frame declaring 2^40 bytes: refused at its header, before any payload."""
    if ws_upgrade(conn):
        conn.sendall(b"\x82\x7f" + (1 << 40).to_bytes(8, "big") + b"x" * 1000)
        stop.wait(3)


def ws_bad_accept(conn, stop):
    ws_upgrade(conn, accept_ok=False)
    stop.wait(3)


def ws_silent(conn, stop):
    """Upgrades, then never says anything again."""
    if ws_upgrade(conn):
        stop.wait(10)


def run(ringload, url, args, limit_s):
    cmd = [ringload, "--json", "--quiet"] + args + [url]
    start = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit_s + 10)
    elapsed = time.time() - start
    report = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout else None
    return proc, report, elapsed


def main():
    ringload = None
    argv = sys.argv[1:]
    if "--ringload" in argv:
        ringload = argv[argv.index("--ringload") + 1]
    if ringload is None:
        print("usage: test_hostile.py --ringload PATH")
        return 2
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
        passed += ok
        failed += not ok

    scenarios = [
        ("endless header block", endless_header, ["-n", "20", "-c", "2"], "protocol"),
        ("server never answers", never_answers, ["-n", "4", "-c", "2", "--timeout", "300ms"], "timeout"),
        ("garbage response", garbage, ["-n", "20", "-c", "2"], "protocol"),
        ("slow drip beyond the deadline", slow_drip, ["-n", "4", "-c", "2", "--timeout", "500ms"], "timeout"),
        ("endless close-delimited body", endless_body, ["-n", "2", "-c", "1", "--timeout", "1s"], "timeout"),
        ("SSE line without end", endless_sse_line, ["--sse", "-n", "2", "-c", "1"], "protocol"),
        ("WebSocket frame of 2^40 bytes", ws_giant_frame, ["--ws", "-n", "3", "-c", "1"], "protocol"),
        ("WebSocket 101 with a wrong accept", ws_bad_accept, ["--ws", "-n", "3", "-c", "1"], "protocol"),
        ("WebSocket silent after 101", ws_silent,
         ["--ws", "--ws-message", "hi", "-n", "2", "-c", "2", "--timeout", "500ms"], "timeout"),
    ]
    for name, behaviour, extra, kind in scenarios:
        stop = threading.Event()
        port = serve(behaviour, stop)
        try:
            proc, report, elapsed = run(ringload, f"http://127.0.0.1:{port}/", extra, 20)
            check(f"{name}: exit 0 with a report", report is not None,
                  f"rc={proc.returncode} stderr={proc.stderr[-300:]!r}")
            check(f"{name}: finished in bounded time", elapsed < 15, f"{elapsed:.1f}s")
            if report is not None:
                n = int(extra[extra.index("-n") + 1])
                check(f"{name}: every request counted", report["requests"]["total"] == n,
                      json.dumps(report["requests"]))
                check(f"{name}: errors counted as {kind}", report["errors"][kind] == n,
                      json.dumps(report["errors"]))
                check(f"{name}: nothing succeeded", report["requests"]["succeeded"] == 0,
                      json.dumps(report["requests"]))
        finally:
            stop.set()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
