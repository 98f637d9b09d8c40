"""PEP 3333 conformance: the same cases for every WSGI engine (mini, werkzeug, wsgiref).

Each case serves a small app with ``gl.serve_wsgi(app, engine=...)`` and talks
to it over loopback with httpx or a raw socket. Most apps are wrapped in
``wsgiref.validate.validator``, an outside judge: any AssertionError it raises
inside the app makes the guard answer 500 and record it in ``srv.errors``, so
"status 200 and no errors" means the server passed the judge.

Where a real engine does less than we ask of our own, the case is marked
``xfail(strict=True)`` with the behaviour we observed: the suite documents
real behaviour, and fails the day it changes. Our own engine, mini, has no
such marks: this suite is the bar it must clear.
"""

from __future__ import annotations

import hashlib
import importlib.util
import socket
import struct
import sys
import threading
import time
from typing import Any
from wsgiref.validate import validator

import httpx
import pytest

ENGINES = ("mini", "werkzeug", "wsgiref")
THREADED = {"mini": True, "werkzeug": True, "wsgiref": False}
WAIT = 3.0  # the longest any case waits for something that should happen


def engines(**gaps: str) -> list[Any]:
    """Every engine as a pytest param; those named in ``gaps`` are known gaps."""
    params = []
    for engine in ENGINES:
        marks: list[Any] = []
        if engine == "mini" and importlib.util.find_spec("gateway_lab.mini.wsgi") is None:
            marks.append(pytest.mark.skip(reason="gateway_lab/mini/wsgi.py is not written yet"))
        if engine in gaps:
            marks.append(pytest.mark.xfail(strict=True, reason=f"{engine}: {gaps[engine]}"))
        params.append(pytest.param(engine, marks=marks, id=engine))
    return params


def judged(app: Any, engine: str) -> Any:
    """``app`` behind wsgiref's validator.

    werkzeug has one known breach (REMOTE_PORT is an int, not a str), which
    test_environ_keys_and_types_pass_the_validator documents. Elsewhere it is
    patched before the judge looks, so werkzeug is judged on everything else.
    """
    judge = validator(app)
    if engine != "werkzeug":
        return judge

    def patched(environ: dict[str, Any], start_response: Any) -> Any:
        if isinstance(environ.get("REMOTE_PORT"), int):
            environ["REMOTE_PORT"] = str(environ["REMOTE_PORT"])
        return judge(environ, start_response)

    return patched


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body the way careful apps do (CONTENT_LENGTH, else a
    terminated stream, else nothing), in pieces: read(n) may return less."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        remaining, parts = int(length), []
        while remaining > 0:
            part = stream.read(min(remaining, 65536))
            if not part:
                break
            parts.append(part)
            remaining -= len(part)
        return b"".join(parts)
    if environ.get("wsgi.input_terminated"):
        parts = []
        while part := stream.read(65536):
            parts.append(part)
        return b"".join(parts)
    return b""


