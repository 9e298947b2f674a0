"""Plugins (include/ringload/plugin.h) against servers that check what they did.

- Loading errors: a missing file, a file that is no shared object, no ringload_plugin_abi,
  no ringload_plugin_init, an ABI mismatch, an init that refuses, no hook, and the example
  plugins refusing bad arguments: each one line on stderr naming the plugin, exit 2, and not
  one connection to the server.
- sign (examples/plugins): every request the server saw (ringload-target's /echo, through
  --export) carries a unique X-Request-Id and an X-Signature that is the HMAC-SHA256 of what
  was sent, recomputed here.
- json_ok: against a server answering "ok": true / false bodies in a known ratio, the
  report's labels, requests.succeeded / failed and the plugin's report numbers all agree;
  with a 10-byte body limit it sees only that much.
- login_token at -t 8 -c 16: a server that issues a token per connection login and checks
  Authorization on that connection's later requests counts no bad token; nor when it
  closes connections (Connection: close) and each new one logs in again; a login answer
  without a token fails.
- A plugin that skips every other request: requests.skipped is that count, the server saw
  the rest.
- Two plugins are called in load order, on requests and on responses.
- plugin.h compiles alone as C11 with -Wall -Wextra -Wpedantic -Werror (and as C++).

The example plugins are found next to the ringload binary (build/examples/plugins) or in
$RINGLOAD_PLUGIN_DIR; the test's own plugins (tests/plugins/*.c) are compiled here with cc.

Run: python3 test_plugins.py --ringload PATH --target PATH
"""
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INCLUDE = os.path.join(ROOT, "include")
TEST_PLUGINS = os.path.join(ROOT, "tests", "plugins")
EXIT_USAGE = 2
SIGN_KEY = "k3y:with colon"


# ------------------------------------------------------------------- the test's plugins

def compile_plugin(tmp, source, name, defines=()):
    """tests/plugins/SOURCE compiled into TMP/NAME.so with cc; returns its path."""
    out = os.path.join(tmp, f"{name}.so")
    cmd = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-shared", "-fPIC", "-I", INCLUDE]
    cmd += [f"-D{d}" for d in defines] + ["-o", out, os.path.join(TEST_PLUGINS, source)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr}")
    return out


