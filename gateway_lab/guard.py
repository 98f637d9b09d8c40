"""Guards: keep a learner's broken app from breaking the server or the cell.

Theory of operation: every app served from the kernel is wrapped in a guard
before any engine sees it. The guard is ordinary middleware, so it works the
same under werkzeug, wsgiref, uvicorn and our own servers, and it does three
things and nothing else:

1. **Keeps a request log**: method, path, status, bytes, time taken, one
   line per request on the server's :class:`~gateway_lab.serverlog.ServerLog`.
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
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .serverlog import RequestRecord, ServerLog
from .types import ASGIApp, Environ, Message, Receive, Scope, Send, StartResponse, WSGIApp

__all__ = ["ASGIGuard", "WSGIGuard", "WSGIBodyTypeError", "body_type_problem"]

PEP3333_BODY = "https://peps.python.org/pep-3333/#specification-details"


class WSGIBodyTypeError(TypeError):
    """The app's body is not an iterable of bytes; the message says what to do."""


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def body_type_problem(result: Any) -> str | None:
    """Explain why ``result`` cannot be a WSGI response body, or None if it can."""
    if result is None:
        return (
            "the app returned None. A WSGI app must return an iterable of bytes, "
            "for example `return [b'Hello']`. Did you forget the return statement?"
        )
    if isinstance(result, str):
        return (
            f"the app returned a str ({_shown(result)}). WSGI bodies are bytes, in an "
            f"iterable: `return [text.encode('utf-8')]`."
        )
    if isinstance(result, (bytes, bytearray)):
        return (
            f"the app returned {type(result).__name__} directly ({_shown(bytes(result))}). "
            f"Python would iterate it as numbers, one per byte. Wrap it in a list: "
            f"`return [body]`."
        )
    if not isinstance(result, Iterable):
        return (
            f"the app returned a {type(result).__name__}, which is not iterable. "
            f"Return a list of bytes (or yield bytes from a generator)."
        )
    return None


def chunk_type_problem(chunk: Any) -> str | None:
    if isinstance(chunk, bytes):
        return None
    if isinstance(chunk, str):
        return (
            f"the body contained a str chunk ({_shown(chunk)}). Each chunk must be "
            f"bytes: use text.encode('utf-8') or a b'...' literal."
        )
    return (
        f"the body contained a {type(chunk).__name__} chunk ({_shown(chunk)}). Each "
        f"chunk must be bytes."
    )


def _status_code(status: Any) -> int | None:
    try:
        return int(str(status).split(" ", 1)[0])
    except ValueError:
        return None


class _Exchange:
    """What the guard learned about one request."""

    __slots__ = ("label", "started", "status", "sent", "error")

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.perf_counter()
        self.status: int | None = None
        self.sent = 0
        self.error: str | None = None

    def record(self, log: ServerLog) -> None:
        method, _, path = self.label.partition(" ")
        log.request(
            RequestRecord(
                method,
                path,
                self.status,
                (time.perf_counter() - self.started) * 1000,
                self.sent,
                self.error,
            )
        )


class WSGIGuard:
    """WSGI middleware: request log, 500 on exceptions, plain-words type errors."""

    def __init__(self, app: WSGIApp, log: ServerLog) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        exchange = _Exchange(f"{environ.get('REQUEST_METHOD', '?')} {path}")

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            exchange.status = _status_code(status)
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
        exchange: _Exchange,
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
        self, exc: Exception, start_response: StartResponse, exchange: _Exchange
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

    def __init__(self, items: Iterable[bytes], log: ServerLog, exchange: _Exchange) -> None:
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
        exchange: _Exchange,
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


class ASGIGuard:
    """ASGI middleware: request log, 500 on exceptions before the response starts."""

    def __init__(self, app: ASGIApp, log: ServerLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            # lifespan and other scopes: the server's own handling is the lesson.
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope.get("query_string"):
            path += "?" + scope["query_string"].decode("latin-1")
        method = scope.get("method", "WS") if kind == "http" else "WEBSOCKET"
        exchange = _Exchange(f"{method} {path}")
        started = False
        client_gone = False

        async def recording_send(message: Message) -> None:
            nonlocal started, client_gone
            kind = message.get("type")
            if kind == "http.response.start":
                exchange.status = message.get("status")
                started = True
            elif kind == "http.response.body":
                exchange.sent += len(message.get("body", b"") or b"")
            elif kind == "websocket.accept":
                exchange.status = 101
                started = True
            elif kind == "websocket.close" and not started:
                exchange.status = 403
            try:
                await send(message)
            except OSError:
                client_gone = True  # the spec lets a server raise once the client left
                raise

        try:
            await self.app(scope, receive, recording_send)
        except OSError as exc:
            if not client_gone:
                await self._fail(exc, kind, started, exchange, send)
                return
            # A stream whose reader went away: a normal end, not a bug.
            exchange.error = "client disconnected"
        except Exception as exc:
            await self._fail(exc, kind, started, exchange, send)
            return
        exchange.record(self.log)

    async def _fail(
        self, exc: Exception, kind: str, started: bool, exchange: _Exchange, send: Send
    ) -> None:
        """Record ``exc``; answer 500 if nothing was sent yet, else re-raise."""
        summary = f"{type(exc).__name__}: {exc}"
        exchange.error = summary
        self.log.error(summary, exc=exc, request=exchange.label)
        if kind != "http" or started:
            exchange.record(self.log)
            raise exc
        body = (
            f"500 Internal Server Error\n\nThe app failed: {summary}\n\nThe full "
            f"traceback is kept on the server: look at srv.errors in the notebook.\n"
        ).encode("utf-8", "replace")
        exchange.status = 500
        exchange.sent = len(body)
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        exchange.record(self.log)
