"""The WSGI guard: keep a learner's broken app from breaking the server or the cell.

Theory of operation: every app served from the kernel is wrapped in a guard
before any engine sees it. The guard is ordinary middleware, so it works the
same under werkzeug, wsgiref, uvicorn and our own servers, and it does three
things and nothing else:

1. **Keeps a request log**: method, path, status, bytes, time taken, one
   line per request on the server's :class:`~gateway_lab.serving.log.ServerLog`.
2. **Turns an exception into a 500** while that is still possible, and keeps
   the traceback on the log instead of printing it. WSGI has a standard way to
   do this: call ``start_response`` again *with* ``exc_info`` (PEP 3333). If
   the headers are already on the wire, that call re-raises and the server
   drops the connection: the only honest thing left to do. ``SystemExit`` and
   ``KeyboardInterrupt`` from the app count as exceptions too: a ``sys.exit()``
   in a request handler must not end the server, let alone the kernel.
3. **Names the protocol mistakes** in the words of :mod:`gateway_lab.protocol.wsgi`,
   the package's one WSGI server side, because each engine's own message for
   them is different and usually cryptic: a status or header list no server
   could send (``start_response`` raises the sentence into the app), a body
   that is a ``str``, ``bytes`` or ``None`` instead of an iterable of
   ``bytes``, a ``str`` chunk, body bytes before ``start_response``, and an app
   that never calls ``start_response`` at all. Each becomes the same 500 page
   (:func:`~gateway_lab.protocol.wsgi.failure_page`) the mini server sends.

Guards never change what the app sees: the environ passes through untouched.
A list body stays a list (wsgiref uses ``len()`` of a one-item list to set
Content-Length).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from gateway_lab.errors import GatewayLabError
from gateway_lab.protocol.bodies import body_problem, chunk_problem, shown
from gateway_lab.protocol.head import header_problems, status_problems
from gateway_lab.protocol.wsgi import APP_FAILURES, FATAL, failure_page, protocol_error
from gateway_lab.serving.log import RequestTimer, ServerLog, status_code
from gateway_lab.types import Environ, StartResponse, WSGIApp

__all__ = ["WSGIGuard"]


class WSGIGuard:
    """WSGI middleware: request log, 500 on exceptions, plain-words protocol errors."""

    def __init__(self, app: WSGIApp, log: ServerLog) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        exchange = RequestTimer(f"{environ.get('REQUEST_METHOD', '?')} {path}")

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            exchange.status = status_code(status)
            exchange.start_called = True
            _check_head(status, headers)
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, recording_start_response)
            found = body_problem(result)
            if found is not None:
                key, details = found
                raise protocol_error(key, **details)
        except APP_FAILURES as exc:
            body = self.fail(exc, start_response, exchange)
            exchange.record(self.log)
            return body
        if isinstance(result, (list, tuple)):
            return self._checked_sequence(result, start_response, exchange)
        return _GuardedBody(self, result, start_response, exchange)

    def _checked_sequence(
        self,
        result: list[Any] | tuple[Any, ...],
        start_response: StartResponse,
        exchange: RequestTimer,
    ) -> Iterable[bytes]:
        try:
            for chunk in result:
                _check_chunk(chunk, exchange)
            if not exchange.start_called:
                raise protocol_error("no-start-response")
        except GatewayLabError as exc:
            body = self.fail(exc, start_response, exchange)
            exchange.record(self.log)
            return body
        exchange.sent = sum(len(c) for c in result)
        return _RecordedList(result, self.log, exchange)

    def fail(
        self, exc: BaseException, start_response: StartResponse, exchange: RequestTimer
    ) -> list[bytes]:
        """Record ``exc`` and answer 500; re-raises if headers were already sent."""
        ours = isinstance(exc, GatewayLabError)
        summary = str(exc) if ours else f"{type(exc).__name__}: {exc}"
        exchange.error = summary
        self.log.error(summary, exc=exc, request=exchange.label)
        body = failure_page(summary)
        exchange.status = 500
        start_response(
            "500 Internal Server Error",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            (type(exc), exc, exc.__traceback__),
        )
        exchange.sent = len(body)
        return [body]


def _check_head(status: Any, headers: Any) -> None:
    """Raise the protocol's error (into the app) for a head no server could send."""
    problems = status_problems(status) + header_problems(headers)[0]
    for key, details in problems:
        if key in FATAL:
            raise protocol_error(key, **details)


def _check_chunk(chunk: Any, exchange: RequestTimer) -> None:
    """Raise the protocol's error for a chunk no server could send."""
    found = chunk_problem(chunk)
    if found is not None:
        key, details = found
        raise protocol_error(key, **details)
    if chunk and not exchange.start_called:
        raise protocol_error("body-before-start-response", value=shown(chunk, 30))


class _RecordedList(list[bytes]):
    """A list body, unchanged, that records the request when the server closes it."""

    def __init__(self, items: Iterable[bytes], log: ServerLog, exchange: RequestTimer) -> None:
        super().__init__(items)
        self._log = log
        self._exchange = exchange
        self._original = items

    def close(self) -> None:
        close = getattr(self._original, "close", None)
        try:
            if close is not None:
                close()
        finally:
            self._exchange.record(self._log)


class _GuardedBody:
    """Iterates the app's body, checking each chunk, and always closes it."""

    def __init__(
        self,
        guard: WSGIGuard,
        result: Iterable[Any],
        start_response: StartResponse,
        exchange: RequestTimer,
    ) -> None:
        self._guard = guard
        self._result = result
        self._start_response = start_response
        self._exchange = exchange
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._result:
                _check_chunk(chunk, self._exchange)
                self._exchange.sent += len(chunk)
                yield chunk
            if not self._exchange.start_called:
                raise protocol_error("no-start-response")
        except APP_FAILURES as exc:
            # Re-raises (so the server drops the connection) if headers are out.
            body = self._guard.fail(exc, self._start_response, self._exchange)
            self._exchange.record(self._guard.log)  # now: the client may read it at once
            yield from body

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._result, "close", None)
        try:
            if close is not None:
                close()
        except APP_FAILURES as exc:
            self._guard.log.error(
                f"close() raised {type(exc).__name__}: {exc}",
                exc=exc,
                request=self._exchange.label,
            )
        finally:
            self._exchange.record(self._guard.log)
