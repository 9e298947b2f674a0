"""ringload over HTTPS against a real nginx and against servers that do not speak TLS.

Certificates are made at run time with the openssl CLI: a test CA, a server certificate
for localhost and 127.0.0.1 (subjectAltName), one for wrong.example, an unrelated CA, and
a client CA with a client certificate. One nginx (one worker) serves four TLS servers on
free ports: (a) TLSv1.2 only, (b) TLSv1.3 only, (c) TLSv1.2+1.3 requiring a client
certificate, (d) the wrong.example certificate. Each logs to its own access log, with
the protocol, whether the session was resumed and the client-certificate verdict, so
ringload's counts are compared with what nginx saw.

Run: python3 test_https.py --ringload PATH --target PATH
"""
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

# A failed probe must end the run at once; the silent server needs the probe's timeout.
FAST_EXIT_S = 5.0
SILENT_EXIT_S = 20.0


# ------------------------------------------------------------------- certificates

def openssl(args, cwd):
    p = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {p.stderr[-500:]}")


def make_ca(d, name, cn):
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "3",
             "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)


def make_leaf(d, name, ca, cn, ext):
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(ext)
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}"], d)
    openssl(["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "3", "-out", f"{name}.pem", "-extfile", f"{name}.ext"], d)


def make_lab(d):
    make_ca(d, "ca", "ringload-test-ca")
    make_ca(d, "other-ca", "ringload-unrelated-ca")
    make_ca(d, "client-ca", "ringload-client-ca")
    server_ext = "extendedKeyUsage=serverAuth\nsubjectAltName="
    make_leaf(d, "server", "ca", "localhost", server_ext + "DNS:localhost,IP:127.0.0.1\n")
    make_leaf(d, "wrong", "ca", "wrong.example", server_ext + "DNS:wrong.example\n")
    make_leaf(d, "client", "client-ca", "ringload-client", "extendedKeyUsage=clientAuth\n")
    # Well formed, but from a CA that server (c) does not trust.
    make_leaf(d, "rogue-client", "other-ca", "rogue-client", "extendedKeyUsage=clientAuth\n")


# -------------------------------------------------------------------------- nginx

def tls_server(protocols, directives="", guard=""):
    """A TLS server block of harness's nginx template: its protocols, its own directives,
    and a guard in front of each return."""
    return h.NginxServer(
        tls=True,
        directives=f"        ssl_protocols {protocols};\n{directives}",
        locations=(f'        location / {{ {guard}return 200 "ok\\n"; }}\n'
                   f'        location /close {{ keepalive_timeout 0; {guard}return 200 "bye\\n"; }}\n'))


def tls_nginx(lab, keep=False):
    """One nginx (one worker) with the four TLS servers "a" to "d", each on its own free
    loopback port with its own access log (the "tls" format)."""
    servers = {
        "a": tls_server("TLSv1.2"),
        "b": tls_server("TLSv1.3"),
        # With verification on nginx answers 400 itself when no valid certificate came; the
        # guard makes a 200 depend on the verdict regardless.
        "c": tls_server("TLSv1.2 TLSv1.3",
                        f"        ssl_verify_client on;\n        ssl_client_certificate {lab}/client-ca.pem;\n",
                        "if ($ssl_client_verify != SUCCESS) { return 403; } "),
        "d": tls_server("TLSv1.2 TLSv1.3",
                        f"        ssl_certificate {lab}/wrong.pem;\n        ssl_certificate_key {lab}/wrong.key;\n"),
    }
    defaults = ("    ssl_session_cache shared:SSL:4m;\n    ssl_session_tickets on;\n"
                f"    ssl_certificate {lab}/server.pem;\n    ssl_certificate_key {lab}/server.key;\n")
    return h.Nginx(workers=1, keep=keep, servers=servers, http=defaults)


def log_fields(lines, index):
    """{value: count} of one space-separated field of the "tls" log format."""
    out = {}
    for ln in lines:
        parts = ln.split(" ")
        v = parts[index] if len(parts) > index else ""
        out[v] = out.get(v, 0) + 1
    return out


# Fields of the "tls" log format.
F_STATUS, F_PROTOCOL, F_REUSED, F_CLIENT_VERIFY, F_CIPHER = 0, 3, 4, 5, 6


def iana_cipher(openssl_name):
    """nginx logs OpenSSL's names, ringload the IANA ones (RFC 8446 B.4, RFC 5289).
    TLS 1.3 suites already carry their IANA name; TLS 1.2 ECDHE AEAD suites are mapped."""
    if openssl_name.startswith("TLS_"):
        return openssl_name
    m = re.fullmatch(r"ECDHE-(ECDSA|RSA)-AES(128|256)-GCM-(SHA256|SHA384)", openssl_name)
    if m:
        return f"TLS_ECDHE_{m.group(1)}_WITH_AES_{m.group(2)}_GCM_{m.group(3)}"
    m = re.fullmatch(r"ECDHE-(ECDSA|RSA)-CHACHA20-POLY1305", openssl_name)
    if m:
        return f"TLS_ECDHE_{m.group(1)}_WITH_CHACHA20_POLY1305_SHA256"
    return openssl_name


# ------------------------------------------------------------ servers that are not TLS

class FakeServer:
    """A thread accepting on a free port and answering each connection with `reply(conn,
    index)`. Stopped with a flag and by closing its socket; every wait is bounded."""

    def __init__(self, reply):
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=5.0)
        self.sock.close()

    def _loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            index = self.accepted
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn, index), daemon=True).start()

    def _serve(self, conn, index):
        conn.settimeout(2.0)
        try:
            self.reply(conn, index, self.stopping)
        except OSError:
            pass
        finally:
            conn.close()

    def url(self, path="/"):
        return f"https://127.0.0.1:{self.port}{path}"


