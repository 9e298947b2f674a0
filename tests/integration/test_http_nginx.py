"""ringload against a real nginx: its counts must match nginx's access log.

Run: python3 test_http_nginx.py --ringload PATH --target PATH
"""
import email.utils
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def test_exact_count(c, rl, ngx):
    name = "nginx -n 1000 -c 10"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-n", "1000", "-c", "10", ngx.url("/")], timeout=60)
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: report schema problems", h.schema_problems(res.report), [])
    c.eq(f"{name}: requests.total", res.total(), 1000)
    c.eq(f"{name}: requests.succeeded", res.get("requests", "succeeded"), 1000)
    c.eq(f"{name}: requests.failed", res.get("requests", "failed"), 0)
    c.eq(f"{name}: in_flight_at_end", res.get("requests", "in_flight_at_end"), 0)
    c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 1000})
    h.check_no_errors(c, name, res)
    lines = ngx.settled_log(expected=1000)
    c.eq(f"{name}: nginx access log lines", len(lines), 1000)
    c.eq(f"{name}: access log by status/method", h.summarize_log(lines), {("200", "GET"): 1000})
    c.eq(f"{name}: report url", res.get("url"), ngx.url("/"))
    c.eq(f"{name}: report method", res.get("method"), "GET")
    c.eq(f"{name}: report connections", res.get("connections"), 10)
    c.eq(f"{name}: interrupted", res.get("interrupted"), False)
    # Every response is "HTTP/1.1 200 OK" plus headers plus "ok\n": at least 20 bytes each.
    c.check(f"{name}: bytes.in >= 1000 * 20", (res.get("bytes", "in") or 0) >= 20000,
            f"bytes={res.get('bytes')}")
    c.check(f"{name}: bytes.out >= 1000 * len('GET / HTTP/1.1\\r\\n\\r\\n')",
            (res.get("bytes", "out") or 0) >= 1000 * 18, f"bytes={res.get('bytes')}")
    opened = res.get("connections_opened") or 0
    c.check(f"{name}: keep-alive: 10 <= connections_opened <= 11", 10 <= opened <= 11,
            f"connections_opened={opened}")
    lat = res.get("latency_us") or {}
    c.check(f"{name}: latency min <= p50 <= p99 <= max, > 0",
            0 < lat.get("min", 0) <= lat.get("p50", 0) <= lat.get("p99", 0) <= lat.get("max", 0),
            f"latency_us={lat}")


def test_duration(c, rl, ngx):
    name = "nginx -d 2s -c 64"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-d", "2s", "-c", "64", ngx.url("/")], timeout=2 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    total = h.check_served(c, name, res, lambda n: len(ngx.settled_log(expected=n)), "log lines",
                           "requests.total", 1000)
    c.eq(f"{name}: succeeded == total", res.get("requests", "succeeded"), total)
    h.check_no_errors(c, name, res)
    dur = res.get("duration_s") or 0
    c.check(f"{name}: duration_s in [1.9, 3.0]", 1.9 <= dur <= 3.0, f"duration_s={dur}")
    c.check(f"{name}: wall time < 2 s + 10 s", res.elapsed < 12, f"elapsed={res.elapsed:.2f}")
    rps = res.get("throughput", "rps") or 0
    c.check(f"{name}: throughput.rps ~ total / duration_s",
            dur > 0 and abs(rps - total / dur) <= 0.05 * total / dur + 1,
            f"rps={rps} total={total} duration_s={dur}")
    timeline = res.get("timeline") or []
    c.check(f"{name}: timeline has windows", len(timeline) >= 1, f"timeline={timeline}")
    c.check(f"{name}: timeline requests sum <= total",
            sum(w.get("requests", 0) for w in timeline) <= total, f"timeline={timeline}")
    c.check(f"{name}: connections_opened >= 64", (res.get("connections_opened") or 0) >= 64,
            f"connections_opened={res.get('connections_opened')}")


def test_many_connections(c, rl, ngx):
    name = "nginx -d 2s -c 1000"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-d", "2s", "-c", "1000", ngx.url("/")], timeout=2 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    h.check_served(c, name, res, lambda n: len(ngx.settled_log(expected=n)), "log lines", more_than=1000)
    h.check_no_errors(c, name, res)
    opened = res.get("connections_opened") or 0
    c.check(f"{name}: 1000 <= connections_opened <= 1001", 1000 <= opened <= 1001,
            f"connections_opened={opened}")


