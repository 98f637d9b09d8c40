"""gateway_lab.protocol.calls: calling WSGI and ASGI apps with no socket and no thread."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

import gateway_lab as gl
from gateway_lab.errors import WSGIBodyTypeError
from gateway_lab.protocol.calls import PendingCall, ProtocolError
from gateway_lab.protocol.wsgi_call import DEFAULT_MAX_BODY, DEFAULT_TIMEOUT


def echo_wsgi(environ, start_response):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size)
    start_response(
        "201 Created", [("Content-Type", "text/plain"), ("X-Method", environ["REQUEST_METHOD"])]
    )
    return [environ["PATH_INFO"].encode(), b"?", environ["QUERY_STRING"].encode(), b" ", body]


def test_call_wsgi_returns_status_headers_body():
    response = gl.call_wsgi(echo_wsgi, "POST", "/items?x=1", {"X-Test": "yes"}, b"data")
    assert response.status == 201
    assert response.reason == "Created"
    assert response.header("x-method") == "POST"
    assert response.body == b"/items?x=1 data"
    assert response.text == "/items?x=1 data"
    assert "201 Created" in repr(response)
    assert "<b>201 Created</b>" in response._repr_html_()


def test_call_wsgi_shows_the_status_line_as_the_app_sent_it():
    # A bare "200" is what the app said: call_wsgi must not show the "200 OK" a
    # server would mend it to (the checker reports the missing reason).
    def bare(environ, start_response):
        start_response("200", [("Content-Type", "text/plain")])
        return [b"hi"]

    response = gl.call_wsgi(bare)
    assert (response.status, response.reason, response.status_line) == (200, "", "200")
    assert repr(response).startswith("<Response 200, ")

    def own(environ, start_response):
        start_response("404 Not Here", [("Content-Type", "text/plain")])
        return [b"hi"]

    assert gl.call_wsgi(own).status_line == "404 Not Here"
    assert gl.Response(404).status_line == "404 Not Found"  # no phrase given: the standard one


def test_call_wsgi_runs_on_the_calling_thread():
    seen = []

    def app(environ, start_response):
        seen.append(threading.current_thread())
        start_response("200 OK", [])
        return [b""]

    before = threading.active_count()
    gl.call_wsgi(app)
    assert seen == [threading.current_thread()]
    assert threading.active_count() <= before  # none started (an older one may end)


def test_call_wsgi_write_callable_and_generator():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")

        def body():
            yield b""
            yield b"then "
            yield b"yielded"

        return body()

    assert gl.call_wsgi(app).body == b"written then yielded"


def test_call_wsgi_closes_the_iterable_even_on_error():
    closed = []

    class Body:
        def __iter__(self):
            yield b"x"
            raise ValueError("mid-body")

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [])
        return Body()

    with pytest.raises(ValueError, match="mid-body"):
        gl.call_wsgi(app)
    assert closed == [True]


def test_call_wsgi_exc_info_replaces_headers_before_body():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        try:
            raise RuntimeError("oops")
        except RuntimeError:
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
        return [b"sorry"]

    response = gl.call_wsgi(app)
    assert response.status == 500 and response.header("content-type") == "text/plain"


def test_call_wsgi_exc_info_after_body_reraises():
    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"already sent")
        try:
            raise RuntimeError("late")
        except RuntimeError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return []

    with pytest.raises(RuntimeError, match="late"):
        gl.call_wsgi(app)


@pytest.mark.parametrize(
    "app_body, error, words",
    [
        ("text", WSGIBodyTypeError, "returned a str"),
        (b"bytes", WSGIBodyTypeError, "Wrap it in a list"),
        (None, WSGIBodyTypeError, "return statement"),
        (["text"], WSGIBodyTypeError, "encode"),
        (42, WSGIBodyTypeError, "not iterable"),
    ],
)
def test_call_wsgi_explains_wrong_body_types(app_body, error, words):
    def app(environ, start_response):
        start_response("200 OK", [])
        return app_body

    with pytest.raises(error, match=words):
        gl.call_wsgi(app)


def test_call_wsgi_protocol_errors():
    def no_start(environ, start_response):
        return [b"body"]

    def twice(environ, start_response):
        start_response("200 OK", [])
        start_response("200 OK", [])
        return []

    def bad_status(environ, start_response):
        start_response(200, [])
        return []

    def tuple_headers(environ, start_response):
        start_response("200 OK", (("A", "b"),))
        return []

    with pytest.raises(ProtocolError, match="before calling start_response"):
        gl.call_wsgi(no_start)
    with pytest.raises(ProtocolError, match="second time"):
        gl.call_wsgi(twice)
    with pytest.raises(ProtocolError, match="'200 OK'"):
        gl.call_wsgi(bad_status)
    with pytest.raises(ProtocolError, match="list"):
        gl.call_wsgi(tuple_headers)


def test_call_wsgi_stops_an_endless_body_at_its_cap():
    def endless(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        while True:
            yield b"x" * 65536

    started = time.monotonic()
    with pytest.raises(gl.CallLimitExceeded, match=r"max_body=1048576 bytes") as caught:
        gl.call_wsgi(endless, max_body=1 << 20)
    assert time.monotonic() - started < 5.0
    assert caught.value.bound == "max_body" and caught.value.limit == 1 << 20
    assert (1 << 20) < caught.value.arrived <= (1 << 20) + 65536
    assert "call_wsgi(app, max_body=2097152)" in str(caught.value)  # how to raise it


def test_call_wsgi_stops_endless_writes_at_the_default_cap():
    def writer(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        while True:
            write(b"y" * 65536)

    with pytest.raises(gl.CallLimitExceeded) as caught:
        gl.call_wsgi(writer)
    assert caught.value.bound == "max_body" and caught.value.limit == DEFAULT_MAX_BODY


def test_call_wsgi_stops_an_app_that_never_finishes_at_its_time_limit():
    def trickle(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        while True:
            time.sleep(0.01)
            yield b""  # nothing, forever: the memory cap never trips

    started = time.monotonic()
    with pytest.raises(gl.CallLimitExceeded, match=r"within timeout=0.2 s") as caught:
        gl.call_wsgi(trickle, timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 3.0
    assert caught.value.bound == "timeout" and caught.value.arrived >= 0.2
    assert "call_wsgi(app, timeout=1)" in str(caught.value)
    assert isinstance(caught.value, ProtocolError)  # except ProtocolError still catches it


def test_call_wsgi_bounds_are_generous_and_can_be_raised():
    assert 2 <= DEFAULT_TIMEOUT <= 10 and 4 << 20 <= DEFAULT_MAX_BODY <= 16 << 20
    big = b"z" * (DEFAULT_MAX_BODY + 1)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [big]

    with pytest.raises(gl.CallLimitExceeded):
        gl.call_wsgi(app)
    assert gl.call_wsgi(app, max_body=2 * DEFAULT_MAX_BODY).body == big


def test_call_wsgi_learner_exception_propagates_unchanged():
    def app(environ, start_response):
        raise ZeroDivisionError("their bug")

    with pytest.raises(ZeroDivisionError, match="their bug"):
        gl.call_wsgi(app)


def test_call_wsgi_refuses_an_asgi_app():
    async def app(scope, receive, send):
        pass

    with pytest.raises(gl.WrongInterfaceError):
        gl.call_wsgi(app)


async def echo_asgi(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": scope["path"].encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b" " + body})


def test_call_asgi_from_a_plain_script():
    response = gl.call_asgi(echo_asgi, "POST", "/x", body=b"payload")
    assert response.status == 200
    assert response.body == b"/x payload"
    assert response.header("Content-Type") == "text/plain"


def test_call_asgi_is_awaitable_inside_a_running_loop():
    async def main():
        pending = gl.call_asgi(echo_asgi, path="/in-loop")
        assert isinstance(pending, PendingCall)
        assert "await gl.call_asgi" in repr(pending)
        return await pending

    assert asyncio.run(main()).body == b"/in-loop "


def test_call_asgi_runs_on_the_calling_thread():
    seen = []

    async def app(scope, receive, send):
        seen.append(threading.current_thread())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    assert gl.call_asgi(app).status == 204
    assert seen == [threading.current_thread()]


def test_call_asgi_disconnect_after_response():
    messages = []

    async def app(scope, receive, send):
        messages.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        messages.append(await receive())

    gl.call_asgi(app)
    assert [m["type"] for m in messages] == ["http.request", "http.disconnect"]


@pytest.mark.parametrize(
    "messages, words",
    [
        ([{"type": "http.response.body", "body": b"x"}], "before 'http.response.start'"),
        ([{"type": "http.response.start", "status": 200, "headers": [("a", "b")]}], "bytes"),
        (
            [
                {"type": "http.response.start", "status": 200, "headers": []},
                {"type": "http.response.body", "body": "text"},
            ],
            "must be bytes",
        ),
        (
            [
                {"type": "http.response.start", "status": 200, "headers": []},
                {"type": "http.response.body", "body": b"a"},
                {"type": "http.response.body", "body": b"b"},
            ],
            "after the response was complete",
        ),
        ([], "without sending 'http.response.start'"),
        (
            [
                {"type": "http.response.start", "status": 200, "headers": []},
                {"type": "http.response.body", "body": b"a", "more_body": True},
            ],
            "while the response was still open",
        ),
        ([{"type": "websocket.accept"}], "'websocket.accept' in an http scope"),
    ],
)
def test_call_asgi_protocol_errors(messages, words):
    async def app(scope, receive, send):
        for message in messages:
            await send(message)

    with pytest.raises(ProtocolError, match=words):
        gl.call_asgi(app)


def test_call_asgi_timeout_explains():
    async def app(scope, receive, send):
        await receive()
        await receive()  # waits for a disconnect that only comes after a response

    with pytest.raises(ProtocolError, match="did not finish within 0.2 s"):
        gl.call_asgi(app, timeout=0.2)


def test_call_asgi_refuses_a_wsgi_app():
    with pytest.raises(gl.WrongInterfaceError, match="serve_wsgi"):
        gl.call_asgi(echo_wsgi)
