"""Exercise checkers: reference solutions pass, typical wrong answers get the right words."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

import gateway_lab as gl
from gateway_lab.check.report import Report
from gateway_lab.exercises import Case, Exercise
from gateway_lab.exercises.framework import _REGISTRY

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
# the name each solution defines: the one its notebook's scaffold cell uses
SOLUTION_NAMES = {"wsgi-hello-name": "hello_name", "asgi-echo-body": "app"}


def _solution(name: str) -> Any:
    path = SOLUTIONS / f"{name.replace('-', '_')}.py"
    return runpy.run_path(str(path))[SOLUTION_NAMES[name]]


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


async def _one_argument_coroutine(scope: Any) -> None:
    pass


@pytest.mark.parametrize(
    ("name", "answer", "words"),
    [
        ("wsgi-hello-name", None, "still None"),
        ("wsgi-hello-name", ..., "still `...`"),
        ("wsgi-hello-name", _todo_wsgi, "NotImplementedError"),
        ("wsgi-hello-name", _async_app, "async def"),
        ("wsgi-hello-name", "app", "function itself"),
        ("wsgi-hello-name", lambda environ: [], "cannot take two"),
        ("wsgi-hello-name", lambda environ, start_response, extra: [], "cannot take two"),
        ("asgi-echo-body", _one_argument_coroutine, "cannot take three"),
        ("asgi-echo-body", _todo_asgi, "NotImplementedError"),
        ("asgi-echo-body", _wsgi_app, "async def app(scope, receive, send)"),
    ],
)
def test_unfinished_answer_gets_a_sentence(name: str, answer: Any, words: str, capsys: Any) -> None:
    result = gl.exercise(name)(answer)
    assert not result.passed and result.unfinished
    out = capsys.readouterr().out
    assert "not finished yet" in out and words in out


def test_text_instead_of_the_function_says_drop_the_quotes() -> None:
    result = gl.exercise("wsgi-hello-name").check("hello_name", quiet=True)
    assert "you passed the text 'hello_name'" in result.unfinished, result.unfinished
    assert "without quotes: hello_name" in result.unfinished
    assert "parentheses" not in result.unfinished


@pytest.mark.parametrize(
    "answer",
    [lambda environ: [], lambda environ, start_response, extra: []],
    ids=["one argument", "three arguments"],
)
def test_wrong_number_of_arguments_is_unfinished_not_an_exception(answer: Any) -> None:
    result = gl.exercise("wsgi-hello-name").check(answer, quiet=True)
    assert not result.passed and result.unfinished and not result.lines
    assert "A WSGI app is called with two arguments" in result.unfinished  # the finding's message
    assert "def app(environ, start_response)" in result.unfinished  # what to change
    assert "gl.check_asgi" not in result.unfinished  # no advice to check it as another kind


def test_wrong_number_of_arguments_hint_uses_the_learners_function_name() -> None:
    def hello_name(environ: Any) -> Any:
        return []

    result = gl.exercise("wsgi-hello-name").check(hello_name, quiet=True)
    assert "`def hello_name(environ, start_response):`" in result.unfinished, result.unfinished


def _every_exercise() -> list[str]:
    gl.exercise("wsgi-hello-name")  # loads every course module
    # wsgi-server-respond's answer is a server function, not an app: it has its own tests
    return sorted(name for name in _REGISTRY if name != "wsgi-server-respond")


async def _coroutine_with_four_arguments(scope: Any, receive: Any, send: Any, extra: Any) -> None:
    pass


@pytest.mark.parametrize("name", _every_exercise())
def test_no_exercise_raises_on_a_wrong_signature(name: str) -> None:
    """Every course exercise, whatever class checks it, answers a wrong signature in words."""
    item = _REGISTRY[name]
    for answer in (
        lambda environ: [],
        lambda environ, start_response, extra: [],
        _one_argument_coroutine,
        _coroutine_with_four_arguments,
    ):
        result = item.evaluate(answer)
        assert not result.passed, (name, answer)
        # the exercises run by Exercise.evaluate (ASGIExercise too) say it is unfinished
        if isinstance(item, Exercise) and type(item).evaluate is Exercise.evaluate:
            assert result.unfinished, (name, answer, str(result))


def test_fewer_responses_than_cases_is_unfinished() -> None:
    class Truncated(Exercise):
        def _run(self, app: Any) -> Report:
            report = Report("truncated")
            report.responses = []
            return report

    two = Truncated("two", kind="wsgi", cases=[Case("GET /"), Case("GET /x")])
    result = two.evaluate(_wsgi_app)
    assert not result.passed and "only 0 of 2 responses" in result.unfinished


# -- every failing request is explained ----------------------------------------------------
def _failing_rows(result: Any) -> list[str]:
    return [text for mark, text in result.lines if mark == "✗" and " on " not in text]


def _finding_rows(result: Any) -> list[str]:
    return [text for mark, text in result.lines if mark in "✗!" and " on " in text]


def test_a_finding_merged_across_requests_names_them_all() -> None:
    def divides_by_zero(environ: Any, start_response: Any) -> Any:
        return [str(1 / 0).encode()]

    result = gl.exercise("wsgi-hello-name").check(divides_by_zero, quiet=True)
    (row,) = _finding_rows(result)
    assert row.startswith(
        "app.raised on GET /?name=Ada, GET /?name=Grace%20Hopper, GET /?name=Grace+Hopper, "
        "GET /?name=Zo%C3%AB, GET /?lang=en&name=Ada, GET /?name=Ada&lang=en, GET /:"
    ), row
    for text in _failing_rows(result):
        assert "no complete response" in text and "see the app.raised row" in text, text


def test_different_exceptions_on_different_requests_are_all_shown() -> None:
    def raises_the_query(environ: Any, start_response: Any) -> Any:
        raise ValueError(f"query {environ['QUERY_STRING']!r}")

    result = gl.exercise("wsgi-hello-name").check(raises_the_query, quiet=True)
    rows = _finding_rows(result)
    for query in ("'name=Ada'", "'name=Grace%20Hopper'", "'name=Zo%C3%AB'", "''"):
        assert sum(f"ValueError: query {query}" in row for row in rows) == 1, rows


def test_a_contradicted_header_row_is_not_ticked() -> None:
    sized = Exercise(
        "sized",
        kind="wsgi",
        cases=[Case("GET /", headers_expected={"Content-Length": ""})],
    )

    def wrong_length(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"four"]

    result = sized.check(wrong_length, quiet=True)
    row = next(text for _, text in result.lines if "Content-Length: 3" in text)
    assert ("✗", row) in result.lines and "wsgi.content-length-mismatch" in row


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
        ("wsgi-hello-name", hello_ignores_query, ["body should be exactly 'Hello, Ada!'"]),
        (
            "wsgi-hello-name",
            hello_raw_query,
            ["should be exactly 'Hello, Grace Hopper!'", "Hello, Grace%20Hopper", "parse_qs"],
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
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(f"Hello, {name}!".encode())  # the legacy write(): a warning
        return []

    result = gl.exercise("wsgi-hello-name").check(hello, quiet=True)
    assert result.passed
    assert any(mark == "!" and "wsgi.write-used" in text for mark, text in result.lines)


def test_a_status_without_reason_fails_the_exercise() -> None:
    """PEP 3333: a status is a code and a reason phrase; '200' alone is an error."""

    def hello(environ: Any, start_response: Any) -> Any:
        from urllib.parse import parse_qs

        name = parse_qs(environ["QUERY_STRING"]).get("name", ["World"])[0]
        start_response("200", [("Content-Type", "text/plain")])
        return [f"Hello, {name}!".encode()]

    result = gl.exercise("wsgi-hello-name").check(hello, quiet=True)
    assert not result.passed
    assert any(mark == "✗" and "wsgi.status-no-reason" in text for mark, text in result.lines)


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


def test_a_case_can_name_text_the_body_must_not_contain() -> None:
    """``lacks``: a ✗ row when the text is in the body, no row at all when it is not."""
    from gateway_lab.interface.response import Response

    case = Case("GET /?name=Ada&lang=en", contains="Hello, Ada!", lacks=("&", "+"))
    good = case.expectations(Response(200, body=b"Hello, Ada!"))
    assert good == [(True, "status 200"), (True, "body contains 'Hello, Ada!'")]
    bad = case.expectations(Response(200, body=b"Hello, Ada!&lang=en"))
    assert bad[1] == (True, "body contains 'Hello, Ada!'")
    assert bad[2:] == [(False, "body should not contain '&', got b'Hello, Ada!&lang=en'")]


def test_result_renders_in_a_notebook() -> None:
    result = gl.exercise("wsgi-hello-name").check(hello_ignores_query, quiet=True)
    page = result._repr_html_()
    assert "not yet" in page and "&#x27;Hello, Ada!&#x27;" in page
    assert repr(result) == "<ExerciseResult Hello, name (WSGI): not yet>"


def test_unknown_exercise_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="wsgi-hello-name"):
        gl.exercise("no-such-exercise")


def test_bad_kind_is_refused_when_authoring() -> None:
    with pytest.raises(ValueError, match="'wsgi' or 'asgi'"):
        Exercise("x", kind="cgi", cases=[])


def test_every_exercise_explains_a_string_or_async_answer_without_raising():
    import gateway_lab.course  # noqa: F401  (imports every lesson, which registers its exercises)
    from gateway_lab.exercises.framework import _REGISTRY

    async def async_answer(*args):
        return None

    for name, item in sorted(_REGISTRY.items()):
        if name == "cgi-form":
            continue  # its answer may be a path or the script's text
        result = item.evaluate("my_function")
        assert not result.passed, name
        assert "without quotes" in result.unfinished or "quotes" in str(result), name
        if name in {"wsgi-server-respond", "wsgi-auth-middleware", "wsgi-cookie-counter"}:
            assert not item.evaluate(async_answer).passed, name
