"""ringload over HTTP/2 against nginx: h2c with prior knowledge (--h2c) and h2 by ALPN
(--http2, with the fallback to HTTP/1.1 when the server does not offer h2). Each stream is
one request: the report's counts must equal nginx's access log, where every line says
which protocol carried it ($server_protocol).

Run: python3 test_http2.py --ringload PATH --target PATH
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_https  # noqa: E402  (its certificate lab)

# nginx answers / and /s404 itself; /slow sends the 100 KB file at 100 KB/s (about 1 s a
# response) on a server that takes 4 streams at once per connection.
H2_LOCATIONS = """\
        location = /s404 { return 404; }
        location = /big { }
        location / { return 200 "ok\\n"; }
"""
SLOW_LOCATIONS = """\
        location = /slow { limit_rate 100k; try_files /big =404; }
        location / { return 200 "ok\\n"; }
"""


def protocols(lines):
    """{protocol: count} of "proto" log lines ($status $method $uri $server_protocol)."""
    out = {}
    for ln in lines:
        p = ln.split(" ")[-1]
        out[p] = out.get(p, 0) + 1
    return out


def check_h2_run(c, name, res, ngx, server, total, status="200"):
    """A run of `total` requests that all succeeded, each one HTTP/2.0 line in nginx's log."""
    if not h.check_run_ok(c, name, res):
        return False
    c.eq(f"{name}: requests.total", res.total(), total)
    c.eq(f"{name}: status_codes", res.get("status_codes"), {status: total})
    c.eq(f"{name}: in_flight_at_end", res.get("requests", "in_flight_at_end"), 0)
    h.check_no_errors(c, name, res)
    lines = ngx.settled_log(server, expected=total)
    c.eq(f"{name}: nginx log lines by protocol", protocols(lines), {"HTTP/2.0": total})
    c.eq(f"{name}: nginx log by status/method", h.summarize_log(lines), {(status, "GET"): total})
    return True


def test_exact(c, rl, ngx):
    # --batch-wait: the closed loop's wait for a batch of completions (default 50 us), or a
    # wake per completion (0); the counts are exact either way.
    cases = ((1, 1, 300, None), (4, 8, 2000, None), (3, 32, 1001, "0"), (4, 16, 999, "200us"))
    for conns, streams, n, wait in cases:
        extra = ["--batch-wait", wait] if wait is not None else []
        name = f"h2c -n {n} -c {conns} --max-streams {streams} {' '.join(extra)}".strip()
        ngx.clear_logs()
        res = h.run_ringload(rl, ["--h2c", "-n", str(n), "-c", str(conns), "--max-streams", str(streams)] + extra +
                             [ngx.server_url("h2c")], timeout=60)
        if check_h2_run(c, name, res, ngx, "h2c", n):
            c.eq(f"{name}: config.batch_wait_us", (res.get("config") or {}).get("batch_wait_us"),
                 {None: 50, "0": 0, "200us": 200}[wait])
            c.eq(f"{name}: connections_opened", res.get("connections_opened"), conns)
            b = res.get("http2") or {}
            c.eq(f"{name}: http2.streams", b.get("streams"), n)
            c.eq(f"{name}: http2.connections", b.get("connections"), conns)
            c.eq(f"{name}: http2.max_streams", b.get("max_streams"), streams)
            c.check(f"{name}: 1 <= http2.max_concurrent <= {streams}", 1 <= (b.get("max_concurrent") or 0) <= streams,
                    f"http2={b}")
            # nginx 1.22's defaults: 128 streams, 64 KiB - 1 window, 16 KiB frames.
            c.eq(f"{name}: http2.settings", b.get("settings"),
                 {"max_concurrent_streams": 128, "initial_window_size": 65536, "max_frame_size": 16777215,
                  "header_table_size": None, "max_header_list_size": None})
            c.eq(f"{name}: no resets, no GOAWAY", (sum((b.get("rst_stream_received") or {}).values()),
                                                   b.get("goaways"), b.get("rst_stream_sent")), (0, 0, 0))
            c.check(f"{name}: header blocks compress (HPACK): block < decoded",
                    0 < (b.get("header_block_bytes") or 0) < (b.get("header_decoded_bytes") or 0), f"http2={b}")