def read_some(conn):
    try:
        return conn.recv(4096)
    except OSError:
        return b""


def linger(stopping, seconds):
    stopping.wait(seconds)


def reply_random(seed):
    def reply(conn, index, stopping):
        read_some(conn)
        conn.sendall(random.Random(seed + index).randbytes(4096))
        linger(stopping, 0.5)
    return reply


def reply_http_400(conn, index, stopping):
    read_some(conn)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n")
    linger(stopping, 0.5)


def reply_tls_shaped_garbage(conn, index, stopping):
    # A handshake record header (RFC 8446 section 5.1) followed by random bytes: the
    # client has to parse it before it can tell.
    read_some(conn)
    body = random.Random(11 + index).randbytes(3000)
    conn.sendall(bytes([22, 3, 3, 0x0b, 0xb8]) + body)
    linger(stopping, 0.5)


def reply_alert(conn, index, stopping):
    read_some(conn)
    conn.sendall(bytes([21, 3, 3, 0, 2, 2, 40]))  # fatal handshake_failure (RFC 8446 6.2)
    linger(stopping, 0.5)


def reply_eof(conn, index, stopping):
    read_some(conn)


def reply_silence(conn, index, stopping):
    linger(stopping, SILENT_EXIT_S + 5)


# ------------------------------------------------------------------------ checks

def check_probe_failure(c, name, res, url, reasons, bound=FAST_EXIT_S):
    """The run stopped before any traffic: exit 1, one clear line, no report."""
    line = f"error: TLS handshake with {url} failed: "
    c.eq(f"{name}: exit code 1", res.rc, 1)
    c.check(f"{name}: stderr says '{line}...'", line in res.err, res.describe())
    got = res.err.split(line, 1)[1].splitlines()[0] if line in res.err else ""
    c.check(f"{name}: reason mentions one of {reasons}",
            any(r.lower() in got.lower() for r in reasons), f"reason={got!r}")
    c.check(f"{name}: no report on stdout", not res.out.strip(), f"stdout={res.out[:300]!r}")
    c.check(f"{name}: exits within {bound:.0f} s", res.elapsed < bound,
            f"elapsed={res.elapsed:.2f}s")
    print(f"INFO {name}: {res.err.strip().splitlines()[-1] if res.err.strip() else ''}",
          flush=True)


def check_tls_report(c, name, res, version, verify=True):
    tls = res.get("tls")
    if not c.check(f"{name}: tls is an object", isinstance(tls, dict), f"tls={tls!r}"):
        return
    c.eq(f"{name}: tls.version", tls.get("version"), version)
    c.eq(f"{name}: tls.verify", tls.get("verify"), verify)
    c.check(f"{name}: tls.cipher named", isinstance(tls.get("cipher"), str) and
            len(tls.get("cipher")) > 3, f"tls={tls}")
    hs = res.get("tls_handshake_us") or {}
    c.check(f"{name}: tls_handshake_us 0 < p50 <= p99 <= max",
            0 < hs.get("p50", 0) <= hs.get("p99", 0) <= hs.get("max", 0), f"{hs}")


