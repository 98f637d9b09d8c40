"""The guards (serving.wsgi_guard, serving.asgi_guard): logs and 500s, a working app unchanged."""

from __future__ import annotations

import sys

from gateway_lab.protocol.bodies import body_type_problem
from gateway_lab.protocol.calls import call_wsgi
from gateway_lab.serving.log import ServerLog
from gateway_lab.serving.wsgi_guard import WSGIGuard


def test_list_body_stays_a_list_and_close_records():
    log = ServerLog("t")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"one", b"two"]

    body = WSGIGuard(app, log)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda s, h, e=None: None
    )
    assert isinstance(body, list) and len(body) == 2
    assert log.requests == type(log.requests)()  # not yet: recorded at close()
    body.close()
    assert log.requests[0].status == 200 and log.requests[0].bytes_sent == 6


def test_generator_close_is_forwarded():
    closed = []

    def app(environ, start_response):
        start_response("200 OK", [])
        try:
            yield b"a"
            yield b"b"
        finally:
            closed.append(True)

    log = ServerLog("t")
    response = call_wsgi(WSGIGuard(app, log))
    assert response.body == b"ab" and closed == [True]
    assert log.requests[0].bytes_sent == 2


def test_exception_becomes_500_with_exc_info():
    log = ServerLog("t")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        raise LookupError("nope")

    response = call_wsgi(WSGIGuard(app, log))
    assert response.status == 500
    assert b"LookupError: nope" in response.body
    assert log.errors[0].request == "GET /"


def test_exception_after_body_started_reraises():
    log = ServerLog("t")

    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"partial"
        raise LookupError("late")

    try:
        call_wsgi(WSGIGuard(app, log))
    except LookupError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the original exception should propagate")
    assert "late" in log.errors[0].summary
    assert sys.exc_info() == (None, None, None)


def test_body_type_problem_accepts_any_iterable_of_bytes():
    assert body_type_problem([b"a"]) is None
    assert body_type_problem(iter([b"a"])) is None
    assert body_type_problem(()) is None
    assert "str" in body_type_problem("x")
