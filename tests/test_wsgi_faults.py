"""What a learner's WSGI mistake may not do to a served app: issue 13's WSGI findings.

Each test reproduces one finding on real loopback sockets, on every engine
it concerns: an app raising ``SystemExit`` or ``KeyboardInterrupt`` (a 500
and a server that goes on), ``stop()`` during a request (the request is
answered, then the server closes), an app that forgets ``start_response``
under the default engine (our explained 500, counted as an error, a log
without terminal colour codes), and hostile HTTP on the mini server (505 for
an unknown version, 400 and a closed connection for a broken body).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import gateway_lab as gl

WAIT = 5.0
WSGI_ENGINES = ["werkzeug", "wsgiref", "mini"]


def read_all(sock: socket.socket) -> bytes:
    reply = b""
    try:
        while chunk := sock.recv(65536):
            reply += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return reply


def raw(port: int, data: bytes, half_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


@pytest.mark.parametrize("engine", WSGI_ENGINES)
@pytest.mark.parametrize("error", [SystemExit, KeyboardInterrupt])
def test_system_exit_and_keyboard_interrupt_get_500_and_the_server_goes_on(
    engine: str, error: type[BaseException]
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/boom":
            raise error()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"still here"]

    with gl.serve_wsgi(app, engine=engine) as srv:
        response = httpx.get(srv.url + "boom", timeout=WAIT)
        assert response.status_code == 500
        assert error.__name__ in response.text
        assert [e.summary.split(":")[0] for e in srv.errors] == [error.__name__]
        for _ in range(2):
            assert httpx.get(srv.url, timeout=WAIT).text == "still here"


@pytest.mark.parametrize("engine", ["mini", "werkzeug"])
def test_stop_lets_a_request_in_flight_finish_then_closes(engine: str) -> None:
    entered = threading.Event()

    def slow(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        entered.set()
        time.sleep(0.3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"finished"

    srv = gl.serve_wsgi(slow, engine=engine)
    replies: list[bytes] = []
    client = threading.Thread(
        target=lambda: replies.append(raw(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False))
    )
    client.start()
    assert entered.wait(WAIT)
    started = time.monotonic()
    assert srv.stop() is True
    assert time.monotonic() - started < 1.5
    client.join(WAIT)
    assert replies and replies[0].startswith(b"HTTP/1.1 200 OK"), replies
    assert b"finished" in replies[0]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1.0).close()


def test_stop_of_the_mini_server_still_ends_an_app_that_never_finishes() -> None:
    entered, release = threading.Event(), threading.Event()

    def stuck(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(WAIT)
        start_response("200 OK", [])
        return [b"too late"]

    srv = gl.serve_wsgi(stuck, engine="mini")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert entered.wait(WAIT)
        started = time.monotonic()
        assert srv.stop() is True  # the grace ran out; the connection was cut
        assert time.monotonic() - started < 1.5
        release.set()
        assert read_all(sock) == b""


@pytest.mark.parametrize("engine", ["mini", "werkzeug"])
def test_stop_ends_an_endless_stream_whose_client_stopped_reading(engine: str) -> None:
    def endless(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        while True:
            yield b"tick\n" * 1000

    srv = gl.serve_wsgi(endless, engine=engine)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200 OK")  # then stop reading
        started = time.monotonic()
        assert srv.stop() is True
        assert time.monotonic() - started < 1.5


def forgets_with_a_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return [b"Hello"]


def forgets_with_no_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return []


def forgets_in_a_generator(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    yield from ()


@pytest.mark.parametrize(
    "app, words",
    [
        (forgets_with_a_body, "before calling start_response"),
        (forgets_with_no_body, "without calling start_response"),
        (forgets_in_a_generator, "without calling start_response"),
    ],
    ids=lambda value: getattr(value, "__name__", "words"),
)
@pytest.mark.parametrize("engine", WSGI_ENGINES)
def test_forgotten_start_response_gets_the_explained_500(engine: str, app: Any, words: str) -> None:
    with gl.serve_wsgi(app, engine=engine) as srv:
        response = httpx.get(srv.url, timeout=WAIT)
        assert response.status_code == 500
        assert words in response.text and ".errors on the handle" in response.text
        assert len(srv.errors) == 1 and words in srv.errors[0].summary
        log = repr(srv.log)
        assert "1 request, 1 error" in log
        assert srv.requests[0].status == 500 and srv.requests[0].error


@pytest.mark.parametrize(
    "status, headers, words",
    [
        (200, [("Content-Type", "text/plain")], "wants a str such as '200 OK'"),
        ("200 OK", {"Content-Type": "text/plain"}, "wants a list of (name, value) tuples"),
        ("200 OK", [("Content-Length", 5)], "header names and values are str"),
        ("200 OK", [("X-Split", "a\r\nSet-Cookie: x=1")], "line break or control character"),
    ],
    ids=["int-status", "dict-headers", "int-value", "crlf"],
)
@pytest.mark.parametrize("engine", WSGI_ENGINES)
def test_a_head_no_server_could_send_gets_the_same_sentence_everywhere(
    engine: str, status: Any, headers: Any, words: str
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, headers)
        return [b"Hello"]

    with gl.serve_wsgi(app, engine=engine) as srv:
        response = httpx.get(srv.url, timeout=WAIT)
        assert response.status_code == 500 and words in response.text
        assert "set-cookie" not in response.headers
        assert len(srv.errors) == 1 and words in srv.errors[0].summary
        assert httpx.get(srv.url, timeout=WAIT).status_code == 500  # and it goes on


def test_the_default_engine_logs_without_terminal_colour_codes() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        status = {"/": "200 OK", "/missing": "404 Not Found"}.get(environ["PATH_INFO"])
        start_response(status or "500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"x"]

    with gl.serve_wsgi(app) as srv:
        for path in ("", "missing", "broken"):
            httpx.get(srv.url + path, timeout=WAIT)
        deadline = time.monotonic() + WAIT
        while len(srv.log.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # werkzeug logs a request just after answering it
        text = repr(srv.log) + "".join(srv.log.messages)
    assert '"GET /missing HTTP/1.1" 404' in text
    assert "\x1b" not in text


# -- hostile HTTP on the mini server ------------------------------------------------------


def test_mini_answers_an_unknown_http_version_with_505_and_goes_on() -> None:
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["SERVER_PROTOCOL"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    with gl.serve_wsgi(app, engine="mini") as srv:
        reply = raw(srv.port, b"GET / HTTP/3.7\r\nHost: x\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 505 "), reply[:80]
        assert b"connection: close" in reply.lower()
        assert httpx.get(srv.url, timeout=WAIT).text == "hello"
    assert seen == ["HTTP/1.1"]


def ignores_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"answered"]


def reads_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"read %d bytes" % len(body)]


CHUNKED = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
NEXT = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("app", [ignores_body, reads_body], ids=lambda app: app.__name__)
@pytest.mark.parametrize(
    "body",
    [b"zz\r\nhello\r\n0\r\n\r\n" + NEXT, b"5\r\nhello\r\n", b"5\r\nhel"],
    ids=["malformed", "never-finished", "cut-mid-chunk"],
)
def test_mini_answers_a_broken_chunked_body_with_400_and_closes(app: Any, body: bytes) -> None:
    with gl.serve_wsgi(app, engine="mini") as srv:
        reply = raw(srv.port, CHUNKED + body)
        assert reply.startswith(b"HTTP/1.1 400 "), reply[:80]
        assert len(re.findall(rb"HTTP/1\.1 \d{3} ", reply)) == 1
        assert b"connection: close" in reply.lower()
        assert httpx.get(srv.url, timeout=WAIT).status_code == 200
