#!/usr/bin/python3
"""The HTML report (issue 15) against ringload-target on loopback, looked at by a browser:

- `--html FILE` on a closed-loop run (a request file mixing 200, 404 and 503), an open-loop
  `--qps` run and an `--adaptive` run, and `ringload report run.json -o run.html`, and a
  comparison of two runs (`ringload report a.json b.json -o compare.html`);
- Debian's headless Chromium opens each page with the network off (a fresh network
  namespace: `unshare -n`), dumps the DOM after the scripts ran and takes a screenshot:
  every expected chart was drawn (its canvas has data-points equal to the number of points
  the report gives it, and pixels in the datasets' colours), the page said "done", the
  screenshot is not blank; and each figure of the summary table is the JSON report's
  (data-value exact, the text shown the same number as rounded);
- the page is one file: no element loads anything (src/href), a CSP forbids fetches;
- an SSE run and a WebSocket run have their panels with the report's counts;
- Python: ringload.run(..., html=FILE) writes the page;
- bad input: a missing file, a file that is not a ringload report, another version: exit 2
  naming the file; an --html path that cannot be opened: exit 2 before any traffic; one that
  cannot be written (/dev/full): the run's outputs are written, the HTML error named, exit 3.
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time

import harness as h

WINDOW = (1400, 1900)
CHROMIUM_TIMEOUT_S = 60.0


# ------------------------------------------------------------------ the browser

def chromium_prefix():
    """(command prefix that cuts the network, None) or (None, why not)."""
    chromium = shutil.which("chromium")
    if not chromium:
        return None, "chromium is not installed (apt-get install chromium)"
    for prefix in (["unshare", "-n"], ["unshare", "-r", "-n"]):
        try:
            if subprocess.run(prefix + ["true"], capture_output=True, timeout=10).returncode == 0:
                return prefix + [chromium], None
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None, "neither `unshare -n` (root) nor `unshare -r -n` (user namespace) works here"


def chromium(prefix, tmp, page, *args):
    """Runs headless Chromium on `page` (network off); returns its stdout."""
    cmd = prefix + ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-dev-shm-usage", f"--user-data-dir={os.path.join(tmp, 'chromium-profile')}",
                    f"--window-size={WINDOW[0]},{WINDOW[1]}", "--hide-scrollbars",
                    "--virtual-time-budget=5000", *args, "file://" + os.path.abspath(page)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S)
    if res.returncode != 0:
        raise RuntimeError(f"chromium exited {res.returncode}: {res.stderr[-800:]}")
    return res.stdout


class Dom(html.parser.HTMLParser):
    """The dumped DOM's attributes: <body>, each <canvas> by id, each <td> with data-key."""

    def __init__(self, text):
        super().__init__()
        self.body = {}
        self.canvases = {}
        self.cells = []  # (attributes, text)
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "canvas":
            self.canvases[a.get("id")] = a
        elif tag == "td" and "data-key" in a:
            self._cell = [a, ""]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(tuple(self._cell))
            self._cell = None


# ------------------------------------------------------------- what to expect

def spectrum_points(block):
    """Points of the page's percentile spectrum of a histogram block (html_report.hpp)."""
    count = block["count"]
    if count == 0:
        return 0
    k = 0
    while 2.0 ** (k / 5) < count:
        k += 1
    return k + 2


def expected_charts(report):
    """{canvas id: data points} of a run's page."""
    windows = len(report["timeline"])
    open_loop = report["open_loop"] is not None
    classes = sum(1 for c in ("1xx", "2xx", "3xx", "4xx", "5xx")
                  if sum(w["status_classes"][c] for w in report["timeline"]) > 0)
    spectra = spectrum_points(report["latency_us"])
    if open_loop:
        spectra += spectrum_points(report["service_time_us"])
    if report["error_latency_us"]["count"] > 0:
        spectra += spectrum_points(report["error_latency_us"])
    return {"chart-rps": windows * (2 if open_loop else 1), "chart-latency": 4 * windows,
            "chart-percentiles": spectra, "chart-status": windows * (classes + 1)}


