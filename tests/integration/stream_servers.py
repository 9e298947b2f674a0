"""SSE and WebSocket servers for test_streams.py, each run as its own child process.

    /usr/bin/python3 stream_servers.py sse --port-file PATH
    /usr/bin/python3 stream_servers.py ws --port-file PATH

Each binds 127.0.0.1:0, writes the port it got to PATH (complete once the file exists),
serves until SIGTERM and exits 0. GET /stats answers a JSON list of what each request or
session did (what the server saw and how it ended); GET /reset empties it. Needs Debian
12's aiohttp 3.8 and websockets 10.4 (legacy asyncio API).

SSE (aiohttp), every route also for POST: chunked unless said otherwise, CRLF lines.
  /events          EVENTS_WIRE, one write per item with a pause between, so each lands in
                   its own read: a CR LF and a UTF-8 sequence are split across reads.
                   [DONE] shares one write with two later events; more follow; then the
                   response ends with its last chunk.
  /close-delimited no Content-Length, no chunking, Connection: close: CLOSE_DELIMITED_WIRE
                   (LF, CR LF and bare CR line ends), then the server closes: a normal end.
  /abrupt          ABRUPT_SSE_WIRE (two events and half of a third), then a TCP close
                   without the last chunk.
  /silent          SILENT_WIRE (one event), then nothing for SILENT_HOLD_S (watching for the
                   client to leave), then the end.
  /slow            "id: N" "data: tick N" every SLOW_PERIOD_S, N from 1, until the client
                   goes (bounded by SLOW_MAX_EVENTS).
WebSocket (websockets 10.4), subprotocol "chat.v1" chosen when offered, no compression,
no keepalive pings:
  /echo    every message back as it came (text as text, bytes as bytes).
  /script  SCRIPT_FRAGMENTS as one fragmented text message, script_binary() (70,000 bytes:
           a 64-bit length), a ping, "bye"; waits up to 1 s for the pong and up to
           SCRIPT_CLOSE_WAIT_S for the client to close first; else closes 4001 "done".
  /abrupt  "only", then after 0.2 s drops the TCP connection without a close frame.
"""
import argparse
import asyncio
import http
import json
import os
import signal
import socket
import ssl
import sys

import websockets
from aiohttp import web
from websockets.exceptions import ConnectionClosed

# The wire of /events. The test spells out the events it must decode to on its own.
EVENTS_WIRE = [
    b": hello\r\n\r\n",
    b"data: a\r\ndata: b\r",
    b"\n\r\n",
    b'event: update\r\nid: 7\r\ndata: {"n":1}\r\n\r\n',
    b"data: after id\r\n\r\n",
    b"data\r\n\r\n",
    "data: héllo wörld ✓ 😀\r\n\r\n".encode()[:8],
    "data: héllo wörld ✓ 😀\r\n\r\n".encode()[8:],
    b"data: \xff\xfe not utf-8\r\n\r\n",
    b"data: [DONE]\r\n\r\ndata: after done\r\n\r\nevent: update\r\ndata: late\r\n\r\n",
    b"data: later still\r\n\r\n",
]
EVENTS_PAUSE_S = 0.02

CLOSE_DELIMITED_WIRE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
                        b"data: c1\r\n\r\nid: x\ndata: c2\n\ndata: c3\r\r")
ABRUPT_SSE_WIRE = [b"data: one\r\n\r\n", b"data: two\r\n\r\n", b"data: cut"]
SILENT_WIRE = b"data: first\r\n\r\n"
SILENT_HOLD_S = 30.0
SILENT_POLL_S = 0.05
SLOW_PERIOD_S = 0.05
SLOW_MAX_EVENTS = 10000

SUBPROTOCOL = "chat.v1"
SCRIPT_FRAGMENTS = ["héllo, ", "wörld ", "✓ done"]
SCRIPT_BINARY_SIZE = 70000
SCRIPT_CLOSE_WAIT_S = 0.3


def script_binary():
    """The binary message of /script: period 251 (a prime), so a dropped, doubled or
    shifted byte anywhere shows."""
    return bytes((i * 7 + 13) % 251 for i in range(SCRIPT_BINARY_SIZE))


