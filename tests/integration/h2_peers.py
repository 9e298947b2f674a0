"""A misbehaving HTTP/2 server on loopback (Debian's python3-h2), run as its own child process.

    /usr/bin/python3 h2_peers.py MODE [ARG] --port-file PATH [--stats-file PATH]
                                 [--tls CERT KEY] [--max-streams M] [--body-size B] ...

It binds 127.0.0.1:0, writes the port it got to PATH (complete once the file exists), serves
h2c with prior knowledge (or h2 over TLS with ALPN "h2" only, with --tls) until SIGTERM or
--lifetime seconds, and exits 0. Every connection is closed after --idle seconds without a
byte from the client; every wait is bounded.

MODE (ARG: the mode's number), per connection; the k-th stream is the k-th HEADERS the
client opened on that connection, counted from 1:
  ok                 a correct server: 200, `--body-size` bytes of text, every stream.
  max-streams K      `ok` advertising SETTINGS_MAX_CONCURRENT_STREAMS = K (same as --max-streams K).
  goaway-after N     when the N-th stream arrives: GOAWAY(NO_ERROR, last_stream_id = its id)
                     at once, streams up to it answered, later ones never processed (not
                     answered, counted "unprocessed"), then a FIN and a close.
  rst-refused K      every K-th stream: RST_STREAM(REFUSED_STREAM) at once, not processed.
  rst-internal K     every K-th stream: the response HEADERS (200, a content-length), then
                     RST_STREAM(INTERNAL_ERROR) instead of the body.
  no-window          advertises SETTINGS_INITIAL_WINDOW_SIZE = 0 and never sends WINDOW_UPDATE:
                     a request body beyond what the client may send before it reads that
                     SETTINGS (at most 65,535 bytes per connection, the connection window that
                     is never opened either) stalls for good. Requests without a body are
                     answered.
  no-settings-ack    never acknowledges the client's SETTINGS (RFC 9113 §6.5.3); answers
                     requests otherwise.
  huge-headers [B]   every response carries about B bytes (default 1 MiB) of decoded header
                     fields ("x-huge-NNNN: <hex>", 1 KiB each) in one HEADERS and as many
                     CONTINUATION frames as the client's SETTINGS_MAX_FRAME_SIZE needs,
                     whatever SETTINGS_MAX_HEADER_LIST_SIZE the client advertised.
  bad-preface        answers the client's connection preface with `--reply`: goaway (a GOAWAY
                     PROTOCOL_ERROR as its first frame, no SETTINGS; default), http1 (an
                     HTTP/1.1 400 response, as a server without h2c) or garbage (bytes that
                     are no frame: a length beyond 16 MiB), then closes.
  slow [MS]          holds every response MS milliseconds (default 10000), then answers.

Stream faults by path, in every mode that answers (so one `ok` server serves a test):
  /rst-refused  /rst-refused-once/ID (refused the first time this exact path comes, answered
  after: a request sent again after REFUSED_STREAM succeeds)  /rst-internal  /slow (--delay-ms, or /slow/MS)  /huge-headers  /goaway
  (GOAWAY with this stream as last_stream_id)  /stats (the statistics as JSON, not counted).
A request is answered once it ended (END_STREAM); its body is consumed and its window opened
again, except under no-window.

Statistics (JSON, rewritten whole within 50 ms of a change and at exit to --stats-file, and
answered on /stats): connections (that sent a byte: a port probe is none); streams (opened by the client); requests (answered with a
complete response); refused; reset_internal; unprocessed (above a GOAWAY's last_stream_id);
goaways (sent); over_limit (streams beyond the advertised MAX_CONCURRENT_STREAMS: refused with
REFUSED_STREAM, as RFC 9113 §5.1.2 allows) and over_limit_after_ack (of those, once the client
had acknowledged the limit); max_concurrent (most streams open at once on one connection, refused ones
not counted);
settings_acks_received / settings_acks_withheld; client_settings (the last client SETTINGS,
by name); data_bytes (request body bytes received); stalled_bodies (streams whose request had
not ended, its body incomplete, when their connection closed); protocol_errors (connections h2 ended because the client
broke the protocol, with the first message in first_protocol_error); alpn_refused;
header_bytes_sent (decoded header bytes of huge-headers responses); per_connection (the
first 1000: id, streams, requests, max_concurrent, goaway_last_stream_id, ended).
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hyperframe.frame import GoAwayFrame, SettingsFrame

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (H2Peer, for the tests)
from stream_servers import bound_socket, publish_port, tls_context, until_sigterm  # noqa: E402

MODES = ("ok", "max-streams", "goaway-after", "rst-refused", "rst-internal", "no-window",
         "no-settings-ack", "huge-headers", "bad-preface", "slow")
# The modes whose ARG is required, and the defaults of the others that take one.
ARG_REQUIRED = ("max-streams", "goaway-after", "rst-refused", "rst-internal")
ARG_DEFAULT = {"huge-headers": 1 << 20, "slow": 10000}
HUGE_FIELD_BYTES = 1024
MAX_DELAY_MS = 120_000
PER_CONNECTION_KEPT = 1000
READ_SIZE = 65536
LINGER_S = 1.0
STATS_EVERY_S = 0.05
HTTP1_REPLY = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
# A frame header announcing 16 MiB (above any SETTINGS_MAX_FRAME_SIZE, RFC 9113 §4.2), then noise.
GARBAGE_REPLY = b"\xff\xff\xff\x04\x00\x00\x00\x00\x00" + bytes(range(7, 250, 3))


class Stats:
    """The counters of the module docstring; `dirty` until the next write."""

    def __init__(self, mode):
        self.data = {"mode": mode, "connections": 0, "streams": 0, "requests": 0, "refused": 0,
                     "reset_internal": 0, "unprocessed": 0, "goaways": 0, "over_limit": 0,
                     "over_limit_after_ack": 0, "max_concurrent": 0, "settings_acks_received": 0,
                     "settings_acks_withheld": 0, "client_settings": {}, "data_bytes": 0,
                     "stalled_bodies": 0, "protocol_errors": 0, "first_protocol_error": None,
                     "alpn_refused": 0, "header_bytes_sent": 0, "per_connection": []}
        self.dirty = True

    def add(self, key, n=1):
        self.data[key] += n
        self.dirty = True

    def peak(self, key, value):
        if value > self.data[key]:
            self.data[key] = value
            self.dirty = True

    def text(self):
        return json.dumps(self.data)


class Peer:
    """One server: the mode, its options and the statistics shared by its connections."""

    def __init__(self, args):
        self.mode = args.mode
        self.arg = args.arg if args.arg is not None else ARG_DEFAULT.get(args.mode)
        self.max_streams = self.arg if self.mode == "max-streams" else args.max_streams
        self.body = (b"ok\n" * (args.body_size // 3 + 1))[:args.body_size]
        self.delay_ms = self.arg if self.mode == "slow" else args.delay_ms
        self.reply = args.reply
        self.idle_s = args.idle
        self.stats = Stats(self.mode)
        self.stats_file = args.stats_file
        self.next_id = 1
        self.refused_paths = set()  # /rst-refused-once/ paths refused already
        self._huge = None

    def huge_headers(self):
        """The fields of a huge-headers response (made once): about `arg` decoded bytes."""
        if self._huge is None:
            count = max(1, self.arg // HUGE_FIELD_BYTES)
            self._huge = [(f"x-huge-{i:04d}", os.urandom(HUGE_FIELD_BYTES // 2 - 8).hex())
                          for i in range(count)]
        return self._huge

    def advertised(self):
        """Our SETTINGS frame, written by hand: h2 itself enforces none of these limits (the
        peer counts and refuses what exceeds them), so that a client sending before it read
        them is not cut off for it."""
        settings = {SettingCodes.MAX_CONCURRENT_STREAMS: self.max_streams}
        if self.mode == "no-window":
            settings[SettingCodes.INITIAL_WINDOW_SIZE] = 0
        return SettingsFrame(0, settings=settings).serialize()

    def write_stats(self):
        if not self.stats_file or not self.stats.dirty:
            return
        self.stats.dirty = False
        publish_text(self.stats_file, self.stats.text())

    async def handle(self, reader, writer):
        sslobj = writer.get_extra_info("ssl_object")
        try:
            if sslobj is not None and sslobj.selected_alpn_protocol() != "h2":
                self.stats.add("alpn_refused")
                return
            first = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_s)
            if not first:
                return  # a probe of the port (harness.wait_port): not a connection
            conn_id, self.next_id = self.next_id, self.next_id + 1
            self.stats.add("connections")
            if self.mode == "bad-preface":
                await self.bad_preface(first, reader, writer)
            else:
                await Connection(self, conn_id, reader, writer).run(first)
        except (ConnectionError, asyncio.TimeoutError, ssl.SSLError, OSError):
            pass
        finally:
            writer.close()

    async def bad_preface(self, first, reader, writer):
        if len(first) < 24:  # the whole client preface first
            await asyncio.wait_for(reader.readexactly(24 - len(first)), self.idle_s)
        if self.reply == "http1":
            writer.write(HTTP1_REPLY)
        elif self.reply == "garbage":
            writer.write(GARBAGE_REPLY)
        else:
            writer.write(GoAwayFrame(0, last_stream_id=0, error_code=ErrorCodes.PROTOCOL_ERROR,
                                     additional_data=b"h2_peers: bad-preface").serialize())
            self.stats.add("goaways")
        await writer.drain()
        await linger(reader, writer)


async def linger(reader, writer):
    """A FIN after our last bytes, then the client's are read (and dropped) until it closes
    or LINGER_S: a close with unread bytes would reset the connection and could destroy
    what the client has not read yet."""
    if writer.can_write_eof():
        writer.write_eof()
    deadline = time.monotonic() + LINGER_S
    while time.monotonic() < deadline:
        data = await asyncio.wait_for(reader.read(READ_SIZE), LINGER_S)
        if not data:
            break


def publish_text(path, text):
    """Written whole under another name, then renamed: a reader never sees half of it."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def drop_settings_acks(data):
    """`data` (whole frames, as h2 writes them) without SETTINGS frames flagged ACK; and how
    many were dropped."""
    out, pos, dropped = bytearray(), 0, 0
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos:pos + 3], "big")
        end = pos + 9 + length
        if data[pos + 3] == 0x4 and data[pos + 4] & 0x1:
            dropped += 1
        else:
            out += data[pos:end]
        pos = end
    return bytes(out + data[pos:]), dropped


