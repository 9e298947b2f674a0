"""Server-sent events and WebSocket sessions against real aiohttp and websockets servers.

The servers (stream_servers.py, run as child processes) send known byte sequences; each
run's export must hold exactly the events or messages they decode to, with the right end
reason, and the report's sse/ws blocks must count the same. The server's own log tells
what ringload sent (method, Accept, handshake headers, subprotocol, close code) and
whether it closed a stream it was done with. Stream keys on the wrong kind of request-file
line must fail with FILE:LINE:COLUMN before any traffic.

Run: /usr/bin/python3 test_streams.py --ringload PATH --target PATH
"""
import base64
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check_problems, check_run_ok, eq, read_export, short  # noqa: E402
import stream_servers as ss  # noqa: E402

PYTHON = "/usr/bin/python3"  # Debian's, with aiohttp 3.8 and websockets 10.4
SERVERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stream_servers.py")

HIST = {k: (int, float) for k in h.SUMMARY_KEYS}
SSE_ENDS = ("server", "max_events", "until", "stream_timeout", "run_end", "error")
WS_ENDS = ("expect", "until", "idle_timeout", "stream_timeout", "server", "run_end", "error")
SSE_SCHEMA = {
    "streams": int, "events": int, "bytes": int, "comments": int,
    "events_per_s": (int, float), "bytes_per_s": (int, float),
    "ended_by": {k: int for k in SSE_ENDS},
    "ttfe_us": HIST, "inter_event_us": HIST, "duration_us": HIST,
}
WS_SCHEMA = {
    "sessions": int, "messages_sent": int, "messages_received": int,
    "bytes_sent": int, "bytes_received": int, "messages_per_s": (int, float), "bytes_per_s": (int, float),
    "pings_received": int, "pongs_sent": int, "pongs_received": int,
    "close_codes": dict, "closed_by": {k: int for k in ("client", "server", "none")},
    "ended_by": {k: int for k in WS_ENDS},
    "handshake_us": HIST, "rtt_us": HIST,
}

# What /events must decode to, up to and including the event that matches until "[DONE]".
# The event with its own "id: 7" sets the ID every later one inherits; a bare "data" line
# is a data field with an empty value (WHATWG § 9.2.6).
EVENTS_UNTIL_DONE = [
    {"event": None, "id": None, "data": "a\nb"},
    {"event": "update", "id": "7", "data": '{"n":1}'},
    {"event": None, "id": "7", "data": "after id"},
    {"event": None, "id": "7", "data": ""},
    {"event": None, "id": "7", "data": "héllo wörld ✓ 😀"},
    {"event": None, "id": "7", "data_base64": base64.b64encode(b"\xff\xfe not utf-8").decode()},
    {"event": None, "id": "7", "data": "[DONE]"},
]
# LF, CR LF and a bare CR as line ends, then the server's close: a normal end.
EVENTS_CLOSE_DELIMITED = [
    {"event": None, "id": None, "data": "c1"},
    {"event": None, "id": "x", "data": "c2"},
    {"event": None, "id": "x", "data": "c3"},
]


class StreamServer(h.PortFileServer):
    """One stream_servers.py child ("sse" or "ws") on a port it picks itself."""

    def __init__(self, kind, keep=False, tls=None):
        super().__init__(keep)
        self.kind = kind
        self.tls = tls  # (certificate, key): https / wss
        self.name = f"{kind} server"
        self.prefix = f"ringload-{kind}-"

    def command(self, port_file):
        extra = ["--tls", *self.tls] if self.tls else []
        return [PYTHON, SERVERS, self.kind, "--port-file", port_file] + extra

    def url(self, path, scheme=None):
        default = ("ws" if self.kind == "ws" else "http") + ("s" if self.tls else "")
        return f"{scheme or default}://127.0.0.1:{self.port}{path}"

    def _get(self, path):
        with urllib.request.urlopen(self.url(path, "http"), timeout=5.0) as r:
            return json.loads(r.read())

    def stats(self):
        """One entry per request or session so far, oldest first (see stream_servers.py)."""
        return self._get("/stats")

    def settled_stats(self, count, timeout=5.0):
        """The stats once `count` entries are there and none is still running (bounded)."""
        def done():
            s = self.stats()
            return s if len(s) >= count and all(e["ended"] != "running" for e in s) else None
        return h.wait_until(done, timeout) or self.stats()

    def reset(self):
        self._get("/reset")


# ------------------------------------------------------------------------- helpers

def slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60]


