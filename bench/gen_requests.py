#!/usr/bin/python3
"""Writes a JSONL request file for bench_load_requests (and for runs with -f).

    bench/gen_requests.py [OUT] [--lines N] [--mix typical|varied] [--port P] [--seed S]

typical: every line like
    {"url":"http://127.0.0.1:8080/item/123","method":"GET","headers":{"X-Id":"123"}}
varied: the same with, mixed in, POSTs with JSON and base64 bodies, header pairs,
    timeouts and names (about a third of the lines).
Default: 1,000,000 typical lines to /tmp/requests-1m.jsonl.
"""
import argparse
import base64
import json
import random
import sys


def typical(i, port, rng):
    n = rng.randrange(1, 1_000_000)
    return ('{"url":"http://127.0.0.1:%d/item/%d","method":"GET","headers":{"X-Id":"%d"}}'
            % (port, n, n))


def varied(i, port, rng):
    kind = rng.randrange(9)
    n = rng.randrange(1, 1_000_000)
    url = "http://127.0.0.1:%d/item/%d" % (port, n)
    if kind == 0:
        line = {"url": url, "method": "POST", "body": {"id": n, "tags": ["a", "b"], "ok": True},
                "name": "create"}
    elif kind == 1:
        line = {"url": url, "method": "PUT", "body_base64": base64.b64encode(b"x" * (n % 64)).decode(),
                "timeout": 2.5}
    elif kind == 2:
        line = {"url": url + "?q=%d" % n, "headers": [["Accept", "*/*"], ["X-Tag", "a"], ["X-Tag", "b"]],
                "name": "search"}
    else:
        return typical(i, port, rng)
    return json.dumps(line, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="/tmp/requests-1m.jsonl")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--mix", choices=("typical", "varied"), default="typical")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    make = typical if args.mix == "typical" else varied
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(args.lines):
            f.write(make(i, args.port, rng))
            f.write("\n")
    print("wrote %d lines to %s" % (args.lines, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
