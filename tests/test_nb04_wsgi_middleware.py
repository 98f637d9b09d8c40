"""Notebook 04 (WSGI middleware): its two exercises, right and wrong answers, and its claims.

The exercises live in ``gateway_lab.check.course_04``; the notebook's quiet
check cells assert its other claims when nbval runs it.
"""

from __future__ import annotations

import base64
import binascii
import runpy
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.check import course_04
from gateway_lab.check.course_04 import AUTH_MIDDLEWARE, COOKIE_COUNTER, basic_credentials

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"

Lines = list[tuple[str, str]]


def _solution(file: str, name: str) -> Any:
    return runpy.run_path(str(SOLUTIONS / file))[name]


basic_auth = _solution("wsgi_auth_middleware.py", "basic_auth")
count_visits = _solution("wsgi_cookie_counter.py", "count_visits")


def _failed(lines: Lines) -> list[str]:
    return [text for mark, text in lines if mark == "✗"]


def _has(lines: Lines, *words: str) -> bool:
    """Some ✗ line contains every one of ``words``."""
    return any(all(word in text for word in words) for text in _failed(lines))


def _refuse(start_response: Any, headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(
        "401 Unauthorized",
        headers if headers is not None else [("WWW-Authenticate", 'Basic realm="x"')],
    )
    return [b"no"]


def _user(environ: dict[str, Any], users: dict[str, str]) -> str | None:
    """A correct Basic check, shared by the wrong answers that break something else."""
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Basic":
        return None
    try:
        user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user if users.get(user) == password else None


# --------------------------------------------------------------------------- registry


def test_both_exercises_are_registered() -> None:
    assert gl.exercise("wsgi-auth-middleware") is AUTH_MIDDLEWARE
    assert gl.exercise("wsgi-cookie-counter") is COOKIE_COUNTER


# --------------------------------------------------------------------------- reference solutions


@pytest.mark.parametrize(
    ("exercise", "answer"), [(AUTH_MIDDLEWARE, basic_auth), (COOKIE_COUNTER, count_visits)]
)
def test_reference_solution_passes(exercise: Any, answer: Any, capsys: Any) -> None:
    result = exercise(answer)
    assert result.passed, str(result)
    assert not _failed(result.lines)
    assert "passed, well done" in capsys.readouterr().out


def test_reference_middlewares_are_valid_wsgi_with_no_warning() -> None:
    inner = course_04.inner_app(lambda environ: "hi", [])
    for app, headers in [
        (basic_auth(inner, {"ada": "lovelace"}), {}),
        (
            basic_auth(inner, {"ada": "lovelace"}),
            {"Authorization": basic_credentials("ada", "lovelace")},
        ),
        (count_visits(inner), {"Cookie": "visits=3"}),
    ]:
        report = gl.check_wsgi(app, [gl.Probe("GET", "/", tuple(headers.items()))])
        assert report.ok and not report.warnings, str(report)


# --------------------------------------------------------------------------- auth: wrong answers


def auth_lets_everyone_in(app: Any, users: dict[str, str]) -> Any:
    def middleware(environ: Any, start_response: Any) -> Any:
        user = _user(environ, users)
        if user:
            environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


def auth_leaks_body(app: Any, users: dict[str, str]) -> Any:
    """Calls the inner app first, then swaps the status, keeping the inner body."""

    def middleware(environ: Any, start_response: Any) -> Any:
        user = _user(environ, users)
        if user:
            environ["REMOTE_USER"] = user
            return app(environ, start_response)
        body = app(environ, lambda status, headers, exc_info=None: None)
        start_response("401 Unauthorized", [("WWW-Authenticate", "Basic")])
        return body

    return middleware


def auth_without_www_authenticate(app: Any, users: dict[str, str]) -> Any:
    def middleware(environ: Any, start_response: Any) -> Any:
        user = _user(environ, users)
        if not user:
            return _refuse(start_response, [("Content-Type", "text/plain")])
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


def auth_starts_its_own_response(app: Any, users: dict[str, str]) -> Any:
    """Calls start_response itself, then hands the same start_response to the app."""

    def middleware(environ: Any, start_response: Any) -> Any:
        user = _user(environ, users)
        if not user:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        start_response("200 OK", [("Content-Type", "text/plain")])
        return app(environ, start_response)

    return middleware


def auth_forces_200(app: Any, users: dict[str, str]) -> Any:
    """Never passes the inner app's status and headers on: always says 200."""

    def middleware(environ: Any, start_response: Any) -> Any:
        user = _user(environ, users)
        if not user:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        body = app(environ, lambda status, headers, exc_info=None: None)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    return middleware


def auth_crashes_on_garbage(app: Any, users: dict[str, str]) -> Any:
    def middleware(environ: Any, start_response: Any) -> Any:
        token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        if not token:
            return _refuse(start_response)
        user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        if users.get(user) != password:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


def auth_splits_every_colon(app: Any, users: dict[str, str]) -> Any:
    def middleware(environ: Any, start_response: Any) -> Any:
        token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        try:
            user, password = base64.b64decode(token, validate=True).decode().split(":")
        except (binascii.Error, ValueError):
            return _refuse(start_response)
        if users.get(user) != password:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


def auth_forgets_remote_user(app: Any, users: dict[str, str]) -> Any:
    def middleware(environ: Any, start_response: Any) -> Any:
        if not _user(environ, users):
            return _refuse(start_response)
        return app(environ, start_response)

    return middleware


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (auth_lets_everyone_in, [("no credentials", "status should be 401, got 200")]),
        (auth_lets_everyone_in, [("no credentials", "inner app was called")]),
        (auth_leaks_body, [("no credentials", "shows the inner app's page")]),
        (auth_leaks_body, [("a wrong password", "inner app was called")]),
        (auth_without_www_authenticate, [("no credentials", "header WWW-Authenticate")]),
        (auth_starts_its_own_response, [("wsgi.start-response-twice",)]),
        (auth_forces_200, [("GET /missing", "status should be 404, got 200")]),
        (auth_crashes_on_garbage, [("garbled credentials", "no complete response")]),
        (auth_crashes_on_garbage, [("app.raised",)]),
        (auth_splits_every_colon, [("a password with ':' in it", "status should be 200")]),
        (auth_forgets_remote_user, [("REMOTE_USER", "should contain 'Hello, ada'")]),
    ],
)
def test_auth_wrong_answer_gets_the_right_feedback(answer: Any, expected: list[tuple]) -> None:
    result = AUTH_MIDDLEWARE.evaluate(answer)
    assert not result.passed and not result.unfinished
    for words in expected:
        assert _has(result.lines, *words), (words, str(result))


