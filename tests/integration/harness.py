"""Shared helpers for the integration tests: real servers on loopback, the real binary.

Python 3 standard library only. Every server runs on a free 127.0.0.1 port, is stopped by
its PID (SIGTERM, then SIGKILL after a bounded wait) and every wait here is bounded.
"""
import argparse
import base64
import contextlib
import hashlib
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
import urllib.request

# Generous bound for one ringload run beyond its own -d: a Debug build on two shared cores.
RUN_SLACK_S = 30.0
# A host that cannot resolve, without a DNS query: a 64-character label does not fit a
# query (RFC 1035 §2.3.4: 63 at most), so glibc fails it before opening a socket.
UNRESOLVABLE_HOST = "a" * 64 + ".invalid"


def parse_args(argv=None, need=("ringload", "target"), description=None):
    """--ringload and --target (required when in `need`), --keep."""
    p = argparse.ArgumentParser(description=description or __doc__)
    p.add_argument("--ringload", required="ringload" in need, help="path to the ringload binary")
    p.add_argument("--target", required="target" in need, help="path to the ringload-target binary")
    p.add_argument("--keep", action="store_true", help="keep temporary directories")
    return p.parse_args(argv)


# ---------------------------------------------------------------------------- checks

class Checks:
    """One printed line per check; finish() prints "N passed, N failed" and exits."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return bool(ok)

    def eq(self, name, got, want):
        return self.check(name, got == want, f"got {short(got)}, want {short(want)}")

    def finish(self):
        check_reports_validated(self)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)


def short(value, limit=700):
    """repr() cut to `limit` characters, for check details."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def eq(checks, name, got, want):
    return checks.eq(name, got, want)


def check_problems(checks, name, problems, show=5):
    return checks.check(name, not problems, f"{len(problems)} problems, first: {problems[:show]}")


