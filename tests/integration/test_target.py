#!/usr/bin/python3
"""Integration test of ringload-target, the bundled HTTP/1.1 server.

Starts the real binary on an ephemeral port and talks to it over raw sockets and
http.client: every endpoint, keep-alive, pipelining, HTTP/1.0, HEAD, chunked bodies both
ways, /echo, /count, /reset and /stats, /sse (server-sent events, paced or not), /ws (a
WebSocket echo: handshake, masking, 64-bit lengths, fragments, ping, close, protocol
errors), --close, --body-size, --capacity (503 above a rate, checked with a paced client
and with wrk if installed), --latency-ms, malformed requests, and the count file written
on SIGTERM. Standard library only; every wait is bounded.

    /usr/bin/python3 tests/integration/test_target.py --target build/ringload-target
"""

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"
TIMEOUT = 5.0


def pattern(n, offset=0):
    """The server's deterministic body bytes: byte i is ALPHABET[i % 64]."""
    reps = (offset % 64 + n) // 64 + 1
    start = offset % 64
    return (ALPHABET * reps)[start:start + n]


class Server(h.PortFileServer):
    """One ringload-target process on 127.0.0.1 with --port 0 and a port file, started at
    once; stop() returns (exit code, count file text, stderr text)."""

    name = "ringload-target"
    prefix = "ringload-target-test-"

    def __init__(self, binary, *extra):
        super().__init__()
        self.binary = binary
        self.extra = extra
        self.result = None
        self.start()

    def command(self, port_file):
        self.count_file = os.path.join(self.tmp, "count")
        return [self.binary, "--port", "0", "--port-file", port_file, "--count-file", self.count_file,
                *self.extra]

    def stop(self):
        """SIGTERM by PID (SIGKILL after 5 s); read the count file and stderr, remove the
        directory. Once: later calls return the same."""
        if self.proc is not None:
            self.exit_code = h.stop_process(self.proc)
            self.proc = None
            count = None
            if os.path.exists(self.count_file):
                with open(self.count_file) as f:
                    count = f.read()
            self.stderr.close()
            self.result = (self.exit_code, count, self.stderr_text())
        super().stop()
        return self.result


class Response:
    def __init__(self, status, headers, body, interim, raw_body):
        self.status = status
        self.headers = headers          # [(name, value)] as received
        self.body = body                # decoded
        self.interim = interim          # 1xx status codes received before this one
        self.raw_body = raw_body        # as framed on the wire

    def header(self, name):
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None


