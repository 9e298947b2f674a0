#!/usr/bin/python3
"""Integration test of ringload-target, the bundled HTTP/1.1 server.

Starts the real binary on an ephemeral port and talks to it over raw sockets and
http.client: every endpoint, keep-alive, pipelining, HTTP/1.0, HEAD, chunked bodies both
ways, /echo, /count, /reset and /stats, --close, --body-size, --capacity (503 above a
rate, checked with a paced client and with wrk if installed), --latency-ms, malformed
requests, and the count file written on SIGTERM. Standard library only; every wait is
bounded.

    /usr/bin/python3 tests/integration/test_target.py --target build/ringload-target
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"
TIMEOUT = 5.0


def pattern(n, offset=0):
    """The server's deterministic body bytes: byte i is ALPHABET[i % 64]."""
    reps = (offset % 64 + n) // 64 + 1
    start = offset % 64
    return (ALPHABET * reps)[start:start + n]


class Server:
    """One ringload-target process on 127.0.0.1 with --port 0 and a port file."""

    def __init__(self, binary, *extra):
        self.dir = tempfile.mkdtemp(prefix="ringload-target-test-")
        self.port_file = os.path.join(self.dir, "port")
        self.count_file = os.path.join(self.dir, "count")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--port-file", self.port_file,
             "--count-file", self.count_file, *extra],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.monotonic() + TIMEOUT
        self.port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %d" % self.proc.returncode)
            try:
                with open(self.port_file) as f:
                    self.port = int(f.read().strip())
                break
            except (FileNotFoundError, ValueError):
                time.sleep(0.02)
        if self.port is None:
            self.kill()
            raise RuntimeError("no port file after %.0f s" % TIMEOUT)

    def stop(self):
        """SIGTERM by PID; returns (exit code, count file text, stderr text)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("server ignored SIGTERM")
        self.stderr.close()
        count = None
        if os.path.exists(self.count_file):
            with open(self.count_file) as f:
                count = f.read()
        with open(self.stderr_path) as f:
            err = f.read()
        return code, count, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True, help="path of the ringload-target binary")
    args, _ = ap.parse_known_args()  # --ringload and others are for other tests
    passed, failed = 0, 0

    def run(name, fn, *fn_args):
        nonlocal passed, failed
        t0 = time.monotonic()
        try:
            result = fn(*fn_args)
            passed += 1
            print("PASS %-28s %.2fs" % (name, time.monotonic() - t0), flush=True)
            return result
        except Exception as e:  # noqa: BLE001 — a failed check must not stop the others
            failed += 1
            print("FAIL %-28s %s: %s" % (name, type(e).__name__, e), flush=True)
            return None

    try:
        server = Server(args.target, "--threads", "2")
    except Exception as e:  # noqa: BLE001
        print("FAIL start: %s" % e)
        print("0 passed, 1 failed")
        return 1
    try:
        for name, fn in sorted((n, f) for n, f in globals().items() if n.startswith("test_")):
            if fn.__code__.co_varnames[:1] == ("s",) and name != "test_count_and_reset":
                run(name, fn, server)
        expected = run("test_count_and_reset", test_count_and_reset, server)
    finally:
        try:
            code, count, err = server.stop()
        except Exception as e:  # noqa: BLE001
            code, count, err = -1, None, str(e)

    def check_exit():
        assert code == 0, "exit code %d" % code
        assert expected is not None, "count test failed, nothing to compare"
        assert count is not None and int(count) == expected, (count, expected)
        assert err.strip().splitlines()[-2:] == ["requests: %d" % expected, "rejected: 0"], err
    run("test_sigterm_count_file", check_exit)
    run("test_flags", test_flags, args.target)
    run("test_close_mode", test_close_mode, args.target)
    run("test_body_size", test_body_size, args.target)
    run("test_capacity", test_capacity, args.target)
    run("test_capacity_threads", test_capacity_threads, args.target)
    run("test_capacity_burst", test_capacity_burst, args.target)
    run("test_latency", test_latency, args.target)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
