"""The misbehaving HTTP/2 peer (h2_peers.py) checked on its own, before ringload's fault tests
rest on it: every mode is driven by Debian's nghttp2 clients (h2load, nghttp) or by a small
python3-h2 client here, and each misbehaviour is seen on the wire and in the peer's
statistics. ringload itself is not run (--ringload and --target are accepted, not needed).

Run: /usr/bin/python3 test_h2_peers.py
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hpack import Decoder

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from h2_peers import H2Peer  # noqa: E402
from test_streams import make_cert  # noqa: E402

TOOL_TIMEOUT_S = 30
FRAME_DATA, FRAME_HEADERS, FRAME_SETTINGS, FRAME_GOAWAY, FRAME_CONTINUATION = 0x0, 0x1, 0x4, 0x7, 0x9


# ------------------------------------------------------------------- the clients

def tool(cmd, timeout=TOOL_TIMEOUT_S):
    """(exit code, stdout + stderr) of an nghttp2 client, bounded."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"killed after {timeout} s"
    return p.returncode, p.stdout + p.stderr


def h2load(args, url):
    """h2load's totals: {requests, succeeded, failed, errored, 2xx} (None: no summary line)
    and its output."""
    rc, out = tool(["h2load", *args, url])
    m = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored", out)
    s = re.search(r"status codes: (\d+) 2xx", out)
    if not m or not s:
        return None, out
    return dict(zip(("requests", "succeeded", "failed", "errored"), map(int, m.groups())),
                **{"2xx": int(s.group(1))}), out


