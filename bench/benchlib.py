"""What the bench/*.py scripts share: settings from the environment, ringload-target and
nginx pinned to SERVER_CPU, clients pinned to CLIENT_CPU under /usr/bin/time, CPU time and
CPU pressure from /proc, medians, and the directory the raw outputs go to.

Standard library only. Whatever starts a process here or in a script stops it by its PID.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(name, default):
    return os.environ.get(name, default)


def repo_path(p):
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


# Read alike by every script (bench/README.md: "as for http_vs_wrk.py").
RINGLOAD = repo_path(env("RINGLOAD", "build/ringload"))
TARGET_BIN = repo_path(env("TARGET_BIN", "build/ringload-target"))
SERVER_CPU = env("SERVER_CPU", "0")
CLIENT_CPU = env("CLIENT_CPU", "1")
TIME_BIN = "/usr/bin/time"
TICK = os.sysconf("SC_CLK_TCK")


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def require_time_and_ringload():
    """Ends the benchmark unless /usr/bin/time and the RINGLOAD binary are there."""
    if not os.access(TIME_BIN, os.X_OK):
        die(f"{TIME_BIN} missing: apt-get install time")
    if not os.access(RINGLOAD, os.X_OK):
        die(f"ringload not found at {RINGLOAD} (set RINGLOAD)")


def require_tools(tools, before=""):
    """Ends the benchmark unless /usr/bin/time and each of `tools` is there: "ringload"
    (RINGLOAD), "before" (`before`, an older ringload binary), "wrk"."""
    if not os.access(TIME_BIN, os.X_OK):
        die(f"{TIME_BIN} missing: apt-get install time")
    if "ringload" in tools and not os.access(RINGLOAD, os.X_OK):
        die(f"ringload not found at {RINGLOAD} (set RINGLOAD)")
    if "before" in tools and not os.access(before, os.X_OK):
        die("TOOLS has 'before': set RINGLOAD_BEFORE to an older ringload binary")
    if "wrk" in tools and not shutil.which("wrk"):
        die("wrk missing: apt-get install wrk")


def seconds(dur):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", dur)
    if not m:
        die(f"cannot parse duration {dur!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[m.group(2)]


# ---------------------------------------------------------------- processes and ports

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc, grace=5.0):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


def start_target(tmp, threads=1):
    """ringload-target --threads THREADS on SERVER_CPU, on a port it picks: (process, port)."""
    if not os.access(TARGET_BIN, os.X_OK):
        die(f"ringload-target not found at {TARGET_BIN} (set TARGET_BIN)")
    port_file = os.path.join(tmp, "target.port")
    # taskset execs the target: the PID is the target's own, for /proc/PID/stat.
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, TARGET_BIN, "--host", "127.0.0.1",
                             "--port", "0", "--port-file", port_file, "--threads", str(threads),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    port = None
    while port is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(port_file) as f:
                port = int(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    if not port or not wait_port(port, proc):
        stop(proc)
        die("ringload-target did not start")
    return proc, port


def make_certs(d):
    """A CA (ca.pem) and an EC P-256 server certificate (server.pem, server.key) for localhost
    and 127.0.0.1, in directory d."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    for cmd in (["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "3",
                 "-subj", "/CN=ringload-bench-ca", "-addext",
                 "basicConstraints=critical,CA:TRUE"],
                ["req"] + ec + ["-keyout", "server.key", "-out", "server.csr",
                                "-subj", "/CN=localhost"],
                ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "3", "-out", "server.pem",
                 "-extfile", "server.ext"]):
        p = subprocess.run(["openssl"] + cmd, cwd=d, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            die(f"openssl {' '.join(cmd)}: {p.stderr[-500:]}")


# The part of the nginx configuration every benchmark server has; the script appends its
# own http-level lines and server blocks, then the closing brace. A str.format template:
# {tmp} is the server's directory.
NGINX_CONF_HEAD = """\
worker_processes 1;
daemon off;
master_process on;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    default_type text/plain;
"""


def start_nginx(tmp, conf, ports):
    """nginx with the configuration text conf on SERVER_CPU, once every port accepts."""
    path = os.path.join(tmp, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, nginx, "-c", path, "-p", tmp,
                             "-e", os.path.join(tmp, "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not all(wait_port(port, proc) for port in ports):
        stop(proc)
        die(f"nginx did not start (see {tmp}/error.log)")
    return proc


# ----------------------------------------------------------------------- the clients

def run_timed(tool, cmd, duration, time_file):
    """Runs cmd on CLIENT_CPU under /usr/bin/time, which writes the child's own CPU and peak
    RSS to time_file; bounded by the duration + 60 s. Returns (completed process, the
    command line as run)."""
    cmd = ["taskset", "-c", CLIENT_CPU, TIME_BIN, "-f", "%U %S %M", "-o", time_file] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds(duration) + 60)
    except subprocess.TimeoutExpired:
        die(f"{tool} did not finish: {' '.join(cmd)}")
    return p, cmd


def keep_output(tool, p, cmd, path, with_cmd=True):
    """Saves a run's output to path (after its command line, with_cmd) and ends the
    benchmark if the run failed."""
    with open(path, "w") as f:
        f.write((" ".join(cmd) + "\n" if with_cmd else "") + p.stdout + "\n--- stderr ---\n"
                + p.stderr)
    if p.returncode != 0:
        die(f"{tool} exited {p.returncode}: {' '.join(cmd)}\n{p.stderr[-1000:]}")


def time_usage(time_file):
    """(user s, system s, peak RSS kB) of a run_timed() child."""
    with open(time_file) as f:
        user, sys_s, rss_kb = f.read().split()[-3:]
    return float(user), float(sys_s), int(rss_kb)


def parse_ringload(out):
    """{requests, rps, errors} from ringload's --json report (None: not a report)."""
    try:
        r = json.loads(out)
        return {"requests": r["requests"]["total"], "rps": float(r["throughput"]["rps"]),
                "errors": r["requests"]["failed"]}
    except (ValueError, KeyError, TypeError):
        return None


def parse_wrk(out):
    """requests, requests/s and errors (socket errors plus non-2xx/3xx) from wrk's output;
    None if it has no totals."""
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not total or not rps:
        return None
    return {"requests": int(total.group(1)), "rps": float(rps.group(1)),
            "errors": errs + (int(non2xx.group(1)) if non2xx else 0)}


# ------------------------------------------------------------------- what the machine did

def proc_cpu_ticks(pid):
    """user + system clock ticks of a process so far; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def proc_cpu_s(pid):
    """user + system seconds of a process so far."""
    return proc_cpu_ticks(pid) / TICK


def server_cpu_s(proc):
    """CPU seconds of a server so far: its process and its children (nginx's worker)."""
    pids = [proc.pid]
    try:
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            pids += [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        pass
    return sum(proc_cpu_s(pid) for pid in pids)


def proc_rss_kib(pid):
    """VmRSS of a process in KiB (/proc/PID/status); None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return None


def proc_fds(pid):
    """(sockets, other) open file descriptors of a process (/proc/PID/fd); None once it is
    gone. A descriptor closed between the listing and its readlink is not counted."""
    sockets = other = 0
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:"):
            sockets += 1
        else:
            other += 1
    return sockets, other


def cpu_stall_us():
    """Microseconds some runnable task waited for a CPU, machine-wide (PSI); None without
    PSI. Other work on the two cores shows up here: a run with a high figure measured a
    shared machine."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(re.search(r"some .*total=(\d+)", f.read()).group(1))
    except (OSError, AttributeError, ValueError):
        return None


# ---------------------------------------------------------------------------- report

def alternated(items, rnd):
    """items in order in odd rounds, reversed in even ones, so that drift in the machine
    favours none of them."""
    return list(items) if rnd % 2 else list(reversed(items))


def median_row(rows, keys=None, ints=()):
    """{key: median over rows} for keys (default: the first row's); the keys in ints as
    int, for counts."""
    med = {k: statistics.median(r[k] for r in rows) for k in (keys or rows[0])}
    for k in ints:
        med[k] = int(med[k])
    return med


def make_out_dir(prefix):
    """OUT, or a new temporary directory named prefix...: where the raw outputs go."""
    out_dir = env("OUT", "") or tempfile.mkdtemp(prefix=prefix)
    os.makedirs(out_dir, exist_ok=True)
    return out_dir


def write_summary(out_dir, summary):
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"\nsummary: {out_dir}/summary.json")


# ------------------------------------------------------------- A/B of two ringload runs

AB_HEADER = (f"{'mode':<6} {'req/s':>10} {'requests':>10} {'CPU us/req':>10} {'RSS MB':>7} "
             f"{'stall ms/s':>10} {'failed':>7}")


def ab_row(mode, r):
    return (f"{mode:<6} {r['rps']:>10.0f} {int(r['requests']):>10} {r['cpu_us_per_req']:>10.3f} "
            f"{r['rss_mb']:>7.1f} {r['stall_ms_per_s']:>10.1f} {int(r['failed']):>7}")


def measured_report_run(tool, cmd, duration, out_dir, tag):
    """Runs cmd (which prints ringload's JSON report) on CLIENT_CPU under /usr/bin/time and
    returns ({rps, requests, failed, cpu_us_per_req, rss_mb, stall_ms_per_s}, the report)."""
    time_file = os.path.join(out_dir, f"{tag}.time")
    stall0 = cpu_stall_us()
    p, cmd = run_timed(tool, cmd, duration, time_file)
    stall1 = cpu_stall_us()
    keep_output(tool, p, cmd, os.path.join(out_dir, f"{tag}.out"))
    try:
        r = json.loads(p.stdout)
        res = {"rps": float(r["throughput"]["rps"]), "requests": r["requests"]["total"],
               "failed": r["requests"]["failed"]}
    except (ValueError, KeyError, TypeError):
        die(f"cannot parse the report (see {out_dir}/{tag}.out)")
    user, sys_s, rss_kb = time_usage(time_file)
    stall = (stall1 - stall0) / 1e3 / seconds(duration) if stall0 is not None and stall1 is not None else 0.0
    res.update(cpu_us_per_req=(user + sys_s) * 1e6 / max(res["requests"], 1), rss_mb=rss_kb / 1024,
               stall_ms_per_s=stall)
    return res, r


def ab_rounds(modes, run, rounds, duration, warmup, out_dir, path="/", server=None):
    """ringload-target on SERVER_CPU (or server(tmp) -> (process, base URL) started there),
    a warm-up of modes[0], then `rounds` rounds running every mode, in an order alternating
    from round to round: run(mode, url, duration, out_dir, tag) -> a row. Returns
    {mode: [rows]}; the server is stopped by its PID."""
    tmp = tempfile.mkdtemp(prefix="ringload-ab-srv-")
    results = {m: [] for m in modes}
    proc = None
    try:
        if server is not None:
            proc, base = server(tmp)
        else:
            proc, port = start_target(tmp)
            base = f"http://127.0.0.1:{port}"
        url = base + path
        if seconds(warmup) > 0:
            run(modes[0], url, warmup, out_dir, "warmup")
        for rnd in range(1, rounds + 1):
            print(f"\n-- round {rnd} ({url})\n{AB_HEADER}")
            for mode in alternated(modes, rnd):
                r = run(mode, url, duration, out_dir, f"r{rnd}-{mode}")
                results[mode].append(r)
                print(ab_row(mode, r), flush=True)
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def ab_summary(results, base, other, title):
    """Prints the medians and the ratios other/base, of the medians and the median of the
    paired rounds; returns {"median", "ratio", "paired_ratio"} for the summary file."""
    med = {m: median_row(rs) for m, rs in results.items()}
    print(f"\n== medians over {len(results[base])} rounds ({title}; load average now "
          f"{os.getloadavg()[0]:.2f})\n{AB_HEADER}")
    for m in results:
        print(ab_row(m, med[m]))
    ratio = {"rps": med[other]["rps"] / med[base]["rps"],
             "cpu_per_request": med[other]["cpu_us_per_req"] / med[base]["cpu_us_per_req"],
             "rss": med[other]["rss_mb"] / med[base]["rss_mb"]}
    paired = {"rps": statistics.median(b["rps"] / a["rps"] for a, b in zip(results[base], results[other])),
              "cpu_per_request": statistics.median(b["cpu_us_per_req"] / a["cpu_us_per_req"]
                                                   for a, b in zip(results[base], results[other]))}
    return {"median": med, "ratio": ratio, "paired_ratio": paired}
