#!/usr/bin/env python3
"""The fault matrix (issue 14): ringload against a peer that fails in one way, each run
bounded in time, with --json and --export. For every scenario:
  - the exit status is the documented one (a death by signal fails), within the deadline;
  - the peak RSS (ringload's own ru_maxrss: harness.MeasuredRun) stays under RSS_BOUND_MIB;
  - the failure is counted under the right kind, first_errors naming it;
  - requests.total and in_flight_at_end agree with the requests the peer read;
  - the export holds requests.total whole JSON lines, each seq once, iteration 0.
Peers are threads of this process on 127.0.0.1 (stdlib sockets and ssl), or
ringload-target; no name is looked up off the machine.

Run: python3 test_faults.py --ringload PATH --target PATH
"""
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import eq, read_export, read_request, ws_upgrade  # noqa: E402

N = 6                      # requests per table scenario (-n), over CONNS connections
CONNS = 2
RSS_BOUND_MIB = 64         # these runs (-c 2 to 8, -t 2, --export) peak at 37-42 MiB here
ASAN_RSS_FACTOR = 4        # ASan's shadow memory and quarantine
QPS = 2000                 # timed runs are paced: the exports stay a few thousand lines
RUN_LIMIT_S = 8.0          # a table scenario's run, start to exit (Release; 3x under ASan)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


# ------------------------------------------------------------------------- peers
# behaviour(conn, stop, seen): one accepted connection; `seen` counts the requests read.

def until_closed(conn, stop, limit=5.0):
    """Reads and drops what the client sends until it closes (bounded)."""
    deadline = time.monotonic() + limit
    conn.settimeout(0.2)
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            if not conn.recv(65536):
                return
        except socket.timeout:
            continue


def answer(reply, then_close=False):
    """A peer that reads one request, sends `reply`, then waits for the client to go (or,
    with then_close, closes right away: a FIN after the bytes)."""
    def behaviour(conn, stop, seen):
        if read_request(conn, seen):
            conn.sendall(reply)
            if not then_close:
                until_closed(conn, stop)
    return behaviour


def rst_mid_body(conn, stop, seen):
    if read_request(conn, seen):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        stop.wait(0.05)
        # SO_LINGER {on, 0 s}: close() sends a RST instead of a FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def close_on_accept(conn, stop, seen):
    seen.add()  # nothing read: the accepted connection is what the peer saw


def slowloris(conn, stop, seen):
    if read_request(conn, seen):
        for b in OK:  # 40 bytes, 0.1 s apart: the head takes ~4 s, --timeout is 0.5 s
            if stop.wait(0.1):
                return
            conn.sendall(bytes([b]))


def silent(conn, stop, seen):
    if read_request(conn, seen):
        until_closed(conn, stop)


def huge_head(conn, stop, seen):
    if read_request(conn, seen):
        line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + line * 1024 + b"Content-Length: 2\r\n\r\nok")
        until_closed(conn, stop)


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


TLS = {}  # "context": the server's ssl.SSLContext, made in main()


def tls_then(garbage):
    """Completes the TLS handshake, reads the request, then writes `garbage` on the raw
    socket under the session, where the next TLS record belongs."""
    def behaviour(conn, stop, seen):
        tls = TLS["context"].wrap_socket(conn, server_side=True)
        if read_request(tls, seen):
            os.write(tls.fileno(), garbage)
            until_closed(tls, stop)
    behaviour.tls = True
    return behaviour


def ws_then(frames, then_close=False):
    """Answers the WebSocket handshake, sends `frames`, then waits for the client to go (or
    closes the TCP connection without a close frame)."""
    def behaviour(conn, stop, seen):
        if ws_upgrade(conn, seen=seen):
            conn.sendall(frames)
            if not then_close:
                until_closed(conn, stop)
    return behaviour


def masked_text(payload, key=b"\x01\x02\x03\x04"):
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + key + masked


SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")

