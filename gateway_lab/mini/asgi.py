"""A small asyncio ASGI 3 server: HTTP/1.1 on h11, websockets on wsproto.

Theory of operation
===================

One thread, one event loop, one :class:`HTTPConnection` per TCP connection.
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
* A protocol mistake by the app (a body before the start, ``str`` where
  bytes belong, a message after the response was complete) raises a
  ``RuntimeError`` that says what to change, inside the app's own ``send``
  call. The connection is closed after whatever response can still be sent
  (the guard's 500, or the rest of a response already under way), and that
  response says ``Connection: close`` whenever its head is not yet out.
* Hostile or broken requests get a short explained refusal (400, 413, 431,
  501) and the connection is closed; the server goes on serving everyone
  else. The limits are in :mod:`gateway_lab.mini.limits`.

Websocket upgrades are handed to :mod:`gateway_lab.mini.websocket`, and the
lifespan scope to :mod:`gateway_lab.mini.lifespan`. :class:`MiniASGIRunner`,
at the bottom, ties it all into the engine contract of
:mod:`gateway_lab.serving.engines.base`.
"""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

import h11

from gateway_lab.errors import ClientDisconnected
from gateway_lab.mini.lifespan import Lifespan, LifespanStartupFailed
from gateway_lab.mini.limits import Limits, reason_phrase, refusal_body
from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.log import ServerLog
from gateway_lab.types import ASGIApp, Message, Scope

__all__ = ["ClientDisconnected", "HTTPConnection", "MiniASGIRunner", "ServerState"]

ASGI_SPEC = "https://asgi.readthedocs.io/en/latest/specs/www.html"
ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
GRACE_SECONDS = 0.5  # how long stop() lets running apps finish before cancelling them
BODY_HIGH_WATER = 64 * 1024  # unread request body we buffer before we stop reading


_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The Date header value (RFC 9110), recomputed at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date_cache[1]


class ServerState:
    """What every connection of one server shares: the app, the log, the limits."""

    def __init__(
        self, app: ASGIApp, log: ServerLog, limits: Limits, state: dict[str, Any] | None
    ) -> None:
        self.app = app
        self.log = log
        self.limits = limits
        self.lifespan_state = state  # None when the app does not support lifespan
        self.connections: set[HTTPConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coroutine: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
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


def request_scope(kind: str, request: h11.Request, connection: HTTPConnection) -> dict[str, Any]:
    """The ASGI scope for an h11 request: ``kind`` is "http" or "websocket"."""
    raw_path, _, query = request.target.partition(b"?")
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": dict(ASGI_VERSION),
        "http_version": request.http_version.decode("ascii"),
        "scheme": "http" if kind == "http" else "ws",
        "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": list(request.headers),  # h11 gives lower-case names, bytes values
        "client": connection.client,
        "server": connection.server,
    }
    if kind == "http":
        scope["method"] = request.method.decode("ascii")
    state = connection.shared.lifespan_state
    if state is not None:
        scope["state"] = dict(state)  # a shallow copy per request, as the spec asks
    return scope


def _address(info: Any) -> tuple[str, int] | None:
    return (str(info[0]), int(info[1])) if isinstance(info, tuple) else None


