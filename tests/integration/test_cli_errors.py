"""ringload's command line: exit codes and messages for usage and setup errors.

Exit 2: usage errors (bad flag, bad URL, bad duration), the message names the culprit.
Exit 1: setup errors (cannot resolve, connection refused), one line starting "error:".
Run: python3 test_cli_errors.py --ringload PATH --target PATH
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def output(res):
    return res.out + res.err


def expect_usage_error(c, rl, args, names, label=None):
    """Exit 2, no report, and the message mentions one of `names`."""
    label = label or " ".join(args)
    res = h.run_cli(rl, args)
    c.check(f"usage error [{label}]: exit 2", res.rc == 2, res.describe())
    text = output(res)
    c.check(f"usage error [{label}]: message names {names[0]!r}",
            any(n in text for n in names), res.describe())
    c.check(f"usage error [{label}]: message on stderr", res.err.strip() != "", res.describe())
    return res


def expect_setup_error(c, rl, args, needle, label, max_s):
    res = h.run_cli(rl, args)
    c.check(f"setup error [{label}]: exit 1", res.rc == 1, res.describe())
    c.check(f"setup error [{label}]: stderr starts with 'error:'",
            res.err.lstrip().startswith("error:"), res.describe())
    if needle:
        c.check(f"setup error [{label}]: message mentions {needle!r}",
                needle in res.err.lower(), res.describe())
    c.check(f"setup error [{label}]: fails within {max_s} s", res.elapsed < max_s,
            f"elapsed={res.elapsed:.2f}s")
    c.check(f"setup error [{label}]: no report on stdout", res.report is None, res.describe())
    return res


def test_usage(c, rl, port):
    url = f"http://127.0.0.1:{port}/"
    expect_usage_error(c, rl, ["--no-such-flag", url], ["--no-such-flag"])
    expect_usage_error(c, rl, ["-c", "many", url], ["-c", "--connections", "many"])
    expect_usage_error(c, rl, ["-n", "-5", url], ["-n", "--requests", "-5"])
    for bad in ("http://", "ftp://x", "http://h:99999/", "not a url"):
        expect_usage_error(c, rl, ["-n", "1", bad], [bad], label=f"URL {bad!r}")
    expect_usage_error(c, rl, ["-d", "5parsecs", url], ["-d", "--duration"])
    expect_usage_error(c, rl, ["--timeout", "soon", "-n", "1", url], ["--timeout"])
    expect_usage_error(c, rl, ["--success-status", "abc", "-n", "1", url],
                       ["--success-status", "abc"])
    expect_usage_error(c, rl, ["-H", "no colon here", "-n", "1", url], ["-H", "--header"])
    expect_usage_error(c, rl, ["-n", "1"], ["URL", "url"], label="missing URL")
    # Flags that would be silently ignored are refused.
    expect_usage_error(c, rl, ["--adapt-up", "1.5", "--qps", "10", url], ["--adapt-up", "--adaptive"])
    expect_usage_error(c, rl, ["--stages", "1s:100,", url], ["--stages"], label="stages trailing comma")
    expect_usage_error(c, rl, ["--max-events", "3", "-n", "1", url], ["--max-events", "--sse"])
    expect_usage_error(c, rl, ["--ws-message", "x", "-n", "1", url], ["--ws-message"])
    expect_usage_error(c, rl, ["--ws-interval", "1s", "-n", "1", url], ["--ws-interval"])
    expect_usage_error(c, rl, ["--ws-repeat", "0", "--ws-message", "a", "-n", "1", f"ws://127.0.0.1:{port}/"],
                       ["repeated without end"], label="endless --ws-repeat")
    expect_usage_error(c, rl, ["-H", "a b: c", "-n", "1", url], ["a b"], label="bad header name")
    # RFC 9110 §5.3: one Host and one Content-Length at most; with -b ringload sets
    # Content-Length itself (nginx answers 400 to either sent twice).
    expect_usage_error(c, rl, ["-H", "Host: a", "-H", "host: b", "-n", "1", url],
                       ["header 'host' given twice"], label="Host twice")
    expect_usage_error(c, rl, ["-H", "Content-Length: 0", "-H", "content-length: 0", "-n", "1", url],
                       ["header 'content-length' given twice"], label="Content-Length twice")
    expect_usage_error(c, rl, ["-m", "POST", "-b", "abc", "-H", "Content-Length: 3", "-n", "1", url],
                       ["header 'Content-Length' is set by ringload from the body"], label="Content-Length with -b")
    expect_usage_error(c, rl, ["--until", "x", "-n", "1", url], ["--until"])
    expect_usage_error(c, rl, ["--sse", "-n", "1", f"ws://127.0.0.1:{port}/"], ["--sse"], label="--sse with ws://")
    expect_usage_error(c, rl, ["--sse", "--ws", "-n", "1", url], ["--sse", "--ws"])


def test_setup(c, rl, port):
    expect_setup_error(c, rl, ["-n", "1", f"http://{h.UNRESOLVABLE_HOST}/"], h.UNRESOLVABLE_HOST,
                       "unresolvable host", max_s=15)
    expect_setup_error(c, rl, ["-n", "10", "-d", "10s", f"http://127.0.0.1:{port}/"], "refused",
                       "refused port", max_s=5)


def test_body_file(c, rl, port, tmp):
    missing = os.path.join(tmp, "no-such-body.bin")
    res = h.run_cli(rl, ["-m", "POST", "--body-file", missing, "-n", "1",
                         f"http://127.0.0.1:{port}/"])
    c.check("missing --body-file: exit 1 or 2", res.rc in (1, 2), res.describe())
    c.check("missing --body-file: message names the file", missing in output(res),
            res.describe())


def test_info(c, rl):
    res = h.run_cli(rl, ["--version"])
    c.eq("--version: exit code", res.rc, 0)
    c.check("--version: prints a version number",
            re.search(r"\d+\.\d+(\.\d+)?", res.out) is not None, res.describe())
    res = h.run_cli(rl, ["--help"])
    c.eq("--help: exit code", res.rc, 0)
    for flag in ("--connections", "--threads", "--duration", "--requests", "--json"):
        c.check(f"--help: mentions {flag}", flag in res.out, res.describe())


def tests(env):
    rl = env.ringload
    port = h.free_port()  # nobody listens here: connections are refused
    env.checks.check("probe port is closed", not h.port_accepts(port), f"port={port}")
    return [
        ("usage errors", test_usage, rl, port),
        ("setup errors", test_setup, rl, port),
        ("body file", test_body_file, rl, port, env.tmp),
        ("info", test_info, rl),
    ]


if __name__ == "__main__":
    h.main(tests, title="cli errors", description=__doc__)