def run_lines(rl, tmp, name, lines, extra=()):
    """ringload -f over request-file lines (objects), one connection, --export."""
    path = os.path.join(tmp, slug(name) + ".jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    return run_args(rl, tmp, name, ["-f", path] + list(extra))


def run_args(rl, tmp, name, args):
    out = os.path.join(tmp, slug(name) + "-export.jsonl")
    res = h.run_ringload(rl, ["-c", "1", "--export", out] + list(args), timeout=60)
    recs, problems = read_export(out)
    return res, recs, problems


def without_t(items):
    return [{k: v for k, v in x.items() if k != "t_us"} if isinstance(x, dict) else x
            for x in items or []]


def t_us_problems(rec, key):
    """t_us: numbers >= 0, in order, none after the request's end."""
    ts = [x.get("t_us") if isinstance(x, dict) else None for x in rec.get(key) or []]
    if not all(isinstance(t, (int, float)) and t >= 0 for t in ts):
        return [f"t_us not all numbers >= 0: {ts[:20]}"]
    if ts != sorted(ts):
        return [f"t_us out of order: {ts[:20]}"]
    total = (rec.get("timing") or {}).get("total_us")
    if ts and isinstance(total, (int, float)) and ts[-1] > total:
        return [f"last t_us {ts[-1]} after timing.total_us {total}"]
    return []


def header_values(pairs, name):
    return [v for n, v in pairs or [] if n.lower() == name.lower()]


def one_record(c, name, res, recs, problems, status):
    """The run's checks common to every single-stream run; returns its export line."""
    if not check_run_ok(c, name, res):
        return None
    check_problems(c, f"{name}: export is valid JSONL", problems)
    eq(c, f"{name}: requests.total", res.total(), 1)
    if not eq(c, f"{name}: one exported line", len(recs), 1):
        return None
    r = recs[0]
    eq(c, f"{name}: status", r.get("status"), status)
    if 200 <= status <= 299 or status == 101:
        c.check(f"{name}: no body in the export line", "body" not in r and "body_base64" not in r,
                f"keys={sorted(r)}")
    return r


def check_block(c, name, res, block, schema, want):
    """The report's sse/ws block conforms to the schema and holds `want` (a subset)."""
    node = res.get(block)
    eq(c, f"{name}: report {block} schema problems", h.schema_problems(node, schema, block + "."),
       [])
    if isinstance(node, dict):
        eq(c, f"{name}: report {block} counts", {k: node.get(k) for k in want}, want)


def ends(keys, **counts):
    return {k: counts.get(k, 0) for k in keys}


def want_error(c, name, res, r, kind):
    eq(c, f"{name}: export error.kind", (r.get("error") or {}).get("kind"), kind)
    errors = res.get("errors") or {}
    eq(c, f"{name}: report errors", {k: v for k, v in errors.items() if v}, {kind: 1})
    eq(c, f"{name}: requests failed/succeeded",
       (res.get("requests", "failed"), res.get("requests", "succeeded")), (1, 0))


# ------------------------------------------------------------------------------ SSE

def test_sse_until(c, rl, sse, tmp):
    name = "SSE /events until [DONE] (file line)"
    sse.reset()
    res, recs, problems = run_lines(rl, tmp, name, [
        {"url": sse.url("/events"), "proto": "sse", "until": "[DONE]"}])
    r = one_record(c, name, res, recs, problems, 200)
    if r is None:
        return
    eq(c, f"{name}: events up to and including [DONE], byte-exact, ids inherited",
       without_t(r.get("events")), EVENTS_UNTIL_DONE)
    check_problems(c, f"{name}: event t_us", t_us_problems(r, "events"))
    eq(c, f"{name}: stream_end", r.get("stream_end"), "until")
    c.check(f"{name}: no error", "error" not in r, f"error={r.get('error')}")
    ctype = header_values(r.get("headers"), "Content-Type")
    c.check(f"{name}: Content-Type text/event-stream",
            len(ctype) == 1 and ctype[0].startswith("text/event-stream"),
            f"headers={r.get('headers')}")
    eq(c, f"{name}: status_codes", res.get("status_codes"), {"200": 1})
    h.check_no_errors(c, name, res)
    check_block(c, name, res, "sse", SSE_SCHEMA, {
        "streams": 1, "events": len(EVENTS_UNTIL_DONE), "comments": 1,
        "ended_by": ends(SSE_ENDS, until=1)})
    c.check(f"{name}: report sse.bytes > 0", (res.get("sse", "bytes") or 0) > 0,
            f"sse={res.get('sse')}")
    seen = sse.settled_stats(1)
    eq(c, f"{name}: the server saw one GET /events asking for text/event-stream",
       [(e["path"], e["method"], "text/event-stream" in (e["accept"] or "")) for e in seen],
       [("/events", "GET", True)])


def ticks(first, last):
    return [{"event": None, "id": str(n), "data": f"tick {n}"} for n in range(first, last + 1)]


def test_sse_max_events(c, rl, sse, tmp):
    name = "--sse /slow --max-events 3 -n 2"
    sse.reset()
    res, recs, problems = run_args(rl, tmp, name, ["-n", "2", "--max-events", "3",
                                                   "--sse", sse.url("/slow")])
    if check_run_ok(c, name, res):
        check_problems(c, f"{name}: export is valid JSONL", problems)
        eq(c, f"{name}: two streams of 3 events each, ended by max_events",
           [(r.get("status"), without_t(r.get("events")), r.get("stream_end"), "error" in r)
            for r in recs], [(200, ticks(1, 3), "max_events", False)] * 2)
        eq(c, f"{name}: requests", (res.total(), res.get("requests", "succeeded")), (2, 2))
        eq(c, f"{name}: no batch wait by default with streams (events timed exactly)",
           res.get("config", "batch_wait_us"), 0)
        h.check_no_errors(c, name, res)
        check_block(c, name, res, "sse", SSE_SCHEMA, {
            "streams": 2, "events": 6, "ended_by": ends(SSE_ENDS, max_events=2)})
        seen = sse.settled_stats(2)
        eq(c, f"{name}: the server saw two GET /slow with Accept text/event-stream, both "
              "closed by the client",
           [(e["path"], e["method"], "text/event-stream" in (e["accept"] or ""), e["ended"])
            for e in seen], [("/slow", "GET", True, "client_gone")] * 2)


def test_sse_stream_timeout(c, rl, sse, tmp):
    name = "--sse /slow --stream-timeout 300ms -n 1"
    res, recs, problems = run_args(rl, tmp, name, ["-n", "1", "--stream-timeout", "300ms",
                                                   "--sse", sse.url("/slow")])
    r = one_record(c, name, res, recs, problems, 200)
    if r is not None:
        events = without_t(r.get("events"))
        c.check(f"{name}: 4 to 8 events (one per 50 ms)", 4 <= len(events) <= 8 and
                events == ticks(1, len(events)), f"events={events}")
        eq(c, f"{name}: stream_end", r.get("stream_end"), "stream_timeout")
        c.check(f"{name}: no error", "error" not in r, f"error={r.get('error')}")
        total_us = (r.get("timing") or {}).get("total_us") or 0
        c.check(f"{name}: the stream lasted 300 ms to 1.5 s", 290_000 <= total_us < 1_500_000,
                f"timing={r.get('timing')}")
        h.check_no_errors(c, name, res)
        check_block(c, name, res, "sse", SSE_SCHEMA, {
            "streams": 1, "ended_by": ends(SSE_ENDS, stream_timeout=1)})


def test_sse_timeouts(c, rl, sse, tmp):
    # --timeout bounds each gap between bytes, not the stream: 30 events 50 ms apart
    # take 1.5 s, longer than the 1 s timeout.
    name = "--sse /slow --max-events 30 --timeout 1s"
    res, recs, problems = run_args(rl, tmp, name, ["-n", "1", "--max-events", "30",
                                                   "--timeout", "1s", "--sse", sse.url("/slow")])
    r = one_record(c, name, res, recs, problems, 200)
    if r is not None:
        eq(c, f"{name}: 30 events, ended by max_events, no error",
           (without_t(r.get("events")), r.get("stream_end"), r.get("error")),
           (ticks(1, 30), "max_events", None))
        h.check_no_errors(c, name, res)

    name = "--sse /silent --timeout 300ms"
    sse.reset()
    res, recs, problems = run_args(rl, tmp, name, ["-n", "1", "--timeout", "300ms",
                                                   "--sse", sse.url("/silent")])
    r = one_record(c, name, res, recs, problems, 200)
    if r is not None:
        eq(c, f"{name}: the event before the silence", without_t(r.get("events")),
           [{"event": None, "id": None, "data": "first"}])
        eq(c, f"{name}: stream_end", r.get("stream_end"), "error")
        want_error(c, name, res, r, "timeout")
        c.check(f"{name}: over within 5 s", res.elapsed < 5, f"elapsed={res.elapsed:.2f}")
        eq(c, f"{name}: the server saw the client leave",
           [e["ended"] for e in sse.settled_stats(1)], ["client_gone"])


def test_sse_ends(c, rl, sse, tmp):
    name = "SSE /close-delimited"
    res, recs, problems = run_lines(rl, tmp, name, [
        {"url": sse.url("/close-delimited"), "proto": "sse"}])
    r = one_record(c, name, res, recs, problems, 200)
    if r is not None:
        eq(c, f"{name}: every event (LF, CR LF, CR line ends)", without_t(r.get("events")),
           EVENTS_CLOSE_DELIMITED)
        eq(c, f"{name}: stream_end server, no error", (r.get("stream_end"), r.get("error")),
           ("server", None))
        h.check_no_errors(c, name, res)
        check_block(c, name, res, "sse", SSE_SCHEMA, {
            "streams": 1, "events": 3, "ended_by": ends(SSE_ENDS, server=1)})

    name = "SSE /abrupt (TCP close inside an event, no last chunk)"
    res, recs, problems = run_lines(rl, tmp, name, [{"url": sse.url("/abrupt"), "proto": "sse"}])
    r = one_record(c, name, res, recs, problems, 200)
    if r is not None:
        eq(c, f"{name}: the two whole events, not the cut one", without_t(r.get("events")),
           [{"event": None, "id": None, "data": "one"}, {"event": None, "id": None, "data": "two"}])
        eq(c, f"{name}: stream_end", r.get("stream_end"), "error")
        want_error(c, name, res, r, "read")
        check_block(c, name, res, "sse", SSE_SCHEMA, {
            "streams": 1, "events": 2, "ended_by": ends(SSE_ENDS, error=1)})


def test_sse_file_keys(c, rl, sse, tmp):
    name = "SSE file: POST with body + max_events 2, GET + stream_timeout 0.2"
    sse.reset()
    res, recs, problems = run_lines(rl, tmp, name, [
        {"url": sse.url("/slow"), "proto": "sse", "method": "POST", "body": "q=1",
         "max_events": 2},
        {"url": sse.url("/slow"), "proto": "sse", "stream_timeout": 0.2}])
    if not check_run_ok(c, name, res):
        return
    check_problems(c, f"{name}: export is valid JSONL", problems)
    by_line = {r.get("line"): r for r in recs}
    first, second = by_line.get(1) or {}, by_line.get(2) or {}
    eq(c, f"{name}: line 1 POST, 2 events, max_events",
       (first.get("method"), first.get("status"), without_t(first.get("events")),
        first.get("stream_end")), ("POST", 200, ticks(1, 2), "max_events"))
    n = len(second.get("events") or [])
    c.check(f"{name}: line 2 ends by stream_timeout after 2 to 6 events",
            second.get("stream_end") == "stream_timeout" and 2 <= n <= 6 and
            without_t(second.get("events")) == ticks(1, n), f"line 2: {short(second)}")
    h.check_no_errors(c, name, res)
    seen = sorted((e["method"], e["body"], "text/event-stream" in (e["accept"] or ""))
                  for e in sse.settled_stats(2))
    eq(c, f"{name}: the server saw the POST body and Accept on both",
       seen, [("GET", "", True), ("POST", "q=1", True)])


# ------------------------------------------------------------------------ WebSocket

def test_ws_echo(c, rl, ws, tmp):
    name = "WS /echo text, binary, 70,000-byte text, expect 3"
    big = "x" * 70000
    ws.reset()
    res, recs, problems = run_lines(rl, tmp, name, [
        {"url": ws.url("/echo"), "messages": ["hello", {"binary_base64": "AAEC/w=="}, big],
         "expect": 3, "headers": {"X-Test": "echo-1"}}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is None:
        return
    eq(c, f"{name}: messages echoed byte-exact, kinds kept", without_t(r.get("messages")),
       [{"opcode": "text", "data": "hello"}, {"opcode": "binary", "data_base64": "AAEC/w=="},
        {"opcode": "text", "data": big}])
    check_problems(c, f"{name}: message t_us", t_us_problems(r, "messages"))
    eq(c, f"{name}: close", r.get("close"), {"code": 1000, "reason": "", "by": "client"})
    eq(c, f"{name}: session_end, no error", (r.get("session_end"), r.get("error")),
       ("expect", None))
    eq(c, f"{name}: status_codes", res.get("status_codes"), {"101": 1})
    h.check_no_errors(c, name, res)
    check_block(c, name, res, "ws", WS_SCHEMA, {
        "sessions": 1, "messages_sent": 3, "messages_received": 3, "close_codes": {"1000": 1},
        "closed_by": {"client": 1, "server": 0, "none": 0}, "ended_by": ends(WS_ENDS, expect=1)})
    for key in ("bytes_sent", "bytes_received"):
        c.check(f"{name}: report ws.{key} >= the payloads", (res.get("ws", key) or 0) >= 70009,
                f"ws={short(res.get('ws'))}")
    c.check(f"{name}: report ws.rtt_us measured", (res.get("ws", "rtt_us", "max") or 0) > 0,
            f"rtt_us={res.get('ws', 'rtt_us')}")
    seen = ws.settled_stats(1)
    eq(c, f"{name}: the server got the three messages, X-Test and close 1000",
       [(e["path"], e["x_test"], [(m["type"], m["len"]) for m in e["received"]], e["close_code"])
        for e in seen], [("/echo", "echo-1", [("text", 5), ("binary", 4), ("text", 70000)], 1000)])


def script_messages():
    return [{"opcode": "text", "data": "".join(ss.SCRIPT_FRAGMENTS)},
            {"opcode": "binary", "data_base64": base64.b64encode(ss.script_binary()).decode()},
            {"opcode": "text", "data": "bye"}]


def test_ws_script(c, rl, ws, tmp):
    name = "WS /script (fragments, 64-bit length, ping, close 4001)"
    ws.reset()
    res, recs, problems = run_lines(rl, tmp, name, [{"url": ws.url("/script"), "idle_timeout": 5}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is not None:
        eq(c, f"{name}: fragments reassembled, binary intact, bye", without_t(r.get("messages")),
           script_messages())
        eq(c, f"{name}: close", r.get("close"), {"code": 4001, "reason": "done", "by": "server"})
        eq(c, f"{name}: session_end, no error", (r.get("session_end"), r.get("error")),
           ("server", None))
        h.check_no_errors(c, name, res)
        check_block(c, name, res, "ws", WS_SCHEMA, {
            "sessions": 1, "messages_received": 3, "close_codes": {"4001": 1},
            "closed_by": {"client": 0, "server": 1, "none": 0},
            "ended_by": ends(WS_ENDS, server=1)})
        ping = (res.get("ws", "pings_received") or 0, res.get("ws", "pongs_sent") or 0)
        c.check(f"{name}: report ws.pings_received and pongs_sent >= 1", min(ping) >= 1,
                f"ws={short(res.get('ws'))}")
        eq(c, f"{name}: the server got its pong and the close echoed",
           [(e.get("pong"), e["close_code"]) for e in ws.settled_stats(1)], [(True, 4001)])

    name = "ws:// /script --until bye (CLI)"
    ws.reset()
    res, recs, problems = run_args(rl, tmp, name, ["-n", "1", "--until", "bye",
                                                   ws.url("/script")])
    r = one_record(c, name, res, recs, problems, 101)
    if r is not None:
        eq(c, f"{name}: messages up to bye", without_t(r.get("messages")), script_messages())
        eq(c, f"{name}: session_end until, closed by the client with 1000",
           (r.get("session_end"), r.get("close"), r.get("error")),
           ("until", {"code": 1000, "reason": "", "by": "client"}, None))
        eq(c, f"{name}: the server got close 1000 before its own 4001",
           [e["close_code"] for e in ws.settled_stats(1)], [1000])


def test_ws_cli_echo(c, rl, ws, tmp):
    name = "ws:// /echo --ws-message a --ws-message b --ws-subprotocol chat.v1 -n 2"
    ws.reset()
    res, recs, problems = run_args(rl, tmp, name, [
        "-n", "2", "--ws-message", "a", "--ws-message", "b", "--ws-subprotocol", "chat.v1",
        ws.url("/echo")])
    if not check_run_ok(c, name, res):
        return
    check_problems(c, f"{name}: export is valid JSONL", problems)
    # No expect/until/idle_timeout given: expect = the number of messages sent.
    eq(c, f"{name}: two sessions, each a and b back, ended by expect",
       [(r.get("status"), without_t(r.get("messages")), r.get("session_end"), r.get("error"))
        for r in recs],
       [(101, [{"opcode": "text", "data": "a"}, {"opcode": "text", "data": "b"}], "expect",
         None)] * 2)
    h.check_no_errors(c, name, res)
    check_block(c, name, res, "ws", WS_SCHEMA, {
        "sessions": 2, "messages_sent": 4, "messages_received": 4,
        "ended_by": ends(WS_ENDS, expect=2)})
    eq(c, f"{name}: the server saw subprotocol chat.v1 and close 1000 twice",
       [(e["subprotocol"], e["close_code"]) for e in ws.settled_stats(2)], [("chat.v1", 1000)] * 2)


def test_ws_abrupt(c, rl, ws, tmp):
    name = "WS /abrupt (TCP drop, no close frame)"
    res, recs, problems = run_lines(rl, tmp, name, [{"url": ws.url("/abrupt")}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is None:
        return
    eq(c, f"{name}: the message before the drop", without_t(r.get("messages")),
       [{"opcode": "text", "data": "only"}])
    c.check(f"{name}: close is null", "close" in r and r["close"] is None,
            f"close={r.get('close', 'absent')}")
    eq(c, f"{name}: session_end", r.get("session_end"), "error")
    want_error(c, name, res, r, "read")
    check_block(c, name, res, "ws", WS_SCHEMA, {
        "sessions": 1, "messages_received": 1, "closed_by": {"client": 0, "server": 0, "none": 1},
        "ended_by": ends(WS_ENDS, error=1)})


def test_ws_subprotocol(c, rl, ws, tmp):
    name = "WS /echo subprotocols [chat.v1], messages [{text}]"
    ws.reset()
    res, recs, problems = run_lines(rl, tmp, name, [
        {"url": ws.url("/echo"), "subprotocols": ["chat.v1"], "messages": [{"text": "sub"}]}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is None:
        return
    eq(c, f"{name}: Sec-WebSocket-Protocol in the 101",
       header_values(r.get("headers"), "Sec-WebSocket-Protocol"), ["chat.v1"])
    eq(c, f"{name}: the message back, ended by expect (defaults to the message count)",
       (without_t(r.get("messages")), r.get("session_end"), r.get("error")),
       ([{"opcode": "text", "data": "sub"}], "expect", None))
    h.check_no_errors(c, name, res)
    eq(c, f"{name}: the server chose chat.v1",
       [e["subprotocol"] for e in ws.settled_stats(1)], ["chat.v1"])


# ----------------------------------------------------------------------- bad input

def make_cert(tmp):
    """A self-signed P-256 certificate for 127.0.0.1 (it is its own CA: --cacert takes it)."""
    cert, key = os.path.join(tmp, "stream-cert.pem"), os.path.join(tmp, "stream-key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"openssl: {p.stderr[-500:]}")
    return cert, key


def test_tls_streams(c, rl, tmp):
    """The same sessions over TLS (https SSE, wss), on the engine's wolfSSL path."""
    cert, key = make_cert(tmp)
    with StreamServer("sse", tls=(cert, key)) as sse, StreamServer("ws", tls=(cert, key)) as ws:
        name = "HTTPS SSE /events until [DONE]"
        res, recs, problems = run_lines(rl, tmp, name, [
            {"url": sse.url("/events"), "proto": "sse", "until": "[DONE]"}], ["--cacert", cert])
        r = one_record(c, name, res, recs, problems, 200)
        if r is not None:
            eq(c, f"{name}: every event", without_t(r.get("events")), EVENTS_UNTIL_DONE)
            eq(c, f"{name}: stream_end", r.get("stream_end"), "until")
        c.check(f"{name}: report tls block", (res.get("tls", "handshakes") or 0) >= 1, f"tls={res.get('tls')}")

        name = "WSS /echo with a 70,000-byte message"
        big = "y" * 70000
        res, recs, problems = run_lines(rl, tmp, name, [
            {"url": ws.url("/echo"), "messages": ["over tls", {"binary_base64": "3q2+7w=="}, big]}],
            ["--cacert", cert])
        r = one_record(c, name, res, recs, problems, 101)
        if r is not None:
            eq(c, f"{name}: messages echoed byte-exact", without_t(r.get("messages")),
               [{"opcode": "text", "data": "over tls"}, {"opcode": "binary", "data_base64": "3q2+7w=="},
                {"opcode": "text", "data": big}])
            eq(c, f"{name}: close and end", (r.get("close"), r.get("session_end")),
               ({"code": 1000, "reason": "", "by": "client"}, "expect"))
        h.check_no_errors(c, name, res)

        name = "WSS /script: fragments, 64-bit length, ping, close 4001"
        res, recs, problems = run_lines(rl, tmp, name, [{"url": ws.url("/script")}], ["--cacert", cert])
        r = one_record(c, name, res, recs, problems, 101)
        if r is not None:
            eq(c, f"{name}: messages", without_t(r.get("messages")), script_messages())
            eq(c, f"{name}: close", r.get("close"), {"code": 4001, "reason": "done", "by": "server"})
        c.check(f"{name}: pong sent", (res.get("ws", "pongs_sent") or 0) >= 1, f"ws={short(res.get('ws'))}")


def test_sse_run_end(c, rl, sse, tmp):
    """Streams that never end by themselves are counted and exported when -d stops the run."""
    name = "SSE /slow cut by -d 1s on 2 connections"
    out = os.path.join(tmp, slug(name) + "-export.jsonl")
    res = h.run_ringload(rl, ["--sse", "-c", "2", "-t", "1", "-d", "1s", "--export", out, sse.url("/slow")], timeout=60)
    recs, problems = read_export(out)
    check_run_ok(c, name, res)
    check_problems(c, f"{name}: export", problems)
    eq(c, f"{name}: two export lines, both run_end", sorted(r.get("stream_end") for r in recs), ["run_end"] * 2)
    counts = [len(r.get("events") or []) for r in recs]
    c.check(f"{name}: 10-25 events each (one per 50 ms)", all(10 <= n <= 25 for n in counts), f"counts={counts}")
    eq(c, f"{name}: report sse streams and run_end", (res.get("sse", "streams"), res.get("sse", "ended_by", "run_end")),
       (2, 2))
    eq(c, f"{name}: report events == exported", res.get("sse", "events"), sum(counts))
    h.check_no_errors(c, name, res)


def test_sigint(c, rl, sse, ws, tmp):
    """Ctrl-C with streams open: report written, every stream exported once, as run_end."""
    name = "SIGINT after 1 s of endless SSE and WebSocket sessions"
    path = os.path.join(tmp, "sigint-streams.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps({"url": sse.url("/slow"), "proto": "sse"}) + "\n")
        f.write(json.dumps({"url": ws.url("/echo"), "messages": ["x"], "idle_timeout": 100}) + "\n")
    out, report_path = os.path.join(tmp, "sigint-streams-export.jsonl"), os.path.join(tmp, "sigint-streams.json")
    res, after = h.interrupt_ringload(rl, ["-f", path, "--loop", "-d", "30s", "-c", "1", "--export", out,
                                           "-o", report_path], signal.SIGINT, json_report=False)
    c.check(f"{name}: exits 130 within 5 s", res.rc == 130 and after < 5.0, res.describe())
    try:
        with open(report_path) as f:
            report = json.load(f)
        h.validate_report(report, report_path)
    except (OSError, ValueError) as e:
        c.check(f"{name}: -o report", False, f"{e}; {res.describe()}")
        return
    eq(c, f"{name}: interrupted", report.get("interrupted"), True)
    recs, problems = read_export(out)
    check_problems(c, f"{name}: export", problems)
    eq(c, f"{name}: exported lines == requests.total", len(recs), (report.get("requests") or {}).get("total"))
    eq(c, f"{name}: each seq once", sorted(r.get("seq") for r in recs), list(range(len(recs))))
    ends = sorted((r.get("stream_end") or r.get("session_end")) for r in recs)
    eq(c, f"{name}: both streams ended by the stop", ends, ["run_end", "run_end"])
    sse_rec = [r for r in recs if "events" in r]
    c.check(f"{name}: the SSE stream's events are exported", sse_rec and len(sse_rec[0]["events"]) >= 10,
            f"{[len(r.get('events', [])) for r in sse_rec]}")
    ws_rec = [r for r in recs if "messages" in r]
    eq(c, f"{name}: the WebSocket echo is exported", ws_rec and without_t(ws_rec[0]["messages"]),
       [{"opcode": "text", "data": "x"}])


def test_sse_not_found(c, rl, sse, tmp):
    """An SSE request answered 404 is an ordinary failed response: its body is exported."""
    name = "SSE request answered 404"
    res, recs, problems = run_args(rl, tmp, name, ["--sse", "-n", "1", sse.url("/nope")])
    r = one_record(c, name, res, recs, problems, 404)
    if r is None:
        return
    eq(c, f"{name}: no events, the body, end error", (r.get("events"), r.get("body"), r.get("stream_end")),
       ([], "404: Not Found", "error"))
    eq(c, f"{name}: failed, no error counted", (res.get("requests", "failed"), res.get("errors", "read")), (1, 0))


def test_ws_review_cases(c, rl, ws, tmp):
    """Session ends and frames the code review found wrong."""
    name = "WS idle end after 300 ms, not --timeout"
    t0 = time.monotonic()
    res, recs, problems = run_lines(rl, tmp, name, [{"url": ws.url("/echo"), "idle_timeout": 0.3}])
    took = time.monotonic() - t0
    r = one_record(c, name, res, recs, problems, 101)
    c.check(f"{name}: the run took < 5 s (the 30 s --timeout must not hold it)", took < 5, f"{took:.2f}s")
    if r is not None:
        eq(c, f"{name}: session_end", r.get("session_end"), "idle_timeout")

    name = "WS the key's placeholder in the URL"
    res, recs, problems = run_lines(rl, tmp, name, [
        {"url": ws.url("/echo?k=AAAAAAAAAAAAAAAAAAAAAA=="), "messages": ["q"]}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is not None:
        eq(c, f"{name}: echoed", without_t(r.get("messages")), [{"opcode": "text", "data": "q"}])
        eq(c, f"{name}: the URL as given", r.get("url"), ws.url("/echo?k=AAAAAAAAAAAAAAAAAAAAAA=="))

    name = "WS 1 MB message to a server pinging every 10 ms"
    big = "".join(chr(0x61 + i % 26) for i in range(1 << 20))
    res, recs, problems = run_lines(rl, tmp, name, [{"url": ws.url("/ping-echo"), "messages": [big]}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is not None:
        got = [m.get("data") == big for m in r.get("messages") or []]
        eq(c, f"{name}: echoed whole", got, [True])
        eq(c, f"{name}: close and end", (r.get("close"), r.get("session_end"), r.get("error")),
           ({"code": 1000, "reason": "", "by": "client"}, "expect", None))
    h.check_no_errors(c, name, res)

    name = "WS keepalive pings do not hold a session past --timeout"
    t0 = time.monotonic()
    res, recs, problems = run_lines(rl, tmp, name, [{"url": ws.url("/pinger"), "messages": ["x"], "expect": 2}],
                                    ["--timeout", "1s"])
    took = time.monotonic() - t0
    c.check(f"{name}: ends within 6 s", took < 6, f"{took:.2f}s")
    if recs:
        eq(c, f"{name}: a timeout error, the greeting exported",
           ((recs[0].get("error") or {}).get("kind"), without_t(recs[0].get("messages"))),
           ("timeout", [{"opcode": "text", "data": "hi"}]))

    name = "WS four messages 100 ms apart (interval)"
    res, recs, problems = run_lines(rl, tmp, name, [
        {"url": ws.url("/echo"), "messages": ["m1", "m2", "m3", "m4"], "interval": 0.1}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is not None:
        msgs = r.get("messages") or []
        eq(c, f"{name}: echoed in order", [m.get("data") for m in msgs], ["m1", "m2", "m3", "m4"])
        gaps = [b["t_us"] - a["t_us"] for a, b in zip(msgs, msgs[1:])]
        c.check(f"{name}: echoes 80-200 ms apart", len(gaps) == 3 and all(80e3 <= g <= 200e3 for g in gaps),
                f"gaps_us={gaps}")
        c.check(f"{name}: the session lasted >= 300 ms", (r.get("timing") or {}).get("total_us", 0) >= 300e3,
                f"timing={r.get('timing')}")
        eq(c, f"{name}: session_end", r.get("session_end"), "expect")

    name = "WS 'tick' every 100 ms, repeated until stream_timeout 0.55 s"
    res, recs, problems = run_lines(rl, tmp, name, [
        {"url": ws.url("/echo"), "messages": ["tick"], "interval": 0.1, "repeat": 0, "stream_timeout": 0.55}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is not None:
        n = len(r.get("messages") or [])
        c.check(f"{name}: 5-7 echoes", 5 <= n <= 7, f"{n} messages")
        eq(c, f"{name}: session_end, close", (r.get("session_end"), (r.get("close") or {}).get("by")),
           ("stream_timeout", "client"))

    name = "WS server closing with 1011"
    res, recs, problems = run_lines(rl, tmp, name, [{"url": ws.url("/fail-1011")}])
    r = one_record(c, name, res, recs, problems, 101)
    if r is not None:
        eq(c, f"{name}: close by server 1011, session failed",
           (r.get("close"), r.get("session_end")), ({"code": 1011, "reason": "boom", "by": "server"}, "error"))
    eq(c, f"{name}: requests failed, close_codes", (res.get("requests", "failed"), res.get("ws", "close_codes")),
       (1, {"1011": 1}))


def test_random_mix(c, rl, target_bin, tmp):
    """A seeded random mix of WebSocket sessions (sizes at the length-encoding edges, text
    and binary, paced or not) and SSE streams against ringload-target, looped on 16
    connections over 2 shards: every echo byte-exact, every stream whole."""
    rnd = random.Random(7)
    with h.Target(target_bin, threads=1) as tgt:
        ws_url = f"ws://127.0.0.1:{tgt.port}/ws"
        lines = []
        for _ in range(16):
            msgs = []
            for _ in range(rnd.randint(1, 6)):
                n = rnd.choice([0, 1, 125, 126, 65535, 65536, 16384, rnd.randint(0, 100000)])
                if rnd.random() < 0.5:
                    msgs.append("".join(rnd.choice("abcé✓") for _ in range(n // 3)))
                else:
                    msgs.append({"binary_base64": base64.b64encode(rnd.randbytes(n)).decode()})
            line = {"url": ws_url, "messages": msgs}
            if rnd.random() < 0.3:
                line["interval"] = 0.01
            lines.append(line)
        sse_n = {}
        for _ in range(4):
            n, size = rnd.randint(1, 2000), rnd.randint(0, 5000)
            lines.append({"url": tgt.url(f"/sse?n={n}&size={size}"), "proto": "sse"})
            sse_n[len(lines)] = n
        name = "random mix of sessions and streams against ringload-target"
        path, out = os.path.join(tmp, "random-mix.jsonl"), os.path.join(tmp, "random-mix-export.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        res = h.run_ringload(rl, ["-f", path, "--loop", "-d", "3s", "-t", "2", "-c", "16", "--export", out],
                             timeout=60)
        recs, problems = read_export(out)
        if not check_run_ok(c, name, res):
            return
        check_problems(c, f"{name}: export", problems)
        h.check_no_errors(c, name, res)
        eq(c, f"{name}: export lines == requests.total", len(recs), res.total())
        bad, checked = [], 0
        for r in recs:
            spec = lines[r["line"] - 1]
            if "messages" in r and r.get("session_end") == "expect":
                want = [{"opcode": "text", "data": m} if isinstance(m, str)
                        else {"opcode": "binary", "data_base64": m["binary_base64"]} for m in spec["messages"]]
                checked += 1
                if without_t(r["messages"]) != want:
                    bad.append(r["line"])
            elif "events" in r and r.get("stream_end") == "server":
                checked += 1
                if len(r["events"]) != sse_n[r["line"]] + 1 or r["events"][-1].get("data") != "[DONE]":
                    bad.append(r["line"])
        c.check(f"{name}: > 100 sessions and streams checked", checked > 100, f"checked={checked}")
        eq(c, f"{name}: every echo byte-exact, every stream whole (lines that were not)", bad[:10], [])


def test_ws_max_message(c, rl, ws, tmp):
    """--ws-max-message: a bigger message fails the session (protocol), what came before stays."""
    name = "WS /script with --ws-max-message 1000"
    res, recs, problems = run_lines(rl, tmp, name, [{"url": ws.url("/script")}], ["--ws-max-message", "1000"])
    r = one_record(c, name, res, recs, problems, 101)
    if r is None:
        return
    eq(c, f"{name}: error kind", (r.get("error") or {}).get("kind"), "protocol")
    eq(c, f"{name}: the message before the big one is exported", without_t(r.get("messages")),
       script_messages()[:1])
    eq(c, f"{name}: session_end", r.get("session_end"), "error")
    eq(c, f"{name}: report errors.protocol", res.get("errors", "protocol"), 1)


def bad_lines(port):
    http, ws = f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/"
    return [
        ("messages on an sse line", {"url": http, "proto": "sse", "messages": ["x"]}),
        ("body on a ws line", {"url": ws, "body": "x"}),
        ("method POST on a ws line", {"url": ws, "method": "POST"}),
        ("unknown proto", {"url": http, "proto": "bogus"}),
        ("max_events on an http line", {"url": http, "max_events": 3}),
        ("until on an http line", {"url": http, "proto": "http", "until": "x"}),
        ("expect on an sse line", {"url": http, "proto": "sse", "expect": 1}),
        ("max_events 0", {"url": http, "proto": "sse", "max_events": 0}),
        ("stream_timeout 0", {"url": http, "proto": "sse", "stream_timeout": 0}),
        ("expect -1", {"url": ws, "expect": -1}),
        ("a message that is a number", {"url": ws, "messages": [42]}),
        ("bad binary_base64", {"url": ws, "messages": [{"binary_base64": "QU*D"}]}),
    ]


def test_bad_lines(c, rl, tmp):
    refused = h.free_port()  # nothing listens: a line that slipped through would show
    for k, (label, line) in enumerate(bad_lines(refused)):
        path = os.path.join(tmp, f"bad{k}.jsonl")
        with open(path, "w") as f:
            f.write(json.dumps(line) + "\n")
        res = h.run_cli(rl, ["-f", path, "-c", "1", "-d", "2s"])
        name = f"bad file [{label}]"
        c.check(f"{name}: exit 2", res.rc == 2, res.describe())
        c.check(f"{name}: stderr names {path}:1:COLUMN",
                re.search(re.escape(path) + r":1:\d+:", res.err) is not None, res.describe())
        c.check(f"{name}: fails at once, no report", res.elapsed < 5 and res.out == "",
                res.describe())


def tests(env):
    rl, tmp = env.ringload, env.tmp
    sse = env.start(StreamServer("sse", keep=env.keep), exit_check="sse server exits 0 on SIGTERM")
    ws = env.start(StreamServer("ws", keep=env.keep), exit_check="ws server exits 0 on SIGTERM")
    env.checks.check("SSE and WebSocket servers started", True)
    return [(name, fn, rl, *extra) for name, fn, extra in [
        ("sse until", test_sse_until, (sse, tmp)),
        ("sse max events", test_sse_max_events, (sse, tmp)),
        ("sse stream timeout", test_sse_stream_timeout, (sse, tmp)),
        ("sse timeouts", test_sse_timeouts, (sse, tmp)),
        ("sse ends", test_sse_ends, (sse, tmp)),
        ("sse file keys", test_sse_file_keys, (sse, tmp)),
        ("ws echo", test_ws_echo, (ws, tmp)),
        ("ws script", test_ws_script, (ws, tmp)),
        ("ws cli echo", test_ws_cli_echo, (ws, tmp)),
        ("ws abrupt", test_ws_abrupt, (ws, tmp)),
        ("ws subprotocol", test_ws_subprotocol, (ws, tmp)),
        ("bad lines", test_bad_lines, (tmp,)),
        ("ws max message", test_ws_max_message, (ws, tmp)),
        ("sse run end", test_sse_run_end, (sse, tmp)),
        ("sigint", test_sigint, (sse, ws, tmp)),
        ("sse not found", test_sse_not_found, (sse, tmp)),
        ("ws review cases", test_ws_review_cases, (ws, tmp)),
        ("random mix", test_random_mix, (env.target, tmp)),
        ("tls streams", test_tls_streams, (tmp,)),
    ]]


if __name__ == "__main__":
    h.main(tests, title="streams", tmp_prefix="ringload-streams-", description=__doc__)
