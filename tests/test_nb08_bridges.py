"""Notebook 08 (bridges and servers): its exercise, and the library facts its prose states.

The notebook's own quiet-check cells assert what it measures live (threads,
time to first byte, requests per second, gunicorn's timeout and restarts);
nbval runs them. Here: the ``asgi-to-wsgi-bridge`` exercise (the reference
solution passes, typical wrong answers get the right feedback, unfinished
answers never raise), and the facts about a2wsgi, uvicorn and gunicorn that
the prose states without measuring.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import runpy
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.course import bridges as course_08

SOLUTION = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
SOLUTION = SOLUTION / "asgi_to_wsgi_bridge.py"
EXERCISE = "asgi-to-wsgi-bridge"


@pytest.fixture(scope="module")
def solution() -> dict[str, Any]:
    return runpy.run_path(str(SOLUTION))


def _check(bridge: Any) -> Any:
    return gl.exercise(EXERCISE).evaluate(bridge)


def _failed(result: Any) -> list[str]:
    return [text for mark, text in result.lines if mark == "✗"]


# -- the reference solution ----------------------------------------------------------------
def test_reference_solution_passes(solution: dict[str, Any], capsys: Any) -> None:
    result = gl.exercise(EXERCISE)(solution["asgi_to_wsgi"])
    assert result.passed, str(result)
    assert not [mark for mark, _ in result.lines if mark != "✓"], str(result)
    assert "passed, well done" in capsys.readouterr().out


def test_the_exercise_is_registered_under_its_name() -> None:
    assert gl.exercise(EXERCISE) is course_08.ASGI_TO_WSGI_BRIDGE


@pytest.mark.parametrize("target", course_08.TARGET_APPS, ids=lambda t: t.label)
def test_every_target_app_is_a_valid_asgi_app(target: course_08.BridgeTarget) -> None:
    report = gl.check_asgi(target.app)
    assert report.ok and not report.warnings, str(report)


def test_the_bridged_solution_serves_on_a_real_wsgi_server(solution: dict[str, Any]) -> None:
    """asyncio.run inside the bridge works in a server's request thread (the notebook says so)."""
    bridged = solution["asgi_to_wsgi"](course_08.echo_app)
    with gl.serve_wsgi(bridged, name="nb08-test-bridge") as server:
        reply = httpx.post(server.url, content=b"across the bridge")
    assert reply.status_code == 200
    assert reply.content == b"across the bridge"


# -- typical wrong answers ----------------------------------------------------------------
def _bridge(solution: dict[str, Any], mistake: str) -> Callable[[Any], Any]:
    """A bridge like the reference one, with one typical mistake."""
    scope_from = solution["scope_from"]

    def asgi_to_wsgi(asgi_app: Any) -> Any:
        def wsgi_app(environ: Any, start_response: Any) -> Any:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            if mistake == "ignores the request body":
                body = b""
            incoming = [{"type": "http.request", "body": body, "more_body": False}]

            async def receive() -> dict[str, Any]:
                return incoming.pop(0) if incoming else {"type": "http.disconnect"}

            sent: list[dict[str, Any]] = []

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            asyncio.run(asgi_app(scope_from(environ), receive, send))
            start, bodies = sent[0], [m.get("body", b"") for m in sent[1:]]
            status = f"{start['status']} {HTTPStatus(start['status']).phrase}"
            headers: list[Any] = [(n.decode(), v.decode()) for n, v in start["headers"]]
            if mistake == "always 200 OK":
                status = "200 OK"
            if mistake == "bytes headers":
                headers = list(start["headers"])
            if mistake == "only the first body message":
                bodies = bodies[:1]
            start_response(status, headers)
            return bodies

        return wsgi_app

    return asgi_to_wsgi