def read_export(path):
    """(records, problems) of an --export file: every line must parse; the file must end
    with a newline."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return [], [f"cannot read {path}: {e}"]
    problems = [] if not data or data.endswith(b"\n") else [f"no final newline: ...{data[-80:]!r}"]
    records = []
    for i, raw in enumerate(data.splitlines()):
        try:
            records.append(json.loads(raw))
        except ValueError as e:
            problems.append(f"line {i + 1} is not JSON ({e}): {raw[:200]!r}")
    return records, problems


def run_guarded(checks, name, fn, *args):
    """Runs one test function; an exception fails that test instead of the whole file."""
    try:
        fn(checks, *args)
    except Exception as e:  # noqa: BLE001 - any failure is reported as a failed check
        checks.check(f"{name} (no exception)", False, f"{type(e).__name__}: {e}")


def asserting(fn, name=None):
    """An assert-style test (it raises on failure, returns on success) as a test function:
    one check, named `name` (default: the function's), passed with its time, or failed
    with the exception."""
    name = name or fn.__name__

    def test(checks, *args):
        t0 = time.monotonic()
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - any failure is reported as a failed check
            checks.check(name, False, f"{type(e).__name__}: {e}")
            return
        checks.check(f"{name} ({time.monotonic() - t0:.2f} s)", True)
    return test


class Env:
    """What main() gives a test file's setup: the arguments (ringload, target, keep), the
    checks, a temporary directory (`tmp`), and start() for the file's servers."""

    def __init__(self, args, checks, tmp):
        self.args = args
        self.checks = checks
        self.tmp = tmp
        self.ringload = args.ringload
        self.target = args.target
        self.keep = args.keep
        self._servers = []

    def start(self, server, started=None, exit_check=None):
        """Starts `server` (start()) and has main() stop it (stop()) after the tests, even
        when the start failed. `started`: a check passed once it runs; `exit_check`: a check
        that its exit code after stop() is 0 (its exit_code)."""
        self._servers.append((server, exit_check))
        server.start()
        if started:
            self.checks.check(started, True)
        return server

    def stop_servers(self):
        for server, exit_check in self._servers:
            try:
                server.stop()
            except Exception as e:  # noqa: BLE001
                self.checks.check(f"{type(server).__name__} stops", False, f"{type(e).__name__}: {e}")
            if exit_check:
                code = getattr(server, "exit_code", None)
                self.checks.check(exit_check, code == 0, f"exit code {code}")


def main(setup, title="harness", tmp_prefix="ringload-it-", need=("ringload", "target"), description=None):
    """The main() of every integration test file. Parses the arguments (parse_args), makes
    a temporary directory (kept with --keep), calls setup(env) -> [(name, fn, *args)],
    which starts the file's servers through env.start(), runs each test as fn(checks,
    *args) guarded (run_guarded), stops the servers, prints "N passed, N failed" and the
    time taken, and exits 1 when a check failed. An exception in setup (a server that does
    not start) is the failed check "<title> harness"."""
    args = parse_args(need=need, description=description)
    checks = Checks()
    t0 = time.monotonic()
    env = Env(args, checks, tempfile.mkdtemp(prefix=tmp_prefix))
    try:
        for name, fn, *fn_args in setup(env):
            run_guarded(checks, name, fn, *fn_args)
    except Exception as e:  # noqa: BLE001
        checks.check(f"{title} harness", False, f"{type(e).__name__}: {e}")
    finally:
        env.stop_servers()
        if args.keep:
            print(f"kept {env.tmp}", flush=True)
        else:
            shutil.rmtree(env.tmp, ignore_errors=True)
    print(f"took {time.monotonic() - t0:.1f} s", flush=True)
    checks.finish()


# ----------------------------------------------------------------- ports and processes

def free_port():
    """A port the kernel just handed out on 127.0.0.1 and nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if port_accepts(port):
            return True
        time.sleep(0.05)
    return False


def stop_process(proc, grace=5.0):
    """SIGTERM, then SIGKILL after `grace` seconds. Returns the exit code."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
    return proc.returncode


def wait_until(predicate, timeout, interval=0.05):
    """Polls predicate() until it is true or `timeout` seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def wait_stable(read, settle=0.3, timeout=5.0):
    """Reads a growing value until it stops changing for `settle` seconds (bounded)."""
    deadline = time.monotonic() + timeout
    last = read()
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        v = read()
        if v != last:
            last, stable_since = v, time.monotonic()
        elif time.monotonic() - stable_since >= settle:
            break
    return last


# -------------------------------------------------------------- misbehaving peers

class Tally:
    """A counter shared by a peer's connection threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n=1):
        with self._lock:
            self.value += n


def serve(behaviour, stop, port=0, bind_wait=3.0):
    """Accepts connections on 127.0.0.1:`port` (0: a free one) until `stop` is set, then
    closes the listener within 0.2 s; `behaviour(conn, stop)` runs per connection in its
    own thread (5 s socket timeout; an OSError ends it quietly). A port still held by a
    listener that is closing is retried for up to `bind_wait` seconds. Returns the port."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + bind_wait
    while True:
        try:
            lsock.bind(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() >= deadline:
                lsock.close()
                raise
            time.sleep(0.05)
    lsock.listen(128)
    lsock.settimeout(0.2)

    def accept_loop():
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=run_one, args=(conn,), daemon=True).start()
        lsock.close()

    def run_one(conn):
        try:
            conn.settimeout(5)
            behaviour(conn, stop)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=accept_loop, daemon=True).start()
    return lsock.getsockname()[1]


def read_request(conn, seen=None):
    """The request head's bytes (up to 64 KiB), or None if the client closed first; each
    head read is counted in `seen` (a Tally) when given."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    if seen is not None:
        seen.add()
    return data


def ws_upgrade(conn, accept_ok=True, seen=None):
    """Reads a WebSocket handshake (counted in `seen`) and answers 101, with a wrong
    Sec-WebSocket-Accept if asked. False if the client closed first."""
    data = read_request(conn, seen)
    if data is None:
        return False
    key = b""
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    if not accept_ok:
        accept = base64.b64encode(b"\0" * 20)
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    return True


# ------------------------------------------------------------------------- ringload

class RunResult:
    def __init__(self, cmd, rc, out, err, elapsed):
        self.cmd = cmd
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed
        self.report = None
        self.json_error = None
        try:
            self.report = json.loads(out) if out.strip() else None
        except ValueError as e:
            self.json_error = str(e)
        if self.report is not None:
            validate_report(self.report, " ".join(cmd))

    def describe(self):
        return (f"cmd={' '.join(self.cmd)} rc={self.rc} elapsed={self.elapsed:.2f}s "
                f"stdout={self.out[-600:]!r} stderr={self.err[-600:]!r}")

    # Shorthands into the JSON report; None when absent.
    def get(self, *path, default=None):
        node = self.report
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    def total(self):
        return self.get("requests", "total")

    def errors_sum(self):
        errs = self.get("errors", default={}) or {}
        return sum(v for v in errs.values() if isinstance(v, (int, float)))


def ringload_cmd(binary, args, json_report=True, quiet=True):
    cmd = [binary]
    if json_report:
        cmd.append("--json")
    if quiet:
        cmd.append("--quiet")
    return cmd + list(args)


def start_ringload(binary, args, json_report=True, quiet=True):
    """Starts ringload in the background; finish it with finish_ringload()."""
    cmd = ringload_cmd(binary, args, json_report, quiet)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.cmd = cmd
    proc.t0 = time.monotonic()
    return proc


def finish_ringload(proc, timeout):
    """Waits (bounded) for a started ringload; kills it after `timeout` seconds."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc, grace=3.0)
        out, err = proc.communicate()
        err += f"\n[harness] killed after {timeout}s"
    return RunResult(proc.cmd, proc.returncode, out, err, time.monotonic() - proc.t0)


def run_ringload(binary, args, timeout=60.0, json_report=True, quiet=True):
    """Runs ringload to completion (bounded) and parses its JSON report from stdout."""
    return finish_ringload(start_ringload(binary, args, json_report, quiet), timeout)


def interrupt_ringload(binary, args, sig, after_s=1.0, json_report=True, timeout=10.0):
    """Starts ringload, sends it `sig` after `after_s` seconds (if it still runs) and waits
    for it, `timeout` seconds at most. Returns (RunResult, seconds from the signal to the
    exit)."""
    proc = start_ringload(binary, args, json_report)
    time.sleep(after_s)
    sent_at = time.monotonic()
    if proc.poll() is None:
        proc.send_signal(sig)
    res = finish_ringload(proc, timeout)
    return res, time.monotonic() - sent_at


def run_cli(binary, args, timeout=20.0):
    """Runs ringload without adding flags (for CLI error tests)."""
    return run_ringload(binary, args, timeout=timeout, json_report=False, quiet=False)


# Forks the command, publishes its PID in the file argv[1], waits for it and replaces the
# file's text with "PID STATUS MAXRSS_KIB" (os.wait4). Linux records the peak RSS of the
# address space a process is exec'd from in its ru_maxrss: spawned from this test (which
# grows as it reads exports), ringload would be credited with the test's memory; forked
# from this ~5 MiB launcher, it is credited with its own.
_LAUNCHER = r"""
import os, sys
def publish(text):
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(text)
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
publish(str(pid))
_, status, usage = os.wait4(pid, 0)
publish(f"{pid} {status} {usage.ru_maxrss}")
"""


class MeasuredRun:
    """ringload started through _LAUNCHER, its stdout and stderr in temporary files (no
    pipe fills while the test does other things). `pid` is ringload's own; reap() gives a
    RunResult whose rc is the exit status or -N after signal N, with maxrss_kib (its peak
    RSS) and timed_out."""

    def __init__(self, binary, args, json_report=True, quiet=True):
        self.cmd = ringload_cmd(binary, args, json_report, quiet)
        self.files = (tempfile.TemporaryFile(), tempfile.TemporaryFile())
        fd, self.info = tempfile.mkstemp(prefix="ringload-run-")
        os.close(fd)
        os.unlink(self.info)
        self.t0 = time.monotonic()
        self.launcher = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, self.info] + self.cmd,
                                         stdout=self.files[0], stderr=self.files[1])
        wait_until(lambda: os.path.exists(self.info) or self.launcher.poll() is not None, 10.0)
        try:
            self.pid = int(self._info()[0])
        except (IndexError, ValueError):
            stop_process(self.launcher)
            raise RuntimeError(f"the launcher did not start {self.cmd}") from None

    def _info(self):
        try:
            with open(self.info) as f:
                return f.read().split()
        except OSError:
            return []

    def send_signal(self, sig):
        os.kill(self.pid, sig)

    def reap(self, timeout):
        """Waits until `timeout` seconds after the start, then SIGKILLs ringload."""
        timed_out = False
        try:
            self.launcher.wait(timeout=max(0.0, self.t0 + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            try:
                self.launcher.wait(timeout=5.0)  # it reaps ringload and writes the status
            except subprocess.TimeoutExpired:
                stop_process(self.launcher)
        elapsed = time.monotonic() - self.t0
        info = self._info()
        if len(info) == 3:
            rc, maxrss = os.waitstatus_to_exitcode(int(info[1])), int(info[2])
        else:
            rc, maxrss = None, None
        with contextlib.suppress(OSError):
            os.unlink(self.info)
        texts = []
        for f in self.files:
            f.seek(0)
            texts.append(f.read().decode(errors="replace"))
            f.close()
        res = RunResult(self.cmd, rc, texts[0], texts[1], elapsed)
        if timed_out:
            res.err += f"\n[harness] killed after {timeout}s"
        res.maxrss_kib, res.timed_out = maxrss, timed_out
        return res


def is_sanitized(binary):
    """True when the binary links AddressSanitizer: its memory and time bounds are wider."""
    try:
        p = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libasan" in p.stdout


def check_run_ok(checks, name, res):
    """The run exited 0 and printed a JSON report, and the harness did not stop it after its
    timeout."""
    killed = "[harness] killed" in res.err
    return checks.check(f"{name}: exit 0 with a JSON report",
                        res.rc == 0 and not killed and isinstance(res.report, dict),
                        res.describe() + (f" json_error={res.json_error}" if res.json_error else ""))


def check_served(checks, name, res, count, what="served", total_label="total", more_than=0):
    """A run stopped by its deadline or a signal against the server's own count: ringload's
    total is above `more_than`, and the server's count (`count(total)`, read once it settled
    to at least `total`) lies between total and total + in_flight_at_end: ringload counts
    finished requests only, the server also those it answered while the run stopped.
    Returns ringload's total."""
    total = res.total() or 0
    in_flight = res.get("requests", "in_flight_at_end") or 0
    seen = count(total)
    checks.check(f"{name}: {total_label} > {more_than}", total > more_than, f"total={total}")
    checks.check(f"{name}: total <= {what} <= total + in_flight_at_end", total <= seen <= total + in_flight,
                 f"total={total} {what}={seen} in_flight_at_end={in_flight}")
    return total