def test_statuses(c, rl, ngx):
    name = "nginx /s404 default success"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-n", "500", "-c", "8", ngx.url("/s404")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: total", res.total(), 500)
        c.eq(f"{name}: failed", res.get("requests", "failed"), 500)
        c.eq(f"{name}: succeeded", res.get("requests", "succeeded"), 0)
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"404": 500})
        h.check_no_errors(c, name, res)
        c.eq(f"{name}: log", h.summarize_log(ngx.settled_log(expected=500)), {("404", "GET"): 500})

    name = "nginx /s404 --success-status 200-499"
    res = h.run_ringload(rl, ["-n", "500", "-c", "8", "--success-status", "200-499",
                              ngx.url("/s404")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: succeeded", res.get("requests", "succeeded"), 500)
        c.eq(f"{name}: failed", res.get("requests", "failed"), 0)
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"404": 500})

    name = "nginx /s404 --success-status 200,404"
    res = h.run_ringload(rl, ["-n", "100", "-c", "4", "--success-status", "200,404",
                              ngx.url("/s404")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: succeeded", res.get("requests", "succeeded"), 100)


    # 204 has no body and nginx sends no Content-Length (RFC 9110 §15.3.5).
    name = "nginx /s204"
    res = h.run_ringload(rl, ["-n", "300", "-c", "4", ngx.url("/s204")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: total", res.total(), 300)
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"204": 300})
        c.eq(f"{name}: succeeded", res.get("requests", "succeeded"), 300)
        h.check_no_errors(c, name, res)

    # A conditional GET of the static file: 304 without a body (RFC 9110 §15.4.5).
    name = "nginx /big If-Modified-Since -> 304"
    mtime = os.stat(os.path.join(ngx.tmp, "www", "big")).st_mtime
    date = email.utils.formatdate(mtime, usegmt=True)
    res = h.run_ringload(rl, ["-n", "300", "-c", "4", "-H", f"If-Modified-Since: {date}",
                              ngx.url("/big")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"304": 300})
        h.check_no_errors(c, name, res)
        got = res.get("bytes", "in") or 0
        c.check(f"{name}: bytes.in < 300 * 1 KB (no bodies)", got < 300 * 1024,
                f"bytes.in={got}")


def test_server_close(c, rl, ngx):
    name = "nginx /close -n 2000 -c 8"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-n", "2000", "-c", "8", ngx.url("/close")], timeout=90)
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: total", res.total(), 2000)
    c.eq(f"{name}: succeeded", res.get("requests", "succeeded"), 2000)
    h.check_no_errors(c, name, res)
    lines = ngx.settled_log(expected=2000)
    c.eq(f"{name}: log lines", len(lines), 2000)
    closes = res.get("closes_by_server") or 0
    # The last response on each connection may race the run's end: allow one per connection.
    c.check(f"{name}: closes_by_server ~ total", 2000 - 8 <= closes <= 2000,
            f"closes_by_server={closes}")
    opened = res.get("connections_opened") or 0
    c.check(f"{name}: connections_opened >= total (one per request)", opened >= 2000,
            f"connections_opened={opened}")

    name = "nginx /close -d 2s -c 16"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-d", "2s", "-c", "16", ngx.url("/close")],
                         timeout=2 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    h.check_served(c, name, res, lambda n: len(ngx.settled_log(expected=n)), "log lines", more_than=100)
    h.check_no_errors(c, name, res)


def test_big(c, rl, ngx):
    name = "nginx /big (100 KB) -n 200 -c 4"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-n", "200", "-c", "4", ngx.url("/big")], timeout=60)
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: total", res.total(), 200)
    c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 200})
    h.check_no_errors(c, name, res)
    bytes_in = res.get("bytes", "in") or 0
    c.check(f"{name}: bytes.in >= 200 * 100 KB", bytes_in >= 200 * h.BIG_FILE_SIZE,
            f"bytes.in={bytes_in}")
    c.check(f"{name}: bytes.in < 200 * (100 KB + 1 KB of headers)",
            bytes_in < 200 * (h.BIG_FILE_SIZE + 1024), f"bytes.in={bytes_in}")
    c.eq(f"{name}: log lines", len(ngx.settled_log(expected=200)), 200)