def test_statuses(c, rl, ngx):
    name = "h2c -n 200 /s404"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--h2c", "-n", "200", "-c", "2", "--max-streams", "10",
                              "--success-status", "404", ngx.server_url("h2c", "/s404")], timeout=60)
    check_h2_run(c, name, res, ngx, "h2c", 200, status="404")
    name = "h2c -n 50 /big (100 KB bodies over flow control)"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--h2c", "-n", "50", "-c", "2", "--max-streams", "8",
                              ngx.server_url("h2c", "/big")], timeout=60)
    if check_h2_run(c, name, res, ngx, "h2c", 50):
        c.check(f"{name}: bytes.in >= 50 * 100 KB", (res.get("bytes", "in") or 0) >= 50 * h.BIG_FILE_SIZE,
                f"bytes={res.get('bytes')}")


def test_duration(c, rl, ngx):
    name = "h2c -d 2s -c 4 --max-streams 16"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--h2c", "-d", "2s", "-c", "4", "--max-streams", "16", ngx.server_url("h2c")],
                         timeout=2 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    in_flight = res.get("requests", "in_flight_at_end") or 0
    c.check(f"{name}: in_flight_at_end <= 4 * 16", in_flight <= 64, f"in_flight_at_end={in_flight}")
    h.check_served(c, name, res, lambda n: len(ngx.settled_log("h2c", expected=n)), "log lines",
                   "requests.total", 1000)
    h.check_no_errors(c, name, res)
    c.eq(f"{name}: every log line is HTTP/2.0", set(protocols(ngx.log_lines("h2c"))), {"HTTP/2.0"})


def test_open_loop(c, rl, ngx):
    name = "h2c --qps 400 -n 600 -c 2 --max-streams 4"
    ngx.clear_logs()
    t0 = time.monotonic()
    res = h.run_ringload(rl, ["--h2c", "--qps", "400", "-n", "600", "-c", "2", "--max-streams", "4",
                              ngx.server_url("h2c")], timeout=30)
    if check_h2_run(c, name, res, ngx, "h2c", 600):
        dur = res.get("duration_s") or 0
        c.check(f"{name}: about 1.5 s at 400/s", 1.3 <= dur <= 2.5, f"duration_s={dur} wall={time.monotonic() - t0:.2f}")
        c.eq(f"{name}: unsent_at_end", res.get("requests", "unsent_at_end", default=0), 0)


def test_stages(c, rl, ngx):
    # 0 -> 200/s over 1 s, then 200/s for 1 s: 300 requests scheduled.
    name = 'h2c --stages "1s:200,1s:200" -c 2 --max-streams 4'
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--h2c", "--stages", "1s:200,1s:200", "-c", "2", "--max-streams", "4",
                              ngx.server_url("h2c")], timeout=2 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    h.check_no_errors(c, name, res)
    total = h.check_served(c, name, res, lambda n: len(ngx.settled_log("h2c", expected=n)), "log lines",
                           "requests.total", 250)
    c.check(f"{name}: 300 +-5% sent", abs(total - 300) <= 15, f"total={total}")
    c.eq(f"{name}: every log line is HTTP/2.0", set(protocols(ngx.log_lines("h2c"))), {"HTTP/2.0"})
    c.eq(f"{name}: http2.streams == requests sent", (res.get("http2") or {}).get("streams"),
         total + (res.get("requests", "in_flight_at_end") or 0))
    c.eq(f"{name}: unsent_at_end", res.get("requests", "unsent_at_end", default=0), 0)


