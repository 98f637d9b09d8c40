"""A small blocking WebSocket client for notebook cells: wsproto over a socket.

Theory of operation: a WebSocket (RFC 6455) begins as an HTTP/1.1 GET with
``Upgrade: websocket``; once the server answers ``101 Switching Protocols``
the same TCP connection carries *frames* both ways until one side sends a
close frame and the other answers it. wsproto does all of the byte-level
work (the handshake, masking, framing, the close handshake) without doing
any I/O; this module only moves bytes between wsproto and a socket::

    ws = ws_connect(srv.url + "echo")   # handshake: GET + Upgrade -> 101
    ws.send("hi")                       # one text frame out
    ws.receive()                        # -> "hi"  (blocks, bounded by ``timeout``)
    ws.close()                          # close frame out, wait for the reply

It is deliberately blocking and single-threaded, like ``httpx.get``: a cell
that calls ``receive`` waits for one message. The servers of this course
run in their own threads, so a cell may block here without freezing them.
Pings are answered, fragmented messages are joined, and a close frame from
the server is answered and then reported as :class:`WebSocketClosed`.
``close`` sends the client's close frame and waits (at most
:data:`CLOSE_WAIT` seconds) for the server's answering one.

Optional recording: pass the :class:`~gateway_lab.events.flow.Flow` of a recorded
app (``gl.record_asgi``) as ``flow=`` and every frame the client sends or
receives is added to it on a ``client`` lane, under the same connection
number as the app's own events (found by the client's port in the recorded
scope), so ``gl.show_flow(flow)`` draws frames on the wire and ASGI
messages side by side. Both halves of the close handshake are recorded:
the client's close frame and the server's answer.

Only loopback addresses are accepted: this is a teaching client for the
servers running in the kernel, not a general-purpose one.
"""

from __future__ import annotations

import socket
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from gateway_lab.errors import GatewayLabError, WebSocketClosed, WebSocketRefused
from gateway_lab.events.flow import BODY_CAP, Flow
from gateway_lab.events.kinds import CLOSE, FRAME, SCOPE
from gateway_lab.platform import require_os