class HTTPConnection(asyncio.Protocol):
    """One client connection: h11 events in, request cycles out."""

    def __init__(self, shared: ServerState) -> None:
        self.shared = shared
        self.conn = h11.Connection(
            h11.SERVER, max_incomplete_event_size=shared.limits.max_header_bytes
        )
        self.transport: asyncio.Transport | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.cycle: RequestCycle | None = None
        self.websocket: Any = None  # a websocket.WebSocketSession after an upgrade
        self.keep_alive = True
        self.writable = asyncio.Event()  # cleared while the client reads too slowly
        self.writable.set()
        self.body_paused = False
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio's callbacks ---------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.client = _address(transport.get_extra_info("peername"))
        self.server = _address(transport.get_extra_info("sockname"))
        self.shared.connections.add(self)
        self.arm_idle_timer()

    def data_received(self, data: bytes) -> None:
        if self.websocket is not None:
            self.websocket.data_received(data)
            return
        self.conn.receive_data(data)
        self.handle_events()

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.connections.discard(self)
        self.cancel_idle_timer()
        self.writable.set()
        if self.cycle is not None:
            self.cycle.client_gone()
        if self.websocket is not None:
            self.websocket.connection_lost()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # -- reading requests ----------------------------------------------------
    def handle_events(self) -> None:
        """Pull every complete event out of h11 and act on it."""
        while self.transport is not None and not self.transport.is_closing():
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as exc:
                self.refuse(exc.error_status_hint, f"The request is not valid HTTP/1.1: {exc}.")
                return
            if event is h11.NEED_DATA:
                return
            if event is h11.PAUSED:
                # A websocket handshake, or a pipelined request waiting its turn.
                if self.websocket is None:
                    self.transport.pause_reading()
                return
            if isinstance(event, h11.Request):
                self.on_request(event)
            elif isinstance(event, h11.Data) and self.cycle is not None:
                self.on_body(event.data)
            elif isinstance(event, h11.EndOfMessage) and self.cycle is not None:
                self.cycle.body_complete()
                if self.cycle.response_complete:
                    self.next_cycle()

    def on_request(self, request: h11.Request) -> None:
        self.cancel_idle_timer()
        limits = self.shared.limits
        head_size = len(request.target) + sum(len(n) + len(v) + 4 for n, v in request.headers)
        if head_size > limits.max_header_bytes:
            # h11 bounds a head still arriving; one that came whole in one read is checked here.
            self.refuse(431, f"The request head is over {limits.max_header_bytes} bytes.")
            return
        headers = dict(request.headers)  # repeated names: the last one wins, enough here
        if b"content-length" in headers and b"transfer-encoding" in headers:
            # RFC 9112 section 6.3: both at once is how request smuggling works.
            self.refuse(400, "The request has both Content-Length and Transfer-Encoding.")
            return
        length = headers.get(b"content-length")
        if length is not None and int(length) > limits.max_body_bytes:
            self.refuse(413, f"The body is over {limits.max_body_bytes} bytes.")
            return
        if b"websocket" in headers.get(b"upgrade", b"").lower().split(b","):
            from gateway_lab.mini.websocket import (  # wsproto, on first use
                WebSocketSession,
                handshake_problem,
            )

            problem = handshake_problem(request)
            if problem:
                self.refuse(400, problem)
                return
            self.websocket = WebSocketSession(
                self, request, request_scope("websocket", request, self)
            )
            self.websocket.start()
            return
        self.cycle = RequestCycle(self, request_scope("http", request, self))
        self.cycle.task = self.shared.spawn(self.cycle.run())

    def on_body(self, data: bytes) -> None:
        cycle = self.cycle
        assert cycle is not None
        cycle.body_size += len(data)
        if cycle.body_size > self.shared.limits.max_body_bytes:
            self.refuse(413, f"The body is over {self.shared.limits.max_body_bytes} bytes.")
            return
        if cycle.response_complete:
            return  # the app answered without reading it all: drain and drop the rest
        cycle.add_body(data)
        if len(cycle.body) > BODY_HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()  # the app reads slowly: let TCP push back
            self.body_paused = True

    def next_cycle(self) -> None:
        """The response is out and the request fully read: keep alive, or close."""
        assert self.transport is not None
        if not self.keep_alive or self.conn.our_state is h11.MUST_CLOSE:
            self.transport.close()
            return
        self.conn.start_next_cycle()
        self.cycle = None
        self.arm_idle_timer()
        self.transport.resume_reading()

    def response_complete(self) -> None:
        """Called by the cycle once its response is fully written."""
        assert self.transport is not None
        if not self.keep_alive or self.conn.our_state is h11.MUST_CLOSE:
            self.transport.close()  # "Connection: close" (either side), HTTP/1.0, a mistake
        elif self.conn.their_state is h11.DONE:
            self.next_cycle()
            self.handle_events()  # a pipelined request may already be waiting
        elif self.body_paused:
            self.body_paused = False  # the app did not read the whole body: drop the rest
            self.transport.resume_reading()

    # -- refusing, timing out, stopping ----------------------------------------
    def refuse(self, status: int, explanation: str) -> None:
        """Answer a broken request with ``status`` if we still can, then close."""
        self.shared.log.message(f"refused a request from {self.client}: {status} {explanation}")
        if self.cycle is not None:
            self.cycle.abandon()  # whatever the app was doing for it is moot now
        self.answer_and_close(status, explanation)

    def answer_and_close(self, status: int, explanation: str) -> None:
        """Send a short text/plain answer if no response has begun, then close."""
        assert self.transport is not None
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # part of a response is out: cutting it is all we can do
            return
        body = refusal_body(status, explanation)
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"date", http_date()),
        ]
        try:
            self.transport.write(
                self.conn.send(
                    h11.Response(status_code=status, headers=headers, reason=reason_phrase(status))
                )
                + self.conn.send(h11.Data(data=body))
                + self.conn.send(h11.EndOfMessage())
            )
        except h11.LocalProtocolError:
            pass  # h11 cannot answer in this state: closing says enough
        self.transport.close()

    def arm_idle_timer(self) -> None:
        self.cancel_idle_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.shared.limits.idle_timeout, self.on_idle_timeout)

    def cancel_idle_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def on_idle_timeout(self) -> None:
        # No complete request head within the limit: keep-alive over, or a slow client.
        self._timer = None
        if self.transport is not None and self.cycle is None and self.websocket is None:
            self.transport.close()

    def shutdown(self) -> None:
        """The server is stopping: close when idle, else after the current response."""
        self.keep_alive = False
        if self.websocket is not None:
            self.websocket.server_stopping()
        elif self.transport is not None and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()


