"""ringload's memory against ringload-target: peak RSS (VmHWM, read while it runs) and the
report's `memory` block at -c 64 and -c 2000, against the goals of issue 13.

Run: python3 test_memory.py --ringload PATH --target PATH
"""
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

# Goals (issue 13; bench/README.md, memory.py). -t 1 -c 64: at most 8 MB of peak RSS (wrk:
# ~5 MB). Past that, a shard's receive buffers grow with its connections up to a cap of
# 4 MiB (memory.buffer_rings); everything else must stay under 1 KiB per connection in the
# memory block (so that -c 10000 is under 2 KiB each with the buffers, even on 2 shards)
# and under 1.5 KiB of RSS per extra connection.
RSS_64_KIB = 8 * 1024
BUFFER_CAP = (4 << 20) + 64 * 1024  # the buffers and their ring entries
BLOCK_PER_CONN_BEYOND_BUFFERS = 1024
RSS_PER_CONN_BEYOND_BUFFERS_KIB = 1.5
PARTS = ("slots", "scratch", "buffer_rings", "rings", "session_state", "tls", "timers",
         "histograms", "request_table", "export_queues")


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_measured(rl, tgt, conns):
    """ringload -t 1 -c conns -d 1s; its VmHWM polled while it runs (the last reading
    before it exits)."""
    proc = h.start_ringload(rl, ["-t", "1", "-c", str(conns), "-d", "1s", tgt.url("/")])
    peak = 0
    while proc.poll() is None:
        rss = peak_rss_kib(proc.pid)
        peak = max(peak, rss or 0)
        time.sleep(0.02)
    return h.finish_ringload(proc, timeout=30), peak


def check_block(c, name, res, conns):
    m = res.get("memory")
    if not c.check(f"{name}: report has a memory block", isinstance(m, dict), f"{m!r}"):
        return None
    parts = m.get("parts") or {}
    c.eq(f"{name}: memory parts", sorted(parts), sorted(PARTS))
    c.eq(f"{name}: memory.connections", m.get("connections"), conns)
    c.eq(f"{name}: memory.total_bytes is the sum of its parts", m.get("total_bytes"),
         sum(parts.values()))
    per_conn_parts = sum(parts.get(k, 0) for k in PARTS[:7])
    c.eq(f"{name}: memory.per_connection_bytes", m.get("per_connection_bytes"),
         per_conn_parts // conns)
    c.eq(f"{name}: no stream, TLS or export state", [parts.get(k) for k in ("session_state", "tls", "export_queues")],
         [0, 0, 0])
    return m


def test_memory(c, rl, tgt):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2200:
        print(f"SKIP memory: RLIMIT_NOFILE {soft} < 2200 (ringload-target needs 2000 sockets)")
        return
    results = {}
    for conns in (64, 2000):
        name = f"target -t 1 -c {conns} -d 1s"
        res, peak = run_measured(rl, tgt, conns)
        if not h.check_run_ok(c, name, res):
            return
        h.check_no_errors(c, name, res)
        c.check(f"{name}: requests served", res.total() > 100, f"total={res.total()}")
        m = check_block(c, name, res, conns)
        results[conns] = (peak, m)
        print(f"  {name}: peak RSS {peak} KiB, memory block {m and m.get('total_bytes')} B, "
              f"{m and m.get('per_connection_bytes')} B/conn")
    (rss64, _), (rss2000, m2000) = results[64], results[2000]
    c.check(f"-c 64: peak RSS <= {RSS_64_KIB} KiB", 0 < rss64 <= RSS_64_KIB, f"{rss64} KiB")
    if not m2000:
        return
    parts = m2000.get("parts") or {}
    buffers = parts.get("buffer_rings", 0)
    c.check(f"-c 2000: buffer_rings <= {BUFFER_CAP} B", buffers <= BUFFER_CAP, f"{buffers} B")
    rest = (sum(parts.get(k, 0) for k in PARTS[:7]) - buffers) / 2000
    c.check(f"-c 2000: memory per connection beyond the receive buffers <= {BLOCK_PER_CONN_BEYOND_BUFFERS} B",
            rest <= BLOCK_PER_CONN_BEYOND_BUFFERS, f"{rest:.0f} B")
    per_conn = (rss2000 - rss64 - buffers / 1024) / (2000 - 64)
    c.check(f"-c 64 -> -c 2000: <= {RSS_PER_CONN_BEYOND_BUFFERS_KIB} KiB RSS per extra connection "
            "beyond the receive buffers", per_conn <= RSS_PER_CONN_BEYOND_BUFFERS_KIB,
            f"{per_conn:.2f} KiB ({rss64} -> {rss2000} KiB, buffers {buffers // 1024} KiB)")


def tests(env):
    tgt = env.start(h.Target(env.target, threads=2, keep=env.keep), started="ringload-target started",
                    exit_check="ringload-target exits 0 on SIGTERM")
    return [("memory", test_memory, env.ringload, tgt)]


if __name__ == "__main__":
    h.main(tests, title="memory", description=__doc__)
