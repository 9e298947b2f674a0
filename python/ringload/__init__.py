"""ringload from Python: the io_uring load engine, driven from a script.

    import ringload
    report = ringload.run("http://127.0.0.1:8080/", connections=64, duration=10)
    print(report["throughput"]["rps"], report["latency_us"]["p99"])

The options are the CLI's flags, named as in the CLI with "_" for "-" (``ringload --help``):
``connections=64`` is ``-c 64``, ``requests_file="r.jsonl"`` is ``-f r.jsonl``,
``header=["X-A: 1"]`` is ``-H "X-A: 1"``. Two differ: ``total`` is ``-n`` (``requests`` is
a list of request dicts with the request-file keys) and ``headers`` may be a dict. Durations
take seconds (numbers) or the CLI's strings ("1m30s"). The report is the dict the CLI's
``--json`` prints, made by the same library function. A ``plugin`` ending in ".py" is a
module of Python hooks (``handle_request`` / ``handle_response``), run in this interpreter.

Errors are exceptions with the CLI's messages: ValueError for a bad option, URL, request or
plugin (before any traffic), FileNotFoundError for a missing request file, StartError when
the run cannot start (the host does not resolve, the connection is refused), OutputError
when the export failed (the run stops there), PluginError when ``plugin_errors="fatal"``
stopped the run and ThresholdError when a ``threshold`` (the CLI's --threshold: "p99<50ms",
"errors<0.1%") failed; the last three carry the run's report in ``.report``.
"""
import json
import os
import re

from . import _ringload
from ._ringload import StartError

__all__ = ["run", "Engine", "StartError", "OutputError", "PluginError", "ThresholdError", "__version__"]
__version__ = _ringload.version


class OutputError(OSError):
    """The export could not be written: the run stopped there. ``report`` holds its report."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


class PluginError(RuntimeError):
    """A plugin's hook failed and plugin_errors="fatal" stopped the run (``report``)."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


class ThresholdError(RuntimeError):
    """The run finished but a threshold failed (the CLI's exit status 5): ``report`` holds its
    report, whose "thresholds" list says which and what was measured."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


# Options taking a value, as the CLI names them (the value goes through the CLI's checks).
_VALUE = (
    "requests_file", "iterations", "seed", "connections_total", "export", "export_max_body",
    "cacert", "cert", "key", "sni", "qps", "arrival", "stages", "adaptive", "connections",
    "threads", "duration", "method", "body", "body_file", "timeout", "reconnect_backoff",
    "max_events", "stream_timeout", "until", "expect", "idle_timeout", "ws_repeat",
    "ws_interval", "ws_max_message", "plugin_errors", "success_status", "spin", "html",
    "max_streams",
)
# Flags without a value: True sets them, False or None leaves them out.
_SWITCH = ("loop", "shuffle", "export_errors_only", "insecure", "no_tls_resume",
           "tls_handshake_each", "no_spin", "sse", "ws", "h2c", "http2")
# Repeatable options: a string or a list of strings.
_REPEAT = {"header": "--header", "headers": "--header", "ws_message": "--ws-message",
           "ws_subprotocol": "--ws-subprotocol", "plugin": "--plugin", "plugins": "--plugin",
           "threshold": "--threshold", "thresholds": "--threshold"}
_SECONDS = ("duration", "timeout", "reconnect_backoff", "stream_timeout", "idle_timeout", "ws_interval")
_OPTIONS = frozenset(_VALUE) | frozenset(_SWITCH) | frozenset(_REPEAT) | {"total"}


def _flag(name):
    return "--" + name.replace("_", "-")


def _value(name, value):
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected a value, not {value!r}")
    if name in _SECONDS and isinstance(value, (int, float)):
        return f"{value!r}s"
    if name == "success_status" and isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _repeated(name, value):
    if isinstance(value, dict) and _REPEAT[name] == "--header":
        return [f"{k}: {v}" for k, v in value.items()]
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) if isinstance(v, os.PathLike) else str(v) for v in value]


def _argv(url, options):
    """The CLI's arguments for these options (TypeError for a name the CLI does not have)."""
    argv = []
    for name, value in options.items():
        if name not in _OPTIONS:
            raise TypeError(f"unknown option {name!r} (the CLI's flags, with '_' for '-')")
        if value is None:
            continue
        if name == "total":
            argv += ["--requests", _value(name, value)]
        elif name in _SWITCH:
            if not isinstance(value, bool):
                raise TypeError(f"{name}: expected True or False, not {value!r}")
            argv += [_flag(name)] if value else []
        elif name in _REPEAT:
            for v in _repeated(name, value):
                argv += [_REPEAT[name], v]
        else:
            argv += [_flag(name), _value(name, value)]
    if url is not None:
        argv.append(str(url))
    return argv


def _check_writable(path):
    """html=: the page's file can be written, before any traffic (the CLI's exit 2)."""
    existed = os.path.exists(path)
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        raise ValueError(f"--html '{path}': cannot write it: {e.strerror}") from None
    if not existed:
        os.unlink(path)


class _Requests:
    """A list of request dicts as an in-memory JSON Lines file (memfd) for the engine to load;
    its errors name requests[INDEX] instead of the file."""

    def __init__(self, requests):
        if isinstance(requests, (str, bytes, dict)):
            raise TypeError("requests: expected a list of request dicts")
        lines = []
        for i, r in enumerate(requests):
            if not isinstance(r, dict):
                raise TypeError(f"requests[{i}]: expected a dict, not {type(r).__name__}")
            lines.append(json.dumps(r, separators=(",", ":")))
        self.fd = os.memfd_create("ringload-requests")
        os.write(self.fd, ("\n".join(lines) + "\n").encode())
        self.path = f"/proc/self/fd/{self.fd}"

    def message(self, text):
        text = re.sub(re.escape(self.path) + r":(\d+):(\d+):",
                      lambda m: f"requests[{int(m.group(1)) - 1}]: column {m.group(2)}:", text)
        return text.replace(self.path + ":", "requests:")

    def close(self):
        os.close(self.fd)


