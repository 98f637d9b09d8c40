"""Tests for gateway_lab.mini.wsgi: PEP 3333's server side, HTTP/1.1, hostile clients.

Apps that check the environ are wrapped in ``wsgiref.validate.validator``, an
outside judge: any breach of PEP 3333 it notices becomes an error (and, with
``filterwarnings = error``, so does each of its warnings). Hostile requests
go over raw sockets, each followed by a good request that must still work.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.validate import validator

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.mini.limits import Limits
from gateway_lab.mini.wsgi import MiniWSGIRunner
from gateway_lab.mini.wsgi_streams import InputStream
from gateway_lab.serving.log import ServerLog
from gateway_lab.serving.loopback import bind_loopback
from gateway_lab.serving.wsgi_guard import WSGIGuard

WAIT = 5.0  # generous bound for anything we wait on


class Running:
    """A MiniWSGIRunner started on a fresh loopback socket, for one test."""

    def __init__(self, app: Any, guarded: bool, limits: Limits | None) -> None:
        self.log = ServerLog("test")
        sock = bind_loopback(0)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        served = WSGIGuard(app, self.log) if guarded else app
        self.runner = MiniWSGIRunner(served, sock, self.log, limits=limits)
        self.runner.start()

    def stop(self) -> bool:
        return self.runner.stop(timeout=2.0)


@pytest.fixture
def serve() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(app: Any, guarded: bool = True, limits: Limits | None = None) -> Running:
        running = Running(app, guarded, limits)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def raw_exchange(port: int, data: bytes, shut_write: bool = False) -> bytes:
    """Send bytes, then read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(data)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock)


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    received = b""
    while marker not in received:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def show_environ(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    shown = {k: v for k, v in environ.items() if isinstance(v, (str, bool, tuple))}
    shown["body"] = body.decode("latin-1")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(shown).encode()]


def assert_good_request_works(port: int) -> None:
    response = httpx.get(f"http://127.0.0.1:{port}/after", timeout=WAIT)
    assert response.status_code == 200


# -- the environ -------------------------------------------------------------


def test_environ_keys_and_types_pass_wsgiref_validator(serve: Callable[..., Running]) -> None:
    srv = serve(validator(show_environ))
    response = httpx.post(
        srv.url + "caf%C3%A9/x%2Fy?q=1&r=%20",
        content=b"abc",
        headers={"X-Custom": "one", "Content-Type": "text/plain"},
        timeout=WAIT,
    )
    assert response.status_code == 200, response.text
    environ = response.json()
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/café/x/y".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "q=1&r=%20"
    assert environ["SERVER_NAME"] == "127.0.0.1"
    assert environ["SERVER_PORT"] == str(srv.port)
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["CONTENT_LENGTH"] == "3"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["HTTP_X_CUSTOM"] == "one"
    assert environ["HTTP_HOST"] == f"127.0.0.1:{srv.port}"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.version"] == [1, 0]
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is True
    assert environ["body"] == "abc"
    assert not srv.log.errors


def test_serve_wsgi_engine_mini_runs_a_validated_app() -> None:
    with gl.serve_wsgi(validator(hello), name="test-mini-wsgi", engine="mini") as srv:
        response = httpx.get(srv.url, timeout=WAIT)
        assert response.status_code == 200
        assert response.text == "hello"
        assert srv.engine == "mini"
        assert not srv.errors


def test_header_names_with_underscores_are_dropped(serve: Callable[..., Running]) -> None:
    srv = serve(show_environ)
    reply = raw_exchange(
        srv.port,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-User: real\r\nX_User: forged\r\nConnection: close\r\n\r\n",
    )
    environ = json.loads(reply.partition(b"\r\n\r\n")[2])
    assert environ["HTTP_X_USER"] == "real"


def test_absolute_form_target_becomes_a_path(serve: Callable[..., Running]) -> None:
    srv = serve(show_environ)
    reply = raw_exchange(
        srv.port,
        b"GET http://example.org/p%41th?a=b HTTP/1.1\r\nHost: example.org\r\n"
        b"Connection: close\r\n\r\n",
    )
    environ = json.loads(reply.partition(b"\r\n\r\n")[2])
    assert (environ["PATH_INFO"], environ["QUERY_STRING"]) == ("/pAth", "a=b")


