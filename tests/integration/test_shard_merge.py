"""Runs across machines (issue 15): --shard i/N, --start-at and `ringload merge`.

Against ringload-target: the same -n run over a request file of four statuses, unsharded
and as N = 1, 2 and 4 shards (separate processes started together with --start-at), then
merged. The merged report must have the unsharded run's requests.total, per-status and
per-name counts exactly; each shard exactly its share of the positions; its percentiles
within histogram precision of a merge computed here from the shards' --export latencies.
Bad --shard / --start-at values exit 2 before any traffic; merge refuses reports of
another run, a shard given twice and files that are not reports (exit 2).

Run: python3 test_shard_merge.py --ringload PATH --target PATH
"""
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import eq  # noqa: E402

TOTAL = 2002  # not a multiple of 4 lines or of N: the remainders must land right
STATUSES = (200, 201, 404, 503)
PERCENTILES = (("p50", 50), ("p75", 75), ("p90", 90), ("p95", 95), ("p99", 99), ("p99_9", 99.9),
               ("p99_99", 99.99))


def request_file(env, target):
    path = os.path.join(env.tmp, "statuses.jsonl")
    with open(path, "w") as f:
        for s in STATUSES:
            f.write(json.dumps({"url": target.url(f"/status/{s}"), "name": f"s{s}"}) + "\n")
    return path


def expected_status_counts():
    """Position p sends line p % 4: the counts the unsharded run must have."""
    counts = {}
    for p in range(TOTAL):
        key = str(STATUSES[p % len(STATUSES)])
        counts[key] = counts.get(key, 0) + 1
    return counts


# HdrHistogram's layout as ringload's (1 ns .. 2^37 ns, 3 significant digits: 2048 sub-buckets),
# written here from HdrHistogram's definition, not from ringload's code.
def highest_equivalent_ns(v):
    bucket = max(0, (v | 2047).bit_length() - 11)
    return ((v >> bucket) << bucket) + (1 << bucket) - 1


def independent_percentiles(latencies_ns):
    """Each percentile as HdrHistogram reports it: the highest value equivalent to the
    ceil(p/100 * count)-th smallest value, in microseconds (never above the max)."""
    values = sorted(latencies_ns)
    out = {}
    for key, p in PERCENTILES:
        rank = max(1, math.ceil(p / 100 * len(values)))
        out[key] = min(highest_equivalent_ns(values[rank - 1]), values[-1]) / 1e3
    return out


def run_shards(env, target, n, file, tag):
    """N processes of the same run, each its shard, started together; returns [(report, export records)]."""
    start_ms = int(time.time() * 1000) + 2500
    procs = []
    for i in range(n):
        out = os.path.join(env.tmp, f"{tag}-{i}.json")
        exp = os.path.join(env.tmp, f"{tag}-{i}.jsonl")
        args = ["-f", file, "--loop", "-n", str(TOTAL), "-c", "4", "-t", "1", "--shard", f"{i}/{n}",
                "--start-at", str(start_ms), "-o", out, "--export", exp, "--timeout", "10s"]
        procs.append((h.start_ringload(env.ringload, args, json_report=False), out, exp))
    shards = []
    for proc, out, exp in procs:
        res = h.finish_ringload(proc, timeout=60)
        if res.rc != 0:
            raise RuntimeError(f"a shard failed: {res.describe()}")
        with open(out) as f:
            report = json.load(f)
        h.validate_report(report, " ".join(res.cmd))
        records, problems = h.read_export(exp)
        if problems:
            raise RuntimeError(f"{exp}: {problems[:3]}")
        shards.append((out, report, records, start_ms))
    return shards


def merge(env, files, out):
    return subprocess.run([env.ringload, "merge", *files, "-o", out], capture_output=True, text=True, timeout=60)


