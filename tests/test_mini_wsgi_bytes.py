"""The mini WSGI server's protocol, byte for byte, with no port and no thread.

As uvicorn's tests feed bytes through a fake transport, these feed a
request's bytes into one end of ``socket.socketpair()`` and run the server's
connection handler (``_Connection.run``) on the other end, in the test's own
thread: the handler reads every request, answers, and closes; the test then
reads every byte it sent. Nothing listens, nothing races, and a failure shows
the exact bytes on the wire. The real-socket tests in ``test_mini_wsgi.py``
prove the engine around it (accepting, threads, stopping).
"""

from __future__ import annotations

import re
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gateway_lab.mini.channel import Channel
from gateway_lab.mini.limits import Limits
from gateway_lab.mini.wsgi import _Connection
from gateway_lab.serving.log import ServerLog

PEER = ("127.0.0.1", 50000)
SERVER = ("127.0.0.1", 8000)
GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


class Wire:
    """What one connection produced: the bytes sent back, and the server's log."""

    def __init__(self, reply: bytes, log: ServerLog) -> None:
        self.reply = reply
        self.log = log

    @property
    def responses(self) -> list[bytes]:
        """Each status line the server sent, in order."""
        return re.findall(rb"HTTP/1\.1 \d{3} [^\r\n]*", self.reply)

    def head(self, number: int = 0) -> bytes:
        return self.reply.split(b"HTTP/1.1 ")[number + 1].partition(b"\r\n\r\n")[0].lower()

    @property
    def body(self) -> bytes:
        return self.reply.partition(b"\r\n\r\n")[2]