# name, peer, extra flags, kind, a regex (case-insensitive) matching first_errors[kind] and
# each exported error's message, whether
# the error comes before the response head is whole (then status null, headers []).
SCENARIOS = [
    ("RST mid-body", rst_mid_body, [], "read", "reset", False),
    # Closed before the request came: a FIN (EOF first) or, once the request hit the closed
    # socket, a RST; either is a read error.
    ("close right after accept", close_on_accept, [], "read", "reset|closed before the response", True),
    ("truncated chunked body", answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      + chunk(b"hello"), then_close=True),
     [], "read", "closed mid-response", False),
    ("1 MB response head", huge_head, [], "protocol", "response head too large", True),
    ("slowloris head", slowloris, ["--timeout", "500ms"], "timeout", "timed out", True),
    ("silent server", silent, ["--timeout", "300ms"], "timeout", "timed out", True),
    ("bad status line", answer(b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok"), [],
     "protocol", "bad status code", True),
    ("conflicting Content-Length", answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                          b"Content-Length: 3\r\n\r\nok"), [],
     "protocol", "conflicting Content-Length values", True),
    # The handshake finished: a bad record is the server's protocol error, not a version
    # the server does not speak.
    ("TLS cleartext after the handshake", tls_then(OK), ["-k"], "tls", "TLS protocol error", True),
    ("TLS record failing authentication", tls_then(b"\x17\x03\x03\x00\x20" + b"\xaa" * 32), ["-k"],
     "tls", "TLS protocol error", True),
    ("SSE stream closed mid-event",
     answer(SSE_HEAD + chunk(b"data: one\n\n") + chunk(b"data: two\n\n") + chunk(b"data: cu"),
            then_close=True),
     ["--sse"], "read", "closed mid-stream", False),
    # RFC 6455 §5.1: a server MUST NOT mask; §5.2: a 64-bit length's top bit MUST be 0.
    ("WebSocket masked frame", ws_then(masked_text(b"hello")), ["--ws"],
     "protocol", "masked WebSocket frame", False),
    ("WebSocket 2^63 payload length", ws_then(b"\x82\x7f" + (1 << 63).to_bytes(8, "big") + b"x" * 1000),
     ["--ws"], "protocol", "payload length", False),
    ("WebSocket TCP close without a close frame", ws_then(b"\x81\x03one\x81\x03two", then_close=True),
     ["--ws", "--expect", "5"], "read", "closed without a close frame", False),
]

# What the export must hold beyond the common checks: the items received before the cut
# and the stream's end.
STREAM_ITEMS = {"SSE stream closed mid-event": ("events", ["one", "two"], "stream_end"),
                "WebSocket TCP close without a close frame": ("messages", ["one", "two"], "session_end")}


# ----------------------------------------------------------------------- checks

class Bounds:
    def __init__(self, binary):
        asan = h.is_sanitized(binary)
        self.rss_kib = RSS_BOUND_MIB * 1024 * (ASAN_RSS_FACTOR if asan else 1)
        self.slow = 3.0 if asan else 1.0


def check_exit(c, name, res, want_rc, limit_s, bounds):
    """Exit status (a signal death is never right unless asked for), deadline, peak RSS."""
    got = f"signal {-res.rc}" if res.rc is not None and res.rc < 0 else f"exit {res.rc}"
    want = f"signal {-want_rc}" if want_rc < 0 else f"exit {want_rc}"
    c.check(f"{name}: {want}", res.rc == want_rc, f"{got}; {res.describe()}")
    c.check(f"{name}: done within {limit_s:.0f} s", not res.timed_out and res.elapsed < limit_s,
            f"elapsed {res.elapsed:.2f}s")
    c.check(f"{name}: peak RSS under {bounds.rss_kib // 1024} MiB",
            res.maxrss_kib is not None and res.maxrss_kib < bounds.rss_kib, f"ru_maxrss {res.maxrss_kib} KiB")


def check_export(c, name, res, path):
    """Whole JSON lines, one per finished request, each seq once, the pass 0 for a URL run."""
    recs, problems = read_export(path)
    h.check_problems(c, f"{name}: export lines whole JSON, final newline", problems)
    eq(c, f"{name}: export lines == requests.total == report export.lines",
       (len(recs), res.get("export", "lines")), (res.total(), res.total()))
    eq(c, f"{name}: each seq once", sorted(r.get("seq") for r in recs), list(range(len(recs))))
    eq(c, f"{name}: iteration 0 on every line", sorted({r.get("iteration") for r in recs}),
       [0] if recs else [])
    return recs


def check_counts(c, name, res, seen, unread=0):
    """total - unread <= seen <= total + in_flight_at_end: no request lost or invented
    (`unread`: requests the peer may have dropped unread, one per connection at most)."""
    total = res.total() or 0
    in_flight = res.get("requests", "in_flight_at_end") or 0
    c.check(f"{name}: requests.total and in flight agree with the peer's count",
            total - unread <= seen <= total + in_flight,
            f"total={total} in_flight_at_end={in_flight} peer saw {seen} (unread allowed {unread})")