def bound_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def publish_port(path, port):
    """Written whole under another name, then renamed: a reader never sees half a port."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def summary(data):
    """What the stats say about one message: its kind, length and a short head."""
    if isinstance(data, str):
        return {"type": "text", "len": len(data.encode()), "head": data[:32]}
    return {"type": "binary", "len": len(data), "head": data[:8].hex()}


# ------------------------------------------------------------------------------ SSE

class SseServer:
    def __init__(self):
        self.log = []

    async def begin(self, request):
        """Records the request; returns its log entry, completed by the handler."""
        body = await request.read()
        entry = {"path": request.path, "method": request.method,
                 "accept": request.headers.get("Accept"), "body": body.decode(errors="replace"),
                 "ended": "running", "sent": 0}
        self.log.append(entry)
        return entry

    async def stream(self, request, entry, write_events):
        """Runs write_events(resp) on a chunked event stream; notes how the stream ended."""
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
        try:
            await resp.prepare(request)
            await write_events(resp)
            entry["ended"] = "complete"
        except ConnectionError:
            entry["ended"] = "client_gone"
        except asyncio.CancelledError:
            # Some aiohttp versions cancel the handler when the client closes.
            entry["ended"] = "client_gone"
            raise
        return resp

    async def events(self, request):
        entry = await self.begin(request)

        async def write(resp):
            for piece in EVENTS_WIRE:
                await resp.write(piece)
                entry["sent"] += 1
                await asyncio.sleep(EVENTS_PAUSE_S)
            await resp.write_eof()

        return await self.stream(request, entry, write)

    async def slow(self, request):
        entry = await self.begin(request)

        async def write(resp):
            for n in range(1, SLOW_MAX_EVENTS + 1):
                await resp.write(f"id: {n}\r\ndata: tick {n}\r\n\r\n".encode())
                entry["sent"] = n
                await asyncio.sleep(SLOW_PERIOD_S)
            await resp.write_eof()

        return await self.stream(request, entry, write)

    async def silent(self, request):
        entry = await self.begin(request)

        async def write(resp):
            await resp.write(SILENT_WIRE)
            # This aiohttp does not cancel a handler whose client left: poll for it, so the
            # stats tell whether the client gave up on the silence.
            for _ in range(int(SILENT_HOLD_S / SILENT_POLL_S)):
                if request.transport is None or request.transport.is_closing():
                    raise ConnectionResetError("client gone")
                await asyncio.sleep(SILENT_POLL_S)
            await resp.write_eof()

        return await self.stream(request, entry, write)

    async def abrupt(self, request):
        entry = await self.begin(request)

        async def write(resp):
            for piece in ABRUPT_SSE_WIRE:
                await resp.write(piece)
                await asyncio.sleep(EVENTS_PAUSE_S)
            # A FIN (close, not abort): the bytes already written must reach the client.
            request.transport.close()

        resp = await self.stream(request, entry, write)
        entry["ended"] = "closed_mid_event"
        return resp

    async def close_delimited(self, request):
        entry = await self.begin(request)
        # aiohttp chunks any HTTP/1.1 response of unknown length, so this one is written
        # by hand. The Response returned after the close only meets a closed transport,
        # which aiohttp takes as a client that left.
        request.transport.write(CLOSE_DELIMITED_WIRE)
        request.transport.close()
        entry["ended"] = "complete"
        return web.Response()

    async def stats(self, request):
        return web.json_response(self.log)

    async def reset(self, request):
        self.log.clear()
        return web.json_response([])


def tls_context(tls):
    """A server context from (certificate, key) PEM paths; None for plain TCP."""
    if not tls:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls[0], tls[1])
    return ctx


async def serve_sse(port_file, tls=None):
    srv = SseServer()
    app = web.Application()
    for path, handler in (("/events", srv.events), ("/slow", srv.slow), ("/silent", srv.silent),
                          ("/abrupt", srv.abrupt), ("/close-delimited", srv.close_delimited)):
        app.router.add_route("*", path, handler)
    app.router.add_get("/stats", srv.stats)
    app.router.add_get("/reset", srv.reset)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = bound_socket()
    # A stream still open at SIGTERM must not hold the exit past the test's grace period.
    await web.SockSite(runner, sock, shutdown_timeout=2.0, ssl_context=tls_context(tls)).start()
    publish_port(port_file, sock.getsockname()[1])
    await until_sigterm()
    await runner.cleanup()


# ------------------------------------------------------------------------ WebSocket

class WsServer:
    def __init__(self):
        self.log = []

    async def process_request(self, path, headers):
        """Plain HTTP for /stats and /reset; every other path goes on to the handshake."""
        if path in ("/stats", "/reset"):
            if path == "/reset":
                self.log.clear()
            return (http.HTTPStatus.OK, [("Content-Type", "application/json")],
                    json.dumps(self.log).encode())
        return None

    async def handler(self, ws):
        entry = {"path": ws.path, "subprotocol": ws.subprotocol,
                 "x_test": ws.request_headers.get("X-Test"),
                 "received": [], "ended": "running", "close_code": None, "close_reason": None}
        self.log.append(entry)
        path = ws.path.split("?")[0]
        try:
            if path == "/echo":
                async for message in ws:
                    entry["received"].append(summary(message))
                    await ws.send(message)
            elif path == "/script":
                await self.script(ws, entry)
            elif path == "/ping-echo":
                # Pings every 10 ms while echoing: a client sending a large message must
                # answer them between its fragments, never inside one.
                pinger = asyncio.ensure_future(self.ping_forever(ws, 0.01))
                try:
                    async for message in ws:
                        entry["received"].append(summary(message))
                        await ws.send(message)
                finally:
                    pinger.cancel()
            elif path == "/pinger":
                # One message, then only keepalive pings: they must not keep a session alive.
                await ws.send("hi")
                await self.ping_forever(ws, 0.2)
            elif path == "/fail-1011":
                await ws.send("x")
                await ws.close(1011, "boom")
            elif path == "/abrupt":
                await ws.send("only")
                # Time for the client to read it: data still queued when the socket goes
                # might never reach it.
                await asyncio.sleep(0.2)
                ws.transport.abort()
                entry["ended"] = "aborted"
                return
            else:
                await ws.close(1008, "unknown path")
            entry["ended"] = "complete"
        except ConnectionClosed:
            entry["ended"] = "closed"
        finally:
            entry["close_code"], entry["close_reason"] = ws.close_code, ws.close_reason

    async def ping_forever(self, ws, every):
        for _ in range(int(30 / every)):  # bounded: at most 30 s
            await asyncio.sleep(every)
            await ws.ping()

    async def script(self, ws, entry):
        await ws.send(SCRIPT_FRAGMENTS)
        await ws.send(script_binary())
        pong = await ws.ping(b"are you there")
        await ws.send("bye")
        try:
            await asyncio.wait_for(pong, 1.0)
            entry["pong"] = True
        except asyncio.TimeoutError:
            entry["pong"] = False
        # A client told to stop at "bye" closes first; with no message from it due, recv()
        # ends only by that close (the library answers it) or by the timeout.
        try:
            message = await asyncio.wait_for(ws.recv(), SCRIPT_CLOSE_WAIT_S)
            entry["received"].append(summary(message))
        except asyncio.TimeoutError:
            pass
        await ws.close(4001, "done")


async def serve_ws(port_file, tls=None):
    srv = WsServer()
    sock = bound_socket()
    async with websockets.serve(srv.handler, sock=sock, subprotocols=[SUBPROTOCOL],
                                compression=None, ping_interval=None, close_timeout=1.0,
                                ssl=tls_context(tls),
                                max_size=4 << 20, process_request=srv.process_request):
        publish_port(port_file, sock.getsockname()[1])
        await until_sigterm()


# ------------------------------------------------------------------------------ main

async def until_sigterm():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("kind", choices=("sse", "ws"))
    p.add_argument("--port-file", required=True)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve https / wss with this PEM pair")
    args = p.parse_args()
    serve = serve_sse if args.kind == "sse" else serve_ws
    asyncio.run(serve(args.port_file, args.tls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