def value_at(report, key):
    if key == "errors":
        return sum(report["errors"].values())
    node = report
    for part in key.split("."):
        node = node[part]
    return node


def shown_number(text):
    """The number a cell shows, in the report's unit (us for times, per second for rates)."""
    t = text.replace(",", "").replace("\u00d7", "").strip()
    m = re.match(r"^(-?[0-9.]+)\s*(\S*)$", t)
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2)
    scale = {"\u00b5s": 1, "ms": 1e3, "s": 1e6, "B/s": 1, "kB/s": 1e3, "MB/s": 1e6, "GB/s": 1e9, "/s": 1, "": 1}
    return v * scale.get(unit, float("nan"))


def check_cells(c, name, dom, reports, keys):
    """Every figure cell is its report's value (exactly, and as shown); `keys` must be there."""
    seen = set()
    problems = []
    empty = 0
    for attrs, text in dom.cells:
        if "data-key" in attrs and "." in attrs["data-key"]:
            # A histogram holding no requests (no failures, say) has no percentiles: its
            # cell says "-" (its row is left out when no run has any), never 0.
            run = int(attrs.get("data-run", 0))
            try:
                block = value_at(reports[run], attrs["data-key"].rsplit(".", 1)[0])
            except (KeyError, TypeError):
                block = None
            if isinstance(block, dict) and "hdr" in block and block.get("count") == 0:
                empty += 1
                if "data-value" in attrs or text.strip() != "-":
                    problems.append(f"run {run} {attrs['data-key']}: an empty histogram shows {text!r}, not '-'")
                continue
        if "data-value" not in attrs or attrs["data-key"].startswith(("status_codes.", "errors.")):
            continue
        run = int(attrs.get("data-run", 0))
        key = attrs["data-key"]
        want = value_at(reports[run], key)
        got = json.loads(attrs["data-value"])
        seen.add((run, key))
        if got != want:
            problems.append(f"run {run} {key}: data-value {got} != report {want}")
        shown = shown_number(text)
        if key == "duration_s" and shown is not None:
            shown /= 1e6  # "2.00 s": the report's seconds, not a time in us
        if shown is None or abs(shown - want) > max(0.006 * abs(want), 0.051):
            problems.append(f"run {run} {key}: shown {text!r} is not {want}")
    for run in range(len(reports)):
        for key in keys:
            if (run, key) not in seen:
                problems.append(f"run {run} {key}: no cell")
    h.check_problems(c, f"{name}: summary table figures equal the report's ({len(seen)} cells; "
                        f"{empty} of empty histograms, as '-')", problems)


def check_page_file(c, name, page):
    with open(page, encoding="utf-8") as f:
        text = f.read()
    loads = re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*\s(?:src|href)\s*=", text, re.I)
    c.check(f"{name}: one file, nothing loaded from elsewhere ({len(text) / 1024:.0f} KB)",
            not loads and "Content-Security-Policy" in text and "Chart.js v3.9.1" in text, f"loads={loads[:3]}")


def check_rendered(c, name, dom, charts):
    c.eq(f"{name}: the page's script finished", dom.body.get("data-render"), "done")
    c.eq(f"{name}: charts drawn", int(dom.body.get("data-charts", -1)), len(charts))
    for cid, points in charts.items():
        a = dom.canvases.get(cid) or {}
        c.eq(f"{name}: {cid} plots {points} points", int(a.get("data-points", -1)), points)
        c.check(f"{name}: {cid} is not blank (pixels {a.get('data-pixels')}, in dataset colours {a.get('data-ink')})",
                int(a.get("data-pixels", 0)) > 2000 and int(a.get("data-ink", 0)) > 100, f"attributes={a}")


