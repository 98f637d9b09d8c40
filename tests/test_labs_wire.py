"""gateway_lab.labs.wire: raw bytes to a loopback port, and responses split apart."""

from __future__ import annotations

import pytest

from gateway_lab.labs.weak import NaiveHTTPServer, lang_header_app
from gateway_lab.labs.wire import read_response, send_raw


def test_read_response_splits_two_responses_by_content_length():
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nX-A: b\r\n\r\nnope"
    )
    first, rest = read_response(data)
    second, tail = read_response(rest)
    assert (first.status, first.reason, first.body) == (200, "OK", b"hi")
    assert (second.status, second.body, second.header("x-a")) == (404, b"nope", "b")
    assert tail == b""


def test_read_response_without_a_length_takes_the_rest():
    response, rest = read_response(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it")
    assert response.body == b"all of it" and rest == b""
    assert response.header_names() == ["server"]


@pytest.mark.parametrize(
    "data", [b"HTTP/1.1 200 OK\r\n", b"hello\r\n\r\n", b"HTTP/1.1 OK x\r\n\r\n"]
)
def test_read_response_refuses_what_is_not_a_response(data):
    with pytest.raises(ValueError):
        read_response(data)


def test_send_raw_reads_until_the_server_closes():
    with NaiveHTTPServer(lang_header_app) as server:
        data = send_raw(server.port, b"GET /?lang=fr HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    response, _ = read_response(data)
    assert response.status == 200 and response.header("Content-Language") == "fr"


def test_send_raw_stops_at_the_limit():
    with NaiveHTTPServer(lang_header_app) as server:
        data = send_raw(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", limit=10)
    assert data == b"HTTP/1.1 2"


@pytest.mark.parametrize(
    ("head", "keeps"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", True),
    ],
)
def test_read_response_tells_whether_the_connection_stays_open(head, keeps):
    response, _ = read_response(head)
    assert response.version == head.split(b" ")[0].decode()
    assert response.keeps_connection is keeps