class Conn:
    """A raw client connection with a small HTTP/1.1 response reader."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf += chunk

    def read_until(self, delim):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out = bytes(self.buf[:i + len(delim)])
                del self.buf[:i + len(delim)]
                return out
            self._fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_response(self, head=False):
        interim = []
        while True:
            lines = self.read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")[:-2]
            version, code = lines[0].split(" ", 2)[:2]
            assert version == "HTTP/1.1", lines[0]
            status = int(code)
            headers = [tuple(part.strip() for part in l.split(":", 1)) for l in lines[1:]]
            if 100 <= status < 200:
                interim.append(status)
                continue
            break
        resp = Response(status, headers, b"", interim, b"")
        if head or status in (204, 304):
            return resp
        if (resp.header("transfer-encoding") or "").lower() == "chunked":
            raw, body = bytearray(), bytearray()
            while True:
                line = self.read_until(b"\r\n")
                raw += line
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    raw += self.read_until(b"\r\n")  # no trailers from this server
                    break
                data = self.read_exact(size + 2)
                assert data.endswith(b"\r\n"), data[-4:]
                raw += data
                body += data[:-2]
            resp.raw_body, resp.body = bytes(raw), bytes(body)
        elif resp.header("content-length") is not None:
            resp.body = resp.raw_body = self.read_exact(int(resp.header("content-length")))
        else:
            raise AssertionError("response without framing: %r" % (headers,))
        return resp

    def expect_eof(self):
        """The server closes after its last response (nothing more arrives)."""
        assert not self.buf, "unexpected bytes: %r" % bytes(self.buf[:80])
        try:
            chunk = self.sock.recv(4096)
        except ConnectionResetError:
            chunk = b""
        assert chunk == b"", "expected EOF, got %r" % chunk[:80]


def get(path, method="GET", version="1.1", extra="", body=b""):
    head = "%s %s HTTP/%s\r\nHost: t\r\n%s" % (method, path, version, extra)
    if body:
        head += "Content-Length: %d\r\n" % len(body)
    return (head + "\r\n").encode() + body


def http_get(port, path, method="GET", body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def count_of(port):
    _, data = http_get(port, "/count")
    return int(data)


# ---------------------------------------------------------------------------- tests


def test_plain_get(s):
    r, data = http_get(s.port, "/")
    assert r.status == 200 and data == b"Hello, world\n", (r.status, data)
    assert r.getheader("Content-Type") == "text/plain"
    assert r.getheader("Content-Length") == "13"
    assert r.getheader("Date", "").endswith(" GMT")
    r, data = http_get(s.port, "/anything/else?x=1", method="DELETE")
    assert r.status == 200 and data == b"Hello, world\n"


def test_keep_alive(s):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=TIMEOUT)
    c.connect()
    sock = c.sock
    for _ in range(20):
        c.request("GET", "/")
        r = c.getresponse()
        assert r.read() == b"Hello, world\n" and not r.will_close
    assert c.sock is sock, "connection was reopened"
    c.close()


def test_pipelining(s):
    c = Conn(s.port)
    c.send(get("/") + get("/bytes/5") + get("/status/404") + get("/chunked?n=2&size=3")
           + get("/", method="HEAD") + get("/echo", method="POST", body=b"xyz")
           + get("/delay/50") + get("/bytes/70000") + get("/"))
    r = [c.read_response(head=(i == 4)) for i in range(9)]
    assert [x.status for x in r] == [200, 200, 404, 200, 200, 200, 200, 200, 200]
    assert r[0].body == b"Hello, world\n"
    assert r[1].body == b"01234"
    assert r[2].body == b"404 Not Found\n"
    assert r[3].body == b"012345"
    assert r[4].header("content-length") == "13"
    assert json.loads(r[5].body)["body"] == "xyz"
    assert r[6].body == b"Hello, world\n"
    assert r[7].body == pattern(70000)
    assert r[8].body == b"Hello, world\n"
    c.close()


def test_many_pipelined(s):
    """2,000 requests in flight, 20 MB of answers: more than the socket buffers hold, so the
    server must stop reading and resume as its output drains."""
    c = Conn(s.port)
    n = 2000
    burst = get("/bytes/10000") * n
    sender = threading.Thread(target=c.send, args=(burst,))
    sender.start()
    time.sleep(0.2)  # let the server's output fill the socket before reading
    for _ in range(n):
        assert c.read_response().body == pattern(10000)
    sender.join(TIMEOUT)
    c.close()


def random_exchange(rng):
    """One random request and a check of its response."""
    kind = rng.choice(["plain", "bytes", "status", "chunked", "echo", "head", "post", "delay"])
    if kind == "plain":
        return get("/x"), False, lambda r: r.body == b"Hello, world\n"
    if kind == "bytes":
        n = rng.choice([0, 1, 100, 5000, 70000, 200000])
        return get("/bytes/%d" % n), False, lambda r: r.body == pattern(n)
    if kind == "status":
        code = rng.choice([200, 204, 304, 404, 500])
        return get("/status/%d" % code), False, lambda r: r.status == code
    if kind == "chunked":
        k, size = rng.randint(0, 5), rng.randint(1, 3000)
        return get("/chunked?n=%d&size=%d" % (k, size)), False, lambda r: r.body == pattern(k * size)
    if kind == "head":
        return get("/bytes/77", method="HEAD"), True, lambda r: r.header("content-length") == "77"
    if kind == "delay":
        return get("/delay/%d" % rng.randint(0, 5)), False, lambda r: r.status == 200
    body = bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 3000)))
    path = "/echo" if kind == "echo" else "/bytes/3"
    check = ((lambda r: json.loads(r.body)["body"] == body.decode()) if kind == "echo"
             else (lambda r: r.body == b"012"))
    if rng.random() < 0.5:
        return get(path, method="POST", body=body), False, check
    chunks, rest = b"", body
    while rest:
        n = rng.randint(1, 1000)
        piece, rest = rest[:n], rest[n:]
        chunks += b"%x\r\n%s\r\n" % (len(piece), piece)
    raw = ("POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" % path).encode()
    return raw + chunks + b"0\r\n\r\n", False, check


def test_random_pipelines(s):
    """Random requests pipelined and sent in random pieces; every answer checked, in order."""
    import random
    rng = random.Random(20240601)
    for _ in range(6):
        exchanges = [random_exchange(rng) for _ in range(60)]
        data = b"".join(raw for raw, _, _ in exchanges)
        c = Conn(s.port)
        steps = []
        pos = 0
        while pos < len(data):
            step = rng.choice([1, 7, 100, 1500, 20000])
            steps.append(data[pos:pos + step])
            pos += step
        # Sent from a thread: the server stops reading while its answers wait for us.
        sender = threading.Thread(target=lambda: [c.send(piece) for piece in steps])
        sender.start()
        for i, (raw, head, check) in enumerate(exchanges):
            r = c.read_response(head=head)
            assert check(r), (i, raw[:60], r.status, r.body[:60])
        sender.join(TIMEOUT)
        c.close()


def test_byte_by_byte(s):
    c = Conn(s.port)
    for b in get("/bytes/3") + get("/status/201"):
        c.send(bytes([b]))
    assert c.read_response().body == b"012"
    assert c.read_response().status == 201
    c.close()


def test_http10(s):
    c = Conn(s.port)
    c.send(b"GET / HTTP/1.0\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.body == b"Hello, world\n"
    assert r.header("connection") == "close"
    c.expect_eof()
    c.close()
    c = Conn(s.port)
    c.send(b"GET /bytes/4 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    r = c.read_response()
    assert r.header("connection") == "keep-alive" and r.body == b"0123"
    c.send(b"GET /chunked?n=2&size=4 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    r = c.read_response()
    assert r.header("transfer-encoding") is None and r.header("content-length") == "8"
    assert r.body == b"01234567"
    c.send(b"GET /status/103 HTTP/1.0\r\n\r\n")
    r = c.read_response()
    assert r.interim == [] and r.status == 200, "1xx sent to an HTTP/1.0 client"
    c.expect_eof()
    c.close()


def test_connection_close(s):
    c = Conn(s.port)
    c.send(get("/", extra="Connection: close\r\n") + get("/"))
    r = c.read_response()
    assert r.status == 200 and r.header("connection") == "close"
    c.expect_eof()
    c.close()
    # Unread input behind the last request: the server must drain it rather than close
    # with it pending, which would reset the connection and could destroy the response.
    c = Conn(s.port)
    c.send(get("/bytes/300000", extra="Connection: close\r\n") + b"x" * 200000)
    time.sleep(0.1)
    assert c.read_response().body == pattern(300000)
    c.expect_eof()
    c.close()


def test_head(s):
    c = Conn(s.port)
    c.send(get("/", method="HEAD") + get("/bytes/100", method="HEAD")
           + get("/chunked", method="HEAD") + get("/count", method="HEAD") + get("/bytes/2"))
    r = c.read_response(head=True)
    assert r.header("content-length") == "13"
    r = c.read_response(head=True)
    assert r.header("content-length") == "100"
    r = c.read_response(head=True)
    assert r.header("transfer-encoding") == "chunked"
    c.read_response(head=True)
    assert c.read_response().body == b"01", "HEAD response carried a body"
    c.close()


def test_status(s):
    c = Conn(s.port)
    for code in (200, 201, 202, 204, 301, 304, 400, 404, 418, 429, 500, 503, 599):
        c.send(get("/status/%d" % code))
        r = c.read_response()
        assert r.status == code, (code, r.status)
        if code in (204, 304):
            assert r.header("content-length") is None, code
        else:
            assert r.body.startswith(b"%d " % code), r.body
    c.send(get("/status/103"))
    r = c.read_response()
    assert r.interim == [103] and r.status == 200, (r.interim, r.status)
    c.close()
    for bad in ("99", "600", "abc", "", "101"):
        c = Conn(s.port)
        c.send(get("/status/" + bad))
        assert c.read_response().status == 400, bad
        c.close()


def test_delay(s):
    t0 = time.monotonic()
    r, data = http_get(s.port, "/delay/200")
    elapsed = time.monotonic() - t0
    assert r.status == 200 and data == b"Hello, world\n"
    assert 0.2 <= elapsed < 1.5, elapsed
    # Pipelined behind a delay: answered after it, in order.
    c = Conn(s.port)
    t0 = time.monotonic()
    c.send(get("/delay/150") + get("/bytes/1") + get("/delay/0"))
    assert c.read_response().body == b"Hello, world\n"
    assert c.read_response().body == b"0"
    assert c.read_response().status == 200
    assert time.monotonic() - t0 >= 0.15
    c.close()
    # Ten delayed connections at once (more than the threads): the loop never sleeps.
    conns = [Conn(s.port) for _ in range(10)]
    t0 = time.monotonic()
    for c in conns:
        c.send(get("/delay/300"))
    for c in conns:
        assert c.read_response().status == 200
        c.close()
    elapsed = time.monotonic() - t0
    assert 0.3 <= elapsed < 1.0, "delays were serialized: %.3f s" % elapsed


def test_chunked_response(s):
    c = Conn(s.port)
    c.send(get("/chunked?n=3&size=5"))
    r = c.read_response()
    assert r.header("transfer-encoding") == "chunked" and r.header("content-length") is None
    assert r.raw_body == b"5\r\n01234\r\n5\r\n56789\r\n5\r\nabcde\r\n0\r\n\r\n", r.raw_body
    c.send(get("/chunked"))
    assert c.read_response().body == pattern(64)
    c.send(get("/chunked?size=100000&n=3"))
    assert c.read_response().body == pattern(300000)
    c.send(get("/chunked?n=0"))
    assert c.read_response().raw_body == b"0\r\n\r\n"
    c.close()
    c = Conn(s.port)
    c.send(get("/chunked?n=2&size=0"))
    assert c.read_response().status == 400
    c.close()


def test_bytes(s):
    c = Conn(s.port)
    for n in (0, 1, 10, 1024, 1025, 65536, 65537, 1000000):
        c.send(get("/bytes/%d" % n))
        r = c.read_response()
        assert r.header("content-length") == str(n) and r.body == pattern(n), n
    c.close()


def test_echo(s):
    body = 'quote " backslash \\ tab \t nl \n ctl \x01 é €'.encode()
    r, data = http_get(s.port, "/echo?a=1", method="PUT", body=body,
                       headers={"X-Test": "a \"b\"", "X-Empty": ""})
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    doc = json.loads(data)
    assert doc["method"] == "PUT" and doc["target"] == "/echo?a=1"
    assert doc["body"] == body.decode()
    assert ["X-Test", 'a "b"'] in doc["headers"] and ["X-Empty", ""] in doc["headers"]
    assert doc["headers"][0][0] == "Host"
    # Bytes that are not UTF-8 come back as \u00XX (Latin-1): still valid JSON.
    r, data = http_get(s.port, "/echo", method="POST", body=b"\xff\xfe\x80ok\xc3")
    assert json.loads(data)["body"] == "\xff\xfe\x80ok\xc3"
    r, data = http_get(s.port, "/echo")
    assert json.loads(data)["body"] == "" and json.loads(data)["method"] == "GET"


def test_chunked_request(s):
    c = Conn(s.port)
    head = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
    c.send(head + body[:7])
    time.sleep(0.05)
    for b in body[7:]:
        c.send(bytes([b]))
    doc = json.loads(c.read_response().body)
    assert doc["body"] == "hello 0123456789", doc["body"]
    # Chunked body to a non-echo endpoint: decoded, discarded, and the next request follows.
    c.send(b"POST /bytes/3 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
           + b"10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n" + get("/status/202"))
    assert c.read_response().body == b"012"
    assert c.read_response().status == 202
    c.close()
    c = Conn(s.port)
    c.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert c.read_response().status == 400
    c.expect_eof()
    c.close()


def test_request_body_discarded(s):
    c = Conn(s.port)
    big = b"b" * 300000
    c.send(get("/", method="POST", body=big) + get("/bytes/2"))
    assert c.read_response().body == b"Hello, world\n"
    assert c.read_response().body == b"01"
    c.close()


def test_expect_continue(s):
    c = Conn(s.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    assert c.read_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    c.send(b"data")
    assert json.loads(c.read_response().body)["body"] == "data"
    c.close()


def expect_error(port, raw, status):
    c = Conn(port)
    c.send(raw)
    r = c.read_response()
    assert r.status == status, (raw[:60], r.status)
    assert r.header("connection") == "close"
    c.expect_eof()
    c.close()


def test_malformed(s):
    expect_error(s.port, b"GARBAGE\r\n\r\n", 400)
    expect_error(s.port, b"GET / HTTP/1.1\r\n\r\n", 400)                     # no Host
    expect_error(s.port, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)
    expect_error(s.port, b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400)         # space before colon
    expect_error(s.port, b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400)
    expect_error(s.port, b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400)       # bare CR
    expect_error(s.port, b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505)
    expect_error(s.port, get("/", extra="Content-Length: abc\r\n"), 400)
    expect_error(s.port, get("/", extra="Content-Length: 1\r\nContent-Length: 2\r\n"), 400)
    expect_error(s.port, get("/", extra="Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"), 400)
    expect_error(s.port, get("/", extra="Transfer-Encoding: gzip\r\n"), 400)
    expect_error(s.port, get("/", extra="Transfer-Encoding: gzip, chunked\r\n"), 501)
    expect_error(s.port, get("/", extra="X-Big: %s\r\n" % ("a" * 70000)), 431)
    expect_error(s.port, get("/", extra="".join("X-%d: 1\r\n" % i for i in range(101))), 431)
    expect_error(s.port, get("/echo", method="POST", extra="Content-Length: 2000000\r\n"), 413)
    # A valid request before the bad one is still answered, in order.
    c = Conn(s.port)
    c.send(get("/bytes/3") + b"BAD REQUEST LINE\r\n\r\n" + get("/"))
    assert c.read_response().body == b"012"
    assert c.read_response().status == 400
    c.expect_eof()
    c.close()


def sse_body(n, size):
    """The /sse body before chunking: n events of `size` pattern bytes, then [DONE]."""
    events = b"".join(b"id: %d\ndata: %s\n\n" % (i, pattern(size)) for i in range(1, n + 1))
    return events + b"data: [DONE]\n\n"


def test_sse(s):
    c = Conn(s.port)
    c.send(get("/sse?n=3&size=5"))
    r = c.read_response()
    assert r.status == 200, r.status
    assert r.header("content-type") == "text/event-stream", r.headers
    assert r.header("cache-control") == "no-cache", r.headers
    assert r.header("transfer-encoding") == "chunked" and r.header("content-length") is None
    assert r.raw_body == (b"13\r\nid: 1\ndata: 01234\n\n\r\n13\r\nid: 2\ndata: 01234\n\n\r\n"
                          b"13\r\nid: 3\ndata: 01234\n\n\r\ne\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"), r.raw_body
    # The stream ended with its last chunk: the connection takes the next request.
    c.send(get("/sse") + get("/bytes/3"))
    assert c.read_response().body == sse_body(10, 16)
    assert c.read_response().body == b"012"
    c.send(get("/sse?n=0&size=0") + get("/sse?n=2&size=0") + get("/sse?size=1048576&n=2"))
    assert c.read_response().raw_body == b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"
    assert c.read_response().body == b"id: 1\ndata: \n\nid: 2\ndata: \n\ndata: [DONE]\n\n"
    assert c.read_response().body == sse_body(2, 1048576)
    c.send(get("/sse?n=12", method="HEAD") + get("/sse?n=1&size=1"))
    r = c.read_response(head=True)
    assert r.header("transfer-encoding") == "chunked", r.headers
    assert c.read_response().body == sse_body(1, 1), "HEAD response carried a body"
    c.close()
    # HTTP/1.0 gets the same body with a Content-Length.
    c = Conn(s.port)
    c.send(b"GET /sse?n=12&size=7 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    r = c.read_response()
    assert r.header("transfer-encoding") is None and r.body == sse_body(12, 7), r.headers
    assert r.header("content-length") == str(len(sse_body(12, 7))), r.headers
    c.close()
    for bad in ("n=100000001", "n=-1", "n=", "size=1048577", "size=x", "interval_us=600000001",
                "interval_us=1e3"):
        c = Conn(s.port)
        c.send(get("/sse?" + bad))
        assert c.read_response().status == 400, bad
        c.expect_eof()
        c.close()


def test_sse_large(s):
    """100 MB of events, read after a pause: the server generates them as the socket drains
    (a queue of the whole stream would take seconds to build and 100 MB of memory)."""
    c = Conn(s.port)
    n, size = 100000, 1000
    c.send(get("/sse?n=%d&size=%d" % (n, size)) + get("/bytes/2"))
    time.sleep(0.2)
    event = b"id: %d\ndata: " + pattern(size) + b"\n\n"
    lines = c.read_until(b"\r\n\r\n")
    assert lines.startswith(b"HTTP/1.1 200 "), lines
    for i in range(1, n + 1):
        want = event % i
        assert c.read_until(b"\r\n") == b"%x\r\n" % len(want)
        assert c.read_exact(len(want) + 2) == want + b"\r\n", i
    assert c.read_exact(24) == b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"
    assert c.read_response().body == b"01"
    c.close()


def read_sse_event(c, i, data):
    want = b"id: %d\ndata: %s\n\n" % (i, data)
    assert c.read_until(b"\r\n") == b"%x\r\n" % len(want), i
    assert c.read_exact(len(want) + 2) == want + b"\r\n", i


def test_sse_paced(binary):
    """interval_us spaces the events with the worker's timers, on schedule; the one thread
    serves other connections while a stream waits."""
    s = Server(binary, "--threads", "1", "--quiet")
    try:
        c = Conn(s.port)
        c.send(get("/sse?n=6&size=4&interval_us=60000"))
        assert c.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 200 ")
        times = []
        for i in range(1, 7):
            read_sse_event(c, i, b"0123")
            times.append(time.monotonic())
        assert c.read_exact(24) == b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"
        since_first = [t - times[0] for t in times]
        # Event i is due (i - 1) intervals after the first went out: never early, and late
        # only by what this machine adds (the schedule does not drift).
        assert all(t >= k * 0.060 - 0.005 for k, t in enumerate(since_first)), since_first
        assert since_first[-1] < 5 * 0.060 + 0.25, since_first
        c.send(get("/bytes/1"))
        assert c.read_response().body == b"0"
        # A stream waiting 400 ms between events does not hold the thread.
        c.send(get("/sse?n=2&size=1&interval_us=400000"))
        assert c.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 200 ")
        read_sse_event(c, 1, b"0")
        t0 = time.monotonic()
        for _ in range(5):
            r, data = http_get(s.port, "/bytes/4")
            assert data == b"0123"
        elapsed = time.monotonic() - t0
        read_sse_event(c, 2, b"0")
        assert elapsed < 0.3, "other requests waited for the stream's timer: %.3f s" % elapsed
        assert time.monotonic() - t0 >= 0.3, "the second event came early"
        c.close()
    finally:
        s.stop()


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


def ws_frame(opcode, payload, fin=True, mask=b"\x37\xfa\x21\x3d", rsv=0):
    """A client frame; mask=None sends it unmasked (a protocol error)."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    bit = 0x80 if mask is not None else 0
    n = len(payload)
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_read_frame(c):
    """(fin, opcode, payload, header length) of one server frame, which must not be masked."""
    b0, b1 = c.read_exact(2)
    assert b0 & 0x70 == 0 and not b1 & 0x80, "RSV bits or mask from the server: %x %x" % (b0, b1)
    n, header = b1 & 0x7f, 2
    if n == 126:
        n, header = int.from_bytes(c.read_exact(2), "big"), 4
    elif n == 127:
        n, header = int.from_bytes(c.read_exact(8), "big"), 10
    return bool(b0 & 0x80), b0 & 0x0f, c.read_exact(n), header


