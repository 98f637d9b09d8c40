"""The ASGI guard: keep a learner's broken app from breaking the server or the cell.

Theory of operation: every app served from the kernel is wrapped in a guard
before any engine sees it. The guard is ordinary middleware, so it works the
same under werkzeug, wsgiref, uvicorn and our own servers, and it does three
things and nothing else:

1. **Keeps a request log**: method, path, status, bytes, time taken, one
   line per request on the server's :class:`~gateway_lab.serving.log.ServerLog`.
2. **Turns an exception into a 500** while that is still possible, and keeps
   the traceback on the log instead of printing it: a 500 if
   ``http.response.start`` has not gone out, else re-raise (the server then
   cuts the connection, the only honest thing left to do). ``SystemExit``
   and ``KeyboardInterrupt`` from an app count as failures too: in a server
   thread they can only come from the app, and they must not end the server.
3. **Names order mistakes in the words of** :mod:`gateway_lab.protocol.asgi`:
   every message the app sends steps that table first, and one it refuses
   raises :class:`~gateway_lab.errors.ProtocolError` inside the app's
   ``send``, so a body before the start reads the same on every engine; an
   HTTP message with a wrong field (a str body, str headers) is refused in
   the words of :mod:`gateway_lab.protocol.response_fields` before the engine
   sees it (uvicorn would fail deep inside h11 instead). An app that returns
   without a whole response (a forgotten ``await send(...)``) is logged as an
   error in the table's words too; the engine itself answers 500 or cuts it.

And one thing a server ought to do but uvicorn does not: once the client
has gone, ``send`` raises :class:`~gateway_lab.errors.ClientDisconnected`
(an ``OSError``, as the ASGI spec allows: "If send() is called on a closed
connection the server should raise a server-specific subclass of OSError",
https://asgi.readthedocs.io/en/latest/specs/main.html#error-handling).
uvicorn's ``send`` returns silently instead, without ever yielding to the
loop, so an app streaming forever to a closed tab would spin at 100 % and
flood asyncio's log with "socket.send() raised exception."; the guard
yields after each unfinished body part (and each WebSocket message), so the
loop sees the disconnect,
and asks the server's request cycle (uvicorn's and the mini server's both
keep a ``disconnected`` flag on the object whose bound method ``send`` is)
whether the client is still there.

Guards never change what the app sees: the scope and the messages pass
through untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from gateway_lab.errors import ClientDisconnected, ProtocolError
from gateway_lab.protocol import asgi as order
from gateway_lab.protocol.extensions import unoffered
from gateway_lab.protocol.response_fields import field_problem
from gateway_lab.serving.log import RequestTimer, ServerLog
from gateway_lab.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ASGIGuard"]

# What an app may raise that the guard turns into a 500 (BaseException's other
# subclasses, CancelledError and GeneratorExit, are the loop's own business).
APP_FAILURES = (Exception, SystemExit, KeyboardInterrupt)


def client_gone(send: Send) -> bool:
    """True if the server behind ``send`` knows its client has left (see the docstring)."""
    cycle = getattr(send, "__self__", None)
    return getattr(cycle, "disconnected", False) is True


class ASGIGuard:
    """ASGI middleware: request log, the shared order, 500 on failures before the response."""

    def __init__(self, app: ASGIApp, log: ServerLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        machine = scope.get("type")
        if machine not in ("http", "websocket"):
            # lifespan and other scopes: the server's own handling is the lesson.
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope.get("query_string"):
            path += "?" + scope["query_string"].decode("latin-1")
        method = scope.get("method", "WS") if machine == "http" else "WEBSOCKET"
        exchange = RequestTimer(f"{method} {path}")
        extensions = scope.get("extensions")
        state = order.INITIAL[machine]
        gone = False
        by_extension = False  # an extension the server offers (pathsend...) sent the body

        async def guarded_send(message: Message) -> None:
            nonlocal state, gone, by_extension
            if isinstance(message, Mapping):
                key = order.message_key(message)
                broken = unoffered(key, extensions)
                if broken is not None:
                    raise ProtocolError(broken.sentence(key))
                following, problem = order.step(machine, state, key)
                if problem is not None and key in (extensions or {}):
                    following = state  # an extension the server offers (pathsend...): its call
                    by_extension = True
                elif problem is not None:
                    raise ProtocolError(problem)
                wrong = field_problem(message) if machine == "http" else None
                if wrong is not None:
                    raise ProtocolError(wrong)
            else:
                key, following = "", state  # not a message: the server's own error says so
            if machine == "http" and client_gone(send):
                gone = True
                raise ClientDisconnected(
                    "The client closed the connection, so nothing more can be sent; "
                    "an app that streams should stop here (send raises OSError)."
                )
            try:
                await send(message)
            except OSError:
                gone = True  # the spec lets a server raise once the client left
                raise
            self._note(exchange, key, message, state)
            state = following
            if key.endswith(order.MORE_BODY) or key == "websocket.send":
                await asyncio.sleep(0)  # a stream: let the loop notice a client that left

        try:
            await self.app(scope, receive, guarded_send)
        except OSError as exc:
            if not gone:
                await self._fail(exc, machine, state, exchange, send)
                return
            # A stream whose reader went away: a normal end, not a bug.
            exchange.error = "client disconnected"
        except APP_FAILURES as exc:
            await self._fail(exc, machine, state, exchange, send)
            return
        unfinished = None if gone or by_extension else order.ending(machine, state)
        if unfinished is not None:
            # The app returned without a (whole) response: the server answers 500 or
            # cuts the connection by itself, and the log says why (a forgotten await).
            summary = unfinished.sentence()
            exchange.error = unfinished.message("")
            self.log.error(summary, request=exchange.label)
        exchange.record(self.log)

    @staticmethod
    def _note(exchange: RequestTimer, key: str, message: Message, state: str) -> None:
        """What the request log keeps of a message that went out."""
        if key == "http.response.start":
            exchange.status = message.get("status")
        elif key.startswith("http.response.body"):
            exchange.sent += len(message.get("body", b"") or b"")
        elif key == "websocket.accept":
            exchange.status = 101
        elif key == "websocket.close" and state == "connecting":
            exchange.status = 403
        elif key == "websocket.http.response.start":
            exchange.status = message.get("status")

    async def _fail(
        self, exc: BaseException, machine: str, state: str, exchange: RequestTimer, send: Send
    ) -> None:
        """Record ``exc``; answer 500 if nothing was sent yet, else re-raise."""
        summary = f"{type(exc).__name__}: {exc}"
        exchange.error = summary
        self.log.error(summary, exc=exc, request=exchange.label)
        if machine != "http" or state != order.INITIAL["http"]:
            exchange.record(self.log)
            if isinstance(exc, Exception):
                raise exc
            raise RuntimeError(summary) from exc  # never let SystemExit end the server
        body = (
            f"500 Internal Server Error\n\nThe app failed: {summary}\n\nThe full "
            f"traceback is kept on the server: in the notebook, look at .errors on the handle "
            f"gl.serve_asgi returned (gl.servers() lists them by name).\n"
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