__all__ = ["WebSocketClient", "WebSocketClosed", "WebSocketRefused", "ws_connect"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost")
CLOSE_WAIT = 1.0  # seconds we wait for the server to answer our close frame
SHOWN_TEXT = 40  # characters of a message quoted in a diagram label


def _address(url: str) -> tuple[str, int, str]:
    """(host, port, target) of a ws://, wss://-less or http:// loopback URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "http"):
        raise GatewayLabError(
            f"ws_connect wants a ws:// or http:// URL such as 'ws://127.0.0.1:8000/chat' "
            f"(srv.url + 'chat' works too), not {url!r}."
        )
    host = parts.hostname or ""
    if host not in LOOPBACK_NAMES:
        raise GatewayLabError(
            f"ws_connect only talks to servers on this machine (127.0.0.1), not {host!r}."
        )
    if parts.port is None:
        raise GatewayLabError(f"The URL {url!r} has no port; use srv.url, which includes it.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return "127.0.0.1", parts.port, target


def _label(data: str | bytes) -> str:
    kind = "text" if isinstance(data, str) else "bytes"
    shown = repr(data if len(data) <= SHOWN_TEXT else data[:SHOWN_TEXT])
    return f"{kind} {shown}{'…' if len(data) > SHOWN_TEXT else ''}"


def _frame_payload(data: str | bytes) -> dict[str, Any]:
    """What a diagram shows of one message: a label, its size, the first bytes."""
    return {"summary": _label(data), "size": len(data), "data": data[:BODY_CAP]}


class WebSocketClient:
    """One open WebSocket from a notebook cell (use :func:`ws_connect`)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        flow: Flow | None = None,
        subprotocols: tuple[str, ...] = (),
    ) -> None:
        host, port, target = _address(url)
        self.url = url
        self.timeout = timeout
        self.flow = flow
        self.connection = 0
        self.subprotocol: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed_by = ""
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._events: deque[Event] = deque()
        self._parts: list[str | bytes] = []
        self._lost = False  # the connection ended without a close frame
        self._sock = socket.create_connection((host, port), timeout=timeout)
        try:
            self._write(
                Request(host=f"{host}:{port}", target=target, subprotocols=list(subprotocols))
            )
            self._handshake()
        except BaseException:
            self._sock.close()
            raise

    # -- the handshake -------------------------------------------------------------------
    def _handshake(self) -> None:
        event = self._next_event(self.timeout)
        if isinstance(event, AcceptConnection):
            self.subprotocol = event.subprotocol
            self.connection = self._recorded_connection()
            return
        if isinstance(event, RejectConnection):
            status, body = event.status_code, b""
            more = event.has_body
            while more:
                part = self._next_event(self.timeout)
                more = isinstance(part, RejectData) and not part.body_finished
                body += part.data if isinstance(part, RejectData) else b""
            raise WebSocketRefused(status, body)
        raise WebSocketRefused(0)

    def _recorded_connection(self) -> int:
        """The recorder's number for this connection: the scope whose client port is ours."""
        if self.flow is None:
            return 0
        port = self._sock.getsockname()[1]
        for event in reversed(self.flow.events):
            if event.kind != SCOPE:
                continue
            client = event.payload.get("scope", {}).get("client")
            if isinstance(client, (list, tuple)) and len(client) == 2 and client[1] == port:
                return event.connection
        return self.flow.new_connection()

    def _note(self, source: str, target: str, kind: str, payload: dict[str, Any]) -> None:
        if self.flow is not None:
            self.flow.add(source, target, kind, payload, self.connection)

    # -- bytes in and out ----------------------------------------------------------------
    def _write(self, event: Event) -> None:
        self._sock.sendall(self._ws.send(event))

    def _next_event(self, timeout: float | None) -> Event:
        self._sock.settimeout(self.timeout if timeout is None else timeout)
        while not self._events:
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                raise TimeoutError(
                    f"Nothing arrived on the WebSocket within "
                    f"{self.timeout if timeout is None else timeout:g} s."
                ) from None
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            self._ws.receive_data(data or None)
            self._events.extend(self._ws.events())
            if not data and not self._events:
                self._lost = True
                self._events.append(CloseConnection(code=1006, reason="connection lost"))
        return self._events.popleft()

    # -- the public face -----------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return bool(self.closed_by)

    def send(self, data: str | bytes) -> None:
        """Send one message: a ``str`` as a text frame, ``bytes`` as a binary frame."""
        if self.closed:
            raise WebSocketClosed(self.close_code, self.close_reason, self.closed_by)
        if isinstance(data, str):
            event: Event = TextMessage(data=data)
        elif isinstance(data, (bytes, bytearray)):
            event = BytesMessage(data=bytes(data))
        else:
            raise TypeError(
                f"send() takes a str (a text frame) or bytes (a binary frame), not a "
                f"{type(data).__name__}. For a dict, send json.dumps(value)."
            )
        self._note("client", "server", FRAME, _frame_payload(data))
        self._write(event)

    def receive(self, timeout: float | None = None) -> str | bytes:
        """The next message (``str`` or ``bytes``); waits up to ``timeout`` seconds.

        Raises :class:`WebSocketClosed` when the server closes the WebSocket,
        and ``TimeoutError`` if nothing arrives in time.
        """
        while True:
            if self.closed:
                raise WebSocketClosed(
                    self.close_code, self.close_reason, self.closed_by, action="received"
                )
            event = self._next_event(timeout)
            if isinstance(event, Ping):
                self._write(event.response())
            elif isinstance(event, CloseConnection):
                self._closed_by_server(event)
            elif isinstance(event, Message):
                self._parts.append(event.data)
                if event.message_finished:
                    parts, self._parts = self._parts, []
                    message: str | bytes = (
                        "".join(parts)  # type: ignore[arg-type]
                        if isinstance(event, TextMessage)
                        else b"".join(parts)  # type: ignore[arg-type]
                    )
                    self._note("server", "client", FRAME, _frame_payload(message))
                    return message

    def receive_all(self, wait: float = 0.2) -> list[str | bytes]:
        """Every message that arrives within ``wait`` seconds of the previous one."""
        messages: list[str | bytes] = []
        while not self.closed:
            try:
                messages.append(self.receive(timeout=wait))
            except (TimeoutError, WebSocketClosed):
                break
        return messages

    def _closed_by_server(self, event: CloseConnection) -> None:
        code = int(event.code)  # wsproto gives a CloseReason enum for the codes it knows
        self.close_code, self.close_reason, self.closed_by = code, event.reason or "", "server"
        self._note("server", "client", CLOSE, {"summary": f"code {code}", "code": code})
        try:
            if self._ws.state.name == "REMOTE_CLOSING":
                self._write(event.response())
        except OSError:
            pass
        self._sock.close()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Say goodbye (a close frame), wait for the server's answering close, free the socket.

        The wait is bounded (:data:`CLOSE_WAIT` seconds); messages still in
        flight are skipped. With ``flow=``, the server's close frame is
        recorded too, on the same connection.
        """
        if self.closed:
            self._sock.close()
            return
        self.close_code, self.close_reason, self.closed_by = code, reason, "client"
        self._note("client", "server", CLOSE, {"summary": f"code {code}", "code": code})
        try:
            self._write(CloseConnection(code=code, reason=reason))
            deadline = time.monotonic() + CLOSE_WAIT
            while (left := deadline - time.monotonic()) > 0:  # skip messages still in flight
                event = self._next_event(left)
                if isinstance(event, CloseConnection):
                    if not self._lost:
                        self._note(
                            "server",
                            "client",
                            CLOSE,
                            {
                                "summary": f"code {int(event.code)} (answer)",
                                "code": int(event.code),
                            },
                        )
                    break
        except (OSError, TimeoutError):
            pass  # the server went first, or did not answer: we close anyway
        finally:
            self._sock.close()

    def __enter__(self) -> WebSocketClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"closed by the {self.closed_by} ({self.close_code})" if self.closed else "open"
        return f"<WebSocket {self.url} {state}>"


def ws_connect(
    url: str,
    *,
    timeout: float = 5.0,
    flow: Flow | None = None,
    subprotocols: tuple[str, ...] = (),
) -> WebSocketClient:
    """Open a WebSocket to a server in the kernel: ``ws = gl.ws_connect(srv.url + "chat")``.

    ``timeout`` bounds the handshake and each ``receive``; ``flow`` (a
    recorded app's flow) adds the client's frames to its diagram.
    """
    require_os("gl.ws_connect", "a socket to a server")
    return WebSocketClient(url, timeout=timeout, flow=flow, subprotocols=subprotocols)