def test_wsgi_errors_writes_to_the_server_log(serve: Callable[..., Running]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.errors"].write("a note from the app\n")
        environ["wsgi.errors"].flush()
        return hello(environ, start_response)

    srv = serve(app)
    assert httpx.get(srv.url, timeout=WAIT).status_code == 200
    assert "a note from the app" in srv.log.messages


# -- wsgi.input --------------------------------------------------------------


def pieces(*parts: bytes) -> Callable[[], bytes]:
    queue = list(parts)
    return lambda: queue.pop(0) if queue else b""


def test_input_stream_reads_across_pieces() -> None:
    stream = InputStream(pieces(b"ab", b"c\nde", b"f\n", b"g"))
    assert stream.read(2) == b"ab"
    assert stream.readline() == b"c\n"
    assert stream.readline(2) == b"de"
    assert list(stream) == [b"f\n", b"g"]
    assert stream.read() == b""
    assert stream.readline() == b""


def test_input_stream_readlines_and_read_all() -> None:
    assert InputStream(pieces(b"a\nb", b"\nc")).readlines() == [b"a\n", b"b\n", b"c"]
    assert InputStream(pieces(b"a\nb", b"\nc")).readlines(1) == [b"a\n"]
    assert InputStream(pieces(b"xy", b"z")).read() == b"xyz"
    assert InputStream(pieces(b"xy", b"z")).read(10) == b"xyz"


def test_input_is_bounded_by_content_length(serve: Callable[..., Running]) -> None:
    srv = serve(echo)
    # Two pipelined requests in one write: reading the first body to the end
    # must not eat the second request.
    reply = raw_exchange(
        srv.port,
        b"POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye",
    )
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert reply.endswith(b"\r\n\r\nbye")
    assert b"hellobye" not in reply and b"\r\n\r\nhello" in reply


def test_input_line_by_line_and_by_iteration(serve: Callable[..., Running]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        stream = environ["wsgi.input"]
        first = stream.readline()
        rest = [line for line in stream]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps([first.decode(), [r.decode() for r in rest]]).encode()]

    srv = serve(validator(app))
    response = httpx.post(srv.url, content=b"one\ntwo\nthree", timeout=WAIT)
    assert response.json() == ["one\n", ["two\n", "three"]]


def test_chunked_request_body_reads_like_any_other(serve: Callable[..., Running]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ.get('CONTENT_LENGTH')!r} {body.decode()}".encode()]

    srv = serve(app)

    def chunks() -> Iterator[bytes]:
        yield b"abc"
        yield b"defg"
        yield b"h"

    response = httpx.post(srv.url, content=chunks(), timeout=WAIT)
    assert response.status_code == 200
    assert response.text == "None abcdefgh"


def test_unread_body_is_skipped_and_the_connection_kept(serve: Callable[..., Running]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["REMOTE_PORT"].encode()]

    srv = serve(app)
    with httpx.Client(timeout=WAIT) as client:
        first = client.post(srv.url, content=b"x" * 100_000)
        second = client.get(srv.url)
    assert first.text == second.text


# -- start_response, write, close ------------------------------------------


def test_exc_info_before_headers_replaces_the_response(serve: Callable[..., Running]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("changed my mind")
        except ValueError:
            import sys

            start_response("503 Service Unavailable", [("Retry-After", "1")], sys.exc_info())
        return [b"later"]

    srv = serve(app, guarded=False)
    response = httpx.get(srv.url, timeout=WAIT)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "content-type" not in response.headers
    assert response.text == "later"


def test_exc_info_after_headers_reraises_and_closes(serve: Callable[..., Running]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        if environ["PATH_INFO"] != "/after":
            raise RuntimeError("failed mid-body")

    srv = serve(app)  # the guard answers with start_response(..., exc_info)
    reply = raw_exchange(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert b"partial" in reply
    assert not reply.endswith(b"0\r\n\r\n")  # the chunked body never ends properly
    assert any("failed mid-body" in str(e) for e in srv.log.errors)
    assert any(e.where == "server" for e in srv.log.errors)
    assert_good_request_works(srv.port)


def test_second_start_response_without_exc_info_is_an_error(
    serve: Callable[..., Running],
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        try:
            start_response("404 Not Found", [])
        except Exception as exc:  # the server refuses, with an explanation
            return [f"{type(exc).__name__}: {exc}".encode()]
        return [b"accepted"]

    srv = serve(app, guarded=False)
    response = httpx.get(srv.url, timeout=WAIT)
    assert response.status_code == 200
    assert "second time without exc_info" in response.text


@pytest.mark.parametrize(
    ("status", "headers", "words"),
    [
        (200, [("Content-Type", "text/plain")], "wants a str such as '200 OK'"),
        ("OK 200", [("Content-Type", "text/plain")], "not of the form '200 OK'"),
        ("100 Continue", [("Content-Type", "text/plain")], "informational (1xx)"),
        ("200 OK", (("Content-Type", "text/plain"),), "wants a list of (name, value)"),
        ("200 OK", [("Content-Type", b"text/plain")], "names and values are str"),
        ("200 OK", [("X-Name", "caf\u00e9 \u2603")], "outside latin-1"),
        ("200 OK", [("X-Split", "a\r\nSet-Cookie: x=1")], "line break or control character"),
    ],
)
def test_bad_status_or_headers_get_a_500_with_a_reason(
    serve: Callable[..., Running], status: Any, headers: Any, words: str
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, headers)
        return [b"never sent"]

    srv = serve(app)
    response = httpx.get(srv.url, timeout=WAIT)
    assert response.status_code == 500
    assert "never sent" not in response.text
    assert any(words in str(error) for error in srv.log.errors)
    assert "x-split" not in response.headers and "set-cookie" not in response.headers


def test_status_without_reason_gets_the_standard_phrase(serve: Callable[..., Running]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404", [("Content-Type", "text/plain")])  # the checker warns; we mend
        return [b"missing"]

    srv = serve(app)
    reply = raw_exchange(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 404 Not Found\r\n") and reply.endswith(b"missing")


def test_write_callable_sends_before_the_iterable(serve: Callable[..., Running]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"a")
        write(b"")
        write(b"b")
        return [b"c"]

    srv = serve(validator(app))
    response = httpx.get(srv.url, timeout=WAIT)
    assert response.text == "abc"
    assert response.headers.get("transfer-encoding") == "chunked"


class CountingBody:
    """A body iterable that counts close() calls, optionally failing or never ending."""

    def __init__(self, fail_at: int | None = None, endless: bool = False) -> None:
        self.fail_at = fail_at
        self.endless = endless
        self.closes = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        count = 0
        while True:
            if count == self.fail_at:
                raise RuntimeError("the body failed")
            if count >= 3 and not self.endless:
                return
            count += 1
            yield b"x" * 65536

    def close(self) -> None:
        self.closes += 1
        self.closed.set()


@pytest.mark.parametrize("path", ["normal", "fails-at-once", "fails-mid-body", "client-gone"])
def test_close_is_called_once_on_every_path(serve: Callable[..., Running], path: str) -> None:
    body = CountingBody(
        fail_at={"fails-at-once": 0, "fails-mid-body": 2}.get(path),
        endless=path == "client-gone",
    )

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/after":
            return hello(environ, start_response)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    srv = serve(app)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if path == "client-gone":
            sock.recv(1000)  # then hang up in the middle of the body
        else:
            read_until_closed(sock)
    assert body.closed.wait(WAIT)
    time.sleep(0.05)  # a second close() would come right after the first
    assert body.closes == 1
    assert_good_request_works(srv.port)


def test_headers_wait_for_the_first_non_empty_chunk(serve: Callable[..., Running]) -> None:
    reached_empty_chunk = threading.Event()
    go_on = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b""
        reached_empty_chunk.set()  # the server asked for the next chunk
        go_on.wait(WAIT)
        yield b"body"

    srv = serve(app)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert reached_empty_chunk.wait(WAIT)
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            sock.recv(100)  # nothing on the wire yet, not even the status line
        sock.setblocking(True)
        sock.settimeout(WAIT)
        go_on.set()
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 200 OK") and b"body" in reply


# -- HTTP/1.1 framing --------------------------------------------------------


def test_keep_alive_serves_two_requests_on_one_connection(
    serve: Callable[..., Running],
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["REMOTE_PORT"].encode()]

    srv = serve(app)
    with httpx.Client(timeout=WAIT) as client:
        first, second = client.get(srv.url), client.get(srv.url)
    assert first.status_code == second.status_code == 200
    assert first.text == second.text  # the same client port: the same connection


def test_wrong_content_length_from_the_app_closes_and_logs(
    serve: Callable[..., Running],
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/after":
            return hello(environ, start_response)
        start_response("200 OK", [("Content-Length", "10")])
        return [b"abc", b"def"]

    srv = serve(app)
    with pytest.raises(httpx.HTTPError):
        httpx.get(srv.url, timeout=WAIT)
    assert any("Content-Length" in str(e) for e in srv.log.errors)
    assert_good_request_works(srv.port)


def test_expect_100_continue_is_sent_when_the_app_reads(
    serve: Callable[..., Running],
) -> None:
    srv = serve(echo)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = read_until(sock, b"\r\n\r\n")
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"ping")
        reply = read_until(sock, b"ping")
    assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"ping")


def test_expect_100_continue_without_reading_closes_instead(
    serve: Callable[..., Running],
) -> None:
    srv = serve(hello)
    reply = raw_exchange(
        srv.port,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    )
    assert b"100 Continue" not in reply
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert b"connection: close" in reply.lower()


# -- hostile clients ---------------------------------------------------------
# (the byte-level tests in test_mini_wsgi_bytes.py cover the other refusals,
# one exact byte string each; these prove them on a real listening server)

HOSTILE = {
    "garbage": (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n", 400),
    "bad header line": (b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400),
    "many headers": (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 3000 + b"\r\n", 431),
    "content-length and chunked": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "bad chunk size": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        None,
    ),
    "http/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", None),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_request_is_refused_and_the_server_goes_on(
    serve: Callable[..., Running], case: str
) -> None:
    data, expected = HOSTILE[case]
    srv = serve(echo, limits=Limits(max_header_bytes=16 * 1024, max_body_bytes=1500))
    reply = raw_exchange(srv.port, data, shut_write=True)
    if expected is not None:
        assert reply.startswith(f"HTTP/1.1 {expected} ".encode()), reply[:80]
        assert b"connection: close" in reply.lower()
    else:  # any error status, or a closed connection, is a fair answer
        assert reply == b"" or reply.startswith(b"HTTP/1.1 ")
    assert_good_request_works(srv.port)


def test_oversized_headers_sent_slowly_get_431(serve: Callable[..., Running]) -> None:
    srv = serve(hello, limits=Limits(max_header_bytes=1024))
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(100):
                sock.sendall(b"X-Drip: " + b"d" * 100 + b"\r\n")
        except OSError:
            pass  # the server answered and closed while we were still sending
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 431 ")
    assert_good_request_works(srv.port)


def test_truncated_body_reads_short_and_the_server_goes_on(
    serve: Callable[..., Running],
) -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    srv = serve(app)
    raw_exchange(
        srv.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", shut_write=True
    )
    assert seen == [b"abc"]
    assert_good_request_works(srv.port)


def test_silent_client_is_dropped_after_the_idle_timeout(
    serve: Callable[..., Running],
) -> None:
    srv = serve(hello, limits=Limits(idle_timeout=0.2))
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHo")  # ... and nothing more
        assert read_until_closed(sock) == b""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as idle:
        assert read_until_closed(idle) == b""  # connected, never sent a byte
    assert_good_request_works(srv.port)


# -- stopping ----------------------------------------------------------------


def test_stop_is_prompt_while_an_app_hangs(serve: Callable[..., Running]) -> None:
    entered, release = threading.Event(), threading.Event()

    def stuck(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(WAIT)
        start_response("200 OK", [])
        return [b"too late"]

    srv = serve(stuck)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert entered.wait(WAIT)
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 3.0
        release.set()
        read_until_closed(sock)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_many_start_stop_cycles_leak_no_threads_or_fds() -> None:
    def cycle(index: int) -> None:
        sock = bind_loopback(0)
        log = ServerLog("cycle")
        runner = MiniWSGIRunner(WSGIGuard(hello, log), sock, log)
        runner.start()
        port = sock.getsockname()[1]
        if index % 2:
            reply = raw_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert reply.endswith(b"hello")
            assert runner.stop(timeout=2.0)
        else:  # a kept-alive connection still open when the server stops
            with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as client:
                client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert read_until(client, b"hello").endswith(b"hello")
                assert runner.stop(timeout=2.0)
                assert read_until_closed(client) == b""

    cycle(0)  # warm up: first-use imports and lazy allocations
    threads, fds = threading.active_count(), open_fds()
    for index in range(200):
        cycle(index)
    deadline = time.monotonic() + WAIT  # a thread may still be returning
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.01)
    # at most as many as before: a thread or socket an earlier test left may end meanwhile
    assert threading.active_count() <= threads
    assert open_fds() <= fds