def test_shards(checks, env, target, file, unsharded, n):
    shards = run_shards(env, target, n, file, f"n{n}")
    for i, (_, report, records, start_ms) in enumerate(shards):
        share = len(range(i, TOTAL, n))  # positions i, i + n, ... below TOTAL
        eq(checks, f"N={n}: shard {i} sent exactly its share of the positions", report["requests"]["total"], share)
        eq(checks, f"N={n}: shard {i}'s report says which shard it is", report["shard"], {"index": i, "count": n})
        eq(checks, f"N={n}: shard {i} exported every request", len(records), share)
        started = h_parse_ms(report["started_at"])
        checks.check(f"N={n}: shard {i} started at --start-at (within 300 ms after it)",
                     start_ms <= started + 1 <= start_ms + 300, f"started {started}, --start-at {start_ms}")
    out = os.path.join(env.tmp, f"n{n}-merged.json")
    r = merge(env, [s[0] for s in shards], out)
    if not checks.check(f"N={n}: ringload merge exits 0", r.returncode == 0, f"rc={r.returncode} {r.stderr!r}"):
        return
    with open(out) as f:
        merged = json.load(f)
    h.validate_report(merged, f"ringload merge of {n} shards")
    eq(checks, f"N={n}: merged requests.total equals the unsharded run's", merged["requests"]["total"],
       unsharded["requests"]["total"])
    eq(checks, f"N={n}: merged per-status counts equal the unsharded run's", merged["status_codes"],
       unsharded["status_codes"])
    eq(checks, f"N={n}: merged succeeded/failed equal the unsharded run's",
       (merged["requests"]["succeeded"], merged["requests"]["failed"]),
       (unsharded["requests"]["succeeded"], unsharded["requests"]["failed"]))
    eq(checks, f"N={n}: merged by_name counts equal the unsharded run's",
       sorted((b["name"], b["requests"]) for b in merged["by_name"]),
       sorted((b["name"], b["requests"]) for b in unsharded["by_name"]))
    eq(checks, f"N={n}: merged shard block", merged["shard"], {"merged": n})
    eq(checks, f"N={n}: merged latency count", merged["latency_us"]["count"], TOTAL)
    eq(checks, f"N={n}: merged connections add up", merged["connections"], sum(s[1]["connections"] for s in shards))
    eq(checks, f"N={n}: merged timeline holds every request",
       sum(w["requests"] for w in merged["timeline"]), TOTAL)

    def classes(windows):
        out = {}
        for w in windows:
            for k, v in w.get("status_classes", {}).items():
                out[k] = out.get(k, 0) + v
        return out
    eq(checks, f"N={n}: merged timeline's status classes add up the shards'", classes(merged["timeline"]),
       classes([w for s in shards for w in s[1]["timeline"]]))
    latencies = [round(rec["timing"]["total_us"] * 1000) for s in shards for rec in s[2]]
    want = independent_percentiles(latencies)
    got = {k: merged["latency_us"][k] for k, _ in PERCENTILES}
    # Within histogram precision: one bucket (1/1024 of the value) and the export's rounding.
    off = {k: (got[k], want[k]) for k in want if abs(got[k] - want[k]) > want[k] / 1024 + 0.002}
    checks.check(f"N={n}: merged percentiles equal an independent merge of the shards' exports", not off,
                 f"(got, want): {off}")
    eq(checks, f"N={n}: merged max is the exports' max", round(merged["latency_us"]["max"] * 1000), max(latencies))


def h_parse_ms(text):
    import datetime
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(dt.timestamp() * 1000)


def test_bad_flags(checks, env, target):
    url = target.url("/")
    before = target.settled_count()
    now_ms = int(time.time() * 1000)
    cases = [
        (["--shard", "4/4"], "i must be below N"),
        (["--shard", "1/0"], "at least 1"),
        (["--shard", "x"], "expected i/N"),
        (["--shard", "auto"], "neither JOB_COMPLETION_INDEX"),
        (["--shards", "2"], "--shards needs --shard auto"),
        (["-c", "2", "--shard", "0/4"], "cannot be shared out over 4 shards"),
        (["--start-at", str(now_ms - 10_000)], "already past"),
        (["--start-at", str(now_ms + 2 * 86_400_000)], "more than 24 h away"),
        (["--start-at", "2026-12-04T08:00:00"], "Z or an offset"),
        (["--start-at", "soon"], "RFC 3339"),
    ]
    for args, want in cases:
        env_vars = {k: v for k, v in os.environ.items() if k not in ("JOB_COMPLETION_INDEX", "SLURM_PROCID", "SLURM_NTASKS")}
        r = subprocess.run([env.ringload, "-n", "10", *args, url], capture_output=True, text=True, timeout=20,
                           env=env_vars)
        checks.check(f"{' '.join(args)}: exit 2 naming the flag ({want!r})",
                     r.returncode == 2 and want in r.stderr and args[0] in r.stderr, f"rc={r.returncode} {r.stderr!r}")
    eq(checks, "bad --shard / --start-at values sent no request", target.settled_count(), before)


