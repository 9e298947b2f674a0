"""Plugins on multiplexed connections: HTTP/2 streams (--h2c against nginx) and HTTP/1.1
pipelining (--pipeline 8 against ringload-target and nginx). The plugin state is per
request in flight, so each hook must see its own request and its own response while
--max-streams or N of them share a connection.

- tests/plugins/mux.c rewrites each request's target to /rw?seq=SEQ (or /echo?seq=SEQ) and
  adds X-Test: mux-SEQ-h2|h1 (api->request_protocol), skips every 5th, and checks each
  response against its own request (the request view's target and X-Test; nginx's body
  "SEQ" and X-Seq header, or ringload-target's echo); every 7th fails by verdict. The
  access log (nginx: "$status $method $uri $http_x_test $server_protocol") holds exactly
  the requests sent, each with its own header; requests.skipped, requests.failed, labels
  and the plugin's own counts agree with the numbers computed here, with no mismatch.
- The same over TLS with --http2: h2 by ALPN, and a server without h2 (HTTP/1.1 fallback:
  request_protocol says so, the per-request state is the slot's first record).
- A hook error every 10th request (tests/plugins/hook_error.c) on h2c: on_request's
  requests are not sent (nginx logs the rest), on_response's fail; errors.plugin exact.
- Python hooks (handle_request / handle_response) on --h2c and --pipeline 8: the same
  rewrite, skip and verdict, request["protocol"]; with --export a changed body is what the
  export writes for that stream. Skipped when the Python plugin is not built.

Run: /usr/bin/python3 test_mux_plugins.py --ringload PATH --target PATH
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_https  # noqa: E402  (its certificate lab)
from test_plugins import compile_plugin, echoed  # noqa: E402
from test_python_plugin import plugin_path  # noqa: E402

LOCATIONS = """\
        location = /rw { add_header X-Seq $arg_seq; return 200 "$arg_seq\\n"; }
        location / { return 200 "ok\\n"; }
"""
N, SKIP, FAIL = 1000, 5, 7

PY_HOOKS = """
def handle_request(request):
    seq = request["seq"]
    if seq % 5 == 4:
        return None
    tag = "h2" if request["protocol"] == "HTTP/2" else "h1"
    request["target"] = ARGS + "?seq=" + str(seq)
    request["headers"]["X-Test"] = "py-%d-%s" % (seq, tag)
    return request


def handle_response(response):
    seq = response["request"]["seq"]
    body = response["body"]
    if ARGS == "/echo":
        good = (b"py-%d-" % seq) in body
    else:
        fields = {k.lower(): v for k, v in response["headers"].items()}  # h2: lower-case names
        good = body == b"%d\\n" % seq and fields.get("x-seq") == str(seq)
    good = good and response["request"]["target"] == ARGS + "?seq=" + str(seq)
    if not good:
        response["ok"], response["label"] = False, "mismatch"
    elif seq % 7 == 0:
        response["ok"], response["label"] = False, "fail"
        response["body"] = b"judged: fail"
    else:
        response["ok"], response["label"] = True, "ok"
    return response
"""


def expected(n=N, skip=SKIP, fail=FAIL):
    """(sent seqs, failed count) of one shard issuing seq 0..n-1."""
    sent = [s for s in range(n) if s % skip != skip - 1]
    return sent, sum(1 for s in sent if s % fail == 0)


def log_entries(lines):
    """[(status, method, uri, x_test, protocol)] of "plugin" log lines."""
    out = []
    for ln in lines:
        head, _, rest = ln.partition(' "')
        x_test, _, proto = rest.rpartition('" ')
        status, method, uri = head.split(" ")
        out.append((status, method, uri, x_test, proto))
    return out


def check_counts(c, name, res, prefix="mux"):
    """requests, labels (and the C plugin's report) as computed for -t 1 -n N."""
    sent, failed = expected()
    c.eq(f"{name}: requests", {k: res.get("requests", k) for k in ("total", "succeeded", "failed", "skipped")},
         {"total": len(sent), "succeeded": len(sent) - failed, "failed": failed, "skipped": N - len(sent)})
    c.eq(f"{name}: labels (no mismatch)", res.get("labels"), {"ok": len(sent) - failed, "fail": failed})
    c.eq(f"{name}: errors", {k: v for k, v in (res.get("errors") or {}).items() if v}, {})
    if prefix == "mux":
        c.eq(f"{name}: the plugin's counts", res.get("plugins")[0]["report"],
             {"skipped": N - len(sent), "sent": len(sent), "ok": len(sent) - failed, "failed": failed,
              "mismatch": 0})


def check_log(c, name, ngx, server, prefix, tag, protocol):
    sent, _ = expected()
    entries = log_entries(ngx.settled_log(server, expected=len(sent)))
    c.eq(f"{name}: nginx saw exactly the requests sent", sorted(int(e[2].rpartition("=")[2]) for e in entries
                                                                  if e[2].startswith("/rw?seq=")), sent)
    bad = [e for e in entries if e[3] != f"{prefix}-{e[2].rpartition('=')[2]}-{tag}" or e[4] != protocol
           or e[0] != "200" or e[1] != "GET"]
    c.eq(f"{name}: each with its own X-Test, over {protocol}", bad[:5], [])


def test_c_h2c(c, rl, ngx, mux):
    name = f"C plugin, --h2c -t 1 -c 2 --max-streams 16 -n {N}"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--plugin", f"{mux}:/rw:{SKIP}:{FAIL}", "--h2c", "-t", "1", "-c", "2",
                              "--max-streams", "16", "-n", str(N), ngx.server_url("h2c")], timeout=60)
    if not h.check_run_ok(c, name, res):
        return
    check_counts(c, name, res)
    c.check(f"{name}: streams were concurrent", ((res.get("http2") or {}).get("max_concurrent") or 0) > 1,
            res.get("http2"))
    check_log(c, name, ngx, "h2c", "mux", "h2", "HTTP/2.0")