def test_default_verification(c, rl, ngx, lab):
    for server in ("a", "b"):
        name = f"({server}) default verification, no --cacert"
        ngx.clear_logs()
        url = ngx.server_url(server)
        res = h.run_ringload(rl, ["-n", "100", "-c", "4", url], timeout=30)
        check_probe_failure(c, name, res, url.rstrip("/"), ["unknown CA", "verif"])
        c.eq(f"{name}: nginx access log empty", ngx.settled_log(server), [])


def test_versions(c, rl, ngx, lab):
    ca = os.path.join(lab, "ca.pem")
    for server, version in (("a", "TLSv1.2"), ("b", "TLSv1.3")):
        name = f"({server}) --cacert -n 2000 -c 8"
        ngx.clear_logs()
        res = h.run_ringload(rl, ["--cacert", ca, "-n", "2000", "-c", "8", ngx.server_url(server)],
                             timeout=90)
        if not h.check_run_ok(c, name, res):
            continue
        c.eq(f"{name}: report schema problems", h.schema_problems(res.report), [])
        c.eq(f"{name}: requests.total", res.total(), 2000)
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 2000})
        h.check_no_errors(c, name, res)
        c.eq(f"{name}: errors.tls", res.get("errors", "tls"), 0)
        check_tls_report(c, name, res, version)
        opened = res.get("connections_opened") or 0
        handshakes = res.get("tls", "handshakes") or 0
        c.check(f"{name}: keep-alive: 8 <= handshakes <= connections_opened <= 9",
                8 <= handshakes <= opened <= 9, f"handshakes={handshakes} opened={opened}")
        c.eq(f"{name}: closes_by_client (keep-alive)", res.get("closes_by_client"), 0)
        c.eq(f"{name}: closes_by_server (keep-alive)", res.get("closes_by_server"), 0)
        c.check(f"{name}: no notice about verification",
                not any("verif" in n for n in res.get("notices") or []),
                f"notices={res.get('notices')}")
        lines = ngx.settled_log(server, expected=2000)
        c.eq(f"{name}: nginx access log lines", len(lines), 2000)
        c.eq(f"{name}: nginx saw {version} only", log_fields(lines, F_PROTOCOL), {version: 2000})
        ciphers = {iana_cipher(k): v for k, v in log_fields(lines, F_CIPHER).items()}
        c.eq(f"{name}: nginx logged the cipher the report names", ciphers,
             {res.get("tls", "cipher"): 2000})

    name = "(a) https://localhost:PORT (DNS subjectAltName)"
    res = h.run_ringload(rl, ["--cacert", ca, "-n", "100", "-c", "2",
                              ngx.server_url("a", host="localhost")], timeout=30)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 100})
        h.check_no_errors(c, name, res)


def test_name_mismatch(c, rl, ngx, lab):
    ca = os.path.join(lab, "ca.pem")
    ngx.clear_logs()
    name = "(a) --sni wrong.example --cacert"
    url = ngx.server_url("a")
    res = h.run_ringload(rl, ["--cacert", ca, "--sni", "wrong.example", "-n", "100", url],
                         timeout=30)
    check_probe_failure(c, name, res, url.rstrip("/"), ["name mismatch", "mismatch", "name"])
    c.eq(f"{name}: nginx access log empty", ngx.settled_log("a"), [])

    name = "(d) certificate for wrong.example at https://127.0.0.1"
    url = ngx.server_url("d")
    res = h.run_ringload(rl, ["--cacert", ca, "-n", "100", url], timeout=30)
    check_probe_failure(c, name, res, url.rstrip("/"), ["name mismatch", "mismatch", "name"])
    c.eq(f"{name}: nginx access log empty", ngx.settled_log("d"), [])

    name = "(d) --sni wrong.example verifies against the SNI name"
    res = h.run_ringload(rl, ["--cacert", ca, "--sni", "wrong.example", "-n", "200", "-c", "2",
                              url], timeout=30)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 200})
        h.check_no_errors(c, name, res)
        check_tls_report(c, name, res, "TLSv1.3")
        c.eq(f"{name}: nginx access log lines", len(ngx.settled_log("d", expected=200)), 200)


