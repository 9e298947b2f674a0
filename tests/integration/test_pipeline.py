"""HTTP/1.1 pipelining (--pipeline N) against real servers on loopback.

- nginx and ringload-target at N = 1, 4, 16, closed loop (-n exact) and --qps: the
  server's own count (nginx's access log lines, the target's /count) equals the report's
  requests; the export has one line per request, each response matched to its own
  request in order (nginx echoes the URI; HEAD and POST lines mixed in).
- nginx over TLS with --pipeline 8.
- A Python server that answers k responses per connection and then closes with requests
  left: the rest are unanswered (read errors, requests.pipeline_unanswered), not resent,
  -n stays exact, no hang. A server that never answers: the oldest times out, the rest
  are unanswered.
- Servers out of spec (bytes after a response, a response too many) are protocol errors,
  never a crash or a hang.
- Refusals: --pipeline with --h2c/--http2, SSE, WebSocket, out of range: exit 2
  naming --pipeline.

Run: python3 test_pipeline.py --ringload PATH --target PATH
"""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_https  # noqa: E402  (its certificate lab)

EXIT_USAGE = 2

# nginx echoes each request's URI: a response matched to the wrong request shows.
ECHO_LOCATIONS = """\
        location /echo/ { return 200 "$request_uri\\n"; }
        location = /close { keepalive_timeout 0; return 200 "ok\\n"; }
        location / { return 200 "ok\\n"; }
"""


def check_pipelined(c, name, res, n, depth):
    """An -n run that went well: exact count, no errors, the depth in the report."""
    if not h.check_run_ok(c, name, res):
        return False
    c.eq(f"{name}: requests.total", res.total(), n)
    c.eq(f"{name}: requests.succeeded", res.get("requests", "succeeded"), n)
    c.eq(f"{name}: in_flight_at_end", res.get("requests", "in_flight_at_end"), 0)
    c.eq(f"{name}: pipeline_unanswered", res.get("requests", "pipeline_unanswered"), 0)
    c.eq(f"{name}: config.pipeline", res.get("config", "pipeline"), depth)
    h.check_no_errors(c, name, res)
    return True


def test_nginx_closed(c, rl, ngx, tmp):
    for depth in (1, 4, 16):
        name = f"nginx --pipeline {depth} -n 3000 -c 4"
        ngx.clear_logs()
        res = h.run_ringload(rl, ["--pipeline", str(depth), "-n", "3000", "-c", "4", ngx.url("/")], timeout=60)
        if not check_pipelined(c, name, res, 3000, depth):
            continue
        lines = ngx.settled_log(expected=3000)
        c.eq(f"{name}: nginx access log lines", len(lines), 3000)
        opened = res.get("connections_opened") or 0
        c.check(f"{name}: keep-alive: 4 connections", opened == 4, f"connections_opened={opened}")
        c.check(f"{name}: bytes.out >= 3000 request heads", (res.get("bytes", "out") or 0) >= 3000 * 18,
                f"bytes={res.get('bytes')}")


def test_nginx_open(c, rl, ngx):
    name = "nginx --pipeline 16 -c 2 --qps 4000 -d 1s"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--pipeline", "16", "-c", "2", "--qps", "4000", "-d", "1s", ngx.url("/")],
                         timeout=1 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    total = h.check_served(c, name, res, lambda n: len(ngx.settled_log(expected=n)), "log lines",
                           "requests.total", 3000)
    c.eq(f"{name}: succeeded == total", res.get("requests", "succeeded"), total)
    h.check_no_errors(c, name, res)
    c.eq(f"{name}: config.pipeline", res.get("config", "pipeline"), 16)
    lag = res.get("send_lag_us", "p50")
    c.check(f"{name}: send lag p50 under 5 ms", lag is not None and lag < 5000, f"send_lag_us.p50={lag}")


