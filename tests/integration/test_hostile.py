#!/usr/bin/env python3
"""A hostile or broken server is counted as an error: never a crash, a hang or unbounded
memory. Each scenario is a small server on a free loopback port; ringload runs against it
with bounded time and its report is checked."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import read_request, ws_upgrade  # noqa: E402


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


SCENARIOS = [
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


def test_scenario(c, rl, name, behaviour, extra, kind):
    """ringload against one misbehaving server: a report in bounded time, every request
    counted as an error of `kind`, none succeeded."""
    stop = threading.Event()
    port = h.serve(behaviour, stop)
    try:
        res = h.run_ringload(rl, extra + [f"http://127.0.0.1:{port}/"], timeout=30)
        report = res.report if res.rc == 0 else None
        c.check(f"{name}: exit 0 with a report", report is not None, f"rc={res.rc} stderr={res.err[-300:]!r}")
        c.check(f"{name}: finished in bounded time", res.elapsed < 15, f"{res.elapsed:.1f}s")
        if report is not None:
            n = int(extra[extra.index("-n") + 1])
            c.check(f"{name}: every request counted", report["requests"]["total"] == n,
                    json.dumps(report["requests"]))
            c.check(f"{name}: errors counted as {kind}", report["errors"][kind] == n,
                    json.dumps(report["errors"]))
            c.check(f"{name}: nothing succeeded", report["requests"]["succeeded"] == 0,
                    json.dumps(report["requests"]))
    finally:
        stop.set()


def tests(env):
    return [(name, test_scenario, env.ringload, name, *scenario) for name, *scenario in SCENARIOS]


if __name__ == "__main__":
    h.main(tests, title="hostile", need=("ringload",), description=__doc__)
