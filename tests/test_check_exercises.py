"""Exercise checkers: reference solutions pass, typical wrong answers get the right words."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

import gateway_lab as gl
from gateway_lab.check import Case, Exercise

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"


def _solution(name: str) -> Any:
    return runpy.run_path(str(SOLUTIONS / f"{name.replace('-', '_')}.py"))["app"]


@pytest.mark.parametrize("name", ["wsgi-hello-name", "asgi-echo-body"])
def test_reference_solution_passes(name: str, capsys: Any) -> None:
    result = gl.exercise(name)(_solution(name))
    assert result.passed, str(result)
    assert "passed, well done" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["wsgi-hello-name", "asgi-echo-body"])
def test_reference_solution_has_no_warning_either(name: str) -> None:
    kind = "wsgi" if name.startswith("wsgi") else "asgi"
    report = getattr(gl, f"check_{kind}")(_solution(name))
    assert report.ok and not report.warnings, str(report)


# -- unfinished answers never raise -----------------------------------------------------
def _todo_wsgi(environ: Any, start_response: Any) -> Any:
    raise NotImplementedError("write your app here")


async def _todo_asgi(scope: Any, receive: Any, send: Any) -> None:
    raise NotImplementedError


async def _async_app(scope: Any, receive: Any, send: Any) -> None:
    pass


def _wsgi_app(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [])
    return []


@pytest.mark.parametrize(
    ("name", "answer", "words"),
    [
        ("wsgi-hello-name", None, "still None"),
        ("wsgi-hello-name", ..., "still `...`"),
        ("wsgi-hello-name", _todo_wsgi, "NotImplementedError"),
        ("wsgi-hello-name", _async_app, "async def"),
        ("wsgi-hello-name", "app", "function itself"),
        ("asgi-echo-body", _todo_asgi, "NotImplementedError"),
        ("asgi-echo-body", _wsgi_app, "async def app(scope, receive, send)"),
    ],
)
def test_unfinished_answer_gets_a_sentence(name: str, answer: Any, words: str, capsys: Any) -> None:
    result = gl.exercise(name)(answer)
    assert not result.passed and result.unfinished
    out = capsys.readouterr().out
    assert "not finished yet" in out and words in out


# -- typical wrong answers ---------------------------------------------------------------
def hello_str_body(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["Hello, Ada"]


def hello_ignores_query(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World"]


def hello_raw_query(environ: Any, start_response: Any) -> Any:
    name = environ["QUERY_STRING"].partition("=")[2] or "World"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {name}!".encode()]


async def echo_first_message(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message["body"]})


async def echo_str_body(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body.decode()})


@pytest.mark.parametrize(
    ("name", "answer", "expected"),
    [
        ("wsgi-hello-name", hello_str_body, ["wsgi.body-not-bytes", ".encode('utf-8')"]),
        ("wsgi-hello-name", hello_ignores_query, ["body should contain 'Hello, Ada'"]),
        (
            "wsgi-hello-name",
            hello_raw_query,
            ["should contain 'Hello, Grace Hopper'", "Hello, Grace%20Hopper"],
        ),
        ("asgi-echo-body", echo_first_message, ["asgi.body-partly-read", "got b'first part, '"]),
        ("asgi-echo-body", echo_str_body, ["asgi.body-not-bytes"]),
    ],
)
def test_wrong_answer_gets_the_right_feedback(
    name: str, answer: Any, expected: list[str], capsys: Any
) -> None:
    result = gl.exercise(name)(answer)
    out = capsys.readouterr().out
    assert not result.passed and not result.unfinished
    assert out.startswith("✗ ")
    for words in expected:
        assert words in out, out


def test_protocol_warning_does_not_fail_the_exercise() -> None:
    def hello(environ: Any, start_response: Any) -> Any:
        from urllib.parse import parse_qs

        name = parse_qs(environ["QUERY_STRING"]).get("name", ["World"])[0]
        start_response("200", [("Content-Type", "text/plain")])  # no reason: a warning
        return [f"Hello, {name}".encode()]

    result = gl.exercise("wsgi-hello-name").check(hello, quiet=True)
    assert result.passed
    assert any(mark == "!" and "wsgi.status-no-reason" in text for mark, text in result.lines)


# -- authoring ---------------------------------------------------------------------------
def test_an_exercise_in_a_few_lines(capsys: Any) -> None:
    teapot = Exercise(
        "teapot",
        kind="wsgi",
        cases=[
            Case(
                "GET /tea",
                status=418,
                contains="short and stout",
                headers_expected={"Content-Type": "text/plain"},
            ),
        ],
    )

    def app(environ: Any, start_response: Any) -> Any:
        start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
        return [b"I'm a little teapot, short and stout"]

    assert teapot(app).passed
    assert "✓ teapot: passed" in capsys.readouterr().out
    assert repr(teapot) == "<Exercise 'teapot' (wsgi, 1 cases)>"


def test_result_renders_in_a_notebook() -> None:
    result = gl.exercise("wsgi-hello-name").check(hello_ignores_query, quiet=True)
    page = result._repr_html_()
    assert "not yet" in page and "&#x27;Hello, Ada&#x27;" in page
    assert repr(result) == "<ExerciseResult Hello, name (WSGI): not yet>"


def test_unknown_exercise_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="wsgi-hello-name"):
        gl.exercise("no-such-exercise")


def test_bad_kind_is_refused_when_authoring() -> None:
    with pytest.raises(ValueError, match="'wsgi' or 'asgi'"):
        Exercise("x", kind="cgi", cases=[])