def exchange(
    app: Any,
    data: bytes,
    limits: Limits | None = None,
    half_close: bool = True,
    stopping: threading.Event | None = None,
) -> Wire:
    """Feed ``data`` to a connection serving ``app``; all it sends back."""
    server_end, client_end = socket.socketpair()
    log = ServerLog("bytes")
    flag = stopping or threading.Event()
    connection = _Connection(
        app, Channel(server_end, limits or Limits(idle_timeout=1.0), log), PEER, SERVER, flag
    )
    with client_end:
        client_end.sendall(data)
        if half_close:
            client_end.shutdown(socket.SHUT_WR)
        connection.run()  # reads, answers, closes: all in this thread
        client_end.settimeout(2.0)
        reply = b""
        while chunk := client_end.recv(65536):
            reply += chunk
    return Wire(reply, log)


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def streams(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"one "
    yield b""
    yield environ["SERVER_PROTOCOL"].encode()


# -- framing ---------------------------------------------------------------------------


def test_a_one_item_list_gets_content_length_and_a_date() -> None:
    wire = exchange(hello, GET)
    assert wire.reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 5" in wire.head() and b"date: " in wire.head()
    assert wire.body == b"hello"


def test_a_generator_is_sent_chunked_and_empty_chunks_send_nothing() -> None:
    wire = exchange(streams, GET)
    assert b"transfer-encoding: chunked" in wire.head()
    assert wire.body == b"4\r\none \r\n8\r\nHTTP/1.1\r\n0\r\n\r\n"


def test_http_1_0_body_ends_with_the_connection() -> None:
    wire = exchange(streams, b"GET / HTTP/1.0\r\n\r\n")
    assert b"chunked" not in wire.head()
    assert wire.body == b"one HTTP/1.0"


def test_head_gets_the_headers_of_get_and_no_body() -> None:
    wire = exchange(hello, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"content-length: 5" in wire.head() and wire.body == b""


def test_keep_alive_answers_pipelined_requests_in_order() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    data = b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"
    wire = exchange(app, data)
    assert len(wire.responses) == 2
    assert wire.reply.index(b"/one") < wire.reply.index(b"/two")


def test_hop_by_hop_headers_are_dropped_but_close_is_honoured() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(
            "200 OK",
            [("Content-Type", "text/plain"), ("Keep-Alive", "timeout=5"), ("Connection", "close")],
        )
        return [b"bye"]

    wire = exchange(app, GET + GET)
    assert b"keep-alive" not in wire.head() and b"connection: close" in wire.head()
    assert len(wire.responses) == 1  # closed after the first


def test_the_request_in_flight_when_stopping_is_answered_then_closed() -> None:
    stopping = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        stopping.set()  # stop() was called while this request was being answered
        return hello(environ, start_response)

    wire = exchange(app, GET + GET, stopping=stopping)
    assert wire.responses == [b"HTTP/1.1 200 OK"] and b"connection: close" in wire.head()
    assert wire.body == b"hello"


def test_expect_100_continue_comes_before_the_answer_when_the_app_reads() -> None:
    data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nabcd"
    wire = exchange(echo, data)
    assert wire.reply.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert wire.reply.endswith(b"abcd")


# -- the gateway interface ----------------------------------------------------------------


def test_the_head_waits_for_the_first_non_empty_chunk() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b""
        raise RuntimeError("changed its mind")

    wire = exchange(app, GET)
    assert wire.responses == [b"HTTP/1.1 500 Internal Server Error"]
    assert b"The app failed: RuntimeError: changed its mind" in wire.body
    assert b"200 OK" not in wire.reply


def test_a_failure_after_the_head_cuts_the_connection() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        raise RuntimeError("late")

    wire = exchange(app, GET + GET)
    assert wire.responses == [b"HTTP/1.1 200 OK"]
    assert wire.body == b"7\r\npartial\r\n"  # no last chunk: the client sees it broke
    assert any("late" in e.summary for e in wire.log.errors)


def test_exc_info_before_any_body_replaces_the_status() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        try:
            raise LookupError("no such page")
        except LookupError:
            start_response("404 Not Found", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"sorry"]

    wire = exchange(app, GET)
    assert wire.responses == [b"HTTP/1.1 404 Not Found"] and b"text/plain" in wire.head()


def test_start_response_twice_is_refused_in_the_shared_words() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        start_response("404 Not Found", [])
        return [b"never"]

    wire = exchange(app, GET)
    assert wire.responses == [b"HTTP/1.1 500 Internal Server Error"]
    assert b"second time without exc_info" in wire.body


def test_an_app_that_never_calls_start_response_gets_500() -> None:
    wire = exchange(lambda environ, start_response: [], GET)
    assert wire.responses == [b"HTTP/1.1 500 Internal Server Error"]
    assert b"without calling start_response" in wire.body


@pytest.mark.parametrize("error", [SystemExit(3), KeyboardInterrupt()], ids=type)
def test_system_exit_and_keyboard_interrupt_get_500(error: BaseException) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise error

    wire = exchange(app, GET)
    assert wire.responses == [b"HTTP/1.1 500 Internal Server Error"]
    assert type(error).__name__.encode() in wire.body
    assert [e.where for e in wire.log.errors] == ["app"]


def test_a_wrong_content_length_from_the_app_cuts_the_connection() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Length", "2")])
        return [b"four"]

    wire = exchange(app, GET + GET)
    assert b"four" not in wire.reply and b"200 OK" not in wire.reply  # never half a response
    assert any("Content-Length" in e.summary for e in wire.log.errors)


# -- hostile requests ---------------------------------------------------------------------


def test_an_unsupported_http_version_gets_505_and_never_reaches_the_app() -> None:
    called = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        called.append(environ["SERVER_PROTOCOL"])
        return hello(environ, start_response)

    wire = exchange(app, b"GET / HTTP/3.7\r\nHost: x\r\n\r\n" + GET)
    assert wire.responses == [b"HTTP/1.1 505 HTTP Version Not Supported"]
    assert b"connection: close" in wire.head() and b"HTTP/1.0 and HTTP/1.1" in wire.body
    assert called == []


CHUNKED = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
BROKEN_BODIES = {
    "bad chunk size": (CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n", True),
    "closed mid-chunk": (CHUNKED + b"5\r\nhel", True),
    "closed before the last chunk": (CHUNKED + b"5\r\nhello\r\n", True),
    "silent mid-chunk": (CHUNKED + b"5\r\nhel", False),
    "content-length cut short": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        True,
    ),
}


@pytest.mark.parametrize("reads", [True, False], ids=["app-reads", "app-ignores-body"])
@pytest.mark.parametrize("case", list(BROKEN_BODIES))
def test_a_broken_body_gets_400_and_a_closed_connection(case: str, reads: bool) -> None:
    data, half_close = BROKEN_BODIES[case]
    wire = exchange(
        echo if reads else hello,
        data,
        limits=Limits(idle_timeout=0.3),
        half_close=half_close,
    )
    assert wire.responses == [b"HTTP/1.1 400 Bad Request"], wire.reply[:200]
    assert b"connection: close" in wire.head()


def test_a_body_the_app_ignores_is_kept_out_of_the_next_request() -> None:
    data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\nGET /evil HTTP/1.1" + GET
    wire = exchange(hello, data)
    assert wire.responses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK"]


@pytest.mark.parametrize(
    "data, status",
    [
        (b"GET\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (CHUNKED + b"400\r\n" + b"z" * 1024 + b"\r\n400\r\n" + b"z" * 1024 + b"\r\n0\r\n\r\n", 413),
    ],
    ids=["one-word", "no-host", "huge-header", "huge-length", "two-lengths", "gzip", "big-chunks"],
)
def test_hostile_requests_are_refused_and_closed(data: bytes, status: int) -> None:
    wire = exchange(echo, data + GET, limits=Limits(max_body_bytes=1500))
    assert len(wire.responses) == 1 and wire.responses[0].startswith(b"HTTP/1.1 %d " % status)
    assert b"connection: close" in wire.head()


def test_a_silent_client_is_dropped_without_an_answer() -> None:
    wire = exchange(
        hello, b"GET / HTTP/1.1\r\nHo", limits=Limits(idle_timeout=0.2), half_close=False
    )
    assert wire.reply == b""
