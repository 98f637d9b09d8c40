"""gateway_lab.events.record: recorders write down every exchange and change nothing."""

from __future__ import annotations

import asyncio
import importlib
import re
import threading
import time
from wsgiref.validate import validator

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.errors import NotAnAppError, WSGIBodyTypeError
from gateway_lab.events.flow import BODY_CAP, Flow
from gateway_lab.events.record import record_asgi, record_wsgi
from gateway_lab.protocol.calls import acall_asgi, call_wsgi


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


MINI_WSGI = pytest.param(
    "mini",
    marks=pytest.mark.skipif(
        not _importable("gateway_lab.mini.wsgi"), reason="gateway_lab.mini.wsgi not written yet"
    ),
)
MINI_ASGI = pytest.param(
    "mini",
    marks=pytest.mark.skipif(
        not _importable("gateway_lab.mini.asgi"), reason="gateway_lab.mini.asgi not written yet"
    ),
)
WSGI_ENGINES = ["werkzeug", "wsgiref", MINI_WSGI]
ASGI_ENGINES = ["uvicorn", MINI_ASGI]


# ----------------------------------------------------------------------------- apps


def list_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Seen", environ["PATH_INFO"])])
    return [b"hello ", environ["PATH_INFO"].encode("latin-1")]


class ClosingBody:
    def __init__(self, chunks):
        self.chunks = chunks
        self.closed = 0

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed += 1


def generator_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"one "
    yield b"two"


def write_app(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written ")
    return [b"returned"]


def echo_body_app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


async def hello_asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    message = await receive()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"got " + message.get("body", b"")})


def kinds(flow: Flow, connection: int | None = None) -> list[str]:
    return [e.kind for e in flow if connection is None or e.connection == connection]


