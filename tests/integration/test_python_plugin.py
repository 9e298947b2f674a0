"""Python hooks (`--plugin hooks.py[:ARGS]`: ringload_python_plugin.so) against real servers.

- Import errors (a missing file, a syntax error, an exception at import, no hook, sign.py
  without a key): exit 2, one error line naming the module and the cause (file:line for a
  syntax error), not one connection to the server.
- examples/python/sign.py over a request file of several methods and bodies at -t 2 -c 4:
  every request ringload-target's /echo saw carries a unique X-Request-Id and the
  HMAC-SHA256 of what it received, recomputed here; finish()'s numbers in the report.
- A hook that returns None for every other request: requests.skipped, the server saw the rest.
- A hook that changes method, target (and url), body and header fields: the server saw them;
  a url on another origin is a plugin error with a clear message.
- examples/python/check_json.py against a known mix of JSON bodies: labels and
  requests.failed as computed here.
- handle_response turning failures into successes and back; SSE events and WebSocket
  messages reaching it.
- BODY_LIMIT (from ARGS) cuts the body handle_response sees; a result that is neither a
  dict nor None is a plugin error.
- An exception every 10th request: errors.plugin 10, the traceback printed once with the
  seq, the run goes on; `--plugin-errors fatal`: exit 4 at once.
- Two shards calling Python at once (-t 2): counts exact, no crash.

Skipped (exit 0, "SKIP" line) when ringload's Python plugin is not built: it is looked for
in $RINGLOAD_PYTHON_PLUGIN, else build/python/ next to the ringload binary.

Run: /usr/bin/python3 test_python_plugin.py --ringload PATH --target PATH
"""
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_plugins import (JSON_BODIES, SIGN_KEY, check_signed, echoed, read_message, respond,  # noqa: E402
                          sign_request_file)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples", "python")

# Test modules, written into the temporary directory: name -> source.
MODULES = {
    "skip_odd.py": """
def handle_request(request):
    return None if request["seq"] % 2 else request
""",
    "edit.py": """
def handle_request(request):
    n = request["seq"] % 3
    hd = request["headers"]
    if n == 0:      # in place: method, target, body, a header added, one removed, one changed
        request["method"] = "PUT"
        request["target"] = "/echo?edited=" + str(request["seq"])
        request["body"] = b"new body"
        hd["X-Added"] = "yes"
        del hd["User-Agent"]
        hd["Accept"] = "text/plain"
        return request
    if n == 1:      # a new dict, through its url
        return {"method": "PATCH", "url": request["url"].replace("/echo", "/echo?via=url"),
                "headers": {k: v for k, v in hd.items() if k != "Accept"}, "body": "text body"}
    return request  # unchanged
""",
    "other_origin.py": """
def handle_request(request):
    request["url"] = "http://127.0.0.2:1/elsewhere"
    return request
""",
    "flip.py": """
def handle_response(response):
    response["ok"] = not response["ok"]
    response["label"] = f"{response['status']}:{'ok' if response['ok'] else 'failed'}"
    return None  # changed in place
""",
    "sse_count.py": """
seen = {"responses": 0, "events": 0, "pattern": 0, "done": 0, "no_events": 0}
def handle_response(response):
    events = response.get("events")
    seen["responses"] += 1
    if events is None:
        seen["no_events"] += 1
        return response
    seen["events"] += len(events)
    seen["pattern"] += sum(1 for e in events if e == {"event": "message", "data": "01234567"})
    seen["done"] += events[-1] == {"event": "message", "data": "[DONE]"}
    response["label"] = f"events:{len(events)}"
    return response
def finish():
    return seen
""",
    "ws_count.py": """
seen = {"responses": 0, "messages": 0, "hello": 0, "world": 0}
def handle_response(response):
    msgs = response.get("messages") or []
    seen["responses"] += 1
    seen["messages"] += len(msgs)
    seen["hello"] += msgs.count("hello")
    seen["world"] += msgs.count("world")
    response["label"] = f"messages:{len(msgs)}:{type(msgs[0]).__name__ if msgs else '-'}"
    return response
def finish():
    return seen
""",
    "body_limit.py": """
import sys
BODY_LIMIT = int(ARGS)
def handle_response(response):
    response["label"] = f"len:{len(response['body'])}:{response['request']['method']}:{bool(sys.argv)}"
    return response
""",
    "bad_result.py": """
def handle_request(request):
    return 42
""",
    "raise_every_10.py": """
HOOK = ARGS
def handle_request(request):
    if HOOK == "request" and request["seq"] % 10 == 9:
        raise ValueError(f"boom at {request['seq']}")
    return request
def handle_response(response):
    if HOOK == "response" and response["request"]["seq"] % 10 == 9:
        raise KeyError("nope")
    return response
""",
    "per_shard.py": """
import threading
counts = {}
lock = threading.Lock()
def handle_request(request):
    with lock:
        counts[request["shard"]] = counts.get(request["shard"], 0) + 1
    return request
def handle_response(response):
    return response
def finish():
    return {f"shard{k}": v for k, v in counts.items()}
""",
    "redact.py": """
def handle_response(response):
    seq = response["request"]["seq"]
    if seq % 3 == 0:
        return response                      # unchanged: the export keeps what was received
    response["headers"]["X-Redacted"] = "yes"
    response["headers"].pop("Server", None)
    response["body"] = b"[redacted]"
    if seq % 3 == 2:
        response["status"] = 299
    return response
""",
    "bad_export.py": """
def handle_response(response):
    response["headers"]["X-Bad"] = "a\\r\\nInjected: 1"
    return response
""",
    "bad_syntax.py": "def handle_request(request):\n    return (request\n\nx = 1 +\n",
    "raises_at_import.py": "import os\n\nraise RuntimeError('not today')\n",
    "no_hook.py": "def handle(request):\n    return request\n",
}


