"""ASGI 3 conformance: the same cases for every ASGI engine (mini, uvicorn).

Each case serves a small app with ``gl.serve_asgi(app, engine=...)`` and talks
to it over loopback: httpx for plain requests, a raw socket where the bytes
matter (chunked uploads, HEAD, keep-alive, a client that goes away), and a
wsproto client on a raw socket for websockets. The apps record the messages
they receive, and the cases check them against the ASGI spec:
https://asgi.readthedocs.io/en/latest/specs/www.html and
https://asgi.readthedocs.io/en/latest/specs/lifespan.html

Known gaps of a real engine would be marked ``xfail(strict=True)`` with the
behaviour observed; mini has no such marks.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from collections import deque
from typing import Any

import httpx
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)

import gateway_lab as gl

ENGINES = ("mini", "uvicorn")
WAIT = 3.0  # the longest any case waits for something that should happen


def engines(**gaps: str) -> list[Any]:
    """Every engine as a pytest param; those named in ``gaps`` are known gaps."""
    params = []
    for engine in ENGINES:
        marks: list[Any] = []
        if engine == "mini" and importlib.util.find_spec("gateway_lab.mini.asgi") is None:
            marks.append(pytest.mark.skip(reason="gateway_lab/mini/asgi.py is not written yet"))
        if engine in gaps:
            marks.append(pytest.mark.xfail(strict=True, reason=f"{engine}: {gaps[engine]}"))
        params.append(pytest.param(engine, marks=marks, id=engine))
    return params


async def read_request(receive: Any, log: list[dict[str, Any]] | None = None) -> bytes:
    """Every ``http.request`` message's body, joined (logging each message)."""
    parts = []
    while True:
        message = await receive()
        if log is not None:
            log.append(message)
        assert message["type"] == "http.request", message
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def answer(send: Any, body: bytes, status: int = 200) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def ignore_lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def echo_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await ignore_lifespan(receive, send)
    await answer(send, await read_request(receive))


def assert_no_errors(srv: Any) -> None:
    assert not srv.errors, "\n".join(str(error) for error in srv.errors)


# -- the scope and the request body ------------------------------------------------


@pytest.mark.parametrize("engine", engines())
def test_http_scope_keys_and_types(engine, conformance_server, raw_http):
    scopes: list[dict[str, Any]] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await ignore_lifespan(receive, send)
        scopes.append(dict(scope))
        await echo_app(scope, receive, send)

    srv = conformance_server(app, engine, "asgi")
    conn = raw_http(srv.port)
    conn.send(
        b"GET /caf%C3%A9/x?a=1&b=%20 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Course: gateway-lab\r\n\r\n"
    )
    response = conn.read_response()
    assert response is not None and response.status == 200
    assert_no_errors(srv)
    scope = scopes[0]
    assert scope["type"] == "http"
    assert scope["asgi"]["version"] == "3.0"
    assert isinstance(scope["asgi"].get("spec_version", "2.0"), str)
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/café/x"  # percent-decoded, as UTF-8 text
    assert scope["raw_path"] == b"/caf%C3%A9/x"  # the bytes as sent, no query
    assert scope["query_string"] == b"a=1&b=%20"
    assert scope["root_path"] == ""
    headers = [tuple(pair) for pair in scope["headers"]]
    assert all(isinstance(n, bytes) and isinstance(v, bytes) for n, v in headers)
    assert all(name == name.lower() for name, _ in headers)
    assert (b"x-course", b"gateway-lab") in headers
    assert (b"host", b"127.0.0.1") in headers
    client_host, client_port = scope["client"]
    assert client_host == "127.0.0.1" and isinstance(client_port, int)
    assert tuple(scope["server"]) == ("127.0.0.1", srv.port)


@pytest.mark.parametrize("engine", engines())
def test_body_with_content_length_arrives_whole(engine, conformance_server):
    srv = conformance_server(echo_app, engine, "asgi")
    payload = bytes(range(256)) * 4000  # 1 MB, every byte value
    with httpx.Client(timeout=WAIT) as client:
        response = client.post(srv.url, content=payload)
    assert response.status_code == 200
    assert response.content == payload
    assert_no_errors(srv)


