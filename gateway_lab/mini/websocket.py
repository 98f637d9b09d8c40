"""Websockets for the mini ASGI server: the handshake on h11, the frames on wsproto.

Theory of operation (spec: https://asgi.readthedocs.io/en/latest/specs/www.html#websocket):
a websocket starts life as an ordinary HTTP/1.1 GET carrying
``Upgrade: websocket`` and a ``Sec-WebSocket-Key``. The HTTP connection
(:mod:`gateway_lab.mini.connection`) sees that header and hands the connection to
a :class:`WebSocketSession`, which runs the app with a ``websocket`` scope.
What the app sends decides what happens on the wire::

    app receives {"type": "websocket.connect"}
    app sends    {"type": "websocket.accept"}  ->  HTTP/1.1 101 Switching Protocols (h11);
                                                   from here on the bytes are frames (wsproto)
             or  {"type": "websocket.close"}   ->  HTTP/1.1 403 Forbidden, connection closed
             or  {"type": "websocket.http.response.start", "status": ...} and
                 {"type": "websocket.http.response.body", ...} -> that HTTP response
                                                   (the denial response extension)

    frames in  -> {"type": "websocket.receive", "text": ...} or {..., "bytes": ...}
    {"type": "websocket.send", "text"/"bytes"} -> one text or binary frame out
    {"type": "websocket.close", "code", "reason"} -> close frame out; we wait up to
                                                     a second for the client's reply
    client's close frame -> our reply, then {"type": "websocket.disconnect", "code": ...}
    connection lost without a close frame -> {"type": "websocket.disconnect", "code": 1006}

The order of what the app sends is the ``"websocket"`` table of
:mod:`gateway_lab.protocol.asgi` (``self.order``); a message it refuses
raises :class:`~gateway_lab.errors.ProtocolError` with the table's
sentence. ``self.state`` is the connection's own life (connecting, open,
closed by either side), which the client can end too.

Incoming messages wait in a queue (``inbox``) until the app calls
``receive``; when the queue grows long we stop reading the socket, so a fast
client cannot fill the kernel's memory. Likewise while our writes back up
(a client that sends pings and never reads the pongs), we stop reading. If
the app returns without accepting, the client gets 403; if it raises, 500
before accepting or close code 1011 after. ``send`` after the client has
gone raises :class:`~gateway_lab.errors.ClientDisconnected` (an
``OSError``, spec 2.4).

Not supported (a small correct subset): permessage-deflate compression.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import generate_accept_token

from gateway_lab import specs
from gateway_lab.errors import ClientDisconnected, ProtocolError
from gateway_lab.mini.cycle import APP_FAILURES
from gateway_lab.mini.limits import reason_phrase
from gateway_lab.mini.shared import Owner
from gateway_lab.protocol import asgi as order
from gateway_lab.protocol.extensions import unoffered
from gateway_lab.types import Message, Scope

__all__ = ["WebSocketSession", "handshake_problem"]

WEBSOCKET_SPEC = specs.ASGI_WEBSOCKET
DENIAL = "websocket.http.response"  # the extension we offer in the scope
CLOSE_REPLY_WAIT = 1.0  # seconds we wait for the client to answer our close frame
INBOX_HIGH_WATER = 32  # queued messages before we stop reading the socket
EARLY_BYTES_LIMIT = 64 * 1024  # bytes a client may send before we accept

CONNECTING, OPEN, CLOSED = "connecting", "open", "closed"


def handshake_problem(request: h11.Request) -> str | None:
    """Why ``request`` is not a valid websocket handshake (RFC 6455 4.2.1), or None."""
    headers = dict(request.headers)
    if request.method != b"GET":
        return "A websocket handshake must be a GET request."
    if b"upgrade" not in headers.get(b"connection", b"").lower():
        return "A websocket handshake must carry 'Connection: Upgrade'."
    if headers.get(b"sec-websocket-version") != b"13":
        return "A websocket handshake must carry 'Sec-WebSocket-Version: 13'."
    if not headers.get(b"sec-websocket-key"):
        return "A websocket handshake must carry a 'Sec-WebSocket-Key'."
    if headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers:
        return "A websocket handshake must not have a body."
    return None


def offered_subprotocols(request: h11.Request) -> list[str]:
    """The subprotocols the client offers, in its order of preference."""
    offered: list[str] = []
    for name, value in request.headers:
        if name == b"sec-websocket-protocol":
            offered += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
    return offered


class WebSocketSession:
    """One websocket: the ``receive`` and ``send`` the app gets, over one connection."""

    def __init__(self, owner: Owner, request: h11.Request, scope: Scope) -> None:
        self.owner = owner
        self.key = dict(request.headers)[b"sec-websocket-key"]
        self.scope = scope
        self.scope["subprotocols"] = offered_subprotocols(request)
        self.scope["extensions"] = {DENIAL: {}}
        self.order = order.INITIAL["websocket"]  # the app's sends, in the protocol table
        self.state = CONNECTING
        self.closed_by = ""  # "server" or "client", once CLOSED
        self.ws: Connection | None = None  # the frame layer, from accept on
        self.early_bytes = bytearray()  # frames that came before we accepted
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.disconnect: Message = {"type": "websocket.disconnect", "code": 1006, "reason": ""}
        self.parts: list[Any] = []  # fragments of the message being received
        self.parts_size = 0
        self.reading_paused = False
        self.close_timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.owner.shared.spawn(self.run(), self.owner.loop)

    # -- the app's side -----------------------------------------------------------
    async def run(self) -> None:
        log = self.owner.shared.log
        try:
            await self.owner.shared.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            self.abort()
            raise
        except APP_FAILURES as exc:
            if isinstance(exc, Exception):  # the guard already logged it, with its traceback
                log.message(f"the websocket app raised {type(exc).__name__}; closing it")
            else:  # SystemExit / KeyboardInterrupt: they must not end the server
                log.error(f"{type(exc).__name__}: {exc}", exc=exc, request="WEBSOCKET")
            failed = True
        else:
            failed = False
        if self.order == "denying":
            self.abort()  # a denial response cut short: nothing better to do
        elif self.state == CONNECTING:
            status = 500 if failed else 403
            if not failed:
                log.message("the websocket app returned without accepting: answered 403")
            self.mark_closed(1006, "", by="server")
            self.owner.answer_and_close(status, "The app ended the websocket before accepting it.")
        elif self.state == OPEN:
            self.close(1011 if failed else 1000, "")

    async def receive(self) -> Message:
        if self.inbox.empty() and self.state == CLOSED:
            return self.disconnect  # asked again after the end: the same answer
        message = await self.inbox.get()
        transport = self.owner.transport
        if self.reading_paused and self.inbox.qsize() < INBOX_HIGH_WATER // 2 and transport:
            self.reading_paused = False
            transport.resume_reading()
        return message

    async def send(self, message: Message) -> None:
        if not isinstance(message, dict):
            raise self.mistake(f"send() takes a dict with a 'type' key, not {message!r:.60}.")
        key = order.message_key(message)
        broken = unoffered(key, self.scope.get("extensions"))
        following, problem = order.step("websocket", self.order, key)
        if broken is not None or problem is not None:
            raise ProtocolError(broken.sentence(key) if broken else problem)
        if self.state == CLOSED and self.order not in order.FINAL["websocket"]:
            raise ClientDisconnected(
                f"The websocket was closed by the {self.closed_by} (code "
                f"{self.disconnect['code']}); nothing more can be sent."
            )
        if key == "websocket.accept":
            self.accept(message)
        elif key == "websocket.close" and self.order == "connecting":
            self.mark_closed(1000, "", by="server")
            self.owner.answer_and_close(403, "The app closed the websocket before accepting it.")
        elif key == "websocket.close":
            code, reason = message.get("code", 1000), message.get("reason") or ""
            if not isinstance(code, int) or not isinstance(reason, str):
                raise self.mistake(
                    f"'websocket.close' needs an int 'code' and a str 'reason'; got "
                    f"{code!r} and {reason!r}."
                )
            self.close(code, reason)
        elif key == "websocket.send":
            await self.send_frame(message)
        elif key == "websocket.http.response.start":
            self.deny(message)
        else:
            self.deny_body(message, more=key.endswith(order.MORE_BODY))
        self.order = following

    def deny(self, message: Message) -> None:
        """The denial response extension: an HTTP response instead of the handshake."""
        status = message.get("status")
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise self.mistake(f"A denial response needs a 4xx or 5xx 'status', not {status!r}.")
        headers = [tuple(pair) for pair in message.get("headers") or []]
        if not all(len(p) == 2 and all(isinstance(x, bytes) for x in p) for p in headers):
            raise self.mistake(f"Each header must be a pair of bytes; got {headers!r:.80}.")
        headers.append((b"connection", b"close"))
        try:
            head = self.owner.conn.send(
                h11.Response(status_code=status, headers=headers, reason=reason_phrase(status))
            )
        except h11.LocalProtocolError as exc:
            raise self.mistake(f"The denial response head is not valid HTTP: {exc}.") from None
        self.write(head)

    def deny_body(self, message: Message, more: bool) -> None:
        body = message.get("body", b"")
        if not isinstance(body, bytes):
            raise self.mistake(f"The denial response 'body' must be bytes, not {body!r:.40}.")
        data = self.owner.conn.send(h11.Data(data=body)) if body else b""
        if not more:
            data += self.owner.conn.send(h11.EndOfMessage())
        self.write(data)
        if not more:
            self.mark_closed(1000, "", by="server")
            if self.owner.transport is not None:
                self.owner.transport.close()

    def accept(self, message: Message) -> None:
        subprotocol = message.get("subprotocol")
        headers = [
            (b"upgrade", b"websocket"),
            (b"connection", b"Upgrade"),
            (b"sec-websocket-accept", generate_accept_token(self.key)),
        ]
        if subprotocol is not None:
            if not isinstance(subprotocol, str):
                raise self.mistake(f"'subprotocol' must be a str, not {subprotocol!r}.")
            headers.append((b"sec-websocket-protocol", subprotocol.encode("latin-1")))
        for pair in message.get("headers") or []:
            if not (
                isinstance(pair, (tuple, list))
                and len(pair) == 2
                and all(isinstance(part, bytes) for part in pair)
            ):
                raise self.mistake(f"Each accept header must be a pair of bytes; got {pair!r}.")
            headers.append((pair[0], pair[1]))
        http = self.owner.conn
        try:
            self.write(http.send(h11.InformationalResponse(status_code=101, headers=headers)))
        except h11.LocalProtocolError as exc:
            raise self.mistake(f"The accept headers are not valid HTTP: {exc}.") from None
        trailing, _ = http.trailing_data
        self.ws = Connection(
            ConnectionType.SERVER, trailing_data=bytes(trailing + self.early_bytes)
        )
        self.early_bytes.clear()
        self.state = OPEN
        self.handle_frames()

    async def send_frame(self, message: Message) -> None:
        text, data = message.get("text"), message.get("bytes")
        if (text is None) == (data is None):
            raise self.mistake(
                "'websocket.send' needs exactly one of 'text' (a str) or 'bytes' (bytes)."
            )
        if text is not None and not isinstance(text, str):
            raise self.mistake(f"'text' must be a str, not {type(text).__name__}.")
        if data is not None and not isinstance(data, (bytes, bytearray)):
            raise self.mistake(f"'bytes' must be bytes, not {type(data).__name__}.")
        if not self.owner.writable.is_set():
            await self.owner.writable.wait()  # the client reads slowly: wait for it
            if self.state != OPEN:
                raise ClientDisconnected("The client closed the websocket while we waited.")
        assert self.ws is not None
        event = (
            TextMessage(data=text) if text is not None else BytesMessage(data=bytes(data or b""))
        )
        self.write(self.ws.send(event))

    def close(self, code: int, reason: str) -> None:
        """Send our close frame; the client's reply (or a timeout) ends the connection."""
        assert self.ws is not None
        if self.ws.state is ConnectionState.OPEN:
            self.write(self.ws.send(CloseConnection(code=code, reason=reason)))
        self.mark_closed(code, reason, by="server")
        transport = self.owner.transport
        if transport is not None:
            loop = asyncio.get_running_loop()
            self.close_timer = loop.call_later(CLOSE_REPLY_WAIT, transport.close)

    def mistake(self, text: str) -> ProtocolError:
        return ProtocolError(f"{text} See {WEBSOCKET_SPEC}")

    # -- the client's side ------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.ws is None:
            self.early_bytes += data
            if len(self.early_bytes) > EARLY_BYTES_LIMIT and self.owner.transport:
                self.owner.transport.close()
            return
        if self.ws.state is not ConnectionState.CLOSED:
            self.ws.receive_data(data)
            self.handle_frames()

    def handle_frames(self) -> None:
        assert self.ws is not None
        for event in self.ws.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self.on_message_part(
                    event.data if isinstance(event.data, str) else bytes(event.data),
                    event.message_finished,
                )
            elif isinstance(event, Ping):
                self.write(self.ws.send(event.response()))
                if not self.owner.writable.is_set() and self.owner.transport is not None:
                    self.owner.transport.pause_reading()  # pongs back up: the client must read

            elif isinstance(event, CloseConnection):
                self.on_close_frame(event)

    def resume_reading(self) -> None:
        """Our writes drained: read again, unless the app's unread inbox is full."""
        transport = self.owner.transport
        if transport is not None and not self.reading_paused and not transport.is_closing():
            transport.resume_reading()

    def on_message_part(self, data: str | bytes, finished: bool) -> None:
        if self.state != OPEN:
            return  # we already closed: what still arrives is dropped
        self.parts.append(data)
        self.parts_size += len(data)
        limit = self.owner.shared.limits.max_body_bytes
        if self.parts_size > limit:
            self.close(1009, f"message over {limit} bytes")
            return
        if not finished:
            return
        message: Message
        if isinstance(data, str):
            message = {"type": "websocket.receive", "text": "".join(self.parts)}
        else:
            message = {"type": "websocket.receive", "bytes": b"".join(self.parts)}
        self.parts, self.parts_size = [], 0
        self.inbox.put_nowait(message)
        transport = self.owner.transport
        if self.inbox.qsize() >= INBOX_HIGH_WATER and transport is not None:
            transport.pause_reading()  # the app reads slowly: let TCP push back
            self.reading_paused = True

    def on_close_frame(self, event: CloseConnection) -> None:
        assert self.ws is not None
        if self.ws.state is not ConnectionState.CLOSED:
            # The client began closing (or sent a broken frame): answer with a close frame.
            self.write(self.ws.send(event.response()))
        if self.state != CLOSED:
            self.mark_closed(int(event.code), event.reason or "", by="client")
        if self.owner.transport is not None:
            self.owner.transport.close()  # RFC 6455 5.5.1: the server closes TCP first

    def connection_lost(self) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
        if self.state != CLOSED:
            self.mark_closed(1006, "", by="client")

    def server_stopping(self) -> None:
        if self.state == OPEN:
            self.close(1001, "the server is stopping")
        elif self.state == CONNECTING and self.owner.transport is not None:
            self.mark_closed(1001, "", by="server")
            self.owner.answer_and_close(503, "The server is stopping.")

    # -- helpers -------------------------------------------------------------------------
    def mark_closed(self, code: int, reason: str, by: str) -> None:
        self.state = CLOSED
        self.closed_by = by
        self.disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
        self.inbox.put_nowait(self.disconnect)

    def write(self, data: bytes) -> None:
        transport = self.owner.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(data)

    def abort(self) -> None:
        if self.owner.transport is not None:
            self.owner.transport.abort()