def plugin_path(ringload):
    return os.environ.get("RINGLOAD_PYTHON_PLUGIN") or os.path.join(
        os.path.dirname(os.path.abspath(ringload)), "python", "ringload_python_plugin.so")


class MixServer(h.Service):
    """HTTP/1.1 keep-alive: /json answers the next of test_plugins.JSON_BODIES (the last
    one chunked); anything else 404. Counts connections and /json answers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.connections = self.served = 0
        self.port = None

    def start(self):
        self.port = h.serve(self.handle, self.stop_event)

    def stop(self):
        self.stop_event.set()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self):
        with self.lock:
            self.connections = self.served = 0

    def handle(self, conn, stop):
        with self.lock:
            self.connections += 1
        buf = b""
        while not stop.is_set():
            req, buf = read_message(conn, buf)
            if req is None:
                return
            with self.lock:
                k = self.served
                self.served += 1
            body = JSON_BODIES[k % len(JSON_BODIES)][0]
            respond(conn, 200, body, chunked=(k % len(JSON_BODIES) == len(JSON_BODIES) - 1))


def check_json_label(body):
    """What examples/python/check_json.py makes of `body`: (label, ok)."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return "no-json", True
    if "ok" not in doc:
        return "no-ok", True
    return ("ok:false", False) if doc["ok"] is False else ("ok:true", True)


def run(rl, plugin, args, timeout=60):
    return h.run_ringload(rl, ["--plugin", plugin] + list(args), timeout=timeout)


def requests_of(res):
    return {k: res.get("requests", k) for k in ("total", "succeeded", "failed", "skipped")}


# ---------------------------------------------------------------------------- the tests

