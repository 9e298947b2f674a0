"""Request files (-f) and response export (--export) against ringload-target and nginx.

Every exported line is matched back to its request-file line through its distinct query
string, and checked against what the server says it received (/echo), the report's
counts and the server's own count. Malformed files must fail with FILE:LINE:COLUMN before
any traffic.

Run: python3 test_request_file.py --ringload PATH --target PATH
"""
import base64
import codecs
import json
import os
import random
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check_problems, check_run_ok, eq, read_export  # noqa: E402

# The documented order of an export line's keys (optional ones only when they apply).
EXPORT_KEYS = ("seq", "line", "iteration", "name", "url", "method", "protocol", "status", "headers",
               "body", "body_base64", "body_truncated", "error", "timing")
NAMES = ("login", "search", "checkout", "upload", "profile")

# ringload-target echoes valid UTF-8 as is and any other byte as U+00XX (its README).
codecs.register_error("rl_latin1", lambda e: (
    "".join(chr(b) for b in e.object[e.start:e.end]), e.end))


def echo_text(data):
    return data.decode("utf-8", errors="rl_latin1")


def minify(raw):
    """JSON text without whitespace outside strings (numbers and escapes kept as written)."""
    out, in_string, escaped = [], False, False
    for ch in raw:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch not in " \t\r\n":
            out.append(ch)
    return "".join(out)


def header_values(pairs, name):
    return [v for n, v in pairs if n.lower() == name.lower()]


def key_order_problem(rec):
    keys = list(rec)
    unknown = [k for k in keys if k not in EXPORT_KEYS]
    if unknown:
        return f"unknown keys {unknown}"
    if keys != sorted(keys, key=EXPORT_KEYS.index):
        return f"keys out of order: {keys}"
    return None


def write_lines(path, texts, crlf_every=0, blank_after=()):
    """Writes request lines; returns {file line number: index into texts}."""
    line_of, n = {}, 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        for i, text in enumerate(texts):
            n += 1
            line_of[n] = i
            f.write(text + ("\r\n" if crlf_every and i % crlf_every == 0 else "\n"))
            if i in blank_after:
                n += 1
                f.write("  \t\n" if i % 2 else "\n")
    return line_of


def line_text(pairs):
    """One JSON object from (key, raw JSON text) pairs: raw text keeps our spacing."""
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}"


# ------------------------------------------------------------------- the mixed file

STRING_BODIES = ("", "plain text", "héllo wörld \U0001F600 ✓",
                 'quote " backslash \\ newline \n tab \t end', '{"looks":"like json"}',
                 "x" * 5000)
JSON_BODIES = ('{ "a" : [1, 2.50, 1e3, -0.0], "s" : "x  y", "line" : %d }',
               '[ true, false, null, 12345678901234567890, { } , [ ] , %d ]',
               '{"nested": {"k": [ {"x": "\\u00e9 \\" \\\\ é"} ]}, "n": %d}')


def binary_body(rnd):
    parts = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 120))),
             "€ é".encode(), b"\xff\xfe\x00\x80", "é".encode()[:1],
             bytes(rnd.randrange(128) for _ in range(rnd.randrange(0, 40)))]
    rnd.shuffle(parts)
    return b"".join(parts)