def example_dir(ringload):
    return os.environ.get("RINGLOAD_PLUGIN_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(ringload)), "examples", "plugins")


class Plugins:
    """Paths of the example plugins and of the test's own, compiled into `tmp`."""

    def __init__(self, ringload, tmp):
        d = example_dir(ringload)
        self.examples = {n: os.path.join(d, f"lib{n}.so") for n in ("noop", "sign", "json_ok", "login_token")}
        missing = [p for p in self.examples.values() if not os.path.exists(p)]
        if missing:
            raise RuntimeError(f"example plugins not built: {missing} (build examples/plugins or set "
                               "RINGLOAD_PLUGIN_DIR)")
        self.broken = {case: compile_plugin(tmp, "broken.c", f"broken_{case.lower()}", [case])
                       for case in ("NO_ABI", "NO_INIT", "ABI_MISMATCH", "REFUSES", "NO_HOOK")}
        self.skip_odd = compile_plugin(tmp, "skip_odd.c", "skip_odd")
        self.chain = compile_plugin(tmp, "chain.c", "chain")
        self.hook_error = compile_plugin(tmp, "hook_error.c", "hook_error")
        self.not_elf = os.path.join(tmp, "not_elf.so")
        with open(self.not_elf, "w") as f:
            f.write("not a shared object\n")
        self.missing = os.path.join(tmp, "no_such_plugin.so")

    def __getitem__(self, name):
        return self.examples[name]


# --------------------------------------------------------------------------- the server

def read_message(conn, buf):
    """(method, target, {lowercase name: value}, body), rest of buf; None at EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(buf) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    return (method, target, headers, buf[:length]), buf[length:]


def respond(conn, status, body, fields=(), chunked=False):
    head = f"HTTP/1.1 {status} {'OK' if status == 200 else 'Unauthorized'}\r\nContent-Type: application/json\r\n"
    head += "".join(f"{n}: {v}\r\n" for n, v in fields)
    if chunked:
        half = len(body) // 2
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:]) if p) + b"0\r\n\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n"
    else:
        payload = body
        head += f"Content-Length: {len(body)}\r\n\r\n"
    conn.sendall(head.encode() + payload)


# json_ok's bodies, served in turn: (body, what json_ok makes of it, has an "ok" member).
JSON_BODIES = [
    (b'{"ok": true}', True, True),
    (b'{"ok":false}', False, True),
    (b'{"status": "ok", "data": {"ok" : true}}', True, True),
    (b'{"msg": "say \\"ok\\": false", "ok": true}', True, True),
    (b'{\n  "ok"\t:\n false\n}', False, True),
    (b'[1, 2, 3]', True, False),
    (b'{"okay": false}', True, False),
    (b'{"result": {"ok": false, "ok_count": 3}}', False, True),  # sent chunked
]


# /api-close closes a connection after this many of its requests.
CLOSE_EVERY = 5


class PluginServer(h.Service):
    """HTTP/1.1 keep-alive server, one thread per connection:
    POST /login   a new token for this connection: in an X-Token header on odd connections,
                  in a {"token": ...} body on even ones
    /api          200 {"ok": true} when Authorization is "Bearer <this connection's token>"
                  (counted good), else 401 (counted bad)
    /api-close    the same, and every CLOSE_EVERY-th on a connection says Connection: close
                  and closes it
    /json         the next of JSON_BODIES (the last one chunked)
    It counts connections (and those that carried a request), logins, good and bad tokens,
    /json answers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.port = None
        self.reset()

    def reset(self):
        with self.lock:
            self.connections = self.used = self.logins = self.relogins = self.bad_logins = 0
            self.good = self.bad = self.json_served = 0

    def start(self):
        self.port = h.serve(self.handle, self.stop_event)

    def stop(self):
        self.stop_event.set()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, **counts):
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def handle(self, conn, stop):
        with self.lock:
            self.connections += 1
            index = self.connections
        token, buf, served, first = None, b"", 0, True
        while not stop.is_set():
            req, buf = read_message(conn, buf)
            if req is None:
                return
            if first:
                self.add(used=1)
                first = False
            method, target, headers, body = req
            path = target.split("?", 1)[0]
            if path == "/login":
                self.add(logins=1, relogins=int(token is not None), bad_logins=int(method != "POST" or body != b""))
                token = secrets.token_hex(16)
                if index % 2:
                    respond(conn, 200, b'{"welcome": true}', [("X-Token", token)])
                else:
                    respond(conn, 200, json.dumps({"user": "u", "token": token}).encode())
            elif path in ("/api", "/api-close"):
                good = token is not None and headers.get("authorization") == f"Bearer {token}"
                self.add(good=int(good), bad=int(not good))
                served += 1
                closing = path == "/api-close" and served % CLOSE_EVERY == 0
                respond(conn, 200 if good else 401, b'{"ok": true}', [("Connection", "close")] if closing else [])
                if closing:
                    return
            elif path == "/json":
                with self.lock:
                    k = self.json_served
                    self.json_served += 1
                body, _, _ = JSON_BODIES[k % len(JSON_BODIES)]
                respond(conn, 200, body, chunked=(k % len(JSON_BODIES) == len(JSON_BODIES) - 1))
            else:
                respond(conn, 401, b"{}")

    def settled(self, field, expected):
        h.wait_until(lambda: getattr(self, field) >= expected, 5.0)
        return h.wait_stable(lambda: getattr(self, field), settle=0.2, timeout=3.0)


def run(rl, plugin_args, args, timeout=60):
    flags = []
    for p in plugin_args:
        flags += ["--plugin", p]
    return h.run_ringload(rl, flags + list(args), timeout=timeout)


def echoed(records):
    """The requests ringload-target's /echo saw, from an export: [(method, target,
    {name: value}, body)]."""
    out = []
    for r in records:
        e = json.loads(r["body"])
        out.append((e["method"], e["target"], dict(e["headers"]), e["body"]))
    return out


# ---------------------------------------------------------------------------- the tests