def test_insecure(c, rl, ngx, lab):
    other = os.path.join(lab, "other-ca.pem")
    url = ngx.server_url("a")
    name = "(a) --cacert unrelated CA"
    res = h.run_ringload(rl, ["--cacert", other, "-n", "100", url], timeout=30)
    check_probe_failure(c, name, res, url.rstrip("/"), ["unknown CA", "verif"])

    for server, version in (("a", "TLSv1.2"), ("d", "TLSv1.3")):
        name = f"({server}) --cacert unrelated CA --insecure"
        ngx.clear_logs()
        res = h.run_ringload(rl, ["--cacert", other, "--insecure", "-n", "500", "-c", "4",
                                  ngx.server_url(server)], timeout=60)
        if not h.check_run_ok(c, name, res):
            continue
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 500})
        h.check_no_errors(c, name, res)
        check_tls_report(c, name, res, version, verify=False)
        notices = res.get("notices") or []
        c.check(f"{name}: a notice says verification is off",
                any("verification is off" in n for n in notices), f"notices={notices}")
        c.eq(f"{name}: nginx access log lines", len(ngx.settled_log(server, expected=500)), 500)

    name = "(b) -k without --cacert"
    res = h.run_ringload(rl, ["-k", "-n", "100", "-c", "2", ngx.server_url("b")], timeout=30)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 100})
        c.eq(f"{name}: tls.verify", res.get("tls", "verify"), False)


def test_client_cert(c, rl, ngx, lab):
    ca = os.path.join(lab, "ca.pem")
    cert, key = os.path.join(lab, "client.pem"), os.path.join(lab, "client.key")
    url = ngx.server_url("c")

    name = "(c) mTLS --cert --key -n 1000 -c 4"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["--cacert", ca, "--cert", cert, "--key", key, "-n", "1000",
                              "-c", "4", url], timeout=60)
    if h.check_run_ok(c, name, res):
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 1000})
        h.check_no_errors(c, name, res)
        check_tls_report(c, name, res, "TLSv1.3")
        lines = ngx.settled_log("c", expected=1000)
        c.eq(f"{name}: nginx verified the client on every request",
             log_fields(lines, F_CLIENT_VERIFY), {"SUCCESS": 1000})

    # nginx completes the handshake without a certificate and answers 400 ("No required
    # SSL certificate was sent"), closing the connection; a client certificate it cannot
    # verify gets the same 400 with "FAILED:...". Both are HTTP answers, not TLS errors.
    for variant, extra in (("no client certificate", []),
                           ("client certificate from another CA",
                            ["--cert", os.path.join(lab, "rogue-client.pem"),
                             "--key", os.path.join(lab, "rogue-client.key")])):
        name = f"(c) mTLS, {variant}"
        ngx.clear_logs()
        res = h.run_ringload(rl, ["--cacert", ca, "-n", "300", "-c", "4", url] + extra,
                             timeout=60)
        if not h.check_run_ok(c, name, res):
            continue
        codes = res.get("status_codes") or {}
        tls_errors = res.get("errors", "tls") or 0
        print(f"INFO {name}: nginx answers status_codes={codes}, errors.tls={tls_errors}",
              flush=True)
        c.eq(f"{name}: nginx answers 400 to every request", codes, {"400": 300})
        c.eq(f"{name}: requests.failed", res.get("requests", "failed"), 300)
        h.check_no_errors(c, name, res)
        c.eq(f"{name}: closes_by_server (nginx closes after the 400)",
             res.get("closes_by_server"), 300)
        lines = ngx.settled_log("c", expected=300)
        c.eq(f"{name}: nginx logged 300 x 400", log_fields(lines, F_STATUS), {"400": 300})
        c.check(f"{name}: nginx's verdict is not SUCCESS",
                "SUCCESS" not in log_fields(lines, F_CLIENT_VERIFY),
                f"{log_fields(lines, F_CLIENT_VERIFY)}")

    # Without --key the key is read from the --cert file (as curl does); this one has none.
    # The reason must be about that file, not an error left over from loading the
    # system CA store.
    name = "(c) --cert without --key, the file holds no key"
    res = h.run_ringload(rl, ["--cacert", ca, "--cert", cert, "-n", "10", url], timeout=30)
    c.eq(f"{name}: exit code 1", res.rc, 1)
    prefix = f"error: cannot load client key '{cert}': "
    reason = res.err.split(prefix, 1)[1].splitlines()[0] if prefix in res.err else ""
    c.check(f"{name}: stderr says '{prefix}...'", prefix in res.err, res.describe())
    c.check(f"{name}: the reason says the file has no key (PEM)",
            "pem" in reason.lower() or "key" in reason.lower(), f"reason={reason!r}")

    name = "(c) --key that does not match --cert"
    res = h.run_ringload(rl, ["--cacert", ca, "--cert", cert, "--key",
                              os.path.join(lab, "server.key"), "-n", "10", url], timeout=30)
    c.eq(f"{name}: exit code 1", res.rc, 1)
    c.check(f"{name}: stderr names the mismatch", "does not match" in res.err, res.describe())