def test_export_in_order(c, rl, ngx, tmp):
    """GET, HEAD and POST lines (each URI its own), pipelined 8 deep: each export line's body
    is its own request's URI."""
    path = os.path.join(tmp, "pipe.ndjson")
    lines = []
    for i in range(60):
        url = ngx.url(f"/echo/{i}")
        if i % 5 == 3:
            lines.append({"url": url, "method": "HEAD"})
        elif i % 5 == 4:
            lines.append({"url": url, "method": "POST", "body": "x" * (i * 7)})
        else:
            lines.append({"url": url})
    with open(path, "w") as f:
        for ln in lines:
            f.write(json.dumps(ln) + "\n")
    export = os.path.join(tmp, "pipe-export.jsonl")
    name = "nginx -f (GET/HEAD/POST) --iterations 5 --pipeline 8 -c 2 --export"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-f", path, "--iterations", "5", "--pipeline", "8", "-c", "2", "--export", export],
                         timeout=60)
    if not check_pipelined(c, name, res, 300, 8):
        return
    c.eq(f"{name}: nginx access log lines", len(ngx.settled_log(expected=300)), 300)
    records, problems = h.read_export(export)
    c.eq(f"{name}: export problems", problems, [])
    c.eq(f"{name}: export lines == requests", len(records), 300)
    c.eq(f"{name}: seq 0..299", sorted(r.get("seq") for r in records), list(range(300)))
    wrong = []
    for r in records:
        uri = "/" + r.get("url", "").split("/", 3)[-1]
        want = "" if r.get("method") == "HEAD" else uri + "\n"
        if r.get("status") != 200 or r.get("body") != want:
            wrong.append((r.get("method"), uri, r.get("status"), r.get("body")))
    c.eq(f"{name}: each response is its own request's (body echoes the URI)", wrong[:5], [])
    per_line = {}
    for r in records:
        per_line[r.get("line")] = per_line.get(r.get("line"), 0) + 1
    c.eq(f"{name}: each line exported once per pass", set(per_line.values()), {5})
    timings = [r.get("timing", {}).get("total_us") for r in records]
    c.check(f"{name}: each line has its own latency > 0", all(t is not None and t > 0 for t in timings),
            f"timings={timings[:10]}")


def test_tls(c, rl, tls_ngx, ca):
    name = "nginx TLS --pipeline 8 -n 2000 -c 2"
    tls_ngx.clear_logs()
    res = h.run_ringload(rl, ["--cacert", ca, "--pipeline", "8", "-n", "2000", "-c", "2",
                              tls_ngx.url("/").replace("127.0.0.1", "localhost")], timeout=60)
    if check_pipelined(c, name, res, 2000, 8):
        c.eq(f"{name}: nginx access log lines", len(tls_ngx.settled_log(expected=2000)), 2000)
        c.eq(f"{name}: tls.handshakes", res.get("tls", "handshakes"), 2)


def test_target(c, rl, tgt):
    for depth in (1, 4, 16):
        name = f"ringload-target --pipeline {depth} -n 5000 -c 4"
        tgt.reset()
        res = h.run_ringload(rl, ["--pipeline", str(depth), "-n", "5000", "-c", "4", tgt.url("/")], timeout=60)
        if check_pipelined(c, name, res, 5000, depth):
            c.eq(f"{name}: target's count", tgt.settled_count(expected=5000), 5000)
    name = "ringload-target --pipeline 16 -c 4 --qps 5000 -d 1s"
    tgt.reset()
    res = h.run_ringload(rl, ["--pipeline", "16", "-c", "4", "--qps", "5000", "-d", "1s", tgt.url("/")],
                         timeout=1 + h.RUN_SLACK_S)
    if h.check_run_ok(c, name, res):
        h.check_served(c, name, res, lambda n: tgt.settled_count(expected=n), "target count", "requests.total",
                       4000)
        h.check_no_errors(c, name, res)


# ------------------------------------------------------------------ Python peers

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"


def read_heads(conn, want, idle=0.3):
    """Reads request heads until there are `want`, nothing came for `idle` seconds, or the
    client closed: (heads, client closed)."""
    buf = b""
    conn.settimeout(idle)
    for _ in range(10000):
        if buf.count(b"\r\n\r\n") >= want:
            break
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            return buf.count(b"\r\n\r\n"), True
        buf += chunk
    conn.settimeout(5)
    return buf.count(b"\r\n\r\n"), False