def test_adaptive(c, rl, ngx):
    name = "h2c --adaptive --qps 200 -d 3s -c 2 --max-streams 8"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--h2c", "--adaptive", "--qps", "200", "--qps-max", "5000", "-d", "3s", "-c", "2",
                              "--max-streams", "8", ngx.server_url("h2c")], timeout=3 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    h.check_no_errors(c, name, res)
    h.check_served(c, name, res, lambda n: len(ngx.settled_log("h2c", expected=n)), "log lines",
                   "requests.total", 300)
    c.eq(f"{name}: every log line is HTTP/2.0", set(protocols(ngx.log_lines("h2c"))), {"HTTP/2.0"})
    targets = [w.get("target_qps") for w in res.get("qps_timeline", default=[]) or []]
    c.check(f"{name}: the controller set a rate for each window", len(targets) >= 2 and all(
        isinstance(t, (int, float)) and t > 0 for t in targets), f"target_qps={targets}")
    c.check(f"{name}: no errors, so the rate went up", len(targets) >= 2 and max(targets[1:]) > targets[0],
            f"target_qps={targets}")


def test_max_streams(c, rl, ngx):
    # The server takes 4 streams at once; asking for 32 must not exceed it (nginx refuses a
    # fifth stream with RST_STREAM REFUSED_STREAM, which would be an error).
    name = "h2c --max-streams 32 against http2_max_concurrent_streams 4"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--h2c", "-n", "12", "-c", "1", "--max-streams", "32",
                              ngx.server_url("slow", "/slow")], timeout=60)
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: requests.total", res.total(), 12)
    h.check_no_errors(c, name, res)
    c.eq(f"{name}: nginx log", protocols(ngx.settled_log("slow", expected=12)), {"HTTP/2.0": 12})
    # 12 one-second responses, 4 at a time on the one connection: about 3 s, not 1 or 12.
    dur = res.get("duration_s") or 0
    c.check(f"{name}: 12 slow responses 4 at a time take 2.5-6 s", 2.5 <= dur <= 6, f"duration_s={dur}")
    b = res.get("http2") or {}
    c.eq(f"{name}: http2.max_concurrent", b.get("max_concurrent"), 4)
    c.eq(f"{name}: http2.settings.max_concurrent_streams", (b.get("settings") or {}).get("max_concurrent_streams"), 4)


def test_export(c, rl, ngx, tmp):
    name = "h2c --export"
    path = os.path.join(tmp, "h2.jsonl")
    res = h.run_ringload(rl, ["--h2c", "-n", "40", "-c", "2", "--max-streams", "8", "--export", path,
                              ngx.server_url("h2c")], timeout=60)
    if not h.check_run_ok(c, name, res):
        return
    records, problems = h.read_export(path)
    c.eq(f"{name}: export problems", problems, [])
    c.eq(f"{name}: lines", len(records), 40)
    c.eq(f"{name}: protocols", {r.get("protocol") for r in records}, {"HTTP/2"})
    c.eq(f"{name}: statuses", {r.get("status") for r in records}, {200})
    c.eq(f"{name}: bodies", {r.get("body") for r in records}, {"ok\n"})
    names = {tuple(sorted(k for k, _ in r.get("headers", []))) for r in records}
    c.check(f"{name}: headers listed (content-type, server)",
            all("content-type" in n and "server" in n for n in names), f"header names={names}")
    c.eq(f"{name}: seq 0..39", sorted(r.get("seq") for r in records), list(range(40)))