def test_resumption(c, rl, ngx, lab):
    ca = os.path.join(lab, "ca.pem")
    for server, version in (("a", "TLSv1.2"), ("b", "TLSv1.3")):
        for resume in (True, False):
            name = f"({server}) /close -n 500 -c 4" + ("" if resume else " --no-tls-resume")
            ngx.clear_logs()
            args = ["--cacert", ca, "-n", "500", "-c", "4", ngx.server_url(server, "/close")]
            res = h.run_ringload(rl, args + ([] if resume else ["--no-tls-resume"]), timeout=90)
            if not h.check_run_ok(c, name, res):
                continue
            c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 500})
            h.check_no_errors(c, name, res)
            c.eq(f"{name}: closes_by_server", res.get("closes_by_server"), 500)
            c.eq(f"{name}: closes_by_client", res.get("closes_by_client"), 0)
            check_tls_report(c, name, res, version)
            tls = res.get("tls") or {}
            hs, resumed = tls.get("handshakes") or 0, tls.get("resumed") or 0
            ratio = tls.get("resumed_ratio")
            # One connection per request; a connection opened while the run was ending may
            # finish its handshake without carrying a request.
            c.check(f"{name}: 500 <= tls.handshakes <= 504", 500 <= hs <= 504,
                    f"tls={tls}")
            c.check(f"{name}: resumed_ratio == resumed / handshakes",
                    isinstance(ratio, (int, float)) and hs > 0 and
                    abs(ratio - resumed / hs) < 1e-9, f"tls={tls}")
            lines = ngx.settled_log(server, expected=500)
            c.eq(f"{name}: nginx access log lines", len(lines), 500)
            ngx_resumed = log_fields(lines, F_REUSED).get("r", 0)
            print(f"INFO {name}: handshakes={hs} resumed={resumed} ratio={ratio} "
                  f"nginx resumed={ngx_resumed}", flush=True)
            if resume:
                c.check(f"{name}: resumed_ratio > 0.9", (ratio or 0) > 0.9, f"tls={tls}")
                c.check(f"{name}: nginx resumed ~ tls.resumed (within handshakes - 500)",
                        0 <= resumed - ngx_resumed <= hs - 500,
                        f"ringload resumed={resumed} nginx resumed={ngx_resumed} hs={hs}")
            else:
                c.eq(f"{name}: tls.resumed", resumed, 0)
                c.eq(f"{name}: nginx resumed no session", ngx_resumed, 0)