def test_loading_errors(c, rl, plugins, srv):
    cases = [
        ("a missing file", plugins.missing, "No such file or directory"),
        ("a file that is no shared object", plugins.not_elf, "file too short"),
        ("no ringload_plugin_abi", plugins.broken["NO_ABI"], "missing symbol ringload_plugin_abi"),
        ("no ringload_plugin_init", plugins.broken["NO_INIT"], "missing symbol ringload_plugin_init"),
        ("an ABI mismatch", plugins.broken["ABI_MISMATCH"], "built for plugin ABI 2, this ringload speaks 1"),
        ("an init that refuses", plugins.broken["REFUSES"], "refused to run"),
        ("an init that says why", plugins.hook_error + ":init", "hook_error: init fails on purpose"),
        ("no hook", plugins.broken["NO_HOOK"], "exports no hook"),
        ("sign without a key", plugins["sign"], "refused to run"),
        ("json_ok with a bad size", plugins["json_ok"] + ":lots", "refused to run"),
        ("login_token without a path", plugins["login_token"] + ":login", "refused to run"),
        # The first plugin loads; the second fails: still nothing is sent.
        ("a good plugin, then a bad one", None, "missing symbol ringload_plugin_abi"),
    ]
    for name, spec, why in cases:
        srv.reset()
        flags = (["--plugin", plugins["noop"], "--plugin", plugins.broken["NO_ABI"]] if spec is None
                 else ["--plugin", spec])
        res = h.run_cli(rl, flags + ["-n", "10", srv.url("/api")])
        path = (spec or plugins.broken["NO_ABI"]).split(":", 1)[0]
        lines = [ln for ln in res.err.splitlines() if ln.startswith("error:")]
        c.eq(f"load error, {name}: exit {EXIT_USAGE}", res.rc, EXIT_USAGE)
        c.check(f"load error, {name}: one error line naming the plugin and the cause",
                len(lines) == 1 and f"plugin '{path}'" in lines[0] and why in lines[0], res.err)
        c.eq(f"load error, {name}: no connection made", h.wait_stable(lambda: srv.connections, 0.1, 1.0), 0)


def sign_request_file(tgt, tmp):
    """The signing tests' request file (four methods, queries, bodies) against tgt's /echo,
    and the export path: (requests, export)."""
    requests = os.path.join(tmp, "sign.jsonl")
    lines = [{"url": tgt.url("/echo?a=1&b=two"), "method": "GET"},
             {"url": tgt.url("/echo"), "method": "POST", "body": "x=1&y=\u00e9t\u00e9"},
             {"url": tgt.url("/echo?put"), "method": "PUT", "body": {"n": [1, 2, 3]}},
             {"url": tgt.url("/echo"), "method": "DELETE"}]
    with open(requests, "w") as f:
        f.write("".join(json.dumps(ln) + "\n" for ln in lines))
    return requests, os.path.join(tmp, "sign-export.jsonl")


def check_signed(c, name, export, key, n):
    """What /echo received (from the export) carries a unique X-Request-Id and an X-Signature
    that is the hex HMAC-SHA256 under `key` of "METHOD SP TARGET LF id LF body", n times."""
    records, problems = h.read_export(export)
    h.check_problems(c, f"{name}: export parses", problems)
    seen = echoed(records)
    c.eq(f"{name}: the server echoed {n} requests", len(seen), n)
    ids, bad = set(), []
    for method, target, headers, body in seen:
        rid, sig = headers.get("X-Request-Id"), headers.get("X-Signature")
        ids.add(rid)
        message = f"{method} {target}\n{rid}\n".encode() + body.encode()
        want = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
        if rid is None or sig != want:
            bad.append((method, target, rid, sig, want))
    h.check_problems(c, f"{name}: every X-Signature is the HMAC of what the server received", bad)
    c.eq(f"{name}: X-Request-Id unique", len(ids), n)
    c.eq(f"{name}: every method and target sent", sorted({(m, t) for m, t, _, _ in seen}),
         sorted({("GET", "/echo?a=1&b=two"), ("POST", "/echo"), ("PUT", "/echo?put"), ("DELETE", "/echo")}))


def test_sign(c, rl, plugins, tgt, tmp):
    name = "sign over a request file, -c 4 -t 2"
    requests, export = sign_request_file(tgt, tmp)
    res = run(rl, [f"{plugins['sign']}:{SIGN_KEY}"],
              ["-f", requests, "--iterations", "100", "-c", "4", "-t", "2", "--export", export])
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: requests.total", res.total(), 400)
    c.eq(f"{name}: requests.succeeded", res.get("requests", "succeeded"), 400)
    c.eq(f"{name}: plugin report", res.get("plugins")[0]["report"], {"signed": 400, "skipped": 0})
    check_signed(c, name, export, SIGN_KEY, 400)