def test_alpn(c, rl, tls, lab):
    ca = os.path.join(lab, "ca.pem")
    name = "--http2 -n 500 -c 2 --max-streams 8 (ALPN h2)"
    tls.clear_logs()
    res = h.run_ringload(rl, ["--http2", "--cacert", ca, "-n", "500", "-c", "2", "--max-streams", "8",
                              tls.server_url("h2", host="localhost")], timeout=60)
    if check_h2_run(c, name, res, tls, "h2", 500):
        c.eq(f"{name}: tls.handshakes", res.get("tls", "handshakes"), 2)
        c.check(f"{name}: no fallback notice", not any("ALPN" in n for n in res.get("notices", default=[]) or []),
                f"notices={res.get('notices')}")
    name = "--http2 -n 300 -c 3 against a TLS server without h2 (fallback)"
    res = h.run_ringload(rl, ["--http2", "--cacert", ca, "-n", "300", "-c", "3", "--max-streams", "8",
                              tls.server_url("h1", host="localhost")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: requests.total", res.total(), 300)
        h.check_no_errors(c, name, res)
        lines = tls.settled_log("h1", expected=300)
        c.eq(f"{name}: nginx log lines by protocol", protocols(lines), {"HTTP/1.1": 300})
        notes = [n for n in res.get("notices", default=[]) or [] if "ALPN" in n]
        c.eq(f"{name}: one notice of the fallback", len(notes), 1)
        c.check(f"{name}: it names the connections", notes and "on 3 connection" in notes[0], f"notices={notes}")
        c.eq(f"{name}: http2.alpn_fallbacks, connections", ((res.get("http2") or {}).get("alpn_fallbacks"),
             (res.get("http2") or {}).get("connections")), (3, 0))
    name = "https without --http2 stays HTTP/1.1 on an h2 server"
    tls.clear_logs()
    res = h.run_ringload(rl, ["--cacert", ca, "-n", "100", "-c", "2", tls.server_url("h2", host="localhost")],
                         timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: total", res.total(), 100)
        c.eq(f"{name}: nginx log lines by protocol", protocols(tls.settled_log("h2", expected=100)),
             {"HTTP/1.1": 100})
        c.eq(f"{name}: http2 is null", res.get("http2", default="absent"), None)


def test_refusals(c, rl, ngx):
    cases = [
        (["--h2c", "--sse"], "SSE and WebSocket"),
        (["--max-streams", "4"], "--max-streams"),
        (["--h2c", "--max-streams", "0"], "--max-streams"),
        (["--http2"], "https://"),
        (["--h2c", "--batch-wait", "2s"], "--batch-wait"),
        (["--h2c", "--batch-wait", "-1us"], "--batch-wait"),
    ]
    for args, words in cases:
        name = f"refused: {' '.join(args)}"
        res = h.run_cli(rl, args + ["-n", "1", ngx.server_url("h2c")])
        c.eq(f"{name}: exit status", res.rc, 2)
        c.check(f"{name}: message names {words}", words in res.err, f"stderr={res.err[-300:]!r}")


def tests(env):
    rl = env.ringload
    servers = {
        "h2c": h.NginxServer(locations=H2_LOCATIONS, http2=True),
        "slow": h.NginxServer(locations=SLOW_LOCATIONS,
                              directives="        root {tmp}/www;\n        http2_max_concurrent_streams 4;\n",
                              http2=True),
    }
    ngx = env.start(h.Nginx(workers=1, keep=env.keep, servers=servers), started="nginx (h2c) started")
    lab = os.path.join(env.tmp, "lab")
    os.makedirs(lab)
    test_https.make_lab(lab)
    cert = (f"    ssl_certificate {lab}/server.pem;\n    ssl_certificate_key {lab}/server.key;\n")
    tls_servers = {
        "h2": h.NginxServer(locations=H2_LOCATIONS, tls=True, http2=True),
        "h1": h.NginxServer(locations=H2_LOCATIONS, tls=True, http2=False, log="proto"),
    }
    tls = env.start(h.Nginx(workers=1, keep=env.keep, servers=tls_servers, http=cert), started="nginx (TLS) started")
    return [
        ("exact", test_exact, rl, ngx),
        ("statuses", test_statuses, rl, ngx),
        ("duration", test_duration, rl, ngx),
        ("open loop", test_open_loop, rl, ngx),
        ("stages", test_stages, rl, ngx),
        ("adaptive", test_adaptive, rl, ngx),
        ("max streams", test_max_streams, rl, ngx),
        ("export", test_export, rl, ngx, env.tmp),
        ("ALPN", test_alpn, rl, tls, lab),
        ("refusals", test_refusals, rl, ngx),
    ]


if __name__ == "__main__":
    h.main(tests, title="http2", description=__doc__)