def gen_mixed(port, n=500, seed=20240501):
    """n request specs to /echo, one distinct query each, and their line texts."""
    rnd = random.Random(seed)
    specs = []
    for i in range(n):
        # None: no "method" key (GET, or POST when the line has a body).
        method = rnd.choice(("GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD", None, None))
        url = f"http://127.0.0.1:{port}/echo?line={i}&r={rnd.randrange(10**6)}"
        s = {"i": i, "url": url, "target": url.split(str(port), 1)[1], "headers": [],
             "body": None, "json_body": False, "name": None}
        pairs = [("url", json.dumps(url))]
        style = rnd.choice(("none", "object", "pairs"))
        if style == "object":
            s["headers"] = [("X-Test", f"v{i}"), ("X-Other", rnd.choice(("a b c", "café", "1")))]
            pairs.append(("headers", json.dumps(dict(s["headers"]), ensure_ascii=False)))
        elif style == "pairs":
            s["headers"] = [("X-Rep", str(k)) for k in range(rnd.randrange(2, 5))]
            s["headers"].insert(1, ("X-Single", f"s{i}"))
            pairs.append(("headers", json.dumps([list(p) for p in s["headers"]])))
        kind = "none" if method in ("GET", "HEAD") else rnd.choice(("string", "json", "base64"))
        if method is None and rnd.random() < 0.3:
            kind = "none"
        if kind == "string":
            s["body"] = rnd.choice(STRING_BODIES).encode()
            pairs.append(("body", json.dumps(s["body"].decode(), ensure_ascii=rnd.random() < 0.5)))
        elif kind == "json":
            raw = rnd.choice(JSON_BODIES) % i
            s["body"], s["json_body"] = minify(raw).encode(), True
            if rnd.random() < 0.3:
                s["headers"].append(("Content-Type", "application/vnd.test+json"))
                pairs = [p for p in pairs if p[0] != "headers"]
                pairs.append(("headers", json.dumps(dict(s["headers"])) if style != "pairs"
                              else json.dumps([list(p) for p in s["headers"]])))
            pairs.append(("body", raw))
        elif kind == "base64":
            s["body"] = binary_body(rnd)
            text = base64.b64encode(s["body"]).decode()
            pairs.append(("body_base64", json.dumps(text.rstrip("=") if i % 3 else text)))
        s["method"] = method or ("POST" if s["body"] is not None else "GET")
        if method is not None:
            pairs.append(("method", json.dumps(method)))
        if rnd.random() < 0.55:
            s["name"] = rnd.choice(NAMES)
            pairs.append(("name", json.dumps(s["name"])))
        if rnd.random() < 0.1:
            pairs.append(("timeout", "30"))
        rnd.shuffle(pairs)  # key order must not matter
        s["text"] = line_text(pairs)
        specs.append(s)
    return specs


def stat_name(s):
    return s["name"] or f"{s['method']} /echo"


def echo_problems(rec, s, port):
    """What is wrong with one exported /echo line, as strings."""
    p, tag = [], f"line {rec.get('line')} ({s['method']} {s['target']})"
    if rec.get("method") != s["method"] or rec.get("url") != s["url"]:
        p.append(f"{tag}: method/url {rec.get('method')} {rec.get('url')}")
    if rec.get("status") != 200 or "error" in rec:
        p.append(f"{tag}: status {rec.get('status')} error {rec.get('error')}")
    if rec.get("name") != stat_name(s):
        p.append(f"{tag}: name {rec.get('name')!r}, want {stat_name(s)!r}")
    resp_headers = rec.get("headers") or []
    ctype = header_values(resp_headers, "Content-Type")
    clen = header_values(resp_headers, "Content-Length")
    if s["method"] == "HEAD":
        if rec.get("body", "") != "" or "body_base64" in rec:
            p.append(f"{tag}: HEAD response has a body")
        if ctype != ["application/json"] or len(clen) != 1 or not clen[0].isdigit():
            p.append(f"{tag}: HEAD response headers {resp_headers}")
        return p
    body = rec.get("body")
    if not isinstance(body, str):
        return p + [f"{tag}: no text body: {sorted(rec)}"]
    if ctype != ["application/json"] or clen != [str(len(body.encode()))]:
        p.append(f"{tag}: response Content-Type/Content-Length {resp_headers}")
    try:
        echo = json.loads(body)
    except ValueError as e:
        return p + [f"{tag}: echo body is not JSON ({e}): {body[:200]!r}"]
    if echo.get("method") != s["method"] or echo.get("target") != s["target"]:
        p.append(f"{tag}: echo saw {echo.get('method')} {echo.get('target')}")
    got = [tuple(x) for x in echo.get("headers") or []]
    own = {n.lower() for n, _ in s["headers"]}
    if [x for x in got if x[0].lower() in own] != s["headers"]:
        p.append(f"{tag}: echoed headers {got}, line's {s['headers']}")
    want_ctype = header_values(s["headers"], "Content-Type") or (
        ["application/json"] if s["json_body"] else [])
    if header_values(got, "Content-Type") != want_ctype:
        p.append(f"{tag}: request Content-Type {header_values(got, 'Content-Type')}, "
                 f"want {want_ctype}")
    if header_values(got, "Host") != [f"127.0.0.1:{port}"]:
        p.append(f"{tag}: request Host {header_values(got, 'Host')}")
    sent_len = header_values(got, "Content-Length")
    # RFC 9110 §8.6: Content-Length: 0 when the method gives content a meaning (POST, PUT);
    # none is fine for an empty DELETE, whose content has no defined semantics.
    want_len = [[str(len(s["body"]))]] if s["body"] else [["0"]]
    if s["body"] == b"" and s["method"] == "DELETE":
        want_len = [[], ["0"]]
    if s["body"] is not None and sent_len not in want_len:
        p.append(f"{tag}: request Content-Length {sent_len}, body is {len(s['body'])} bytes")
    if s["body"] is None and sent_len not in ([], ["0"]):
        p.append(f"{tag}: request Content-Length {sent_len} without a body")
    want_body = echo_text(s["body"] or b"")
    if echo.get("body") != want_body:
        p.append(f"{tag}: echoed body {echo.get('body')!r:.120}, want {want_body!r:.120}")
    return p