@pytest.mark.parametrize("engine", engines())
def test_chunked_body_arrives_in_several_messages_with_more_body(
    engine, conformance_server, raw_http
):
    messages: list[dict[str, Any]] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await ignore_lifespan(receive, send)
        await answer(send, await read_request(receive, messages))

    srv = conformance_server(app, engine, "asgi")
    conn = raw_http(srv.port)
    conn.send(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    for piece in (b"5\r\nhello\r\n", b"6\r\n world\r\n", b"1\r\n!\r\n", b"0\r\n\r\n"):
        time.sleep(0.05)  # separate arrivals: a streaming server passes each on
        conn.send(piece)
    response = conn.read_response("POST")
    assert response is not None and (response.status, response.body) == (200, b"hello world!")
    assert len(messages) >= 2, f"the body came in one message: {messages}"
    assert all(m["more_body"] is True for m in messages[:-1])
    assert messages[-1].get("more_body", False) is False
    assert all(isinstance(m["body"], bytes) for m in messages)


@pytest.mark.parametrize("engine", engines())
def test_expect_100_continue_gets_an_interim_answer(engine, conformance_server, raw_http):
    srv = conformance_server(echo_app, engine, "asgi")
    conn = raw_http(srv.port, timeout=1.0)
    conn.send(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    interim = conn.read_response("POST", informational=True)
    assert interim is not None and interim.status == 100
    conn.send(b"hello")
    response = conn.read_response("POST")
    assert response is not None and (response.status, response.body) == (200, b"hello")


# -- responses ---------------------------------------------------------------------


@pytest.mark.parametrize("engine", engines())
def test_streamed_response_goes_out_message_by_message(engine, conformance_server):
    go_on = threading.Event()

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await ignore_lifespan(receive, send)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await asyncio.to_thread(go_on.wait, WAIT)  # the client must have "first" first
        await send({"type": "http.response.body", "body": b"second", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    srv = conformance_server(app, engine, "asgi")
    with httpx.Client(timeout=WAIT) as client, client.stream("GET", srv.url) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        go_on.set()
        rest = b"".join(chunks)
    assert (first, rest) == (b"first", b"second")
    assert_no_errors(srv)


async def hello_sized(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await ignore_lifespan(receive, send)
    await answer(send, b"hello world")


async def hello_streamed(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await ignore_lifespan(receive, send)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello", "more_body": True})
    await send({"type": "http.response.body", "body": b" world"})


BODIES = pytest.mark.parametrize("app", [hello_sized, hello_streamed], ids=["sized", "streamed"])


@pytest.mark.parametrize("engine", engines())
@BODIES
def test_head_sends_no_body(engine, app, conformance_server, raw_http):
    srv = conformance_server(app, engine, "asgi")
    conn = raw_http(srv.port)
    conn.send(b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    response = conn.read_response("HEAD")
    assert response is not None and response.status == 200
    assert conn.extra_bytes(0.2) == b"", "body bytes followed a HEAD answer"


@pytest.mark.parametrize("engine", engines())
@BODIES
def test_keep_alive_serves_several_requests_on_one_connection(
    engine, app, conformance_server, raw_http
):
    srv = conformance_server(app, engine, "asgi")
    conn = raw_http(srv.port)
    for _ in range(3):
        conn.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        response = conn.read_response()
        assert response is not None and response.complete
        assert (response.status, response.body) == (200, b"hello world")
    assert_no_errors(srv)


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize("when", ["before-response", "mid-response"])
def test_http_disconnect_when_the_client_goes_away(engine, when, conformance_server, raw_http):
    after_body: list[str] = []
    arrived, done = threading.Event(), threading.Event()

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await ignore_lifespan(receive, send)
        await read_request(receive)
        arrived.set()
        if when == "mid-response":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        message = await asyncio.wait_for(receive(), WAIT)  # waits until the client leaves
        after_body.append(message["type"])
        done.set()

    srv = conformance_server(app, engine, "asgi")
    conn = raw_http(srv.port)
    conn.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert arrived.wait(WAIT)
    if when == "mid-response":
        assert conn.recv()
    conn.close()
    assert done.wait(WAIT), "receive() did not return after the client went away"
    assert after_body == ["http.disconnect"]


@pytest.mark.parametrize("engine", engines())
def test_an_app_that_raises_gets_500_and_the_server_goes_on(engine, conformance_server):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await ignore_lifespan(receive, send)
        if scope["path"] == "/boom":
            raise RuntimeError("boom")
        await answer(send, b"fine")

    srv = conformance_server(app, engine, "asgi")
    with httpx.Client(timeout=WAIT) as client:
        assert client.get(srv.url + "boom").status_code == 500
        response = client.get(srv.url + "after")
    assert (response.status_code, response.content) == (200, b"fine")
    assert [error.summary for error in srv.errors if error.where == "app"] == ["RuntimeError: boom"]


# -- lifespan ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", engines())
def test_lifespan_startup_before_serving_and_shutdown_on_stop(engine, conformance_server):
    seen: list[str] = []
    scopes: list[dict[str, Any]] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            scopes.append(dict(scope))
            while True:
                message = await receive()
                seen.append(message["type"])
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        seen.append("request")
        await answer(send, b"ok")

    srv = conformance_server(app, engine, "asgi")
    assert seen == ["lifespan.startup"]  # done before serve_asgi returned
    with httpx.Client(timeout=WAIT) as client:
        assert client.get(srv.url).status_code == 200
    assert srv.stop()
    assert seen == ["lifespan.startup", "request", "lifespan.shutdown"]
    assert scopes[0]["type"] == "lifespan"
    assert scopes[0]["asgi"]["version"] == "3.0"
    assert_no_errors(srv)


@pytest.mark.parametrize("engine", engines())
def test_lifespan_startup_failed_stops_the_start(engine, conformance_server):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "no database"})
            return
        await answer(send, b"never")

    with pytest.raises(gl.ServerStartError):
        conformance_server(app, engine, "asgi")


@pytest.mark.parametrize("engine", engines())
def test_an_app_without_lifespan_is_still_served(engine, conformance_server):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"this app only speaks http, not {scope['type']}")
        await answer(send, b"ok")

    srv = conformance_server(app, engine, "asgi")
    with httpx.Client(timeout=WAIT) as client:
        response = client.get(srv.url)
    assert (response.status_code, response.content) == (200, b"ok")


# -- websockets ----------------------------------------------------------------------


class WebSocketClient:
    """A wsproto client over one of the raw_http sockets."""

    def __init__(self, conn: Any, target: str = "/ws") -> None:
        self.conn = conn
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events: deque[Any] = deque()
        conn.send(self.ws.send(Request(host="127.0.0.1", target=target)))

    def next_event(self) -> Any:
        while not self.events:
            data = self.conn.recv()
            self.ws.receive_data(data or None)
            self.events.extend(self.ws.events())
            if not data and not self.events:
                raise AssertionError("the server closed the connection")
        return self.events.popleft()

    def send(self, event: Any) -> None:
        self.conn.send(self.ws.send(event))


async def websocket_echo(scope: Any, receive: Any, send: Any, log: list[Any]) -> None:
    log.append(dict(scope))
    message = await receive()
    assert message["type"] == "websocket.connect", message
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            log.append(message)
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


@pytest.mark.parametrize("engine", engines())
def test_websocket_echo_and_client_close(engine, conformance_server, raw_http):
    log: list[Any] = []
    disconnected = threading.Event()

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await ignore_lifespan(receive, send)
        await websocket_echo(scope, receive, send, log)
        disconnected.set()

    srv = conformance_server(app, engine, "asgi")
    client = WebSocketClient(raw_http(srv.port), "/ws?room=1")
    assert isinstance(client.next_event(), AcceptConnection)
    client.send(TextMessage(data="héllo"))
    assert client.next_event() == TextMessage(
        data="héllo", frame_finished=True, message_finished=True
    )
    client.send(BytesMessage(data=b"\x00\x01\xff"))
    echoed = client.next_event()
    assert isinstance(echoed, BytesMessage) and echoed.data == b"\x00\x01\xff"
    client.send(CloseConnection(code=1000))
    assert isinstance(client.next_event(), CloseConnection)
    assert disconnected.wait(WAIT)
    scope, goodbye = log
    assert scope["type"] == "websocket"
    assert scope["path"] == "/ws" and scope["query_string"] == b"room=1"
    assert scope["asgi"]["version"] == "3.0"
    assert isinstance(scope.get("subprotocols", []), list)
    assert goodbye["code"] == 1000
    assert_no_errors(srv)


@pytest.mark.parametrize("engine", engines())
def test_websocket_close_from_the_app_carries_its_code(engine, conformance_server, raw_http):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await ignore_lifespan(receive, send)
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "bye"})
        await send({"type": "websocket.close", "code": 4000})

    srv = conformance_server(app, engine, "asgi")
    client = WebSocketClient(raw_http(srv.port))
    assert isinstance(client.next_event(), AcceptConnection)
    assert client.next_event() == TextMessage(
        data="bye", frame_finished=True, message_finished=True
    )
    closing = client.next_event()
    assert isinstance(closing, CloseConnection) and closing.code == 4000


@pytest.mark.parametrize("engine", engines())
def test_websocket_close_before_accept_is_a_403(engine, conformance_server, raw_http):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await ignore_lifespan(receive, send)
        if scope["type"] == "http":
            return await answer(send, b"ok")
        await receive()
        await send({"type": "websocket.close"})

    srv = conformance_server(app, engine, "asgi")
    client = WebSocketClient(raw_http(srv.port))
    refusal = client.next_event()
    assert isinstance(refusal, RejectConnection)
    assert refusal.status_code == 403
    with httpx.Client(timeout=WAIT) as http:
        assert http.get(srv.url).status_code == 200