@pytest.mark.parametrize(
    ("mistake", "target", "words"),
    [
        ("ignores the request body", "[echo]", "body should be b'first part"),
        ("always 200 OK", "[not found]", "status should be 404, got 200"),
        ("only the first body message", "[streamed]", "body should be b'one, two, three'"),
        ("bytes headers", "[hello]", "wsgi.header-not-str"),
    ],
)
def test_wrong_bridges_get_the_right_feedback(
    solution: dict[str, Any], mistake: str, target: str, words: str
) -> None:
    result = _check(_bridge(solution, mistake))
    assert not result.passed and not result.unfinished
    failed = _failed(result)
    assert any(line.startswith(target) and words in line for line in failed), failed


def test_bytes_headers_get_the_bridge_specific_advice(solution: dict[str, Any]) -> None:
    failed = _failed(_check(_bridge(solution, "bytes headers")))
    about_headers = [line for line in failed if "wsgi.header-not-str" in line]
    assert about_headers and all(".decode('latin-1')" in line for line in about_headers)
    assert not any("str(len(body))" in line for line in about_headers), about_headers


def test_a_wrong_bridge_fails_only_where_it_is_wrong(solution: dict[str, Any]) -> None:
    failed = _failed(_check(_bridge(solution, "always 200 OK")))
    assert failed and all(line.startswith("[not found]") for line in failed), failed


def _returns_the_asgi_app(asgi_app: Any) -> Any:
    return asgi_app


def _returns_none(asgi_app: Any) -> None:
    return None


def _returns_a_called_app(asgi_app: Any) -> Any:
    def wsgi_app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        return [b""]

    return wsgi_app({}, lambda *args: None)  # a list, not the app


def _raises_while_building(asgi_app: Any) -> Any:
    raise KeyError("type")


@pytest.mark.parametrize(
    ("bridge", "words"),
    [
        (_returns_the_asgi_app, "returned an async function"),
        (_returns_none, "returned None"),
        (_returns_a_called_app, "returned a list"),
        (_raises_while_building, "raised KeyError"),
    ],
)
def test_a_bridge_of_the_wrong_shape_is_told_once(bridge: Any, words: str) -> None:
    result = _check(bridge)
    assert not result.passed and not result.unfinished
    assert len(result.lines) == 1 and words in result.lines[0][1], result.lines


# -- unfinished answers never raise ---------------------------------------------------------
def _todo_inside(asgi_app: Any) -> Any:
    def wsgi_app(environ: Any, start_response: Any) -> Any:
        raise NotImplementedError("write the bridge here")

    return wsgi_app


def _todo_outside(asgi_app: Any) -> Any:
    raise NotImplementedError


async def _async_bridge(asgi_app: Any) -> Any:
    return asgi_app


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "still None"),
        (..., "still `...`"),
        ("asgi_to_wsgi", "function itself"),
        (_todo_inside, "NotImplementedError"),
        (_todo_outside, "NotImplementedError"),
        (_async_bridge, "yours is `async def`"),
    ],
)
def test_unfinished_answers_get_a_next_step(answer: Any, words: str, capsys: Any) -> None:
    result = gl.exercise(EXERCISE)(answer)
    assert not result.passed
    assert words in result.unfinished
    assert "not finished yet" in capsys.readouterr().out


# -- what the prose states about the libraries -------------------------------------------------
def test_a2wsgi_defaults_the_notebook_quotes() -> None:
    """The notebook says: the default pool is 10 threads, the queue 10 messages."""
    from a2wsgi import WSGIMiddleware

    bridge = WSGIMiddleware(course_08.hello_app)
    try:
        assert bridge.executor._max_workers == 10
        assert bridge.send_queue_size == 10
    finally:
        bridge.executor.shutdown(wait=False)


def test_uvicorn_bridges_wsgi_with_a2wsgi() -> None:
    """The notebook says: uvicorn --interface wsgi wraps the app in a2wsgi's bridge."""
    import a2wsgi
    from uvicorn.middleware import wsgi

    assert wsgi.WSGIMiddleware is a2wsgi.WSGIMiddleware