def test_auto_and_rates(checks, env, target):
    env_vars = dict(os.environ, JOB_COMPLETION_INDEX="1")
    env_vars.pop("SLURM_PROCID", None)
    r = subprocess.run([env.ringload, "--json", "-q", "--shard", "auto", "--shards", "3", "-n", "100", "-c", "3",
                        "-t", "1", target.url("/")], capture_output=True, text=True, timeout=60, env=env_vars)
    report = json.loads(r.stdout) if r.returncode == 0 else {}
    h.validate_report(report, "--shard auto") if report else None
    eq(checks, "--shard auto with JOB_COMPLETION_INDEX=1 --shards 3: shard 1/3, 33 of -n 100",
       (report.get("shard"), report.get("requests", {}).get("total")), ({"index": 1, "count": 3}, 33))
    env_vars = {k: v for k, v in os.environ.items() if k != "JOB_COMPLETION_INDEX"}
    env_vars.update(SLURM_PROCID="0", SLURM_NTASKS="2")
    r = subprocess.run([env.ringload, "--json", "-q", "--shard", "auto", "--qps", "400", "-d", "1s", "-c", "8",
                        "-t", "1", target.url("/")], capture_output=True, text=True, timeout=60, env=env_vars)
    report = json.loads(r.stdout) if r.returncode == 0 else {}
    eq(checks, "--shard auto under Slurm (0 of 2) with --qps 400: its rate is 200, its connections 4",
       (report.get("shard"), (report.get("open_loop") or {}).get("target_qps"), report.get("connections")),
       ({"index": 0, "count": 2}, 200.0, 4))


def test_merge_refusals(checks, env, target):
    a = os.path.join(env.tmp, "n2-0.json")
    b = os.path.join(env.tmp, "n2-1.json")
    other = os.path.join(env.tmp, "other.json")
    res = h.run_ringload(env.ringload, ["-n", "20", "-c", "2", "-t", "1", "--shard", "1/2", target.url("/count")])
    with open(other, "w") as f:
        json.dump(res.report, f)
    junk = os.path.join(env.tmp, "junk.json")
    with open(junk, "w") as f:
        f.write('{"hello": 1}')
    for files, want in (([a, other], "not the same run"), ([a, a], "given twice"), ([a, junk], "not a ringload report"),
                        ([a, os.path.join(env.tmp, "missing.json")], "cannot read")):
        r = merge(env, files, os.path.join(env.tmp, "refused.json"))
        checks.check(f"merge refuses {os.path.basename(files[1])} after {os.path.basename(files[0])}: exit 2, {want!r}",
                     r.returncode == 2 and want in r.stderr, f"rc={r.returncode} {r.stderr!r}")
    r = merge(env, [a, b], os.path.join(env.tmp, "again.json"))
    eq(checks, "the same two shards merge (exit 0)", r.returncode, 0)


def setup(env):
    target = env.start(h.Target(env.target, threads=1), started="ringload-target starts")
    file = request_file(env, target)
    whole = h.run_ringload(env.ringload, ["-f", file, "--loop", "-n", str(TOTAL), "-c", "4", "-t", "2"])
    h.check_run_ok(env.checks, "the unsharded run", whole)
    eq(env.checks, "the unsharded run sends -n requests", whole.total(), TOTAL)
    eq(env.checks, "the unsharded run's statuses follow the file's lines", whole.get("status_codes"),
       expected_status_counts())
    eq(env.checks, "an unsharded report has shard null", whole.get("shard", default="absent"), None)
    tests = [(f"shards N={n}", test_shards, env, target, file, whole.report, n) for n in (1, 2, 4)]
    return tests + [("bad flags", test_bad_flags, env, target), ("auto and rates", test_auto_and_rates, env, target),
                    ("merge refusals", test_merge_refusals, env, target)]


if __name__ == "__main__":
    h.main(setup, title="shard/merge")