def test_import_errors(c, rl, mods, srv):
    cases = [
        ("a missing file", mods["missing.py"], "no such file"),
        ("a syntax error", mods["bad_syntax.py"], f"SyntaxError at {mods['bad_syntax.py']}:"),
        ("an exception at import", mods["raises_at_import.py"],
         f"RuntimeError at import: not today ({mods['raises_at_import.py']}:3)"),
        ("no hook", mods["no_hook.py"], "defines neither handle_request nor handle_response"),
        ("sign.py without a key", os.path.join(EXAMPLES, "sign.py"), "ValueError at import: sign.py needs a key"),
    ]
    for name, path, why in cases:
        srv.reset()
        res = h.run_cli(rl, ["--plugin", path, "-n", "10", srv.url("/json")])
        lines = [ln for ln in res.err.splitlines() if ln.startswith("error:")]
        c.eq(f"import error, {name}: exit 2", res.rc, 2)
        c.check(f"import error, {name}: one error line naming the module and the cause",
                len(lines) == 1 and f"plugin '{path}'" in lines[0] and why in lines[0], res.err)
        c.check(f"import error, {name}: nothing else on stderr", len(res.err.strip().splitlines()) == 1, res.err)
        c.eq(f"import error, {name}: no connection made", h.wait_stable(lambda: srv.connections, 0.1, 1.0), 0)


def test_sign(c, rl, tgt, tmp):
    name = "sign.py over a request file, -c 4 -t 2"
    requests, export = sign_request_file(tgt, tmp)
    res = run(rl, f"{os.path.join(EXAMPLES, 'sign.py')}:{SIGN_KEY}",
              ["-f", requests, "--iterations", "100", "-c", "4", "-t", "2", "--export", export])
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: requests", requests_of(res), {"total": 400, "succeeded": 400, "failed": 0, "skipped": 0})
    c.eq(f"{name}: plugin report (finish())", res.get("plugins")[0]["report"], {"signed": 400})
    check_signed(c, name, export, SIGN_KEY, 400)
    h.check_no_errors(c, name, res)