def test_handshake_each(c, rl, ngx, lab):
    ca = os.path.join(lab, "ca.pem")
    for server, version in (("a", "TLSv1.2"), ("b", "TLSv1.3")):
        name = f"({server}) --tls-handshake-each -n 500 -c 4 on /"
        ngx.clear_logs()
        res = h.run_ringload(rl, ["--cacert", ca, "--tls-handshake-each", "-n", "500", "-c", "4",
                                  ngx.server_url(server)], timeout=90)
        if not h.check_run_ok(c, name, res):
            continue
        total = res.total() or 0
        c.eq(f"{name}: requests.total", total, 500)
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 500})
        h.check_no_errors(c, name, res)
        check_tls_report(c, name, res, version)
        hs = res.get("tls", "handshakes") or 0
        c.check(f"{name}: tls.handshakes >= total", hs >= total, f"tls={res.get('tls')}")
        closes = res.get("closes_by_client")
        c.check(f"{name}: closes_by_client ~ total (total - 4 <= n <= total)",
                isinstance(closes, int) and total - 4 <= closes <= total,
                f"closes_by_client={closes!r} (key present: "
                f"{'closes_by_client' in (res.report or {})})")
        c.eq(f"{name}: closes_by_server", res.get("closes_by_server"), 0)
        c.check(f"{name}: connections_opened >= total",
                (res.get("connections_opened") or 0) >= total,
                f"connections_opened={res.get('connections_opened')}")
        c.check(f"{name}: resumed_ratio > 0.9 (resumption stays on)",
                (res.get("tls", "resumed_ratio") or 0) > 0.9, f"tls={res.get('tls')}")
        c.eq(f"{name}: nginx access log lines", len(ngx.settled_log(server, expected=500)), 500)


def test_not_tls(c, rl, ngx, lab):
    cases = [
        ("random bytes", reply_random(5), ["does not speak TLS", "malformed", "record"]),
        ("plain HTTP/1.1 400", reply_http_400, ["does not speak TLS", "malformed", "record"]),
        ("TLS record header + garbage", reply_tls_shaped_garbage, ["protocol error", "TLS"]),
        ("fatal alert", reply_alert, ["alert"]),
        ("close at once", reply_eof, ["closed"]),
    ]
    for label, reply, reasons in cases:
        name = f"server sending {label}"
        with FakeServer(reply) as srv:
            res = h.run_ringload(rl, ["-n", "100", "-c", "4", "-k", srv.url()], timeout=30)
            check_probe_failure(c, name, res, srv.url().rstrip("/"), reasons)
            c.check(f"{name}: one probe connection only", srv.accepted == 1,
                    f"accepted={srv.accepted}")

    # Several seeds: the probe must reject every one of them the same clean way.
    bad = []
    for seed in range(20, 30):
        with FakeServer(reply_random(seed)) as srv:
            res = h.run_ringload(rl, ["-n", "10", "-c", "2", srv.url()], timeout=30)
            if res.rc != 1 or "error: TLS handshake with" not in res.err or res.elapsed > 5:
                bad.append(res.describe())
    c.eq("random bytes, 10 more seeds: each exits 1 with a TLS error", bad, [])

    name = "server that accepts and stays silent"
    with FakeServer(reply_silence) as srv:
        res = h.run_ringload(rl, ["-n", "10", "-c", "2", srv.url()], timeout=SILENT_EXIT_S + 10)
        check_probe_failure(c, name, res, srv.url().rstrip("/"), ["timed out", "timeout"],
                            bound=SILENT_EXIT_S)

    name = "http:// to the TLS port of (a)"
    ngx.clear_logs()
    res = h.run_ringload(rl, ["-n", "100", "-c", "2",
                              ngx.server_url("a").replace("https://", "http://")], timeout=30)
    if h.check_run_ok(c, name, res):
        # nginx answers "400 The plain HTTP request was sent to HTTPS port" and closes.
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"400": 100})
        c.eq(f"{name}: tls is null", res.get("tls", default="absent"), None)
        h.check_no_errors(c, name, res)
        c.eq(f"{name}: nginx access log lines", len(ngx.settled_log("a", expected=100)), 100)