def check_export_basics(c, name, recs, res, want_lines):
    eq(c, f"{name}: exported lines", len(recs), want_lines)
    eq(c, f"{name}: report export.lines", res.get("export", "lines"), want_lines)
    eq(c, f"{name}: seq values are 0..N-1 in file order", [r.get("seq") for r in recs],
         list(range(len(recs))))
    check_problems(c, f"{name}: keys in the documented order",
                   [f"seq {r.get('seq')}: {k}" for r in recs if (k := key_order_problem(r))])
    bad_timing = []
    for r in recs:
        t = r.get("timing") or {}
        total, ttfb = t.get("total_us"), t.get("ttfb_us")
        ok = isinstance(t.get("start_us"), (int, float)) and isinstance(total, (int, float))
        if not ok or (ttfb is not None and not 0 <= ttfb <= total):
            bad_timing.append(f"seq {r.get('seq')}: {t}")
    check_problems(c, f"{name}: timing has start_us, ttfb_us <= total_us", bad_timing)


def test_mixed_file(c, rl, tgt, tmp, specs, path, line_of):
    name = "500-line mixed file -c 8 --export"
    out = os.path.join(tmp, "mixed-export.jsonl")
    tgt.reset()
    res = h.run_ringload(rl, ["-f", path, "-c", "8", "--export", out], timeout=120)
    if not check_run_ok(c, name, res):
        return
    recs, problems = read_export(out)
    check_problems(c, f"{name}: export is valid JSONL", problems)
    eq(c, f"{name}: requests.total", res.total(), 500)
    eq(c, f"{name}: status_codes", res.get("status_codes"), {"200": 500})
    h.check_no_errors(c, name, res)
    eq(c, f"{name}: server /count", tgt.settled_count(expected=500), 500)
    check_export_basics(c, name, recs, res, 500)
    eq(c, f"{name}: every file line exported once", sorted(r.get("line") for r in recs),
         sorted(line_of))
    eq(c, f"{name}: iteration is 0", {r.get("iteration") for r in recs}, {0})
    problems = []
    for r in recs:
        if r.get("line") not in line_of:
            problems.append(f"unknown line {r.get('line')}")
            continue
        problems += echo_problems(r, specs[line_of[r["line"]]], tgt.port)
    check_problems(c, f"{name}: each line's method, url, status, headers and body as echoed",
                   problems)
    want = {}
    for s in specs:
        want[stat_name(s)] = want.get(stat_name(s), 0) + 1
    by_name = res.get("by_name") or []
    eq(c, f"{name}: by_name requests", {b.get("name"): b.get("requests") for b in by_name}, want)
    eq(c, f"{name}: by_name succeeded", {b.get("name"): b.get("succeeded") for b in by_name}, want)
    eq(c, f"{name}: by_name failed", {b.get("failed") for b in by_name}, {0})
    c.check(f"{name}: by_name latency_us has p50", all(
        isinstance((b.get("latency_us") or {}).get("p50"), (int, float)) for b in by_name),
        f"by_name={by_name[:2]}")


# ------------------------------------------------------------------------- nginx

LOG_RE = re.compile(r'^(\d{3}) (\S+) (\S+) "([^"]*)" "([^"]*)"$')