def test_json_ok(c, rl, plugins, srv):
    n = 800
    name = f"json_ok -n {n} -c 8 -t 2"
    srv.reset()
    res = run(rl, [plugins["json_ok"]], ["-n", str(n), "-c", "8", "-t", "2", srv.url("/json")])
    if not h.check_run_ok(c, name, res):
        return
    per_cycle = len(JSON_BODIES)
    false = n // per_cycle * sum(1 for _, ok, _ in JSON_BODIES if not ok)
    absent = n // per_cycle * sum(1 for _, _, has in JSON_BODIES if not has)
    c.eq(f"{name}: the server answered", srv.settled("json_served", n), n)
    c.eq(f"{name}: labels", res.get("labels"), {"ok:true": n - false, "ok:false": false})
    c.eq(f"{name}: requests", {k: res.get("requests", k) for k in ("total", "succeeded", "failed")},
         {"total": n, "succeeded": n - false, "failed": false})
    c.eq(f"{name}: status_codes (all 200: the failures are the plugin's)", res.get("status_codes"), {"200": n})
    c.eq(f"{name}: plugin report", res.get("plugins")[0]["report"],
         {"ok_true": n - false, "ok_false": false, "no_member": absent})
    h.check_no_errors(c, name, res)

    # Bodies are kept up to the size asked: 10 bytes hold no whole "ok": false.
    name = "json_ok:10 (bodies cut to 10 bytes)"
    res = run(rl, [plugins["json_ok"] + ":10"], ["-n", "80", "-c", "2", "-t", "1", srv.url("/json")])
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: labels", res.get("labels"), {"ok:true": 80})
        c.eq(f"{name}: plugin report", res.get("plugins")[0]["report"], {"ok_true": 80, "ok_false": 0, "no_member": 80})


def test_login_token(c, rl, plugins, srv):
    n, conns = 4000, 16
    name = f"login_token -t 8 -c {conns} -n {n}"
    srv.reset()
    res = run(rl, [f"{plugins['login_token']}:/login"], ["-t", "8", "-c", str(conns), "-n", str(n), srv.url("/api")],
              timeout=120)
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: threads", res.get("threads"), 8)
    c.eq(f"{name}: server: logins, one per connection", srv.settled("logins", conns), conns)
    c.eq(f"{name}: server: requests with a good token", srv.settled("good", n - conns), n - conns)
    c.eq(f"{name}: server: requests with a bad or no token", srv.bad, 0)
    c.eq(f"{name}: server: logins that were POST without a body", srv.bad_logins, 0)
    c.eq(f"{name}: server: no connection logged in twice", srv.relogins, 0)
    # ringload's probe connection (before the run) sends nothing.
    c.eq(f"{name}: server: connections (the run's and the probe)", srv.connections, conns + 1)
    c.eq(f"{name}: requests", {k: res.get("requests", k) for k in ("total", "succeeded", "failed")},
         {"total": n, "succeeded": n, "failed": 0})
    c.eq(f"{name}: labels", res.get("labels"), {"login": conns})
    c.eq(f"{name}: plugin report", res.get("plugins")[0]["report"],
         {"logins": conns, "logins_without_token": 0, "authorized": n - conns})


def test_login_after_close(c, rl, plugins, srv):
    # A response saying Connection: close logs its connection out: the new connection in
    # that slot logs in again.
    name = f"login_token, the server closing every {CLOSE_EVERY}th request's connection"
    srv.reset()
    res = run(rl, [f"{plugins['login_token']}:/login"], ["-t", "2", "-c", "4", "-n", "400", srv.url("/api-close")])
    if not h.check_run_ok(c, name, res):
        return
    opened = res.get("connections_opened")
    c.check(f"{name}: connections reopened", opened > 40, f"connections_opened={opened}")
    c.eq(f"{name}: server: requests with a bad or no token", srv.bad, 0)
    c.eq(f"{name}: server: no connection logged in twice", srv.relogins, 0)
    # A connection reopened after the last request was sent carries none (at most one per
    # connection slot): every connection that carried a request logged in once.
    used = srv.settled("used", opened - 4)
    c.check(f"{name}: connections that carried a request", opened - 4 <= used <= opened,
            f"used={used} opened={opened}")
    c.eq(f"{name}: server: one login per connection that carried a request", srv.settled("logins", used), used)
    c.eq(f"{name}: labels", res.get("labels"), {"login": used})
    c.eq(f"{name}: requests.failed", res.get("requests", "failed"), 0)
    c.eq(f"{name}: plugin report", res.get("plugins")[0]["report"],
         {"logins": used, "logins_without_token": 0, "authorized": 400 - used})