def test_skip(c, rl, mods, tgt):
    n = 1000
    name = f"a hook returning None for odd seqs, -n {n} -c 4 -t 2"
    tgt.reset()
    res = run(rl, mods["skip_odd.py"], ["-n", str(n), "-c", "4", "-t", "2", tgt.url("/")])
    if not h.check_run_ok(c, name, res):
        return
    skipped = res.get("requests", "skipped")
    c.check(f"{name}: about half skipped", n // 2 - 2 <= skipped <= n // 2 + 2, f"skipped={skipped}")
    c.eq(f"{name}: skipped + total = -n", skipped + res.total(), n)
    c.eq(f"{name}: the server saw only the rest", tgt.settled_count(expected=n - skipped), n - skipped)
    h.check_no_errors(c, name, res)


def test_edit(c, rl, mods, tgt, tmp):
    n = 300
    name = f"a hook changing method, target, url, body and headers, -n {n} -c 2 -t 2"
    export = os.path.join(tmp, "edit.jsonl")
    res = run(rl, mods["edit.py"], ["-n", str(n), "-c", "2", "-t", "2", "--export", export, tgt.url("/echo")])
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: requests", requests_of(res), {"total": n, "succeeded": n, "failed": 0, "skipped": 0})
    records, problems = h.read_export(export)
    h.check_problems(c, f"{name}: export parses", problems)
    kinds, bad = {"put": 0, "patch": 0, "get": 0}, []
    for method, target, headers, body in echoed(records):
        if method == "PUT":
            kinds["put"] += 1
            ok = (target.startswith("/echo?edited=") and body == "new body" and headers.get("X-Added") == "yes"
                  and "User-Agent" not in headers and headers.get("Accept") == "text/plain"
                  and headers.get("Content-Length") == "8")
        elif method == "PATCH":
            kinds["patch"] += 1
            ok = target == "/echo?via=url" and body == "text body" and "Accept" not in headers and "User-Agent" in headers
        else:
            kinds["get"] += 1
            ok = method == "GET" and target == "/echo" and body == "" and "Accept" in headers and "X-Added" not in headers
        if not ok:
            bad.append((method, target, headers, body))
    h.check_problems(c, f"{name}: the server saw each change", bad)
    c.check(f"{name}: all three kinds sent", all(v > 50 for v in kinds.values()) and sum(kinds.values()) == n,
            kinds)
    h.check_no_errors(c, name, res)

    name = "a hook moving the url to another origin"
    res = run(rl, mods["other_origin.py"], ["-n", "20", "-c", "1", "-t", "1", tgt.url("/echo")])
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: errors.plugin", res.get("errors", "plugin"), 20)
        first = res.get("first_errors", "plugin") or ""
        c.check(f"{name}: the error says why", "is not on the request's origin" in first, first)


def test_check_json(c, rl, srv):
    n = 800
    name = f"check_json.py -n {n} -c 8 -t 2"
    srv.reset()
    res = run(rl, os.path.join(EXAMPLES, "check_json.py"), ["-n", str(n), "-c", "8", "-t", "2", srv.url("/json")])
    if not h.check_run_ok(c, name, res):
        return
    labels, failed = {}, 0
    for i in range(n):
        label, ok = check_json_label(JSON_BODIES[i % len(JSON_BODIES)][0])
        labels[label] = labels.get(label, 0) + 1
        failed += not ok
    c.eq(f"{name}: labels", res.get("labels"), labels)
    c.eq(f"{name}: requests", requests_of(res), {"total": n, "succeeded": n - failed, "failed": failed, "skipped": 0})
    c.eq(f"{name}: status_codes (all 200: the failures are the hook's)", res.get("status_codes"), {"200": n})
    c.eq(f"{name}: finish() report", res.get("plugins")[0]["report"],
         {"ok_true": labels.get("ok:true", 0), "ok_false": labels.get("ok:false", 0),
          "no_json": labels.get("no-json", 0), "no_ok": labels.get("no-ok", 0)})
    h.check_no_errors(c, name, res)


def test_flip(c, rl, mods, tgt, tmp):
    name = "handle_response flipping ok: 500s succeed, 200s fail"
    requests = os.path.join(tmp, "flip.jsonl")
    with open(requests, "w") as f:
        f.write(json.dumps({"url": tgt.url("/status/500")}) + "\n" + json.dumps({"url": tgt.url("/")}) + "\n")
    res = run(rl, mods["flip.py"], ["-f", requests, "--iterations", "50", "-c", "2", "-t", "1"])
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: requests", requests_of(res), {"total": 100, "succeeded": 50, "failed": 50, "skipped": 0})
    c.eq(f"{name}: labels", res.get("labels"), {"500:ok": 50, "200:failed": 50})


def test_export_changes(c, rl, mods, tgt, tmp):
    # handle_response's status, headers and body go to the export instead of what was
    # received; the report's statistics keep what was received.
    name = "handle_response changing what is exported"
    export = os.path.join(tmp, "redact.jsonl")
    res = run(rl, mods["redact.py"], ["-n", "30", "-c", "1", "-t", "1", "--export", export, tgt.url("/")])
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: the report's status codes are the server's", res.get("status_codes"), {"200": 30})
    records, problems = h.read_export(export)
    h.check_problems(c, f"{name}: export parses", problems)
    kinds = {}
    for r in records:
        names = [k for k, _ in r.get("headers") or []]
        kinds.setdefault(r["seq"] % 3, set()).add(
            (r.get("status"), "X-Redacted" in names, "Server" in names, r.get("body")))
    c.eq(f"{name}: unchanged responses as received", kinds.get(0), {(200, False, True, "Hello, world\n")})
    c.eq(f"{name}: headers and body replaced", kinds.get(1), {(200, True, False, "[redacted]")})
    c.eq(f"{name}: status too", kinds.get(2), {(299, True, False, "[redacted]")})
    c.eq(f"{name}: no plugin error", res.get("errors", "plugin"), 0)

    name = "handle_response changing the export without --export"
    res = run(rl, mods["redact.py"], ["-n", "30", "-c", "1", "-t", "1", tgt.url("/")])
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: nothing to change, no error", res.get("errors", "plugin"), 0)

    name = "handle_response putting CR LF into an exported header"
    res = run(rl, mods["bad_export.py"], ["-n", "10", "-c", "1", "-t", "1", "--export", export, tgt.url("/")])
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: a plugin error each", res.get("errors", "plugin"), 10)
        c.check(f"{name}: the message says why", "the export" in (res.get("first_errors", "plugin") or ""),
                res.get("first_errors"))


def test_sse(c, rl, mods, tgt):
    # ringload-target's /sse?n=5&size=8: five "01234567" events, then "[DONE]".
    name = "SSE events reaching handle_response, --sse /sse?n=5 -n 20"
    res = run(rl, mods["sse_count.py"], ["-n", "20", "-c", "2", "-t", "1", "--sse", tgt.url("/sse?n=5&size=8")])
    if not h.check_run_ok(c, name, res):
        return
    c.eq(f"{name}: finish() report", res.get("plugins")[0]["report"],
         {"responses": 20, "events": 120, "pattern": 100, "done": 20, "no_events": 0})
    c.eq(f"{name}: labels", res.get("labels"), {"events:6": 20})

    # ringload-target's /ws echoes each message.
    name = "WebSocket messages reaching handle_response, --ws-message hello --ws-message world --expect 2 -n 10"
    res = run(rl, mods["ws_count.py"], ["-n", "10", "-c", "2", "-t", "1", "--ws", "--ws-message", "hello",
                                        "--ws-message", "world", "--expect", "2", tgt.url("/ws")])
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: finish() report", res.get("plugins")[0]["report"],
             {"responses": 10, "messages": 20, "hello": 10, "world": 10})
        c.eq(f"{name}: labels", res.get("labels"), {"messages:2:str": 10})
        h.check_no_errors(c, name, res)