class Client:
    """A python3-h2 client on one connection (h2c, or h2 by ALPN with `tls`): it sends what
    it is told and records what came back, per stream and for the connection."""

    def __init__(self, port, tls=None, settings=None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.h2.initiate_connection()
        if settings:
            self.h2.update_settings(settings)
        self.streams = {}  # id -> {"status", "headers", "data", "ended", "reset"}
        self.goaway = None  # (error code, last_stream_id)
        self.settings_acked = False
        self.server_settings = None
        self.closed = False
        self.error = None
        self.flush()

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, method="GET", body=None, end=True):
        """Opens a stream; `body`: how many bytes of body to send (as the windows allow)."""
        sid = self.h2.get_next_available_stream_id()
        headers = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "127.0.0.1")]
        self.h2.send_headers(sid, headers, end_stream=body is None and end)
        self.streams[sid] = {"status": None, "headers": [], "data": b"", "ended": False, "reset": None}
        if body is not None:
            self.streams[sid]["unsent"] = body
            self.send_body(sid)
        self.flush()
        return sid

    def send_body(self, sid):
        """As much of the stream's unsent body (bytes "x") as the windows allow."""
        stream = self.streams[sid]
        while stream["unsent"]:
            room = min(stream["unsent"], self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if room <= 0:
                break
            stream["unsent"] -= room
            self.h2.send_data(sid, b"x" * room, end_stream=not stream["unsent"])
        self.flush()

    def pump(self, until, timeout):
        """Reads and handles frames until until(self) or the timeout, the peer's close or a
        protocol error (bounded). Returns until(self)."""
        deadline = time.monotonic() + timeout
        while not until(self) and not self.closed and self.error is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(min(left, 0.5))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                self.error = e
                break
            if not data:
                self.closed = True
                break
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                self.error = e
                break
            for event in events:
                self.on_event(event)
            self.flush()
        return until(self)

    def on_event(self, ev):
        stream = self.streams.get(getattr(ev, "stream_id", None))
        if isinstance(ev, h2.events.ResponseReceived):
            stream["headers"] = ev.headers
            stream["status"] = dict(ev.headers).get(":status")
        elif isinstance(ev, h2.events.DataReceived):
            stream["data"] += ev.data
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            stream["ended"] = True
        elif isinstance(ev, h2.events.StreamReset):
            stream["reset"] = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = (ev.error_code, ev.last_stream_id)
        elif isinstance(ev, h2.events.SettingsAcknowledged):
            self.settings_acked = True
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            self.server_settings = {k: v.new_value for k, v in ev.changed_settings.items()}

    def done(self, sids):
        """A pump() condition: every stream in sids ended or was reset."""
        return lambda c: all(c.streams[s]["ended"] or c.streams[s]["reset"] is not None for s in sids)

    def close(self):
        self.sock.close()


def raw_exchange(port, settings=None, paths=("/",), read_s=3.0, limit=8 << 20):
    """A client preface, SETTINGS (`settings`) and a GET per path written by python3-h2, then
    the server's frames read raw until it closes or `read_s` passes: [(type, flags, stream,
    payload)], whatever trailed that is no whole frame, and whether the server closed."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    if settings:
        conn.update_settings(settings)
    for path in paths:
        conn.send_headers(conn.get_next_available_stream_id(),
                          [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "x")],
                          end_stream=True)
    data, closed = b"", False
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(conn.data_to_send())
        deadline = time.monotonic() + read_s
        while time.monotonic() < deadline and len(data) < limit:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, OSError):
                break
            if not chunk:
                closed = True
                break
            data += chunk
    frames, pos = [], 0
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos:pos + 3], "big")
        if pos + 9 + length > len(data) or length > (1 << 24) - 1:
            break
        frames.append((data[pos + 3], data[pos + 4], int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7FFFFFFF,
                       data[pos + 9:pos + 9 + length]))
        pos += 9 + length
    return frames, data[pos:], closed


# ------------------------------------------------------------------------ the tests

def test_ok(c, tmp):
    with H2Peer("ok") as peer:
        res, out = h2load(["-n", "400", "-c", "4", "-m", "8"], peer.url())
        c.eq("ok: h2load -n 400 -c 4 -m 8: succeeded (2xx)", res and (res["succeeded"], res["2xx"]), (400, 400))
        st = peer.settled_stats(expected=400)
        c.eq("ok: the peer answered 400 requests on 4 connections",
             (st.get("requests"), st.get("streams"), st.get("connections")), (400, 400, 4))
        c.eq("ok: per-connection requests add up", sum(p["requests"] for p in st["per_connection"]), 400)
        c.check("ok: several streams were open at once (h2load -m 8), within 8",
                2 <= st.get("max_concurrent", 0) <= 8, f"max_concurrent={st.get('max_concurrent')}")
        c.eq("ok: no refusals or protocol errors", (st["over_limit"], st["refused"], st["protocol_errors"]), (0, 0, 0))
        rc, out = tool(["nghttp", "-v", peer.url("/")])
        c.check("ok: nghttp gets 200 'ok' and the SETTINGS ACK",
                rc == 0 and ":status: 200" in out and "\nok\n" in out and "; ACK" in out, out[-800:])
        cl = Client(peer.port)
        sid = cl.request("/stats")
        cl.pump(cl.done([sid]), 5)
        c.check("ok: /stats answers the statistics (not counted)",
                cl.streams[sid]["status"] == "200" and b'"requests": 401' in cl.streams[sid]["data"],
                h.short(cl.streams[sid]))
        sid = cl.request("/", method="POST", body=200_000)
        for _ in range(200):
            if not cl.streams[sid]["unsent"]:
                break
            # the rest of the body as the windows open (the peer opens them as it reads)
            cl.pump(lambda c2: c2.h2.local_flow_control_window(sid) > 0, 5)
            cl.send_body(sid)
        cl.pump(cl.done([sid]), 5)
        c.check("ok: a 200,000-byte POST body is read (windows opened) and answered",
                cl.streams[sid]["status"] == "200" and peer.settled_stats()["data_bytes"] == 200_000,
                h.short((cl.streams[sid], peer.stats().get("data_bytes"))))
        cl.close()


def test_tls(c, tmp):
    cert, key = make_cert(tmp)
    with H2Peer("ok", tls=(cert, key)) as peer:
        res, out = h2load(["-n", "200", "-c", "2", "-m", "4"], peer.url())
        c.eq("tls: h2load over TLS (ALPN h2): 200 succeeded", res and res["succeeded"], 200)
        rc, out = tool(["nghttp", "-v", peer.url()])
        c.check("tls: nghttp negotiates h2 and gets 200", rc == 0 and "The negotiated protocol: h2" in out
                and ":status: 200" in out, out[-600:])
        ctx = ssl.create_default_context(cafile=cert)
        ctx.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(("127.0.0.1", peer.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.settimeout(3)
                try:
                    eof = s.recv(100) == b""
                except (OSError, ssl.SSLError):
                    eof = True
        c.check("tls: a client offering only http/1.1 is closed on", eof)
        c.eq("tls: counted as alpn_refused", peer.settled_stats().get("alpn_refused"), 1)
        ctx = ssl.create_default_context(cafile=cert)
        ctx.set_alpn_protocols(["h2"])
        cl = Client(peer.port, tls=ctx)
        sid = cl.request("/")
        cl.pump(cl.done([sid]), 5)
        c.eq("tls: the python3-h2 client over TLS gets 200", cl.streams[sid]["status"], "200")
        cl.close()


def test_max_streams(c, tmp):
    with H2Peer("max-streams", 4) as peer:
        res, out = h2load(["-n", "200", "-c", "1", "-m", "32"], peer.url("/slow/30"))
        st = peer.settled_stats()
        c.check("max-streams 4: never more than 4 streams in progress, 4 reached",
                st.get("max_concurrent") == 4, f"max_concurrent={st.get('max_concurrent')}")
        c.check("max-streams 4: h2load's successes are the peer's answers, the rest refused "
                "(sent before it read the SETTINGS)",
                res and res["succeeded"] == st["requests"] and st["requests"] + st["over_limit"] == 200
                and st["over_limit_after_ack"] == 0, h.short((res, st)))
        cl = Client(peer.port)
        cl.pump(lambda c2: c2.server_settings is not None and c2.settings_acked, 5)
        c.eq("max-streams 4: SETTINGS_MAX_CONCURRENT_STREAMS advertised",
             (cl.server_settings or {}).get(SettingCodes.MAX_CONCURRENT_STREAMS), 4)
        # From here on the client ignores it.
        cl.h2.remote_settings[SettingCodes.MAX_CONCURRENT_STREAMS] = 100
        cl.h2.remote_settings.acknowledge()
        sids = [cl.request("/slow/300") for _ in range(6)]
        cl.pump(cl.done(sids), 5)
        refused = [s for s in sids if cl.streams[s]["reset"] == ErrorCodes.REFUSED_STREAM]
        answered = [s for s in sids if cl.streams[s]["status"] == "200" and cl.streams[s]["ended"]]
        c.eq("max-streams 4: a client ignoring it: 4 answered, 2 refused (REFUSED_STREAM)",
             (len(answered), len(refused)), (4, 2))
        c.eq("max-streams 4: counted as over_limit_after_ack", peer.settled_stats()["over_limit_after_ack"], 2)
        cl.close()


def goaway_view(frames):
    """What raw frames say about a GOAWAY: [(last_stream_id, error code)] of each GOAWAY, the
    streams answered (DATA with END_STREAM), the streams with a HEADERS frame, and whether
    the (first) GOAWAY came before the first answer."""
    goaways = [(int.from_bytes(p[:4], "big") & 0x7FFFFFFF, int.from_bytes(p[4:8], "big"))
               for t, _, _, p in frames if t == FRAME_GOAWAY]
    answered = sorted(sid for t, f, sid, _ in frames if t == FRAME_DATA and f & 0x1)
    with_headers = sorted(sid for t, _, sid, _ in frames if t == FRAME_HEADERS)
    kinds = [t for t, _, _, _ in frames]
    early = FRAME_GOAWAY in kinds and FRAME_DATA in kinds and kinds.index(FRAME_GOAWAY) < kinds.index(FRAME_DATA)
    return goaways, answered, with_headers, early


def test_goaway(c, tmp):
    with H2Peer("goaway-after", 3) as peer:
        frames, tail, closed = raw_exchange(peer.port, paths=[f"/{i}" for i in range(6)], read_s=5)
        goaways, answered, with_headers, early = goaway_view(frames)
        c.eq("goaway-after 3 (6 streams in one write): one GOAWAY(NO_ERROR, last_stream_id 5)", goaways, [(5, 0)])
        c.check("goaway-after 3: it comes while streams 1-5 are in flight (before their answers)", early)
        c.eq("goaway-after 3: streams 1 3 5 answered, 7 9 11 not at all", (answered, with_headers), ([1, 3, 5], [1, 3, 5]))
        c.check("goaway-after 3: then the peer closes", closed and not tail, f"closed={closed} tail={tail[:40]!r}")
        st = peer.settled_stats()
        c.eq("goaway-after 3: peer counts 3 answered, 3 unprocessed, 1 GOAWAY",
             (st["requests"], st["unprocessed"], st["goaways"]), (3, 3, 1))
        c.eq("goaway-after 3: per connection", st["per_connection"][0]["goaway_last_stream_id"], 5)
        res, out = h2load(["-n", "10", "-c", "1", "-m", "1"], peer.url())
        c.check("goaway-after 3: h2load -n 10 -c 1 gets 3 answers, the rest fail",
                res is not None and res["succeeded"] == 3 and res["failed"] == 7, h.short((res, out[-400:])))
    with H2Peer("ok") as peer:
        frames, tail, closed = raw_exchange(peer.port, paths=["/", "/goaway", "/"], read_s=5)
        goaways, answered, with_headers, early = goaway_view(frames)
        c.eq("ok /goaway: GOAWAY naming that stream (3), streams 1 and 3 answered, 5 not, a close",
             (goaways, answered, with_headers, closed), ([(3, 0)], [1, 3], [1, 3], True))


def test_rst(c, tmp):
    with H2Peer("rst-refused", 3) as peer:
        cl = Client(peer.port)
        sids = [cl.request("/") for _ in range(9)]
        cl.pump(cl.done(sids), 5)
        c.eq("rst-refused 3: the 3rd, 6th and 9th streams get RST_STREAM(REFUSED_STREAM), the others 200",
             [cl.streams[s]["reset"] if cl.streams[s]["reset"] is not None else cl.streams[s]["status"] for s in sids],
             ["200", "200", ErrorCodes.REFUSED_STREAM] * 3)
        cl.close()
        res, out = h2load(["-n", "90", "-c", "1", "-m", "1"], peer.url())
        c.check("rst-refused 3: h2load -n 90 -c 1 -m 1: 60 succeeded, 30 errored",
                res is not None and (res["succeeded"], res["errored"]) == (60, 30), h.short((res, out[-400:])))
        st = peer.settled_stats()
        c.eq("rst-refused 3: the peer counts 33 refused, 66 answered", (st["refused"], st["requests"]), (33, 66))
    with H2Peer("rst-internal", 2) as peer:
        cl = Client(peer.port)
        sids = [cl.request("/") for _ in range(4)]
        cl.pump(cl.done(sids), 5)
        got = [(cl.streams[s]["status"], cl.streams[s]["reset"], cl.streams[s]["data"]) for s in sids]
        c.eq("rst-internal 2: every 2nd stream: 200 headers, then RST_STREAM(INTERNAL_ERROR), no body",
             got, [("200", None, b"ok\n"), ("200", ErrorCodes.INTERNAL_ERROR, b"")] * 2)
        c.eq("rst-internal 2: counted", peer.settled_stats()["reset_internal"], 2)
        cl.close()
    with H2Peer("ok") as peer:
        cl = Client(peer.port)
        sids = [cl.request("/rst-refused"), cl.request("/rst-internal"), cl.request("/")]
        cl.pump(cl.done(sids), 5)
        c.eq("ok /rst-refused /rst-internal /: by path",
             [cl.streams[s]["reset"] for s in sids], [ErrorCodes.REFUSED_STREAM, ErrorCodes.INTERNAL_ERROR, None])
        cl.close()


def test_no_window(c, tmp):
    with H2Peer("no-window", extra=["--idle", "3"]) as peer:
        cl = Client(peer.port)
        cl.pump(lambda c2: c2.server_settings is not None, 5)
        c.eq("no-window: SETTINGS_INITIAL_WINDOW_SIZE 0 advertised",
             (cl.server_settings or {}).get(SettingCodes.INITIAL_WINDOW_SIZE), 0)
        get = cl.request("/")
        cl.pump(cl.done([get]), 5)
        c.eq("no-window: a GET (no body) is answered", cl.streams[get]["status"], "200")
        post = cl.request("/", method="POST", body=1000)
        c.eq("no-window: a POST's stream window is 0: nothing of its body can be sent",
             cl.streams[post]["unsent"], 1000)
        t0 = time.monotonic()
        cl.pump(lambda c2: c2.h2.local_flow_control_window(post) > 0 or c2.streams[post]["status"], 2)
        c.check("no-window: 2 s later no WINDOW_UPDATE and no response",
                cl.h2.local_flow_control_window(post) == 0 and cl.streams[post]["status"] is None
                and time.monotonic() - t0 >= 1.9, h.short(cl.streams[post]))
        cl.close()
        body = os.path.join(tmp, "body-100k")
        with open(body, "wb") as f:
            f.write(b"z" * 100_000)
        res, out = h2load(["-n", "1", "-c", "1", "-d", body, "-N", "2"], peer.url())
        c.check("no-window: h2load POSTing 100 KB gives up (inactivity 2 s) with nothing answered",
                res is not None and res["succeeded"] == 0, h.short((res, out[-400:])))
        st = peer.settled_stats()
        c.check("no-window: the peer saw at most 65,535 body bytes per connection, bodies stalled",
                st["data_bytes"] <= 65535 * 2 and st["stalled_bodies"] >= 2 and st["requests"] == 1, h.short(st))


def test_no_settings_ack(c, tmp):
    with H2Peer("no-settings-ack") as peer:
        cl = Client(peer.port)
        sids = [cl.request("/") for _ in range(3)]
        cl.pump(cl.done(sids), 5)
        cl.pump(lambda c2: c2.settings_acked, 1.0)
        c.check("no-settings-ack: 3 answers and no SETTINGS ACK within 1 s more",
                all(cl.streams[s]["status"] == "200" for s in sids) and not cl.settings_acked,
                h.short((cl.streams, cl.settings_acked)))
        cl.close()
        rc, out = tool(["nghttp", "-v", peer.url()])
        c.check("no-settings-ack: nghttp sees no ACK (and does not mind: 200)",
                "recv SETTINGS frame <length=0, flags=0x01" not in out and ":status: 200" in out, out[-500:])
        st = peer.settled_stats()
        c.check("no-settings-ack: the peer withheld the ACKs, got the clients' ACKs of its own",
                st["settings_acks_withheld"] >= 2 and st["settings_acks_received"] >= 1, h.short(st))


def test_huge_headers(c, tmp):
    with H2Peer("huge-headers") as peer:
        frames, tail, _ = raw_exchange(peer.port, settings={SettingCodes.MAX_HEADER_LIST_SIZE: 65536}, read_s=5)
        block = [f for f in frames if f[0] in (FRAME_HEADERS, FRAME_CONTINUATION) and f[2] == 1]
        kinds = [f[0] for f in block]
        size = sum(len(f[3]) for f in block)
        c.check("huge-headers: one HEADERS, then CONTINUATION frames (>= 30), END_HEADERS on the last only",
                kinds[:1] == [FRAME_HEADERS] and kinds.count(FRAME_CONTINUATION) >= 30
                and [bool(f[1] & 0x4) for f in block] == [False] * (len(block) - 1) + [True],
                f"{len(block)} frames, kinds {kinds[:3]}..., tail {len(tail)} bytes")
        dec = Decoder()
        dec.max_header_list_size = 1 << 26
        decoded = dec.decode(b"".join(f[3] for f in block), raw=True)
        decoded_size = sum(len(k) + len(v) + 32 for k, v in decoded)
        c.check(f"huge-headers: {size} bytes on the wire decode to >= 1 MiB of fields, "
                "though the client asked for 64 KiB", decoded_size >= 1 << 20, f"decoded {decoded_size}")
        st = peer.settled_stats()
        c.check("huge-headers: the client's MAX_HEADER_LIST_SIZE recorded, the header bytes counted",
                st["client_settings"].get("MAX_HEADER_LIST_SIZE") == 65536 and st["header_bytes_sent"] >= 1 << 20,
                h.short(st))
        rc, out = tool(["nghttp", peer.url()])
        c.check("huge-headers: nghttp refuses it (too many CONTINUATION frames)",
                "CONTINUATION" in out and ":status" not in out, out[-400:])


def test_bad_preface(c, tmp):
    for reply in ("goaway", "http1", "garbage"):
        with H2Peer("bad-preface", extra=["--reply", reply]) as peer:
            frames, tail, closed = raw_exchange(peer.port)
            if reply == "goaway":
                ok = (len(frames) == 1 and frames[0][0] == FRAME_GOAWAY
                      and int.from_bytes(frames[0][3][4:8], "big") == ErrorCodes.PROTOCOL_ERROR
                      and int.from_bytes(frames[0][3][:4], "big") == 0 and not tail and closed)
                what = "one GOAWAY(PROTOCOL_ERROR, last_stream_id 0), no SETTINGS, then a close"
            elif reply == "http1":
                ok = not frames and tail.startswith(b"HTTP/1.1 400 ") and closed
                what = "an HTTP/1.1 400 response"
            else:
                ok = not frames and tail[:3] == b"\xff\xff\xff"
                what = "a frame header announcing 16 MiB, no frame"
            c.check(f"bad-preface --reply {reply}: {what}", ok, h.short((frames[:3], tail[:40])))
            rc, out = tool(["nghttp", peer.url()])
            c.check(f"bad-preface --reply {reply}: nghttp gets no response",
                    "processed=0" in out and ":status" not in out, f"rc={rc} {out[-300:]}")


def test_slow(c, tmp):
    with H2Peer("slow", 1500) as peer:
        cl = Client(peer.port)
        t0 = time.monotonic()
        sids = [cl.request("/"), cl.request("/")]
        early = cl.pump(lambda c2: any(c2.streams[s]["status"] for s in sids), 1.0)
        cl.pump(cl.done(sids), 5)
        took = time.monotonic() - t0
        c.check("slow 1500: nothing within 1 s; both answered after >= 1.5 s",
                not early and all(cl.streams[s]["status"] == "200" for s in sids) and 1.45 <= took < 5,
                f"took {took:.2f} s, {h.short(cl.streams)}")
        cl.close()
    with H2Peer("ok") as peer:
        cl = Client(peer.port)
        t0 = time.monotonic()
        slow, fast = cl.request("/slow/400"), cl.request("/")
        cl.pump(cl.done([fast]), 5)
        t_fast = time.monotonic() - t0
        cl.pump(cl.done([slow]), 5)
        t_slow = time.monotonic() - t0
        # Bounds that hold on a loaded machine: lateness only delays, never hastens.
        c.check("ok /slow/400: held 400 ms while a later stream is answered first",
                t_slow - t_fast >= 0.3 and 0.38 <= t_slow < 5 and cl.streams[slow]["status"] == "200",
                f"fast {t_fast:.2f} s, slow {t_slow:.2f} s")
        cl.close()


def test_stops(c, tmp):
    peer = H2Peer("ok")
    peer.start()
    peer.stop()
    c.eq("the peer exits 0 on SIGTERM", peer.exit_code, 0)


def setup(env):
    missing = [t for t in ("h2load", "nghttp") if not h.shutil.which(t)]
    if missing:
        raise RuntimeError(f"{missing} missing: apt-get install nghttp2-client")
    return [(name, fn, env.tmp) for name, fn in (
        ("ok", test_ok), ("tls", test_tls), ("max-streams", test_max_streams), ("goaway", test_goaway),
        ("rst", test_rst), ("no-window", test_no_window), ("no-settings-ack", test_no_settings_ack),
        ("huge-headers", test_huge_headers), ("bad-preface", test_bad_preface), ("slow", test_slow),
        ("stops", test_stops))]


if __name__ == "__main__":
    h.main(setup, title="h2 peers", tmp_prefix="ringload-h2peers-", need=())
