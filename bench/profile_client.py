#!/usr/bin/python3
"""Where each client's CPU goes: `perf record -e cpu-clock` on ringload and on wrk, same server.

The server (nginx with one worker, or ringload-target --threads 1) runs on SERVER_CPU, the
client on CLIENT_CPU, as in http_vs_wrk.py. For each tool the script records D of load with
cpu-clock sampling (hardware counters do not work on this VM) and prints the client's
samples by object (the kernel, the binary, libc, liburing ...), the kernel/user split, the
top symbols, and the kernel's part split by path (send, receive, io_uring, wake-ups and
scheduling, other). With N > 1 both tools pipeline N requests per connection (wrk with its
pipeline.lua made N deep, as pipeline_vs_wrk.py does).

Environment (all optional): C=64 D=5s N=1 TARGETS="nginx target" TOOLS="wrk ringload"
  RINGLOAD=build/ringload TARGET_BIN=build/ringload-target SERVER_CPU=0 CLIENT_CPU=1 TOP=15
  OUT=directory for the perf data and reports (default: a new temporary directory)
Needs perf (linux-perf), wrk, nginx, taskset. Every process is started by this script and
stopped by its PID.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (CLIENT_CPU, RINGLOAD, die, env, make_out_dir, require_tools, seconds,  # noqa: E402
                      stop)
from http_vs_wrk import start_server  # noqa: E402
from pipeline_vs_wrk import PIPELINE_LUA  # noqa: E402

C = int(env("C", "64"))
D = env("D", "5s")
N = int(env("N", "1"))
TOP = int(env("TOP", "15"))
TARGETS = env("TARGETS", "nginx target").split()
TOOLS = env("TOOLS", "wrk ringload").split()

# Kernel symbols by the path they serve; the first pattern that matches names the group.
KERNEL_GROUPS = [
    ("io_uring (submission, completions, task work)", r"_*io_|io_uring|llist_|__do_sys_io_uring"),
    ("epoll, syscall entry and exit, fd lookup", r"ep_|_*epoll|do_syscall|entry_SYSCALL|syscall_|__x64_sys|"
     r"exit_to_user|__sys_|ksys_|fdget|__fget|fput|sock_from_file|import_ubuf|__do_sys"),
    ("TCP/IP (send, loopback transmit, the peer's receive in softirq, ACKs, receive)",
     r"_*tcp|_*inet|_*ip_|ip_|bbr|_*sk_|_*sock|_*skb|loopback|_*dev_|net_|_*netif|_*napi|do_softirq|"
     r"__local_bh|nf_|dst_|process_backlog|validate_xmit|raw_|ipv4|__ip"),
    ("memory (slab, copies, pages)", r"_*kmem|_*kmalloc|_*kfree|_*slab|_*copy|copy_|clear_page|__check_object|"
     r"__virt_addr|.*folio|.*page|memcg|__memcg|obj_cgroup|refill_obj|mod_objcg"),
    ("scheduling, wake-ups, clocks and idle", r"_*schedule|try_to_wake|finish_task|pick_next|enqueue|dequeue|"
     r"update_|_raw_spin|ttwu|_*wake|psi_|hrtimer|tick_|native_|pv|default_idle|irq|apic|do_idle|"
     r"cpuidle|timerqueue|ktime|rb_|select_task|set_next|put_prev|check_preempt|sched_|__rcu|rcu_"),
]


def client_cmd(tool, url, lua):
    if tool == "wrk":
        return ["wrk", "-t1", f"-c{C}", f"-d{D}", url] + (["-s", lua] if N > 1 else [])
    return [RINGLOAD, "-t", "1", "-c", str(C), "-d", D, "--json", "--quiet", url] + \
        (["--pipeline", str(N)] if N > 1 else [])


def record(tool, url, lua, data):
    cmd = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "4999", "-o", data, "--",
           "taskset", "-c", CLIENT_CPU] + client_cmd(tool, url, lua)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds(D) + 60)
    if p.returncode != 0:
        die(f"{tool} under perf failed ({p.returncode}): {p.stderr.strip()[:400]}")


def perf_rows(data, sort):
    """[(percent, fields...)] of `perf report --sort sort`, the client's own samples only."""
    comm = "wrk" if "wrk" in data.rsplit("/", 1)[-1] else os.path.basename(RINGLOAD)
    cmd = ["perf", "report", "-i", data, "--stdio", "--no-children", "-q", "--percentage", "relative", "--sort", sort,
           "--percent-limit", "0", "-g", "none"]
    # taskset execs the client: its samples carry the client's comm; perf's own are left out.
    p = subprocess.run(cmd + ["--comms", comm], capture_output=True, text=True, timeout=120)
    rows = []
    for line in p.stdout.splitlines():
        m = re.match(r"^\s*([0-9.]+)%\s+(.*)$", line)
        if m:
            rows.append((float(m.group(1)), m.group(2).strip()))
    return rows


def kernel_groups(syms):
    shares = {name: 0.0 for name, _ in KERNEL_GROUPS}
    other = 0.0
    for pct, text in syms:
        if "[k]" not in text:
            continue
        sym = text.split("[k]", 1)[1].strip()
        for name, pattern in KERNEL_GROUPS:
            if re.match(pattern, sym):
                shares[name] += pct
                break
        else:
            other += pct
    return shares, other


def report(tool, data):
    syms = perf_rows(data, "dso,sym")
    # By object, from the symbols (perf's --sort dso leaves the kernel out with --comms).
    by_dso = {}
    for pct, text in syms:
        dso = text.split()[0]
        by_dso[dso] = by_dso.get(dso, 0.0) + pct
    dsos = sorted(((pct, dso) for dso, pct in by_dso.items()), reverse=True)
    kernel = sum(pct for pct, dso in dsos if dso.startswith("[kernel"))
    print(f"\n== {tool}: {100 - kernel:.1f}% user space, {kernel:.1f}% kernel (of the client's samples)")
    for pct, dso in dsos:
        if pct >= 0.3:
            print(f"   {pct:6.2f}%  {dso}")
    shares, other = kernel_groups(syms)
    print("   kernel by path:")
    for name, pct in shares.items():
        print(f"   {pct:6.2f}%  {name}")
    print(f"   {other:6.2f}%  other kernel")
    print(f"   top {TOP} symbols:")
    for pct, text in syms[:TOP]:
        print(f"   {pct:6.2f}%  {text}")
    user = [r for r in syms if "[k]" not in r[1]]
    print(f"   top {TOP} user-space symbols:")
    for pct, text in user[:TOP]:
        print(f"   {pct:6.2f}%  {text}")
    return {"user_pct": 100 - kernel, "dsos": dsos[:20], "kernel_groups": shares, "top": syms[:TOP]}


def main():
    require_tools([t for t in TOOLS if t != "ringload"] + ["perf"])
    out_dir = make_out_dir("ringload-profile-")
    tmp = tempfile.mkdtemp(prefix="ringload-profile-srv-")
    lua = os.path.join(out_dir, "pipeline.lua")
    with open(lua, "w") as f:
        f.write(PIPELINE_LUA.format(n=N))
    print(f"C={C} D={D} N={N}; perf data in {out_dir}")
    try:
        for target in TARGETS:
            proc, url = start_server(target, tmp)
            try:
                for tool in TOOLS:
                    print(f"\n-- {target}: {tool}", flush=True)
                    data = os.path.join(out_dir, f"{target}-{tool}.data")
                    record(tool, url, lua, data)
                    report(f"{target}, {tool}", data)
            finally:
                stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