def test_body_limit_and_results(c, rl, mods, tgt):
    for limit, want in (("4", 4), ("0", 0), ("1000", 13)):
        name = f"BODY_LIMIT = {limit} (ARGS) against ringload-target's 13-byte body"
        res = run(rl, f"{mods['body_limit.py']}:{limit}", ["-n", "20", "-c", "1", "-t", "1", tgt.url("/")])
        if h.check_run_ok(c, name, res):
            c.eq(f"{name}: the body's length as seen", res.get("labels"), {f"len:{want}:GET:True": 20})
    name = "handle_request returning neither a dict nor None"
    res = run(rl, mods["bad_result.py"], ["-n", "10", "-c", "1", "-t", "1", tgt.url("/")])
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: errors.plugin", res.get("errors", "plugin"), 10)
        c.eq(f"{name}: first_errors.plugin", res.get("first_errors", "plugin"),
             "handle_request: returned int, not a dict or None")


def test_exceptions(c, rl, mods, tgt, tmp):
    n = 100
    for hook, exc, served in (("request", "ValueError: boom at 9", n - n // 10), ("response", "KeyError: 'nope'", n)):
        name = f"an exception in handle_{hook} every 10th request, -n {n} -c 2 -t 1"
        tgt.reset()
        res = run(rl, f"{mods['raise_every_10.py']}:{hook}", ["-n", str(n), "-c", "2", "-t", "1", tgt.url("/")])
        if not h.check_run_ok(c, name, res):
            continue
        c.eq(f"{name}: errors.plugin", res.get("errors", "plugin"), n // 10)
        c.eq(f"{name}: requests", requests_of(res),
             {"total": n, "succeeded": n - n // 10, "failed": n // 10, "skipped": 0})
        c.eq(f"{name}: first_errors.plugin", res.get("first_errors", "plugin"), f"handle_{hook}: {exc}")
        c.eq(f"{name}: the server saw the requests sent", tgt.settled_count(expected=served), served)
        c.eq(f"{name}: one traceback on stderr", res.err.count("Traceback (most recent call last)"), 1)
        c.check(f"{name}: the traceback names the hook and the seq",
                f"handle_{hook} raised at request seq 9 of shard 0" in res.err and exc in res.err, res.err)
    # From a request file: the traceback names the line (-c 1: seq 9 is the 10th request, line 2).
    name = "an exception in handle_request over a request file, -c 1"
    requests = os.path.join(tmp, "raise.jsonl")
    with open(requests, "w") as f:
        f.write(json.dumps({"url": tgt.url("/a")}) + "\n" + json.dumps({"url": tgt.url("/b")}) + "\n")
    res = run(rl, f"{mods['raise_every_10.py']}:request", ["-f", requests, "--iterations", "10", "-c", "1", "-t", "1"])
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: errors.plugin", res.get("errors", "plugin"), 2)
        c.check(f"{name}: the traceback names seq and line",
                "handle_request raised at request seq 9 of shard 0 (request file line 2)" in res.err, res.err)
    for hook in ("request", "response"):
        name = f"--plugin-errors fatal, an exception in handle_{hook}, -d 20s"
        res = h.run_ringload(rl, ["--plugin", f"{mods['raise_every_10.py']}:{hook}", "--plugin-errors", "fatal",
                                  "-d", "20s", "-c", "2", "-t", "2", tgt.url("/")], timeout=30)
        c.eq(f"{name}: exit 4", res.rc, 4)
        c.check(f"{name}: stopped at once", res.elapsed < 5, f"elapsed={res.elapsed:.2f}s")
        lines = [ln for ln in res.err.splitlines() if ln.startswith("error:")]
        c.check(f"{name}: one error line with the exception",
                len(lines) == 1 and "--plugin-errors fatal" in lines[0] and f"handle_{hook}:" in lines[0], res.err)


def test_two_shards(c, rl, mods, tgt):
    n = 4000
    name = f"two shards calling Python, -t 2 -c 8 -n {n}"
    tgt.reset()
    res = run(rl, mods["per_shard.py"], ["-n", str(n), "-c", "8", "-t", "2", tgt.url("/")], timeout=120)
    if not h.check_run_ok(c, name, res):
        return
    report = res.get("plugins")[0]["report"]
    c.eq(f"{name}: requests", requests_of(res), {"total": n, "succeeded": n, "failed": 0, "skipped": 0})
    c.check(f"{name}: both shards ran hooks", set(report) == {"shard0", "shard1"} and all(report.values()), report)
    c.eq(f"{name}: hooks called once per request", sum(report.values()), n)
    c.eq(f"{name}: the server saw them", tgt.settled_count(expected=n), n)
    h.check_no_errors(c, name, res)


def tests(env):
    rl = env.ringload
    mods = {}
    for file, source in MODULES.items():
        mods[file] = os.path.join(env.tmp, file)
        with open(mods[file], "w") as f:
            f.write(source.lstrip("\n"))
    mods["missing.py"] = os.path.join(env.tmp, "missing.py")
    tgt = env.start(h.Target(env.target, threads=1, keep=env.keep))
    srv = env.start(MixServer())
    return [
        ("import errors", test_import_errors, rl, mods, srv),
        ("sign", test_sign, rl, tgt, env.tmp),
        ("skip", test_skip, rl, mods, tgt),
        ("edit", test_edit, rl, mods, tgt, env.tmp),
        ("check_json", test_check_json, rl, srv),
        ("flip", test_flip, rl, mods, tgt, env.tmp),
        ("export changes", test_export_changes, rl, mods, tgt, env.tmp),
        ("streams", test_sse, rl, mods, tgt),
        ("body limit and results", test_body_limit_and_results, rl, mods, tgt),
        ("exceptions", test_exceptions, rl, mods, tgt, env.tmp),
        ("two shards", test_two_shards, rl, mods, tgt),
    ]


if __name__ == "__main__":
    args = h.parse_args(description=__doc__)
    if not os.path.exists(plugin_path(args.ringload)):
        print(f"SKIP python plugin: {plugin_path(args.ringload)} is not built (python3-dev missing, or a "
              "sanitizer build); 0 passed, 0 failed, skipped", flush=True)
        sys.exit(0)
    h.main(tests, title="python plugin", tmp_prefix="ringload-pyplugin-", description=__doc__)