class Engine:
    """A run to start, watch and stop: ``start()``, ``snapshot()``, ``set_qps()``,
    ``stop()``, ``wait()``, ``report()``. Usable from another thread (the engine releases
    the GIL); as a context manager, leaving the block stops the run and waits for it. One
    run per Engine."""

    def __init__(self, url=None, *, requests=None, **options):
        if requests is not None:
            if options.get("requests_file") is not None:
                raise ValueError("requests and requests_file: give one of them")
            reqs = _Requests(requests)
            try:
                self._engine = _ringload._Engine(_argv(url, dict(options, requests_file=reqs.path)))
            except (ValueError, OSError) as e:
                raise type(e)(reqs.message(str(e))) from None
            finally:
                reqs.close()
        else:
            self._engine = _ringload._Engine(_argv(url, options))
        self._report = None
        self._html = self._engine.options()["html"]
        if self._html:
            _check_writable(self._html)

    def prepare(self):
        """Loads the plugins and resolves and reaches every target (optional: start() does it)."""
        self._engine.prepare()

    def start(self):
        """Starts the run and returns once its shards run. Ctrl-C while it starts stops the
        run cleanly, then is raised."""
        try:
            self._engine.start()
            return self
        except KeyboardInterrupt:
            self._stop_and_wait()
            raise

    def _stop_and_wait(self):
        self._engine.stop()
        try:
            self._engine.wait(None)
        except RuntimeError:
            pass  # interrupted before the run started: nothing runs

    def stop(self):
        """Ends the run at the next tick (its report says interrupted). Any thread."""
        self._engine.stop()

    def wait(self, timeout=None):
        """Waits for the run to end (None: however long it takes); True once it has. Ctrl-C
        stops the run cleanly (every finished response exported once), then is raised."""
        step = 0.1 if timeout is None else min(0.1, timeout)
        waited = 0.0
        try:
            while not self._engine.wait(step):
                waited += step
                if timeout is not None and waited >= timeout:
                    return False
        except KeyboardInterrupt:
            self._stop_and_wait()
            raise
        return True

    def snapshot(self):
        """Live figures: {"running", "elapsed_s", "in_flight", "target_qps", "window",
        "totals"}; window is the last progress window, totals the cumulative counts and
        latency percentiles so far (the numbers the report will hold)."""
        return self._engine.snapshot()

    def set_qps(self, qps):
        """Open loop with a fixed rate: the rate from now on (requests/s over all shards)."""
        self._engine.set_qps(float(qps))

    def report(self):
        """The run's JSON report as a dict (after wait()): the CLI's --json, key for key."""
        if self._report is None:
            self._report = json.loads(self._engine.report())
        return self._report

    def outcome(self):
        """What the CLI tells by its exit status: interrupted, export_error (and export_lines),
        plugin_stopped (and plugin_error), threshold_error ("": every threshold passed)."""
        return self._engine.outcome()

    def run(self):
        """start(), wait(), then the report; OutputError / PluginError / ThresholdError as run()
        raises them."""
        try:
            self.start()
            self.wait()
        except KeyboardInterrupt:
            # Raised between start() and wait() (a signal is seen at the next bytecode, after
            # the call that was running returned): the run must not go on unattended.
            self._stop_and_wait()
            raise
        return self._checked()

    def _checked(self):
        report, outcome = self.report(), self.outcome()
        if self._html:
            page = _ringload.html_report([(os.path.basename(self._html), self._engine.report())])
            try:
                with open(self._html, "w", encoding="utf-8") as f:
                    f.write(page)
            except OSError as e:
                raise OutputError(f"cannot write the HTML report to '{self._html}': {e.strerror}", report) from None
        if outcome["export_error"]:
            raise OutputError(f"the export failed and stopped the run: {outcome['export_error']} "
                              f"({outcome['export_lines']} whole lines written)", report)
        if outcome["plugin_stopped"]:
            raise PluginError("a plugin's hook failed and plugin_errors='fatal' stopped the run: "
                              f"{outcome['plugin_error']}", report)
        if outcome["threshold_error"]:
            raise ThresholdError(outcome["threshold_error"], report)
        return report

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self._engine.stop()
            self._engine.wait(None)
        except RuntimeError:
            pass  # never started
        return False


def run(url=None, *, requests=None, requests_file=None, connections=None, threads=None,
        duration=None, total=None, qps=None, adaptive=None, export=None, **options):
    """Runs a load and returns its report (the dict the CLI's --json prints).

    url            the target (or give requests / requests_file)
    requests       a list of request dicts with the request-file keys (url, method, headers,
                   body, timeout, name, proto, http2, ...), loaded like a request file
    requests_file  a JSON Lines request file (-f)
    connections    -c (default 64); threads: -t (default: one per CPU)
    duration       -d, seconds or "30s"; total: -n (requests to send)
    qps            --qps; adaptive: --adaptive SPEC; export: --export FILE.jsonl
    html           --html FILE: the HTML report, written when the run ends (OutputError if not)
    **options      any other CLI flag with '_' for '-': method, header / headers, body,
                   timeout, iterations, loop, stages, plugin / plugins, plugin_errors,
                   success_status, threshold / thresholds, insecure, sse, ws, ...
    """
    named = dict(requests_file=requests_file, connections=connections, threads=threads,
                 duration=duration, total=total, qps=qps, adaptive=adaptive, export=export)
    return Engine(url, requests=requests, **named, **options).run()
