"""Issue 13, ASGI side: what a learner's app does must not wedge, kill or flood the kernel.

Each test reproduces one finding first (it failed before the fix):

* #1 an app that streams forever after its client left (uvicorn): other
  requests are still served, ``stop()`` returns in time, no core is left
  busy, nothing is printed;
* #2 ``SystemExit`` / ``KeyboardInterrupt`` raised by an app: the mini
  server answers 500, keeps serving, and records it on ``srv.errors``;
* #7 ``GET / HTTP/3.7``: 505 and a closed connection, never ``http_version``
  "3.7" handed to the app;
* #8 uvicorn with wsproto: a client that sends pings and never reads
  cannot make the kernel buffer without bound.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import httpx
import pytest

import gateway_lab as gl


def _get(port: int, path: str = "/", timeout: float = 3.0) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=timeout)


async def streams_forever(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/hello":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    while True:
        await send({"type": "http.response.body", "body": b"tick\n" * 200, "more_body": True})


def _read_a_little_and_leave(port: int, reset: bool) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096)
        if reset:  # an abrupt close (RST), as a browser tab that is killed
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
@pytest.mark.parametrize("reset", [False, True])
def test_an_endless_stream_ends_when_its_client_leaves(engine, reset, capfd):
    srv = gl.serve_asgi(streams_forever, engine=engine)
    try:
        _read_a_little_and_leave(srv.port, reset)
        time.sleep(0.3)
        assert _get(srv.port, "/hello").text == "hello"  # other requests are served
        _read_a_little_and_leave(srv.port, not reset)
        assert _get(srv.port, "/hello").text == "hello"
    finally:
        began = time.monotonic()
        stopped = srv.stop(timeout=1.0)
        took = time.monotonic() - began
    assert stopped and took < 1.5, took
    cpu = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - cpu < 0.3  # no core left spinning
    out, err = capfd.readouterr()
    assert "socket.send() raised exception" not in out + err
    assert len(out + err) < 2000, (out + err)[:500]
    assert any("client disconnected" in (r.error or "") for r in srv.requests), srv.requests


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
def test_stop_returns_in_time_while_an_endless_stream_is_read(engine):
    srv = gl.serve_asgi(streams_forever, engine=engine)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=3)
    sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.recv(4096)
    done = threading.Event()

    def reader():  # a client that keeps reading
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    began = time.monotonic()
    assert srv.stop(timeout=1.0)
    assert time.monotonic() - began < 1.5
    assert done.wait(3)
    sock.close()


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
@pytest.mark.parametrize("engine", ["mini", "uvicorn"])
def test_systemexit_and_keyboardinterrupt_are_a_500(engine, exc_type):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/boom":
            raise exc_type("from the app")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    srv = gl.serve_asgi(app, engine=engine)
    try:
        assert _get(srv.port, "/boom").status_code == 500
        assert _get(srv.port, "/").text == "ok"  # still serving
        assert srv.running
        assert any(exc_type.__name__ in e.summary for e in srv.errors), srv.errors
    finally:
        assert srv.stop()


def _raw_exchange(port: int, data: bytes, wait: float = 2.0) -> tuple[bytes, bool]:
    """Send ``data``; everything the server answers, and whether it then closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        got = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return got, True
                got += chunk
        except TimeoutError:
            return got, False


def test_mini_answers_an_unknown_http_version_with_505_and_closes():
    seen = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        seen.append(scope["http_version"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    srv = gl.serve_asgi(app, engine="mini")
    try:
        for version in (b"HTTP/3.7", b"HTTP/2.0", b"HTTP/1.2"):
            answer, closed = _raw_exchange(srv.port, b"GET / " + version + b"\r\nHost: x\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 505 "), answer[:80]
            assert closed
        assert seen == []  # the app never saw those versions
        answer, _ = _raw_exchange(srv.port, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
        assert seen == ["1.0"]
    finally:
        srv.stop()


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
def test_a_websocket_client_that_pings_and_never_reads_is_bounded(engine):
    async def app(scope, receive, send):
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return

    srv = gl.serve_asgi(app, engine=engine)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=3)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # we never read
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    time.sleep(0.3)
    sock.setblocking(False)
    ping = _ws_frame(0x9, b"p" * 125)
    pending = ping * 64
    sent = 0
    deadline = time.monotonic() + 8
    try:
        while sent < 64 * 1024 * 1024 and time.monotonic() < deadline:
            try:
                n = sock.send(pending)  # a partial send: the rest goes first next time
                sent += n
                pending = pending[n:] or ping * 64
            except BlockingIOError:
                time.sleep(0.01)  # the server stopped reading: what we want
            except OSError:
                break  # the server gave up on us: also fine
        buffered = _buffered_by_server(srv)
    finally:
        sock.close()
        srv.stop()
    assert sent < 48 * 1024 * 1024 or buffered < 8 * 1024 * 1024, (sent, buffered)
    assert buffered < 8 * 1024 * 1024, buffered


def _buffered_by_server(srv) -> int:
    """Bytes the server's transports hold, waiting to be written (the pongs)."""
    runner = srv._runner
    total = 0
    if hasattr(runner, "server"):  # uvicorn
        connections = runner.server.server_state.connections
    else:
        connections = runner.connections()
    for connection in list(connections):
        transport = getattr(connection, "transport", None)
        if transport is not None and not transport.is_closing():
            total += transport.get_write_buffer_size()
    return total


@pytest.mark.parametrize("when", ["startup", "shutdown"])
def test_systemexit_in_the_lifespan_scope_does_not_end_the_mini_server(when):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            if when == "startup":
                raise SystemExit("no lifespan here")
            await send({"type": "lifespan.startup.complete"})
            await receive()
            raise SystemExit("bye at shutdown")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    srv = gl.serve_asgi(app, engine="mini")
    try:
        assert _get(srv.port).text == "ok"
    finally:
        assert srv.stop()
    if when == "shutdown":
        assert any("SystemExit" in e.summary for e in srv.errors), srv.errors