def check_no_errors(checks, name, res):
    errs = res.get("errors", default=None)
    ok = isinstance(errs, dict) and all(v == 0 for v in errs.values())
    return checks.check(f"{name}: all error counters 0", ok,
                        f"errors={errs} first_errors={res.get('first_errors')}")


# ---------------------------------------------------------------------------- nginx

# The one nginx.conf of the tests. {http}: directives of the http block (TLS defaults);
# {servers}: NGINX_SERVER blocks. Both log formats are always declared: "plain" for the
# HTTP tests, "tls" (protocol, resumption, client-certificate verdict, cipher) for HTTPS.
NGINX_CONF = """\
worker_processes {workers};
daemon off;
master_process on;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    log_format plain '$status $request_method $request_uri "$http_x_test" "$http_x_other"';
    log_format tls '$status $request_method $request_uri $ssl_protocol '
                   '$ssl_session_reused $ssl_client_verify $ssl_cipher';
    log_format proto '$status $request_method $request_uri $server_protocol';
    log_format plugin '$status $request_method $request_uri "$http_x_test" $server_protocol';
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    default_type text/plain;
{http}{servers}}}
"""

NGINX_SERVER = """\
    server {{
        listen 127.0.0.1:{port}{ssl};
        access_log {tmp}/{log} {log_format};
{directives}{locations}    }}
"""

