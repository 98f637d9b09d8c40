"""gateway_lab.mini.asgi (with .lifespan and .websocket): the mini ASGI server, end to end.

Every test serves a small app on a loopback port and talks to it with a real
client: httpx for HTTP, raw sockets for hand-made (and hostile) bytes, and a
wsproto client over a raw socket for websockets.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

import gateway_lab as gl
from gateway_lab.mini.asgi import MiniASGIRunner
from gateway_lab.mini.limits import Limits
from gateway_lab.serving.asgi_guard import ASGIGuard
from gateway_lab.serving.log import ServerLog
from gateway_lab.serving.loopback import bind_loopback

WAIT = 5.0  # generous bound on anything a test waits for
_numbers = itertools.count(1)


# -- apps ----------------------------------------------------------------------------------
async def read_body(receive: Callable[[], Any]) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def hello(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello " + scope["path"].encode()})


def lifespan_app(events: list[str], fail: str | None = None) -> Callable[..., Any]:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    if fail is not None:
                        await send({"type": "lifespan.startup.failed", "message": fail})
                        return
                    scope["state"]["greeting"] = "hi from startup"
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["state"]["greeting"].encode()})

    return app


# -- fixtures and clients ------------------------------------------------------------------
@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    """``serve(app)`` -> a running mini server (gl.Server), stopped after the test."""
    started: list[Any] = []

    def start(app: Any) -> Any:
        srv = gl.serve_asgi(app, name=f"mini-asgi-test-{next(_numbers)}", engine="mini")
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


class Limited:
    """A mini runner with small limits, started directly (for the limit tests)."""

    def __init__(self, app: Any, limits: Limits) -> None:
        self.log = ServerLog("limited")
        self.runner = MiniASGIRunner(ASGIGuard(app, self.log), bind_loopback(0), self.log)
        self.runner.limits = limits  # type: ignore[misc]
        self.port = self.runner.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.runner.start()


@pytest.fixture
def serve_limited() -> Iterator[Callable[..., Limited]]:
    started: list[Limited] = []

    def start(app: Any, **limits: Any) -> Limited:
        server = Limited(app, Limits(**limits))
        started.append(server)
        return server

    yield start
    for server in started:
        server.runner.stop()


@pytest.fixture
def raw() -> Iterator[Callable[[int], socket.socket]]:
    """``raw(port)`` -> a connected client socket, closed after the test."""
    opened: list[socket.socket] = []

    def connect(port: int) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        opened.append(sock)
        return sock

    yield connect
    for sock in opened:
        sock.close()


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


class WSClient:
    """A websocket client: wsproto over a blocking socket."""

    def __init__(self, port: int, path: str = "/ws", subprotocols: tuple[str, ...] = ()) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events: deque[Any] = deque()
        request = Request(host="127.0.0.1", target=path, subprotocols=list(subprotocols))
        self.sock.sendall(self.ws.send(request))

    def next_event(self) -> Any:
        while not self.events:
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)
            self.events.extend(self.ws.events())
        return self.events.popleft()

    def send(self, event: Any) -> None:
        self.sock.sendall(self.ws.send(event))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def ws_client() -> Iterator[Callable[..., WSClient]]:
    opened: list[WSClient] = []

    def connect(port: int, path: str = "/ws", subprotocols: tuple[str, ...] = ()) -> WSClient:
        client = WSClient(port, path, subprotocols)
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client.close()


def settled(log: Any, count: int) -> list[Any]:
    """The server's error list once it holds ``count`` records (logged just after replies)."""
    deadline = time.monotonic() + WAIT
    while len(log.errors) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return list(log.errors)