def test_methods(c, rl, ngx, tmp):
    name = "nginx -m HEAD -n 300"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-m", "HEAD", "-n", "300", "-c", "4", ngx.url("/")], timeout=60)
    if h.check_run_ok(c, name, res):
        # A HEAD response carries Content-Length: 3 and no body (RFC 9110 §9.3.2).
        c.eq(f"{name}: total", res.total(), 300)
        c.eq(f"{name}: succeeded", res.get("requests", "succeeded"), 300)
        h.check_no_errors(c, name, res)
        c.eq(f"{name}: report method", res.get("method"), "HEAD")
        c.eq(f"{name}: log", h.summarize_log(ngx.settled_log(expected=300)),
             {("200", "HEAD"): 300})

    # HEAD of the 100 KB file: Content-Length: 102400 and no body (RFC 9110 §9.3.2).
    name = "nginx -m HEAD /big -n 100"
    res = h.run_ringload(rl, ["-m", "HEAD", "-n", "100", "-c", "4", ngx.url("/big")],
                         timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 100})
        h.check_no_errors(c, name, res)
        got = res.get("bytes", "in") or 0
        c.check(f"{name}: bytes.in < 100 * 1 KB (no bodies)", got < 100 * 1024,
                f"bytes.in={got}")

    name = "nginx POST -b body -n 300"
    body = "name=ringload&value=" + "x" * 100
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-m", "POST", "-b", body, "-H", "Content-Type: text/plain",
                              "-n", "300", "-c", "4", ngx.url("/")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: total", res.total(), 300)
        h.check_no_errors(c, name, res)
        out = res.get("bytes", "out") or 0
        c.check(f"{name}: bytes.out >= 300 * len(body)", out >= 300 * len(body), f"out={out}")
        c.eq(f"{name}: log", h.summarize_log(ngx.settled_log(expected=300)),
             {("200", "POST"): 300})

    name = "nginx POST --body-file (32 KB) -n 100"
    path = os.path.join(tmp, "body.bin")
    with open(path, "wb") as f:
        f.write(b"0123456789abcdef" * 2048)
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-m", "POST", "--body-file", path, "-n", "100", "-c", "4",
                              ngx.url("/")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: total", res.total(), 100)
        h.check_no_errors(c, name, res)
        out = res.get("bytes", "out") or 0
        c.check(f"{name}: bytes.out >= 100 * 32 KB", out >= 100 * 32768, f"out={out}")
        c.eq(f"{name}: log", h.summarize_log(ngx.settled_log(expected=100)),
             {("200", "POST"): 100})


def test_headers_and_query(c, rl, ngx):
    name = "nginx -H X-Test -H X-Other, query string"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-n", "200", "-c", "4", "-H", "X-Test: abc", "-H",
                              "X-Other:  def ghi", ngx.url("/q?a=1&b=two")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: total", res.total(), 200)
        h.check_no_errors(c, name, res)
        lines = ngx.settled_log(expected=200)
        want = '200 GET /q?a=1&b=two "abc" "def ghi"'
        c.eq(f"{name}: log lines carry both headers and the query",
             {ln: lines.count(ln) for ln in set(lines)}, {want: 200})

    name = "nginx via http://localhost:PORT"
    res = h.run_ringload(rl, ["-n", "100", "-c", "4",
                              ngx.url("/").replace("127.0.0.1", "localhost")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: total", res.total(), 100)
        h.check_no_errors(c, name, res)


def tests(env):
    rl = env.ringload
    ngx = env.start(h.Nginx(workers=2, keep=env.keep), started="nginx started")
    return [
        ("exact count", test_exact_count, rl, ngx),
        ("duration", test_duration, rl, ngx),
        ("many connections", test_many_connections, rl, ngx),
        ("statuses", test_statuses, rl, ngx),
        ("server close", test_server_close, rl, ngx),
        ("big", test_big, rl, ngx),
        ("methods", test_methods, rl, ngx, env.tmp),
        ("headers and query", test_headers_and_query, rl, ngx),
    ]


if __name__ == "__main__":
    h.main(tests, title="nginx", description=__doc__)