def test_a2wsgi_reads_the_request_body_only_when_the_wsgi_app_does() -> None:
    from a2wsgi import WSGIMiddleware

    def reads(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        return iter([environ["wsgi.input"].read()])

    def ignores(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"no thanks"]

    async def run(app: Any) -> list[str]:
        received: list[str] = []

        async def receive() -> dict[str, Any]:
            received.append("http.request")
            return {"type": "http.request", "body": b"data", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        bridge = WSGIMiddleware(app)
        try:
            await bridge(gl.make_http_scope("POST", "/"), receive, send)
        finally:
            bridge.executor.shutdown(wait=False)
        return received

    assert asyncio.run(run(reads)) == ["http.request"]
    assert asyncio.run(run(ignores)) == []


def test_asgi_middleware_runs_its_loop_in_a_daemon_thread() -> None:
    from a2wsgi import ASGIMiddleware

    before = {t.ident for t in threading.enumerate()}
    bridge = ASGIMiddleware(course_08.hello_app)
    try:
        new = [t for t in threading.enumerate() if t.ident not in before]
        assert len(new) == 1 and new[0].daemon
        reply = gl.call_wsgi(bridge, "GET", "/there")
        assert reply.status == 200 and reply.text == "Hello from ASGI at /there!"
    finally:
        bridge.loop.call_soon_threadsafe(bridge.loop.stop)
        new[0].join(2)
        bridge.loop.close()


def test_gunicorn_has_what_the_notebook_uses() -> None:
    """An ``asgi`` worker class and ``--no-control-socket`` (the notebook passes it)."""
    pytest.importorskip("gunicorn")
    from gunicorn.config import Config
    from gunicorn.workers import SUPPORTED_WORKERS

    assert "asgi" in SUPPORTED_WORKERS
    config = Config()
    config.set("control_socket_disable", True)
    assert config.control_socket_disable is True
    assert HTTPStatus(404).phrase == "Not Found"  # what the exercise text tells learners


# -- issue 12: the bridge's verdicts, and a corpus of bridges ---------------------------------
def _learner_bridge(
    receive_after: str = "disconnect",
    decode: bool = True,
    whole: bool = True,
    sized: bool = True,
    first: str = "the body",
    reason: str = "phrase",
    run: bool = True,
) -> Any:
    """A bridge like the reference, with one thing done the way a learner might.

    ``first``: what receive() gives before http.disconnect: "the body" (one
    message), "in two" (the body with more_body True, then b'' with False),
    "more_body True" (the body marked more_body True, then nothing more) or
    "only a body" (nothing at all when the body is empty). ``reason``: the
    status line's words: "phrase" (HTTPStatus), "PHRASE" (in capitals) or
    "OK" (for every code). ``run=False`` makes the coroutine and drops it.
    """
    import asyncio as _asyncio

    def asgi_to_wsgi(asgi_app: Any) -> Any:
        def wsgi_app(environ: Any, start_response: Any) -> Any:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if sized:
                body = environ["wsgi.input"].read(length) if length else b""
            else:  # no size: on werkzeug and wsgiref, the request hangs
                body = environ["wsgi.input"].read()
            incoming = [{"type": "http.request", "body": body, "more_body": False}]
            if first == "in two":
                incoming = [
                    {"type": "http.request", "body": body, "more_body": True},
                    {"type": "http.request", "body": b"", "more_body": False},
                ]
            elif first == "more_body True":
                incoming[0]["more_body"] = True
            elif first == "only a body" and not body:
                incoming = []

            async def receive() -> Any:
                if incoming:
                    return incoming.pop(0) if receive_after != "again" else incoming[0]
                if receive_after == "raise":
                    raise IndexError("pop from empty list")
                if receive_after == "hang":
                    await _asyncio.Event().wait()
                return {"type": "http.disconnect"}

            sent: list[Any] = []

            async def send(message: Any) -> None:
                sent.append(message)

            scope = {
                "type": "http",
                "method": environ["REQUEST_METHOD"],
                "path": environ.get("PATH_INFO", "/"),
                "query_string": environ.get("QUERY_STRING", "").encode(),
                "headers": [],
                "http_version": "1.1",
                "scheme": "http",
                "root_path": "",
            }
            if run:
                _asyncio.run(asgi_app(scope, receive, send))
            else:  # the coroutine is made and dropped: the app never runs
                asgi_app(scope, receive, send)
            start = sent[0]  # an IndexError when the app never ran
            from http import HTTPStatus

            status = HTTPStatus(start["status"])
            pairs = start.get("headers", [])
            headers = [(n.decode(), v.decode()) for n, v in pairs] if decode else pairs
            words = {"phrase": status.phrase, "PHRASE": status.phrase.upper(), "OK": "OK"}
            start_response(f"{status.value} {words[reason]}", headers)
            bodies = [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]
            return bodies if whole else bodies[:1]

        return wsgi_app

    return asgi_to_wsgi


class ClassBridge:
    """A valid variant: the bridge is a class whose instances are WSGI apps."""

    def __init__(self, asgi_app: Any) -> None:
        self.inner = _learner_bridge()(asgi_app)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.inner(environ, start_response)


BRIDGES = [
    # (bridge, passes, words the feedback must hold, words it must not)
    (_learner_bridge(), True, "receive() gave {'type': 'http.disconnect'}", ""),
    (ClassBridge, True, "[streamed]", ""),
    (
        _learner_bridge(receive_after="again"),
        False,
        "got 'http.request'",
        "asgi.readthedocs.io/en/latest/specs/main",
    ),
    (_learner_bridge(receive_after="raise"), False, "receive() raised IndexError", ""),
    (_learner_bridge(receive_after="hang"), False, "had not returned after 0.5 s", ""),
    (_learner_bridge(decode=False), False, ".decode('latin-1')", ""),
    (_learner_bridge(whole=False), False, "[streamed]", ""),
    (_learner_bridge(sized=False), False, 'int(environ.get("CONTENT_LENGTH") or 0)', ""),
    (lambda app: None, False, "returned None", ""),
    (lambda app: app, False, "pep-3333", "asgi.readthedocs"),
    # more_body True says more body is coming: a real app waits for it, and a disconnect
    # instead means the client left (Starlette: ClientDisconnect, a 500)
    (_learner_bridge(first="more_body True"), False, "[echo] the request body never ended", ""),
    (
        _learner_bridge(first="more_body True"),
        False,
        "'more_body': True}, then {'type': 'http.disconnect'}",
        "",
    ),
    # an empty body is still an http.request: http.disconnect at once is a client gone
    (
        _learner_bridge(first="only a body"),
        False,
        "[disconnect] the request body never ended on GET /: reading it, the app got "
        "{'type': 'http.disconnect'} from receive()",
        "",
    ),
    (_learner_bridge(first="only a body"), False, "with b'' as the body when there is none", ""),
    (_learner_bridge(first="in two"), True, "[echo]", "never ended"),  # valid: two messages
    # the reason phrase: the standard one (step 5), in any case
    (_learner_bridge(reason="OK"), False, "[not found] '404 OK'", "[hello] '200 OK'"),
    (_learner_bridge(reason="OK"), False, "HTTPStatus(code).phrase", ""),
    (_learner_bridge(reason="PHRASE"), True, "[not found]", "reason phrase"),
    # a coroutine made and never run: said once, and not as "fix the IndexError"
    (_learner_bridge(run=False), False, "called the ASGI app but never ran it", "IndexError"),
    (_learner_bridge(run=False), False, "asyncio.run(asgi_app(scope_from(environ)", "int('')"),
]


@pytest.mark.parametrize(("bridge", "passes", "words", "never"), BRIDGES)
def test_bridge_corpus_gets_its_verdict_and_words(bridge, passes, words, never):
    result = gl.exercise("asgi-to-wsgi-bridge").evaluate(bridge)
    text = str(result)
    assert result.passed is passes, text
    assert words in text, text
    if never:
        assert never not in text, text
    if passes:
        assert len(text.splitlines()) <= 12, text


def test_the_int_of_empty_advice_only_follows_int_of_empty(solution: dict[str, Any]) -> None:
    """A GET that fails for another reason (an int status) gets no word about int('')."""
    scope_from = solution["scope_from"]

    def asgi_to_wsgi(asgi_app: Any) -> Any:
        def wsgi_app(environ: Any, start_response: Any) -> Any:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            asyncio.run(asgi_app(scope_from(environ), receive, send))
            start_response(sent[0]["status"], [])  # the ASGI int, as it came
            return [m.get("body", b"") for m in sent[1:]]

        return wsgi_app

    text = str(_check(asgi_to_wsgi))
    assert "wsgi.status-not-str" in text and "HTTPStatus(code).phrase" in text, text
    assert "int('')" not in text and "CONTENT_LENGTH may be empty" not in text, text


def test_what_the_feedback_says_real_servers_and_apps_do(solution: dict[str, Any]) -> None:
    """A disconnect before the body's end: Starlette fails, 500; a reason is sent as given."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(await request.body())

    app = Starlette(routes=[Route("/", echo, methods=["GET", "POST"])])
    bridges = {
        "right": solution["asgi_to_wsgi"],
        "more_body True": _learner_bridge(first="more_body True"),
        "only a body": _learner_bridge(first="only a body"),
    }
    got = {}
    for name, bridge in bridges.items():
        with gl.serve_wsgi(bridge(app), name=f"nb08-starlette-{name}") as server:
            got[name] = [
                httpx.post(server.url, content=b"hi").status_code,
                httpx.get(server.url).status_code,
            ]
    assert got == {"right": [200, 200], "more_body True": [500, 500], "only a body": [200, 500]}
    with gl.serve_wsgi(_learner_bridge(reason="OK")(course_08.not_found_app)) as server:
        reply = httpx.get(server.url)
    assert (reply.status_code, reply.reason_phrase) == (404, "OK")


# -- a read past CONTENT_LENGTH fails: on werkzeug and wsgiref it hangs the request ---------
def _reading_bridge(solution: dict[str, Any], read_body: Callable[[Any], bytes]) -> Any:
    """The reference bridge, with step 1 (reading the request body) done by ``read_body``."""
    scope_from = solution["scope_from"]

    def asgi_to_wsgi(asgi_app: Any) -> Any:
        def wsgi_app(environ: Any, start_response: Any) -> Any:
            incoming = [{"type": "http.request", "body": read_body(environ), "more_body": False}]

            async def receive() -> dict[str, Any]:
                return incoming.pop(0) if incoming else {"type": "http.disconnect"}

            sent: list[dict[str, Any]] = []

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            asyncio.run(asgi_app(scope_from(environ), receive, send))
            start = next(m for m in sent if m["type"] == "http.response.start")
            status = HTTPStatus(start["status"])
            headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in start["headers"]]
            start_response(f"{status.value} {status.phrase}", headers)
            return [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]

        return wsgi_app

    return asgi_to_wsgi


def _length(environ: Any) -> int:
    return int(environ.get("CONTENT_LENGTH") or 0)


def _in_pieces(environ: Any) -> bytes:
    left, parts = _length(environ), []
    while left:
        part = environ["wsgi.input"].read(min(left, 8))
        left -= len(part)
        parts.append(part)
        if not part:
            break
    return b"".join(parts)


WRONG_READS: dict[str, Callable[[Any], bytes]] = {
    "read() with no size": lambda environ: environ["wsgi.input"].read(),
    "read() when there is a length": lambda environ: (
        environ["wsgi.input"].read() if environ.get("CONTENT_LENGTH") else b""
    ),
    "a fixed block": lambda environ: environ["wsgi.input"].read(65536),
    "line by line": lambda environ: b"".join(environ["wsgi.input"]),
}
VALID_READS: dict[str, Callable[[Any], bytes]] = {
    "read(length), read(0) for no body": lambda environ: environ["wsgi.input"].read(
        _length(environ)
    ),
    "in pieces, up to the length": _in_pieces,
    "int() only of a length that is there": lambda environ: (
        environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        if environ.get("CONTENT_LENGTH")
        else b""
    ),
    "a length that is not a number is none": lambda environ: environ["wsgi.input"].read(
        int(environ["CONTENT_LENGTH"]) if environ.get("CONTENT_LENGTH", "").isdigit() else 0
    ),
}
READ_THE_LENGTH = 'read exactly int(environ.get("CONTENT_LENGTH") or 0) bytes'


@pytest.mark.parametrize("read_body", WRONG_READS.values(), ids=list(WRONG_READS))
def test_a_read_past_content_length_fails_in_one_line_about_step_1(
    solution: dict[str, Any], read_body: Callable[[Any], bytes]
) -> None:
    result = _check(_reading_bridge(solution, read_body))
    assert not result.passed and not result.unfinished, str(result)
    (line,) = _failed(result)  # everything else about the bridge is right
    assert line.startswith("wsgi.input-past-content-length on "), line
    assert READ_THE_LENGTH in line and "hang" in line, line
    assert str(result).count("wsgi.input-past-content-length") == 1, str(result)
    assert not [text for mark, text in result.lines if mark == "!"], str(result)


def test_read_with_no_size_is_named_on_every_app(solution: dict[str, Any]) -> None:
    (line,) = _failed(_check(_reading_bridge(solution, WRONG_READS["read() with no size"])))
    about, _, _ = line.partition(": ")
    assert all(f"[{target.label}] " in about for target in course_08.TARGET_APPS), about
    assert "The bridge asked wsgi.input for everything up to end-of-file" in line, line


@pytest.mark.parametrize("read_body", VALID_READS.values(), ids=list(VALID_READS))
def test_reads_of_exactly_the_body_pass(
    solution: dict[str, Any], read_body: Callable[[Any], bytes]
) -> None:
    result = _check(_reading_bridge(solution, read_body))
    assert result.passed, str(result)
    assert "wsgi.input-past-content-length" not in str(result)


# -- CONTENT_LENGTH "" ("may be empty or absent", PEP 3333) -----------------------------------
def _default_zero(environ: Any) -> bytes:
    """The learner's step 1: right for an absent CONTENT_LENGTH, ValueError for an empty one."""
    length = int(environ.get("CONTENT_LENGTH", 0))
    return environ["wsgi.input"].read(length) if length else b""


def test_the_check_sends_a_get_whose_content_length_is_empty() -> None:
    seen: list[Any] = []

    def recorder(environ: Any, start_response: Any) -> list[bytes]:
        seen.append(environ.get("CONTENT_LENGTH"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    (echo,) = [t for t in course_08.TARGET_APPS if t.label == "echo"]
    (case,) = [c for c in echo.cases if c.says == course_08.EMPTY_LENGTH]
    gl.Exercise("empty", "wsgi", [case]).evaluate(recorder)
    assert case.request == "GET /" and seen == [""], seen


def test_int_of_an_empty_content_length_fails_with_the_or_0_advice(
    solution: dict[str, Any],
) -> None:
    result = _check(_reading_bridge(solution, _default_zero))
    assert not result.passed and not result.unfinished, str(result)
    failed = _failed(result)
    assert all(line.startswith("[echo] ") for line in failed), failed
    (row,) = [line for line in failed if course_08.EMPTY_LENGTH in line]
    assert row.startswith("[echo] GET / (CONTENT_LENGTH is ''"), row
    assert "no complete response" in row, row
    for words in (
        "CONTENT_LENGTH may be empty as well as absent (PEP 3333)",
        "int('') raises ValueError",
        'int(environ.get("CONTENT_LENGTH") or 0)',
    ):
        assert words in row, (words, row)
    (raised,) = [line for line in failed if line.startswith("[echo] app.raised on GET /:")]
    assert "ValueError: invalid literal for int()" in raised, raised
    assert str(result).count("CONTENT_LENGTH may be empty") == 1, str(result)


@pytest.mark.parametrize("engine", ["werkzeug", "wsgiref"])
def test_a_read_with_no_size_hangs_on_a_real_server(solution: dict[str, Any], engine: str) -> None:
    """What the ✗ line says: served on werkzeug or wsgiref, GET and POST both hang."""
    wrong = _reading_bridge(solution, WRONG_READS["read() with no size"])(course_08.echo_app)
    right = solution["asgi_to_wsgi"](course_08.echo_app)
    for method, body in (("GET", None), ("POST", b"across")):
        with gl.serve_wsgi(wrong, name=f"nb08-hangs-{engine}", engine=engine) as server:
            with pytest.raises(httpx.ReadTimeout):
                httpx.request(method, server.url, content=body, timeout=1.0)
        with gl.serve_wsgi(right, name=f"nb08-answers-{engine}", engine=engine) as server:
            reply = httpx.request(method, server.url, content=body, timeout=10.0)
            assert reply.status_code == 200 and reply.content == (body or b"")


# -- what the notebook's prose says about the exercise and the code it shows -------------------
NOTEBOOK = SOLUTION.parent.parent / "08-bridges-and-servers.ipynb"


def _cell(cell_id: str) -> str:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return "".join(next(cell["source"] for cell in cells if cell["id"] == cell_id))


def test_the_exercise_text_names_every_app_the_check_carries() -> None:
    text = _cell("b08-ex-md")
    (said,) = re.findall(r"The check carries (\w+) small ASGI apps", text)
    words = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
    assert words.index(said) + 1 == len(course_08.TARGET_APPS), said
    assert all(f"`[{target.label}]`" in text for target in course_08.TARGET_APPS), text


def test_the_buffering_bridge_raises_for_a_scope_type_it_does_not_serve() -> None:
    """The spec: reject a protocol you do not understand with an exception (cell 16)."""
    names: dict[str, Any] = {"asyncio": asyncio, "gl": gl}
    exec(_cell("b08-buffering-bridge"), names)
    bridge = names["buffering_bridge"](course_08.hello_app)  # any callable will do here

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError(f"sent {message!r} for a scope it does not serve")

    for scope_type in ("lifespan", "websocket"):
        with pytest.raises(RuntimeError, match=f"unsupported scope type '{scope_type}'"):
            asyncio.run(bridge({"type": scope_type}, receive, send))

    def hello(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    reply = gl.call_asgi(names["buffering_bridge"](hello))
    assert reply.status == 200 and reply.body == b"hello"


def test_the_mini_server_prose_names_the_modules_the_cells_show() -> None:
    from gateway_lab.mini import asgi as mini_asgi

    text = _cell("b08-mini-md")
    shown = {
        "HTTPConnection": mini_asgi.HTTPConnection,
        "request_scope": mini_asgi.request_scope,
        "RequestCycle": mini_asgi.RequestCycle,
    }
    for name, thing in shown.items():
        module = Path(inspect.getsourcefile(thing) or "").name
        said = re.search(rf"`([a-z_]+\.py)` holds [^;]*`{name}`", text)
        assert said and said.group(1) == module, (name, module)
    runner = Path(inspect.getsourcefile(mini_asgi.MiniASGIRunner) or "").name
    assert f"`{runner}` the runner" in text, text
    assert "runs `gateway_lab/mini/asgi.py`" not in text


def test_the_socket_keys_the_prose_names_are_what_the_servers_put_in_environ() -> None:
    """Cells 42/44: not through PEP 3333, but werkzeug and gunicorn hand over the socket."""
    seen: list[bool] = []

    def app(environ: Any, start_response: Any) -> list[bytes]:
        seen.append("werkzeug.socket" in environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    with gl.serve_wsgi(app, name="nb08-socket-key", engine="werkzeug") as server:
        httpx.get(server.url)
    assert seen == [True]
    text = _cell("b08-reverse-ws-md")
    assert '`environ["werkzeug.socket"]`' in text and '`environ["gunicorn.socket"]`' in text
    gunicorn_wsgi = pytest.importorskip("gunicorn.http.wsgi")
    assert '"gunicorn.socket": sock' in inspect.getsource(gunicorn_wsgi)


def test_step_2_says_what_receive_gives_for_a_get() -> None:
    text = _cell("b08-ex-md")
    assert 'even when there is no body (a GET gets `"body": b""`)' in text, text