def check_errors(c, name, res, recs, kind, phrase, count, pre_head):
    errs = res.get("errors", default={}) or {}
    eq(c, f"{name}: {count} {kind} errors, no other kind",
       {k: v for k, v in errs.items() if v}, {kind: count})
    first = (res.get("first_errors", default={}) or {}).get(kind) or ""
    c.check(f"{name}: first_errors.{kind} matches {phrase!r}", re.search(phrase, first, re.I),
            f"first_errors={res.get('first_errors')}")
    bad = [r.get("error") for r in recs if (r.get("error") or {}).get("kind") != kind
           or not re.search(phrase, (r.get("error") or {}).get("message") or "", re.I)]
    h.check_problems(c, f"{name}: every export line has the {kind} error", bad)
    if pre_head:
        heads = [(r.get("status", "absent"), r.get("headers", "absent")) for r in recs]
        h.check_problems(c, f"{name}: no head, so status null and headers []",
                         [x for x in heads if x != (None, [])])


# --------------------------------------------------------------------- scenarios

def test_table(c, rl, tmp, bounds):
    for i, (name, peer, extra, kind, phrase, pre_head) in enumerate(SCENARIOS):
        scheme = "https" if getattr(peer, "tls", False) else "http"
        seen, stop = h.Tally(), threading.Event()
        port = h.serve(lambda conn, st, p=peer: p(conn, st, seen), stop)
        path = os.path.join(tmp, f"table-{i}.jsonl")
        args = extra + ["-n", str(N), "-c", str(CONNS), "-t", "2", "--export", path,
                        f"{scheme}://127.0.0.1:{port}/"]
        try:
            res = h.MeasuredRun(rl, args).reap(RUN_LIMIT_S * bounds.slow)
        finally:
            stop.set()
        check_exit(c, name, res, 0, RUN_LIMIT_S * bounds.slow, bounds)
        if not c.check(f"{name}: JSON report", isinstance(res.report, dict), res.describe()):
            continue
        eq(c, f"{name}: requests.total", res.total(), N)
        recs = check_export(c, name, res, path)
        check_errors(c, name, res, recs, kind, phrase, N, pre_head)
        # Every request failed without a complete response: each is in error_latency_us.
        h.check_problems(c, f"{name}: error_latency_us matches the export's times",
                         h.error_latency_problems(res.report, [(r.get("timing") or {}).get("total_us", -1)
                                                               for r in recs]))
        eq(c, f"{name}: latency_us empty (no complete response)", (res.get("latency_us") or {}).get("max"), 0.0)
        # A peer that closes at once reads nothing: it counts connections, the probe too.
        if peer is close_on_accept:
            check_counts(c, name, res, seen.value - 1)
        else:
            check_counts(c, name, res, seen.value)
        if name in STREAM_ITEMS:
            key, want, end = STREAM_ITEMS[name]
            eq(c, f"{name}: the {key} before the cut are exported, {end} error",
               [([i.get("data") for i in r.get(key) or []], r.get(end)) for r in recs],
               [(want, "error")] * len(recs))


def test_restart(c, rl, tmp, bounds):
    """The listener and its connections go away for GAP_S, then a new one takes the port:
    connect errors during the gap, successes again after it."""
    name = "server restarted mid-run"
    gap_s, run_s = 0.6, 3.0
    seen = h.Tally()

    def keep_alive(conn, stop):
        for _ in range(100000):
            if stop.is_set() or not read_request(conn, seen):
                return
            if stop.is_set():
                return  # the "process" died with this request read, unanswered
            conn.sendall(OK)

    first = threading.Event()
    port = h.serve(keep_alive, first)
    second = threading.Event()
    path = os.path.join(tmp, "restart.jsonl")
    proc = h.MeasuredRun(rl, ["-d", f"{run_s}s", "--qps", str(QPS), "-c", str(CONNS), "-t", "2",
                              "--timeout", "1s", "--export", path, f"http://127.0.0.1:{port}/"])
    try:
        time.sleep(1.0)
        first.set()
        stopped_at = time.monotonic() - proc.t0
        time.sleep(gap_s)
        h.serve(keep_alive, second, port=port)
        back_at = time.monotonic() - proc.t0
        limit = (run_s + RUN_LIMIT_S) * bounds.slow
        res = proc.reap(limit)
    finally:
        first.set()
        second.set()
    check_exit(c, name, res, 0, limit, bounds)
    if not c.check(f"{name}: JSON report", isinstance(res.report, dict), res.describe()):
        return
    recs = check_export(c, name, res, path)
    errs = res.get("errors", default={}) or {}
    c.check(f"{name}: connect errors during the gap", errs.get("connect", 0) > 0, f"errors={errs}")
    others = {k: v for k, v in errs.items() if v and k not in ("connect", "read", "write")}
    eq(c, f"{name}: no error but connect, read or write", others, {})
    before = [r for r in recs if r["timing"]["start_us"] < stopped_at * 1e6 and r.get("status") == 200]
    after = [r for r in recs if r["timing"]["start_us"] > back_at * 1e6 and r.get("status") == 200]
    c.check(f"{name}: successes before the stop and after the restart", before and after,
            f"{len(before)} before {stopped_at:.2f}s, {len(after)} after {back_at:.2f}s")
    # Up to two requests per connection fail unread at the stop: one on a connection whose
    # handler saw the stop first, one on a connection left in the closing listener's backlog.
    check_counts(c, name, res, seen.value, unread=2 * CONNS)


