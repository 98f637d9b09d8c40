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
   drops the connection: the only honest thing left to do. ASGI likewise:
   send a 500 if ``http.response.start`` has not gone out, else re-raise.
3. **Names the classic WSGI type mistakes** (returning a ``str``, ``bytes``
   or ``None`` instead of an iterable of ``bytes``; yielding ``str``) in plain
   words, because the engines' own messages for them are cryptic.

Guards never change what the app sees: the environ, scope and messages pass
through untouched. A list body stays a list (wsgiref uses ``len()`` of a
one-item list to set Content-Length).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

from gateway_lab.errors import WSGIBodyTypeError
from gateway_lab.protocol.bodies import body_type_problem, chunk_type_problem
from gateway_lab.serving.log import RequestTimer, ServerLog, status_code
from gateway_lab.types import (
    Environ,
    StartResponse,
    WSGIApp,
)

__all__ = ["WSGIGuard"]


class WSGIGuard:
    """WSGI middleware: request log, 500 on exceptions, plain-words type errors."""

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
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, recording_start_response)
            problem = body_type_problem(result)
            if problem:
                raise WSGIBodyTypeError(problem)
        except Exception as exc:
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
        for chunk in result:
            problem = chunk_type_problem(chunk)
            if problem:
                try:
                    raise WSGIBodyTypeError(problem)
                except WSGIBodyTypeError as exc:
                    body = self.fail(exc, start_response, exchange)
                exchange.record(self.log)
                return body
        exchange.sent = sum(len(c) for c in result)
        return _RecordedList(result, self.log, exchange)

    def fail(
        self, exc: Exception, start_response: StartResponse, exchange: RequestTimer
    ) -> list[bytes]:
        """Record ``exc`` and answer 500; re-raises if headers were already sent."""
        summary = str(exc) if isinstance(exc, WSGIBodyTypeError) else f"{type(exc).__name__}: {exc}"
        exchange.error = summary
        self.log.error(summary, exc=exc, request=exchange.label)
        body = (
            f"500 Internal Server Error\n\nThe app failed: {summary}\n\n"
            f"The full traceback is kept on the server: look at srv.errors in the "
            f"notebook.\n"
        ).encode("utf-8", "replace")
        exchange.status = 500
        start_response(
            "500 Internal Server Error",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            sys.exc_info(),
        )
        exchange.sent = len(body)
        return [body]


class _RecordedList(list):  # type: ignore[type-arg]
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
    """Iterates the app's body, checking chunk types, and always closes it."""

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
                problem = chunk_type_problem(chunk)
                if problem:
                    raise WSGIBodyTypeError(problem)
                self._exchange.sent += len(chunk)
                yield chunk
        except Exception as exc:
            # Re-raises (so the server drops the connection) if headers are out.
            yield from self._guard.fail(exc, self._start_response, self._exchange)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._result, "close", None)
        try:
            if close is not None:
                close()
        except Exception as exc:
            self._guard.log.error(
                f"close() raised {type(exc).__name__}: {exc}",
                exc=exc,
                request=self._exchange.label,
            )
        finally:
            self._exchange.record(self._guard.log)