def wait_for(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the recorder did not see the event in time")
        time.sleep(0.005)


@pytest.fixture(autouse=True)
def _no_leftover_servers():
    yield
    gl.stop_all()


# ----------------------------------------------------------------------- WSGI, in-process


def test_wsgi_list_body_records_every_step_and_keeps_the_same_list():
    returned = []

    def app(environ, start_response):
        body = list_app(environ, start_response)
        returned.append(body)
        return body

    recorded, flow = record_wsgi(app)
    seen = []
    environ = gl.make_environ("GET", "/x?a=1")
    result = recorded(environ, lambda status, headers, exc_info=None: seen.append(status))
    assert result is returned[0]  # the very same list: len() still works for servers
    assert kinds(flow) == ["environ", "start_response", "return", "body", "body"]
    environ_event = flow.events[0]
    assert (environ_event.source, environ_event.target) == ("server", "app")
    assert environ_event.payload["summary"] == "GET /x?a=1"
    assert environ_event.payload["environ"]["PATH_INFO"] == "/x"
    assert environ_event.payload["environ"]["wsgi.version"] == "(1, 0)"
    start = flow.events[1]
    assert start.payload["status"] == "200 OK"
    assert ("X-Seen", "/x") in start.payload["headers"]
    assert start.payload["exc_info"] is None
    assert [e.payload["body"] for e in flow.of_kind("body")] == [b"hello ", b"/x"]
    assert flow.events[2].payload["type"] == "list"
    assert seen == ["200 OK"]


def test_wsgi_generator_body_chunks_and_close_are_recorded_in_order():
    recorded, flow = record_wsgi(generator_app)
    assert call_wsgi(recorded).text == "one two"
    assert kinds(flow) == ["environ", "return", "start_response", "body", "body", "close"]
    close = flow.events[-1]
    assert (close.source, close.target) == ("server", "app")


def test_wsgi_close_is_forwarded_once_and_len_is_passed_through():
    body = ClosingBody([b"a", b"b"])
    recorded, flow = record_wsgi(lambda e, s: (s("200 OK", []), body)[1])
    result = recorded(gl.make_environ(), lambda *a: None)
    with pytest.raises(TypeError):
        len(result)  # ClosingBody has no len: neither has its recording
    assert list(result) == [b"a", b"b"]
    result.close()
    assert body.closed == 1
    assert kinds(flow)[-1] == "close"


def test_wsgi_write_calls_reach_the_real_write_and_are_recorded():
    recorded, flow = record_wsgi(write_app)
    assert call_wsgi(recorded).text == "written returned"
    assert kinds(flow) == ["environ", "start_response", "write", "return", "body"]
    assert flow.of_kind("write")[0].payload == {"body": b"written ", "size": 8, "truncated": False}


def test_wsgi_exception_is_recorded_and_reraised_unchanged():
    problem = ValueError("boom")

    def broken(environ, start_response):
        raise problem

    recorded, flow = record_wsgi(broken)
    with pytest.raises(ValueError) as caught:
        call_wsgi(recorded)
    assert caught.value is problem
    event = flow.of_kind("exception")[0]
    assert event.payload["type"] == "ValueError"
    assert event.payload["message"] == "boom"
    assert "raise problem" in event.payload["traceback"]


def test_wsgi_exception_while_iterating_is_recorded_and_reraised():
    def breaks_midway(environ, start_response):
        start_response("200 OK", [])
        yield b"first"
        raise KeyError("second")

    recorded, flow = record_wsgi(breaks_midway)
    with pytest.raises(KeyError):
        call_wsgi(recorded)
    assert kinds(flow)[-3:] == ["body", "exception", "close"]


def test_wsgi_exc_info_is_recorded_as_text():
    import sys

    def handler(environ, start_response):
        try:
            raise RuntimeError("database down")
        except RuntimeError:
            start_response("500 Internal Server Error", [], sys.exc_info())
            return [b"sorry"]

    recorded, flow = record_wsgi(handler)
    assert call_wsgi(recorded).status == 500
    assert flow.of_kind("start_response")[0].payload["exc_info"] == "RuntimeError: database down"


@pytest.mark.parametrize(
    "app",
    [list_app, generator_app, write_app, echo_body_app],
    ids=lambda a: a.__name__,
)
def test_wsgi_responses_are_identical_with_and_without_recording(app):
    plain = call_wsgi(app, "POST", "/caf%C3%A9", {"X-A": "1"}, b"payload")
    recorded, flow = record_wsgi(app)
    traced = call_wsgi(recorded, "POST", "/caf%C3%A9", {"X-A": "1"}, b"payload")
    assert (traced.status, traced.headers, traced.body) == (plain.status, plain.headers, plain.body)
    assert len(flow) >= 3


@pytest.mark.parametrize("app", [list_app, generator_app, write_app], ids=lambda a: a.__name__)
def test_wsgi_recorder_passes_wsgiref_validator_on_both_sides(app):
    outer_checked, _ = record_wsgi(validator(app))
    inner_checked = validator(record_wsgi(app)[0])
    for checked in (outer_checked, inner_checked):
        assert call_wsgi(checked).status == 200


def test_wsgi_recorder_passes_the_same_environ_object():
    seen = []

    def app(environ, start_response):
        seen.append(environ)
        return list_app(environ, start_response)

    environ = gl.make_environ()
    record_wsgi(app)[0](environ, lambda *a: None)
    assert seen[0] is environ


def test_wsgi_wrong_body_types_are_recorded_and_still_reach_the_server():
    def str_chunks(environ, start_response):
        start_response("200 OK", [])
        return ["text, not bytes"]

    recorded, flow = record_wsgi(str_chunks)
    with pytest.raises(WSGIBodyTypeError):
        call_wsgi(recorded)
    body = flow.of_kind("body")[0].payload
    assert body["wrong_type"] == "str"
    assert body["value"] == "text, not bytes"


def test_wsgi_big_bodies_are_kept_up_to_the_cap_with_their_size():
    big = b"x" * (BODY_CAP * 3)
    recorded, flow = record_wsgi(lambda e, s: (s("200 OK", []), [big])[1])
    assert call_wsgi(recorded).body == big
    payload = flow.of_kind("body")[0].payload
    assert payload["size"] == len(big)
    assert payload["truncated"] is True
    assert len(payload["body"]) == BODY_CAP


def test_wsgi_stacked_recorders_give_one_lane_per_layer():
    def auth(app):
        def middleware(environ, start_response):
            environ["REMOTE_USER"] = "ada"
            return app(environ, start_response)

        return middleware

    inner, inner_flow = record_wsgi(list_app, lane="app")
    outer, flow = record_wsgi(auth(inner), lane="auth")
    assert call_wsgi(outer).status == 200
    assert flow.lanes == ["server", "auth", "app"]
    pairs = [(e.source, e.target, e.kind) for e in flow]
    assert ("server", "auth", "environ") in pairs
    assert ("auth", "app", "environ") in pairs
    assert ("app", "auth", "start_response") in pairs
    assert ("auth", "server", "start_response") in pairs
    assert {e.connection for e in flow} == {1}
    assert inner_flow.lanes == ["auth", "app"]  # the inner flow keeps its own copy
    # with one shared flow, nothing is recorded twice
    shared = Flow("shared")
    inner2, _ = record_wsgi(list_app, shared)
    outer2, _ = record_wsgi(auth(inner2), shared, lane="auth")
    call_wsgi(outer2)
    assert len(shared.of_kind("environ")) == 2
    assert shared.lanes == ["server", "auth", "app"]


def test_wsgi_concurrent_calls_get_their_own_connection_numbers():
    recorded, flow = record_wsgi(generator_app)
    barrier = threading.Barrier(8)

    def call():
        barrier.wait()
        call_wsgi(recorded)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert flow.connections() == list(range(1, 9))
    for connection in flow.connections():
        assert kinds(flow, connection) == [
            "environ",
            "return",
            "start_response",
            "body",
            "body",
            "close",
        ]


def test_recorders_refuse_what_is_not_an_app():
    with pytest.raises(NotAnAppError, match="without parentheses"):
        record_wsgi([b"called already"])
    with pytest.raises(NotAnAppError, match="asgi.readthedocs.io"):
        record_asgi(None)


# ----------------------------------------------------------------------- ASGI, in-process


def test_asgi_records_scope_receive_send_and_return():
    recorded, flow = record_asgi(hello_asgi)
    response = asyncio.run(acall_asgi(recorded, "POST", "/caf%C3%A9?q=1", body=b"data"))
    assert response.text == "got data"
    assert kinds(flow) == ["scope", "receive", "send", "send", "return"]
    scope = flow.events[0].payload
    assert scope["scope"]["path"] == "/café"
    assert scope["scope"]["raw_path"] == b"/caf%C3%A9"
    assert scope["summary"] == "http POST /café?q=1"
    receive = flow.events[1]
    assert (receive.source, receive.target) == ("server", "app")
    assert receive.payload["type"] == "http.request"
    assert receive.payload["body"] == b"data"
    start = flow.events[2]
    assert (start.source, start.target) == ("app", "server")
    assert start.payload["status"] == 200
    assert start.payload["summary"] == "http.response.start 200"
    assert flow.events[3].payload["size"] == 8


def test_asgi_messages_and_scope_pass_through_as_the_same_objects():
    seen_scope, received, sent = [], [], []
    message_in = {"type": "http.request", "body": b"", "more_body": False}
    message_out = {"type": "http.response.start", "status": 204, "headers": []}

    async def app(scope, receive, send):
        seen_scope.append(scope)
        received.append(await receive())
        await send(message_out)

    async def receive():
        return message_in

    async def send(message):
        sent.append(message)

    scope = gl.make_http_scope()
    recorded, _ = record_asgi(app)
    asyncio.run(recorded(scope, receive, send))
    assert seen_scope[0] is scope
    assert received[0] is message_in
    assert sent[0] is message_out


def test_asgi_exception_is_recorded_and_reraised_unchanged():
    problem = LookupError("no such user")

    async def broken(scope, receive, send):
        raise problem

    recorded, flow = record_asgi(broken)
    with pytest.raises(LookupError) as caught:
        asyncio.run(acall_asgi(recorded))
    assert caught.value is problem
    assert kinds(flow) == ["scope", "exception"]
    assert flow.events[-1].payload["summary"] == "LookupError: no such user"


def test_asgi_websocket_session_is_recorded_message_by_message():
    async def echo(scope, receive, send):
        assert scope["type"] == "websocket"
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": message["text"].upper()})

    incoming = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "hi"},
        {"type": "websocket.receive", "text": "x" * (BODY_CAP + 10)},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    outgoing = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        outgoing.append(message)

    scope = {"type": "websocket", "path": "/ws", "query_string": b"", "headers": []}
    recorded, flow = record_asgi(echo)
    asyncio.run(recorded(scope, receive, send))
    assert outgoing[1] == {"type": "websocket.send", "text": "HI"}
    assert [e.payload.get("type") for e in flow if e.kind in ("receive", "send")] == [
        "websocket.connect",
        "websocket.accept",
        "websocket.receive",
        "websocket.send",
        "websocket.receive",
        "websocket.send",
        "websocket.disconnect",
    ]
    long_text = flow.of_kind("receive")[2].payload
    assert long_text["truncated"] is True and long_text["size"] == BODY_CAP + 10
    assert flow.events[0].payload["summary"] == "websocket /ws"