class Connection:
    """One client connection: h2's state machine fed from the socket, the mode's decisions
    per stream, the writes."""

    def __init__(self, peer, conn_id, reader, writer):
        self.peer = peer
        self.stats = peer.stats
        self.reader = reader
        self.writer = writer
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_inbound_headers=False))
        self.info = {"id": conn_id, "streams": 0, "requests": 0, "max_concurrent": 0,
                     "goaway_last_stream_id": None, "ended": "running"}
        if len(self.stats.data["per_connection"]) < PER_CONNECTION_KEPT:
            self.stats.data["per_connection"].append(self.info)
        self.open = {}          # stream id -> {"path", "body" (bytes received), "ended", "refused"}
        self.pending = {}       # stream id -> body bytes still to send
        self.ordinal = 0
        self.ready = []         # streams whose request ended, answered after the current read
        self.goaway_last = None
        self.acked = False
        self.tasks = set()

    async def run(self, data):
        """Serves the connection whose first bytes were `data`."""
        self.h2.initiate_connection()
        self.h2.data_to_send()  # h2's own SETTINGS: ours are written by hand
        self.writer.write(self.peer.advertised())
        try:
            while not self.done():
                if data is None:
                    data = await asyncio.wait_for(self.reader.read(READ_SIZE), self.peer.idle_s)
                if not data:
                    self.info["ended"] = "client_closed"
                    break
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError as e:
                    self.protocol_error(e)
                    await self.flush()
                    break
                for event in events:
                    self.on_event(event)
                # Answered once the whole read is taken in: the streams one read opened are
                # open at once, as max_concurrent counts them.
                ready, self.ready = self.ready, []
                for sid in ready:
                    self.respond_open(sid)
                await self.flush()
                data = None
            if self.goaway_last is not None:
                await self.linger()
        except asyncio.TimeoutError:
            self.info["ended"] = "idle"
        finally:
            for task in self.tasks:
                task.cancel()
            stalled = sum(1 for s in self.open.values() if not s["ended"])
            self.stats.add("stalled_bodies", stalled)

    def done(self):
        """After a GOAWAY: once every stream up to its last_stream_id is answered."""
        if self.goaway_last is None:
            return False
        return not any(sid <= self.goaway_last for sid in self.open)

    async def linger(self):
        self.info["ended"] = "goaway"
        await linger(self.reader, self.writer)

    def protocol_error(self, e):
        self.stats.add("protocol_errors")
        if self.stats.data["first_protocol_error"] is None:
            self.stats.data["first_protocol_error"] = f"{type(e).__name__}: {e}"
        self.info["ended"] = "protocol_error"

    async def flush(self):
        self.send_pending()
        data = self.h2.data_to_send()
        if self.peer.mode == "no-settings-ack":
            data, dropped = drop_settings_acks(data)
            self.stats.add("settings_acks_withheld", dropped)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    # ----------------------------------------------------------------------- events

    def on_event(self, event):
        if isinstance(event, h2.events.RequestReceived):
            self.on_request(event.stream_id, dict(event.headers), event.stream_ended is not None)
        elif isinstance(event, h2.events.DataReceived):
            self.on_data(event)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.open.get(event.stream_id)
            if stream is not None and not stream["ended"]:
                stream["ended"] = True
                self.ready.append(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self.close_stream(event.stream_id)
        elif isinstance(event, h2.events.WindowUpdated):
            self.send_pending()
        elif isinstance(event, h2.events.SettingsAcknowledged):
            self.acked = True
            self.stats.add("settings_acks_received")
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            settings = {SettingCodes(k).name if k in SettingCodes._value2member_map_ else str(k): v.new_value
                        for k, v in event.changed_settings.items()}
            self.stats.data["client_settings"] = settings
            self.stats.dirty = True

    def on_request(self, sid, headers, ended):
        self.ordinal += 1
        self.info["streams"] += 1
        self.stats.add("streams")
        if self.goaway_last is not None and sid > self.goaway_last:
            self.stats.add("unprocessed")
            return
        self.open[sid] = {"path": headers.get(b":path", b"/").decode(errors="replace"),
                          "body": 0, "ended": ended, "n": self.ordinal}
        concurrent = len(self.open)
        path, mode, arg = self.open[sid]["path"], self.peer.mode, self.peer.arg
        if concurrent > self.peer.max_streams:
            self.stats.add("over_limit")
            if self.acked:
                self.stats.add("over_limit_after_ack")
            self.refuse(sid)
            return
        self.info["max_concurrent"] = max(self.info["max_concurrent"], concurrent)
        self.stats.peak("max_concurrent", concurrent)
        if path.startswith("/rst-refused-once/"):
            if path not in self.peer.refused_paths:
                self.peer.refused_paths.add(path)
                self.stats.add("refused")
                self.refuse(sid)
                return
        elif path.startswith("/rst-refused") or (mode == "rst-refused" and self.ordinal % arg == 0):
            self.stats.add("refused")
            self.refuse(sid)
            return
        if path.startswith("/goaway") or (mode == "goaway-after" and self.ordinal == arg):
            self.goaway(sid)
        if ended:
            self.ready.append(sid)

    def on_data(self, event):
        self.stats.add("data_bytes", len(event.data))
        stream = self.open.get(event.stream_id)
        if stream is not None:
            stream["body"] += len(event.data)
        if self.peer.mode != "no-window" and event.flow_controlled_length:
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)

    # ---------------------------------------------------------------------- answers

    def refuse(self, sid):
        self.h2.reset_stream(sid, ErrorCodes.REFUSED_STREAM)
        self.close_stream(sid)

    def goaway(self, sid):
        """GOAWAY(NO_ERROR) written by hand: h2 would refuse to send anything after its own."""
        self.goaway_last = sid
        self.info["goaway_last_stream_id"] = sid
        self.stats.add("goaways")
        self.h2_bytes_then(GoAwayFrame(0, last_stream_id=sid, error_code=ErrorCodes.NO_ERROR,
                                       additional_data=b"h2_peers: goaway-after").serialize())

    def h2_bytes_then(self, raw):
        """h2's queued frames, then `raw`, in that order on the wire."""
        self.writer.write(self.h2.data_to_send() + raw)

    def respond_open(self, sid):
        """respond() to a stream still open: one the client reset meanwhile is dropped."""
        if sid not in self.open:
            return
        try:
            self.respond(sid)
        except h2.exceptions.StreamClosedError:
            self.close_stream(sid)

    def respond(self, sid):
        path, mode = self.open[sid]["path"], self.peer.mode
        if path == "/stats":
            self.answer(sid, self.stats.text().encode(), counted=False)
            return
        delay = self.delay_for(path)
        if delay:
            task = asyncio.get_running_loop().create_task(self.answer_later(sid, delay))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        if path.startswith("/rst-internal") or (mode == "rst-internal" and self.open[sid]["n"] % self.peer.arg == 0):
            self.h2.send_headers(sid, self.response_headers(len(self.peer.body)))
            self.h2.reset_stream(sid, ErrorCodes.INTERNAL_ERROR)
            self.stats.add("reset_internal")
            self.close_stream(sid)
            return
        self.answer(sid, self.peer.body, huge=path.startswith("/huge-headers") or mode == "huge-headers")

    def delay_for(self, path):
        """Milliseconds to hold this response: /slow/MS, /slow (--delay-ms), the slow mode."""
        if path.startswith("/slow/"):
            try:
                return min(int(path.split("/")[2]), MAX_DELAY_MS)
            except ValueError:
                return self.peer.delay_ms
        if path.startswith("/slow") or self.peer.mode == "slow":
            return min(self.peer.delay_ms, MAX_DELAY_MS)
        return 0

    async def answer_later(self, sid, delay_ms):
        await asyncio.sleep(delay_ms / 1000)
        if sid in self.open:
            try:
                self.answer(sid, self.peer.body)
            except h2.exceptions.StreamClosedError:
                self.close_stream(sid)
            await self.flush()

    def response_headers(self, length, huge=False):
        headers = [(":status", "200"), ("content-type", "text/plain"),
                   ("content-length", str(length)), ("server", "h2_peers")]
        if huge:
            fields = self.peer.huge_headers()
            headers += fields
            self.stats.add("header_bytes_sent", sum(len(k) + len(v) + 32 for k, v in fields))
        return headers

    def answer(self, sid, body, counted=True, huge=False):
        self.open[sid]["counted"] = counted
        self.h2.send_headers(sid, self.response_headers(len(body), huge), end_stream=not body)
        if body:
            self.pending[sid] = body
            self.send_pending()
        else:
            self.finished(sid, counted)

    def send_pending(self):
        """As much of each pending body as the client's windows allow."""
        for sid in list(self.pending):
            body = self.pending[sid]
            try:
                room = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError:
                self.pending.pop(sid)
                continue
            while body and room > 0:
                chunk, body = body[:room], body[room:]
                self.h2.send_data(sid, chunk, end_stream=not body)
                room = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if body:
                self.pending[sid] = body
            else:
                self.pending.pop(sid)
                stream = self.open.get(sid)
                self.finished(sid, bool(stream and stream.get("counted", True)))

    def finished(self, sid, counted):
        if counted:
            self.info["requests"] += 1
            self.stats.add("requests")
        self.close_stream(sid)

    def close_stream(self, sid):
        self.open.pop(sid, None)
        self.pending.pop(sid, None)


