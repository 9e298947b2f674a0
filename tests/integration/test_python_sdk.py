#!/usr/bin/python3
"""The Python SDK (issue 12): `import ringload` from the build tree (BUILD/python, next to
the ringload binary), run by Debian's /usr/bin/python3 against ringload-target on loopback.

- ringload.run(): the report dict against the CLI's --json for the same run shape (the same
  keys at every level, the same config block, the schema), -n and the server's count,
  requests given as a list of dicts (names, methods and bodies as the server received them),
  bad options as the CLI's messages (ValueError, TypeError, FileNotFoundError, StartError);
- ringload.Engine: start, snapshot while running, set_qps on an open-loop run, stop, a run
  on a Python thread while the main thread keeps working (the GIL is released), Ctrl-C in a
  script (KeyboardInterrupt after a clean stop: every finished response exported once);
- outputs: an export that cannot be written raises OutputError carrying the report;
- Python hooks given as plugins=[...]: a hook that fails every response, one that signs each
  request (the server saw the signature), a raising hook with plugin_errors="fatal"
  (PluginError), run in this interpreter by the hooks runner compiled into the module.
Skipped (exit 0) when the module was not built (no pybind11-dev)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import harness as h


def module_dir(ringload):
    return os.path.join(os.path.dirname(os.path.abspath(ringload)), "python")


def keys_tree(node, depth=3):
    """The keys of a report, nested (values dropped), `depth` levels down."""
    if isinstance(node, dict) and depth > 0:
        return {k: keys_tree(v, depth - 1) for k, v in node.items()
                if k not in ("status_codes", "first_errors")}
    return None


def cli_message(rl, args):
    res = h.run_cli(rl, args)
    lines = [ln for ln in res.err.splitlines() if ln.startswith("error: ")]
    return res.rc, (lines[0][len("error: "):] if lines else res.err)


def test_run_against_cli(c, rl, ringload, tgt):
    name = "ringload.run(url, connections=8, threads=1, duration=2)"
    report = ringload.run(tgt.url("/"), connections=8, threads=1, duration=2)
    cli = h.run_ringload(rl, ["-c", "8", "-t", "1", "-d", "2s", tgt.url("/")])
    c.check(f"{name}: a dict", isinstance(report, dict), type(report))
    h.check_problems(c, f"{name}: the report schema", h.schema_problems(report))
    c.eq(f"{name}: the CLI's keys at every level", keys_tree(report), keys_tree(cli.report))
    c.eq(f"{name}: the CLI's config block", report.get("config"), cli.get("config"))
    c.check(f"{name}: requests > 1000", report["requests"]["total"] > 1000, report["requests"])
    c.eq(f"{name}: no errors", {k: v for k, v in report["errors"].items() if v}, {})
    c.eq(f"{name}: version", ringload.__version__, report["ringload_version"])

    name = "ringload.run(total=500)"
    tgt.reset()
    report = ringload.run(tgt.url("/"), connections=4, threads=2, total=500)
    c.eq(f"{name}: requests.total", report["requests"]["total"], 500)
    c.eq(f"{name}: the server served 500", tgt.settled_count(expected=500), 500)


def test_requests_list(c, ringload, tgt, tmp):
    name = "ringload.run(requests=[...])"
    export = os.path.join(tmp, "sdk-requests.jsonl")
    requests = [
        {"url": tgt.url("/echo"), "name": "get"},
        {"url": tgt.url("/echo?x=1"), "method": "PUT", "body": "hello", "name": "put"},
        {"url": tgt.url("/echo"), "body": {"a": [1, 2]}, "headers": {"X-Test": "yes"}, "name": "json"},
    ]
    report = ringload.run(requests=requests, total=30, loop=True, connections=3, threads=1, export=export)
    c.eq(f"{name}: total", report["requests"]["total"], 30)
    c.eq(f"{name}: by_name", sorted((n["name"], n["requests"]) for n in report["by_name"]),
         [("get", 10), ("json", 10), ("put", 10)])
    records, problems = h.read_export(export)
    h.check_problems(c, f"{name}: export parses", problems)
    seen = set()
    for r in records:
        echo = json.loads(r.get("body") or "{}")  # /echo answers the request as JSON
        headers = dict(echo.get("headers", []))
        seen.add((r.get("name"), echo.get("method"), echo.get("target"), headers.get("X-Test"), echo.get("body")))
    c.eq(f"{name}: what the server received", seen, {
        ("get", "GET", "/echo", None, ""),
        ("put", "PUT", "/echo?x=1", None, "hello"),
        ("json", "POST", "/echo", "yes", '{"a":[1,2]}')})

    name = "requests=[...] with a bad entry"
    try:
        ringload.run(requests=[{"url": tgt.url("/")}, {"url": tgt.url("/"), "timeout": -1}], total=1)
        c.check(f"{name}: ValueError", False, "no exception")
    except ValueError as e:
        c.check(f"{name}: ValueError naming requests[1] and the column", str(e).startswith("requests[1]: column "), e)


def test_errors(c, rl, ringload, tgt, tmp):
    url = tgt.url("/")
    for label, kwargs, args in (
            ("connections=0", {"connections": 0}, ["-c", "0"]),
            ("duration='soon'", {"duration": "soon"}, ["-d", "soon"]),
            ("method='GE T'", {"method": "GE T"}, ["-m", "GE T"]),
            ("qps=-5", {"qps": -5}, ["--qps", "-5"])):
        rc, want = cli_message(rl, args + [url])
        try:
            ringload.run(url, **kwargs)
            c.check(f"{label}: ValueError", False, "no exception")
        except ValueError as e:
            c.eq(f"{label}: ValueError with the CLI's message (CLI exit {rc})", str(e), want)
    try:
        ringload.run("ftp://127.0.0.1/")
        c.check("a bad URL: ValueError", False, "no exception")
    except ValueError as e:
        c.check("a bad URL: ValueError naming the URL", "ftp://127.0.0.1/" in str(e), e)
    try:
        ringload.run(url, conections=4)
        c.check("a misspelt option: TypeError", False, "no exception")
    except TypeError as e:
        c.check("a misspelt option: TypeError naming it", "conections" in str(e), e)
    missing = os.path.join(tmp, "no-such.jsonl")
    try:
        ringload.run(requests_file=missing)
        c.check("a missing request file: FileNotFoundError", False, "no exception")
    except FileNotFoundError as e:
        c.check("a missing request file: FileNotFoundError naming it", missing in str(e), e)
    closed = h.free_port()
    try:
        ringload.run(f"http://127.0.0.1:{closed}/", total=1)
        c.check("a refused port: StartError", False, "no exception")
    except ringload.StartError as e:
        c.check("a refused port: StartError naming the address", f"127.0.0.1:{closed}" in str(e), e)
    try:
        ringload.run(url, total=50, export="/dev/full")
        c.check("an export to /dev/full: OutputError", False, "no exception")
    except ringload.OutputError as e:
        c.check("an export to /dev/full: OutputError with the report", isinstance(e.report, dict)
                and e.report.get("export", {}).get("error"), f"{e} {getattr(e, 'report', None)}")


def test_engine(c, ringload, tgt):
    name = "Engine(qps=200, duration=4): start, snapshot, set_qps(1000), stop"
    eng = ringload.Engine(tgt.url("/"), qps=200, duration=4, connections=8, threads=1)
    eng.start()
    time.sleep(1.2)
    s1 = eng.snapshot()
    c.check(f"{name}: running", s1["running"], s1)
    c.check(f"{name}: totals growing", s1["totals"] and s1["totals"]["requests"]["total"] > 100, s1)
    c.eq(f"{name}: target_qps", s1["target_qps"], 200.0)
    eng.set_qps(1000)
    time.sleep(1.2)
    s2 = eng.snapshot()
    c.eq(f"{name}: target_qps after set_qps", s2["target_qps"], 1000.0)
    grew = s2["totals"]["requests"]["total"] - s1["totals"]["requests"]["total"]
    took = s2["elapsed_s"] - s1["elapsed_s"]
    c.check(f"{name}: about 1000 requests/s since", 600 <= grew / took <= 1400, f"{grew} in {took:.2f} s")
    eng.stop()
    c.check(f"{name}: wait() after stop() ends the run", eng.wait(5.0), "still running")
    report = eng.report()
    c.eq(f"{name}: interrupted", report["interrupted"], True)
    c.check(f"{name}: stopped early", report["duration_s"] < 3.5, report["duration_s"])
    try:
        eng.set_qps(10)
        c.check(f"{name}: set_qps after the run: ValueError", False, "no exception")
    except ValueError:
        c.check(f"{name}: set_qps after the run: ValueError", True)
    try:
        ringload.Engine(tgt.url("/"), duration=1).start().set_qps(10)
        c.check("set_qps on a closed-loop run: ValueError", False, "no exception")
    except ValueError as e:
        c.check("set_qps on a closed-loop run: ValueError", "closed" in str(e) or "qps" in str(e), e)

    name = "ringload.run on a Python thread (the GIL released)"
    out = {}
    t = threading.Thread(target=lambda: out.update(r=ringload.run(tgt.url("/"), duration=2, connections=8, threads=1)))
    spins, t0 = 0, time.monotonic()
    t.start()
    while t.is_alive() and time.monotonic() - t0 < 20:
        spins += 1
    t.join(20)
    c.check(f"{name}: the report", out.get("r", {}).get("requests", {}).get("total", 0) > 100, out)
    # Were the GIL held during the run, the loop could not turn at all while it lasts.
    c.check(f"{name}: the main thread kept running Python", spins > 100_000, f"{spins} loop turns")


SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import ringload
    eng = ringload.Engine(sys.argv[2], duration=30, connections=8, threads=2, export=sys.argv[3])
    try:
        eng.run()
    except KeyboardInterrupt:
        r = eng.report()
        print(json.dumps({"interrupted": r["interrupted"], "total": r["requests"]["total"],
                          "lines": r["export"]["lines"]}))
        sys.exit(7)
""")