def test_nginx(c, rl, tmp, keep):
    with h.Nginx(workers=2, keep=keep) as ngx:
        rnd = random.Random(7)
        texts, want = [], {}
        for i in range(300):
            method = ("GET", "POST", "PUT", "DELETE", "HEAD")[i % 5]
            uri = f"/r{i % 7}?i={i}"
            line = {"url": ngx.url(uri), "method": method, "headers": {"X-Test": f"t{i}"}}
            if method in ("POST", "PUT"):
                line["body"] = "b" * rnd.randrange(0, 3000)
            if i % 4 == 0:
                line["name"] = "quarter"
            texts.append(json.dumps(line))
            want[uri] = (method, f"t{i}")
        path = os.path.join(tmp, "nginx.jsonl")
        line_of = write_lines(path, texts)
        out = os.path.join(tmp, "nginx-export.jsonl")
        name = "nginx 300-line file -c 6 --export"
        ngx.clear_logs()
        res = h.run_ringload(rl, ["-f", path, "-c", "6", "--export", out], timeout=90)
        if not check_run_ok(c, name, res):
            return
        recs, problems = read_export(out)
        check_problems(c, f"{name}: export is valid JSONL", problems)
        log = ngx.settled_log(expected=300)
        eq(c, f"{name}: requests.total", res.total(), 300)
        eq(c, f"{name}: access log lines == exported lines == total", (len(log), len(recs)),
             (300, 300))
        h.check_no_errors(c, name, res)
        check_export_basics(c, name, recs, res, 300)
        got = {}
        for ln in log:
            m = LOG_RE.match(ln)
            if m:
                got[m.group(3)] = (m.group(2), m.group(4))
        eq(c, f"{name}: access log has each line's method, URI and X-Test once", got, want)
        problems = []
        for r in recs:
            if r.get("line") not in line_of:
                problems.append(f"unknown line {r.get('line')}")
                continue
            s = json.loads(texts[line_of[r["line"]]])
            body = "" if s["method"] == "HEAD" else "ok\n"
            if (r.get("url"), r.get("method"), r.get("status"), r.get("body", "")) != \
                    (s["url"], s["method"], 200, body):
                problems.append(f"line {r.get('line')}: {r}")
        check_problems(c, f"{name}: exported url, method, status 200, body 'ok\\n'", problems)
        eq(c, f"{name}: by_name quarter", [b.get("requests") for b in res.get("by_name") or []
                                          if b.get("name") == "quarter"], [75])


# ----------------------------------------------------------- iterations and shuffle

def sequence(recs):
    return [(r.get("iteration"), r.get("line")) for r in recs]


def passes(seq, n_iter):
    return [[ln for it, ln in seq if it == k] for k in range(n_iter)]


def test_iterations(c, rl, tgt, tmp, path, line_of):
    name = "--iterations 3 -c 8"
    out = os.path.join(tmp, "iter.jsonl")
    tgt.reset()
    res = h.run_ringload(rl, ["-f", path, "--iterations", "3", "-c", "8", "--export", out],
                         timeout=180)
    if check_run_ok(c, name, res):
        eq(c, f"{name}: requests.total", res.total(), 1500)
        eq(c, f"{name}: server /count", tgt.settled_count(expected=1500), 1500)
        h.check_no_errors(c, name, res)
        eq(c, f"{name}: by_iteration", [(b.get("iteration"), b.get("requests"), b.get("succeeded"))
                                       for b in res.get("by_iteration") or []],
             [(0, 500, 500), (1, 500, 500), (2, 500, 500)])
        recs, problems = read_export(out)
        check_problems(c, f"{name}: export is valid JSONL", problems)
        eq(c, f"{name}: each pass exports every line once",
             [sorted(p) for p in passes(sequence(recs), 3)], [sorted(line_of)] * 3)

    runs = {}
    for label, extra in (("file order", []), ("seed 7 a", ["--shuffle", "--seed", "7"]),
                         ("seed 7 b", ["--shuffle", "--seed", "7"]),
                         ("seed 8", ["--shuffle", "--seed", "8"])):
        name = f"--iterations 3 -t 1 -c 1 {label}"
        out = os.path.join(tmp, f"order-{label.replace(' ', '_')}.jsonl")
        res = h.run_ringload(rl, ["-f", path, "--iterations", "3", "-t", "1", "-c", "1",
                                  "--export", out] + extra, timeout=180)
        if not check_run_ok(c, name, res):
            continue
        eq(c, f"{name}: requests.total", res.total(), 1500)
        recs, problems = read_export(out)
        check_problems(c, f"{name}: export is valid JSONL", problems)
        seq = sequence(recs)
        eq(c, f"{name}: passes follow one another", [it for it, _ in seq],
             sorted(it for it, _ in seq))
        runs[label] = passes(seq, 3)
        eq(c, f"{name}: each pass is a permutation of the file",
             [sorted(p) for p in runs[label]], [sorted(line_of)] * 3)
    file_order = sorted(line_of)
    if "file order" in runs:
        eq(c, "no --shuffle, one connection: every pass in file order", runs["file order"],
             [file_order] * 3)
    if "seed 7 a" in runs and "seed 7 b" in runs:
        c.check("--shuffle --seed 7 twice: the same order, pass by pass",
                runs["seed 7 a"] == runs["seed 7 b"],
                f"first pass heads {runs['seed 7 a'][0][:10]} vs {runs['seed 7 b'][0][:10]}")
        a = runs["seed 7 a"]
        c.check("--shuffle --seed 7: no pass in file order", all(p != file_order for p in a),
                f"pass heads {[p[:10] for p in a]}")
        c.check("--shuffle --seed 7: a new order for each pass",
                a[0] != a[1] and a[1] != a[2] and a[0] != a[2], f"pass heads {[p[:10] for p in a]}")
    if "seed 7 a" in runs and "seed 8" in runs:
        c.check("--shuffle --seed 8 differs from --seed 7 in every pass",
                all(x != y for x, y in zip(runs["seed 7 a"], runs["seed 8"])),
                f"seed 7 heads {[p[:8] for p in runs['seed 7 a']]} "
                f"seed 8 heads {[p[:8] for p in runs['seed 8']]}")