def test_auth_lines_do_not_blame_what_is_right() -> None:
    result = AUTH_MIDDLEWARE.evaluate(auth_without_www_authenticate)
    failed = _failed(result.lines)
    assert failed and all("WWW-Authenticate" in text for text in failed), failed


# --------------------------------------------------------------------------- counter: wrong answers


def _counter(cookie_line: Any, *, parse: Any = None, keep_headers: bool = True) -> Any:
    """A counter middleware whose Set-Cookie header is ``cookie_line(count)``."""

    def count_visits_variant(app: Any) -> Any:
        def middleware(environ: Any, start_response: Any) -> Any:
            count = (parse or _parse)(environ.get("HTTP_COOKIE", ""))
            environ["counter.visits"] = count

            def counting_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                kept = list(headers) if keep_headers else []
                return start_response(status, [*kept, cookie_line(count)], exc_info)

            return app(environ, counting_start_response)

        return middleware

    return count_visits_variant


def _parse(header: str) -> int:
    morsel = SimpleCookie(header).get("visits")
    return int(morsel.value) + 1 if morsel and morsel.value.isdigit() else 1


def _parse_single_cookie(header: str) -> int:
    name, _, value = header.partition("=")
    return int(value) + 1 if name == "visits" and value.isdigit() else 1


def _parse_no_increment(header: str) -> int:
    morsel = SimpleCookie(header).get("visits")
    return int(morsel.value) if morsel and morsel.value.isdigit() else 1


def _parse_crashing(header: str) -> int:
    morsel = SimpleCookie(header).get("visits")
    return int(morsel.value) + 1 if morsel else 1


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_counter(lambda n: ("Set-Cookie", f"visits={n}")), ("has no Path", "Path=/")),
        (
            _counter(lambda n: ("Set-Cookie", f"visits={n}; Path=/shop")),
            ("Path=/shop", "add '; Path=/'"),
        ),
        (_counter(lambda n: ("Set-Cookie", "visits=1; Path=/")), ("should set visits=2",)),
        (
            _counter(lambda n: ("Set-Cookie", "visits=1; Path=/")),
            ("and once more", "Visit number 3"),
        ),
        (
            _counter(lambda n: ("Set-Cookie", f"visits={n}; Path=/"), parse=_parse_no_increment),
            ("the cookie sent back", "Visit number 2"),
        ),
        (
            _counter(lambda n: ("Set-Cookies", f"visits={n}; Path=/")),
            ("'Set-Cookies'", "spelling"),
        ),
        (_counter(lambda n: ("Set_Cookie", f"visits={n}; Path=/")), ("'Set_Cookie'",)),
        (_counter(lambda n: ("Cookie", f"visits={n}; Path=/")), ("no Set-Cookie header",)),
        (
            _counter(lambda n: ("Set-Cookie", f"visits={n}; Path=/"), keep_headers=False),
            ("first visit", "header Content-Type"),
        ),
        (
            _counter(lambda n: ("Set-Cookie", f"visits={n}; Path=/"), parse=_parse_single_cookie),
            ("other cookies too", "Visit number 42"),
        ),
        (
            _counter(lambda n: ("Set-Cookie", f"visits={n}; Path=/"), parse=_parse_crashing),
            ("not a number", "no complete response"),
        ),
    ],
)
def test_counter_wrong_answer_gets_the_right_feedback(answer: Any, expected: tuple) -> None:
    result = COOKIE_COUNTER.evaluate(answer)
    assert not result.passed and not result.unfinished
    assert _has(result.lines, *expected), (expected, str(result))


