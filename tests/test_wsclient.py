"""gateway_lab.serving.wsclient: the blocking WebSocket client, against both ASGI engines."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import gateway_lab as gl
from gateway_lab.errors import GatewayLabError
from gateway_lab.serving.wsclient import WebSocketClient

ENGINES = ["uvicorn", "mini"]


async def echo(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "close please":
            await send({"type": "websocket.close", "code": 4001, "reason": "asked to"})
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def refuse(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.close"})


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for srv in started:
        srv.stop()


def serve(servers: list[Any], app: Any, engine: str) -> Any:
    srv = gl.serve_asgi(app, name=f"wsclient-{app.__name__}-{engine}-{len(servers)}", engine=engine)
    servers.append(srv)
    return srv


@pytest.mark.parametrize("engine", ENGINES)
def test_text_bytes_and_large_messages_round_trip(engine, servers):
    srv = serve(servers, echo, engine)
    with gl.ws_connect(srv.url + "echo") as ws:
        ws.send("héllo")
        assert ws.receive() == "héllo"
        ws.send(b"\x00\x01\xff")
        assert ws.receive() == b"\x00\x01\xff"
        big = "x" * 200_000  # several TCP reads on the way back
        ws.send(big)
        assert ws.receive() == big
    assert ws.closed and ws.closed_by == "client" and ws.close_code == 1000


@pytest.mark.parametrize("engine", ENGINES)
def test_a_close_from_the_server_is_reported_with_its_code(engine, servers):
    srv = serve(servers, echo, engine)
    ws = gl.ws_connect(srv.url)
    ws.send("close please")
    with pytest.raises(gl.WebSocketClosed) as caught:
        ws.receive()
    assert caught.value.code == 4001 and caught.value.reason == "asked to"
    assert ws.closed_by == "server"
    with pytest.raises(gl.WebSocketClosed):
        ws.send("anyone?")
    ws.close()  # harmless once closed


@pytest.mark.parametrize("engine", ENGINES)
def test_a_refusal_is_an_error_with_the_status(engine, servers):
    srv = serve(servers, refuse, engine)
    with pytest.raises(gl.WebSocketRefused) as caught:
        gl.ws_connect(srv.url)
    assert caught.value.status == 403
    assert "websocket.close" in str(caught.value)


def test_receive_times_out_and_receive_all_collects(servers):
    srv = serve(servers, echo, "mini")
    with gl.ws_connect(srv.url, timeout=2) as ws:
        with pytest.raises(TimeoutError):
            ws.receive(timeout=0.05)
        for word in ("a", "b", "c"):
            ws.send(word)
        assert ws.receive_all(wait=0.3) == ["a", "b", "c"]


@pytest.mark.parametrize("engine", ENGINES)
def test_frames_join_the_recorded_flow_under_the_apps_connection(engine, servers):
    recorded, flow = gl.record_asgi(echo)
    srv = serve(servers, recorded, engine)
    first = gl.ws_connect(srv.url + "one", flow=flow)
    second = gl.ws_connect(srv.url + "two", flow=flow)
    first.send("from one")
    second.send("from two")
    assert first.receive() == "from one" and second.receive() == "from two"
    first.close()
    second.close()
    scopes = {
        e.payload["scope"]["path"]: e.connection
        for e in flow.of_kind("scope")
        if e.payload["type"] == "websocket"
    }
    assert first.connection == scopes["/one"] and second.connection == scopes["/two"]
    frames = [(e.source, e.target, e.payload["data"]) for e in flow if e.kind == "frame"]
    assert ("client", "server", "from one") in frames and ("server", "client", "from two") in frames
    wait_for_returns(flow, 2)
    one = [e for e in flow if e.connection == first.connection]
    # the handshake, then each frame out becomes a receive, a send becomes a frame back
    assert [e.kind for e in one if "app" in (e.source, e.target)] == [
        "scope",
        "receive",
        "send",  # websocket.connect, websocket.accept
        "receive",
        "send",
        "receive",  # websocket.disconnect
        "return",
    ]
    on_the_wire = [(e.kind, e.source) for e in one if "app" not in (e.source, e.target)]
    # the client's frame, the echo, then both halves of the close handshake
    assert on_the_wire == [
        ("frame", "client"),
        ("frame", "server"),
        ("close", "client"),
        ("close", "server"),
    ]


def wait_for_returns(flow: Any, count: int, limit: float = 3.0) -> None:
    """Wait (bounded) until the recorded app has returned ``count`` times."""
    deadline = time.monotonic() + limit
    while len(flow.of_kind("return")) < count and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("engine", ENGINES)
def test_close_waits_for_and_records_the_servers_close_frame(engine, servers):
    recorded, flow = gl.record_asgi(echo)
    srv = serve(servers, recorded, engine)
    ws = gl.ws_connect(srv.url, flow=flow)
    ws.close(code=1000)
    closes = [(e.source, e.target, e.payload["code"]) for e in flow.of_kind("close")]
    # recorded by the time close() returns: no waiting needed
    assert closes == [("client", "server", 1000), ("server", "client", 1000)]
    assert all(e.connection == ws.connection for e in flow.of_kind("close"))
    # plain ints, not wsproto's CloseReason enum, so a payload prints as 1000
    assert all(type(e.payload["code"]) is int for e in flow.of_kind("close"))
    assert "CloseReason" not in repr([e.payload for e in flow.of_kind("close")])
    if engine == "mini":  # the app's websocket.disconnect carries a plain int too

        def disconnects() -> list[dict[str, Any]]:
            kind = "websocket.disconnect"
            return [e.payload for e in flow.of_kind("receive") if e.payload.get("type") == kind]

        deadline = time.monotonic() + 2
        while not disconnects() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert disconnects() and all(type(p["code"]) is int for p in disconnects())


def test_receive_after_the_close_says_nothing_more_can_be_received(servers):
    srv = serve(servers, echo, "mini")
    ws = gl.ws_connect(srv.url)
    ws.send("close please")
    with pytest.raises(gl.WebSocketClosed):
        ws.receive()
    with pytest.raises(gl.WebSocketClosed, match="nothing more can be received"):
        ws.receive()
    with pytest.raises(gl.WebSocketClosed, match="nothing more can be sent"):
        ws.send("anyone?")


def test_send_rejects_other_types(servers):
    srv = serve(servers, echo, "mini")
    with gl.ws_connect(srv.url) as ws:
        with pytest.raises(TypeError, match="json.dumps"):
            ws.send({"not": "a frame"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url, words",
    [
        ("https://127.0.0.1:1/", "ws:// or http://"),
        ("ws://example.com:80/", "only talks to servers on this machine"),
        ("ws://127.0.0.1/", "no port"),
    ],
)
def test_bad_urls_are_explained(url, words):
    with pytest.raises(GatewayLabError, match=words):
        WebSocketClient(url)
