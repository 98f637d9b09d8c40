"""The mini ASGI server's protocol, socket-free: bytes in, bytes out, no port.

The way uvicorn tests its protocols: an :class:`HTTPConnection` is given a
fake transport that only records what is written, and is fed request bytes
through ``data_received`` on a fresh event loop. Each test says exactly which
bytes go in and checks the bytes that come out (parsed by a small reader
below, or by a wsproto client for WebSocket frames). The real-socket tests
in ``test_mini_asgi.py`` prove the engine; these prove the protocol, fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from gateway_lab.mini.connection import HTTPConnection
from gateway_lab.mini.limits import Limits
from gateway_lab.mini.shared import ServerState
from gateway_lab.protocol.asgi import step
from gateway_lab.serving.asgi_guard import ASGIGuard
from gateway_lab.serving.log import ServerLog


class FakeTransport(asyncio.Transport):
    """Records what the server writes; closing calls ``connection_lost`` as asyncio does."""

    def __init__(self, protocol: HTTPConnection) -> None:
        super().__init__()
        self.protocol = protocol
        self.out = bytearray()
        self.closed = False
        self.reading = True

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "write after close"
        self.out += data

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )


class Wire:
    """One connection of a mini server with no socket: ``feed`` bytes, read ``out``."""

    def __init__(self, app: Any, guarded: bool = True, **limits: Any) -> None:
        self.log = ServerLog("bytes")
        served = ASGIGuard(app, self.log) if guarded else app
        self.shared = ServerState(served, self.log, Limits(**limits), None)
        self.connection = HTTPConnection(self.shared)
        self.transport = FakeTransport(self.connection)
        self.connection.connection_made(self.transport)

    async def feed(self, *pieces: bytes) -> None:
        for piece in pieces:
            self.connection.data_received(piece)
            await self.settle()

    async def settle(self) -> None:
        """Let the app's tasks and the loop's callbacks run (an app waiting for input stays)."""
        for _ in range(200):
            await asyncio.sleep(0)

    def take(self) -> bytes:
        data = bytes(self.transport.out)
        self.transport.out.clear()
        return data

    def responses(self) -> list[tuple[int, dict[str, str], bytes]]:
        return parse_responses(self.take())

    def leave(self) -> None:
        self.transport.closed = True
        self.connection.connection_lost(None)


def parse_responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """HTTP/1.1 responses in ``data``: (status, headers, body); 1xx included."""
    found = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        body = b""
        if "content-length" in headers:
            size = int(headers["content-length"])
            body, data = data[:size], data[size:]
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size_line, _, data = data.partition(b"\r\n")
                size = int(size_line, 16)
                chunk, data = data[:size], data[size + 2 :]
                if size == 0:
                    break
                body += chunk
        else:  # no length: the body runs to the end (HTTP/1.0, then the server closes)
            body, data = data, b""
        found.append((status, headers, body))
    return found


def run(test: Callable[[], Any]) -> Any:
    return asyncio.run(test())


async def hello(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello " + scope["path"].encode()})


async def echo(scope: dict, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


GET = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


# -- HTTP ----------------------------------------------------------------------------------
def test_one_get_gives_one_response_and_the_connection_stays_open() -> None:
    async def test() -> None:
        wire = Wire(hello)
        await wire.feed(GET)
        ((status, headers, body),) = wire.responses()
        assert (status, body) == (200, b"hello /x")
        assert "date" in headers and headers.get("transfer-encoding") == "chunked"
        assert not wire.transport.closed

    run(test)


def test_a_request_fed_one_byte_at_a_time_gives_the_same_answer() -> None:
    async def test() -> None:
        wire = Wire(hello)
        await wire.feed(*[GET[i : i + 1] for i in range(len(GET))])
        assert [(s, b) for s, _, b in wire.responses()] == [(200, b"hello /x")]

    run(test)


def test_pipelined_requests_in_one_read_are_answered_in_order() -> None:
    async def test() -> None:
        wire = Wire(hello)
        three = b"".join(f"GET /{n} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for n in (1, 2, 3))
        await wire.feed(three)
        await wire.settle()
        assert [b for _, _, b in wire.responses()] == [b"hello /1", b"hello /2", b"hello /3"]

    run(test)


def test_chunked_request_body_reaches_the_app() -> None:
    async def test() -> None:
        wire = Wire(echo)
        await wire.feed(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\n",
            b"6\r\n world\r\n0\r\n\r\n",
        )
        assert [b for _, _, b in wire.responses()] == [b"hello world"]

    run(test)


def test_expect_100_continue_then_the_answer() -> None:
    async def test() -> None:
        wire = Wire(echo)
        await wire.feed(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        assert wire.take().startswith(b"HTTP/1.1 100 ")
        await wire.feed(b"ok")
        assert [(s, b) for s, _, b in wire.responses()] == [(200, b"ok")]

    run(test)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/3.7\r\nHost: t\r\n\r\n", 505),
        (b"GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505),
        (
            b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 2000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", 413),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
    ],
)
def test_hostile_requests_are_refused_and_closed_before_the_app(
    request_bytes: bytes, status: int
) -> None:
    seen: list[str] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.append(scope.get("http_version", ""))
        await hello(scope, receive, send)

    async def test() -> None:
        wire = Wire(app, max_header_bytes=1024, max_body_bytes=1000)
        await wire.feed(request_bytes)
        ((answered, headers, body),) = wire.responses()
        assert answered == status and headers["connection"] == "close" and body
        assert wire.transport.closed and seen == []

    run(test)


def test_http_1_0_and_connection_close_end_the_connection_after_the_answer() -> None:
    async def test() -> None:
        for request in (
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        ):
            wire = Wire(hello)
            await wire.feed(request)
            assert [b for _, _, b in wire.responses()] == [b"hello /"]
            assert wire.transport.closed

    run(test)


def test_head_gets_the_head_and_no_body() -> None:
    async def test() -> None:
        wire = Wire(hello)
        await wire.feed(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
        out = wire.take()
        assert out.startswith(b"HTTP/1.1 200 ") and b"hello" not in out

    run(test)


@pytest.mark.parametrize("failure", [ValueError, SystemExit, KeyboardInterrupt])
@pytest.mark.parametrize("guarded", [True, False])
def test_an_app_that_raises_gets_a_500_and_the_error_is_recorded(
    failure: Any, guarded: bool
) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        raise failure("boom")

    async def test() -> None:
        wire = Wire(app, guarded=guarded)
        await wire.feed(GET)
        ((status, _, _),) = wire.responses()
        assert status == 500
        assert any(failure.__name__ in e.summary for e in wire.log.errors) or (
            guarded is False and failure is ValueError  # unguarded: the server only notes it
        )

    run(test)


def test_an_order_mistake_reads_as_the_table_says_without_the_guard() -> None:
    said: list[str] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        try:
            await send({"type": "http.response.body", "body": b"first"})
        except RuntimeError as exc:
            said.append(str(exc))
            raise

    async def test() -> None:
        wire = Wire(app, guarded=False)
        await wire.feed(GET)
        assert [s for s, _, _ in wire.responses()] == [500]
        assert said == [step("http", "before-start", "http.response.body")[1]]

    run(test)


def test_a_client_that_leaves_mid_stream_ends_the_app_with_oserror() -> None:
    raised: list[BaseException] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"tick", "more_body": True})
        except OSError as exc:
            raised.append(exc)
            raise

    async def test() -> None:
        wire = Wire(app)
        wire.connection.data_received(GET)
        for _ in range(5):
            await asyncio.sleep(0)
        assert wire.take().startswith(b"HTTP/1.1 200 ")
        wire.leave()
        await wire.settle()
        assert raised and isinstance(raised[0], OSError)
        assert not wire.shared.tasks
        assert [r.error for r in wire.log.requests] == ["client disconnected"]

    run(test)


# -- WebSocket -----------------------------------------------------------------------------
def _client() -> tuple[WSConnection, bytes]:
    client = WSConnection(ConnectionType.CLIENT)
    return client, client.send(Request(host="t", target="/ws"))


async def ws_echo(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": "echo " + message["text"]})


def test_websocket_handshake_frames_ping_and_close_as_bytes() -> None:
    async def test() -> None:
        wire = Wire(ws_echo)
        client, handshake = _client()
        await wire.feed(handshake)
        client.receive_data(wire.take())
        assert isinstance(next(client.events()), AcceptConnection)
        await wire.feed(client.send(TextMessage(data="hi")) + client.send(Ping(b"p")))
        client.receive_data(wire.take())
        got = list(client.events())
        assert any(isinstance(e, Pong) and e.payload == b"p" for e in got)
        assert [e.data for e in got if isinstance(e, TextMessage)] == ["echo hi"]
        await wire.feed(client.send(CloseConnection(code=1000)))
        client.receive_data(wire.take())
        assert any(isinstance(e, CloseConnection) for e in client.events())
        await wire.settle()
        assert wire.transport.closed and not wire.shared.tasks

    run(test)


@pytest.mark.parametrize(
    ("messages", "status"),
    [
        ([{"type": "websocket.close"}], 403),
        (
            [
                {"type": "websocket.http.response.start", "status": 401, "headers": []},
                {"type": "websocket.http.response.body", "body": b"log in first"},
            ],
            401,
        ),
        ([{"type": "websocket.send", "text": "too early"}], 500),
    ],
)
def test_websocket_refusals_are_plain_http_answers(messages: list[dict], status: int) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        assert "websocket.http.response" in scope["extensions"]
        await receive()
        for message in messages:
            await send(message)

    async def test() -> None:
        wire = Wire(app)
        client, handshake = _client()
        await wire.feed(handshake)
        client.receive_data(wire.take())
        events = list(client.events())
        assert isinstance(events[0], RejectConnection) and events[0].status_code == status
        if status == 401:
            assert b"".join(e.data for e in events if isinstance(e, RejectData)) == b"log in first"
        if status == 500:
            sentence = step("websocket", "connecting", "websocket.send")[1]
            assert any(sentence in e.summary for e in wire.log.errors), wire.log.errors
        assert wire.transport.closed

    run(test)


def test_websocket_client_that_pings_and_never_reads_stops_being_read() -> None:
    async def test() -> None:
        wire = Wire(ws_echo)
        client, handshake = _client()
        await wire.feed(handshake)
        client.receive_data(wire.take())
        assert isinstance(next(client.events()), AcceptConnection)
        wire.connection.pause_writing()  # the client's window is full: writes back up
        await wire.feed(client.send(Ping(b"x" * 100)))
        assert not wire.transport.reading  # we stop reading until it reads
        wire.connection.resume_writing()
        assert wire.transport.reading

    run(test)