def test_loop(c, rl, tgt, tmp, path):
    name = "--loop -n 1234 -c 8"
    out = os.path.join(tmp, "loop.jsonl")
    tgt.reset()
    res = h.run_ringload(rl, ["-f", path, "--loop", "-n", "1234", "-c", "8", "--export", out],
                         timeout=180)
    if not check_run_ok(c, name, res):
        return
    eq(c, f"{name}: requests.total", res.total(), 1234)
    eq(c, f"{name}: in_flight_at_end", res.get("requests", "in_flight_at_end"), 0)
    eq(c, f"{name}: server /count", tgt.settled_count(expected=1234), 1234)
    h.check_no_errors(c, name, res)
    eq(c, f"{name}: by_iteration requests",
       [b.get("requests") for b in res.get("by_iteration") or []],
         [500, 500, 234])
    recs, problems = read_export(out)
    check_problems(c, f"{name}: export is valid JSONL", problems)
    eq(c, f"{name}: exported lines", len(recs), 1234)


# -------------------------------------------------------------- timeouts, bodies

def test_timeouts(c, rl, tgt, tmp):
    texts, slow = [], set()
    for i in range(100):
        if i % 10 == 3:
            texts.append(json.dumps({"url": tgt.url(f"/delay/2000?i={i}"), "timeout": 0.2,
                                     "name": "slow"}))
            slow.add(i + 1)
        else:
            texts.append(json.dumps({"url": tgt.url(f"/echo?i={i}"), "name": "fast"}))
    path = os.path.join(tmp, "timeouts.jsonl")
    write_lines(path, texts)
    name = "10 lines /delay/2000 with timeout 0.2 among 90 normal lines"
    out = os.path.join(tmp, "timeouts-export.jsonl")
    res = h.run_ringload(rl, ["-f", path, "-c", "4", "--export", out], timeout=60)
    if check_run_ok(c, name, res):
        errors = res.get("errors") or {}
        eq(c, f"{name}: errors.timeout == 10, other error counters 0",
           {k: v for k, v in errors.items() if v or k == "timeout"}, {"timeout": 10})
        eq(c, f"{name}: requests",
           {k: res.get("requests", k) for k in ("total", "succeeded", "failed")},
             {"total": 100, "succeeded": 90, "failed": 10})
        eq(c, f"{name}: by_name",
           {b.get("name"): (b.get("requests"), b.get("succeeded"), b.get("failed"))
            for b in res.get("by_name") or []},
             {"slow": (10, 0, 10), "fast": (90, 90, 0)})
        recs, problems = read_export(out)
        check_problems(c, f"{name}: export is valid JSONL", problems)
        eq(c, f"{name}: exported lines", len(recs), 100)
        bad = []
        for r in recs:
            if r.get("line") in slow:
                total_us = (r.get("timing") or {}).get("total_us") or 0
                if (r.get("error") or {}).get("kind") != "timeout" or r.get("status") is not None:
                    bad.append(f"timed-out line {r.get('line')}: {r}")
                elif not 190_000 <= total_us < 1_500_000:
                    bad.append(f"line {r.get('line')}: total_us {total_us} not ~200 ms")
            elif r.get("status") != 200 or "error" in r:
                bad.append(f"normal line {r.get('line')}: {r}")
        check_problems(c, f"{name}: timeouts exported with error.kind timeout, no status, "
                          "after ~200 ms; others 200", bad)

    name = "timeouts --export-errors-only"
    out = os.path.join(tmp, "timeouts-errors.jsonl")
    res = h.run_ringload(rl, ["-f", path, "-c", "4", "--export", out, "--export-errors-only"],
                         timeout=60)
    if check_run_ok(c, name, res):
        eq(c, f"{name}: requests.total", res.total(), 100)
        recs, problems = read_export(out)
        check_problems(c, f"{name}: export is valid JSONL", problems)
        eq(c, f"{name}: only the timed-out lines",
             sorted((r.get("line"), (r.get("error") or {}).get("kind")) for r in recs),
             sorted((ln, "timeout") for ln in slow))
        eq(c, f"{name}: report export.lines", res.get("export", "lines"), 10)
        eq(c, f"{name}: seq numbers the exported lines", [r.get("seq") for r in recs],
             list(range(len(recs))))


