#!/usr/bin/python3
"""The report's histograms in HdrHistogram's encoding (`hdr`), decoded by an independent
implementation: npm's hdr-histogram-js under node (tools/hdr/decode_hdr.js, installed by
tools/setup.sh from tools/hdr/package-lock.json).

ringload runs against ringload-target with a request file that mixes fast and delayed
HTTP requests, requests that time out, an SSE stream and a WebSocket session, with
--export. Every histogram block of the report is decoded with hdr-histogram-js, and:
- its total count is the block's `count`, and the counts add up to the run's
  (latency + error_latency = requests.total; per name likewise);
- its percentiles (HdrHistogram's getValueAtPercentile) are the block's p50 ... p99_99 and
  max, exactly (the block's are microseconds with three decimals: nanoseconds), but where
  ringload gives the exact maximum inside the top bucket, which must then be in that bucket;
- latency_us, error_latency_us and each name's latency hold, bucket for bucket, the counts
  of the exported requests' own times (timing.total_us: completion - intended send, in ns)
  recorded into a fresh hdr-histogram-js histogram of the same layout.

    /usr/bin/python3 tests/integration/test_hdr_histogram.py --ringload BUILD/ringload --target BUILD/ringload-target
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DECODER = os.path.join(REPO, "tools", "hdr", "decode_hdr.js")
DECODER_MODULE = os.path.join(REPO, "tools", "hdr", "node_modules", "hdr-histogram-js")
KEYS = ("p50", "p75", "p90", "p95", "p99", "p99_9", "p99_99", "max")


def ns(us):
    """A block's microseconds (three decimals) back to the nanoseconds ringload recorded."""
    return round(us * 1000)


def decode(report_path, values=None, tmp=None):
    """decode_hdr.js's output for a report (and recorded value lists)."""
    cmd = ["node", DECODER, report_path]
    if values is not None:
        values_path = os.path.join(tmp, "values.json")
        with open(values_path, "w") as f:
            json.dump(values, f)
        cmd += ["--record", values_path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd} exited {out.returncode}: {out.stderr[-800:]}")
    return json.loads(out.stdout)


def blocks(node, where=()):
    """(path, block) for every histogram block of a report, as decode_hdr.js names them."""
    if isinstance(node, list):
        for i, v in enumerate(node):
            yield from blocks(v, where + (str(i),))
    elif isinstance(node, dict):
        if isinstance(node.get("hdr"), str):
            yield ".".join(where), node
        for k, v in node.items():
            yield from blocks(v, where + (k,))