def test_asgi_stacked_recorders_give_one_lane_per_layer():
    def timing(app):
        async def middleware(scope, receive, send):
            await app(scope, receive, send)

        return middleware

    inner, _ = record_asgi(hello_asgi, lane="app")
    outer, flow = record_asgi(timing(inner), lane="timing")
    assert asyncio.run(acall_asgi(outer)).status == 200
    assert flow.lanes == ["server", "timing", "app"]
    assert ("timing", "app", "scope") in [(e.source, e.target, e.kind) for e in flow]


def test_asgi_wrong_messages_are_recorded_and_still_reach_the_server():
    async def sends_a_string(scope, receive, send):
        await send("http.response.start")

    recorded, flow = record_asgi(sends_a_string)
    with pytest.raises(gl.ProtocolError):
        asyncio.run(acall_asgi(recorded))
    assert flow.of_kind("send")[0].payload["wrong_type"] == "str"


# ----------------------------------------------------------------------- under every engine


@pytest.mark.parametrize("engine", WSGI_ENGINES)
def test_wsgi_recorder_under_each_engine(engine):
    recorded, flow = record_wsgi(generator_app)
    with gl.serve_wsgi(recorded, engine=engine) as srv, httpx.Client() as client:
        plain_srv = gl.serve_wsgi(generator_app, name="plain", engine=engine)
        traced = client.get(srv.url + "caf%C3%A9?x=1")
        plain = client.get(plain_srv.url + "caf%C3%A9?x=1")
        plain_srv.stop()
        assert traced.status_code == plain.status_code == 200
        assert traced.content == plain.content == b"one two"
        wait_for(lambda: "close" in kinds(flow))
    environ = flow.events[0].payload["environ"]
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9"  # latin-1 decoded UTF-8 bytes
    assert environ["QUERY_STRING"] == "x=1"
    assert kinds(flow) == ["environ", "return", "start_response", "body", "body", "close"]


