"""``check_wsgi`` and ``check_asgi``: the two public checks.

Theory of operation: a check first makes sure it was given an app of the
right kind (a wrong kind is a finding, not an exception, so a notebook cell
never ends in a traceback), then plays the server for each request of the
battery and gathers the findings into one :class:`Report`. The WSGI side
runs each request in a worker thread; the ASGI side runs the whole battery
on a fresh event loop in a worker thread, which is why both are plain
functions that work the same in a script and in a notebook cell whose own
loop is already running.

In the browser edition (Pyodide: no threads, see :mod:`gateway_lab.platform`)
the WSGI app is called on the calling thread, and the ASGI battery runs on
the page's own event loop while ``check_asgi`` waits for it. A
:class:`Report` is also awaitable, so ``await gl.check_asgi(app)`` gives the
same report in a browser, a notebook and a script.

>>> import gateway_lab as gl
>>> def app(environ, start_response):
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [b"Hello"]
>>> gl.check_wsgi(app).ok
True
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable
from typing import Any

from gateway_lab import specs
from gateway_lab.check.asgi.driver import run_asgi_battery
from gateway_lab.check.battery import DEFAULT_BATTERY, Probe
from gateway_lab.check.explain import short
from gateway_lab.check.head_length import head_length_problems
from gateway_lab.check.report import Report
from gateway_lab.check.rules import finding
from gateway_lab.check.wsgi.driver import run_wsgi_probe
from gateway_lab.errors import NotAnAppError, WrongInterfaceError
from gateway_lab.interface.appkind import ensure_asgi_app, ensure_wsgi_app, looks_async

__all__ = ["check_asgi", "check_wsgi"]

DEFAULT_TIMEOUT = 2.0


def _title(kind: str, app: Any) -> str:
    name = getattr(app, "__name__", None) or ("None" if app is None else type(app).__name__)
    return f"check_{kind}({name})"


def _kind_problem(app: Any, kind: str, report: Report) -> bool:
    """Add a finding and return True if ``app`` cannot be a ``kind`` app."""
    ensure = ensure_wsgi_app if kind == "wsgi" else ensure_asgi_app
    try:
        ensure(app, f"check_{kind}")
    except NotAnAppError:
        what = "None" if app is None else f"a {type(app).__name__} ({short(app)})"
        report.add(finding("app.not-callable", what=what, kind=kind))
        return True
    except WrongInterfaceError as exc:
        if _takes_unwrapped(app, 2 if kind == "wsgi" else 3, kind):
            return False
        other = "asgi" if kind == "wsgi" else "wsgi"
        item = report.add(
            finding(
                "app.wrong-kind",
                detail=str(exc),
                hint=f"Check it with gl.check_{other}(...) instead, or rewrite it.",
            )
        )
        if kind == "asgi":
            item.spec = specs.ASGI_APPLICATIONS
        return True
    return False


def _takes_unwrapped(app: Any, count: int, kind: str) -> bool:
    """A decorated app (functools.wraps) whose *wrapper* takes ``count`` arguments.

    ``inspect.signature`` follows ``__wrapped__`` to the decorated function,
    which for ``@Request.application`` takes one argument, the request.
    """
    if kind == "wsgi" and looks_async(app):
        return False
    try:
        inspect.signature(app, follow_wrapped=False).bind(*range(count))
    except (TypeError, ValueError):
        return False
    return True


def check_wsgi(
    app: Any, requests: Iterable[Probe] | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> Report:
    """Drive a WSGI app with a battery of requests and report every mistake seen.

    ``requests`` defaults to a GET, a HEAD and a POST whose body comes in
    pieces; ``timeout`` bounds each request (a hanging app is reported, never
    waited for).
    """
    probes = list(requests or DEFAULT_BATTERY)
    report = Report(_title("wsgi", app), [p.label for p in probes])
    started = time.perf_counter()
    if _kind_problem(app, "wsgi", report):
        report.requests = []
    else:
        for number, probe in enumerate(probes, 1):
            found, response = run_wsgi_probe(app, probe, report.flow, number, timeout)
            report.responses.append(response)
            for item in found:
                report.add(item)
        _judge_heads("wsgi", probes, report)
    report.seconds = time.perf_counter() - started
    return report


def check_asgi(
    app: Any,
    requests: Iterable[Probe] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    lifespan: bool = True,
    websocket: bool = True,
    blocking_ms: float = 50.0,
) -> Report:
    """Drive an ASGI app (lifespan, HTTP requests, a WebSocket) and report mistakes.

    Besides the protocol, it measures how long the app blocks the event loop
    and reports ``asgi.blocking-call`` beyond ``blocking_ms`` milliseconds.
    Works in a notebook cell: the app runs on a fresh event loop in a worker
    thread (in the browser edition, on the page's loop: ``await gl.check_asgi(app)``
    works too). ``lifespan`` / ``websocket`` switch those parts of the battery.
    """
    probes = list(requests or DEFAULT_BATTERY)
    labels = (["lifespan startup"] if lifespan else []) + [p.label for p in probes]
    labels += (["WEBSOCKET /ws"] if websocket else []) + (["lifespan shutdown"] if lifespan else [])
    report = Report(_title("asgi", app), labels)
    started = time.perf_counter()
    if _kind_problem(app, "asgi", report):
        report.requests = []
    else:
        found, report.responses = run_asgi_battery(
            app,
            probes,
            report.flow,
            timeout=timeout,
            lifespan=lifespan,
            websocket=websocket,
            lag_threshold=blocking_ms / 1000,
        )
        for item in found:
            report.add(item)
        _judge_heads("asgi", probes, report)
    report.seconds = time.perf_counter() - started
    return report


def _judge_heads(kind: str, probes: list[Probe], report: Report) -> None:
    """Each HEAD's Content-Length against the GET of its target (:mod:`.head_length`)."""
    for key, details in head_length_problems(probes, report.responses):
        label = details.pop("label")
        report.add(finding(f"{kind}.{key}", label, **details))
