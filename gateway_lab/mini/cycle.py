"""One HTTP request and its response in the mini ASGI server: the app's ``receive`` and ``send``.

Theory of operation: the connection (:mod:`.connection`) makes a
:class:`RequestCycle` for each request h11 parses, feeds it the body as it
arrives (``add_body``, ``body_complete``) and tells it when the client
leaves (``client_gone``). The cycle runs the app as a task with its own
``receive`` (the body, one ``http.request`` message per piece, then
``http.disconnect`` once the response is complete or the client has gone)
and ``send``, which turns messages into bytes through h11.

The order of what the app sends is the ``"http"`` table of
:mod:`gateway_lab.protocol.asgi` (``self.order``): a message the table
refuses raises :class:`~gateway_lab.errors.ProtocolError` with the table's
sentence inside the app's ``send``, and the connection is closed after
whatever response can still be sent. ``send`` after the client has gone
raises :class:`~gateway_lab.errors.ClientDisconnected`, an ``OSError``, as
the spec allows: an app streaming forever to a closed tab stops.

An app that raises (``SystemExit`` and ``KeyboardInterrupt`` included: in a
server they can only come from the app) gets a 500 if no response has
begun, else its connection is cut; the server goes on serving.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

import h11

from gateway_lab import specs
from gateway_lab.errors import ClientDisconnected, ProtocolError
from gateway_lab.mini.limits import reason_phrase
from gateway_lab.mini.shared import Owner, http_date
from gateway_lab.protocol import asgi as order
from gateway_lab.protocol.response_fields import field_problem
from gateway_lab.types import Message, Scope

__all__ = ["APP_FAILURES", "RequestCycle"]

# What an app may raise that a server answers with 500 (CancelledError is the loop's).
APP_FAILURES = (Exception, SystemExit, KeyboardInterrupt)
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


class RequestCycle:
    """One request and its response: the ``receive`` and ``send`` the app is given."""

    def __init__(self, connection: Owner, scope: Scope) -> None:
        self.connection = connection
        self.scope = scope
        self.is_head = scope["method"] == "HEAD"
        self.body = bytearray()  # received, not yet given to the app
        self.body_size = 0
        self.more_body = True  # False once h11 saw the end of the request body
        self.body_delivered = False  # the app got the message with more_body False
        self.arrived = asyncio.Event()  # set when body arrives or the client leaves
        self.disconnected = False
        self.order = order.INITIAL["http"]  # where the response is, in the protocol table
        self.head = b""  # the response head, until it is written with the first body bytes
        self.task: asyncio.Task[None] | None = None

    @property
    def response_started(self) -> bool:
        return self.order != order.INITIAL["http"]

    @property
    def response_complete(self) -> bool:
        return self.order in order.FINAL["http"]

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
        request = f"{self.scope['method']} {self.scope['path']}"
        try:
            await self.connection.shared.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            self.close_transport()  # stopping, or the request was refused
            raise
        except APP_FAILURES as exc:
            if isinstance(exc, Exception):  # the guard already logged it, with its traceback
                log.message(
                    f"the app raised {type(exc).__name__} while answering; closed the connection"
                )
            else:  # SystemExit / KeyboardInterrupt: no guard turns these into a 500 for us
                log.error(f"{type(exc).__name__}: {exc}", exc=exc, request=request)
            self.finish_for_app()
            return
        if self.disconnected or self.response_complete:
            return
        if order.ending("http", self.order) is not None:  # the guard logged what is missing
            answer = "answered 500" if not self.response_started else "closed the connection"
            log.message(f"the app returned without a whole response to {request}; {answer}")
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
        if not isinstance(message, dict):
            raise self.mistake(
                f"send() takes a dict with a 'type' key, not {message!r:.60}.", specs.ASGI_EVENTS
            )
        key = order.message_key(message)
        following, problem = order.step("http", self.order, key)
        if problem is not None:
            raise self.mistake(problem)
        if self.disconnected:
            raise ClientDisconnected("The client closed the connection; nothing more can be sent.")
        if key == "http.response.start":
            self.start_response(message)
        else:
            await self.send_body(message, more_body=following != "complete")
        self.order = following
        if self.response_complete:
            self.arrived.set()  # a receive() waiting for disconnect can return now
            self.connection.response_complete()

    async def send_body(self, message: Message, more_body: bool) -> None:
        wrong = field_problem(message)  # the words call_asgi and the guard use
        if wrong is not None:
            raise self.mistake(wrong)
        body = message.get("body", b"")
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
            self.order = "complete"  # nothing sensible can follow on this connection
            self.close_transport_now()
            raise self.mistake(
                f"The body does not match the response headers: {exc}. If you set "
                "Content-Length, send exactly that many bytes in total.",
                specs.ASGI_HTTP_RESPONSE_BODY,
            ) from None
        if self.head:
            data, self.head = self.head + data, b""
        self.write(data)

    def start_response(self, message: Message) -> None:
        wrong = field_problem(message)  # the words call_asgi and the guard use
        if wrong is not None:
            raise self.mistake(wrong)
        status = message["status"]
        spec = specs.ASGI_HTTP_RESPONSE_START
        if not 200 <= status <= 999:
            raise self.mistake(
                f"'status' must be a whole number from 200 to 999, such as 200 or 404, "
                f"not {status!r}.",
                spec,
            )
        headers: list[tuple[bytes, bytes]] = []
        dated = False
        for name, value in message.get("headers", []) or []:
            headers.append((name, value))
            dated = dated or name.lower() == b"date"
        if not dated:
            headers.append((b"date", http_date()))
        if not self.connection.keep_alive:
            headers.append((b"connection", b"close"))
        try:
            reason = _REASONS.get(status) or reason_phrase(status).encode()
            response = h11.Response(status_code=status, headers=headers, reason=reason)
            data = self.connection.conn.send(response)
        except h11.LocalProtocolError as exc:
            self.connection.keep_alive = False
            self.order = "complete"  # the head cannot go out: this response is over
            self.close_transport_now()
            raise self.mistake(f"The response head is not valid HTTP: {exc}.", spec) from None
        # Hold the head back for a moment: most apps send the body right away, and
        # one write (one TCP segment) for both is faster. If no body comes before the
        # loop turns, flush_head sends the head alone.
        self.head = data
        self.connection.loop.call_soon(self.flush_head)

    def flush_head(self) -> None:
        if self.head:
            head, self.head = self.head, b""
            self.write(head)

    def mistake(self, text: str, spec: str = "") -> ProtocolError:
        """A protocol error by the app: explain it, and close after the current response.

        (After a complete response the close waits for the next response, which says
        "Connection: close": closing an idle connection unannounced races the client's
        next request on it.)
        """
        self.connection.keep_alive = False
        return ProtocolError(f"{text} See {spec}" if spec else text)

    def write(self, data: bytes) -> None:
        transport = self.connection.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(data)

    def close_transport_now(self) -> None:
        if self.connection.transport is not None:
            self.connection.transport.close()
