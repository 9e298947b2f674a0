"""The same binary under Slurm (issue 15): `srun -n 2 ringload --shard auto ...` on a one-node
cluster started here, then `ringload merge` of the two reports.

munged (its own key and socket), slurmctld and slurmd (-D, as children of this script, on
free loopback ports, state and spool under the temporary directory, no cgroups) make a
cluster of one node, localhost, with this machine's CPUs. Against ringload-target on
127.0.0.1: an unsharded -n run over a request file of four statuses, then the same run as
`srun -n 2` tasks, each reading SLURM_PROCID / SLURM_NTASKS (--shard auto), its JSON report
written by srun to report-<task>.json. Each report must say shard i/2 and hold exactly its
share of the positions; the merged report the unsharded run's requests.total and per-status
counts, exactly. The daemons are stopped by PID; every wait is bounded.

Skipped (exit 0, a "SKIP" line saying why) when not root (slurmd runs jobs as their user and
the daemons run as root here) or when munged, slurmctld, slurmd, srun or sinfo is missing
(tools/setup.sh installs slurm-wlm and munge).

Run: python3 test_slurm.py --ringload PATH --target PATH
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import eq  # noqa: E402
from test_shard_merge import TOTAL, expected_status_counts, request_file  # noqa: E402

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("srun", "sinfo")
TASKS = 2
IDLE_WAIT_S = 40.0  # slurmd registers within ~2-8 s here


def which(name):
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def skip_reason():
    if os.geteuid() != 0:
        return "not root (the one-node cluster's daemons run as root)"
    missing = [n for n in DAEMONS + CLIENTS + ("munge",) if not which(n)]
    if missing:
        return f"{', '.join(missing)} not installed (tools/setup.sh installs slurm-wlm and munge)"
    return None


SLURM_CONF = """\
ClusterName=ringload-ci
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=localhost CPUs={cpus} State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
"""


class SlurmCluster:
    """munged, slurmctld and slurmd in `dir`, children of this process, stopped by PID."""

    name = "slurm"

    def __init__(self, base):
        self.dir = os.path.join(base, "slurm")
        self.procs = []
        self.env = None

    def _spawn(self, name, cmd):
        log = open(os.path.join(self.dir, f"{name}.out"), "w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        self.procs.append((name, proc))
        return proc

    def start(self):
        d = self.dir
        for sub in ("", "state", "spool"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(d, 0o700)  # munged refuses a key or socket others may reach
        key = os.path.join(d, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        conf = os.path.join(d, "slurm.conf")
        with open(conf, "w") as f:
            f.write(SLURM_CONF.format(dir=d, ctld_port=h.free_port(), slurmd_port=h.free_port(),
                                      cpus=os.cpu_count() or 1))
        self.env = dict(os.environ, SLURM_CONF=conf)
        for k in ("JOB_COMPLETION_INDEX", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_JOB_ID"):
            self.env.pop(k, None)
        sock = os.path.join(d, "munge.socket")
        munged = self._spawn("munged", [which("munged"), "--foreground", "--force", f"--socket={sock}",
                                        f"--key-file={key}", f"--log-file={d}/munged.log",
                                        f"--pid-file={d}/munged.pid", f"--seed-file={d}/munged.seed"])
        if not h.wait_until(lambda: os.path.exists(sock) or munged.poll() is not None, 10.0) or munged.poll() is not None:
            raise RuntimeError(f"munged did not start: {self.log('munged')}")
        self._spawn("slurmctld", [which("slurmctld"), "-D", "-c"])
        self._spawn("slurmd", [which("slurmd"), "-D", "-c"])
        t0 = time.monotonic()
        if not h.wait_until(lambda: self.node_state() == "idle" or self.exited(), IDLE_WAIT_S, interval=0.5) \
                or self.exited():
            raise RuntimeError(f"the node is not idle after {IDLE_WAIT_S:.0f} s (state {self.node_state()!r}); "
                               f"exited: {self.exited()}; slurmd: {self.log('slurmd')}; "
                               f"slurmctld: {self.log('slurmctld')}")
        self.idle_after_s = time.monotonic() - t0

    def exited(self):
        return [n for n, p in self.procs if p.poll() is not None]

    def node_state(self):
        try:
            r = subprocess.run([which("sinfo"), "-h", "-n", "localhost", "-o", "%T"], capture_output=True,
                               text=True, timeout=10, env=self.env)
        except subprocess.TimeoutExpired:
            return "sinfo timed out"
        return r.stdout.strip()

    def log(self, name, tail=600):
        try:
            with open(os.path.join(self.dir, f"{name}.out"), errors="replace") as f:
                return repr(f.read()[-tail:])
        except OSError:
            return "(no log)"

    def stop(self):
        for _, proc in reversed(self.procs):  # slurmd, slurmctld, then munged
            h.stop_process(proc, grace=10.0)
        self.procs = []


def test_srun(checks, env, cluster, target, file, unsharded):
    print(f"(the node was idle {cluster.idle_after_s:.1f} s after the daemons started)", flush=True)
    out = os.path.join(env.tmp, "out")
    os.makedirs(out)
    start_ms = int(time.time() * 1000) + 3000  # both tasks start their runs together
    cmd = [which("srun"), "-n", str(TASKS), "-t", "1", f"--chdir={out}", f"--output={out}/report-%t.json",
           f"--error={out}/stderr-%t.txt", os.path.abspath(env.ringload), "--json", "-q", "--shard", "auto",
           "-f", file, "--loop", "-n", str(TOTAL), "-c", "4", "-t", "1", "--start-at", str(start_ms),
           "--timeout", "10s"]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=cluster.env)
        rc, err = r.returncode, r.stderr
    except subprocess.TimeoutExpired:
        rc, err = "timeout after 60 s", ""
    print(f"(srun -n {TASKS} took {time.monotonic() - t0:.1f} s)", flush=True)
    if not checks.check(f"srun -n {TASKS} ringload --shard auto exits 0", rc == 0,
                        f"rc={rc} stderr={err[-600:]!r} slurmd: {cluster.log('slurmd')}"):
        return
    files = []
    for i in range(TASKS):
        path = os.path.join(out, f"report-{i}.json")
        files.append(path)
        with open(path) as f:
            report = json.load(f)
        h.validate_report(report, f"srun task {i}")
        eq(checks, f"task {i}: its report says shard {i}/{TASKS} (SLURM_PROCID / SLURM_NTASKS)", report["shard"],
           {"index": i, "count": TASKS})
        eq(checks, f"task {i}: exactly its share of the positions", report["requests"]["total"],
           len(range(i, TOTAL, TASKS)))
    merged_path = os.path.join(out, "all.json")
    r = subprocess.run([env.ringload, "merge", *files, "-o", merged_path], capture_output=True, text=True, timeout=60)
    if not checks.check("ringload merge of the two tasks' reports exits 0", r.returncode == 0,
                        f"rc={r.returncode} {r.stderr!r}"):
        return
    with open(merged_path) as f:
        merged = json.load(f)
    h.validate_report(merged, "ringload merge of the srun tasks")
    eq(checks, "merged requests.total equals the unsharded run's -n", (merged["requests"]["total"],
       unsharded["requests"]["total"]), (TOTAL, TOTAL))
    eq(checks, "merged per-status counts are the unsharded run's, exactly", merged["status_codes"],
       unsharded["status_codes"])
    eq(checks, "merged succeeded/failed are the unsharded run's (404 and 503 fail)",
       (merged["requests"]["succeeded"], merged["requests"]["failed"]),
       (unsharded["requests"]["succeeded"], unsharded["requests"]["failed"]))
    eq(checks, "merged shard block", merged["shard"], {"merged": TASKS})


def setup(env):
    cluster = env.start(SlurmCluster(env.tmp), started="munged, slurmctld and slurmd start; the node is idle")
    target = env.start(h.Target(env.target, threads=1), started="ringload-target starts")
    file = request_file(env, target)
    whole = h.run_ringload(env.ringload, ["-f", file, "--loop", "-n", str(TOTAL), "-c", "4", "-t", "1"])
    h.check_run_ok(env.checks, "the unsharded run", whole)
    eq(env.checks, "the unsharded run's statuses follow the file's lines", whole.get("status_codes"),
       expected_status_counts())
    return [("srun", test_srun, env, cluster, target, file, whole.report)]


if __name__ == "__main__":
    args = h.parse_args(description=__doc__)
    reason = skip_reason()
    if reason:
        print(f"SKIP slurm: {reason}; 0 passed, 0 failed, skipped", flush=True)
        sys.exit(0)
    h.main(setup, title="slurm", tmp_prefix="ringload-slurm-", description=__doc__)