@pytest.mark.parametrize("engine", WSGI_ENGINES)
def test_wsgi_recorder_under_each_engine_with_a_list_body_and_post(engine):
    recorded, flow = record_wsgi(echo_body_app)
    with gl.serve_wsgi(recorded, engine=engine) as srv, httpx.Client() as client:
        plain_srv = gl.serve_wsgi(echo_body_app, name="plain", engine=engine)
        response = client.post(srv.url, content=b"abc" * 100)
        plain = client.post(plain_srv.url, content=b"abc" * 100)
        plain_srv.stop()
        assert response.content == plain.content == b"abc" * 100
        # wsgiref sets Content-Length from a one-item list: the list must stay a list
        for name in ("content-length", "transfer-encoding"):
            assert response.headers.get(name) == plain.headers.get(name)
    assert kinds(flow) == ["environ", "start_response", "return", "body"]


@pytest.mark.parametrize("engine", ASGI_ENGINES)
def test_asgi_recorder_under_each_engine(engine):
    recorded, flow = record_asgi(hello_asgi)
    with gl.serve_asgi(recorded, engine=engine) as srv, httpx.Client() as client:
        response = client.post(srv.url + "caf%C3%A9", content=b"body")
        assert response.text == "got body"
        wait_for(lambda: "return" in kinds(flow))
    http = [e for e in flow if e.connection == flow.events[0].connection]
    scope_event = next(e for e in flow if e.kind == "scope" and e.payload["type"] == "http")
    assert scope_event.payload["scope"]["path"] == "/café"
    assert scope_event.payload["scope"]["raw_path"] == b"/caf%C3%A9"
    sends = [e.payload["type"] for e in flow if e.kind == "send"]
    assert sends[-2:] == ["http.response.start", "http.response.body"]
    assert http  # every event belongs to a numbered connection