# -- the scope -------------------------------------------------------------------------------
def test_http_scope_has_every_key_with_the_right_types(serve: Any) -> None:
    seen: queue.Queue[dict] = queue.Queue()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.put(dict(scope))
        await hello(scope, receive, send)

    srv = serve(app)
    response = httpx.get(srv.url + "caf%C3%A9/a%20b?x=1&y=%20", headers={"X-Custom": "Yes"})
    assert response.status_code == 200
    scope = seen.get(timeout=WAIT)
    assert scope["type"] == "http"
    assert scope["asgi"]["version"] == "3.0" and scope["asgi"]["spec_version"].startswith("2.")
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/café/a b"
    assert scope["raw_path"] == b"/caf%C3%A9/a%20b"
    assert scope["query_string"] == b"x=1&y=%20"
    assert scope["root_path"] == ""
    assert (b"x-custom", b"Yes") in [tuple(pair) for pair in scope["headers"]]
    assert all(
        isinstance(n, bytes) and n == n.lower() and isinstance(v, bytes)
        for n, v in scope["headers"]
    )
    assert scope["server"] == ("127.0.0.1", srv.port)
    assert scope["client"][0] == "127.0.0.1" and isinstance(scope["client"][1], int)
    assert "state" not in scope  # this app does not do lifespan


def test_head_gets_headers_but_no_body(serve: Any) -> None:
    srv = serve(hello)
    response = httpx.head(srv.url + "x")
    assert response.status_code == 200 and response.content == b""


def test_keep_alive_serves_many_requests_on_one_connection(serve: Any) -> None:
    peers: set[tuple[str, int]] = set()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            peers.add(scope["client"])
        await hello(scope, receive, send)

    srv = serve(app)
    with httpx.Client() as client:
        texts = [client.get(srv.url + str(n)).text for n in range(5)]
    assert texts == [f"hello /{n}" for n in range(5)]
    assert len(peers) == 1


def test_pipelined_requests_are_answered_in_order(serve: Any, raw: Any) -> None:
    srv = serve(hello)
    sock = raw(srv.port)
    sock.sendall(
        b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    answer = read_until_closed(sock)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.index(b"hello /one") < answer.index(b"hello /two")


# -- bodies, streamed both ways ---------------------------------------------------------------
def test_big_bodies_both_ways(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for start in range(0, len(body), 100_000):
            await send(
                {
                    "type": "http.response.body",
                    "body": body[start : start + 100_000],
                    "more_body": True,
                }
            )
        await send({"type": "http.response.body", "body": b""})

    srv = serve(app)
    payload = os.urandom(3_000_000)
    response = httpx.post(srv.url, content=payload, timeout=WAIT)
    assert response.content == payload


def test_request_body_reaches_the_app_chunk_by_chunk(serve: Any, raw: Any) -> None:
    messages: queue.Queue[dict] = queue.Queue()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            messages.put(message)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"got it"})

    srv = serve(app)
    sock = raw(srv.port)
    sock.sendall(
        b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    received = []
    for piece in (b"first", b"second", b"third"):
        sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        message = messages.get(timeout=WAIT)  # the app has it before the next piece is sent
        received.append(message["body"])
        assert message["type"] == "http.request" and message["more_body"] is True
    sock.sendall(b"0\r\n\r\n")
    last = messages.get(timeout=WAIT)
    assert last["more_body"] is False and last["body"] == b""
    assert received == [b"first", b"second", b"third"]
    assert read_until_closed(sock).endswith(b"got it\r\n0\r\n\r\n")


def test_response_body_streams_out_as_the_app_sends_it(serve: Any) -> None:
    first_arrived = threading.Event()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one,", "more_body": True})
        for _ in range(int(WAIT / 0.01)):  # the client must see "one," before "two" exists
            if first_arrived.is_set():
                break
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"two", "more_body": False})

    srv = serve(app)
    with httpx.stream("GET", srv.url) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        pieces = []
        for piece in response.iter_raw():
            pieces.append(piece)
            first_arrived.set()
    assert pieces[0] == b"one," and b"".join(pieces) == b"one,two"


def test_content_length_from_the_app_is_used_instead_of_chunks(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"6")]}
        )
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"def"})

    srv = serve(app)
    response = httpx.get(srv.url)
    assert response.headers["content-length"] == "6"
    assert "transfer-encoding" not in response.headers
    assert response.content == b"abcdef"


