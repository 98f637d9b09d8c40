"""A small asyncio ASGI 3 server: HTTP/1.1 on h11, websockets on wsproto.

Theory of operation
===================

One thread, one event loop, one :class:`HTTPConnection` per TCP connection
(:mod:`.connection`), one :class:`RequestCycle` per request (:mod:`.cycle`),
and what they all share in one :class:`ServerState` (:mod:`.shared`); this
module ties them into a runner and names the pieces in one place.
asyncio calls the connection back as bytes arrive (``data_received``) and
when the client goes away (``connection_lost``). We never parse bytes
ourselves: h11 turns them into *events* (``Request``, ``Data``,
``EndOfMessage``) and turns our responses back into bytes. What is left is
the gateway itself, the part this module is about: events in, ASGI
messages out, and the reverse.

::

    bytes --h11--> Request ------> scope, and a task running app(scope, receive, send)
                   Data ---------> queued for receive(): {"type": "http.request", "more_body": True}
                   EndOfMessage -> the last http.request has "more_body": False
    client gone -----------------> receive() returns {"type": "http.disconnect"}
    send({"type": "http.response.start"}) --h11--> status line and headers
    send({"type": "http.response.body"}) ---h11--> body bytes (chunked, or as the
                                                   app's Content-Length says)

Each request gets a :class:`RequestCycle` (its scope, body queue, and the
``receive``/``send`` pair the app is given). The app runs as its own task,
so the connection keeps reading while the app works: request bodies stream
in as they arrive, and a client that leaves is noticed at once. When the
response is complete and h11 agrees both sides are done, the connection
starts the next cycle (keep-alive), or closes.

Rules we chose where the spec lets a server choose (ASGI HTTP spec 2.4,
https://asgi.readthedocs.io/en/latest/specs/www.html):

* ``send`` after the client has gone raises :class:`ClientDisconnected`, an
  ``OSError``: an app streaming forever to a closed tab stops, instead of
  running until the server stops.
* An app that raises, ``SystemExit`` and ``KeyboardInterrupt`` included,
  gets a 500 (or its connection cut, once the response has begun) and the
  server keeps serving.
* A protocol mistake by the app (a body before the start, ``str`` where
  bytes belong, a message after the response was complete) raises a
  :class:`~gateway_lab.errors.ProtocolError` (a ``RuntimeError``) that says
  what to change, inside the app's own ``send`` call: for the order, in the
  words of the shared tables of :mod:`gateway_lab.protocol.asgi`. The
  connection is closed after whatever response can still be sent (the
  guard's 500, or the rest of a response already under way), and that
  response says ``Connection: close`` whenever its head is not yet out.
* Hostile or broken requests get a short explained refusal (400, 413, 431,
  501, and 505 for an HTTP version other than 1.0 and 1.1) and the
  connection is closed; the server goes on serving everyone else. The
  limits are in :mod:`gateway_lab.mini.limits`.

Websocket upgrades are handed to :mod:`gateway_lab.mini.websocket`, and the
lifespan scope to :mod:`gateway_lab.mini.lifespan`. :class:`MiniASGIRunner`,
at the bottom, ties it all into the engine contract of
:mod:`gateway_lab.serving.engines.base`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway_lab.errors import ClientDisconnected
from gateway_lab.mini.connection import HTTPConnection, request_scope
from gateway_lab.mini.cycle import RequestCycle
from gateway_lab.mini.lifespan import Lifespan, LifespanStartupFailed
from gateway_lab.mini.limits import Limits
from gateway_lab.mini.shared import ASGI_VERSION, Owner, ServerState, http_date
from gateway_lab.serving.engines.base import EngineRunner

__all__ = [
    "ASGI_VERSION",
    "ClientDisconnected",
    "HTTPConnection",
    "MiniASGIRunner",
    "RequestCycle",
    "ServerState",
    "http_date",
    "request_scope",
]

GRACE_SECONDS = 0.5  # how long stop() lets running apps finish before cancelling them


class MiniASGIRunner(EngineRunner):
    """Serve one ASGI app from a daemon thread with its own event loop."""

    engine = "mini"
    interface = "asgi"
    limits = Limits()

    def prepare(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False
        self._in_startup = False
        self._shared: ServerState | None = None

    def connections(self) -> list[Owner]:
        """The client connections open right now (for tests and the curious)."""
        return list(self._shared.connections) if self._shared is not None else []

    def serve(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(self._on_loop_error)  # to the log, never stderr
        if self._stop_requested:  # stop() came before the loop existed
            return
        lifespan = Lifespan(self.app, self.log)
        try:
            self._in_startup = True
            if not await self._unless_stopped(lifespan.startup()):
                return
            self._in_startup = False
            shared = ServerState(
                self.app, self.log, self.limits, lifespan.state if lifespan.supported else None
            )
            self._shared = shared
            server = await self._loop.create_server(lambda: HTTPConnection(shared), sock=self.sock)
            host, port = self.sock.getsockname()[:2]
            self.log.message(f"mini ASGI server listening on http://{host}:{port}/")
            self.mark_ready()
            await self._stopping.wait()
            server.close()
            await shared.shutdown(GRACE_SECONDS)
            await lifespan.shutdown(GRACE_SECONDS)
        finally:
            await lifespan.cancel()

    async def _unless_stopped(self, work: Any) -> bool:
        """Await ``work`` unless stop() is called first; True if it finished."""
        assert self._stopping is not None
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if task.done():
            task.result()  # re-raises a startup failure
            return True
        task.cancel()
        return False

    def request_stop(self) -> None:
        self._stop_requested = True
        loop, stopping = getattr(self, "_loop", None), getattr(self, "_stopping", None)
        if loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:
                pass  # the loop already closed: the server has stopped

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.log.error(
            f"the event loop reported: {context.get('message')}", exc=exc, where="server"
        )

    def start_failure_reason(self) -> str:
        if isinstance(self._failure, LifespanStartupFailed):
            return str(self._failure)
        if self._failure is None and self._in_startup:
            return (
                "The app did not answer 'lifespan.startup' in time, so the mini server did "
                "not start. Its lifespan handler must send 'lifespan.startup.complete' (or "
                "'lifespan.startup.failed'); is it waiting for something that never comes?"
            )
        return super().start_failure_reason()
