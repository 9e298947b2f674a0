"""A run's own outputs are never lost or overstated: the -o report, the export and
standard output, against ringload-target.

- An output path that cannot be written is refused before any traffic (exit 2, the reason).
- A report that cannot be written at the end goes to standard output instead (exit 3).
- An export that fails (a full disk, a closed pipe) stops the run; the report says why and
  counts exactly the whole lines in the file (exit 3); no death by SIGPIPE.
- The export's memory does not grow with the body: 100 MB bodies at -c 2 stay under 64 MiB.

Full disks are 1 MiB tmpfs mounts made by the test (root); without mount rights the
test uses RLIMIT_FSIZE instead (the write fails with EFBIG, not ENOSPC) and says so.

Run: python3 test_outputs.py --ringload PATH --target PATH
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

EXIT_USAGE = 2
EXIT_OUTPUT_FAILED = 3
BIG_BODY = 100 * 1024 * 1024
BIG_BODY_RSS_KIB = 64 * 1024


class SmallDisk:
    """A directory with `size` bytes of room: a tmpfs mount, or (without mount rights) a
    plain directory whose writers get RLIMIT_FSIZE = size. `readonly`: mounted read-only."""

    def __init__(self, size=1 << 20, readonly=False):
        self.size = size
        self.readonly = readonly
        self.dir = tempfile.mkdtemp(prefix="ringload-disk-")
        opts = f"size={size}" + (",ro" if readonly else "")
        # RINGLOAD_TEST_NO_MOUNT=1 exercises the fallback where mounting is allowed.
        self.mounted = not os.environ.get("RINGLOAD_TEST_NO_MOUNT") and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", self.dir], capture_output=True).returncode == 0

    def preexec(self):
        """For the child: the size limit when there is no mount (SIGXFSZ ignored, so the
        write fails with EFBIG as a full disk fails with ENOSPC)."""
        if self.mounted:
            return None
        size = self.size

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        return limit

    def fill(self):
        """Takes what room is left."""
        with open(os.path.join(self.dir, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass

    def full_error(self):
        return "No space left on device" if self.mounted else "File too large"

    def close(self):
        if self.mounted:
            subprocess.run(["umount", self.dir], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def run(rl, args, timeout=60, preexec=None):
    """Runs ringload; returns (rc, stdout, stderr, peak RSS in KiB, elapsed s). The child is
    reaped with wait4 for its own ru_maxrss."""
    start = time.monotonic()
    proc = subprocess.Popen([rl, "--quiet"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=preexec)
    outs = {}
    readers = [threading.Thread(target=lambda k=k, s=s: outs.__setitem__(k, s.read()))
               for k, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    deadline = start + timeout
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            break
        if time.monotonic() > deadline and not killed:
            proc.kill()
            killed = True
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join(timeout=10)
    err = outs.get("err", b"").decode(errors="replace") + ("\n[test] killed after timeout" if killed else "")
    return (proc.returncode, outs.get("out", b"").decode(errors="replace"), err, usage.ru_maxrss,
            time.monotonic() - start)


def whole_lines(path):
    """(lines parsed, problems): every line must be JSON and the file must end with one."""
    records, problems = h.read_export(path)
    return len(records), problems


def test_refused_before_traffic(c, rl, tgt):
    ro = SmallDisk(readonly=True)
    try:
        cases = [
            ("-o into a missing directory", ["-o", "/nonexistent-dir/r.json"], "-o '/nonexistent-dir/r.json'",
             "No such file or directory"),
            ("-o naming a directory", ["-o", "/tmp"], "-o '/tmp'", "it is a directory"),
            ("--export into a missing directory", ["--export", "/nonexistent-dir/e.jsonl"],
             "--export '/nonexistent-dir/e.jsonl'", "No such file or directory"),
        ]
        if ro.mounted:
            path = os.path.join(ro.dir, "r.json")
            cases.append(("-o on a read-only filesystem", ["-o", path], f"-o '{path}'", "Read-only file system"))
        else:
            print("SKIP -o on a read-only filesystem: no mount rights here")
        for name, args, names, reason in cases:
            tgt.settled_count()
            tgt.reset()
            rc, out, err, _, _ = run(rl, ["-n", "100", "-c", "2"] + args + [tgt.url("/")])
            c.eq(f"{name}: exit {EXIT_USAGE}", rc, EXIT_USAGE)
            c.check(f"{name}: the message names the flag and path", names in err, err)
            c.check(f"{name}: the message gives the reason", reason in err, err)
            c.eq(f"{name}: no traffic", tgt.settled_count(), 0)
            c.eq(f"{name}: nothing on stdout", out, "")
    finally:
        ro.close()


def test_report_write_fails_at_the_end(c, rl, tgt):
    name = "-o on a disk that fills during the run"
    disk = SmallDisk(size=256 * 1024)
    try:
        path = os.path.join(disk.dir, "report.json")
        proc = subprocess.Popen([rl, "--quiet", "-d", "2s", "-c", "4", "-o", path, tgt.url("/")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=disk.preexec())
        time.sleep(0.5)
        if disk.mounted:
            disk.fill()
        else:
            # RLIMIT_FSIZE: any report is over the limit when the limit is tiny; restart with it.
            h.stop_process(proc)
            proc.communicate()
            disk.size = 100

            proc = subprocess.Popen([rl, "--quiet", "-d", "1s", "-c", "4", "-o", path, tgt.url("/")],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    preexec_fn=disk.preexec())
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            h.stop_process(proc)
            out, err = proc.communicate()
        c.eq(f"{name}: exit {EXIT_OUTPUT_FAILED}", proc.returncode, EXIT_OUTPUT_FAILED)
        c.check(f"{name}: stderr names the file and the cause",
                f"cannot write the report to '{path}'" in err and disk.full_error() in err, err)
        start = out.find("{")
        report = None
        try:
            report = json.loads(out[start:]) if start >= 0 else None
        except ValueError:
            pass
        if isinstance(report, dict):
            h.validate_report(report, name)
        c.check(f"{name}: the summary and then the JSON report on stdout",
                "Requests" in out[:max(start, 0)] and isinstance(report, dict), out[-500:])
        if isinstance(report, dict):
            c.check(f"{name}: the report counts the run", (report["requests"]["total"] or 0) > 0, out[-300:])
    finally:
        disk.close()


def test_export_disk_full(c, rl, tgt):
    name = "--export to a 1 MiB disk"
    disk = SmallDisk(size=1 << 20)
    try:
        path = os.path.join(disk.dir, "export.jsonl")
        rc, out, err, rss, elapsed = run(
            rl, ["--json", "-d", "10s", "-c", "8", "--export", path, tgt.url("/bytes/1000")],
            timeout=40, preexec=disk.preexec())
        c.eq(f"{name}: exit {EXIT_OUTPUT_FAILED}", rc, EXIT_OUTPUT_FAILED)
        c.check(f"{name}: the run stopped at the failure, not at -d", elapsed < 8, f"elapsed={elapsed:.1f}s")
        c.check(f"{name}: stderr says the export failed and why",
                "the export failed" in err and disk.full_error() in err, err)
        report = None
        try:
            report = json.loads(out)
        except ValueError:
            pass
        if isinstance(report, dict):
            h.validate_report(report, name)
        if not c.check(f"{name}: JSON report", isinstance(report, dict), out[-300:] + err):
            return
        export = report.get("export") or {}
        c.check(f"{name}: export.error says why", disk.full_error() in (export.get("error") or ""), export)
        lines, problems = whole_lines(path)
        h.check_problems(c, f"{name}: whole JSON lines only, ending in a newline", problems)
        c.eq(f"{name}: export.lines = the lines in the file", export.get("lines"), lines)
        c.check(f"{name}: some lines made it", lines > 100, f"lines={lines}")
        c.check(f"{name}: the file is within the disk", os.path.getsize(path) <= disk.size, os.path.getsize(path))
    finally:
        disk.close()


def test_export_closed_pipe(c, rl, tgt):
    name = "--export - into a pipe closed after 64 KiB"
    proc = subprocess.Popen([rl, "--quiet", "-d", "10s", "-c", "8", "--export", "-", tgt.url("/")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.monotonic()
    got = proc.stdout.read(65536)
    proc.stdout.close()
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        h.stop_process(proc)
        _, err = proc.communicate()
    elapsed = time.monotonic() - start
    err = err.decode(errors="replace")
    c.check(f"{name}: some lines came", len(got) == 65536, len(got))
    c.eq(f"{name}: exit {EXIT_OUTPUT_FAILED}, not death by SIGPIPE", proc.returncode, EXIT_OUTPUT_FAILED)
    c.check(f"{name}: the run stopped at the failure", elapsed < 8, f"elapsed={elapsed:.1f}s")
    c.check(f"{name}: stderr says the export failed (Broken pipe)",
            "the export failed" in err and "Broken pipe" in err, err)
    c.check(f"{name}: stderr says the summary could not be written", "cannot write to standard output" in err, err)


def test_big_bodies(c, rl, tgt, tmp):
    name = "--export of 4 x 100 MB bodies at -c 2"
    path = os.path.join(tmp, "big.jsonl")
    rc, out, err, rss, _ = run(rl, ["--json", "-n", "4", "-c", "2", "-t", "2", "--export", path,
                                    tgt.url(f"/bytes/{BIG_BODY}")], timeout=120)
    if not c.eq(f"{name}: exit 0", rc, 0):
        print(err)
        return
    c.check(f"{name}: peak RSS under {BIG_BODY_RSS_KIB // 1024} MiB", rss < BIG_BODY_RSS_KIB,
            f"ru_maxrss={rss} KiB")
    pattern = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"
    want = pattern * (BIG_BODY // len(pattern))
    bodies = 0
    with open(path) as f:
        for raw in f:
            line = json.loads(raw)
            bodies += line.get("body") == want
            del line
    c.eq(f"{name}: every line holds the whole body", bodies, 4)
    report = json.loads(out)
    h.validate_report(report, name)
    c.eq(f"{name}: export.lines", report["export"]["lines"], 4)
    c.eq(f"{name}: export.error", report["export"]["error"], None)
    os.remove(path)


def tests(env):
    rl = env.ringload
    tgt = env.start(h.Target(env.target, threads=1))
    return [
        ("refused before traffic", test_refused_before_traffic, rl, tgt),
        ("report write fails", test_report_write_fails_at_the_end, rl, tgt),
        ("export disk full", test_export_disk_full, rl, tgt),
        ("export closed pipe", test_export_closed_pipe, rl, tgt),
        ("big bodies", test_big_bodies, rl, tgt, env.tmp),
    ]


if __name__ == "__main__":
    h.main(tests, title="outputs", tmp_prefix="ringload-outputs-", description=__doc__)