def test_max_body(c, rl, tgt, tmp):
    texts = [json.dumps({"url": tgt.url(f"/bytes/{n}?i={i}")})
             for i, n in enumerate((1000, 10, 5, 1000, 1000, 10, 1000, 1000))]
    path = os.path.join(tmp, "bytes.jsonl")
    write_lines(path, texts)
    name = "--export-max-body 10 on /bytes/1000, /bytes/10, /bytes/5"
    out = os.path.join(tmp, "bytes-export.jsonl")
    res = h.run_ringload(rl, ["-f", path, "-c", "2", "--export", out, "--export-max-body", "10"],
                         timeout=60)
    if check_run_ok(c, name, res):
        h.check_no_errors(c, name, res)
        c.check(f"{name}: bytes.in counts whole bodies", (res.get("bytes", "in") or 0) >= 5 * 1000,
                f"bytes={res.get('bytes')}")
        recs, problems = read_export(out)
        check_problems(c, f"{name}: export is valid JSONL", problems)
        got = sorted((r.get("url", "").split("/bytes/")[1], r.get("body"),
                      r.get("body_truncated", "absent"),
                      header_values(r.get("headers") or [], "Content-Length")) for r in recs)
        want = sorted([(f"1000?i={i}", "0123456789", True, ["1000"]) for i in (0, 3, 4, 6, 7)] +
                      [(f"10?i={i}", "0123456789", "absent", ["10"]) for i in (1, 5)] +
                      [("5?i=2", "01234", "absent", ["5"])])
        eq(c, f"{name}: body cut at 10 bytes, body_truncated only when cut", got, want)

    name = "URL mode -n 5 --export-max-body 10 /bytes/1000"
    out = os.path.join(tmp, "url-export.jsonl")
    res = h.run_ringload(rl, ["-n", "5", "-c", "1", "--export", out, "--export-max-body", "10",
                              tgt.url("/bytes/1000")], timeout=60)
    if check_run_ok(c, name, res):
        recs, problems = read_export(out)
        check_problems(c, f"{name}: export is valid JSONL", problems)
        eq(c, f"{name}: line null, body cut, truncated",
             [(r.get("line"), r.get("body"), r.get("body_truncated")) for r in recs],
             [(None, "0123456789", True)] * 5)

    # A cut inside a UTF-8 sequence leaves invalid UTF-8: the export must switch to base64.
    line = json.dumps({"url": tgt.url("/echo?utf8"), "body": "ééééé"}, ensure_ascii=False)
    path = os.path.join(tmp, "utf8.jsonl")
    write_lines(path, [line])
    full_out = os.path.join(tmp, "utf8-full.jsonl")
    res = h.run_ringload(rl, ["-f", path, "-c", "1", "--export", full_out], timeout=60)
    full, _ = read_export(full_out)
    body = full[0].get("body", "").encode() if res.rc == 0 and len(full) == 1 else b""
    cut = body.find("é".encode()) + 1
    name = f"--export-max-body {cut} cuts an echoed 'é' in half"
    if not c.check(f"{name}: full body exported first", cut > 0, f"full={full} {res.describe()}"):
        return
    out = os.path.join(tmp, "utf8-cut.jsonl")
    res = h.run_ringload(rl, ["-f", path, "-c", "1", "--export", out, "--export-max-body",
                              str(cut)], timeout=60)
    if check_run_ok(c, name, res):
        recs, problems = read_export(out)
        check_problems(c, f"{name}: export is valid JSONL", problems)
        r = recs[0] if recs else {}
        eq(c, f"{name}: body_base64 of the first {cut} bytes, truncated",
             ("body" in r, base64.b64decode(r.get("body_base64", "")), r.get("body_truncated")),
             (False, body[:cut], True))


