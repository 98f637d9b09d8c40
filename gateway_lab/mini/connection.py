"""One client connection of the mini ASGI server: bytes in through h11, request cycles out.

Theory of operation: asyncio calls :class:`HTTPConnection` back as bytes
arrive (``data_received``) and when the client goes away
(``connection_lost``). We never parse bytes ourselves: h11 turns them into
*events* (``Request``, ``Data``, ``EndOfMessage``) and our responses back
into bytes. ``handle_events`` pulls every complete event out of h11:

* a ``Request`` is checked against the limits (:mod:`.limits`: head size,
  body size, the HTTP version, smuggling) and becomes a
  :class:`~gateway_lab.mini.cycle.RequestCycle` whose app runs as a task, or,
  with ``Upgrade: websocket``, a :class:`~gateway_lab.mini.websocket.WebSocketSession`;
* ``Data`` and ``EndOfMessage`` feed the cycle's body (reading pauses while
  more than ``BODY_HIGH_WATER`` bytes wait unread, so TCP pushes back);
* once the response is complete and h11 agrees both sides are done, the
  next cycle starts (keep-alive, pipelining) or the connection closes.

A hostile or broken request gets a short explained refusal (400, 413, 431,
505...) and the connection is closed; the server goes on serving everyone
else.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

import h11

from gateway_lab.mini.cycle import RequestCycle
from gateway_lab.mini.limits import reason_phrase, refusal_body, version_refusal
from gateway_lab.mini.shared import ASGI_VERSION, ServerState, http_date

if TYPE_CHECKING:  # imported on first use below: wsproto loads only for a websocket
    from gateway_lab.mini.websocket import WebSocketSession

__all__ = ["BODY_HIGH_WATER", "HTTPConnection", "request_scope"]

BODY_HIGH_WATER = 64 * 1024  # unread request body we buffer before we stop reading


def request_scope(
    kind: str,
    request: h11.Request,
    connection: HTTPConnection,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> dict[str, Any]:
    """The ASGI scope for an h11 request: ``kind`` is "http" or "websocket".

    ``headers``: ``list(request.headers)``, if the caller has it already.
    """
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
        "headers": list(request.headers) if headers is None else headers,  # lower-case names
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


class HTTPConnection(asyncio.BufferedProtocol):
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
        self.websocket: WebSocketSession | None = None  # after an upgrade
        self.keep_alive = True
        self.writable = asyncio.Event()  # cleared while the client reads too slowly
        self.writable.set()
        self.body_paused = False
        self._timer: asyncio.TimerHandle | None = None
        self._idle_since: float | None = None  # loop time the connection became idle

    # -- asyncio's callbacks ---------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.loop = asyncio.get_running_loop()  # once per connection: it makes a system call
        self.client = _address(transport.get_extra_info("peername"))
        self.server = _address(transport.get_extra_info("sockname"))
        self.shared.connections.add(self)
        self.arm_idle_timer()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.shared.read_buffer  # asyncio reads into it (recv_into), no allocation

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.shared.read_buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        if self.websocket is not None:
            self.websocket.data_received(data)
            return
        self.conn.receive_data(data)
        self.handle_events()

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.connections.discard(self)
        self.stop_idle_timer()
        self.writable.set()
        if self.cycle is not None:
            self.cycle.client_gone()
        if self.websocket is not None:
            self.websocket.connection_lost()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()
        if self.websocket is not None:
            self.websocket.resume_reading()  # it stopped reading while we could not write

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
        pairs = list(request.headers)  # h11 gives lower-case names and bytes values
        head_size = len(request.target) + sum(len(n) + len(v) + 4 for n, v in pairs)
        if head_size > limits.max_header_bytes:
            # h11 bounds a head still arriving; one that came whole in one read is checked here.
            self.refuse(431, f"The request head is over {limits.max_header_bytes} bytes.")
            return
        unsupported = version_refusal(request.http_version)
        if unsupported is not None:  # never hand the app an http_version we do not speak
            self.refuse(*unsupported)
            return
        headers = dict(pairs)  # repeated names: the last one wins, enough here
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
                self, request, request_scope("websocket", request, self, pairs)
            )
            self.websocket.start()
            return
        self.cycle = RequestCycle(self, request_scope("http", request, self, pairs))
        self.cycle.task = self.shared.spawn(self.cycle.run(), self.loop)

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
            buffered, closed = self.conn.trailing_data
            if buffered or closed:
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

    # The idle timer is armed once and re-armed only when it fires: between requests we
    # just note the time (a timer handle per request would cost more than the request).
    def arm_idle_timer(self) -> None:
        loop = self.loop
        self._idle_since = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(self.shared.limits.idle_timeout, self.on_idle_timeout)

    def cancel_idle_timer(self) -> None:
        self._idle_since = None  # busy: the timer, when it fires, only re-arms itself

    def stop_idle_timer(self) -> None:
        self._idle_since = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def on_idle_timeout(self) -> None:
        # No complete request head within the limit: keep-alive over, or a slow client.
        self._timer = None
        loop, limit = self.loop, self.shared.limits.idle_timeout
        idle = None if self._idle_since is None else loop.time() - self._idle_since
        if idle is None or idle < limit:
            self._timer = loop.call_later(limit - (idle or 0.0), self.on_idle_timeout)
        elif self.transport is not None and self.cycle is None and self.websocket is None:
            self.transport.close()

    def shutdown(self) -> None:
        """The server is stopping: close when idle, else after the current response."""
        self.keep_alive = False
        if self.websocket is not None:
            self.websocket.server_stopping()
        elif self.transport is not None and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()