def test_generator_middleware_keeps_inner_lanes():
    """A middleware that yields from the inner body still shows the inner layer."""

    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"inner"

        return body()

    recorded_inner, _ = gl.record_wsgi(inner, lane="app")

    def generator_middleware(environ, start_response):
        yield from recorded_inner(environ, start_response)

    outer, flow = gl.record_wsgi(generator_middleware, lane="mw")
    assert gl.call_wsgi(outer).body == b"inner"
    lanes_of_body = {(e.source, e.target) for e in flow.of_kind("body")}
    assert ("app", "mw") in lanes_of_body and ("mw", "server") in lanes_of_body


# ------------------------------------------------------------- tracebacks for learners


def from_the_recorder(traceback_text: str) -> bool:
    return re.search(r"gateway_lab[/\\]trace\.py", traceback_text) is not None


def frame_names(traceback_text: str) -> list[str]:
    """The function of each 'File ..., line N, in NAME' line, in order."""
    return [
        line.rsplit(" in ", 1)[1]
        for line in traceback_text.splitlines()
        if line.startswith('  File "')
    ]


def test_a_recorded_traceback_leaves_out_the_recorders_own_frames():
    def broken(environ, start_response):
        raise ValueError("boom")

    recorded, flow = record_wsgi(broken)
    with pytest.raises(ValueError):
        call_wsgi(recorded)
    text = flow.of_kind("exception")[0].payload["traceback"]
    assert frame_names(text) == ["broken"]
    assert not from_the_recorder(text)
    assert text.startswith("Traceback (most recent call last):")
    assert "ValueError: boom" in text
    assert "1 frame of gateway_lab's recorder left out" in text


def test_a_stacked_recording_keeps_the_learners_middleware_and_app_frames():
    def auth(app):
        def middleware(environ, start_response):
            return app(environ, start_response)

        return middleware

    def broken(environ, start_response):
        raise KeyError("user")

    inner, _ = record_wsgi(broken, lane="app")
    outer, flow = record_wsgi(auth(inner), lane="auth")
    with pytest.raises(KeyError):
        call_wsgi(outer)
    texts = {e.payload["traceback"] for e in flow.of_kind("exception")}
    assert texts  # one per layer the exception passed through
    for text in texts:
        assert not from_the_recorder(text)
        assert frame_names(text)[-1] == "broken"
    assert ["middleware", "broken"] in [frame_names(text) for text in texts]


def test_a_servers_complaint_keeps_the_servers_frames_but_not_the_recorders():
    def wrong_status(environ, start_response):
        start_response(200, [])
        return [b""]

    recorded, flow = record_wsgi(wrong_status)
    with pytest.raises(Exception, match="status"):
        call_wsgi(recorded)
    text = flow.of_kind("exception")[0].payload["traceback"]
    names = frame_names(text)
    assert names[0] == "wrong_status"
    assert "recording_start_response" not in names and "__call__" not in names
    assert "start_response" in names  # the server side that said no is still shown
    assert "start_response(200, [])" in text


def test_an_asgi_traceback_keeps_the_app_and_the_servers_send():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200})

    async def receive():
        return {"type": "http.request"}

    async def refusing_send(message):
        raise OSError("the client went away")

    recorded, flow = record_asgi(app)
    with pytest.raises(OSError):
        asyncio.run(recorded({"type": "http", "path": "/"}, receive, refusing_send))
    text = flow.of_kind("exception")[0].payload["traceback"]
    assert frame_names(text) == ["app", "refusing_send"]
    assert "recording_send" not in text and not from_the_recorder(text)


# ----------------------------------------------------------------------- faithful notes


def _server_call(app, environ=None):
    """Play a minimal server: what start_response got, and the body."""
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, list(headers)
        return lambda data: None

    result = app(environ or gl.make_environ(), start_response)
    body = b"".join(result) if isinstance(result, (list, tuple)) else result
    return got, body


def test_wsgi_headers_the_server_gets_are_not_used_up_by_the_recorder():
    def app(environ, start_response):
        start_response("200 OK", (pair for pair in [("Content-Type", "text/plain")]))
        return [b"hi"]

    recorded, flow = record_wsgi(app)
    got, _ = _server_call(recorded)
    assert got["headers"] == [("Content-Type", "text/plain")]
    kept = flow.of_kind("start_response")[0].payload["headers"]
    assert type(kept).__name__ == "generator" and "generator object" in repr(kept)


