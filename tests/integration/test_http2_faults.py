"""ringload --h2c against a misbehaving HTTP/2 server (h2_peers.py, python3-h2): each fault is
counted as an error of the right kind, the report's http2 block and the peer's own statistics
agree, and no run hangs (every run is bounded by -n or -d, and its wall time is checked).

Run: python3 test_http2_faults.py --ringload PATH --target PATH
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from h2_peers import H2Peer  # noqa: E402


def run(c, name, rl, args, bound_s):
    res = h.run_ringload(rl, ["--h2c"] + args, timeout=bound_s + h.RUN_SLACK_S)
    ok = h.check_run_ok(c, name, res)
    c.check(f"{name}: ends within {bound_s} s", res.elapsed < bound_s, f"elapsed={res.elapsed:.2f}")
    return res if ok else None


def errors(res, kind):
    return (res.get("errors") or {}).get(kind, 0)


def test_goaway(c, rl, keep):
    # Each connection's 5th stream brings a GOAWAY; at most 3 streams are above it (4 open
    # at once), and they go first on the next connection, so each resend is processed.
    name = "GOAWAY after the 5th stream, -n 40 -c 1 --max-streams 4"
    with H2Peer("goaway-after", 5, keep=keep) as peer:
        res = run(c, name, rl, ["-n", "40", "-c", "1", "--max-streams", "4", peer.url()], 20)
        if not res:
            return
        st = peer.settled_stats()
        b = res.get("http2") or {}
        c.eq(f"{name}: requests.total (every request finished once)", res.total(), 40)
        c.eq(f"{name}: every request answered", res.get("requests", "succeeded"), 40)
        c.eq(f"{name}: succeeded == the peer's answered requests", res.get("requests", "succeeded"), st.get("requests"))
        # Streams still queued in nghttp2 (not yet written) when the GOAWAY arrived are not
        # processed either, and the peer never saw them.
        c.check(f"{name}: goaway_unprocessed >= the peer's unprocessed",
                (b.get("goaway_unprocessed") or 0) >= (st.get("unprocessed") or 0), f"http2={b} peer={st}")
        c.check(f"{name}: some streams were not processed", (b.get("goaway_unprocessed") or 0) > 0, f"http2={b}")
        c.eq(f"{name}: each one resent", b.get("goaway_retried"), b.get("goaway_unprocessed"))
        h.check_no_errors(c, name, res)
        c.eq(f"{name}: goaways == the peer's", b.get("goaways"), st.get("goaways"))
        c.check(f"{name}: reconnected after each GOAWAY", (res.get("connections_opened") or 0) >= 2,
                f"connections_opened={res.get('connections_opened')}")
    # Only the 1st stream of each connection is processed: a resend above the GOAWAY again
    # is an error (once per request), and -n stays exact.
    name = "GOAWAY after the 1st stream, -n 30 -c 1 --max-streams 4"
    with H2Peer("goaway-after", 1, keep=keep) as peer:
        res = run(c, name, rl, ["-n", "30", "-c", "1", "--max-streams", "4", peer.url()], 20)
        if not res:
            return
        st = peer.settled_stats()
        b = res.get("http2") or {}
        unprocessed, retried = b.get("goaway_unprocessed") or 0, b.get("goaway_retried") or 0
        c.eq(f"{name}: requests.total", res.total(), 30)
        c.eq(f"{name}: succeeded == the peer's answered requests", res.get("requests", "succeeded"), st.get("requests"))
        c.check(f"{name}: goaway_unprocessed >= the peer's unprocessed", unprocessed >= (st.get("unprocessed") or 0),
                f"http2={b} peer={st}")
        c.check(f"{name}: resent some, not all", 0 < retried < unprocessed, f"http2={b}")
        c.eq(f"{name}: protocol errors == not processed twice", errors(res, "protocol"), unprocessed - retried)
        c.eq(f"{name}: succeeded + errors == 30", res.get("requests", "succeeded") + errors(res, "protocol"), 30)
        c.check(f"{name}: not processed named in first_errors",
                "GOAWAY" in (res.get("first_errors") or {}).get("protocol", ""), f"{res.get('first_errors')}")


def test_rst(c, rl, keep):
    name = "rst-internal 3, -n 60 -c 2 --max-streams 4"
    with H2Peer("rst-internal", 3, keep=keep) as peer:
        res = run(c, name, rl, ["-n", "60", "-c", "2", "--max-streams", "4", peer.url()], 20)
        if not res:
            return
        st = peer.settled_stats()
        b = res.get("http2") or {}
        resets = (b.get("rst_stream_received") or {}).get("internal_error")
        c.eq(f"{name}: requests.total", res.total(), 60)
        c.eq(f"{name}: rst_stream_received.internal_error == the peer's reset_internal", resets, st.get("reset_internal"))
        c.eq(f"{name}: 60 streams, every 3rd reset", resets, 20)
        c.eq(f"{name}: protocol errors == resets", errors(res, "protocol"), resets)
        c.eq(f"{name}: not resent", b.get("refused_retried"), 0)
        c.eq(f"{name}: succeeded == 40", res.get("requests", "succeeded"), 40)


def test_refused(c, rl, keep, tmp):
    # RFC 9113 §8.7: a refused stream was not processed; it is sent again, once.
    # Every 3rd line's path is refused the first time it comes (each line is sent once).
    name = "REFUSED_STREAM once on every 3rd request, -n 60 -c 2 --max-streams 4"
    with H2Peer("ok", keep=keep) as peer:
        lines = os.path.join(tmp, "refused-once.jsonl")
        with open(lines, "w") as f:
            for i in range(60):
                path = f"/rst-refused-once/{i}" if i % 3 == 2 else f"/ok/{i}"
                f.write(json.dumps({"url": peer.url(path)}) + "\n")
        res = run(c, name, rl, ["-n", "60", "-c", "2", "--max-streams", "4", "-f", lines], 20)
        if res:
            st = peer.settled_stats(expected=60)
            b = res.get("http2") or {}
            refused = (b.get("rst_stream_received") or {}).get("refused_stream")
            c.eq(f"{name}: requests.total", res.total(), 60)
            c.eq(f"{name}: every request succeeded", res.get("requests", "succeeded"), 60)
            h.check_no_errors(c, name, res)
            c.eq(f"{name}: rst_stream_received.refused_stream == the peer's refused == 20",
                 (refused, st.get("refused")), (20, 20))
            c.eq(f"{name}: refused_retried == 20", b.get("refused_retried"), 20)
            c.eq(f"{name}: the peer answered 60, saw 80 streams", (st.get("requests"), st.get("streams")), (60, 80))
    # The same with HTTP/2 chosen by each line ("http2": true), not by --h2c: the resend
    # follows the connection group.
    name = "REFUSED_STREAM once on every 3rd request, lines with \"http2\": true, no --h2c"
    with H2Peer("ok", keep=keep) as peer:
        lines = os.path.join(tmp, "refused-once-lines.jsonl")
        with open(lines, "w") as f:
            for i in range(30):
                path = f"/rst-refused-once/{i}" if i % 3 == 2 else f"/ok/{i}"
                f.write(json.dumps({"url": peer.url(path), "http2": True}) + "\n")
        res = h.run_ringload(rl, ["-n", "30", "-c", "2", "--max-streams", "4", "-f", lines], timeout=20 + h.RUN_SLACK_S)
        if h.check_run_ok(c, name, res):
            st = peer.settled_stats(expected=30)
            c.eq(f"{name}: every request succeeded", (res.total(), res.get("requests", "succeeded")), (30, 30))
            h.check_no_errors(c, name, res)
            c.eq(f"{name}: refused_retried == the peer's refused == 10",
                 ((res.get("http2") or {}).get("refused_retried"), st.get("refused")), (10, 10))
    # A server that refuses every stream: each request fails after exactly one resend.
    name = "REFUSED_STREAM always, -n 30 -c 2 --max-streams 4"
    with H2Peer("rst-refused", 1, keep=keep) as peer:
        res = run(c, name, rl, ["-n", "30", "-c", "2", "--max-streams", "4", peer.url()], 20)
        if not res:
            return
        st = peer.settled_stats(key="streams", expected=60)
        b = res.get("http2") or {}
        c.eq(f"{name}: requests.total (-n exact)", res.total(), 30)
        c.eq(f"{name}: every request failed as a protocol error", errors(res, "protocol"), 30)
        c.eq(f"{name}: refused_retried == 30 (one resend each)", b.get("refused_retried"), 30)
        c.eq(f"{name}: rst_stream_received.refused_stream == the peer's refused == 60",
             ((b.get("rst_stream_received") or {}).get("refused_stream"), st.get("refused")), (60, 60))
        c.eq(f"{name}: the peer saw 60 streams, answered none", (st.get("streams"), st.get("requests")), (60, 0))
        c.check(f"{name}: named", "REFUSED_STREAM" in (res.get("first_errors") or {}).get("protocol", ""),
                f"{res.get('first_errors')}")


def test_no_window(c, rl, keep, tmp):
    name = "no-window: 100 KB bodies, --timeout 1s, -n 2 -c 1 --max-streams 2"
    body = os.path.join(tmp, "body")
    with open(body, "wb") as f:
        f.write(b"x" * 100_000)
    with H2Peer("no-window", keep=keep) as peer:
        res = run(c, name, rl, ["-n", "2", "-c", "1", "--max-streams", "2", "--timeout", "1s", "-m", "POST",
                                "--body-file", body, peer.url()], 10)
        if not res:
            return
        b = res.get("http2") or {}
        c.eq(f"{name}: both time out", (res.total(), errors(res, "timeout")), (2, 2))
        c.check(f"{name}: a flow-control stall counted", (b.get("flow_control_stalls") or 0) >= 1, f"http2={b}")
        c.eq(f"{name}: reset by us (CANCEL)", b.get("rst_stream_sent"), 2)


def test_no_settings_ack(c, rl, keep):
    name = "no-settings-ack: -d 3s --timeout 1s -c 1"
    with H2Peer("no-settings-ack", keep=keep) as peer:
        res = run(c, name, rl, ["-d", "3s", "-c", "1", "--timeout", "1s", peer.url()], 3 + 10)
        if not res:
            return
        c.check(f"{name}: timeout errors", errors(res, "timeout") >= 1, f"errors={res.get('errors')}")
        c.check(f"{name}: named", "SETTINGS ACK" in (res.get("first_errors") or {}).get("timeout", ""),
                f"{res.get('first_errors')}")
        c.check(f"{name}: reconnected", (res.get("connections_opened") or 0) >= 2, f"{res.get('connections_opened')}")


def test_huge_headers(c, rl, keep):
    name = "huge-headers (1 MiB of fields): -n 3 -c 1"
    with H2Peer("huge-headers", keep=keep) as peer:
        res = run(c, name, rl, ["-n", "3", "-c", "1", "--timeout", "5s", peer.url()], 15)
        if not res:
            return
        # Each stream is reset by us past 64 KiB (a protocol error of the request); libnghttp2
        # then ends the connection itself at the flood of CONTINUATION frames that follows (a
        # protocol error of the connection, no request in flight): 3 to 6 errors.
        c.eq(f"{name}: 3 requests, all failed", (res.total(), res.get("requests", "failed")), (3, 3))
        c.check(f"{name}: 3 to 6 protocol errors", 3 <= errors(res, "protocol") <= 6, f"errors={res.get('errors')}")
        sent = (res.get("http2") or {}).get("rst_stream_sent") or 0
        c.check(f"{name}: streams reset by us (those not failed with their connection first)", 1 <= sent <= 3,
                f"rst_stream_sent={sent}")
        c.check(f"{name}: named", "header list too large" in (res.get("first_errors") or {}).get("protocol", ""),
                f"{res.get('first_errors')}")


def test_bad_preface(c, rl, keep):
    for reply in ("goaway", "http1", "garbage"):
        name = f"bad-preface --reply {reply}: -n 3 -d 2s"
        with H2Peer("bad-preface", extra=["--reply", reply], keep=keep) as peer:
            res = run(c, name, rl, ["-n", "3", "-d", "2s", "-c", "1", peer.url()], 2 + 10)
            if not res:
                continue
            c.eq(f"{name}: no request was sent (no SETTINGS, no stream)", res.total(), 0)
            c.check(f"{name}: counted as errors", res.errors_sum() >= 1, f"errors={res.get('errors')}")
    # Each slot connects again after 1, 2, 4 ... ms, at most --reconnect-backoff (1 s):
    # in 2 s at most 11 + 2 connections per slot (without a back-off: thousands).
    name = "bad-preface --reply goaway: -c 2 -d 2s, the reconnects back off"
    with H2Peer("bad-preface", extra=["--reply", "goaway"], keep=keep) as peer:
        res = run(c, name, rl, ["-d", "2s", "-c", "2", peer.url()], 2 + 10)
        if not res:
            return
        opened = peer.settled_stats().get("connections") or 0
        c.check(f"{name}: the peer saw 2..30 connections", 2 <= opened <= 30, f"connections={opened}")
        c.check(f"{name}: each one an error", res.errors_sum() >= opened - 2, f"errors={res.get('errors')} connections={opened}")


def tests(env):
    rl = env.ringload
    return [
        ("goaway", test_goaway, rl, env.keep),
        ("rst", test_rst, rl, env.keep),
        ("refused", test_refused, rl, env.keep, env.tmp),
        ("no window", test_no_window, rl, env.keep, env.tmp),
        ("no settings ack", test_no_settings_ack, rl, env.keep),
        ("huge headers", test_huge_headers, rl, env.keep),
        ("bad preface", test_bad_preface, rl, env.keep),
    ]


if __name__ == "__main__":
    h.main(tests, title="http2 faults", description=__doc__)