def test_setup_refused(c, rl, tmp, bounds):
    """Nothing listens, or the name cannot resolve: exit 1 before any traffic, one line
    naming what failed."""
    port = h.free_port()
    for name, url, named, phrase in [
        ("refused port", f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}", "refused"),
        ("unresolvable host", f"http://{h.UNRESOLVABLE_HOST}/", h.UNRESOLVABLE_HOST, "cannot resolve"),
    ]:
        path = os.path.join(tmp, "setup.jsonl")
        res = h.MeasuredRun(rl, ["-n", "10", "-d", "10s", "--export", path, url]).reap(10 * bounds.slow)
        check_exit(c, name, res, 1, 10 * bounds.slow, bounds)
        c.check(f"{name}: stderr names {named} and says {phrase!r}",
                named in res.err and phrase in res.err.lower(), f"stderr={res.err[-400:]!r}")
        eq(c, f"{name}: no report", res.out.strip(), "")
        records, _ = read_export(path) if os.path.exists(path) else ([], [])
        eq(c, f"{name}: nothing exported", len(records), 0)


def test_signals(c, rl, tmp, bounds, target):
    """SIGINT and SIGTERM stop the run with a report and a whole export; SIGKILL leaves
    whole lines, a torn one only at the end."""
    for sig, want_rc in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)):
        name = f"{sig.name} during -d 30s --export"
        target.settled_count()
        target.reset()
        path = os.path.join(tmp, f"{sig.name}.jsonl")
        proc = h.MeasuredRun(rl, ["-d", "30s", "--qps", str(QPS), "-c", "8", "-t", "2", "--export", path,
                                  target.url("/")])
        # The signal lands mid-run: once the target has served some requests (a sanitized
        # build on a busy machine can take over a second to start), bounded.
        h.wait_until(lambda: target.count() >= 100, 10.0 * bounds.slow)
        time.sleep(0.2)
        sent_at = time.monotonic()
        proc.send_signal(sig)
        res = proc.reap((sent_at - proc.t0) + 5.0 * bounds.slow)
        check_exit(c, name, res, want_rc, (sent_at - proc.t0) + 5.0 * bounds.slow, bounds)
        if sig == signal.SIGKILL:
            check_killed_export(c, name, path, target.settled_count())
            continue
        if not c.check(f"{name}: JSON report", isinstance(res.report, dict), res.describe()):
            continue
        eq(c, f"{name}: interrupted", res.get("interrupted"), True)
        h.check_no_errors(c, name, res)
        c.check(f"{name}: requests.total > 0", (res.total() or 0) > 0, f"{res.get('requests')}")
        check_export(c, name, res, path)
        check_counts(c, name, res, target.settled_count(expected=res.total()))


def check_killed_export(c, name, path, served):
    """Every newline-terminated line whole; only the last may be torn (no newline yet)."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    broken = []
    for i, raw in enumerate(lines):
        try:
            json.loads(raw)
        except ValueError:
            broken.append(i + 1)
    h.check_problems(c, f"{name}: every newline-terminated line is whole JSON", broken)
    c.check(f"{name}: 0 < whole lines <= requests the target served", 0 < len(lines) <= served,
            f"{len(lines)} lines, target served {served}")
    print(f"NOTE {name}: {len(lines)} whole lines, "
          + (f"a torn last line of {len(tail)} bytes" if tail else "no torn last line"), flush=True)


def make_tls_context(tmp):
    """A throwaway self-signed certificate for 127.0.0.1 (ringload runs with -k)."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"openssl req: {p.stderr[-300:]}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def tests(env):
    rl, tmp = env.ringload, env.tmp
    bounds = Bounds(rl)
    print("SKIP pipelining with a server that answers out of order: ringload does not pipeline yet",
          flush=True)
    target = env.start(h.Target(env.target, threads=1, keep=env.keep))
    TLS["context"] = make_tls_context(tmp)
    return [
        ("table", test_table, rl, tmp, bounds),
        ("restart", test_restart, rl, tmp, bounds),
        ("setup", test_setup_refused, rl, tmp, bounds),
        ("signals", test_signals, rl, tmp, bounds, target),
    ]


if __name__ == "__main__":
    h.main(tests, title="fault", tmp_prefix="ringload-faults-", description=__doc__)
