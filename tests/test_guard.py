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


def test_system_exit_and_keyboard_interrupt_become_500():
    for error in (SystemExit(2), KeyboardInterrupt()):

        def app(environ, start_response, error=error):
            raise error

        log = ServerLog("t")
        response = call_wsgi(WSGIGuard(app, log))
        assert response.status == 500 and type(error).__name__.encode() in response.body
        assert log.errors[0].summary.startswith(type(error).__name__)


def test_a_body_closed_mid_way_is_not_an_error():
    finished = []

    def app(environ, start_response):
        start_response("200 OK", [])
        try:
            while True:
                yield b"tick"
        finally:
            finished.append(True)

    log = ServerLog("t")
    body = WSGIGuard(app, log)({"REQUEST_METHOD": "GET"}, lambda s, h, e=None: None)
    chunks = iter(body)
    assert next(chunks) == b"tick"
    chunks.close()  # how a server stops a body when the client leaves (GeneratorExit)
    body.close()
    assert finished == [True] and not log.errors and log.requests[0].status == 200


def test_forgotten_start_response_is_explained_with_the_shared_sentence():
    from gateway_lab.protocol.wsgi import SENTENCES

    def lazy(environ, start_response):
        yield b"hello"

    def empty(environ, start_response):
        return []

    for app, key in ((lazy, "body-before-start-response"), (empty, "no-start-response")):
        log = ServerLog("t")
        response = call_wsgi(WSGIGuard(app, log))
        assert response.status == 500
        assert SENTENCES[key].hint.encode() in response.body
        assert log.requests[0].status == 500 and log.requests[0].error


def test_a_head_no_server_could_send_is_refused_into_the_app():
    seen = []

    def app(environ, start_response):
        try:
            start_response(200, [])
        except Exception as exc:  # the app sees the error at its own line
            seen.append(type(exc).__name__)
            raise
        return [b"never"]

    response = call_wsgi(WSGIGuard(app, ServerLog("t")))
    assert seen == ["ProtocolError"] and response.status == 500
    assert b"'200 OK'" in response.body
