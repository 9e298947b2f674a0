#!/usr/bin/python3
"""--threshold (issue 15) against ringload-target on loopback:

- thresholds that pass (exit 0) and fail (exit 5, the failed ones on stderr and in the
  summary), each with the value the report's own figures hold (latency_us, ttfb_us,
  service_time_us, requests, throughput.rps);
- error rate and availability on a target answering 500;
- per request name with a request file (by_name's figures), and a URL run's default name;
- ':abort' stops the run at the first failing window (and one that holds does not);
- an output that cannot be written wins over a failed threshold (exit 3);
- bad expressions and unknown names exit 2 before any traffic: a listener saw no
  connection, the target no request;
- the Python SDK: threshold=[...] in the report, ThresholdError, a bad one as ValueError."""
import json
import os
import sys
import threading

import harness as h


def thresholds(res):
    return res.get("thresholds", default=[]) or []


def run(rl, args, timeout=60.0):
    return h.run_ringload(rl, ["-t", "1"] + args, timeout=timeout)


def test_pass(c, rl, tgt):
    exprs = ["p99<5s", "latency.p50<=5s", "avg<5s", "med<5s", "max<5s", "min>=0us", "ttfb.p95<5s",
             "service.max<5000ms", "errors<1%", "errors==0", "availability>=99.9%", "rps>10"]
    res = run(rl, ["-c", "4", "-d", "1s"] + [a for e in exprs for a in ("--threshold", e)] + [tgt.url("/")])
    name = "thresholds that hold"
    c.eq(f"{name}: exit 0", res.rc, 0)
    t = thresholds(res)
    c.eq(f"{name}: listed in order", [x["expression"] for x in t], exprs)
    c.eq(f"{name}: all passed", [x["expression"] for x in t if not x["passed"]], [])
    r = res.report
    total = r["requests"]["total"]
    want = [r["latency_us"]["p99"], r["latency_us"]["p50"], r["latency_us"]["mean"], r["latency_us"]["p50"],
            r["latency_us"]["max"], r["latency_us"]["min"], r["ttfb_us"]["p95"], r["service_time_us"]["max"],
            r["requests"]["failed"] / total, r["requests"]["failed"] / total, r["requests"]["succeeded"] / total,
            r["throughput"]["rps"]]
    c.eq(f"{name}: each value is the report's own figure", [x["value"] for x in t], want)
    c.eq(f"{name}: metrics, stats, units",
         [(x["metric"], x["stat"], x["unit"]) for x in t][5:9],
         [("latency", "min", "us"), ("ttfb", "p95", "us"), ("service", "max", "us"), ("errors", "rate", "ratio")])
    c.eq(f"{name}: limits in the report's units", [x["limit"] for x in t][:1] + [t[7]["limit"], t[10]["limit"]],
         [5e6, 5e6, 0.999])


def test_fail(c, rl, tgt):
    name = "thresholds that fail"
    args = ["-c", "4", "-d", "1s", "--threshold", "p99<1us", "--threshold", "rps>1000000000",
            "--threshold", "errors<1%", tgt.url("/")]
    res = run(rl, args)
    c.eq(f"{name}: exit 5", res.rc, 5)
    c.eq(f"{name}: passed flags", [x["passed"] for x in thresholds(res)], [False, False, True])
    c.eq(f"{name}: the failed value is the report's p99", thresholds(res)[0]["value"], res.get("latency_us", "p99"))
    c.check(f"{name}: stderr names them", "error: 2 of 3 thresholds failed: 'p99<1us' (latency p99 " in res.err
            and "'rps>1000000000' (rps " in res.err, res.err)
    text = h.run_cli(rl, ["-q", "-t", "1"] + args)
    c.eq(f"{name}: summary run: exit 5", text.rc, 5)
    c.check(f"{name}: the summary lists them", "Thresholds   1 passed, 2 failed" in text.out
            and f"FAIL  {'p99<1us':14}  (latency p99 " in text.out
            and f"ok    {'errors<1%':14}  (errors 0%)" in text.out, text.out)