def test_login_without_token(c, rl, plugins, srv):
    # /api answers 401 to a login (the path is not /login): no token, every request a login.
    name = "login_token against a login that gives no token"
    srv.reset()
    res = run(rl, [f"{plugins['login_token']}:/api"], ["-n", "50", "-c", "2", "-t", "1", srv.url("/api")])
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: labels", res.get("labels"), {"login:no-token": 50})
    c.eq(f"{name}: requests.failed", res.get("requests", "failed"), 50)
    c.eq(f"{name}: plugin report", res.get("plugins")[0]["report"],
         {"logins": 0, "logins_without_token": 50, "authorized": 0})


def test_skip(c, rl, plugins, tgt):
    n = 1000
    name = f"skip every other request, -n {n} -c 4 -t 2"
    tgt.reset()
    res = run(rl, [plugins.skip_odd], ["-n", str(n), "-c", "4", "-t", "2", tgt.url("/")])
    if not h.check_run_ok(c, name, res):
        return
    report = res.get("plugins")[0]["report"]
    c.eq(f"{name}: requests.skipped is the plugin's count", res.get("requests", "skipped"), report.get("skipped"))
    c.eq(f"{name}: skipped + sent = -n", report.get("skipped", 0) + report.get("sent", 0), n)
    c.eq(f"{name}: half skipped (every other per shard)", res.get("requests", "skipped"), n // 2)
    c.eq(f"{name}: requests.total is the rest", res.total(), n // 2)
    c.eq(f"{name}: the server saw only the rest", tgt.settled_count(expected=n // 2), n // 2)
    c.eq(f"{name}: labels (none set)", res.get("labels"), {})
    h.check_no_errors(c, name, res)

    name = "skip every other request, -d 1s -c 4 -t 2"
    tgt.reset()
    res = run(rl, [plugins.skip_odd], ["-d", "1s", "-c", "4", "-t", "2", tgt.url("/")])
    if not h.check_run_ok(c, name, res):
        return
    report = res.get("plugins")[0]["report"]
    c.eq(f"{name}: requests.skipped is the plugin's count", res.get("requests", "skipped"), report.get("skipped"))
    h.check_served(c, name, res, lambda total: tgt.settled_count(expected=total), more_than=100)
    c.eq(f"{name}: sent = total + in_flight_at_end", report.get("sent"),
         res.total() + res.get("requests", "in_flight_at_end"))


def test_hook_errors(c, rl, plugins, tgt):
    # api->hook_error: on_request's request is not sent, on_response's response fails;
    # either is a `plugin` error with the hook's message, and the run goes on.
    n = 100
    for hook, served in (("request", n - n // 10), ("response", n)):
        name = f"a failing on_{hook} every 10th request, -n {n} -c 2 -t 1"
        tgt.reset()
        res = run(rl, [f"{plugins.hook_error}:{hook}:10"], ["-n", str(n), "-c", "2", "-t", "1", tgt.url("/")])
        if not h.check_run_ok(c, name, res):
            continue
        c.eq(f"{name}: errors.plugin", res.get("errors", "plugin"), n // 10)
        c.eq(f"{name}: requests", {k: res.get("requests", k) for k in ("total", "succeeded", "failed")},
             {"total": n, "succeeded": n - n // 10, "failed": n // 10})
        c.eq(f"{name}: first_errors.plugin", res.get("first_errors", "plugin"), f"on_{hook} failed at seq 9")
        c.eq(f"{name}: the server saw the requests sent", tgt.settled_count(expected=served), served)
        c.eq(f"{name}: other error kinds 0",
             {k: v for k, v in res.get("errors").items() if k != "plugin" and v}, {})
        # on_request's failures got no response: error_latency_us times them; on_response's
        # came with a complete response, timed in latency_us like any other.
        el = res.get("error_latency_us") or {}
        c.check(f"{name}: error_latency_us " + ("holds the failures" if hook == "request" else "all zeros"),
                el.get("max", 0) > 0 if hook == "request" else h.histogram_empty(el), f"error_latency_us={el}")
    # --plugin-errors fatal: the first hook error stops the run, exit 4, one line on stderr.
    for hook in ("request", "response"):
        name = f"--plugin-errors fatal, a failing on_{hook}, -d 20s"
        res = h.run_ringload(rl, ["--plugin", f"{plugins.hook_error}:{hook}:50", "--plugin-errors", "fatal",
                                  "-d", "20s", "-c", "2", "-t", "2", tgt.url("/")], timeout=30)
        c.eq(f"{name}: exit 4", res.rc, 4)
        c.check(f"{name}: stopped at once", res.elapsed < 5, f"elapsed={res.elapsed:.2f}s")
        c.check(f"{name}: a JSON report with errors.plugin", (res.get("errors", "plugin") or 0) >= 1, res)
        lines = [ln for ln in res.err.splitlines() if ln.startswith("error:")]
        c.check(f"{name}: one error line with the hook's message",
                len(lines) == 1 and "--plugin-errors fatal" in lines[0] and f"on_{hook} failed at seq 49" in lines[0],
                res.err)


def test_chain(c, rl, plugins, tgt, tmp):
    for order, want_chain, want_labels in (
            (["first,fail", "second"], "first,second", {"second:failed": 200}),
            (["second", "first,fail"], "second,first", {"first:ok": 200})):
        name = f"two plugins in order {order}"
        export = os.path.join(tmp, "chain.jsonl")
        res = run(rl, [f"{plugins.chain}:{a}" for a in order],
                  ["-n", "200", "-c", "4", "-t", "2", "--export", export, tgt.url("/echo")])
        if not h.check_run_ok(c, name, res):
            continue
        records, problems = h.read_export(export)
        h.check_problems(c, f"{name}: export parses", problems)
        chains = {headers.get("X-Chain") for _, _, headers, _ in echoed(records)}
        c.eq(f"{name}: the server saw X-Chain in load order", chains, {want_chain})
        c.eq(f"{name}: the last plugin's label counts, after the first one's verdict", res.get("labels"), want_labels)
        c.eq(f"{name}: every response failed by 'first,fail'", res.get("requests", "failed"), 200)
        c.eq(f"{name}: plugins listed in load order", [p["args"] for p in res.get("plugins")], order)


def test_header_compiles_as_c11(c):
    checks = [
        ("plugin.h in a C11 plugin (cc -std=c11 -Wall -Wextra -Wpedantic -Werror)",
         ["cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only", "-I", INCLUDE,
          os.path.join(TEST_PLUGINS, "c11_check.c")]),
        ("plugin.h alone as C11", ["cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                                   "-fsyntax-only", "-x", "c", os.path.join(INCLUDE, "ringload", "plugin.h")]),
        ("plugin.h alone as C++11", ["c++", "-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                                     "-fsyntax-only", "-x", "c++", os.path.join(INCLUDE, "ringload", "plugin.h")]),
    ]
    for name, cmd in checks:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        c.check(name, p.returncode == 0, p.stderr)


def tests(env):
    rl = env.ringload
    plugins = Plugins(rl, env.tmp)
    tgt = env.start(h.Target(env.target, threads=1, keep=env.keep))
    srv = env.start(PluginServer())
    return [
        ("header as C11", test_header_compiles_as_c11),
        ("loading errors", test_loading_errors, rl, plugins, srv),
        ("sign", test_sign, rl, plugins, tgt, env.tmp),
        ("json_ok", test_json_ok, rl, plugins, srv),
        ("login_token", test_login_token, rl, plugins, srv),
        ("login after close", test_login_after_close, rl, plugins, srv),
        ("login without token", test_login_without_token, rl, plugins, srv),
        ("skip", test_skip, rl, plugins, tgt),
        ("chain", test_chain, rl, plugins, tgt, env.tmp),
        ("hook errors", test_hook_errors, rl, plugins, tgt),
    ]


if __name__ == "__main__":
    h.main(tests, title="plugins", tmp_prefix="ringload-plugins-", description=__doc__)