def text(status: str, body: bytes, headers: Any = ()) -> Any:
    """An app answering ``body`` with a Content-Length."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(
            status,
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))] + list(headers),
        )
        return [body]

    return app


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = read_body(environ)
    start_response(
        "200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))]
    )
    return [body]


def assert_no_errors(srv: Any) -> None:
    assert not srv.errors, "\n".join(str(error) for error in srv.errors)


# -- the environ ------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine", engines(werkzeug="REMOTE_PORT is an int; PEP 3333 wants str for CGI keys")
)
def test_environ_keys_and_types_pass_the_validator(engine, conformance_server):
    seen: list[dict[str, Any]] = []

    def app(environ, start_response):
        seen.append(dict(environ))
        return echo_app(environ, start_response)

    srv = conformance_server(validator(app), engine)
    with httpx.Client(timeout=WAIT) as client:
        response = client.post(
            srv.url + "echo?a=1&b=two%20words",
            content=b"hello",
            headers=[
                ("Content-Type", "text/plain"),
                ("X-Course", "gateway-lab"),
                ("X-Many", "a"),
                ("X-Many", "b"),
            ],
        )
    assert (response.status_code, response.content) == (200, b"hello")
    assert_no_errors(srv)
    environ = seen[0]
    assert all(isinstance(key, str) for key in environ)
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.url_scheme"] == "http"
    for flag in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"):
        assert isinstance(environ[flag], bool), flag
    assert environ["wsgi.multithread"] is THREADED[engine]
    assert environ["wsgi.run_once"] is False
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/echo"
    assert environ["QUERY_STRING"] == "a=1&b=two%20words"  # raw: not decoded
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SERVER_PORT"] == str(srv.port)
    assert isinstance(environ["SERVER_NAME"], str) and environ["SERVER_NAME"]
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "5"
    assert environ["HTTP_HOST"] == f"127.0.0.1:{srv.port}"
    assert environ["HTTP_X_COURSE"] == "gateway-lab"
    assert [part.strip() for part in environ["HTTP_X_MANY"].split(",")] == ["a", "b"]
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ


def environ_seen_for(target: str, engine: str, conformance_server: Any, raw_http: Any) -> Any:
    """The environ an app (behind the judge) saw for ``GET target``."""
    seen: list[dict[str, Any]] = []

    def app(environ, start_response):
        seen.append(dict(environ))
        return text("200 OK", b"ok")(environ, start_response)

    srv = conformance_server(judged(app, engine), engine)
    conn = raw_http(srv.port)
    conn.send(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii"))
    response = conn.read_response()
    assert_no_errors(srv)
    assert response is not None and response.status == 200
    return seen[0]


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize(
    ("target", "path_info", "query"),
    [
        ("/caf%C3%A9/a%20b?q=caf%C3%A9", "/café/a b".encode().decode("latin-1"), "q=caf%C3%A9"),
        ("/a%2Fb/?x=%26&y", "/a/b/", "x=%26&y"),
        ("/plain/", "/plain/", ""),
    ],
    ids=["utf8-percent", "slash-percent", "plain"],
)
def test_paths_are_percent_decoded_and_queries_stay_raw(
    engine, target, path_info, query, conformance_server, raw_http
):
    environ = environ_seen_for(target, engine, conformance_server, raw_http)
    assert environ["PATH_INFO"] == path_info  # UTF-8 bytes, each shown as one latin-1 char
    assert environ["QUERY_STRING"] == query


@pytest.mark.parametrize(
    "engine",
    engines(
        werkzeug="decodes the path as UTF-8 with replacement: the byte %E9 becomes "
        "U+FFFD (shown as '\xef\xbf\xbd'), so the app cannot recover the bytes"
    ),
)
def test_non_utf8_path_bytes_survive_as_latin1(engine, conformance_server, raw_http):
    environ = environ_seen_for("/%E9t%E9", engine, conformance_server, raw_http)
    assert environ["PATH_INFO"].encode("latin-1") == b"/\xe9t\xe9"


@pytest.mark.parametrize("engine", engines())
def test_response_headers_are_sent_as_latin1(engine, conformance_server, raw_http):
    srv = conformance_server(judged(text("200 OK", b"ok", [("X-Name", "café")]), engine), engine)
    conn = raw_http(srv.port)
    conn.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    response = conn.read_response()
    assert response is not None and response.status == 200
    assert response.header("x-name") == "café"  # the parser decoded latin-1 bytes
    assert_no_errors(srv)


# -- request bodies -----------------------------------------------------------------


@pytest.mark.parametrize("engine", engines())
def test_body_with_content_length_arrives_whole(engine, conformance_server):
    srv = conformance_server(judged(echo_app, engine), engine)
    payload = bytes(range(256)) * 400  # 100 KB, every byte value
    with httpx.Client(timeout=WAIT) as client:
        response = client.post(srv.url, content=payload)
    assert response.status_code == 200
    assert response.content == payload
    assert_no_errors(srv)


@pytest.mark.parametrize(
    "engine",
    engines(
        wsgiref="wsgi.input is the raw socket: reading past CONTENT_LENGTH blocks until "
        "the client gives up, instead of returning b''",
        werkzeug="wsgi.input is the raw socket: reading past CONTENT_LENGTH blocks until "
        "the client gives up (werkzeug's Request object limits it; the server does not)",
    ),
)
def test_input_ends_at_content_length(engine, conformance_server, raw_http):
    def app(environ, start_response):
        body = read_body(environ)
        extra = environ["wsgi.input"].read(100)  # PEP 3333: simulate end-of-file here
        answer = body + b"|" + extra
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))]
        )
        return [answer]

    srv = conformance_server(judged(app, engine), engine)
    conn = raw_http(srv.port, timeout=1.0)
    conn.send(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello")
    response = conn.read_response("POST")
    assert response is not None and response.body == b"hello|"


@pytest.mark.parametrize(
    "engine",
    engines(
        wsgiref="no chunked request bodies: no CONTENT_LENGTH and no "
        "wsgi.input_terminated, so the app sees an empty body"
    ),
)
def test_chunked_request_body_is_decoded(engine, conformance_server, raw_http):
    seen: list[dict[str, Any]] = []

    def app(environ, start_response):
        seen.append(dict(environ))
        return echo_app(environ, start_response)

    srv = conformance_server(app, engine)
    conn = raw_http(srv.port)
    conn.send(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    for piece in (b"5\r\nhello\r\n", b"6\r\n world\r\n", b"0\r\n\r\n"):
        time.sleep(0.02)
        conn.send(piece)
    response = conn.read_response("POST")
    assert response is not None and response.status == 200
    assert response.body == b"hello world"
    assert seen[0].get("wsgi.input_terminated") is True  # the convention for chunked input


@pytest.mark.parametrize(
    "engine",
    engines(
        wsgiref="no 100 Continue interim answer: a client that waits for it "
        "stalls until its own timeout"
    ),
)
def test_expect_100_continue_gets_an_interim_answer(engine, conformance_server, raw_http):
    srv = conformance_server(judged(echo_app, engine), engine)
    conn = raw_http(srv.port, timeout=1.0)
    conn.send(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    interim = conn.read_response("POST", informational=True)
    assert interim is not None and interim.status == 100
    conn.send(b"hello")
    response = conn.read_response("POST")
    assert response is not None and (response.status, response.body) == (200, b"hello")


@pytest.mark.parametrize("engine", engines())
def test_large_bodies_both_ways(engine, conformance_server):
    chunk = hashlib.sha256(b"gateway-lab").digest() * 2048  # 64 KB
    count = 96  # 6 MB each way

    def app(environ, start_response):
        digest = hashlib.sha256(read_body(environ)).hexdigest().encode()
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("X-Upload-Sha256", digest.decode())]
        )
        return (chunk for _ in range(count))

    srv = conformance_server(judged(app, engine), engine)
    upload = chunk * count
    with httpx.Client(timeout=10) as client:
        response = client.post(srv.url, content=upload)
    assert_no_errors(srv)
    assert response.status_code == 200
    assert response.headers["x-upload-sha256"] == hashlib.sha256(upload).hexdigest()
    assert response.content == upload
    assert_no_errors(srv)


# -- producing the response ------------------------------------------------------


@pytest.mark.parametrize("engine", engines())
def test_generator_body_streams_chunk_by_chunk(engine, conformance_server):
    go_on = threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first"
        go_on.wait(WAIT)  # the client must have "first" before we produce more
        yield b"second"

    srv = conformance_server(judged(app, engine), engine)
    with httpx.Client(timeout=WAIT) as client, client.stream("GET", srv.url) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        go_on.set()
        rest = b"".join(chunks)
    assert first == b"first"
    assert rest == b"second"
    assert_no_errors(srv)


@pytest.mark.parametrize(
    "engine",
    engines(
        wsgiref="sends the headers at the first chunk even when it is empty, so a "
        "later error can no longer become a 500",
        werkzeug="sends the headers at the first chunk even when it is empty, so a "
        "later error can no longer become a 500",
    ),
)
def test_headers_wait_for_the_first_non_empty_chunk(engine, conformance_server):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b""
        raise ValueError("failed before any body byte")

    srv = conformance_server(app, engine)
    with httpx.Client(timeout=WAIT) as client:
        response = client.get(srv.url)
    assert response.status_code == 500


@pytest.mark.parametrize("engine", engines())
def test_write_callable_comes_before_the_iterable(engine, conformance_server):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"one ")
        write(b"two ")
        return [b"three"]

    srv = conformance_server(judged(app, engine), engine)
    with httpx.Client(timeout=WAIT) as client:
        response = client.get(srv.url)
    assert (response.status_code, response.content) == (200, b"one two three")
    assert_no_errors(srv)


class ClosingBody:
    """A body whose close() we can watch; optionally fails or runs long."""

    def __init__(
        self, chunks: list[bytes], fail_after: int | None = None, repeat_until_closed: bool = False
    ) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.repeat = repeat_until_closed
        self.closed = threading.Event()

    def __iter__(self) -> Any:
        for number, chunk in enumerate(self.chunks):
            if number == self.fail_after:
                raise ValueError("the body failed half-way")
            yield chunk
        deadline = time.monotonic() + WAIT
        while self.repeat and not self.closed.is_set() and time.monotonic() < deadline:
            yield self.chunks[-1]
            time.sleep(0.001)

    def close(self) -> None:
        self.closed.set()


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize("path", ["complete", "failing"])
def test_close_is_called(engine, path, conformance_server):
    body = ClosingBody([b"a", b"b"], fail_after=1 if path == "failing" else None)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    srv = conformance_server(app, engine)
    with httpx.Client(timeout=WAIT) as client:
        try:
            client.get(srv.url)
        except httpx.HTTPError:
            pass  # the failing body cuts the response short
    assert body.closed.wait(WAIT), "the server never called the body's close()"


@pytest.mark.parametrize("engine", engines())
def test_close_is_called_when_the_client_goes_away(engine, conformance_server, raw_http):
    body = ClosingBody([b"x" * 65536], repeat_until_closed=True)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/ok":
            return text("200 OK", b"ok")(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return body

    srv = conformance_server(app, engine)
    conn = raw_http(srv.port)
    conn.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert conn.recv()
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # a reset: the server's next writes fail
    assert body.closed.wait(WAIT), "the server never called close() after the client left"
    with httpx.Client(timeout=WAIT) as client:
        assert client.get(srv.url + "ok").status_code == 200


# -- errors and exc_info ---------------------------------------------------------


@pytest.mark.parametrize("engine", engines())
def test_exc_info_before_headers_replaces_the_status(engine, conformance_server):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("changed my mind")
        except ValueError:
            start_response(
                "503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info()
            )
        return [b"sorry"]

    srv = conformance_server(judged(app, engine), engine)
    with httpx.Client(timeout=WAIT) as client:
        response = client.get(srv.url)
    assert (response.status_code, response.content) == (503, b"sorry")
    assert_no_errors(srv)


@pytest.mark.parametrize("engine", engines())
def test_exc_info_after_headers_reraises_and_the_server_goes_on(engine, conformance_server):
    reraised = threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/ok":
            return text("200 OK", b"ok")(environ, start_response)
        return failing_late(start_response)

    def failing_late(start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial "
        try:
            raise ValueError("too late for a 500")
        except ValueError:
            try:
                start_response("500 Internal Server Error", [], sys.exc_info())
            except ValueError:
                reraised.set()  # PEP 3333: start_response must raise here
                raise

    srv = conformance_server(app, engine)
    with httpx.Client(timeout=WAIT) as client:
        try:
            response = client.get(srv.url)
            assert response.status_code == 200  # headers were already out
        except httpx.HTTPError:
            pass  # the connection was cut: the honest ending
        assert reraised.wait(WAIT)
        assert client.get(srv.url + "ok").status_code == 200


@pytest.mark.parametrize("engine", engines())
def test_start_response_twice_without_exc_info_raises(engine, conformance_server):
    raised: list[BaseException] = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            start_response("201 Created", [])
        except Exception as exc:  # noqa: BLE001 - any error will do
            raised.append(exc)
        return [b"ok"]

    srv = conformance_server(app, engine)
    with httpx.Client(timeout=WAIT) as client:
        response = client.get(srv.url)
    assert response.status_code == 200
    assert raised, "a second start_response without exc_info was accepted"


@pytest.mark.parametrize("engine", engines())
def test_an_app_that_raises_gets_500_and_the_server_goes_on(engine, conformance_server):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("boom")
        return text("200 OK", b"fine")(environ, start_response)

    srv = conformance_server(app, engine)
    with httpx.Client(timeout=WAIT) as client:
        assert client.get(srv.url + "boom").status_code == 500
        response = client.get(srv.url + "after")
    assert (response.status_code, response.content) == (200, b"fine")
    assert [error.summary for error in srv.errors] == ["RuntimeError: boom"]


# -- HTTP: HEAD, keep-alive, concurrency ------------------------------------------


def hello_list(environ, start_response):
    return text("200 OK", b"hello world")(environ, start_response)


def hello_generator(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"hello"
    yield b" world"


BODIES = pytest.mark.parametrize("app", [hello_list, hello_generator], ids=["list", "generator"])


@pytest.mark.parametrize(
    "engine",
    engines(
        wsgiref="sends the app's body after a HEAD answer (it then closes the connection)",
        werkzeug="sends the app's body after a HEAD answer (werkzeug's Response objects "
        "drop it themselves; the server does not; it then closes the connection)",
    ),
)
@BODIES
def test_head_sends_no_body(engine, app, conformance_server, raw_http):
    srv = conformance_server(judged(app, engine), engine)
    conn = raw_http(srv.port)
    conn.send(b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    response = conn.read_response("HEAD")
    assert response is not None and response.status == 200
    assert conn.extra_bytes(0.2) == b"", "body bytes followed a HEAD answer"
    assert_no_errors(srv)


@pytest.mark.parametrize(
    "engine",
    engines(
        wsgiref="speaks HTTP/1.0: closes the connection after every answer",
        werkzeug="answers 'Connection: close' every time, on purpose (http.server cannot "
        "drain an unread body before the next request)",
    ),
)
@BODIES
def test_keep_alive_serves_several_requests_on_one_connection(
    engine, app, conformance_server, raw_http
):
    srv = conformance_server(judged(app, engine), engine)
    conn = raw_http(srv.port)
    for _ in range(3):
        conn.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        response = conn.read_response()
        assert response is not None and response.complete
        assert (response.status, response.body) == (200, b"hello world")
        assert response.header("connection") != "close"
    assert_no_errors(srv)


@pytest.mark.parametrize("engine", engines())
def test_concurrency_matches_wsgi_multithread(engine, conformance_server):
    """Threaded engines run requests side by side; wsgiref, by design, one at a
    time (an expected difference, stated by its wsgi.multithread=False)."""
    lock = threading.Lock()
    in_flight, most = 0, 0
    both_arrived = threading.Event()

    def app(environ, start_response):
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
            if in_flight == 2:
                both_arrived.set()
        both_arrived.wait(1.0)  # threaded: the other request arrives; else give up
        with lock:
            in_flight -= 1
        return text("200 OK", str(environ["wsgi.multithread"]).encode())(environ, start_response)

    srv = conformance_server(app, engine)
    answers: list[httpx.Response] = []

    def client_call() -> None:
        with httpx.Client(timeout=WAIT) as client:
            answers.append(client.get(srv.url))

    threads = [threading.Thread(target=client_call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert [answer.status_code for answer in answers] == [200, 200]
    multithread = answers[0].content == b"True"
    assert multithread is THREADED[engine]
    assert most == (2 if multithread else 1)
