"""ringload's open loop against ringload-target: fixed rate, coordinated omission, adaptive
rate, k6-style stages, Poisson arrivals, and the flags' usage errors.

The server's own counters (/count, /stats) are the reference for how many requests were
sent; ringload's qps_timeline (1 s windows) for how the rate was spread over time.
Run: python3 test_pacing.py --ringload PATH --target PATH
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

WINDOW_S = 1.0          # the default window of qps_timeline (and --adapt-interval)
FULL_WINDOW_S = 0.9     # shorter than this: the final, partial window


def stats(tgt):
    """The target's {"total","ok","rejected"} (not counted by the target itself)."""
    return json.loads(tgt._get("/stats"))


def within(got, want, rel):
    return got is not None and abs(got - want) <= rel * want


def pct(got, want):
    return f"{(got - want) * 100.0 / want:+.2f}%" if got is not None and want else "n/a"


def sent(res):
    """Requests ringload put on the wire: finished plus still in flight at the end."""
    return (res.total() or 0) + (res.get("requests", "in_flight_at_end") or 0)


def windows(res):
    """qps_timeline with each window's [start, end) and length (from consecutive t_s)."""
    out = []
    start = 0.0
    for w in res.get("qps_timeline", default=[]) or []:
        end = float(w["t_s"])
        out.append(dict(w, start=start, end=end, dur=end - start))
        start = end
    return out


def full_windows(res):
    """All windows but a final one shorter than FULL_WINDOW_S."""
    ws = windows(res)
    if ws and ws[-1]["dur"] < FULL_WINDOW_S:
        ws = ws[:-1]
    return ws


def check_windows_sum(c, name, res):
    """Every finished request belongs to exactly one window."""
    ws = windows(res)
    counted = round(sum(w["achieved_qps"] * w["dur"] for w in ws))
    total = res.total() or 0
    c.check(f"{name}: qps_timeline windows add up to requests.total (+-1 per window)",
            abs(counted - total) <= len(ws), f"sum of windows={counted} total={total} "
            f"windows={[(round(w['end'], 3), round(w['achieved_qps'])) for w in ws]}")


def check_served(c, name, tgt, res, want, rel):
    """The target's count, and ringload's finished + in flight, both within rel of want."""
    served = tgt.settled_count(expected=int(want * (1 - rel)))
    c.check(f"{name}: target served {want} +-{rel:.0%} (got {served})", within(served, want, rel),
            f"served={served} ({pct(served, want)})")
    c.check(f"{name}: requests.total + in_flight_at_end = {want} +-{rel:.0%} (got {sent(res)})",
            within(sent(res), want, rel),
            f"total={res.total()} in_flight_at_end={res.get('requests', 'in_flight_at_end')} "
            f"({pct(sent(res), want)}) open_loop={res.get('open_loop')}")
    return served


# ---------------------------------------------------------------------- the tests