def ws_connect(port, key="dGhlIHNhbXBsZSBub25jZQ==", extra="", then=b""):
    """Opens a WebSocket to /ws; returns the connection and the 101's header lines."""
    c = Conn(port)
    c.send(get("/ws", extra="Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s"
                            % (key, extra)) + then)
    lines = c.read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")[:-2]
    assert lines[0] == "HTTP/1.1 101 Switching Protocols", lines
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    return c, headers


def ws_expect_close(c, code):
    fin, op, payload, _ = ws_read_frame(c)
    assert (fin, op) == (True, 8), (fin, op, payload)
    assert payload == code.to_bytes(2, "big"), payload
    c.expect_eof()


def test_ws_handshake(s):
    c, h = ws_connect(s.port)
    # The example of RFC 6455 §1.3, and the accept computed here for a key of our own.
    assert h["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", h
    assert h["upgrade"].lower() == "websocket" and h["connection"].lower() == "upgrade", h
    assert "content-length" not in h and "sec-websocket-protocol" not in h, h
    c.close()
    key = base64.b64encode(bytes(range(40, 56))).decode()
    c, h = ws_connect(s.port, key=key, extra="Sec-WebSocket-Protocol: chat, superchat\r\n"
                      "Sec-WebSocket-Protocol: other\r\nSec-WebSocket-Extensions: permessage-deflate\r\n")
    assert h["sec-websocket-accept"] == ws_accept(key), (h, ws_accept(key))
    assert h["sec-websocket-protocol"] == "chat", h
    assert "sec-websocket-extensions" not in h, h
    c.close()
    # Not an upgrade: 426 names the version, and the connection stays usable.
    c = Conn(s.port)
    c.send(get("/ws") + get("/ws", extra="Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 8\r\n") + get("/bytes/2"))
    for _ in range(2):
        r = c.read_response()
        assert r.status == 426 and r.header("sec-websocket-version") == "13", (r.status, r.headers)
        assert r.header("upgrade") == "websocket", r.headers
    assert c.read_response().body == b"01"
    c.close()
    upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    for bad_key in ("", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZR==", "a" * 24):
        expect_error(s.port, get("/ws", extra=upgrade + "Sec-WebSocket-Key: %s\r\n" % bad_key), 400)
    key_line = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    expect_error(s.port, get("/ws", extra=upgrade), 400)  # no key
    expect_error(s.port, get("/ws", method="POST", extra=upgrade + key_line), 400)
    expect_error(s.port, get("/ws", version="1.0", extra=upgrade + key_line), 400)
    expect_error(s.port, get("/ws", extra=upgrade.replace("Connection: Upgrade", "Connection: x")
                             + key_line), 400)


def test_ws_echo(s):
    c, _ = ws_connect(s.port)
    c.send(ws_frame(1, "héllo".encode()))
    assert ws_read_frame(c) == (True, 1, "héllo".encode(), 2)
    big = bytes((i * 7 + 3) % 256 for i in range(70000))
    c.send(ws_frame(2, big))
    assert ws_read_frame(c) == (True, 2, big, 10), "70,000 bytes: a 64-bit length both ways"
    medium = pattern(300)
    c.send(ws_frame(2, medium) + ws_frame(1, b""))
    assert ws_read_frame(c) == (True, 2, medium, 4)
    assert ws_read_frame(c) == (True, 1, b"", 2)
    # A fragmented message, a ping between its fragments: the pong comes at once, the
    # message once whole, as one frame.
    c.send(ws_frame(1, b"frag-", fin=False) + ws_frame(0, b"ment", fin=False)
           + ws_frame(9, b"between") + ws_frame(0, b"ed", fin=True))
    assert ws_read_frame(c) == (True, 10, b"between", 2)
    assert ws_read_frame(c) == (True, 1, b"frag-mented", 2)
    c.send(ws_frame(2, big[:40000], fin=False) + ws_frame(0, big[40000:], fin=True))
    assert ws_read_frame(c) == (True, 2, big, 10)
    c.send(ws_frame(9, b"ping payload"))
    assert ws_read_frame(c) == (True, 10, b"ping payload", 2)
    c.send(ws_frame(10, b"unsolicited pong") + ws_frame(9, b""))
    assert ws_read_frame(c) == (True, 10, b"", 2)
    # Byte by byte, with another mask.
    for b in ws_frame(1, b"slowly", mask=b"\xff\x00\x80\x01"):
        c.send(bytes([b]))
    assert ws_read_frame(c) == (True, 1, b"slowly", 2)
    c.send(ws_frame(8, (1000).to_bytes(2, "big") + b"done"))
    ws_expect_close(c, 1000)
    c.close()
    # Frames sent right behind the handshake are answered too; a close without a code is
    # answered with an empty close.
    c, _ = ws_connect(s.port, then=ws_frame(1, b"early") + ws_frame(8, b""))
    assert ws_read_frame(c) == (True, 1, b"early", 2)
    assert ws_read_frame(c) == (True, 8, b"", 2)
    c.expect_eof()
    c.close()
    c, _ = ws_connect(s.port)
    c.send(ws_frame(8, (4321).to_bytes(2, "big")))
    ws_expect_close(c, 4321)
    c.close()


def test_ws_many_messages(s):
    """2,000 echoes in flight on one connection, more than the socket buffers hold."""
    c, _ = ws_connect(s.port)
    msg = pattern(20000)
    burst = ws_frame(2, msg) * 2000
    sender = threading.Thread(target=c.send, args=(burst,))
    sender.start()
    time.sleep(0.2)
    for _ in range(2000):
        assert ws_read_frame(c) == (True, 2, msg, 4)
    sender.join(TIMEOUT)
    c.send(ws_frame(8, (1000).to_bytes(2, "big")))
    ws_expect_close(c, 1000)
    c.close()


def test_ws_protocol_errors(s):
    cases = [
        ("unmasked frame", ws_frame(1, b"hi", mask=None), 1002),
        ("RSV bit", ws_frame(1, b"hi", rsv=4), 1002),
        ("reserved opcode", ws_frame(3, b"hi"), 1002),
        ("continuation first", ws_frame(0, b"hi"), 1002),
        ("new message inside a fragmented one", ws_frame(1, b"a", fin=False) + ws_frame(1, b"b"), 1002),
        ("fragmented ping", ws_frame(9, b"p", fin=False), 1002),
        ("ping over 125 bytes", ws_frame(9, b"p" * 126), 1002),
        ("16-bit length under 126", b"\x81\xfe\x00\x05abcd12345", 1002),
        ("close with one byte", ws_frame(8, b"\x03"), 1002),
        ("close code 1005", ws_frame(8, (1005).to_bytes(2, "big")), 1002),
        ("close code 999", ws_frame(8, (999).to_bytes(2, "big")), 1002),
        ("close reason not UTF-8", ws_frame(8, (1000).to_bytes(2, "big") + b"\xff"), 1007),
        # Only the header: the size is refused before any payload arrives.
        ("message over 16 MiB", b"\x82\xff" + (16 * 1024 * 1024 + 1).to_bytes(8, "big") + b"mask", 1009),
        ("fragments over 16 MiB", ws_frame(2, b"x" * 1000, fin=False)
         + b"\x80\xff" + (16 * 1024 * 1024 - 999).to_bytes(8, "big") + b"mask", 1009),
    ]
    for name, data, code in cases:
        c, _ = ws_connect(s.port)
        c.send(data)
        try:
            ws_expect_close(c, code)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (name, e))
        c.close()
    # A message of exactly 16 MiB is still echoed.
    c, _ = ws_connect(s.port)
    msg = bytes(16 * 1024 * 1024)
    sender = threading.Thread(target=c.send, args=(ws_frame(2, msg, mask=b"\0\0\0\0"),))
    sender.start()
    assert ws_read_frame(c) == (True, 2, msg, 10)
    sender.join(TIMEOUT)
    c.close()


def test_count_and_reset(s):
    r, data = http_get(s.port, "/reset")
    assert r.status == 200
    assert count_of(s.port) == 0 and count_of(s.port) == 0, "/count counted itself"
    sent = 0
    conns = [Conn(s.port) for _ in range(8)]  # spread over the worker threads
    for i, c in enumerate(conns):
        c.send(get("/") + get("/bytes/10") + get("/", method="HEAD") + get("/status/503")
               + get("/count"))
        c.read_response()
        c.read_response()
        c.read_response(head=True)
        c.read_response()
        c.read_response()
        sent += 4
        c.close()
    expect_error(s.port, b"GARBAGE\r\n\r\n", 400)  # error responses count too
    sent += 1
    assert count_of(s.port) == sent, (count_of(s.port), sent)
    return sent


def test_flags(binary):
    assert subprocess.run([binary, "--help"], stdout=subprocess.DEVNULL,
                          timeout=TIMEOUT).returncode == 0
    for bad in (["--port", "70000"], ["--bogus"], ["--threads"], ["extra"],
                ["--capacity", "0"], ["--capacity", "-5"], ["--capacity", "abc"],
                ["--capacity", "nan"], ["--capacity", "1e99"], ["--capacity", "10x"],
                ["--capacity", "10", "--capacity-burst", "0"], ["--capacity-burst", "5"],
                ["--latency-ms", "600001"], ["--latency-ms", "-1"]):
        rc = subprocess.run([binary, *bad], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, timeout=TIMEOUT).returncode
        assert rc != 0, bad


def test_close_mode(binary):
    s = Server(binary, "--close", "--threads", "1", "--quiet")
    try:
        for _ in range(3):
            c = Conn(s.port)
            c.send(get("/") + get("/"))
            r = c.read_response()
            assert r.header("connection") == "close" and r.body == b"Hello, world\n"
            c.expect_eof()
            c.close()
        r, data = http_get(s.port, "/count")
        assert data == b"3", data
    finally:
        code, count, err = s.stop()
    assert code == 0 and count.strip() == "3" and err == "", (code, count, err)


def stats_of(port):
    r, data = http_get(port, "/stats")
    assert r.status == 200 and r.getheader("Content-Type") == "application/json", r.status
    return json.loads(data)


def paced_load(port, rate, seconds, conns=8, path="/"):
    """Offers `rate` requests/s for `seconds` over `conns` keep-alive sockets, pipelined in
    10 ms batches from an absolute schedule (a late tick sends everything due). Returns
    ({status: count}, the send window in seconds, [problems seen])."""
    tick = 0.01
    ticks = int(round(seconds / tick))
    per_tick = int(round(rate * tick))
    total = ticks * per_tick
    socks = [Conn(port) for _ in range(conns)]
    expected = [len(range(j, total, conns)) for j in range(conns)]
    statuses = [dict() for _ in range(conns)]
    problems = []

    def reader(j):
        try:
            for _ in range(expected[j]):
                r = socks[j].read_response()
                statuses[j][r.status] = statuses[j].get(r.status, 0) + 1
                if r.status == 503 and (r.body != b"503 Service Unavailable\n"
                                        or r.header("connection") is not None):
                    problems.append("bad 503: %r %r" % (r.headers, r.body))
        except Exception as e:  # noqa: BLE001 — reported by the caller
            problems.append("reader %d: %r" % (j, e))

    readers = [threading.Thread(target=reader, args=(j,)) for j in range(conns)]
    for t in readers:
        t.start()
    request = get(path)
    t0 = time.monotonic()
    sent = 0
    for k in range(ticks):
        wait = t0 + k * tick - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        batch = [0] * conns
        for _ in range(per_tick):
            batch[sent % conns] += 1
            sent += 1
        for j, n in enumerate(batch):
            if n:
                socks[j].send(request * n)
    window = max(seconds, time.monotonic() - t0 + tick)
    for t in readers:
        t.join(TIMEOUT + seconds)
    for c in socks:
        c.close()
    merged = {}
    for d in statuses:
        for code, n in d.items():
            merged[code] = merged.get(code, 0) + n
    return merged, window, problems


def test_stats_unlimited(s):
    """Without --capacity nothing is rejected, whatever the load."""
    http_get(s.port, "/reset")
    assert stats_of(s.port) == {"total": 0, "ok": 0, "rejected": 0}
    statuses, _, problems = paced_load(s.port, 5000, 0.5)
    assert not problems, problems[:3]
    assert statuses == {200: 2500}, statuses
    assert stats_of(s.port) == {"total": 2500, "ok": 2500, "rejected": 0}
    assert count_of(s.port) == 2500


def check_capacity_run(port, capacity, statuses, window, problems, offered):
    assert not problems, problems[:3]
    assert set(statuses) <= {200, 503}, statuses
    ok, rejected = statuses.get(200, 0), statuses.get(503, 0)
    assert ok + rejected == offered, (statuses, offered)
    rate = ok / window
    print("     capacity %d/s: %d ok, %d rejected in %.2f s: %.0f ok/s"
          % (capacity, ok, rejected, window, rate), flush=True)
    assert 0.9 * capacity <= rate <= 1.1 * capacity, "%.0f ok/s" % rate
    assert stats_of(port) == {"total": offered, "ok": ok, "rejected": rejected}
    assert count_of(port) == offered, "/count is the total answered, 503s included"


def test_capacity(binary):
    """--capacity 2000 under ~5000 req/s for 2 s: ~2000 ok/s, the rest 503, /stats agrees;
    control endpoints stay exempt; wrk (if installed) sees the same rate."""
    s = Server(binary, "--capacity", "2000", "--threads", "2")
    try:
        statuses, window, problems = paced_load(s.port, 5000, 2.0)
        check_capacity_run(s.port, 2000, statuses, window, problems, 10000)
        # The limiter is exhausted by a burst; /stats, /count and /reset still answer.
        c = Conn(s.port)
        c.send(get("/") * 400 + get("/stats") * 20 + get("/count"))
        burst = [c.read_response().status for _ in range(400)]
        assert 503 in burst, "400 requests in a millisecond were all admitted"
        control = [c.read_response().status for _ in range(21)]
        assert control == [200] * 21, control
        c.close()
        if shutil.which("wrk"):
            http_get(s.port, "/reset")
            out = subprocess.run(["wrk", "-t1", "-c16", "-d2s", "http://127.0.0.1:%d/" % s.port],
                                 capture_output=True, text=True, timeout=30).stdout
            m = re.search(r"(\d+) requests in ([\d.]+)s", out)
            assert m, out
            wrk_total, seconds = int(m.group(1)), float(m.group(2))
            m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            wrk_rejected = int(m.group(1)) if m else 0
            st = stats_of(s.port)
            # wrk drops the answers still in flight when it stops: at most one per connection.
            assert wrk_total <= st["total"] <= wrk_total + 16, (wrk_total, st)
            assert wrk_rejected <= st["rejected"], (wrk_rejected, st)
            rate = st["ok"] / seconds
            print("     wrk: %d requests (%d non-2xx) in %.2f s; server: %s: %.0f ok/s"
                  % (wrk_total, wrk_rejected, seconds, st, rate), flush=True)
            assert st["rejected"] > 0, st
            assert 1800 <= rate <= 2200, "%.0f ok/s under wrk" % rate
    finally:
        code, _, err = s.stop()
    assert code == 0, code
    assert re.search(r"^rejected: [1-9]\d*$", err, re.M), err


def test_capacity_threads(binary):
    """The limit is one for the whole server: four threads, same rate."""
    s = Server(binary, "--capacity", "1000", "--threads", "4", "--quiet")
    try:
        statuses, window, problems = paced_load(s.port, 3000, 1.5, conns=12)
        check_capacity_run(s.port, 1000, statuses, window, problems, 4500)
    finally:
        s.stop()


def test_capacity_burst(binary):
    """--capacity-burst N admits N requests back to back, then the rate applies."""
    s = Server(binary, "--capacity", "1", "--capacity-burst", "5", "--threads", "1")
    try:
        c = Conn(s.port)
        c.send(get("/") * 10 + get("/stats") + get("/", method="HEAD"))
        codes = [c.read_response().status for _ in range(10)]
        assert codes == [200] * 5 + [503] * 5, codes
        assert json.loads(c.read_response().body) == {"total": 10, "ok": 5, "rejected": 5}
        r = c.read_response(head=True)
        assert r.status == 503 and r.header("content-length") == "24", r.headers
        c.send(get("/bytes/2"))  # the connection is still open after the 503s
        assert c.read_response().status == 503
        c.close()
    finally:
        code, count, err = s.stop()
    assert code == 0 and count.strip() == "12", (code, count)
    assert err.splitlines()[-2:] == ["requests: 12", "rejected: 7"], err


def test_latency(binary):
    """--latency-ms delays the plain endpoint only; a 503 is not delayed."""
    s = Server(binary, "--latency-ms", "20", "--threads", "1", "--quiet")
    try:
        for _ in range(3):
            t0 = time.monotonic()
            r, data = http_get(s.port, "/")
            assert r.status == 200 and data == b"Hello, world\n"
            assert time.monotonic() - t0 >= 0.020, time.monotonic() - t0
        c = Conn(s.port)
        t0 = time.monotonic()
        c.send(get("/a") * 5)  # pipelined: answered in order, one delay after another
        for _ in range(5):
            assert c.read_response().body == b"Hello, world\n"
        assert time.monotonic() - t0 >= 0.100, time.monotonic() - t0
        c.close()
        assert count_of(s.port) == 8
    finally:
        s.stop()
    s = Server(binary, "--latency-ms", "400", "--capacity", "1", "--threads", "1", "--quiet")
    try:
        c = Conn(s.port)
        t0 = time.monotonic()
        c.send(get("/"))
        assert c.read_response().status == 200
        assert time.monotonic() - t0 >= 0.4
        t0 = time.monotonic()
        c.send(get("/"))
        assert c.read_response().status == 503
        assert time.monotonic() - t0 < 0.4, "the 503 waited for --latency-ms"
        c.close()
    finally:
        s.stop()


def test_body_size(binary):
    for size in ("0", "5", "200000"):
        s = Server(binary, "--body-size", size, "--threads", "1", "--quiet")
        try:
            c = Conn(s.port)
            c.send(get("/") + get("/delay/10"))
            for _ in range(2):
                r = c.read_response()
                assert r.header("content-length") == size and r.body == pattern(int(size)), size
            c.close()
        finally:
            s.stop()


def tests(env):
    binary = env.target
    server = env.start(Server(binary, "--threads", "2"))
    counted = {}

    def count_and_reset(s):
        counted["expected"] = test_count_and_reset(s)

    def sigterm_count_file():
        code, count, err = server.stop()
        expected = counted.get("expected")
        assert code == 0, "exit code %d" % code
        assert expected is not None, "count test failed, nothing to compare"
        assert count is not None and int(count) == expected, (count, expected)
        assert err.strip().splitlines()[-2:] == ["requests: %d" % expected, "rejected: 0"], err

    # The tests of the shared server (named for their parameter `s`), its count last.
    shared = sorted((n, f) for n, f in globals().items()
                    if n.startswith("test_") and f.__code__.co_varnames[:1] == ("s",)
                    and n != "test_count_and_reset")
    table = [(n, h.asserting(f), server) for n, f in shared]
    table.append(("test_count_and_reset", h.asserting(count_and_reset, "test_count_and_reset"), server))
    table.append(("test_sigterm_count_file", h.asserting(sigterm_count_file, "test_sigterm_count_file")))
    for fn in (test_flags, test_close_mode, test_body_size, test_capacity, test_capacity_threads,
               test_capacity_burst, test_latency, test_sse_paced):
        table.append((fn.__name__, h.asserting(fn), binary))
    return table


if __name__ == "__main__":
    h.main(tests, title="ringload-target", tmp_prefix="ringload-target-test-", need=("target",),
           description=__doc__.splitlines()[0])