def test_wsgi_notes_keep_the_types_the_app_used():
    def app(environ, start_response):
        start_response(200, [["Content-Type", "text/plain"], ("Content-Length", 2)])
        return [b"hi"]

    recorded, flow = record_wsgi(app)
    _server_call(recorded)
    start = flow.of_kind("start_response")[0].payload
    assert start["status"] == 200
    assert type(start["headers"][0]) is list and start["headers"][1] == ("Content-Length", 2)


def test_wsgi_a_wrong_start_response_call_gets_the_servers_own_error():
    def app(environ, start_response):
        start_response("200 OK")
        return [b"hi"]

    def server_start_response(status, headers, exc_info=None):
        raise AssertionError("the server's own words")

    recorded, flow = record_wsgi(app)
    with pytest.raises(TypeError, match="server_start_response"):
        recorded(gl.make_environ(), server_start_response)
    start = flow.of_kind("start_response")[0].payload
    assert start["positional"] == 1 and start["keywords"] == []
    assert flow.of_kind("exception")[0].payload["from_server"] == "start_response"


def test_wsgi_the_pep3333_reraise_of_exc_info_stays_the_apps_exception():
    import sys

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        try:
            raise RuntimeError("late failure")
        except RuntimeError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        yield b"never"

    recorded, flow = record_wsgi(app)
    with pytest.raises(RuntimeError, match="late failure"):
        call_wsgi(recorded)
    exception = flow.of_kind("exception")[0].payload
    assert exception["type"] == "RuntimeError" and "from_server" not in exception
    assert flow.of_kind("start_response")[1].payload["exc_info_valid"] is True


def test_wsgi_a_body_that_cannot_be_iterated_reaches_the_server_as_it_is():
    def app(environ, start_response):
        start_response("200 OK", [])
        return 42

    recorded, flow = record_wsgi(app)
    _, body = _server_call(recorded)
    assert body == 42
    returned = flow.of_kind("return")[0].payload
    assert returned["iterable"] is False and returned["value"] == 42
    assert kinds(flow) == ["environ", "start_response", "return"]


def test_wsgi_close_raising_and_a_body_cut_short_are_on_record():
    class Body:
        def __iter__(self):
            yield b"one"
            yield b"two"

        def close(self):
            raise RuntimeError("close failed")

    def app(environ, start_response):
        start_response("200 OK", [])
        return Body()

    recorded, flow = record_wsgi(app)
    result = recorded(gl.make_environ(), lambda s, h, e=None: None)
    assert next(iter(result)) == b"one"  # the server stops after one chunk
    with pytest.raises(RuntimeError):
        result.close()
    close = flow.of_kind("close")[0].payload
    assert close["cut"] is True
    exception = flow.of_kind("exception")[0].payload
    assert exception["during"] == "close" and exception["type"] == "RuntimeError"
    assert exception["frames"] and exception["frames"][-1][2] == "close"


def test_asgi_an_asgi2_class_app_is_recorded_and_still_works():
    class App:
        def __init__(self, scope):
            self.scope = scope

        async def __call__(self, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"two-step"})

    recorded, flow = record_asgi(App)
    assert asyncio.run(acall_asgi(recorded)).body == b"two-step"
    assert kinds(flow) == ["scope", "send", "send", "return"]


def test_asgi_a_call_that_is_not_awaitable_is_noted_then_fails_as_before():
    def plain(scope, receive, send):
        return None

    recorded, flow = record_asgi(plain)
    with pytest.raises(TypeError, match="can't be used in 'await' expression"):
        asyncio.run(recorded(gl.make_http_scope(), None, None))
    returned = flow.of_kind("return")[0].payload
    assert returned["awaitable"] is False and returned["value"] is None
    assert kinds(flow) == ["scope", "return"]


def test_asgi_a_message_the_server_refuses_is_noted_first_and_marked():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": "200 OK", "headers": []})

    async def refusing_send(message):
        raise RuntimeError("the server refuses")

    recorded, flow = record_asgi(app)
    with pytest.raises(RuntimeError, match="refuses"):
        asyncio.run(recorded(gl.make_http_scope(), None, refusing_send))
    assert flow.of_kind("send")[0].payload["status"] == "200 OK"
    assert flow.of_kind("exception")[0].payload["from_server"] == "send"
