"""Request files whose lines choose HTTP/2 or HTTP/1.1 for themselves ("http2": true / false;
no key: the run's --h2c / --http2 decides), against nginx. An origin used both ways gets a
connection group per protocol: nginx's access log ($server_protocol) must hold exactly the
file's split, per path, and the report's http2 block and export must agree with it. Lines
that cannot run over HTTP/2 are refused before any traffic, naming file:line:column.

Run: python3 test_http2_lines.py --ringload PATH --target PATH
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_https  # noqa: E402  (its certificate lab)
from test_http2 import H2_LOCATIONS  # noqa: E402

# Each line is sent once (-n = the number of lines), its path says which choice it made:
# /t/N "http2": true, /f/N "http2": false, /a/N no key.
CHOICES = (("t", True), ("f", False), ("a", None))


def write_lines(path, url_of, count):
    """`count` lines of each choice, interleaved; returns the number of lines."""
    with open(path, "w") as f:
        for i in range(count):
            for prefix, choice in CHOICES:
                line = {"url": url_of(f"/{prefix}/{i}")}
                if choice is not None:
                    line["http2"] = choice
                f.write(json.dumps(line) + "\n")
    return count * len(CHOICES)


def by_prefix(lines):
    """{(path prefix, protocol): count} of "proto" log lines ($status $method $uri $server_protocol)."""
    out = {}
    for ln in lines:
        parts = ln.split(" ")
        key = (parts[2].split("/")[1], parts[-1])
        out[key] = out.get(key, 0) + 1
    return out


def export_by_prefix(records):
    out = {}
    for r in records:
        key = (r.get("url", "").split("/")[3], r.get("protocol"))
        out[key] = out.get(key, 0) + 1
    return out


def test_mixed_tls(c, rl, tls, ca, tmp):
    """One https origin (nginx offers h2 and http/1.1 by ALPN), lines of the three kinds."""
    each = 20
    path = os.path.join(tmp, "mixed.jsonl")
    n = write_lines(path, lambda p: tls.server_url("h2", p, host="localhost"), each)
    for run_flags, absent in (([], "HTTP/1.1"), (["--http2"], "HTTP/2.0")):
        name = f"https, true/false/absent lines {' '.join(run_flags) or '(no flag)'}: -n {n} -c 3 --max-streams 4"
        tls.clear_logs()
        export = os.path.join(tmp, f"mixed{len(run_flags)}.export.jsonl")
        res = h.run_ringload(rl, run_flags + ["--cacert", ca, "-f", path, "-n", str(n), "-c", "3",
                                              "--max-streams", "4", "--export", export], timeout=60)
        if not h.check_run_ok(c, name, res):
            continue
        h2_lines = each * (2 if absent == "HTTP/2.0" else 1)
        c.eq(f"{name}: requests.total", res.total(), n)
        h.check_no_errors(c, name, res)
        want = {("t", "HTTP/2.0"): each, ("f", "HTTP/1.1"): each, ("a", absent): each}
        c.eq(f"{name}: nginx log by path and protocol", by_prefix(tls.settled_log("h2", expected=n)), want)
        b = res.get("http2") or {}
        c.eq(f"{name}: http2.streams == the h2 lines", b.get("streams"), h2_lines)
        c.eq(f"{name}: http2.max_streams", b.get("max_streams"), 4)
        c.eq(f"{name}: no ALPN fallback", b.get("alpn_fallbacks"), 0)
        # -c is per connection group: 3 for each (origin, protocol) the file uses.
        c.check(f"{name}: http2.connections: at most 3 per HTTP/2 group",
                1 <= (b.get("connections") or 0) <= 3 * (2 if absent == "HTTP/2.0" else 1), f"http2={b}")
        records, problems = h.read_export(export)
        c.eq(f"{name}: export problems", problems, [])
        proto = {"HTTP/2.0": "HTTP/2", "HTTP/1.1": "HTTP/1.1"}
        c.eq(f"{name}: export protocol per path",
             export_by_prefix(records), {(k[0], proto[k[1]]): v for k, v in want.items()})


def test_h2c_false(c, rl, ngx, tmp):
    """--h2c for the run, "http2": false on the lines to an HTTP/1.1 server (nginx 1.22's
    h2c listener speaks only HTTP/2 with prior knowledge, so the 1.1 lines have a server
    of their own)."""
    each = 25
    path = os.path.join(tmp, "h2c-false.jsonl")
    with open(path, "w") as f:
        for i in range(each):
            f.write(json.dumps({"url": ngx.server_url("h2c", f"/a/{i}")}) + "\n")
            f.write(json.dumps({"url": ngx.server_url("h1", f"/f/{i}"), "http2": False}) + "\n")
    name = f"--h2c, lines with \"http2\": false to an HTTP/1.1 server: -n {2 * each} -c 4 --max-streams 8"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--h2c", "-f", path, "-n", str(2 * each), "-c", "4", "--max-streams", "8"], timeout=60)
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: requests.total", res.total(), 2 * each)
    h.check_no_errors(c, name, res)
    c.eq(f"{name}: h2c server's log", by_prefix(ngx.settled_log("h2c", expected=each)), {("a", "HTTP/2.0"): each})
    c.eq(f"{name}: HTTP/1.1 server's log", by_prefix(ngx.settled_log("h1", expected=each)), {("f", "HTTP/1.1"): each})
    c.eq(f"{name}: http2.streams", (res.get("http2") or {}).get("streams"), each)


def test_refusals(c, rl, ngx, tmp):
    url = ngx.server_url("h2c")
    sse = {"url": url, "proto": "sse", "http2": True}
    plain, h2 = {"url": url}, {"url": url, "http2": True}
    # key column: where "http2" starts on the line json.dumps writes
    def col(line):
        return json.dumps(line).index('"http2"') + 1
    cases = [
        ("an SSE line with \"http2\": true", [plain, sse], [], 2, col(sse),
         "'http2': true does not apply to a sse line"),
        ("\"http2\": \"yes\"", [{"url": url, "http2": "yes"}], [], 1, col({"url": url, "http2": "yes"}) + 9,
         "'http2' must be true or false, not a string"),
        ("\"http2\": true with --pipeline 4", [plain, h2], ["--pipeline", "4"], 2, col(h2),
         "\"http2\": true does not run with --pipeline"),
    ]
    for name, lines, args, line_no, column, words in cases:
        path = os.path.join(tmp, "refused.jsonl")
        with open(path, "w") as f:
            f.writelines(json.dumps(ln) + "\n" for ln in lines)
        res = h.run_cli(rl, args + ["-n", "1", "-f", path])
        where = f"{path}:{line_no}:{column}: "
        c.eq(f"refused: {name}: exit status", res.rc, 2)
        c.check(f"refused: {name}: names {where}{words}", where + words in res.err, f"stderr={res.err[-400:]!r}")
    # Without any HTTP/2 line or flag, --max-streams > 1 stays refused.
    path = os.path.join(tmp, "no-h2.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps(plain) + "\n" + json.dumps({"url": url, "http2": False}) + "\n")
    res = h.run_cli(rl, ["--max-streams", "4", "-n", "1", "-f", path])
    c.eq("refused: --max-streams 4 without HTTP/2: exit status", res.rc, 2)
    c.check("refused: --max-streams 4 without HTTP/2: names --max-streams", "--max-streams" in res.err,
            f"stderr={res.err[-300:]!r}")


def tests(env):
    rl = env.ringload
    servers = {
        "h2c": h.NginxServer(locations=H2_LOCATIONS, http2=True),
        "h1": h.NginxServer(locations=H2_LOCATIONS, log="proto"),
    }
    ngx = env.start(h.Nginx(workers=1, keep=env.keep, servers=servers), started="nginx (h2c, HTTP/1.1) started")
    lab = os.path.join(env.tmp, "lab")
    os.makedirs(lab)
    test_https.make_lab(lab)
    cert = f"    ssl_certificate {lab}/server.pem;\n    ssl_certificate_key {lab}/server.key;\n"
    tls_servers = {"h2": h.NginxServer(locations=H2_LOCATIONS, tls=True, http2=True)}
    tls = env.start(h.Nginx(workers=1, keep=env.keep, servers=tls_servers, http=cert), started="nginx (TLS) started")
    ca = os.path.join(lab, "ca.pem")
    return [
        ("mixed over TLS", test_mixed_tls, rl, tls, ca, env.tmp),
        ("h2c and false", test_h2c_false, rl, ngx, env.tmp),
        ("refusals", test_refusals, rl, ngx, env.tmp),
    ]


if __name__ == "__main__":
    h.main(tests, title="http2 lines", description=__doc__)