# ------------------------------------------------------------------------- Ctrl-C

def test_interrupt(c, rl, tgt, tmp):
    texts = []
    for i in range(20):
        path = ("/echo", "/delay/50", "/bytes/100", "/")[i % 4]
        line = {"url": tgt.url(f"{path}?i={i}")}
        if i % 3 == 0:
            line["body"] = {"i": i}
        texts.append(json.dumps(line))
    path = os.path.join(tmp, "loop-mix.jsonl")
    write_lines(path, texts)
    out, report_path = os.path.join(tmp, "sigint.jsonl"), os.path.join(tmp, "sigint-report.json")
    name = "SIGINT after 1.5 s of --loop -d 30s --export"
    tgt.reset()
    res, after = h.interrupt_ringload(rl, ["-f", path, "--loop", "-d", "30s", "-c", "16", "--export", out,
                                           "-o", report_path], signal.SIGINT, after_s=1.5, json_report=False)
    c.check(f"{name}: exits 130", res.rc == 130, res.describe())
    c.check(f"{name}: exits within 5 s of the signal", after < 5.0, f"after={after:.2f}s")
    try:
        with open(report_path) as f:
            report = json.load(f)
        h.validate_report(report, report_path)
    except (OSError, ValueError) as e:
        c.check(f"{name}: -o report", False, f"{e}; {res.describe()}")
        return
    total = (report.get("requests") or {}).get("total")
    eq(c, f"{name}: interrupted", report.get("interrupted"), True)
    c.check(f"{name}: requests.total > 0", isinstance(total, int) and total > 0,
            f"requests={report.get('requests')}")
    recs, problems = read_export(out)
    check_problems(c, f"{name}: export is complete JSONL (every line parses, ends with \\n)",
                   problems)
    eq(c, f"{name}: exported lines == requests.total", len(recs), total)
    eq(c, f"{name}: report export.lines", (report.get("export") or {}).get("lines"), len(recs))
    seqs = [r.get("seq") for r in recs]
    c.check(f"{name}: each seq exactly once", sorted(seqs) == list(range(len(recs))),
            f"{len(seqs)} seqs, {len(set(seqs))} distinct, max {max(seqs, default=None)}")
    c.check(f"{name}: every exported line comes from the file",
            all(1 <= (r.get("line") or 0) <= 20 for r in recs), "lines outside 1..20")


# ----------------------------------------------------------------------- bad input

BAD_LINES = [
    # (label, line text, expected column: None = 1 else the token's first occurrence, words)
    ("not JSON: missing colon", '{"url" "http://127.0.0.1:{p}/"}', '"http', "JSON"),
    ("not JSON: bare words", "not json", None, "JSON"),
    ("not JSON: trailing comma", '{"url":"http://127.0.0.1:{p}/",}', "}", "JSON"),
    ("not an object: array", "  [1, 2]", "[", "object"),
    ("not an object: string", '"http://127.0.0.1:{p}/"', None, "object"),
    ("url missing", '{"method": "GET", "name": "x"}', None, "url"),
    ("url not a string", '{"url": 42}', "42", "url"),
    ("unknown scheme", '{"url": "ftp://127.0.0.1:{p}/"}', '"ftp', "scheme"),
    ("header value with CR LF (object)",
     '{"url": "http://127.0.0.1:{p}/", "headers": {"X-A": "a\\r\\nX-Injected: 1"}}',
     '"a\\r', "X-A"),
    ("header value with LF (pairs)",
     '{"url": "http://127.0.0.1:{p}/", "headers": [["X-A", "ok"], ["X-B", "a\\nb"]]}',
     '"a\\n', "X-B"),
    ("negative timeout", '{"url": "http://127.0.0.1:{p}/", "timeout": -1.5}', "-1.5", "timeout"),
    ("bad base64: character", '{"url": "http://127.0.0.1:{p}/", "body_base64": "QU*D"}',
     '"QU*D', "base64"),
    ("bad base64: truncated", '{"url": "http://127.0.0.1:{p}/", "body_base64": "QUJDR"}',
     '"QUJDR', "base64"),
]