def test_fixed_rate(c, rl, tgt):
    name = "--qps 2000 -d 3s"
    tgt.reset()
    res = h.run_ringload(rl, ["--qps", "2000", "-d", "3s", tgt.url("/")],
                         timeout=3 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    h.check_no_errors(c, name, res)
    check_served(c, name, tgt, res, 6000, 0.02)
    ol = res.get("open_loop") or {}
    c.eq(f"{name}: open_loop.target_qps", ol.get("target_qps"), 2000)
    c.eq(f"{name}: open_loop.arrival", ol.get("arrival"), "uniform")
    c.eq(f"{name}: open_loop.spin (the default)", ol.get("spin"), "auto")
    # Every connection (-c 64 by default) is opened before the first intended send.
    c.eq(f"{name}: open_loop.preopened_connections", ol.get("preopened_connections"), 64)
    c.eq(f"{name}: connections_opened", res.get("connections_opened"), 64)
    c.check(f"{name}: open_loop.warm_up_s in [0, 2)", 0 <= (ol.get("warm_up_s") or -1) < 2, f"open_loop={ol}")
    # Requests due before the stop but not sent: a few on a busy machine (a late loop turn
    # at the end), never the whole last stretch.
    c.check(f"{name}: open_loop.unsent_at_end <= 0.5% of the requests", (ol.get("unsent_at_end") or 0) <= 30,
            f"open_loop={ol}")
    c.check(f"{name}: send_lag_us has p50 and p99",
            isinstance(res.get("send_lag_us", "p99"), (int, float))
            and isinstance(res.get("send_lag_us", "p50"), (int, float)),
            f"send_lag_us={res.get('send_lag_us')}")
    lat, svc = res.get("latency_us", "p50"), res.get("service_time_us", "p50")
    c.check(f"{name}: latency p50 >= service time p50 (intended send <= actual send)",
            lat is not None and svc is not None and lat >= svc, f"latency={lat} service={svc}")
    ws = full_windows(res)
    c.check(f"{name}: at least 2 full windows", len(ws) >= 2,
            f"qps_timeline={res.get('qps_timeline')}")
    for w in ws:
        c.check(f"{name}: window ending {w['end']:.2f}s achieved 2000/s +-5% "
                f"(got {w['achieved_qps']:.0f})",
                within(w["achieved_qps"], 2000, 0.05),
                f"achieved_qps={w['achieved_qps']:.1f} ({pct(w['achieved_qps'], 2000)}) "
                f"window={w['start']:.3f}..{w['end']:.3f}s")
        c.check(f"{name}: window ending {w['end']:.2f}s target_qps 2000",
                within(w["target_qps"], 2000, 0.001), f"target_qps={w['target_qps']}")
    check_windows_sum(c, name, res)


def test_spin_modes(c, rl, tgt):
    """--spin always spins before every send, never (and --no-spin) before none; auto says so."""
    for args, mode in ((["--spin", "always"], "always"), (["--spin", "never"], "never"),
                       (["--no-spin"], "never")):
        name = f"--qps 500 -d 1s {' '.join(args)}"
        res = h.run_ringload(rl, ["--qps", "500", "-d", "1s"] + args + [tgt.url("/")],
                             timeout=1 + h.RUN_SLACK_S)
        if not h.check_run_ok(c, name, res):
            continue
        h.check_no_errors(c, name, res)
        ol = res.get("open_loop") or {}
        c.eq(f"{name}: open_loop.spin", ol.get("spin"), mode)
        sends = sent(res)
        spun = ol.get("spun_sends")
        if mode == "always":
            c.check(f"{name}: every send spun", spun == sends and sends >= 450, f"spun={spun} sent={sends}")
        else:
            c.eq(f"{name}: open_loop.spun_sends", spun, 0)


def test_coordinated_omission(c, rl, tgt, tmp):
    name = "-f FILE --loop (1 in 20 /delay/300) --qps 200 -c 4 -d 3s"
    path = os.path.join(tmp, "stalls.jsonl")
    with open(path, "w") as f:
        for i in range(20):
            f.write('{"url": "%s"}\n' % tgt.url("/delay/300" if i == 10 else "/"))
    tgt.reset()
    res = h.run_ringload(rl, ["-f", path, "--loop", "--qps", "200", "-c", "4", "-d", "3s"],
                         timeout=3 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    h.check_no_errors(c, name, res)
    lat, svc = res.get("latency_us", "p99"), res.get("service_time_us", "p99")
    c.check(f"{name}: latency_us p99 > service_time_us p99 (the stall is counted)",
            lat is not None and svc is not None and lat > svc,
            f"latency_us.p99={lat} service_time_us.p99={svc}")
    c.check(f"{name}: service_time_us p99 >= 300 ms (the delayed requests)",
            svc is not None and svc >= 300_000, f"service_time_us.p99={svc}")
    waited = res.get("open_loop", "waited_for_connection")
    c.check(f"{name}: open_loop.waited_for_connection > 0", (waited or 0) > 0,
            f"open_loop={res.get('open_loop')}")
    lag = res.get("send_lag_us", "p99")
    c.check(f"{name}: send_lag_us p99 > 1 ms (sends waited for a free connection)",
            (lag or 0) > 1000, f"send_lag_us={res.get('send_lag_us')}")


def test_adaptive(c, rl, target_bin, keep, capacity):
    name = f"--adaptive --qps 300 -d 25s against --capacity {capacity}"
    with h.Target(target_bin, threads=1, keep=keep,
                  extra=["--capacity", str(capacity)]) as tgt:
        res = h.run_ringload(rl, ["--adaptive", "--qps", "300", "--qps-max", "100000",
                                  "-d", "25s", "-c", "64", tgt.url("/")],
                             timeout=25 + h.RUN_SLACK_S)
        if not h.check_run_ok(c, name, res):
            return
        for kind in ("connect", "read", "write", "timeout", "protocol"):
            c.eq(f"{name}: errors.{kind}", res.get("errors", kind), 0)
        cap = res.get("capacity")
        c.check(f"{name}: capacity = {capacity} +-15% (got {cap if cap is None else round(cap)})",
                isinstance(cap, (int, float)) and within(cap, capacity, 0.15),
                f"capacity={cap} ({pct(cap, capacity) if isinstance(cap, (int, float)) else ''})")
        ws = full_windows(res)
        last = ws[-5:]
        c.check(f"{name}: at least 5 full windows", len(last) == 5, f"windows={len(ws)}")
        c.check(f"{name}: last 5 windows' target_qps = {capacity} +-15% "
                f"(got {[round(w['target_qps']) for w in last]})",
                all(within(w["target_qps"], capacity, 0.15) for w in last),
                f"target_qps={[round(w['target_qps']) for w in last]}")
        st = wait_stats(tgt, sent(res))
        n503 = (res.get("status_codes") or {}).get("503", 0)
        in_flight = res.get("requests", "in_flight_at_end") or 0
        c.check(f"{name}: the controller probed above capacity (target rejected some)",
                st.get("rejected", 0) > 0, f"stats={st}")
        c.check(f"{name}: ringload's 503s match the target's rejections",
                n503 <= st.get("rejected", -1) <= n503 + in_flight,
                f"503s={n503} in_flight_at_end={in_flight} stats={st}")
        c.check(f"{name}: target total between total and total + in_flight_at_end",
                (res.total() or 0) <= st.get("total", -1) <= sent(res),
                f"total={res.total()} in_flight_at_end={in_flight} stats={st}")


def wait_stats(tgt, expected, timeout=5.0):
    """/stats once the target has counted `expected` requests (bounded) and stopped moving."""
    h.wait_until(lambda: stats(tgt).get("total", 0) >= expected, timeout)
    h.wait_stable(lambda: stats(tgt).get("total", 0), settle=0.3, timeout=timeout)
    return stats(tgt)


# The ramp of --stages "2s:1000,2s:1000,2s:0" from 0: (start s, end s, rate at start, at end).
STAGES = [(0.0, 2.0, 0.0, 1000.0), (2.0, 4.0, 1000.0, 1000.0), (4.0, 6.0, 1000.0, 0.0)]


def ideal_rate(t):
    for a, b, ra, rb in STAGES:
        if a <= t <= b:
            return ra + (rb - ra) * (t - a) / (b - a)
    return 0.0


def ideal_count(t0, t1):
    """Requests the ramp schedules in [t0, t1] (integral of a piecewise-linear rate)."""
    total = 0.0
    for a, b, ra, rb in STAGES:
        lo, hi = max(a, t0), min(b, t1)
        if hi > lo:
            total += (ideal_rate(lo) + ideal_rate(hi)) / 2 * (hi - lo)
    return total


def test_stages(c, rl, tgt):
    name = '--stages "2s:1000,2s:1000,2s:0"'
    tgt.reset()
    res = h.run_ringload(rl, ["--stages", "2s:1000,2s:1000,2s:0", tgt.url("/")],
                         timeout=6 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    h.check_no_errors(c, name, res)
    c.check(f"{name}: duration_s = 6", within(res.get("duration_s"), 6.0, 0.01),
            f"duration_s={res.get('duration_s')}")
    check_served(c, name, tgt, res, 4000, 0.03)
    ws = windows(res)
    for w in ws:
        # A linear piece's mean over a window is its value at the window's middle.
        want = ideal_count(w["start"], w["end"]) / w["dur"] if w["dur"] > 0 else 0
        c.check(f"{name}: window ending {w['end']:.2f}s target_qps = {want:.0f} +-50",
                abs(w["target_qps"] - want) <= 50, f"target_qps={w['target_qps']:.1f}")
    check_windows_sum(c, name, res)
    # Each 1 s window goes to the stage holding its middle; a stage's windows together span
    # about its 2 s (the edges jitter by milliseconds, i.e. a few requests at 1000/s).
    for i, (a, b, ra, rb) in enumerate(STAGES):
        mine = [w for w in ws if a <= (w["start"] + w["end"]) / 2 < b]
        got = sum(w["achieved_qps"] * w["dur"] for w in mine)
        nominal = (ra + rb) / 2 * (b - a)
        detail = (f"got={got:.0f} windows={[(round(w['start'], 3), round(w['end'], 3)) for w in mine]}")
        c.check(f"{name}: stage {i + 1} ({a:g}-{b:g} s) sent {nominal:.0f} +-3% (got {got:.0f})",
                len(mine) == 2 and within(got, nominal, 0.03),
                detail + f" ({pct(got, nominal)})")
        if mine:
            exact = ideal_count(mine[0]["start"], mine[-1]["end"])
            c.check(f"{name}: stage {i + 1} matches the ramp over its windows' span +-3%",
                    within(got, exact, 0.03), detail + f" ideal={exact:.1f}")


def test_poisson(c, rl, tgt):
    name = "--qps 1000 --arrival poisson -d 3s"
    tgt.reset()
    res = h.run_ringload(rl, ["--qps", "1000", "--arrival", "poisson", "-d", "3s", tgt.url("/")],
                         timeout=3 + h.RUN_SLACK_S)
    if not h.check_run_ok(c, name, res):
        return
    h.check_no_errors(c, name, res)
    c.eq(f"{name}: open_loop.arrival", res.get("open_loop", "arrival"), "poisson")
    check_served(c, name, tgt, res, 3000, 0.05)
    check_windows_sum(c, name, res)


# Each: (arguments, names one of which the message must contain). Traffic would hit a
# refused port and exit 1, so exit 2 shows the check came before any connection.
BAD_VALUES = [
    (["--qps", "0"], ["--qps"]),
    (["--qps", "-5"], ["--qps"]),
    (["--qps", "abc"], ["--qps"]),
    (["--stages", "10s"], ["--stages"]),
    (["--stages", "x:100"], ["--stages"]),
    (["--stages", "0s:100"], ["--stages"]),
    (["--stages", "1s:100", "-d", "5s"], ["--stages", "-d", "--duration"]),
    (["--adaptive", "--qps-min", "100", "--qps-max", "10"], ["--qps-min", "--qps-max"]),
    (["--adaptive", "--adapt-down", "1.5"], ["--adapt-down"]),
    (["--adaptive", "--adapt-up", "0.5"], ["--adapt-up"]),
    (["--adaptive", "--target-availability", "2"], ["--target-availability"]),
    (["--adaptive", "--stages", "1s:100"], ["--stages", "--adaptive"]),
    (["--qps", "100", "--arrival", "weird"], ["--arrival"]),
    (["--qps", "100", "--spin", "sometimes"], ["--spin"]),
    (["--qps", "100", "--spin", "always", "--no-spin"], ["--spin", "--no-spin"]),
]


def test_bad_values(c, rl):
    port = h.free_port()
    url = f"http://127.0.0.1:{port}/"
    for args, names in BAD_VALUES:
        label = " ".join(args)
        # --adaptive needs an end; --stages sets its own.
        ends = [] if "-d" in args or "--stages" in args else ["-d", "2s"]
        res = h.run_cli(rl, args + ends + [url], timeout=10)
        text = res.out + res.err
        c.check(f"usage error [{label}]: exit 2", res.rc == 2, res.describe())
        c.check(f"usage error [{label}]: message names {names[0]!r}",
                any(n in text for n in names), res.describe())
        c.check(f"usage error [{label}]: no connection attempted",
                "refused" not in text.lower() and "cannot connect" not in text.lower()
                and res.report is None, res.describe())


def tests(env):
    rl = env.ringload
    tgt = env.start(h.Target(env.target, threads=1, keep=env.keep), started="ringload-target started",
                    exit_check="ringload-target exits 0 on SIGTERM")
    return [
        ("bad values", test_bad_values, rl),
        ("fixed rate", test_fixed_rate, rl, tgt),
        ("spin modes", test_spin_modes, rl, tgt),
        ("coordinated omission", test_coordinated_omission, rl, tgt, env.tmp),
        ("stages", test_stages, rl, tgt),
        ("poisson", test_poisson, rl, tgt),
        ("adaptive 1500", test_adaptive, rl, env.target, env.keep, 1500),
        ("adaptive 4000", test_adaptive, rl, env.target, env.keep, 4000),
    ]


if __name__ == "__main__":
    h.main(tests, title="pacing", tmp_prefix="ringload-pacing-", description=__doc__)