# The HTTP tests' locations: fixed statuses, a close after the response, a 100 KB file.
PLAIN_LOCATIONS = """\
        location = / { return 200 "ok\\n"; }
        location = /s404 { return 404; }
        location = /s204 { return 204; }
        location = /close { keepalive_timeout 0; return 200 "ok\\n"; }
        location = /big { }
        location / { return 200 "ok\\n"; }
"""

BIG_FILE_SIZE = 100 * 1024


class Service:
    """A server a test starts and stops (start(), stop()), also as a context manager."""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class NginxServer:
    """One server block: `directives` (formatted with {tmp}: the nginx directory) and
    `locations` (as they are), plain HTTP or TLS (`ssl` on the listen line, the "tls" log).
    `http2`: `http2` on the listen line (nginx 1.22: h2 with TLS, h2c with prior knowledge
    without), and the "proto" log ($status $request_method $request_uri $server_protocol).
    `log`: another of the declared log formats."""

    def __init__(self, locations=PLAIN_LOCATIONS, directives="        root {tmp}/www;\n", tls=False, http2=False,
                 log=None):
        self.locations = locations
        self.directives = directives
        self.tls = tls
        self.http2 = http2
        self.log = log

    def listen_options(self):
        return (" ssl" if self.tls else "") + (" http2" if self.http2 else "")

    def log_format(self):
        return self.log or ("proto" if self.http2 else "tls" if self.tls else "plain")


