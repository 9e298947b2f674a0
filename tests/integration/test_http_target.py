"""ringload against ringload-target: its counts must match the server's /count.

Run: python3 test_http_target.py --ringload PATH --target PATH
"""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def exact_run(c, rl, tgt, n, extra, path="/", name=None, status="200"):
    """-n N: ringload's total, the server's count and the status histogram all equal N."""
    name = name or f"target -n {n} {' '.join(extra)} {path}"
    tgt.reset()
    res = h.run_ringload(rl, ["-n", str(n)] + list(extra) + [tgt.url(path)], timeout=90)
    if not h.check_run_ok(c, name, res):
        return res
    c.eq(f"{name}: requests.total", res.total(), n)
    c.eq(f"{name}: in_flight_at_end", res.get("requests", "in_flight_at_end"), 0)
    c.eq(f"{name}: status_codes", res.get("status_codes"), {status: n})
    h.check_no_errors(c, name, res)
    c.eq(f"{name}: server /count", tgt.settled_count(expected=n), n)
    return res


def test_exact_counts(c, rl, tgt):
    res = exact_run(c, rl, tgt, 1000, ["-c", "10"])
    if res.report:
        c.eq("target -n 1000: report schema problems", h.schema_problems(res.report), [])
        c.eq("target -n 1000: succeeded", res.get("requests", "succeeded"), 1000)
        c.eq("target -n 1000: --quiet leaves stderr empty", res.err, "")
        c.eq("target -n 1000: the closed loop's batch wait, 50 us by default", res.get("config", "batch_wait_us"), 50)
    # Exact counts with a wake per completion, and with a long batch wait (bounded by 1/16 of
    # the mean service time: the run takes no longer).
    for wait, want in (("0", 0), ("1s", 1000000)):
        res = exact_run(c, rl, tgt, 3000, ["-c", "16", "--batch-wait", wait])
        if res.report:
            c.eq(f"target -n 3000 --batch-wait {wait}: config.batch_wait_us", res.get("config", "batch_wait_us"), want)
            c.check(f"target -n 3000 --batch-wait {wait}: done within 10 s", (res.get("duration_s") or 99) < 10,
                    f"duration_s={res.get('duration_s')}")
    res = exact_run(c, rl, tgt, 1001, ["-c", "7", "-t", "2"])
    if res.report:
        c.eq("target -n 1001 -c 7 -t 2: threads", res.get("threads"), 2)
        c.eq("target -n 1001 -c 7 -t 2: connections", res.get("connections"), 7)
    exact_run(c, rl, tgt, 5, ["-c", "64", "-t", "2"])
    exact_run(c, rl, tgt, 1, ["-c", "1", "-t", "1"])
    exact_run(c, rl, tgt, 20000, ["-c", "50", "-t", "2"])


def test_threads(c, rl, tgt):
    for threads in ("1", "2"):
        name = f"target -t {threads} -d 1s -c 16"
        tgt.reset()
        res = h.run_ringload(rl, ["-t", threads, "-d", "1s", "-c", "16", tgt.url("/")],
                             timeout=1 + h.RUN_SLACK_S)
        if not h.check_run_ok(c, name, res):
            continue
        c.eq(f"{name}: threads", res.get("threads"), int(threads))
        h.check_served(c, name, res, lambda n: tgt.settled_count(expected=n), more_than=100)
        h.check_no_errors(c, name, res)


def test_statuses_and_bodies(c, rl, tgt):
    res = exact_run(c, rl, tgt, 200, ["-c", "4"], path="/status/503", status="503")
    if res.report:
        c.eq("target /status/503: failed", res.get("requests", "failed"), 200)
    # No body whatever the headers say (RFC 9110 §6.4.1).
    exact_run(c, rl, tgt, 200, ["-c", "4"], path="/status/204", status="204")
    exact_run(c, rl, tgt, 200, ["-c", "4"], path="/status/304", status="304")
    for n_chunks, size, count in ((1, 1, 500), (10, 1000, 500), (64, 16384, 50)):
        path = f"/chunked?n={n_chunks}&size={size}"
        res = exact_run(c, rl, tgt, count, ["-c", "4"], path=path)
        if res.report:
            got = res.get("bytes", "in") or 0
            c.check(f"target {path}: bytes.in >= {count} * {n_chunks * size}",
                    got >= count * n_chunks * size, f"bytes.in={got}")
    res = exact_run(c, rl, tgt, 200, ["-c", "4"], path="/bytes/100000")
    if res.report:
        got = res.get("bytes", "in") or 0
        c.check("target /bytes/100000: bytes.in >= 200 * 100000", got >= 200 * 100000,
                f"bytes.in={got}")
    body = "e" * 1000
    res = exact_run(c, rl, tgt, 200, ["-c", "4", "-m", "POST", "-b", body], path="/echo")
    if res.report:
        got = res.get("bytes", "in") or 0
        c.check("target POST /echo: bytes.in >= 200 * 1000", got >= 200 * 1000,
                f"bytes.in={got}")
        out = res.get("bytes", "out") or 0
        c.check("target POST /echo: bytes.out >= 200 * 1000", out >= 200 * 1000,
                f"bytes.out={out}")