# ------------------------------------------------------------------- for the tests

class H2Peer(harness.PortFileServer):
    """This server as a child process on a port it picks, stopped by its PID:
    H2Peer("goaway-after", 3), H2Peer("ok", tls=(cert, key)), H2Peer("bad-preface",
    extra=["--reply", "http1"])."""

    name = "h2 peer"
    prefix = "ringload-h2peer-"

    def __init__(self, mode, arg=None, tls=None, extra=(), keep=False):
        super().__init__(keep)
        self.mode, self.arg, self.tls, self.extra = mode, arg, tls, list(extra)
        self.stats_file = None

    def command(self, port_file):
        self.stats_file = os.path.join(self.tmp, "stats.json")
        cmd = ["/usr/bin/python3", os.path.abspath(__file__), self.mode]
        cmd += [str(self.arg)] if self.arg is not None else []
        cmd += ["--port-file", port_file, "--stats-file", self.stats_file]
        return cmd + (["--tls", *self.tls] if self.tls else []) + self.extra

    def url(self, path="/"):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def stats(self):
        """The statistics as last written ({} before the first write)."""
        try:
            with open(self.stats_file) as f:
                return json.load(f)
        except (OSError, TypeError, ValueError):
            return {}

    def settled_stats(self, key="requests", expected=None, timeout=5.0):
        """The statistics once stats[key] reached `expected` (if given) and nothing changed
        for 0.3 s (bounded)."""
        if expected is not None:
            harness.wait_until(lambda: self.stats().get(key, 0) >= expected, timeout)
        return json.loads(harness.wait_stable(lambda: json.dumps(self.stats()), settle=0.3, timeout=timeout))