def test_ctrl_c(c, ringload_dir, tgt, tmp):
    name = "Ctrl-C in a script running Engine.run()"
    export = os.path.join(tmp, "sdk-ctrl-c.jsonl")
    script = os.path.join(tmp, "ctrl_c.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    proc = subprocess.Popen(["/usr/bin/python3", script, ringload_dir, tgt.url("/"), export],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    c.eq(f"{name}: KeyboardInterrupt reached the script", proc.returncode, 7)
    c.check(f"{name}: stopped within 5 s", time.monotonic() - t0 < 5.0, f"{time.monotonic() - t0:.2f}s {err}")
    try:
        summary = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        c.check(f"{name}: a summary", False, f"stdout={out!r} stderr={err!r}")
        return
    c.eq(f"{name}: interrupted", summary["interrupted"], True)
    records, problems = h.read_export(export)
    h.check_problems(c, f"{name}: export parses", problems)
    c.eq(f"{name}: every finished response exported once", (len(records), len({r['seq'] for r in records})),
         (summary["total"], summary["total"]))
    c.eq(f"{name}: the report's export lines", summary["lines"], summary["total"])


HOOKS = {
    "fail_all.py": """
        def handle_response(response):
            response["ok"] = False
            response["label"] = "failed-by-python"
            return response
    """,
    "sign.py": """
        import hashlib
        def handle_request(request):
            digest = hashlib.sha256(request["body"] + request["target"].encode()).hexdigest()
            request["headers"]["X-Py-Sig"] = digest[:16]
            return request
    """,
    "raises.py": """
        def handle_response(response):
            raise RuntimeError("no good")
    """,
}


def test_python_hooks(c, ringload, tgt, tmp):
    paths = {}
    for fname, src in HOOKS.items():
        paths[fname] = os.path.join(tmp, fname)
        with open(paths[fname], "w") as f:
            f.write(textwrap.dedent(src))
    name = "plugins=[fail_all.py]"
    report = ringload.run(tgt.url("/"), total=200, connections=4, threads=2, plugins=[paths["fail_all.py"]])
    c.eq(f"{name}: every response failed", (report["requests"]["total"], report["requests"]["failed"]), (200, 200))
    c.eq(f"{name}: labels", report.get("labels"), {"failed-by-python": 200})

    name = "plugins=[sign.py]"
    export = os.path.join(tmp, "sdk-sign.jsonl")
    ringload.run(tgt.url("/echo?k=v"), total=50, connections=2, threads=1, method="POST", body="abc",
                 plugin=paths["sign.py"], export=export)
    records, problems = h.read_export(export)
    h.check_problems(c, f"{name}: export parses", problems)
    import hashlib
    want = hashlib.sha256(b"abc/echo?k=v").hexdigest()[:16]
    c.eq(f"{name}: the server saw the signature on every request",
         sum(1 for r in records if dict(json.loads(r.get("body") or "{}").get("headers", [])).get("X-Py-Sig") == want),
         50)

    name = "plugins=[raises.py], plugin_errors='fatal'"
    try:
        ringload.run(tgt.url("/"), duration=20, connections=2, threads=1, plugin=paths["raises.py"],
                     plugin_errors="fatal")
        c.check(f"{name}: PluginError", False, "no exception")
    except ringload.PluginError as e:
        c.check(f"{name}: PluginError with the exception and the report",
                "no good" in str(e) and e.report["errors"]["plugin"] >= 1 and e.report["duration_s"] < 5, e)


def tests(env):
    ringload_dir = module_dir(env.ringload)
    if not os.path.exists(os.path.join(ringload_dir, "ringload", "__init__.py")):
        print(f"skipped: the Python module is not built ({ringload_dir}: no pybind11-dev?)", flush=True)
        return []
    sys.path.insert(0, ringload_dir)
    import ringload
    tgt = env.start(h.Target(env.target, threads=1, keep=env.keep))
    out = [
        ("run against the CLI", test_run_against_cli, env.ringload, ringload, tgt),
        ("requests list", test_requests_list, ringload, tgt, env.tmp),
        ("errors", test_errors, env.ringload, ringload, tgt, env.tmp),
        ("engine", test_engine, ringload, tgt),
        ("ctrl-c", test_ctrl_c, ringload_dir, tgt, env.tmp),
        ("python hooks", test_python_hooks, ringload, tgt, env.tmp),
    ]
    return out


if __name__ == "__main__":
    h.main(tests, title="python sdk", tmp_prefix="ringload-sdk-", description=__doc__)