def test_error_rates(c, rl, tgt):
    name = "a target answering 500"
    res = run(rl, ["-c", "2", "-n", "200", "--threshold", "errors<=0.1%", "--threshold", "errors==100%",
                   "--threshold", "availability==0", "--threshold", "availability>50%", tgt.url("/status/500")])
    c.eq(f"{name}: exit 5", res.rc, 5)
    c.eq(f"{name}: values", [x["value"] for x in thresholds(res)], [1.0, 1.0, 0.0, 0.0])
    c.eq(f"{name}: passed", [x["passed"] for x in thresholds(res)], [False, True, True, False])


def test_per_name(c, rl, tgt, tmp):
    name = "per name (request file)"
    path = os.path.join(tmp, "named.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps({"url": tgt.url("/"), "name": "fast"}) + "\n")
        f.write(json.dumps({"url": tgt.url("/delay/30"), "name": "slow path"}) + "\n")
    res = run(rl, ["-c", "2", "-n", "40", "--loop", "-f", path, "--threshold", "name:fast p99<25ms",
                   "--threshold", "name:'slow path' p99<25ms", "--threshold", "name:\"slow path\" min>=30ms",
                   "--threshold", "name:fast errors==0", "--threshold", "name:'slow path' rps>0"])
    c.eq(f"{name}: exit 5 (the slow one's p99)", res.rc, 5)
    t = thresholds(res)
    c.eq(f"{name}: passed", [x["passed"] for x in t], [True, False, True, True, True])
    by = {n["name"]: n for n in res.get("by_name", default=[])}
    c.eq(f"{name}: names", [x["name"] for x in t], ["fast", "slow path", "slow path", "fast", "slow path"])
    c.eq(f"{name}: values are by_name's", [x["value"] for x in t],
         [by["fast"]["latency_us"]["p99"], by["slow path"]["latency_us"]["p99"], by["slow path"]["latency_us"]["min"],
          0.0, by["slow path"]["requests"] / res.get("duration_s")])
    res = run(rl, ["-c", "2", "-n", "50", "--threshold", "name:'GET /' p99<5s", tgt.url("/")])
    c.eq("a URL run's default name 'GET /': exit 0", res.rc, 0)
    c.eq("a URL run's default name: its p99", thresholds(res)[0]["value"], res.get("by_name")[0]["latency_us"]["p99"])


def test_abort(c, rl, tgt):
    name = "p99<1us:abort"
    res = run(rl, ["-c", "2", "-d", "20s", "--threshold", "p99<1us:abort", "--threshold", "errors<1%",
                   tgt.url("/")], timeout=30)
    c.eq(f"{name}: exit 5", res.rc, 5)
    t = thresholds(res)
    c.check(f"{name}: stopped after the first window, not at 20 s", (res.get("duration_s") or 99) < 3,
            res.get("duration_s"))
    c.eq(f"{name}: stopped_run, failed; the other passes",
         [(x["stopped_run"], x["passed"]) for x in t], [(True, False), (False, True)])
    c.eq(f"{name}: not 'interrupted'", res.get("interrupted"), False)
    c.check(f"{name}: stderr says it stopped the run", "it stopped the run" in res.err, res.err)
    res = run(rl, ["-c", "2", "-d", "2s", "--threshold", "p99<5s:abort", tgt.url("/")])
    c.eq("p99<5s:abort holds: exit 0", res.rc, 0)
    c.eq("p99<5s:abort holds: the whole 2 s", res.get("duration_s"), 2.0)


def test_output_wins(c, rl, tgt):
    res = run(rl, ["-c", "2", "-n", "20", "-o", "/dev/full", "--threshold", "p99<1us", tgt.url("/")])
    c.eq("-o /dev/full and a failed threshold: exit 3", res.rc, 3)
    c.check("-o /dev/full and a failed threshold: both on stderr",
            "cannot write the report" in res.err and "1 of 1 thresholds failed" in res.err, res.err)


def test_bad(c, rl, tgt):
    seen, stop = h.Tally(), threading.Event()
    port = h.serve(lambda conn, st: seen.add(), stop)
    try:
        before = tgt.count()
        cases = [("p99<50", "'p99<50': column 7: a time needs a unit: us, ms or s"),
                 ("p99 50ms", "'p99 50ms': column 5: an operator"),
                 ("errors<5", "'errors<5': column 8: a fraction is at most 1"),
                 ("foo<1ms", "'foo<1ms': column 1: unknown metric or statistic 'foo'"),
                 ("name:x ttfb.p95<1ms", "'name:x ttfb.p95<1ms': column 8: per name, latency, errors, availability and rps"),
                 ("p99<1ms:later", "'p99<1ms:later': column 8: ':abort' or nothing after the limit")]
        for expr, says in cases:
            for url in (f"http://127.0.0.1:{port}/", tgt.url("/")):
                res = h.run_cli(rl, ["-q", "-d", "1s", "--threshold", "p99<1s", "--threshold", expr, url])
                c.eq(f"--threshold '{expr}' ({url}): exit 2", res.rc, 2)
                c.check(f"--threshold '{expr}': the flag, the text, the column", f"error: --threshold: {says}" in res.err
                        and not res.out, res.describe())
        res = h.run_cli(rl, ["-q", "-d", "1s", "--threshold", "name:checkout p95<200ms", f"http://127.0.0.1:{port}/"])
        c.eq("an unknown name: exit 2", res.rc, 2)
        c.check("an unknown name: says which, and the names",
                "error: --threshold 'name:checkout p95<200ms': no request is named 'checkout' (the names: 'GET /')"
                in res.err, res.err)
        c.eq("bad thresholds: the listener saw no connection", seen.value, 0)
        c.eq("bad thresholds: the target saw no request", tgt.count(), before)
    finally:
        stop.set()


def test_python(c, rl, tgt):
    sdk = os.path.join(os.path.dirname(os.path.abspath(rl)), "python")
    if not os.path.exists(os.path.join(sdk, "ringload", "__init__.py")):
        print("skipped the Python SDK: the module is not built", flush=True)
        return
    sys.path.insert(0, sdk)
    import ringload
    report = ringload.run(tgt.url("/"), connections=2, threads=1, total=100, threshold=["p99<5s", "errors<1%"])
    c.eq("python threshold=[...]: listed, passed", [(x["expression"], x["passed"]) for x in report["thresholds"]],
         [("p99<5s", True), ("errors<1%", True)])
    try:
        ringload.run(tgt.url("/"), connections=2, threads=1, total=100, threshold="p99<1us")
        c.check("python: a failed threshold raises ThresholdError", False, "no exception")
    except ringload.ThresholdError as e:
        c.check("python: ThresholdError with the report", "1 of 1 thresholds failed" in str(e)
                and e.report["thresholds"][0]["passed"] is False, e)
    try:
        ringload.run(tgt.url("/"), total=10, threshold="p99<50")
        c.check("python: a bad threshold raises ValueError", False, "no exception")
    except ValueError as e:
        c.check("python: ValueError with the CLI's message", "column 7: a time needs a unit" in str(e), e)


def tests(env):
    rl = env.ringload
    tgt = env.start(h.Target(env.target, threads=1, keep=env.keep))
    return [
        ("pass", test_pass, rl, tgt),
        ("fail", test_fail, rl, tgt),
        ("error rates", test_error_rates, rl, tgt),
        ("per name", test_per_name, rl, tgt, env.tmp),
        ("abort", test_abort, rl, tgt),
        ("output wins", test_output_wins, rl, tgt),
        ("bad expressions", test_bad, rl, tgt),
        ("python", test_python, rl, tgt),
    ]


if __name__ == "__main__":
    h.main(tests, title="thresholds", description=__doc__)