async def serve(peer, port_file, tls, lifetime):
    ctx = tls_context(tls)
    if ctx is not None:
        ctx.set_alpn_protocols(["h2"])
    sock = bound_socket()
    server = await asyncio.start_server(peer.handle, sock=sock, ssl=ctx)

    async def stats_writer():
        while True:
            peer.write_stats()
            await asyncio.sleep(STATS_EVERY_S)

    writer = asyncio.get_running_loop().create_task(stats_writer())
    publish_port(port_file, sock.getsockname()[1])
    try:
        await asyncio.wait_for(until_sigterm(), lifetime)
    except asyncio.TimeoutError:
        pass
    writer.cancel()
    server.close()
    peer.stats.dirty = True
    peer.write_stats()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=MODES)
    p.add_argument("arg", nargs="?", type=int, help="the mode's number (see above)")
    p.add_argument("--port-file", required=True)
    p.add_argument("--stats-file", help="where the statistics are written (JSON)")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="h2 over TLS (ALPN h2) with this PEM pair")
    p.add_argument("--max-streams", type=int, default=100, help="SETTINGS_MAX_CONCURRENT_STREAMS (default 100)")
    p.add_argument("--body-size", type=int, default=3, help="response body bytes (default 3: \"ok\\n\")")
    p.add_argument("--delay-ms", type=int, default=10000, help="how long /slow holds a response")
    p.add_argument("--reply", choices=("goaway", "http1", "garbage"), default="goaway",
                   help="bad-preface: what answers the preface")
    p.add_argument("--idle", type=float, default=60.0, help="seconds a silent connection is kept")
    p.add_argument("--lifetime", type=float, default=1800.0, help="seconds before the server exits by itself")
    args = p.parse_args(argv)
    if args.mode in ARG_REQUIRED and (args.arg is None or args.arg < 1):
        p.error(f"{args.mode} needs a number >= 1")
    if args.arg is not None and args.mode not in ARG_REQUIRED and args.mode not in ARG_DEFAULT:
        p.error(f"{args.mode} takes no number")
    return args


def main():
    args = parse_args()
    asyncio.run(serve(Peer(args), args.port_file, args.tls, args.lifetime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