class Nginx(Service):
    """nginx in the foreground (master + workers), one server block per entry of `servers`
    ({name: NginxServer}; default: one plain server named ""), each on a free loopback
    port and with its own access log (access.log for "", else access-NAME.log)."""

    def __init__(self, workers=1, keep=False, servers=None, http=""):
        self.workers = workers
        self.keep = keep
        self.servers = servers if servers is not None else {"": NginxServer()}
        self.http = http
        self.tmp = None
        self.proc = None
        self.ports = {}
        self.port = None  # the first server's

    def conf(self):
        return NGINX_CONF.format(workers=self.workers, tmp=self.tmp, http=self.http, servers="".join(
            NGINX_SERVER.format(port=self.ports[name], ssl=srv.listen_options(), tmp=self.tmp,
                                log=self.log_name(name), log_format=srv.log_format(),
                                directives=srv.directives.format(tmp=self.tmp), locations=srv.locations)
            for name, srv in self.servers.items()))

    def start(self, attempts=3):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.tmp = tempfile.mkdtemp(prefix="ringload-nginx-")
        os.makedirs(os.path.join(self.tmp, "www"))
        with open(os.path.join(self.tmp, "www", "big"), "wb") as f:
            f.write(bytes((i * 7 + 13) % 251 for i in range(BIG_FILE_SIZE)))
        for _ in range(attempts):  # a free port can be taken between probe and bind
            self.ports = {name: free_port() for name in self.servers}
            self.port = next(iter(self.ports.values()))
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self.conf())
            self.stderr = open(os.path.join(self.tmp, "stderr.log"), "w")
            self.proc = subprocess.Popen(
                [nginx, "-c", conf, "-p", self.tmp, "-e", os.path.join(self.tmp, "error.log")],
                stdout=subprocess.DEVNULL, stderr=self.stderr)
            if all(wait_port(p, timeout=10.0, proc=self.proc) for p in self.ports.values()):
                return
            stop_process(self.proc)
            self.stderr.close()
        raise RuntimeError(f"nginx did not start: {self.read_file('error.log')[-1000:]}")

    def stop(self):
        stop_process(self.proc)
        self.proc = None
        if getattr(self, "stderr", None):
            self.stderr.close()
        if self.tmp and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp:
            print(f"kept {self.tmp}", flush=True)

    def url(self, path="/"):
        """The first server's URL."""
        return self.server_url(next(iter(self.servers)), path)

    def server_url(self, name, path="/", host="127.0.0.1"):
        scheme = "https" if self.servers[name].tls else "http"
        return f"{scheme}://{host}:{self.ports[name]}{path}"

    @staticmethod
    def log_name(server):
        return f"access-{server}.log" if server else "access.log"

    def read_file(self, name):
        try:
            with open(os.path.join(self.tmp, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_lines(self, server=""):
        return [ln for ln in self.read_file(self.log_name(server)).splitlines() if ln.strip()]

    def log_count(self, server=""):
        return len(self.log_lines(server))

    def settled_log(self, server="", expected=None, timeout=5.0):
        """A server's access log lines once nginx has logged everything (it logs after the
        response)."""
        if expected is not None:
            wait_until(lambda: self.log_count(server) >= expected, timeout)
        wait_stable(lambda: self.log_count(server), settle=0.3, timeout=timeout)
        return self.log_lines(server)

    def clear_logs(self):
        # nginx opens its logs with O_APPEND: truncating them in place is safe.
        for server in self.servers:
            wait_stable(lambda: self.log_count(server), settle=0.2, timeout=3.0)
            with open(os.path.join(self.tmp, self.log_name(server)), "w"):
                pass


def summarize_log(lines):
    """{(status, method): count} from "$status $request_method $request_uri ..." lines."""
    out = {}
    for ln in lines:
        parts = ln.split(" ")
        key = (parts[0], parts[1] if len(parts) > 1 else "")
        out[key] = out.get(key, 0) + 1
    return out


# --------------------------------------------------------------------- ringload-target

class PortFileServer(Service):
    """A child server that picks its own loopback port and writes it to a file; stopped by
    PID. Subclasses give command(port_file) and `name`."""

    name = "server"
    prefix = "ringload-server-"

    def __init__(self, keep=False):
        self.keep = keep
        self.tmp = None
        self.proc = None
        self.port = None
        self.exit_code = None

    def command(self, port_file):
        raise NotImplementedError

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix=self.prefix)
        port_file = os.path.join(self.tmp, "port")
        cmd = self.command(port_file)
        self.stderr = open(os.path.join(self.tmp, "stderr.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr)

        def port_ready():
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                return int(text) if text else None
            except (OSError, ValueError):
                return None

        wait_until(lambda: port_ready() or self.proc.poll() is not None, 15.0)
        self.port = port_ready()
        if not self.port or not wait_port(self.port, timeout=10.0, proc=self.proc):
            self.stop()
            raise RuntimeError(f"{self.name} did not start: cmd={cmd} "
                               f"rc={self.exit_code} stderr={self.stderr_text()[-800:]!r}")

    def stderr_text(self):
        try:
            with open(os.path.join(self.tmp, "stderr.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            self.exit_code = stop_process(self.proc)
        self.proc = None
        if getattr(self, "stderr", None):
            self.stderr.close()
        if self.tmp and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Target(PortFileServer):
    """ringload-target on a free loopback port (it picks the port itself: --port 0)."""

    name = "ringload-target"
    prefix = "ringload-target-"

    def __init__(self, binary, threads=1, body_size=None, close=False, keep=False, extra=()):
        super().__init__(keep)
        self.binary = binary
        self.threads = threads
        self.body_size = body_size
        self.close = close
        self.extra = list(extra)

    def command(self, port_file):
        self.count_file = os.path.join(self.tmp, "count")
        cmd = [self.binary, "--host", "127.0.0.1", "--port", "0", "--port-file", port_file,
               "--threads", str(self.threads), "--count-file", self.count_file, "--quiet"]
        if self.body_size is not None:
            cmd += ["--body-size", str(self.body_size)]
        if self.close:
            cmd.append("--close")
        return cmd + self.extra

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def _get(self, path):
        with urllib.request.urlopen(self.url(path), timeout=5.0) as r:
            return r.read().decode(errors="replace")

    def count(self):
        """Requests served so far (the /count request itself is not counted)."""
        text = self._get("/count")
        m = re.search(r"\d+", text)
        if not m:
            raise RuntimeError(f"/count returned no number: {text!r}")
        return int(m.group(0))

    def settled_count(self, expected=None, timeout=5.0):
        if expected is not None:
            wait_until(lambda: self.count() >= expected, timeout)
        return wait_stable(self.count, settle=0.3, timeout=timeout)

    def reset(self):
        self._get("/reset")


# ------------------------------------------------------------------- report schema

SUMMARY_KEYS = ("min", "mean", "stdev", "p50", "p75", "p90", "p95", "p99", "p99_9", "p99_99", "max")
REPORT_SCHEMA = {
    "ringload_version": str, "url": str, "method": str, "duration_s": (int, float),
    "connections": int, "threads": int, "interrupted": bool,
    "requests": {"total": int, "succeeded": int, "failed": int, "in_flight_at_end": int},
    "status_codes": dict,
    "errors": {"connect": int, "read": int, "write": int, "timeout": int, "protocol": int,
               "tls": int, "plugin": int},
    "first_errors": dict,
    "latency_us": {k: (int, float) for k in SUMMARY_KEYS},
    "service_time_us": {k: (int, float) for k in SUMMARY_KEYS},
    "ttfb_us": {k: (int, float) for k in SUMMARY_KEYS},
    "throughput": {"rps": (int, float), "rpm": (int, float),
                   "bytes_in_per_s": (int, float), "bytes_out_per_s": (int, float)},
    "bytes": {"in": int, "out": int},
    "connections_opened": int, "closes_by_server": int,
    "timeline": list, "notices": list, "config": dict,
}
TIMELINE_KEYS = ("t_s", "duration_s", "requests", "succeeded", "errors", "rps", "p50_us", "p99_us")


def schema_problems(report, schema=REPORT_SCHEMA, prefix=""):
    """Missing keys and wrong types, as a list of strings (empty: the report conforms); for a
    whole report (the default `schema`), also where it breaks include/ringload/report.schema.json."""
    if not isinstance(report, dict):
        return [f"{prefix or 'report'} is not an object"]
    problems = report_schema_errors(report) if schema is REPORT_SCHEMA and not prefix else []
    for key, want in schema.items():
        path = prefix + key
        if key not in report:
            problems.append(f"missing {path}")
        elif isinstance(want, dict):
            problems += schema_problems(report[key], want, path + ".")
        elif isinstance(report[key], bool) and want is not bool:
            problems.append(f"{path} is a bool")
        elif not isinstance(report[key], want):
            problems.append(f"{path} has type {type(report[key]).__name__}")
    for i, window in enumerate(report.get("timeline") or []):
        missing = [k for k in TIMELINE_KEYS if not isinstance(window, dict) or k not in window]
        if missing:
            problems.append(f"timeline[{i}] misses {missing}")
            break
    return problems


# The report's JSON Schema (draft 2020-12), validated with Debian's python3-jsonschema. Every
# report a RunResult parses, and every one given to validate_report(), is checked; finish()
# fails one check per report that does not validate, naming the failing paths.
REPORT_SCHEMA_FILE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "..", "include", "ringload", "report.schema.json"))
_report_validator = None
_validated_reports = []  # (what, errors)


def report_schema_errors(report):
    """Where `report` breaks the schema: "path: message" strings, empty when it validates."""
    global _report_validator
    if _report_validator is None:
        import jsonschema  # python3-jsonschema (tools/setup.sh)
        with open(REPORT_SCHEMA_FILE) as f:
            _report_validator = jsonschema.Draft202012Validator(json.load(f))
    errors = sorted(_report_validator.iter_errors(report), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {short(e.message, 300)}" for e in errors]


def validate_report(report, what):
    """Validates a report a test produced (checked again by Checks.finish); returns its errors."""
    errors = report_schema_errors(report)
    _validated_reports.append((what, errors))
    return errors


def check_reports_validated(checks):
    if not _validated_reports:
        return
    bad = [(what, errors) for what, errors in _validated_reports if errors]
    for what, errors in bad:
        checks.check(f"the report of `{short(what, 300)}` validates against report.schema.json", False,
                     f"{len(errors)} errors: {errors[:5]}")
    checks.check(f"every report ({len(_validated_reports)}) validates against report.schema.json", not bad,
                 f"{len(bad)} do not")
    _validated_reports.clear()


def histogram_empty(block):
    """A histogram block that recorded nothing: `count` 0 and every figure 0 (its `hdr`, a
    string, encodes the empty histogram)."""
    return isinstance(block, dict) and block.get("count") == 0 and not any(
        v for k, v in block.items() if k != "hdr")


def error_latency_problems(report, totals_us):
    """error_latency_us against the failed requests' own times (`totals_us`: the export's
    timing.total_us of each, completion - intended send): min and max exact, p50 the
    nearest-rank value within the histogram's precision (3 digits). [] when they agree."""
    block = (report or {}).get("error_latency_us") or {}
    if not totals_us:
        return [] if histogram_empty(block) else [f"error_latency_us not all zero without failures: {block}"]
    values = sorted(totals_us)
    rank = max(1, -(-len(values) // 2))  # ceil(n / 2): HdrHistogram's p50 rank
    want = {"min": values[0], "max": values[-1], "p50": values[rank - 1]}
    problems = []
    for key, exact in want.items():
        got = block.get(key)
        slack = 0.0015 + (exact * 0.002 if key == "p50" else 0)
        if not isinstance(got, (int, float)) or abs(got - exact) > slack:
            problems.append(f"error_latency_us.{key} = {got}, the export's {exact}")
    return problems
