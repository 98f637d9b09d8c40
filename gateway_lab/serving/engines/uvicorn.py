"""uvicorn in a daemon thread, with its own event loop, quick to start and stop.

Theory of operation: ``uvicorn.run`` wants the main thread and an event loop
of its own, and a notebook's kernel has neither to spare. So each server runs
``uvicorn.Server.serve`` under ``asyncio.run`` in a daemon thread, on our
loopback socket. Three small overrides make it fit a notebook:

* ``startup`` tells us the moment the server accepts connections, so start
  returns as soon as it is ready instead of polling ``server.started``.
  If the app's lifespan startup fails, uvicorn raises ``SystemExit``; the
  runner catches it in the thread and reports it as a start error.
* ``main_loop`` still ticks every 0.1 s (uvicorn refreshes the Date header
  on ticks), but also wakes at once when ``request_stop`` sets an event
  from another thread.
* ``shutdown`` is uvicorn's, without its fixed 0.1 s pause: it closes the
  listener, asks connections to finish, waits for them only while
  ``grace`` lasts, then cancels what is left (an app that never returns),
  and runs the lifespan shutdown with the same bound.

uvicorn's log messages, and asyncio's for the server's own loop, are routed
by thread to the owning server's log, so nothing is printed into cells.

Limits (uvicorn 0.54's ``Config``), so a hostile or broken client cannot make
the kernel buffer without bound:

* ``h11_max_incomplete_event_size``: a request head may be 16 KiB (as for
  the mini servers), beyond that h11 refuses it;
* ``ws_max_size`` and ``ws_max_queue``: a WebSocket message may be 4 MiB,
  and 16 unread messages wait at most (64 MiB at worst, then uvicorn stops
  reading the socket);
* ``ws_ping_interval`` / ``ws_ping_timeout``: a WebSocket whose client stops
  answering pings is closed within 40 s.

One limit no setting gives: uvicorn's wsproto protocol answers every ping
with a pong written straight to the socket, even when the client never
reads, so a client that sends pings and never reads grows the kernel's
memory byte for byte. :class:`_BoundedWSProtocol` adds the missing
backpressure: while the transport's write buffer is over its high-water
mark (asyncio's ``pause_writing``), it stops reading, so the client's own
TCP window fills and it must wait.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import uvicorn
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.log import ServerLog

__all__ = ["UvicornRunner"]

GRACE_SECONDS = 0.5
MAX_HEAD_BYTES = 16 * 1024
WS_MAX_MESSAGE = 4 * 1024 * 1024
WS_MAX_QUEUE = 16
WS_PING_SECONDS = 20.0


class _ThreadRouter(logging.Handler):
    """Send each uvicorn log record to the log of the server whose thread made it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.logs: dict[int, ServerLog] = {}

    def emit(self, record: logging.LogRecord) -> None:
        log = self.logs.get(record.thread or 0)
        if log is not None:
            try:
                text = record.getMessage()
            except Exception:  # a malformed log call must not break serving
                text = str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                log.error(text, exc=record.exc_info[1], where="uvicorn")
            else:
                log.message(f"{record.levelname.lower()}: {text}")


class _KeepOurLoopsQuiet(logging.Filter):
    """On asyncio's logger: our servers' loops go to their server log, not into the cell."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (record.thread or 0) not in _router.logs:
            return True  # someone else's loop (the kernel's): not ours to hide
        _router.emit(record)
        return False


_router = _ThreadRouter()
_uvicorn_logger = logging.getLogger("uvicorn")
_uvicorn_logger.addHandler(_router)
_uvicorn_logger.setLevel(logging.INFO)
_uvicorn_logger.propagate = False
logging.getLogger("asyncio").addFilter(_KeepOurLoopsQuiet())  # "socket.send() raised ..."


class _BoundedWSProtocol(WSProtocol):
    """uvicorn's wsproto protocol, reading only while its client reads (see the docstring)."""

    def pause_writing(self) -> None:
        super().pause_writing()
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        if not self.read_paused and not self.transport.is_closing():
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.writable.is_set() and not self.transport.is_closing():
            self.transport.pause_reading()  # uvicorn's receive() may have resumed it


class _NotebookServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready_event = ready
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        self._ready_event.set()

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            try:
                await asyncio.wait_for(self._wake.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
            should_exit = await self.on_tick(counter)

    def wake(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass  # the loop closed between the check and the call

    async def shutdown(self, sockets: Any = None) -> None:
        loop = asyncio.get_running_loop()
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = loop.time() + GRACE_SECONDS
        state = self.server_state
        while (state.connections or state.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        for task in list(state.tasks):
            task.cancel()
        for connection in list(state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        try:
            await asyncio.wait_for(self.lifespan.shutdown(), GRACE_SECONDS)
        except asyncio.TimeoutError:
            logging.getLogger("uvicorn.error").warning(
                "the app's lifespan shutdown did not finish within %s s", GRACE_SECONDS
            )


class UvicornRunner(EngineRunner):
    engine = "uvicorn"
    interface = "asgi"

    def prepare(self) -> None:
        config = uvicorn.Config(
            self.app,
            loop="asyncio",
            http="h11",
            ws=_BoundedWSProtocol,
            lifespan="auto",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            ws_max_size=WS_MAX_MESSAGE,
            ws_max_queue=WS_MAX_QUEUE,
            ws_ping_interval=WS_PING_SECONDS,
            ws_ping_timeout=WS_PING_SECONDS,
        )
        self.server = _NotebookServer(config, self._ready)

    def serve(self) -> None:
        assert self.thread is not None
        _router.logs[self.thread.ident or 0] = self.log
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        finally:
            _router.logs.pop(self.thread.ident or 0, None)
        if not self.server.started:
            raise RuntimeError(
                "uvicorn stopped before it was ready (did the app's lifespan startup fail?)"
            )

    def start_failure_reason(self) -> str:
        failure = self._failure
        if isinstance(failure, SystemExit) or (failure is not None and "lifespan" in str(failure)):
            said = [
                message[len("error: ") :]
                for message in self.log.messages
                if message.startswith("error: ") and "Application startup failed" not in message
            ]
            return (
                "The app's lifespan startup failed, so uvicorn did not start. "
                + (f"The app said: {said[-1]}. " if said else "")
                + "Look at the app's handling of 'lifespan.startup' (it sent "
                "'lifespan.startup.failed' or raised)."
            )
        return super().start_failure_reason()

    def request_stop(self) -> None:
        server = getattr(self, "server", None)
        if server is not None:
            server.should_exit = True
            server.wake()