def test_delay_and_timeout(c, rl, tgt):
    name = "target /delay/50 --timeout 1s -n 40 -c 4"
    res = exact_run(c, rl, tgt, 40, ["-c", "4", "--timeout", "1s"], path="/delay/50", name=name)
    if res.report:
        for key in ("latency_us", "service_time_us", "ttfb_us"):
            p50 = res.get(key, "p50") or 0
            c.check(f"{name}: {key}.p50 in [50 ms, 1 s)", 50000 <= p50 < 1000000,
                    f"{key}={res.get(key)}")

    name = "target /delay/500 --timeout 100ms -d 2s -c 4"
    tgt.reset()
    res = h.run_ringload(rl, ["--timeout", "100ms", "-d", "2s", "-c", "4",
                              tgt.url("/delay/500")], timeout=2 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    timeouts = res.get("errors", "timeout") or 0
    total = res.total() or 0
    # Each connection times out every ~100 ms for 2 s (~20 each): the run went on after
    # the first deadline of each connection only if there are several per connection.
    c.check(f"{name}: errors.timeout >= 3 per connection", timeouts >= 12,
            f"errors={res.get('errors')}")
    c.check(f"{name}: timed-out requests are counted in requests.total", total >= timeouts,
            f"total={total} timeouts={timeouts}")
    c.eq(f"{name}: succeeded", res.get("requests", "succeeded"), 0)
    c.check(f"{name}: first_errors names the timeout", "timeout" in (res.get("first_errors") or {}),
            f"first_errors={res.get('first_errors')}")
    c.check(f"{name}: wall time < 2 s + 10 s", res.elapsed < 12, f"elapsed={res.elapsed:.2f}")
    timeline = res.get("timeline") or []
    c.check(f"{name}: timeouts still counted in the last timeline window",
            bool(timeline) and (timeline[-1].get("errors") or 0) > 0, f"timeline={timeline}")


def test_error_latency(c, rl, tgt, tmp):
    """Requests that time out: each is in error_latency_us, timed from its intended send
    (about the timeout: the closed loop sends when intended), none in latency_us; the
    human summary gives the line too."""
    name = "target /delay/1000 --timeout 200ms -n 12 -c 4"
    path, report_path = os.path.join(tmp, "error-latency.jsonl"), os.path.join(tmp, "error-latency.json")
    tgt.reset()
    res = h.run_ringload(rl, ["--timeout", "200ms", "-n", "12", "-c", "4", "--export", path, "-o", report_path,
                              tgt.url("/delay/1000")], timeout=3 + h.RUN_SLACK_S, json_report=False)
    c.eq(f"{name}: exit code", res.rc, 0)
    c.check(f"{name}: the summary gives the time to failure",
            "to failure p50 2" in res.out and "(12 requests, from the intended send)" in res.out, res.out[-800:])
    report = read_json(report_path)
    if not c.check(f"{name}: -o report", isinstance(report, dict), res.describe()):
        return
    h.validate_report(report, report_path)
    c.eq(f"{name}: requests failed == errors.timeout == 12",
         (report["requests"]["failed"], report["errors"]["timeout"], report["requests"]["succeeded"]), (12, 12, 0))
    block = report.get("error_latency_us") or {}
    c.check(f"{name}: error_latency_us.p50 about the timeout, in [200 ms, 300 ms)",
            200000 <= (block.get("p50") or 0) < 300000, f"error_latency_us={block}")
    c.check(f"{name}: error_latency_us.min >= the timeout", (block.get("min") or 0) >= 200000, f"{block}")
    c.check(f"{name}: latency_us empty (no complete response)",
            h.histogram_empty(report.get("latency_us")), f"latency_us={report.get('latency_us')}")
    recs, problems = h.read_export(path)
    h.check_problems(c, f"{name}: export", problems)
    failed = [(r.get("timing") or {}).get("total_us", -1) for r in recs if r.get("error")]
    c.eq(f"{name}: export lines with an error == requests.failed", len(failed), 12)
    h.check_problems(c, f"{name}: error_latency_us matches the export's times",
                     h.error_latency_problems(report, failed))

    name = "target -n 200 (no failure)"
    tgt.reset()
    res = h.run_ringload(rl, ["-n", "200", "-c", "4", tgt.url("/")], timeout=60)
    if h.check_run_ok(c, name, res):
        c.check(f"{name}: error_latency_us all zeros", h.histogram_empty(res.get("error_latency_us")),
                f"error_latency_us={res.get('error_latency_us')}")


def test_server_close(c, rl, target_bin, keep):
    with h.Target(target_bin, threads=2, close=True, keep=keep) as tgt:
        name = "target --close -n 1000 -c 8"
        res = exact_run(c, rl, tgt, 1000, ["-c", "8"], name=name)
        if res.report:
            closes = res.get("closes_by_server") or 0
            c.check(f"{name}: closes_by_server ~ total", 1000 - 8 <= closes <= 1000,
                    f"closes_by_server={closes}")
            opened = res.get("connections_opened") or 0
            c.check(f"{name}: connections_opened >= 1000", opened >= 1000,
                    f"connections_opened={opened}")


def interrupt_run(c, rl, tgt, sig, extra, name, json_report=True):
    # Requests of earlier tests (a /delay the client gave up on) may still be finishing on
    # the target: let its count settle before the reset, or one lands in this run's count.
    tgt.settled_count()
    tgt.reset()
    res, after = h.interrupt_ringload(rl, ["-d", "30s", "-c", "32"] + list(extra) + [tgt.url("/")], sig,
                                      json_report=json_report)
    c.check(f"{name}: exits {128 + sig} (128 + the signal)", res.rc == 128 + sig, res.describe())
    c.check(f"{name}: exits within 5 s of the signal", after < 5.0, f"after={after:.2f}s")
    return res


def test_signals(c, rl, tgt, tmp):
    name = "target SIGINT after 1 s of -d 30s"
    res = interrupt_run(c, rl, tgt, signal.SIGINT, [], name)
    if c.check(f"{name}: JSON report", isinstance(res.report, dict), res.describe()):
        c.eq(f"{name}: interrupted", res.get("interrupted"), True)
        h.check_served(c, name, res, lambda n: tgt.settled_count(expected=n))
        dur = res.get("duration_s") or 0
        c.check(f"{name}: duration_s < 5", 0 < dur < 5, f"duration_s={dur}")
        h.check_no_errors(c, name, res)

    name = "target SIGTERM after 1 s of -d 30s -o FILE"
    path = os.path.join(tmp, "sigterm.json")
    res = interrupt_run(c, rl, tgt, signal.SIGTERM, ["-o", path], name,
                        json_report=False)
    report = read_json(path)
    c.check(f"{name}: -o file holds the report", isinstance(report, dict), f"file={path}")
    if isinstance(report, dict):
        c.eq(f"{name}: interrupted", report.get("interrupted"), True)
        c.check(f"{name}: total > 0", (report.get("requests") or {}).get("total", 0) > 0,
                f"requests={report.get('requests')}")


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def test_output_file(c, rl, tgt, tmp):
    name = "target -n 300 -o FILE (human summary on stdout)"
    path = os.path.join(tmp, "report.json")
    tgt.reset()
    res = h.run_ringload(rl, ["-n", "300", "-c", "4", "-o", path, tgt.url("/")],
                         timeout=60, json_report=False)
    c.eq(f"{name}: exit code", res.rc, 0)
    c.check(f"{name}: stdout has a human summary (not JSON)",
            res.out.strip() != "" and res.report is None, f"stdout={res.out[:300]!r}")
    report = read_json(path)
    c.check(f"{name}: file is a JSON report", isinstance(report, dict), f"file={path}")
    if isinstance(report, dict):
        c.eq(f"{name}: file schema problems", h.schema_problems(report), [])
        c.eq(f"{name}: file requests.total", (report.get("requests") or {}).get("total"), 300)

    name = "target -n 300 --json -o FILE"
    if os.path.exists(path):
        os.unlink(path)
    res = h.run_ringload(rl, ["-n", "300", "-c", "4", "-o", path, tgt.url("/")], timeout=60)
    if h.check_run_ok(c, name, res):
        report = read_json(path)
        c.check(f"{name}: file equals the stdout report",
                isinstance(report, dict) and report.get("requests") == res.get("requests")
                and report.get("latency_us") == res.get("latency_us"),
                f"file={report and report.get('requests')} stdout={res.get('requests')}")


def tests(env):
    rl, tmp = env.ringload, env.tmp
    tgt = env.start(h.Target(env.target, threads=2, keep=env.keep), started="ringload-target started",
                    exit_check="ringload-target exits 0 on SIGTERM")
    return [
        ("exact counts", test_exact_counts, rl, tgt),
        ("threads", test_threads, rl, tgt),
        ("statuses and bodies", test_statuses_and_bodies, rl, tgt),
        ("delay and timeout", test_delay_and_timeout, rl, tgt),
        ("error latency", test_error_latency, rl, tgt, tmp),
        ("server close", test_server_close, rl, env.target, env.keep),
        ("signals", test_signals, rl, tgt, tmp),
        ("output file", test_output_file, rl, tgt, tmp),
    ]


if __name__ == "__main__":
    h.main(tests, title="target", description=__doc__)