def check_screenshot(c, name, png):
    try:
        from PIL import Image  # python3-pil
    except ImportError:
        with open(png, "rb") as f:
            head = f.read(8)
        c.check(f"{name}: screenshot is a PNG (python3-pil missing: not inspected)",
                head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 20000)
        return
    img = Image.open(png).convert("RGB")
    small = img.resize((img.width // 4, img.height // 4))
    pixels = list(small.getdata())
    colours = len(set(pixels))
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)
    c.check(f"{name}: screenshot {img.width}x{img.height} not blank ({colours} colours, {coloured} coloured pixels)",
            img.size == WINDOW and colours > 100 and coloured > 500)


# ---------------------------------------------------------------------- tests

class Pages:
    """The runs' reports and pages, shared by the tests."""

    def __init__(self):
        self.reports = {}
        self.pages = {}


SUMMARY_KEYS = ["requests.total", "requests.failed", "errors", "throughput.rps", "latency_us.p50",
                "latency_us.p99", "latency_us.max", "duration_s"]


def run_with_html(c, env, pages, label, args):
    out_json = os.path.join(env.tmp, f"{label}.json")
    out_html = os.path.join(env.tmp, f"{label}.html")
    res = h.run_ringload(env.ringload, ["-o", out_json, "--html", out_html] + args, timeout=60)
    if not c.eq(f"{label}: exit 0", res.rc, 0):
        print(res.describe())
        return
    with open(out_json) as f:
        c.eq(f"{label}: -o holds the report printed", json.load(f), res.report)
    pages.reports[label] = res.report
    pages.pages[label] = out_html
    check_page_file(c, f"{label} --html", out_html)


def test_runs(c, env, tgt, pages):
    reqs = os.path.join(env.tmp, "mixed.jsonl")
    with open(reqs, "w") as f:
        for path in ["/", "/", "/", "/status/404", "/status/503", "/", "/delay/2"]:
            f.write(json.dumps({"url": tgt.url(path)}) + "\n")
    run_with_html(c, env, pages, "closed", ["-t", "1", "-c", "4", "-d", "2s", "-f", reqs, "--loop"])
    run_with_html(c, env, pages, "open", ["-t", "1", "-c", "8", "--qps", "400", "-d", "2s", tgt.url("/")])
    run_with_html(c, env, pages, "adaptive", ["-t", "1", "-c", "8", "--adaptive", "--qps", "200",
                                              "--qps-max", "5000", "-d", "3s", tgt.url("/")])
    if "closed" in pages.reports:
        r = pages.reports["closed"]
        # Each window's responses by class add up to its requests (no errors here), and the
        # 404s and 503s are there.
        c.check("closed: the timeline has p90, max and status classes (404, 503 among them)",
                all(w["max_us"] >= w["p99_us"] >= w["p90_us"] >= w["p50_us"] for w in r["timeline"])
                and all(sum(w["status_classes"].values()) == w["requests"] for w in r["timeline"] if w["errors"] == 0)
                and sum(w["status_classes"]["4xx"] for w in r["timeline"]) > 0
                and sum(w["status_classes"]["5xx"] for w in r["timeline"]) > 0,
                f"timeline={r['timeline']} status_codes={r['status_codes']}")
    if "adaptive" in pages.reports:
        c.eq("adaptive: open_loop.schedule", pages.reports["adaptive"]["open_loop"]["schedule"], "adaptive")
    # The same page from the saved report, by `ringload report`.
    page = os.path.join(env.tmp, "closed-report.html")
    res = h.run_cli(env.ringload, ["report", os.path.join(env.tmp, "closed.json"), "-o", page])
    if c.eq("ringload report closed.json -o closed-report.html: exit 0", res.rc, 0):
        pages.pages["closed-report"] = page
        pages.reports["closed-report"] = pages.reports.get("closed")
        check_page_file(c, "ringload report", page)
    page = os.path.join(env.tmp, "compare.html")
    res = h.run_cli(env.ringload, ["report", os.path.join(env.tmp, "closed.json"),
                                   os.path.join(env.tmp, "open.json"), "-o", page])
    if c.eq("ringload report closed.json open.json -o compare.html: exit 0", res.rc, 0):
        pages.pages["compare"] = page
        check_page_file(c, "compare", page)


def render(c, env, prefix, pages, label, screenshot):
    """The DOM of a page after its scripts ran (and its screenshot), network off."""
    args = ["--dump-dom"]
    png = os.path.join(env.tmp, f"{label}.png")
    if screenshot:
        args.append(f"--screenshot={png}")
    t0 = time.monotonic()
    dom = Dom(chromium(prefix, env.tmp, pages.pages[label], *args))
    print(f"{label}: rendered in {time.monotonic() - t0:.1f} s", flush=True)
    if screenshot:
        check_screenshot(c, label, png)
    return dom


def test_browser(c, env, pages):
    prefix, why = chromium_prefix()
    if prefix is None:
        print(f"SKIP the browser checks: {why}", flush=True)
        return
    for label in ("closed", "open", "adaptive", "closed-report"):
        if label not in pages.pages or not pages.reports.get(label):
            continue
        dom = render(c, env, prefix, pages, label, screenshot=label == "adaptive")
        report = pages.reports[label]
        check_rendered(c, f"{label} (network off)", dom, expected_charts(report))
        check_cells(c, label, dom, [report], SUMMARY_KEYS)
    if "compare" in pages.pages:
        runs = [pages.reports["closed"], pages.reports["open"]]
        dom = render(c, env, prefix, pages, "compare", screenshot=True)
        charts = {"chart-percentiles": sum(spectrum_points(r["latency_us"]) for r in runs),
                  "chart-rps": sum(len(r["timeline"]) for r in runs),
                  "chart-p99": sum(len(r["timeline"]) for r in runs)}
        check_rendered(c, "compare (network off)", dom, charts)
        check_cells(c, "compare", dom, runs, SUMMARY_KEYS)
        ratios = [(a, t) for a, t in dom.cells if "data-ratio" in a]
        bad = [a for a, t in ratios
               if abs(float(a["data-ratio"]) * value_at(runs[0], a["data-key"]) - value_at(runs[1], a["data-key"]))
               > 1e-5 * abs(value_at(runs[1], a["data-key"])) + 1e-9]
        c.check(f"compare: ratios to the first run ({len(ratios)})", ratios and not bad, f"bad={bad[:3]}")


def test_stream_panels(c, env, tgt):
    """The SSE and WebSocket blocks have their panels (written as HTML: no browser needed)."""
    port = tgt.url("/").split(":")[2].rstrip("/")
    for label, args, block, title in [
            ("sse", ["--sse", tgt.url("/sse?n=3")], "sse", "Server-Sent Events"),
            ("ws", ["--ws-message", "hello", f"ws://127.0.0.1:{port}/ws"], "ws", "WebSocket")]:
        page = os.path.join(env.tmp, f"{label}.html")
        res = h.run_ringload(env.ringload, ["-t", "1", "-c", "2", "-n", "20", "--html", page] + args, timeout=60)
        if not c.eq(f"{label}: exit 0", res.rc, 0):
            print(res.describe())
            continue
        with open(page, encoding="utf-8") as f:
            text = f.read()
        count = res.get(block, "streams" if block == "sse" else "sessions")
        row = f"<tr><th>{'streams' if block == 'sse' else 'sessions'}</th><td>{count}</td></tr>"
        c.check(f"{label}: the {title} panel, with the report's count ({count})",
                f"<h3>{title}</h3>" in text and row in text and count == 20, f"looked for {row!r}")
    with open(os.path.join(env.tmp, "closed.html"), encoding="utf-8") as f:
        text = f.read()
    c.check("closed: no SSE, WebSocket, HTTP/2 or TLS panel without those blocks",
            not any(f"<h3>{t}</h3>" in text for t in ("Server-Sent Events", "WebSocket", "HTTP/2", "TLS")))


def test_python(c, env, tgt):
    """ringload.run(..., html=FILE) writes the run's page; a path that cannot be opened is a
    ValueError before any traffic."""
    sdk = os.path.join(os.path.dirname(os.path.abspath(env.ringload)), "python")
    if not os.path.exists(os.path.join(sdk, "ringload", "__init__.py")):
        print("SKIP the Python SDK: the module is not built", flush=True)
        return
    sys.path.insert(0, sdk)
    import ringload
    page = os.path.join(env.tmp, "python.html")
    report = ringload.run(tgt.url("/"), connections=2, threads=1, total=100, html=page)
    with open(page, encoding="utf-8") as f:
        text = f.read()
    c.check("python html=: the page of the run, with its figures",
            report["requests"]["total"] == 100 and 'data-key="requests.total" data-value="100"' in text
            and "Chart.js v3.9.1" in text)
    before = tgt.count()
    try:
        ringload.run(tgt.url("/"), total=10, html="/nonexistent-dir/x.html")
        c.check("python html= into a missing directory raises ValueError", False, "no exception")
    except ValueError as e:
        c.check("python html= into a missing directory: ValueError before any traffic",
                "--html '/nonexistent-dir/x.html'" in str(e) and tgt.count() == before, e)


def test_bad_input(c, env, tgt):
    rl, tmp = env.ringload, env.tmp
    not_report = os.path.join(tmp, "not-report.json")
    with open(not_report, "w") as f:
        f.write('{"hello": 1}\n')
    other = os.path.join(tmp, "other-version.json")
    with open(os.path.join(tmp, "closed.json")) as f:
        doc = json.load(f)
    doc["ringload_version"] = "9.9.9"
    with open(other, "w") as f:
        json.dump(doc, f)
    garbage = os.path.join(tmp, "garbage.json")
    with open(garbage, "w") as f:
        f.write("not json at all")
    for path, says in [(os.path.join(tmp, "missing.json"), "cannot read it: No such file"),
                       (not_report, "not a ringload report"), (garbage, "not JSON"),
                       (other, "ringload_version 9.9.9")]:
        res = h.run_cli(rl, ["report", path, "-o", os.path.join(tmp, "x.html")])
        c.check(f"report {os.path.basename(path)}: exit 2 naming the file ({says})",
                res.rc == 2 and path in res.err and says in res.err and not os.path.exists(os.path.join(tmp, "x.html")),
                res.describe())
    before = tgt.count()
    res = h.run_cli(rl, ["--html", "/nonexistent-dir/run.html", "-d", "1s", tgt.url("/")])
    c.check("--html into a missing directory: exit 2 before any traffic",
            res.rc == 2 and "--html '/nonexistent-dir/run.html'" in res.err and tgt.count() == before, res.describe())
    out_json = os.path.join(tmp, "full.json")
    res = h.run_ringload(rl, ["-t", "1", "-c", "2", "-n", "50", "-o", out_json, "--html", "/dev/full", tgt.url("/")])
    c.check("--html /dev/full: the run's report written, the HTML error named, exit 3",
            res.rc == 3 and "cannot write the HTML report to '/dev/full'" in res.err
            and res.total() == 50 and os.path.getsize(out_json) > 0, res.describe())
    res = h.run_cli(rl, ["report", os.path.join(tmp, "closed.json"), "-o", "/dev/full"])
    c.check("report -o /dev/full: exit 3, named", res.rc == 3 and "'/dev/full'" in res.err, res.describe())


def tests(env):
    tgt = env.start(h.Target(env.target, threads=1, keep=env.keep))
    pages = Pages()
    return [
        ("runs", test_runs, env, tgt, pages),
        ("browser", test_browser, env, pages),
        ("stream panels", test_stream_panels, env, tgt),
        ("bad input", test_bad_input, env, tgt),
        ("python", test_python, env, tgt),
    ]


if __name__ == "__main__":
    h.main(tests, title="html report", description=__doc__)