def test_expect_100_continue_is_answered_when_the_app_reads(serve: Any, raw: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body.upper()})

    srv = serve(app)
    sock = raw(srv.port)
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    assert sock.recv(65536).startswith(b"HTTP/1.1 100 ")
    sock.sendall(b"data")
    assert read_until_closed(sock).endswith(b"\r\nDATA\r\n0\r\n\r\n")


def test_app_sees_http_disconnect_when_the_client_leaves(serve: Any, raw: Any) -> None:
    after_body: queue.Queue[dict] = queue.Queue()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await read_body(receive)
        after_body.put(await receive())  # waits until the client goes away

    srv = serve(app)
    sock = raw(srv.port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.close()
    assert after_body.get(timeout=WAIT) == {"type": "http.disconnect"}


def test_truncated_body_ends_in_http_disconnect(serve: Any, raw: Any) -> None:
    messages: queue.Queue[dict] = queue.Queue()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            messages.put(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    srv = serve(app)
    sock = raw(srv.port)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly this")
    assert messages.get(timeout=WAIT)["body"] == b"only this"
    sock.close()
    assert messages.get(timeout=WAIT) == {"type": "http.disconnect"}
    assert httpx.get(srv.url).status_code == 500  # this app never answers: the server does


def test_send_after_the_client_left_raises_oserror(serve: Any, raw: Any) -> None:
    outcome: queue.Queue[BaseException | None] = queue.Queue()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await read_body(receive)
        await receive()  # http.disconnect
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except BaseException as exc:
            outcome.put(exc)
            raise
        outcome.put(None)

    srv = serve(app)
    sock = raw(srv.port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.close()
    assert isinstance(outcome.get(timeout=WAIT), OSError)


# -- the app's protocol mistakes ---------------------------------------------------------------
def mistaken_app(kind: str) -> Callable[..., Any]:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/mistake":
            await hello(scope, receive, send)
            return
        if kind == "body first":
            await send({"type": "http.response.body", "body": b"oops"})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if kind == "str body":
            await send({"type": "http.response.body", "body": "text", "more_body": True})
        await send({"type": "http.response.body", "body": b"done"})
        if kind == "after complete":
            await send({"type": "http.response.body", "body": b"more"})

    return app


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("body first", "'http.response.start'"),
        ("str body", "must be bytes"),
        ("after complete", "after the response was complete"),
    ],
)
def test_protocol_mistakes_raise_in_send_with_plain_words(
    serve: Any, kind: str, words: str
) -> None:
    srv = serve(mistaken_app(kind))
    with httpx.Client() as client:
        try:
            response: httpx.Response | None = client.get(srv.url + "mistake")
        except httpx.RemoteProtocolError:
            response = None  # the headers were out: the server could only cut the body
        errors = settled(srv.log, 1)
        # ProtocolError is a RuntimeError; the order's wording is the shared table's.
        assert any("ProtocolError" in e.summary and words in e.summary for e in errors), errors
        if kind == "body first":  # the guard refused it before anything reached the wire
            assert response is not None and response.status_code == 500
        if kind == "str body":
            assert response is None
        if kind == "after complete":
            assert response is not None and response.text == "done"
        following = client.get(srv.url)  # the server serves on
        assert following.text == "hello /"
        # An order mistake is refused by the guard (the shared tables) before it reaches the
        # wire, so the connection stays clean and may be kept alive; a mistake the server
        # itself meets mid-response (a str body) ends the connection.


def test_unguarded_mini_refuses_an_order_mistake_in_the_tables_words() -> None:
    """Without the guard, the mini server's own send refuses it, with the same sentence."""
    from gateway_lab.protocol.asgi import step

    said: list[str] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await hello(scope, receive, send)
        try:
            await send({"type": "http.response.body", "body": b"more"})
        except RuntimeError as exc:
            said.append(str(exc))

    log = ServerLog("mini-unguarded")
    runner = MiniASGIRunner(app, bind_loopback(0), log)
    runner.start()
    try:
        url = f"http://127.0.0.1:{runner.sock.getsockname()[1]}/"
        with httpx.Client() as client:
            assert client.get(url).text == "hello /"
            following = client.get(url)  # the same connection now announces its end
            assert following.headers["connection"] == "close"
        assert said and said[0] == step("http", "complete", "http.response.body")[1]
    finally:
        runner.stop()


def test_header_str_instead_of_bytes_is_explained(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [("content-type", "text/plain")],
                }
            )

    srv = serve(app)
    assert httpx.get(srv.url).status_code == 500
    assert any("must be bytes" in e.summary for e in settled(srv.log, 1))