def test_c_pipeline(c, rl, ngx, tgt, mux, tmp):
    name = f"C plugin, --pipeline 8 -t 1 -c 2 -n {N} (nginx)"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--plugin", f"{mux}:/rw:{SKIP}:{FAIL}", "--pipeline", "8", "-t", "1", "-c", "2",
                              "-n", str(N), ngx.server_url("h1")], timeout=60)
    if h.check_run_ok(c, name, res):
        check_counts(c, name, res)
        check_log(c, name, ngx, "h1", "mux", "h1", "HTTP/1.1")
    name = f"C plugin, --pipeline 8 -t 1 -c 2 -n {N} (ringload-target /echo, --export)"
    tgt.reset()
    export = os.path.join(tmp, "pipe.jsonl")
    res = h.run_ringload(rl, ["--plugin", f"{mux}:/echo:{SKIP}:{FAIL}", "--pipeline", "8", "-t", "1", "-c", "2",
                              "-n", str(N), "--export", export, tgt.url("/")], timeout=60)
    if not h.check_run_ok(c, name, res):
        return
    check_counts(c, name, res)
    sent, _ = expected()
    c.eq(f"{name}: the target served exactly the requests sent", tgt.settled_count(expected=len(sent)), len(sent))
    records, problems = h.read_export(export)
    h.check_problems(c, f"{name}: export parses", problems)
    seen = echoed(records)
    c.eq(f"{name}: echoed targets", sorted(int(t.rpartition("=")[2]) for _, t, _, _ in seen), sent)
    c.eq(f"{name}: each with its own X-Test",
         [t for _, t, hd, _ in seen if hd.get("X-Test") != f"mux-{t.rpartition('=')[2]}-h1"][:5], [])


def test_c_alpn(c, rl, tls, lab, mux):
    # --http2 over TLS: h2 by ALPN, and a server without h2 (its connections run HTTP/1.1
    # on the slot's own request, each with its per-request state among the stream records).
    n, skip, fail = 300, 5, 7
    sent = [s for s in range(n) if s % skip != skip - 1]
    failed = sum(1 for s in sent if s % fail == 0)
    for server, tag, protocol in (("h2", "h2", "HTTP/2.0"), ("h1", "h1", "HTTP/1.1")):
        name = f"C plugin, --http2 -t 1 -c 2 --max-streams 8 -n {n}, {'h2 by ALPN' if tag == 'h2' else 'fallback'}"
        tls.clear_logs()
        res = h.run_ringload(rl, ["--plugin", f"{mux}:/rw:{skip}:{fail}", "--http2", "--cacert",
                                  os.path.join(lab, "ca.pem"), "-t", "1", "-c", "2", "--max-streams", "8", "-n",
                                  str(n), tls.server_url(server, host="localhost")], timeout=60)
        if not h.check_run_ok(c, name, res):
            continue
        c.eq(f"{name}: requests", {k: res.get("requests", k) for k in ("total", "failed", "skipped")},
             {"total": len(sent), "failed": failed, "skipped": n - len(sent)})
        c.eq(f"{name}: labels (no mismatch)", res.get("labels"), {"ok": len(sent) - failed, "fail": failed})
        entries = log_entries(tls.settled_log(server, expected=len(sent)))
        c.eq(f"{name}: the server saw exactly the requests sent",
             sorted(int(e[2].rpartition("=")[2]) for e in entries), sent)
        c.eq(f"{name}: each with its own X-Test, over {protocol}",
             [e for e in entries if e[3] != f"mux-{e[2].rpartition('=')[2]}-{tag}" or e[4] != protocol][:5], [])


