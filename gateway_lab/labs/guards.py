"""The course's guards, seen from outside: what they cost, and an engine without one.

Theory of operation: every app that ``gl.serve_wsgi`` or ``gl.serve_asgi``
serves runs inside a guard (:class:`~gateway_lab.serving.wsgi_guard.WSGIGuard`,
:class:`~gateway_lab.serving.asgi_guard.ASGIGuard`): a request log, a 500 for
a crash, and the protocol's mistakes in plain words. That is right for a
course, but it means a lab that times "werkzeug" or probes "wsgiref" also
times and probes the guard. Two tools let notebook 09 say how much:

* :func:`guard_costs` calls a WSGI app and an ASGI app directly, with no
  server and no socket, each call once bare and once inside its guard, in
  alternating order, and keeps every time (:class:`~.perf.Timings`): the
  difference of the medians is what the guard adds to each request.
* :func:`serve_bare_wsgi` serves a WSGI app with one of the course's engines
  (the very runner ``gl.serve_wsgi`` uses) but **without** the guard, on
  127.0.0.1 and an ephemeral port, for the length of a ``with`` block. It is
  not registered with ``gl.servers()``; the engine's own log is kept on the
  handle (``.log``), never printed.

Both only talk to 127.0.0.1, and every call is bounded: the bare server
stops within ``STOP_SECONDS`` when the block ends, whatever the app does.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults

from gateway_lab.labs.perf import Timings, _check_count
from gateway_lab.serving.asgi_guard import ASGIGuard
from gateway_lab.serving.engines import WSGI_ENGINES, runner_class
from gateway_lab.serving.log import ServerLog
from gateway_lab.serving.loopback import LOOPBACK, bind_loopback
from gateway_lab.serving.wsgi_guard import WSGIGuard
from gateway_lab.types import ASGIApp, Message, WSGIApp

__all__ = ["BareServer", "GuardCost", "guard_costs", "serve_bare_wsgi"]

STOP_SECONDS = 2.0


@dataclass
class GuardCost:
    """One interface's direct calls, bare and inside its guard, timed in turn."""

    interface: str  # "WSGI" or "ASGI"
    guard: str  # the guard's class name
    bare: Timings
    guarded: Timings

    @property
    def overhead(self) -> float:
        """What the guard adds to one call, in seconds (median guarded - median bare)."""
        return self.guarded.median - self.bare.median

    def __str__(self) -> str:
        return (
            f"{self.interface} hello world called directly, {self.bare.count} times each: "
            f"median {self.bare.median * 1e6:.1f} µs bare, {self.guarded.median * 1e6:.1f} µs "
            f"inside {self.guard}: the guard adds {self.overhead * 1e6:.1f} µs per call"
        )


def _wsgi_call(app: WSGIApp, environ: dict[str, Any]) -> None:
    """One request to a WSGI app, as a server would make it (body read, then closed)."""
    here = dict(environ)
    here["wsgi.input"] = io.BytesIO(b"")
    here["wsgi.errors"] = io.StringIO()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return lambda data: None

    result = app(here, start_response)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


async def _asgi_call(app: ASGIApp, scope: dict[str, Any]) -> None:
    """One GET to an ASGI app, as a server would make it (every message taken)."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    await app(dict(scope), receive, send)


def _http_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": (LOOPBACK, 50000),
        "server": (LOOPBACK, 80),
    }


async def guard_costs(
    wsgi_app: WSGIApp, asgi_app: ASGIApp, count: int, *, warmup: int = 1
) -> list[GuardCost]:
    """Time ``count`` direct calls of each app, bare and guarded, in alternating order.

    Awaited (``await guard_costs(...)`` in a cell), because the ASGI calls
    need an event loop; the WSGI calls are plain calls.
    """
    _check_count(count, warmup)
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    scope = _http_scope()
    log = ServerLog("guard-cost")
    wsgi_guarded = WSGIGuard(wsgi_app, log)
    asgi_guarded = ASGIGuard(asgi_app, log)
    wsgi = GuardCost("WSGI", "WSGIGuard", Timings(label="WSGI bare"), Timings(label="WSGI guarded"))
    asgi = GuardCost("ASGI", "ASGIGuard", Timings(label="ASGI bare"), Timings(label="ASGI guarded"))
    wsgi_pair: list[tuple[WSGIApp, Timings]] = [(wsgi_app, wsgi.bare), (wsgi_guarded, wsgi.guarded)]
    asgi_pair: list[tuple[ASGIApp, Timings]] = [(asgi_app, asgi.bare), (asgi_guarded, asgi.guarded)]
    for number in range(warmup + count):
        for wsgi_one, into in wsgi_pair if number % 2 == 0 else reversed(wsgi_pair):
            started = time.perf_counter()
            _wsgi_call(wsgi_one, environ)
            if number >= warmup:
                into.seconds.append(time.perf_counter() - started)
    for number in range(warmup + count):
        for asgi_one, into in asgi_pair if number % 2 == 0 else reversed(asgi_pair):
            started = time.perf_counter()
            await _asgi_call(asgi_one, scope)
            if number >= warmup:
                into.seconds.append(time.perf_counter() - started)
    if log.errors:  # the hello worlds must not fail: a failure would time the 500 page
        raise RuntimeError(f"an app failed inside its guard: {log.errors[0].summary}")
    return [wsgi, asgi]


@dataclass
class BareServer:
    """A WSGI engine serving an app with no guard around it (see :func:`serve_bare_wsgi`)."""

    engine: str
    port: int
    log: ServerLog

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"


@contextmanager
def serve_bare_wsgi(app: WSGIApp, engine: str = "werkzeug") -> Iterator[BareServer]:
    """Serve ``app`` with ``engine`` and nothing of the course's in between.

    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"hi"]
    >>> with serve_bare_wsgi(app, "wsgiref") as bare:
    ...     bare.url.startswith("http://127.0.0.1:")
    True
    """
    if engine not in WSGI_ENGINES:
        raise ValueError(f"engine must be one of {', '.join(WSGI_ENGINES)}, not {engine!r}")
    if not callable(app):
        raise TypeError(f"app must be a WSGI app (a callable), not {type(app).__name__}")
    sock = bind_loopback(0)
    log = ServerLog(f"bare-{engine}")
    runner = runner_class("wsgi", engine)(app, sock, log)  # no WSGIGuard: the point
    try:
        runner.start()
    except BaseException:
        sock.close()
        raise
    try:
        yield BareServer(engine, sock.getsockname()[1], log)
    finally:
        runner.stop(timeout=STOP_SECONDS)