def test_tls_errors_mid_run(c, rl, ngx, lab):
    """The probe succeeds, later handshakes fail: counted as errors.tls, the run goes on."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(lab, "server.pem"), os.path.join(lab, "server.key"))

    def reply(conn, index, stopping):
        if index > 0:
            reply_alert(conn, index, stopping)
            return
        with ctx.wrap_socket(conn, server_side=True) as s:
            read_some(s)

    name = "TLS server failing every handshake after the probe -d 1s -c 2"
    with FakeServer(reply) as srv:
        res = h.run_ringload(rl, ["--cacert", os.path.join(lab, "ca.pem"), "-d", "1s", "-c", "2",
                                  srv.url()], timeout=1 + h.RUN_SLACK_S)
        if not h.check_run_ok(c, name, res):
            return
        tls_errors = res.get("errors", "tls") or 0
        c.check(f"{name}: errors.tls > 0", tls_errors > 0, f"errors={res.get('errors')}")
        c.check(f"{name}: errors.tls <= connections after the probe",
                tls_errors <= srv.accepted - 1, f"errors.tls={tls_errors} accepted={srv.accepted}")
        first = res.get("first_errors") or {}
        c.check(f"{name}: first_errors has a tls entry naming the alert",
                "alert" in json.dumps(first.get("tls", "")), f"first_errors={first}")
        c.eq(f"{name}: no request succeeded", res.get("requests", "succeeded"), 0)
        c.check(f"{name}: finished in time", res.elapsed < 1 + 10, f"elapsed={res.elapsed:.2f}")


def test_request_file(c, rl, ngx, lab, target_bin, tmp, keep):
    ca = os.path.join(lab, "ca.pem")
    with h.Target(target_bin, keep=keep) as tgt:
        want = {"tls12": 100, "tls13": 60, "plain": 140}
        urls = {"tls12": ngx.server_url("a", "/file"), "tls13": ngx.server_url("b", "/file"),
                "plain": tgt.url("/file")}
        lines = [name for name, n in want.items() for _ in range(n)]
        random.Random(3).shuffle(lines)
        path = os.path.join(tmp, "mixed.jsonl")
        with open(path, "w") as f:
            for name in lines:
                f.write(json.dumps({"url": urls[name], "name": name}) + "\n")
        name = "request file: 2 https origins + 1 http origin -c 4"
        ngx.clear_logs()
        tgt.reset()
        res = h.run_ringload(rl, ["--cacert", ca, "-f", path, "-c", "4"], timeout=60)
        if not h.check_run_ok(c, name, res):
            return
        c.eq(f"{name}: requests.total", res.total(), 300)
        c.eq(f"{name}: status_codes", res.get("status_codes"), {"200": 300})
        h.check_no_errors(c, name, res)
        c.eq(f"{name}: by_name requests",
             {b.get("name"): b.get("requests") for b in res.get("by_name") or []}, want)
        c.eq(f"{name}: nginx (a) access log lines", len(ngx.settled_log("a", expected=100)), 100)
        c.eq(f"{name}: nginx (b) access log lines", len(ngx.settled_log("b", expected=60)), 60)
        c.eq(f"{name}: ringload-target count", tgt.settled_count(expected=140), 140)
        c.eq(f"{name}: nginx (a) TLSv1.2 only",
             log_fields(ngx.log_lines("a"), F_PROTOCOL), {"TLSv1.2": 100})
        c.eq(f"{name}: nginx (b) TLSv1.3 only",
             log_fields(ngx.log_lines("b"), F_PROTOCOL), {"TLSv1.3": 60})
        opened = res.get("connections_opened") or 0
        hs = res.get("tls", "handshakes") or 0
        c.check(f"{name}: 4 connections per origin (12 <= opened <= 15)", 12 <= opened <= 15,
                f"connections_opened={opened}")
        c.check(f"{name}: handshakes only on the https pools (8 <= n <= 10)", 8 <= hs <= 10,
                f"tls={res.get('tls')}")


def tests(env):
    c = env.checks
    if not shutil.which("openssl") or not (shutil.which("nginx") or
                                          os.access("/usr/sbin/nginx", os.X_OK)):
        c.check("openssl and nginx installed", False)
        return []
    lab = os.path.join(env.tmp, "lab")
    os.makedirs(lab)
    make_lab(lab)
    c.check("certificates made with openssl", True)
    ngx = env.start(tls_nginx(lab, keep=env.keep), started="nginx with four TLS servers started")
    return [(name, fn, env.ringload, ngx, lab, *extra) for name, fn, extra in [
        ("default verification", test_default_verification, ()),
        ("versions", test_versions, ()),
        ("name mismatch", test_name_mismatch, ()),
        ("insecure", test_insecure, ()),
        ("client certificates", test_client_cert, ()),
        ("resumption", test_resumption, ()),
        ("handshake each", test_handshake_each, ()),
        ("not TLS", test_not_tls, ()),
        ("TLS errors mid-run", test_tls_errors_mid_run, ()),
        ("request file", test_request_file, (env.target, env.tmp, env.keep)),
    ]]


if __name__ == "__main__":
    h.main(tests, title="https", tmp_prefix="ringload-https-", description=__doc__)
