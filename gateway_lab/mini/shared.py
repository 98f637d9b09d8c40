"""What every connection of one mini ASGI server shares, and what a request needs of its connection.

Theory of operation: the mini ASGI server is one :class:`ServerState` (the
app, the log, the limits, the lifespan state, the live connections and the
tasks running the app) and one :class:`~gateway_lab.mini.connection.HTTPConnection`
per TCP connection. A request cycle (:mod:`.cycle`) and a WebSocket session
(:mod:`.websocket`) each belong to one connection, and need only a few of
its parts; :class:`Owner` names exactly those, as a :class:`typing.Protocol`,
so neither module has to import the connection's (and the connection can
import both without a cycle).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

import h11

from gateway_lab.mini.limits import Limits, http_date
from gateway_lab.serving.log import ServerLog
from gateway_lab.types import ASGIApp

__all__ = ["ASGI_VERSION", "Owner", "ServerState", "http_date"]

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
READ_SIZE = 64 * 1024  # the most one read from a socket takes


class Owner(Protocol):
    """The parts of a client connection its request cycle and WebSocket session use."""

    shared: ServerState
    conn: h11.Connection  # the connection's HTTP/1.1 state machine
    transport: asyncio.Transport | None
    loop: asyncio.AbstractEventLoop  # the server's loop, looked up once per connection
    writable: asyncio.Event  # cleared while the client reads too slowly
    keep_alive: bool
    body_paused: bool  # reading stopped because the app reads the body slowly

    def answer_and_close(self, status: int, explanation: str) -> None: ...

    def response_complete(self) -> None: ...

    def shutdown(self) -> None: ...


class ServerState:
    """What every connection of one server shares: the app, the log, the limits."""

    def __init__(
        self, app: ASGIApp, log: ServerLog, limits: Limits, state: dict[str, Any] | None
    ) -> None:
        self.app = app
        self.log = log
        self.limits = limits
        self.lifespan_state = state  # None when the app does not support lifespan
        self.connections: set[Owner] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        # every connection reads into this, then copies out what came (see connection.py)
        self.read_buffer = memoryview(bytearray(READ_SIZE))

    def spawn(
        self, coroutine: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop
    ) -> asyncio.Task[None]:
        task = loop.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def shutdown(self, grace: float) -> None:
        """Close idle connections, give running apps ``grace`` seconds, then cancel."""
        for connection in list(self.connections):
            connection.shutdown()
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        await asyncio.sleep(0)  # let the aborted transports call connection_lost