def test_hook_errors_h2c(c, rl, ngx, hook_error):
    n = 200
    for hook, served in (("request", n - n // 10), ("response", n)):
        name = f"a failing on_{hook} every 10th request, --h2c -t 1 -c 2 --max-streams 8 -n {n}"
        ngx.clear_logs()
        res = h.run_ringload(rl, ["--plugin", f"{hook_error}:{hook}:10", "--h2c", "-t", "1", "-c", "2",
                                  "--max-streams", "8", "-n", str(n), ngx.server_url("h2c")], timeout=60)
        if not h.check_run_ok(c, name, res):
            continue
        c.eq(f"{name}: errors.plugin", res.get("errors", "plugin"), n // 10)
        c.eq(f"{name}: requests", {k: res.get("requests", k) for k in ("total", "succeeded", "failed")},
             {"total": n, "succeeded": n - n // 10, "failed": n // 10})
        c.eq(f"{name}: nginx saw the requests sent", len(ngx.settled_log("h2c", expected=served)), served)


def test_python(c, rl, ngx, tgt, hooks, tmp):
    if not os.path.exists(plugin_path(rl)):
        c.check("python hooks: SKIP (the Python plugin is not built)", True)
        return
    for flags, server, tag, protocol in ((["--h2c", "--max-streams", "16"], "h2c", "h2", "HTTP/2.0"),
                                         (["--pipeline", "8"], "h1", "h1", "HTTP/1.1")):
        name = f"Python hooks, {' '.join(flags)} -t 1 -c 2 -n {N} --export"
        ngx.clear_logs()
        export = os.path.join(tmp, "py.jsonl")
        res = h.run_ringload(rl, ["--plugin", f"{hooks}:/rw", *flags, "-t", "1", "-c", "2", "-n", str(N),
                                  "--export", export, ngx.server_url(server)], timeout=120)
        if not h.check_run_ok(c, name, res):
            continue
        check_counts(c, name, res, prefix="py")
        check_log(c, name, ngx, server, "py", tag, protocol)
        records, problems = h.read_export(export)
        h.check_problems(c, f"{name}: export parses", problems)
        # (the export's seq is its own numbering: the server's answer names the request's)
        bodies = sorted(r.get("body") or "" for r in records)
        sent, failed = expected()
        c.eq(f"{name}: the export has the hook's body for the failed ones", bodies.count("judged: fail"), failed)
        c.eq(f"{name}: and the server's for the rest", sorted(int(b) for b in bodies if b != "judged: fail"),
             [s for s in sent if s % FAIL != 0])
    name = f"Python hooks, --pipeline 8 -t 1 -c 2 -n {N} (ringload-target /echo)"
    tgt.reset()
    res = h.run_ringload(rl, ["--plugin", f"{hooks}:/echo", "--pipeline", "8", "-t", "1", "-c", "2", "-n", str(N),
                              tgt.url("/")], timeout=120)
    if h.check_run_ok(c, name, res):
        check_counts(c, name, res, prefix="py")


def tests(env):
    rl = env.ringload
    mux = compile_plugin(env.tmp, "mux.c", "mux")
    hook_error = compile_plugin(env.tmp, "hook_error.c", "hook_error")
    hooks = os.path.join(env.tmp, "mux_hooks.py")
    with open(hooks, "w") as f:
        f.write(PY_HOOKS.lstrip("\n"))
    servers = {"h2c": h.NginxServer(locations=LOCATIONS, http2=True, log="plugin"),
               "h1": h.NginxServer(locations=LOCATIONS, log="plugin")}
    ngx = env.start(h.Nginx(workers=1, keep=env.keep, servers=servers), started="nginx (h2c, h1) started")
    tgt = env.start(h.Target(env.target, threads=1, keep=env.keep))
    lab = os.path.join(env.tmp, "lab")
    os.makedirs(lab)
    test_https.make_lab(lab)
    cert = f"    ssl_certificate {lab}/server.pem;\n    ssl_certificate_key {lab}/server.key;\n"
    tls = env.start(h.Nginx(workers=1, keep=env.keep, http=cert, servers={
        "h2": h.NginxServer(locations=LOCATIONS, tls=True, http2=True, log="plugin"),
        "h1": h.NginxServer(locations=LOCATIONS, tls=True, log="plugin")}), started="nginx (TLS: h2, h1) started")
    return [
        ("C plugin on h2c", test_c_h2c, rl, ngx, mux),
        ("C plugin on --pipeline", test_c_pipeline, rl, ngx, tgt, mux, env.tmp),
        ("C plugin on --http2 (ALPN, fallback)", test_c_alpn, rl, tls, lab, mux),
        ("hook errors on h2c", test_hook_errors_h2c, rl, ngx, hook_error),
        ("Python hooks", test_python, rl, ngx, tgt, hooks, env.tmp),
    ]


if __name__ == "__main__":
    h.main(tests, title="plugins on HTTP/2 and pipelining", tmp_prefix="ringload-muxplug-", description=__doc__)