def percentile_problems(path, block, dec):
    """Where the block's percentiles differ from the decoded histogram's."""
    problems = []
    top = ns(block["max"])
    for key in KEYS:
        mine, theirs = ns(block[key]), dec[key]
        if mine == theirs:
            continue
        # ringload caps a percentile at the exact maximum; HdrHistogram reports the top
        # bucket's highest equivalent value. Same bucket: at most 1/1024 of the value above.
        if mine == top and 0 <= theirs - mine <= theirs // 1024:
            continue
        problems.append(f"{path}.{key}: report {mine} ns, hdr-histogram-js {theirs} ns")
    if block["count"] and not 0 <= ns(block["min"]) - dec["min"] <= max(dec["min"] // 1024, 0):
        problems.append(f"{path}.min: report {ns(block['min'])} ns, hdr-histogram-js {dec['min']} ns")
    return problems


def request_lines(tgt):
    ws = f"ws://127.0.0.1:{tgt.port}/ws"
    return [
        {"url": tgt.url("/"), "name": "fast"},
        {"url": tgt.url("/delay/2"), "name": "delayed"},
        {"url": tgt.url("/delay/300"), "name": "times out", "timeout": 0.02},
        {"url": tgt.url("/sse?n=20&size=64"), "proto": "sse", "name": "sse"},
        {"url": ws, "messages": ["a", "bb"], "expect": 2, "name": "ws"},
    ]


def exported_values(records):
    """Each exported request's completion - intended send (ns), by histogram path."""
    values = {"latency_us": [], "error_latency_us": []}
    by_name = {}
    for r in records:
        t = ns(r["timing"]["total_us"])
        if r.get("error"):
            values["error_latency_us"].append(t)
        else:
            values["latency_us"].append(t)
            by_name.setdefault(r["name"], []).append(t)
    return values, by_name


def test_decoded_histograms(c, rl, tgt, tmp):
    name = "hdr: mixed run"
    path, out, report_path = (os.path.join(tmp, f) for f in ("lines.jsonl", "export.jsonl", "report.json"))
    with open(path, "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in request_lines(tgt))
    res = h.run_ringload(rl, ["-f", path, "--loop", "-n", "1500", "-c", "8", "-t", "2",
                              "--export", out, "-o", report_path], timeout=120)
    if not h.check_run_ok(c, name, res):
        return
    report = res.report
    records, problems = h.read_export(out)
    h.check_problems(c, f"{name}: export", problems)
    c.eq(f"{name}: exported lines = requests.total", len(records), report["requests"]["total"])
    values, by_name = exported_values(records)
    c.check(f"{name}: there were timeouts and complete responses",
            report["errors"]["timeout"] > 0 and values["latency_us"] and values["error_latency_us"],
            f"errors {report['errors']}")

    # The run's figures also count the same.
    c.eq(f"{name}: latency count + error_latency count = requests.total",
         report["latency_us"]["count"] + report["error_latency_us"]["count"], report["requests"]["total"])
    c.eq(f"{name}: latency count = responses by status",
         report["latency_us"]["count"], sum(report["status_codes"].values()))

    named = {str(i): n["name"] for i, n in enumerate(report["by_name"])}
    record = dict(values)
    for i, n in named.items():
        record[f"by_name.{i}.latency_us"] = by_name.get(n, [])
    dec = decode(report_path, record, tmp)
    found = dict(blocks(report))
    want_paths = {"latency_us", "service_time_us", "ttfb_us", "send_lag_us", "error_latency_us",
                  "tls_handshake_us", "sse.ttfe_us", "sse.inter_event_us", "sse.duration_us",
                  "ws.handshake_us", "ws.rtt_us"} | {f"by_name.{i}.latency_us" for i in named}
    c.eq(f"{name}: the histogram blocks", sorted(found), sorted(want_paths))
    c.eq(f"{name}: hdr-histogram-js decoded every block", sorted(dec["histograms"]), sorted(found))

    count_problems, pct_problems, layout_problems, nonempty = [], [], [], 0
    for p, block in found.items():
        d = dec["histograms"].get(p)
        if d is None:
            continue
        nonempty += block["count"] > 0
        if d["count"] != block["count"] or sum(n for _, n in d["buckets"]) != block["count"]:
            count_problems.append(f"{p}: decoded {d['count']}, report {block['count']}")
        if d["layout"] != {"lowest": 1, "highest": 2 ** 37 - 1, "digits": 3}:
            layout_problems.append(f"{p}: {d['layout']}")
        pct_problems += percentile_problems(p, block, d)
    c.check(f"{name}: {nonempty} of {len(found)} histograms recorded something", nonempty >= 10,
            f"{nonempty}")
    h.check_problems(c, f"{name}: decoded counts = the blocks' counts", count_problems)
    h.check_problems(c, f"{name}: decoded layout is 1 ns .. 2^37-1 ns, 3 digits", layout_problems)
    h.check_problems(c, f"{name}: decoded percentiles = the blocks' (p50 ... p99_99, max, min)", pct_problems)
    for p in record:
        got, want = dec["histograms"][p]["buckets"], dec["recorded"][p]["buckets"]
        c.check(f"{name}: {p}: {len(got)} buckets, {sum(n for _, n in got)} values, as the exported "
                f"requests' own times recorded by hdr-histogram-js", got == want,
                f"decoded {h.short(got, 300)}, recorded {h.short(want, 300)}")


def test_empty_run(c, rl, tgt, tmp):
    """A run with no response: every block decodes to nothing (the encoding of an empty
    histogram is one zero count)."""
    name = "hdr: nothing answered"
    report_path = os.path.join(tmp, "empty.json")
    res = h.run_ringload(rl, ["-n", "2", "-c", "1", "-t", "1", "--timeout", "50ms", "-o", report_path,
                              tgt.url("/delay/1000")], timeout=60)
    if res.report is None:
        c.check(f"{name}: a report", False, res.describe())
        return
    dec = decode(report_path)
    empty = [p for p, d in dec["histograms"].items() if p != "error_latency_us" and d["count"] == 0]
    c.eq(f"{name}: latency_us count", res.get("latency_us", "count"), 0)
    c.check(f"{name}: latency_us decodes empty", "latency_us" in empty, f"{sorted(empty)}")
    c.eq(f"{name}: error_latency_us count (2 timeouts)", dec["histograms"]["error_latency_us"]["count"], 2)


def tests(env):
    if shutil.which("node") is None or not os.path.isdir(DECODER_MODULE):
        raise RuntimeError("node or tools/hdr/node_modules/hdr-histogram-js missing: run tools/setup.sh")
    tgt = env.start(h.Target(env.target, threads=1))
    return [
        ("decoded histograms", test_decoded_histograms, env.ringload, tgt, env.tmp),
        ("empty run", test_empty_run, env.ringload, tgt, env.tmp),
    ]


if __name__ == "__main__":
    h.main(tests, title="hdr histogram", tmp_prefix="ringload-hdr-", description=__doc__)
