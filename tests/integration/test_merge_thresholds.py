"""Thresholds on a merged report (issue 15): `ringload merge ... --threshold EXPR`, and the
shards' own thresholds judged again on the merged figures.

Against ringload-target, two shards (--shard i/2) of one -n run over a request file of four
statuses (half of them 404 and 503: failed requests), each with its own --threshold:
- merge without --threshold judges the shards' expressions on the merged figures: the
  merged report's `thresholds` holds them, each `value` the merged report's own figure
  (p99 = latency_us.p99, errors = failed / total), passed; exit 0, the summary printed;
- merge --threshold replaces them: a p99 that passes (exit 0) and one that fails (exit 5,
  one line on stderr naming it, the report still written with passed false);
- per name: a threshold on one request name passes; a name no report has is exit 2, and so
  is an expression that does not parse;
- shards with different thresholds: their union is judged, a notice says so;
- `:abort`: a shard stopped by its abort threshold fails the merged verdict too
  (stopped_run); a merge itself stops nothing (it judges finished figures).

Run: python3 test_merge_thresholds.py --ringload PATH --target PATH
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import eq  # noqa: E402
from test_shard_merge import request_file  # noqa: E402

TOTAL = 402


def run_shards(env, tag, file, per_shard, extra=(), n=2):
    """n shards of one run, started together; shard i with --threshold per_shard[i]...
    Returns the report files."""
    start_ms = int(time.time() * 1000) + 1500
    procs = []
    for i in range(n):
        out = os.path.join(env.tmp, f"{tag}-{i}.json")
        args = ["-f", file, "--loop", "-c", "2", "-t", "1", "--shard", f"{i}/{n}", "--start-at", str(start_ms),
                "-o", out, *extra]
        for t in per_shard[i]:
            args += ["--threshold", t]
        procs.append((h.start_ringload(env.ringload, args, json_report=False), out))
    files = []
    for proc, out in procs:
        res = h.finish_ringload(proc, timeout=60)
        if res.rc not in (0, 5):
            raise RuntimeError(f"a shard failed: {res.describe()}")
        with open(out) as f:
            h.validate_report(json.load(f), " ".join(res.cmd))
        files.append(out)
    return files


def merge(env, files, out, *thresholds):
    args = [env.ringload, "merge", *files, "-o", out]
    for t in thresholds:
        args += ["--threshold", t]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    report = None
    if os.path.exists(out):
        with open(out) as f:
            report = json.load(f)
        h.validate_report(report, " ".join(args))
        os.unlink(out)
    return r, report


def test_rejudged(checks, env, files):
    r, m = merge(env, files, os.path.join(env.tmp, "m.json"))
    eq(checks, "no --threshold: exit 0", r.returncode, 0)
    t = m["thresholds"]
    eq(checks, "the shards' expressions are judged again", [x["expression"] for x in t], ["p99<10s", "errors<60%"])
    eq(checks, "both pass on the merged figures", [x["passed"] for x in t], [True, True])
    want = m["latency_us"]["p99"]
    checks.check("p99's value is the merged report's latency_us.p99", abs(t[0]["value"] - want) <= want / 1024,
                 f"{t[0]['value']} vs {want}")
    eq(checks, "errors' value is the merged failed / total", t[1]["value"],
       m["requests"]["failed"] / m["requests"]["total"])
    checks.check("a notice says they were judged again",
                 any("judged again on the merged figures" in n for n in m["notices"]), m["notices"])
    checks.check("the summary lists them", "Thresholds   2 passed, 0 failed" in r.stdout, r.stdout)


def test_given(checks, env, files):
    r, m = merge(env, files, os.path.join(env.tmp, "m.json"), "p99<10s")
    eq(checks, "--threshold p99<10s: exit 0", r.returncode, 0)
    eq(checks, "--threshold replaces the shards' thresholds", [(x["expression"], x["passed"]) for x in m["thresholds"]],
       [("p99<10s", True)])
    r, m = merge(env, files, os.path.join(env.tmp, "m.json"), "p99<1us", "errors<60%")
    eq(checks, "--threshold p99<1us fails: exit 5", r.returncode, 5)
    checks.check("stderr names the failed threshold", "1 of 2 thresholds failed: 'p99<1us'" in r.stderr, r.stderr)
    checks.check("the merged report is still written", m is not None)
    if m:
        eq(checks, "its verdicts: p99 failed, errors passed", [x["passed"] for x in m["thresholds"]], [False, True])
        want = m["latency_us"]["p99"]
        checks.check("the failed one's value is the merged p99", abs(m["thresholds"][0]["value"] - want) <= want / 1024,
                     f"{m['thresholds'][0]['value']} vs {want}")
    checks.check("the summary says FAIL", "FAIL  p99<1us" in r.stdout, r.stdout)


def test_names_and_usage(checks, env, files):
    r, m = merge(env, files, os.path.join(env.tmp, "m.json"), "name:s200 errors==0%", "name:s503 availability<1%")
    eq(checks, "per-name thresholds on the merged by_name: exit 0", (r.returncode, [x["passed"] for x in m["thresholds"]]),
       (0, [True, True]))
    for args, want in ((["name:nosuch p99<1s"], "no request is named 'nosuch'"),
                       (["p99<50"], "a time needs a unit")):
        r, m = merge(env, files, os.path.join(env.tmp, "m.json"), *args)
        checks.check(f"--threshold {args[0]!r}: exit 2 ({want!r}), nothing written",
                     r.returncode == 2 and want in r.stderr and m is None, f"rc={r.returncode} {r.stderr!r}")


def test_union(checks, env, file):
    files = run_shards(env, "union", file, [["p99<10s"], ["p99<10s", "availability>10%"]], ["-n", str(TOTAL)])
    r, m = merge(env, files, os.path.join(env.tmp, "m.json"))
    eq(checks, "different thresholds per shard: their union is judged (exit 0)",
       (r.returncode, [x["expression"] for x in m["thresholds"]]), (0, ["p99<10s", "availability>10%"]))
    checks.check("a notice says the shards differed", any("different thresholds" in n for n in m["notices"]),
                 m["notices"])


def test_abort(checks, env, file):
    files = run_shards(env, "abort", file, [["p99<1us:abort"], ["p99<1us:abort"]], ["-d", "3s", "--qps", "200"])
    with open(files[0]) as f:
        shard = json.load(f)
    eq(checks, "the shard's :abort threshold stopped it", shard["thresholds"][0]["stopped_run"], True)
    r, m = merge(env, files, os.path.join(env.tmp, "m.json"))
    eq(checks, ":abort shards merged: exit 5", r.returncode, 5)
    eq(checks, "the merged verdict: failed, stopped_run, abort kept",
       [(x["passed"], x["stopped_run"], x["abort"]) for x in m["thresholds"]], [(False, True, True)])
    r, m = merge(env, files, os.path.join(env.tmp, "m.json"), "p99<10s:abort")
    eq(checks, "a given :abort threshold is judged on the finished figures (stops nothing): passes",
       (r.returncode, [(x["passed"], x["stopped_run"]) for x in m["thresholds"]]), (0, [(True, False)]))


def setup(env):
    target = env.start(h.Target(env.target, threads=1), started="ringload-target starts")
    file = request_file(env, target)
    files = run_shards(env, "base", file, [["p99<10s", "errors<60%"]] * 2, ["-n", str(TOTAL)])
    return [("rejudged", test_rejudged, env, files), ("given", test_given, env, files),
            ("names and usage", test_names_and_usage, env, files), ("union", test_union, env, file),
            ("abort", test_abort, env, file)]


if __name__ == "__main__":
    h.main(setup, title="merge thresholds", tmp_prefix="ringload-mthr-", description=__doc__)