def close_after(k, served):
    """Per connection: waits for more than k requests (or a pause), answers k of them, ends
    its side (FIN) and reads until the client closes (no RST that could drop the answers)."""
    def behaviour(conn, stop):
        heads, closed = read_heads(conn, k + 1)
        if closed:
            return
        n = min(k, heads)
        conn.sendall(RESPONSE * n)
        served.add(n)
        conn.shutdown(socket.SHUT_WR)
        for _ in range(10000):
            if stop.is_set() or not conn.recv(65536):
                return
    return behaviour


def test_close_mid_pipeline(c, rl):
    stop = threading.Event()
    served = h.Tally()
    port = h.serve(close_after(3, served), stop)
    try:
        name = "server answers 3 then closes: --pipeline 8 -c 2 -n 200"
        res = h.run_ringload(rl, ["--pipeline", "8", "-c", "2", "-n", "200", "--timeout", "5s",
                                  f"http://127.0.0.1:{port}/"], timeout=60)
        if not h.check_run_ok(c, name, res):
            return
        total = res.total() or 0
        ok = res.get("requests", "succeeded") or 0
        failed = res.get("requests", "failed") or 0
        unanswered = res.get("requests", "pipeline_unanswered") or 0
        errs = {k: v for k, v in (res.get("errors", default={}) or {}).items() if v}
        c.eq(f"{name}: -n exact: total 200 (not resent)", total, 200)
        h.wait_until(lambda: served.value >= ok, 3.0)
        c.eq(f"{name}: succeeded == responses the server sent", ok, served.value)
        c.check(f"{name}: some unanswered", unanswered > 0, f"requests={res.get('requests')}")
        c.eq(f"{name}: failed == unanswered == read errors", (failed, errs), (unanswered, {"read": unanswered}))
        first = (res.get("first_errors", default={}) or {}).get("read") or ""
        c.check(f"{name}: first_errors.read says unanswered", "unanswered" in first, f"first={first!r}")
        c.eq(f"{name}: in_flight_at_end", res.get("requests", "in_flight_at_end"), 0)
        c.check(f"{name}: no hang (< 30 s)", res.elapsed < 30, f"elapsed={res.elapsed:.1f}")
    finally:
        stop.set()


def never_answers(conn, stop):
    for _ in range(10000):
        if stop.is_set() or not conn.recv(65536):
            return


def test_timeout(c, rl):
    stop = threading.Event()
    port = h.serve(never_answers, stop)
    try:
        name = "server never answers: --pipeline 4 -c 1 -n 8 --timeout 300ms"
        res = h.run_ringload(rl, ["--pipeline", "4", "-c", "1", "-n", "8", "--timeout", "300ms",
                                  f"http://127.0.0.1:{port}/"], timeout=30)
        if not h.check_run_ok(c, name, res):
            return
        errs = {k: v for k, v in (res.get("errors", default={}) or {}).items() if v}
        c.eq(f"{name}: total 8, none succeeded", (res.total(), res.get("requests", "succeeded")), (8, 0))
        c.eq(f"{name}: the oldest of each pipeline times out, the rest unanswered",
             (errs, res.get("requests", "pipeline_unanswered")), ({"timeout": 2, "read": 6}, 6))
        c.check(f"{name}: no hang (< 10 s)", res.elapsed < 10, f"elapsed={res.elapsed:.1f}")
    finally:
        stop.set()


def answers_with(extra_per_request):
    """Answers each batch of request heads at once: per request a response and then
    `extra_per_request` (garbage bytes, or a response to no request)."""
    def behaviour(conn, stop):
        buf = b""
        for _ in range(100000):
            if stop.is_set():
                return
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            n = buf.count(b"\r\n\r\n")
            if n:
                buf = buf[buf.rfind(b"\r\n\r\n") + 4:]
                conn.sendall((RESPONSE + extra_per_request) * n)
    return behaviour


