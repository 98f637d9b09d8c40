"""The ASGI guard: keep a learner's broken app from breaking the server or the cell.

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

from gateway_lab.serving.log import RequestTimer, ServerLog
from gateway_lab.types import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
)

__all__ = ["ASGIGuard"]


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
        exchange = RequestTimer(f"{method} {path}")
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
        self, exc: Exception, kind: str, started: bool, exchange: RequestTimer, send: Send
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