def expect_file_error(c, rl, label, path, line, column, words, tgt=None):
    res = h.run_cli(rl, ["-f", path, "-c", "2", "-d", "2s"])
    where = f"{path}:{line}:{column}: " if line else f"{path}: "
    c.check(f"bad file [{label}]: exit 2", res.rc == 2, res.describe())
    c.check(f"bad file [{label}]: stderr starts with 'error: {where}'",
            res.err.startswith(f"error: {where}"), res.describe())
    c.check(f"bad file [{label}]: message mentions {words!r}", words.lower() in res.err.lower(),
            res.describe())
    c.check(f"bad file [{label}]: fails at once, no report", res.elapsed < 5 and res.out == "",
            res.describe())
    if tgt is not None:
        eq(c, f"bad file [{label}]: no traffic reached the server", tgt.settled_count(), 0)


def test_bad_input(c, rl, tgt, tmp):
    refused = h.free_port()
    good = json.dumps({"url": f"http://127.0.0.1:{refused}/ok"})
    for k, (label, text, token, words) in enumerate(BAD_LINES):
        text = text.replace("{p}", str(refused))
        path = os.path.join(tmp, f"bad{k}.jsonl")
        with open(path, "w") as f:
            f.write(f"{good}\n\n{text}\n{good}\n")  # the bad line is line 3
        column = 1 if token is None else text.index(token) + 1
        expect_file_error(c, rl, label, path, 3, column, words)

    # A bad last line after 299 good ones to the live server: nothing is sent.
    path = os.path.join(tmp, "bad-late.jsonl")
    bad = '{"url": "%s", "timeout": 0}' % tgt.url("/late")
    write_lines(path, [json.dumps({"url": tgt.url(f"/echo?i={i}")}) for i in range(299)] + [bad])
    tgt.reset()
    expect_file_error(c, rl, "timeout 0 on line 300", path, 300, bad.index(" 0}") + 2, "timeout",
                      tgt=tgt)

    empty = os.path.join(tmp, "empty.jsonl")
    open(empty, "w").close()
    blank = os.path.join(tmp, "blank.jsonl")
    with open(blank, "w") as f:
        f.write("\n   \n\t\n")
    for label, path, words in (("empty file", empty, "empty"), ("only blank lines", blank, "empty"),
                               ("missing file", os.path.join(tmp, "no-such.jsonl"), "no such file"),
                               ("a directory", tmp, "directory")):
        expect_file_error(c, rl, label, path, 0, 0, words)

    # An unknown key is a warning naming the key and its first line; the run proceeds.
    texts = [json.dumps({"url": tgt.url(f"/echo?u={i}"),
                         **({"colour": "red"} if i in (1, 3) else {})}) for i in range(6)]
    path = os.path.join(tmp, "unknown-key.jsonl")
    write_lines(path, texts)
    name = "unknown key 'colour' on lines 2 and 4"
    tgt.reset()
    res = h.run_ringload(rl, ["-f", path, "-c", "2"], timeout=60, quiet=False)
    if check_run_ok(c, name, res):
        warnings = [ln for ln in res.err.splitlines() if "colour" in ln]
        c.check(f"{name}: one warning naming the key and line 2",
                len(warnings) == 1 and f"{path}:2:" in warnings[0] and "warning" in warnings[0],
                f"stderr={res.err[-600:]!r}")
        eq(c, f"{name}: all 6 lines sent", (res.total(), tgt.settled_count(expected=6)), (6, 6))


def tests(env):
    rl, tmp = env.ringload, env.tmp
    tgt = env.start(h.Target(env.target, threads=2, keep=env.keep), started="ringload-target started",
                    exit_check="ringload-target exits 0 on SIGTERM")
    specs = gen_mixed(tgt.port)
    mixed = os.path.join(tmp, "mixed.jsonl")
    line_of = write_lines(mixed, [s["text"] for s in specs], crlf_every=7, blank_after=(0, 99, 250))
    return [
        ("mixed file", test_mixed_file, rl, tgt, tmp, specs, mixed, line_of),
        ("nginx", test_nginx, rl, tmp, env.keep),
        ("iterations and shuffle", test_iterations, rl, tgt, tmp, mixed, line_of),
        ("loop", test_loop, rl, tgt, tmp, mixed),
        ("timeouts", test_timeouts, rl, tgt, tmp),
        ("max body", test_max_body, rl, tgt, tmp),
        ("interrupt", test_interrupt, rl, tgt, tmp),
        ("bad input", test_bad_input, rl, tgt, tmp),
    ]


if __name__ == "__main__":
    h.main(tests, title="request-file", tmp_prefix="ringload-rf-", description=__doc__)