def test_out_of_spec(c, rl):
    cases = [
        ("bytes after each response", b"GARBAGE"),
        ("a response too many for each request", RESPONSE),
    ]
    for what, extra in cases:
        stop = threading.Event()
        port = h.serve(answers_with(extra), stop)
        try:
            name = f"server sends {what}: --pipeline 4 -c 1 -n 100"
            res = h.run_ringload(rl, ["--pipeline", "4", "-c", "1", "-n", "100", "--timeout", "5s",
                                      f"http://127.0.0.1:{port}/"], timeout=60)
            if not h.check_run_ok(c, name, res):
                continue
            c.eq(f"{name}: -n exact", res.total(), 100)
            errs = {k: v for k, v in (res.get("errors", default={}) or {}).items() if v}
            c.check(f"{name}: protocol errors, no other kind but read (unanswered)",
                    errs.get("protocol", 0) > 0 and set(errs) <= {"protocol", "read"}, f"errors={errs}")
            c.eq(f"{name}: succeeded + failed == total",
                 (res.get("requests", "succeeded") or 0) + (res.get("requests", "failed") or 0), 100)
            c.check(f"{name}: no hang (< 30 s)", res.elapsed < 30, f"elapsed={res.elapsed:.1f}")
        finally:
            stop.set()


# ------------------------------------------------------------------------ refusals

def test_refusals(c, rl, tmp):
    url = "http://127.0.0.1:9/"
    stream_file = os.path.join(tmp, "stream.ndjson")
    with open(stream_file, "w") as f:
        f.write(json.dumps({"url": url}) + "\n" + json.dumps({"url": url, "proto": "sse"}) + "\n")
    cases = [
        (["--pipeline", "4", "--h2c", "-n", "1", url], "--h2c"),
        (["--pipeline", "4", "--http2", "-n", "1", "https://127.0.0.1:9/"], "--http2"),
        (["--pipeline", "4", "--sse", "-n", "1", url], "SSE"),
        (["--pipeline", "4", "-n", "1", "ws://127.0.0.1:9/"], "WebSocket"),
        (["--pipeline", "4", "--tls-handshake-each", "-n", "1", url], "--tls-handshake-each"),
        (["--pipeline", "0", "-n", "1", url], "--pipeline"),
        (["--pipeline", "1025", "-n", "1", url], "--pipeline"),
        (["--pipeline", "-3", "-n", "1", url], "--pipeline"),
    ]
    for args, word in cases:
        res = h.run_cli(rl, args)
        name = "refused: " + " ".join(args[:3])
        c.check(f"{name}: exit 2, names --pipeline and {word}",
                res.rc == EXIT_USAGE and "--pipeline" in res.err and word in res.err, res.describe())
    res = h.run_cli(rl, ["--pipeline", "4", "-f", stream_file, "-n", "1"])
    c.check("refused: -f with an SSE line: exit 2, names --pipeline and the line",
            res.rc == EXIT_USAGE and "--pipeline" in res.err and "stream.ndjson:2" in res.err, res.describe())


def tests(env):
    rl = env.ringload
    ngx = env.start(h.Nginx(workers=1, keep=env.keep, servers={"": h.NginxServer(locations=ECHO_LOCATIONS)}),
                    started="nginx started")
    tgt = env.start(h.Target(env.target, keep=env.keep), started="ringload-target started")
    lab = os.path.join(env.tmp, "lab")
    os.makedirs(lab)
    test_https.make_lab(lab)
    tls_ngx = env.start(h.Nginx(workers=1, keep=env.keep, servers={"": h.NginxServer(tls=True)},
                                http=(f"    ssl_certificate {lab}/server.pem;\n"
                                      f"    ssl_certificate_key {lab}/server.key;\n")),
                        started="nginx (TLS) started")
    return [
        ("refusals", test_refusals, rl, env.tmp),
        ("nginx closed loop", test_nginx_closed, rl, ngx, env.tmp),
        ("nginx open loop", test_nginx_open, rl, ngx),
        ("export in order", test_export_in_order, rl, ngx, env.tmp),
        ("tls", test_tls, rl, tls_ngx, os.path.join(lab, "ca.pem")),
        ("ringload-target", test_target, rl, tgt),
        ("close mid-pipeline", test_close_mid_pipeline, rl),
        ("timeout", test_timeout, rl),
        ("out of spec", test_out_of_spec, rl),
    ]


if __name__ == "__main__":
    h.main(tests, title="pipeline", description=__doc__)