def test_app_that_returns_without_a_response_gets_a_500(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        return None

    srv = serve(app)
    response = httpx.get(srv.url)
    assert response.status_code == 500
    assert any("without sending 'http.response.start'" in e.summary for e in settled(srv.log, 1))


# -- lifespan ------------------------------------------------------------------------------
def test_lifespan_startup_state_and_shutdown(serve: Any) -> None:
    events: list[str] = []
    srv = serve(lifespan_app(events))
    assert events == ["lifespan.startup"]
    assert httpx.get(srv.url).text == "hi from startup"
    assert srv.stop()
    assert events == ["lifespan.startup", "lifespan.shutdown"]


def test_lifespan_startup_failed_refuses_to_start_with_the_apps_message() -> None:
    events: list[str] = []
    with pytest.raises(gl.ServerStartError, match="database is down"):
        gl.serve_asgi(lifespan_app(events, fail="database is down"), engine="mini")
    assert events == ["lifespan.startup"]


def test_lifespan_startup_that_never_answers_is_explained() -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await asyncio.Event().wait()

    log = ServerLog("silent")
    runner = MiniASGIRunner(app, bind_loopback(0), log)
    with pytest.raises(gl.ServerStartError, match="did not answer 'lifespan.startup'"):
        runner.start(timeout=0.3)
    assert runner.thread is not None
    runner.thread.join(WAIT)
    assert not runner.alive


def test_lifespan_shutdown_that_never_answers_cannot_hold_stop(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await asyncio.Event().wait()  # never answers lifespan.shutdown
        await hello(scope, receive, send)

    srv = serve(app)
    assert srv.stop() is True
    assert any("lifespan.shutdown" in m for m in srv.log.messages)


def test_app_without_lifespan_support_is_served_anyway(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        assert scope["type"] == "http", "I only speak HTTP"
        await hello(scope, receive, send)

    srv = serve(app)
    assert httpx.get(srv.url).text == "hello /"
    assert any("does not support lifespan" in m for m in srv.log.messages)


def test_lifespan_message_typo_is_reported(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.completed"})
        await hello(scope, receive, send)

    srv = serve(app)
    assert httpx.get(srv.url).status_code == 200
    assert any("'lifespan.startup.completed'" in e.summary for e in srv.log.errors)


# -- websockets --------------------------------------------------------------------------------
async def echo(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    offered = scope["subprotocols"]
    await send(
        {
            "type": "websocket.accept",
            "subprotocol": offered[0] if offered else None,
            "headers": [(b"x-echo", b"yes")],
        }
    )
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "close please":
            await send({"type": "websocket.close", "code": 4000, "reason": "as you wish"})
            return
        await send(
            {"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")}
        )


def test_websocket_echo_text_and_bytes_with_subprotocol(serve: Any, ws_client: Any) -> None:
    srv = serve(echo)
    client = ws_client(srv.port, "/ws?room=1", subprotocols=("chat.v2", "chat.v1"))
    accepted = client.next_event()
    assert isinstance(accepted, AcceptConnection)
    assert accepted.subprotocol == "chat.v2"
    assert (b"x-echo", b"yes") in accepted.extra_headers
    client.send(TextMessage(data="héllo"))
    assert client.next_event().data == "héllo"
    client.send(BytesMessage(data=b"\x00\x01"))
    assert client.next_event().data == b"\x00\x01"
    client.send(CloseConnection(code=1000))
    assert isinstance(client.next_event(), CloseConnection)


def test_websocket_ping_gets_pong_and_fragments_are_joined(serve: Any, ws_client: Any) -> None:
    srv = serve(echo)
    client = ws_client(srv.port)
    assert isinstance(client.next_event(), AcceptConnection)
    client.send(Ping(payload=b"are you there"))
    pong = client.next_event()
    assert isinstance(pong, Pong) and pong.payload == b"are you there"
    client.send(TextMessage(data="in ", message_finished=False))
    client.send(TextMessage(data="two parts", message_finished=True))
    assert client.next_event().data == "in two parts"


def test_websocket_scope(serve: Any, ws_client: Any) -> None:
    seen: queue.Queue[dict] = queue.Queue()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            seen.put(dict(scope))
            await send({"type": "websocket.close"})

    srv = serve(app)
    ws_client(srv.port, "/chat%20room?x=1", subprotocols=("a", "b")).next_event()
    scope = seen.get(timeout=WAIT)
    assert scope["type"] == "websocket" and scope["scheme"] == "ws"
    assert scope["path"] == "/chat room" and scope["raw_path"] == b"/chat%20room"
    assert scope["query_string"] == b"x=1"
    assert scope["subprotocols"] == ["a", "b"]
    assert scope["server"] == ("127.0.0.1", srv.port)


def test_websocket_chat_between_two_clients(serve: Any, ws_client: Any) -> None:
    members: set[Any] = set()

    async def chat(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        members.add(send)
        try:
            while (message := await receive())["type"] == "websocket.receive":
                for member in list(members - {send}):
                    await member({"type": "websocket.send", "text": message["text"]})
        finally:
            members.discard(send)

    srv = serve(chat)
    alice, bob = ws_client(srv.port), ws_client(srv.port)
    assert isinstance(alice.next_event(), AcceptConnection)
    assert isinstance(bob.next_event(), AcceptConnection)
    alice.send(TextMessage(data="hi bob"))
    assert bob.next_event().data == "hi bob"
    bob.send(TextMessage(data="hi alice"))
    assert alice.next_event().data == "hi alice"


def test_websocket_server_initiated_close_has_code_and_reason(serve: Any, ws_client: Any) -> None:
    srv = serve(echo)
    client = ws_client(srv.port)
    assert isinstance(client.next_event(), AcceptConnection)
    client.send(TextMessage(data="close please"))
    closing = client.next_event()
    assert isinstance(closing, CloseConnection)
    assert (closing.code, closing.reason) == (4000, "as you wish")
    client.send(closing.response())
    assert client.sock.recv(10) == b""  # the server closes the TCP connection


def test_websocket_client_initiated_close_reaches_the_app(serve: Any, ws_client: Any) -> None:
    seen: queue.Queue[dict] = queue.Queue()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        seen.put(await receive())

    srv = serve(app)
    client = ws_client(srv.port)
    assert isinstance(client.next_event(), AcceptConnection)
    client.send(CloseConnection(code=4001, reason="done"))
    assert seen.get(timeout=WAIT) == {
        "type": "websocket.disconnect",
        "code": 4001,
        "reason": "done",
    }
    reply = client.next_event()
    assert isinstance(reply, CloseConnection) and reply.code == 4001


def test_websocket_abrupt_disconnect_is_1006_and_send_raises(serve: Any, ws_client: Any) -> None:
    seen: queue.Queue[Any] = queue.Queue()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        seen.put(await receive())
        try:
            await send({"type": "websocket.send", "text": "anyone?"})
        except OSError as exc:
            seen.put(exc)

    srv = serve(app)
    client = ws_client(srv.port)
    assert isinstance(client.next_event(), AcceptConnection)
    client.close()
    assert seen.get(timeout=WAIT)["code"] == 1006
    assert isinstance(seen.get(timeout=WAIT), OSError)


@pytest.mark.parametrize("how", ["close before accept", "return before accept"])
def test_websocket_denied_before_accept_gets_403(serve: Any, ws_client: Any, how: str) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            if how == "close before accept":
                await send({"type": "websocket.close"})

    srv = serve(app)
    rejected = ws_client(srv.port).next_event()
    assert isinstance(rejected, RejectConnection) and rejected.status_code == 403
    assert httpx.get(srv.url).status_code == 500  # the same app, over HTTP: no response


def test_websocket_send_before_accept_is_explained(serve: Any, ws_client: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.send", "text": "too early"})

    srv = serve(app)
    rejected = ws_client(srv.port).next_event()
    assert isinstance(rejected, RejectConnection) and rejected.status_code == 500
    assert any("before 'websocket.accept'" in e.summary for e in settled(srv.log, 1))


# -- hostile input -------------------------------------------------------------------------
HOSTILE = [
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400),
    ("bad request line", b"GET\r\n\r\n", 400),
    ("no Host on HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    (
        "CL and TE together",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "two different CLs",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    ),
    (
        "unknown transfer coding",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        501,
    ),
    (
        "bad chunk size",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    ("huge header", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n", 431),
    (
        "body too big by CL",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
        413,
    ),
    (
        "bad websocket handshake",
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        400,
    ),
]


@pytest.mark.parametrize(("name", "data", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_request_is_refused_and_the_server_serves_on(
    serve: Any, raw: Any, name: str, data: bytes, status: int
) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await read_body(receive)
        await hello(scope, receive, send)

    srv = serve(app)
    sock = raw(srv.port)
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may refuse before it has read everything
    answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
    assert b"connection: close" in answer.lower()
    assert httpx.get(srv.url + "next").text == "hello /next"


def test_chunked_body_over_the_limit_gets_413(serve_limited: Any, raw: Any) -> None:
    server = serve_limited(hello_reading_body, max_body_bytes=100)
    sock = raw(server.port)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    try:
        for _ in range(5):
            sock.sendall(b"32\r\n" + b"x" * 50 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert read_until_closed(sock).startswith(b"HTTP/1.1 413 ")
    assert httpx.post(server.url, content=b"small").text == "read 5 bytes"


async def hello_reading_body(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"read %d bytes" % len(body)})


def test_idle_and_slow_clients_are_disconnected(serve_limited: Any, raw: Any) -> None:
    server = serve_limited(hello_reading_body, idle_timeout=0.2)
    idle, slow_head, slow_body = raw(server.port), raw(server.port), raw(server.port)
    slow_head.sendall(b"GET / HTTP/1.1\r\n")
    slow_body.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    for sock in (idle, slow_head):
        assert read_until_closed(sock) == b""
    assert read_until_closed(slow_body) == b""  # the app sees http.disconnect, no answer
    assert httpx.post(server.url, content=b"quick").text == "read 5 bytes"


# -- stopping ---------------------------------------------------------------------------------
def test_stop_with_a_hanging_app_returns_promptly(serve: Any) -> None:
    started = threading.Event()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            started.set()
            await asyncio.Event().wait()  # never answers

    srv = serve(app)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert started.wait(WAIT)
        began = time.monotonic()
        assert srv.stop() is True
        assert time.monotonic() - began < 3.0
        assert read_until_closed(sock) == b""
    finally:
        sock.close()


def test_stop_closes_open_websockets_with_1001(serve: Any, ws_client: Any) -> None:
    srv = serve(echo)
    client = ws_client(srv.port)
    assert isinstance(client.next_event(), AcceptConnection)
    srv.stop()
    closing = client.next_event()
    assert isinstance(closing, CloseConnection) and closing.code == 1001


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_many_start_stop_cycles_leave_no_threads_or_files_behind() -> None:
    def cycle() -> None:
        srv = gl.serve_asgi(hello, name="mini-asgi-cycles", engine="mini")
        assert srv.stop() is True

    cycle()  # warm up: first imports, first event loop policy
    threads, fds = threading.active_count(), _open_fds()
    for _ in range(200):
        cycle()
    deadline = time.monotonic() + 5  # a loop thread may still be returning
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.01)
    # at most as many as before: a thread or socket an earlier test left may end meanwhile
    assert threading.active_count() <= threads
    assert _open_fds() <= fds