class RequestCycle:
    """One request and its response: the ``receive`` and ``send`` the app gets."""

    def __init__(self, connection: HTTPConnection, scope: Scope) -> None:
        self.connection = connection
        self.scope = scope
        self.is_head = scope["method"] == "HEAD"
        self.body = bytearray()  # received, not yet given to the app
        self.body_size = 0
        self.more_body = True  # False once h11 saw the end of the request body
        self.body_delivered = False  # the app got the message with more_body False
        self.arrived = asyncio.Event()  # set when body arrives or the client leaves
        self.disconnected = False
        self.response_started = False
        self.response_complete = False
        self.head = b""  # the response head, until it is written with the first body bytes
        self.task: asyncio.Task[None] | None = None

    # -- events from the connection --------------------------------------------
    def add_body(self, data: bytes) -> None:
        self.body += data
        self.arrived.set()

    def body_complete(self) -> None:
        self.more_body = False
        self.arrived.set()

    def client_gone(self) -> None:
        self.disconnected = True
        self.arrived.set()

    def abandon(self) -> None:
        """The request was refused mid-way: the app's work is moot, cancel it."""
        self.disconnected = True
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()

    # -- running the app --------------------------------------------------------
    async def run(self) -> None:
        log = self.connection.shared.log
        try:
            await self.connection.shared.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            self.close_transport()  # stopping, or the request was refused
            raise
        except Exception as exc:  # the guard already logged it, with its traceback
            log.message(
                f"the app raised {type(exc).__name__} while answering; closed the connection"
            )
            self.finish_for_app()
            return
        if self.disconnected or self.response_complete:
            return
        if self.response_started:
            log.error(
                "the app returned before its response was complete: the last "
                "'http.response.body' it sent had more_body=True, so the client was still "
                f"waiting for more. End with more_body=False. See {ASGI_SPEC}",
                request=f"{self.scope['method']} {self.scope['path']}",
                where="server",
            )
        else:
            log.error(
                "the app returned without sending 'http.response.start', so there was "
                f"no response to send; answered 500. See {ASGI_SPEC}",
                request=f"{self.scope['method']} {self.scope['path']}",
                where="server",
            )
        self.finish_for_app()

    def finish_for_app(self) -> None:
        """The app ended without a complete response: answer 500, or cut it short."""
        if not self.response_started and not self.disconnected:
            self.connection.keep_alive = False
            self.connection.answer_and_close(500, "The app ended without sending a response.")
        elif not self.response_complete:
            self.close_transport()

    def close_transport(self) -> None:
        transport = self.connection.transport
        if transport is not None and not self.response_complete:
            transport.close()

    # -- the two callables the app is given -------------------------------------
    async def receive(self) -> Message:
        connection = self.connection
        while True:
            if self.body or (not self.more_body and not self.body_delivered):
                message = {
                    "type": "http.request",
                    "body": bytes(self.body),
                    "more_body": self.more_body,
                }
                self.body.clear()
                self.body_delivered = not self.more_body
                if connection.body_paused and connection.transport is not None:
                    connection.body_paused = False
                    connection.transport.resume_reading()
                return message
            if self.disconnected or self.response_complete:
                return {"type": "http.disconnect"}
            if self.more_body and connection.conn.they_are_waiting_for_100_continue:
                self.write(
                    connection.conn.send(h11.InformationalResponse(status_code=100, headers=[]))
                )
            self.arrived.clear()
            if not self.more_body:
                await self.arrived.wait()  # nothing left to read: wait for the client to leave
                continue
            try:
                await asyncio.wait_for(self.arrived.wait(), connection.shared.limits.idle_timeout)
            except asyncio.TimeoutError:
                connection.shared.log.message("a client stopped sending its request body; closed")
                self.close_transport()
                self.client_gone()

    async def send(self, message: Message) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if self.response_complete:
            raise self.mistake(
                f"The app sent {kind!r} after its response was complete (the last "
                "'http.response.body' had more_body=False). Send nothing after that."
            )
        if self.disconnected:
            raise ClientDisconnected("The client closed the connection; nothing more can be sent.")
        if not self.response_started:
            if kind != "http.response.start":
                raise self.mistake(
                    f"The app sent {kind!r} first. A response begins with "
                    "{'type': 'http.response.start', 'status': 200, 'headers': [...]}, "
                    "and only then 'http.response.body' messages."
                )
            self.start_response(message)
            return
        if kind != "http.response.body":
            raise self.mistake(
                f"The app sent {kind!r} after 'http.response.start'; the next messages "
                "must be 'http.response.body'."
            )
        body = message.get("body", b"")
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise self.mistake(
                f"The 'body' of 'http.response.body' is a {type(body).__name__}, not bytes. "
                "Encode text first, for example 'hello'.encode('utf-8'), or write b'hello'."
            )
        more_body = bool(message.get("more_body", False))
        if not self.connection.writable.is_set():
            await self.connection.writable.wait()  # the client reads slowly: wait for it
            if self.disconnected:
                raise ClientDisconnected("The client closed the connection while we waited.")
        conn = self.connection.conn
        try:
            data = conn.send(h11.Data(data=bytes(body))) if body and not self.is_head else b""
            if not more_body:
                data += conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            self.connection.keep_alive = False
            self.response_complete = True  # nothing sensible can follow on this connection
            self.close_transport_now()
            raise self.mistake(
                f"The body does not match the response headers: {exc}. If you set "
                "Content-Length, send exactly that many bytes in total."
            ) from None
        if self.head:
            data, self.head = self.head + data, b""
        self.write(data)
        if not more_body:
            self.response_complete = True
            self.arrived.set()  # a receive() waiting for disconnect can return now
            self.connection.response_complete()

    def start_response(self, message: Message) -> None:
        status = message.get("status")
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 999:
            raise self.mistake(
                f"'status' must be a whole number such as 200 or 404, not {status!r}."
            )
        headers: list[tuple[bytes, bytes]] = []
        for pair in message.get("headers", []) or []:
            try:
                name, value = pair
            except (TypeError, ValueError):
                raise self.mistake(
                    f"Each header must be a pair [name, value]; got {pair!r}."
                ) from None
            if not isinstance(name, bytes) or not isinstance(value, bytes):
                raise self.mistake(
                    f"Header names and values must be bytes; got {pair!r}. Write "
                    "(b'content-type', b'text/plain'), or use .encode('latin-1')."
                )
            headers.append((name, value))
        if not any(name.lower() == b"date" for name, _ in headers):
            headers.append((b"date", http_date()))
        if not self.connection.keep_alive:
            headers.append((b"connection", b"close"))
        try:
            response = h11.Response(
                status_code=status, headers=headers, reason=reason_phrase(status)
            )
            data = self.connection.conn.send(response)
        except h11.LocalProtocolError as exc:
            self.connection.keep_alive = False
            self.response_started = self.response_complete = True
            self.close_transport_now()
            raise self.mistake(f"The response head is not valid HTTP: {exc}.") from None
        self.response_started = True
        # Hold the head back for a moment: most apps send the body right away, and
        # one write (one TCP segment) for both is faster. If no body comes before the
        # loop turns, flush_head sends the head alone.
        self.head = data
        asyncio.get_running_loop().call_soon(self.flush_head)

    def flush_head(self) -> None:
        if self.head:
            head, self.head = self.head, b""
            self.write(head)

    def mistake(self, text: str) -> RuntimeError:
        """A protocol error by the app: explain it, and close after the current response.

        (After a complete response the close waits for the next response, which says
        "Connection: close": closing an idle connection unannounced races the client's
        next request on it.)
        """
        self.connection.keep_alive = False
        return RuntimeError(f"{text} See {ASGI_SPEC}")

    def write(self, data: bytes) -> None:
        transport = self.connection.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(data)

    def close_transport_now(self) -> None:
        if self.connection.transport is not None:
            self.connection.transport.close()


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