def test_counter_path_mistake_is_the_only_complaint() -> None:
    result = COOKIE_COUNTER.evaluate(_counter(lambda n: ("Set-Cookie", f"visits={n}")))
    assert all("Path" in text for text in _failed(result.lines)), str(result)


def test_counter_follows_the_cookie_it_was_given() -> None:
    # the checker sends back what Set-Cookie set: a counter that sets a different
    # name than it reads never gets past 1
    answer = _counter(lambda n: ("Set-Cookie", f"visit={n}; Path=/"))
    result = COOKIE_COUNTER.evaluate(answer)
    assert _has(result.lines, "the cookie sent back", "Visit number 2"), str(result)


# --------------------------------------------------------------------------- unfinished answers


def factory_todo(app: Any, users: Any) -> Any:
    raise NotImplementedError


def factory_returns_nothing(app: Any) -> None: ...


def middleware_todo(app: Any, users: Any) -> Any:
    def middleware(environ: Any, start_response: Any) -> Any:
        raise NotImplementedError("write the middleware here")

    return middleware


async def async_factory(app: Any, users: Any) -> Any:
    return app


def wrong_arity(app: Any) -> Any:
    return app


def returns_a_string(app: Any, users: Any) -> str:
    return "middleware"


@pytest.mark.parametrize(
    ("exercise", "answer", "unfinished", "words"),
    [
        (AUTH_MIDDLEWARE, None, True, "still None"),
        (AUTH_MIDDLEWARE, ..., True, "still `...`"),
        (AUTH_MIDDLEWARE, "basic_auth", True, "function itself"),
        (AUTH_MIDDLEWARE, factory_todo, True, "NotImplementedError"),
        (AUTH_MIDDLEWARE, middleware_todo, True, "NotImplementedError"),
        (AUTH_MIDDLEWARE, async_factory, True, "async def"),
        (AUTH_MIDDLEWARE, wrong_arity, False, "2 argument(s)"),
        (AUTH_MIDDLEWARE, returns_a_string, False, "returned a str"),
        (AUTH_MIDDLEWARE, course_04.inner_app(lambda e: "", []), False, "outer function"),
        (COOKIE_COUNTER, factory_returns_nothing, True, "return middleware"),
    ],
)
def test_unfinished_or_misshapen_answers_never_raise(
    exercise: Any, answer: Any, unfinished: bool, words: str, capsys: Any
) -> None:
    result = exercise(answer)
    text = capsys.readouterr().out
    assert not result.passed
    assert bool(result.unfinished) == unfinished
    assert words in text, text


# --------------------------------------------------------------------------- notebook claims


@pytest.fixture
def basic_server() -> Iterator[Any]:
    inner = course_04.inner_app(lambda environ: f"Hello, {environ['REMOTE_USER']}", [])
    server = gl.serve_wsgi(basic_auth(inner, {"ada": "lovelace"}), name="test-nb04-basic")
    try:
        yield server
    finally:
        server.stop()


def test_served_basic_auth_asks_the_browser_and_accepts_a_real_client(basic_server: Any) -> None:
    # the notebook says: the browser shows a login box (it does on 401 + WWW-Authenticate:
    # Basic) and a real client's Basic header gets in
    with httpx.Client(base_url=basic_server.url, timeout=5) as client:
        refused = client.get("/")
        accepted = client.get("/", auth=("ada", "lovelace"))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic ")
    assert accepted.status_code == 200 and accepted.text == "Hello, ada"


def test_garbled_credentials_raise_value_errors_as_the_notebook_says() -> None:
    with pytest.raises(binascii.Error):
        base64.b64decode("%%%", validate=True)
    with pytest.raises(UnicodeDecodeError):
        base64.b64decode(base64.b64encode(b"\xff\xfe:x"), validate=True).decode()
    assert issubclass(binascii.Error, ValueError) and issubclass(UnicodeDecodeError, ValueError)


def test_basic_credentials_match_what_httpx_sends() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/")
    httpx.BasicAuth("grace", "cobol:1959").auth_flow(request).__next__()
    assert request.headers["authorization"] == basic_credentials("grace", "cobol:1959")
