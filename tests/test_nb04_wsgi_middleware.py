"""Notebook 04 (WSGI middleware): its two exercises, right and wrong answers, and its claims.

The exercises live in ``gateway_lab.course.middleware``; the notebook's quiet
check cells assert its other claims when nbval runs it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import runpy
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.course import middleware as course_04
from gateway_lab.course.middleware import AUTH_MIDDLEWARE, COOKIE_COUNTER, basic_credentials

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
    if scheme.lower() != "basic":
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


def auth_looks_up_with_brackets(app: Any, users: dict[str, str]) -> Any:
    """compare_digest(users[user], password): an unknown user is a KeyError, a 500."""

    def middleware(environ: Any, start_response: Any) -> Any:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return _refuse(start_response)
        if scheme.lower() != "basic" or not hmac.compare_digest(
            users[user].encode(), password.encode()
        ):
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


def auth_bare_basic_challenge(app: Any, users: dict[str, str]) -> Any:
    """Right in everything but the challenge: WWW-Authenticate: Basic, with no realm."""

    def middleware(environ: Any, start_response: Any) -> Any:
        user = _user(environ, users)
        if not user:
            return _refuse(start_response, [("WWW-Authenticate", "Basic")])
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


def auth_compares_str(app: Any, users: dict[str, str]) -> Any:
    """hmac.compare_digest on str: TypeError for a password with a non-ASCII letter."""

    def middleware(environ: Any, start_response: Any) -> Any:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return _refuse(start_response)
        expected = users.get(user)
        if (
            scheme.lower() != "basic"
            or expected is None
            or not hmac.compare_digest(expected, password)
        ):
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (auth_lets_everyone_in, [("no credentials", "status should be 401, got 200")]),
        (auth_lets_everyone_in, [("no credentials", "inner app was called")]),
        (auth_leaks_body, [("no credentials", "shows the inner app's page")]),
        (auth_leaks_body, [("a wrong password", "inner app was called")]),
        (
            auth_without_www_authenticate,
            [("no credentials", "the 401 came back without a WWW-Authenticate header")],
        ),
        (auth_starts_its_own_response, [("wsgi.start-response-twice",)]),
        (auth_looks_up_with_brackets, [("a user who is not in users", "users.get(user)")]),
        (auth_looks_up_with_brackets, [("app.raised", "KeyError: 'mallory'")]),
        (auth_bare_basic_challenge, [("no credentials", "'realm' is REQUIRED", "rfc7617")]),
        (auth_compares_str, [("non-ASCII letter", "Compare bytes")]),
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


def test_a_middleware_that_starts_the_response_and_passes_it_on_gets_middleware_advice() -> None:
    result = AUTH_MIDDLEWARE.evaluate(auth_starts_its_own_response)
    lines = [t for t in _failed(result.lines) if t.startswith("wsgi.start-response-twice")]
    assert lines, str(result)
    for line in lines:
        assert "passed the same start_response on to the app" in line
        assert "pass sys.exc_info() as the third argument" not in line


def test_a_bare_basic_challenge_is_the_only_complaint() -> None:
    result = AUTH_MIDDLEWARE.evaluate(auth_bare_basic_challenge)
    failed = _failed(result.lines)
    assert len(failed) == 1 and "realm" in failed[0], str(result)


def test_a_passing_middleware_report_is_brief() -> None:
    result = AUTH_MIDDLEWARE.evaluate(_solution("wsgi_auth_middleware.py", "basic_auth"))
    text = str(result)
    assert result.passed and len(text.splitlines()) <= 12, text
    for words in ("realm=", "a user who is not in users", "non-ASCII", "Hello, ada", "404"):
        assert words in text, words


def test_auth_lines_do_not_blame_what_is_right() -> None:
    result = AUTH_MIDDLEWARE.evaluate(auth_without_www_authenticate)
    failed = _failed(result.lines)
    assert failed and all("WWW-Authenticate" in text for text in failed), failed


# --------------------------------------------------------------------------- auth: scheme and realm


def _auth_with(*, scheme_ok: Any = None, challenge: str = 'Basic realm="notes"') -> Any:
    """Right in everything, with this scheme test (None: none at all) and this challenge."""

    def factory(app: Any, users: dict[str, str]) -> Any:
        def middleware(environ: Any, start_response: Any) -> Any:
            scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
            try:
                user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
            except ValueError:
                user, password = "", ""
            expected = users.get(user)
            if (
                (scheme_ok is not None and not scheme_ok(scheme))
                or expected is None
                or not hmac.compare_digest(expected.encode(), password.encode())
            ):
                return _refuse(start_response, [("WWW-Authenticate", challenge)])
            environ["REMOTE_USER"] = user
            return app(environ, start_response)

        return middleware

    return factory


def _is_basic(scheme: str) -> bool:
    return scheme.lower() == "basic"


def test_a_middleware_that_ignores_the_scheme_is_told_to_check_it() -> None:
    # Authorization: Bearer <base64 of ada:lovelace> must not get in (step 1: "checks the
    # scheme is Basic")
    result = AUTH_MIDDLEWARE.evaluate(_auth_with(scheme_ok=None))
    assert not result.passed and not result.unfinished
    failed = _failed(result.lines)
    assert all("under the Bearer scheme" in text for text in failed), str(result)
    assert _has(
        result.lines,
        "under the Bearer scheme",
        "status should be 401, got 200",
        "What to change: check the scheme",
        "scheme.lower() == 'basic'",
    ), str(result)
    assert _has(result.lines, "under the Bearer scheme", "the inner app was called")
    # the advice is said once, on the step's first ✗ line
    assert sum("check the scheme" in text for text in failed) == 1, str(result)


def test_the_scheme_case_sends_valid_base64_credentials_under_bearer() -> None:
    steps = [s for s in AUTH_MIDDLEWARE.steps if "Bearer" in s.case.says]
    assert len(steps) == 1
    (header,) = steps[0].case.headers
    scheme, _, token = header[1].partition(" ")
    assert scheme == "Bearer"
    assert base64.b64decode(token, validate=True) == b"ada:lovelace"
    assert steps[0].case.status == 401 and steps[0].inner_called is False


LOWER_CASE = "under the scheme written basic in lower case"


def test_the_lower_case_scheme_case_sends_ada_under_basic_and_expects_her_in() -> None:
    # the task: "scheme names are case-insensitive" (RFC 9110 section 11.1)
    steps = [s for s in AUTH_MIDDLEWARE.steps if LOWER_CASE in s.case.says]
    assert len(steps) == 1
    (header,) = steps[0].case.headers
    scheme, _, token = header[1].partition(" ")
    assert scheme == "basic"
    assert base64.b64decode(token, validate=True) == b"ada:lovelace"
    assert steps[0].case.status == 200 and steps[0].inner_called is True
    assert steps[0].case.contains == "Hello, ada"


@pytest.mark.parametrize(
    "scheme_ok",
    [
        lambda scheme: scheme.lower() == "basic",
        lambda scheme: scheme.casefold() == "basic",
        lambda scheme: scheme.upper() == "BASIC",
    ],
    ids=["lower", "casefold", "upper"],
)
def test_a_case_insensitive_scheme_check_passes(scheme_ok: Any) -> None:
    result = AUTH_MIDDLEWARE.evaluate(_auth_with(scheme_ok=scheme_ok))
    assert result.passed, str(result)
    assert "under the Bearer scheme" in str(result) and LOWER_CASE in str(result)


def auth_exact_basic_prefix(app: Any, users: dict[str, str]) -> Any:
    """The scheme checked as exactly "Basic ": a right user under `basic` is turned away."""

    def middleware(environ: Any, start_response: Any) -> Any:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Basic "):
            return _refuse(start_response)
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except ValueError:
            return _refuse(start_response)
        if users.get(user) != password:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


@pytest.mark.parametrize(
    "answer",
    [_auth_with(scheme_ok=lambda scheme: scheme == "Basic"), auth_exact_basic_prefix],
    ids=["scheme == 'Basic'", "startswith('Basic ')"],
)
def test_a_case_sensitive_scheme_check_is_told_scheme_names_are_case_insensitive(
    answer: Any,
) -> None:
    # before, no case sent a lower-case scheme, so scheme == "Basic" passed every check
    result = AUTH_MIDDLEWARE.evaluate(answer)
    assert not result.passed and not result.unfinished, str(result)
    failed = _failed(result.lines)
    assert failed and all(LOWER_CASE in text for text in failed), str(result)
    assert _has(
        result.lines,
        LOWER_CASE,
        "status should be 200, got 401",
        "What to change: scheme names are case-insensitive (RFC 9110 section 11.1)",
        "scheme.lower() == 'basic'",
        "https://www.rfc-editor.org/rfc/rfc9110#section-11.1",
    ), str(result)
    assert _has(result.lines, LOWER_CASE, "the inner app never ran")
    # the advice is said once, on the step's first ✗ line
    assert sum("case-insensitive" in text for text in failed) == 1, str(result)


def test_the_lower_case_advice_is_only_for_a_middleware_that_turned_ada_away() -> None:
    # it let her in but forgot REMOTE_USER: that is the advice, not the scheme's case
    result = AUTH_MIDDLEWARE.evaluate(auth_forgets_remote_user)
    assert _has(result.lines, LOWER_CASE, "should contain 'Hello, ada'"), str(result)
    assert "case-insensitive" not in str(result), str(result)


@pytest.mark.parametrize(
    "challenge", ["Basic realm=notes", 'Basic charset="UTF-8", realm=notes', "basic realm=x"]
)
def test_an_unquoted_realm_is_told_to_quote_it(challenge: str) -> None:
    result = AUTH_MIDDLEWARE.evaluate(_auth_with(scheme_ok=_is_basic, challenge=challenge))
    failed = _failed(result.lines)
    assert not result.passed and len(failed) == 1, str(result)  # the one complaint
    for words in (
        "no credentials",
        "double quotes",
        "a sender MUST only generate the quoted-string syntax",
        """send ('WWW-Authenticate', 'Basic realm="notes"'), quotes included""",
        "https://www.rfc-editor.org/rfc/rfc9110#section-11.5",
    ):
        assert words in failed[0], (words, failed[0])
    assert "'realm' is REQUIRED" not in failed[0]  # it has a realm: only the quotes are missing


@pytest.mark.parametrize(
    "challenge",
    [
        'Basic realm="notes"',
        'basic realm="notes"',
        'Basic realm = "notes"',
        'Basic realm="secret plans", charset="UTF-8"',
        'Basic charset="UTF-8", realm="notes"',
        r'Basic realm="the \"notes\""',
    ],
)
def test_a_quoted_realm_passes_in_every_legal_spelling(challenge: str) -> None:
    result = AUTH_MIDDLEWARE.evaluate(_auth_with(scheme_ok=_is_basic, challenge=challenge))
    assert result.passed, str(result)


def test_the_missing_realm_hint_suggests_what_the_task_asks() -> None:
    for answer in (auth_without_www_authenticate, auth_bare_basic_challenge):
        (line,) = [t for t in _failed(AUTH_MIDDLEWARE.evaluate(answer).lines) if "realm" in t]
        assert """send ('WWW-Authenticate', 'Basic realm="notes"')""" in line, line
        assert "secret plans" not in line and "of your choice" not in line, line


def test_the_task_cell_asks_for_the_realm_the_hints_suggest() -> None:
    cells = json.loads((SOLUTIONS.parent / "04-wsgi-middleware.ipynb").read_text())["cells"]
    task = next(
        "".join(c["source"]) for c in cells if "## Exercise 1: HTTP Basic" in "".join(c["source"])
    )
    assert course_04.CHALLENGE in task and "checks the scheme is `Basic`" in task
    solution = (SOLUTIONS / "wsgi_auth_middleware.py").read_text()
    assert course_04.CHALLENGE in solution


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
            ("Path=/shop", "change it to Path=/"),
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
            ("first visit", "keep the app's own headers and add Set-Cookie"),
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


def test_counter_that_drops_the_apps_headers_is_told_so_and_only_so() -> None:
    answer = _counter(lambda n: ("Set-Cookie", f"visits={n}; Path=/"), keep_headers=False)
    result = COOKIE_COUNTER.evaluate(answer)
    failed = _failed(result.lines)
    assert len(failed) == 1, str(result)
    assert "own headers" in failed[0] and "X-Inner" in failed[0]
    # not the symptom: a missing Content-Type
    assert not any("wsgi.no-content-type" in text for _, text in result.lines), str(result)
    assert "should contain 'text/plain'" not in str(result)


def test_counter_that_keeps_the_headers_gets_no_dropped_headers_line() -> None:
    result = COOKIE_COUNTER.evaluate(_counter(lambda n: ("Set-Cookie", f"visits={n}")))
    assert "own headers" not in str(result)


def test_auth_forgetting_remote_user_says_to_set_it() -> None:
    result = AUTH_MIDDLEWARE.evaluate(auth_forgets_remote_user)
    failed = _failed(result.lines)
    assert len(failed) == 3, str(result)  # ada, ada under `basic` and grace: the same mistake
    assert "environ['REMOTE_USER']" in failed[0]
    for line in failed[1:]:
        assert "as above" in line and "environ['REMOTE_USER']" not in line


def test_auth_labels_say_what_the_app_should_see_not_that_it_was_set() -> None:
    result = AUTH_MIDDLEWARE.evaluate(auth_forgets_remote_user)
    assert "REMOTE_USER set" not in str(result)
    assert "the app should see REMOTE_USER" in str(result)


def test_auth_with_a_correct_remote_user_gets_no_remote_user_advice() -> None:
    assert "environ['REMOTE_USER']" not in str(AUTH_MIDDLEWARE.evaluate(auth_splits_every_colon))


def auth_crashes_on_a_colon(app: Any, users: dict[str, str]) -> Any:
    """Two different crashes: no credentials (too few values), grace (too many)."""

    def middleware(environ: Any, start_response: Any) -> Any:
        token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
        user, password = base64.b64decode(token).decode("latin-1").split(":")
        if users.get(user) != password:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


def test_each_distinct_crash_is_shown_not_only_the_first() -> None:
    result = AUTH_MIDDLEWARE.evaluate(auth_crashes_on_a_colon)
    text = str(result)
    assert "not enough values to unpack" in text
    assert _has(result.lines, "app.raised", "a password with ':' in it", "too many values")


def test_a_repeated_crash_points_at_the_first_one() -> None:
    def crashes_always(app: Any, users: dict[str, str]) -> Any:
        def middleware(environ: Any, start_response: Any) -> Any:
            raise ValueError("always")

        return middleware

    result = AUTH_MIDDLEWARE.evaluate(crashes_always)
    raised = [text for text in _failed(result.lines) if text.startswith("app.raised")]
    assert len(raised) == 1, str(result)
    assert _has(result.lines, "a wrong password", "same problem as on GET / (no credentials)")


def test_counter_path_mistake_is_the_only_complaint() -> None:
    result = COOKIE_COUNTER.evaluate(_counter(lambda n: ("Set-Cookie", f"visits={n}")))
    assert all("Path" in text for text in _failed(result.lines)), str(result)


def test_counter_follows_the_cookie_it_was_given() -> None:
    # the checker sends back what Set-Cookie set: a counter that sets a different
    # name than it reads never gets past 1
    answer = _counter(lambda n: ("Set-Cookie", f"visit={n}; Path=/"))
    result = COOKIE_COUNTER.evaluate(answer)
    assert _has(result.lines, "the cookie sent back", "Visit number 2"), str(result)


# --------------------------------------------------------------------------- auth: every 401


def _auth_challenging(challenge_for: Any) -> Any:
    """Right in everything, with ``challenge_for(environ)`` as the challenge of its 401s."""

    def factory(app: Any, users: dict[str, str]) -> Any:
        def middleware(environ: Any, start_response: Any) -> Any:
            user = _user(environ, users)
            if not user:
                challenge = challenge_for(environ)
                headers = [("Content-Type", "text/plain")]
                headers += [("WWW-Authenticate", challenge)] if challenge else []
                return _refuse(start_response, headers)
            environ["REMOTE_USER"] = user
            return app(environ, start_response)

        return middleware

    return factory


def test_every_401_step_checks_the_challenge() -> None:
    # RFC 9110 15.5.2: "The server generating a 401 response MUST send a WWW-Authenticate
    # header field"; task step 2 asks for it on every refusal
    refusals = [s for s in AUTH_MIDDLEWARE.steps if s.case.status == 401]
    assert len(refusals) >= 7
    for step in refusals:
        assert step.header_form == course_04.BASIC_SCHEME, step.case.says
        assert step.header_details == (course_04.REALM, course_04.QUOTED_REALM)
        assert step.if_no_header == course_04.NO_CHALLENGE


def test_a_challenge_only_for_a_request_without_credentials_fails_once() -> None:
    # before, only the first step (no Authorization header) looked at the challenge
    answer = _auth_challenging(
        lambda environ: None if "HTTP_AUTHORIZATION" in environ else 'Basic realm="notes"'
    )
    result = AUTH_MIDDLEWARE.evaluate(answer)
    failed = _failed(result.lines)
    assert not result.passed and len(failed) == 1, str(result)
    for words in (
        "a wrong password",
        "the 401 came back without a WWW-Authenticate header",
        '"The server generating a 401 response MUST send a WWW-Authenticate header field',
        "with every 401",
        "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2",
        "The same came back on 5 more requests",
        "garbled credentials",
        "a wrong password with a non-ASCII letter",
    ):
        assert words in failed[0], (words, failed[0])


def test_a_challenge_that_differs_on_a_later_401_is_checked_there() -> None:
    answer = _auth_challenging(
        lambda environ: "Basic realm=notes" if "mallory" in _decoded(environ) else CHALLENGE_OK
    )
    result = AUTH_MIDDLEWARE.evaluate(answer)
    failed = _failed(result.lines)
    assert len(failed) == 1 and "a user who is not in users" in failed[0], str(result)
    assert "double quotes" in failed[0] and "The same came back" not in failed[0]


CHALLENGE_OK = 'Basic realm="notes"'


def _decoded(environ: Any) -> str:
    token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
    try:
        return base64.b64decode(token, validate=True).decode()
    except ValueError:
        return ""


def test_a_bearer_challenge_is_told_the_scheme_is_wrong_not_the_realm() -> None:
    # adapting require_token: 'Bearer realm="notes"' has its realm, under the wrong scheme
    result = AUTH_MIDDLEWARE.evaluate(
        _auth_with(scheme_ok=_is_basic, challenge='Bearer realm="notes"')
    )
    failed = _failed(result.lines)
    assert not result.passed and len(failed) == 1, str(result)
    assert "The scheme in it is wrong" in failed[0]
    assert """begin it with Basic: ('WWW-Authenticate', 'Basic realm="notes"')""" in failed[0]
    assert "'realm' is REQUIRED" not in failed[0] and "double quotes" not in failed[0]


def test_a_bare_basic_challenge_still_hears_about_the_realm() -> None:
    failed = _failed(AUTH_MIDDLEWARE.evaluate(auth_bare_basic_challenge).lines)
    assert len(failed) == 1 and "'realm' is REQUIRED" in failed[0], failed
    assert "scheme in it is wrong" not in failed[0]


# --------------------------------------------------------------------------- auth: fitting advice


def auth_calls_the_app_first(app: Any, users: dict[str, str]) -> Any:
    """Checks everything right, but calls the inner app before deciding."""

    def middleware(environ: Any, start_response: Any) -> Any:
        body = app(environ, lambda status, headers, exc_info=None: None)
        user = _user(environ, users)
        if not user:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return body

    return middleware


def test_the_scheme_advice_is_only_for_a_request_that_got_in() -> None:
    # before, the Bearer step's "check the scheme" advice went on its first ✗ line,
    # whatever that line was about
    result = AUTH_MIDDLEWARE.evaluate(auth_calls_the_app_first)
    assert _has(result.lines, "under the Bearer scheme", "the inner app was called; decide first")
    assert "check the scheme" not in str(result), str(result)


def auth_splits_at_the_last_colon(app: Any, users: dict[str, str]) -> Any:
    def middleware(environ: Any, start_response: Any) -> Any:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            user, _, password = base64.b64decode(token, validate=True).decode().rpartition(":")
        except ValueError:
            return _refuse(start_response)
        expected = users.get(user)
        if scheme.lower() != "basic" or expected is None or expected != password:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


def test_splitting_at_the_last_colon_is_told_grace_has_one_in_her_password() -> None:
    result = AUTH_MIDDLEWARE.evaluate(auth_splits_at_the_last_colon)
    failed = _failed(result.lines)
    assert failed and all("a password with ':' in it" in text for text in failed), str(result)
    assert _has(
        result.lines,
        "status should be 200, got 401",
        "grace's password is 'cobol:1959'",
        "split it at the first ':' only",
        '"a user-id containing a colon character is invalid"',
        "https://www.rfc-editor.org/rfc/rfc7617#section-2",
    ), str(result)


def test_the_no_colon_step_sends_valid_base64_without_a_colon() -> None:
    steps = [s for s in AUTH_MIDDLEWARE.steps if "no ':'" in s.case.says]
    assert len(steps) == 1
    ((_, value),) = steps[0].case.headers
    scheme, _, token = value.partition(" ")
    assert scheme == "Basic" and base64.b64decode(token, validate=True) == b"ada"
    assert steps[0].case.status == 401 and steps[0].inner_called is False


def test_the_reference_solution_refuses_credentials_without_a_colon() -> None:
    guarded = basic_auth(course_04.inner_app(lambda environ: "in", []), {"ada": ""})
    response = gl.call_wsgi(guarded, headers={"Authorization": "Basic YWRh"})
    assert response.status == 401  # an empty password is not a password with no ':'


# --------------------------------------------------------------------------- counter: expiry


@pytest.mark.parametrize(
    ("attributes", "why"),
    [
        ("Max-Age=0", "Max-Age=0"),
        ("Max-Age=-1", "Max-Age=-1"),
        ("Expires=Thu, 01 Jan 1970 00:00:00 GMT", "a date in the past"),
        ("Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT", "Max-Age=0"),  # Max-Age wins
    ],
)
def test_a_cookie_that_expires_at_once_loses_the_count(attributes: str, why: str) -> None:
    # before, the jar ignored Max-Age and Expires, so a cookie deleted at once passed
    answer = _counter(lambda n: ("Set-Cookie", f"visits={n}; Path=/; {attributes}"))
    result = COOKIE_COUNTER.evaluate(answer)
    assert not result.passed, str(result)
    assert _has(result.lines, "first visit", why, "deletes it", "the count is lost"), str(result)
    assert _has(result.lines, "the cookie sent back", "Visit number 2")
    assert sum("deletes it" in text for text in _failed(result.lines)) == 1, str(result)


@pytest.mark.parametrize(
    "attributes",
    ["Max-Age=31536000", "Expires=Fri, 01 Jan 2100 00:00:00 GMT", "Max-Age=soon", "Expires=never"],
)
def test_a_cookie_that_lives_on_keeps_the_count(attributes: str) -> None:
    # a lifetime in the future, or one a browser cannot read (ignored: RFC 6265 5.2.1, 5.2.2)
    answer = _counter(lambda n: ("Set-Cookie", f"visits={n}; Path=/; {attributes}"))
    assert COOKIE_COUNTER.evaluate(answer).passed


def test_the_jar_forgets_an_expired_cookie() -> None:
    from gateway_lab.exercises.cookies import jar_update
    from gateway_lab.interface.response import Response

    jar = {"visits": "3", "theme": "dark"}
    jar_update(jar, Response(200, [("Set-Cookie", "visits=4; Max-Age=0")]))
    assert jar == {"theme": "dark"}


def counter_sets_its_own_head(app: Any) -> Any:
    def middleware(environ: Any, start_response: Any) -> Any:
        count = _parse(environ.get("HTTP_COOKIE", ""))
        environ["counter.visits"] = count
        start_response("200 OK", [("Set-Cookie", f"visits={count}; Path=/")])
        return app(environ, start_response)

    return middleware


def test_a_cookie_sent_with_its_own_start_response_is_not_called_missing() -> None:
    result = COOKIE_COUNTER.evaluate(counter_sets_its_own_head)
    text = str(result)
    assert "no Set-Cookie header setting" not in text, text
    assert _has(
        result.lines,
        "first visit",
        "your middleware's own start_response call carried the Set-Cookie for 'visits'",
        "wsgi.start-response-twice",
    ), text
    assert sum("carried the Set-Cookie" in t for t in _failed(result.lines)) == 1, text


def test_the_reference_counter_keeps_the_count_beside_a_malformed_cookie() -> None:
    # SimpleCookie gives up on the whole header, silently, as the notebook says
    from http.cookies import SimpleCookie

    assert dict(SimpleCookie("visits=3; a b=c")) == {}
    seen = []
    inner = course_04.inner_app(lambda environ: seen.append(environ["counter.visits"]) or "", [])
    gl.call_wsgi(count_visits(inner), headers={"Cookie": "visits=3; a b=c"})
    assert seen == [4]


# --------------------------------------------------------------------------- a brief pass


def test_a_pass_names_every_refusal_in_one_row() -> None:
    result = AUTH_MIDDLEWARE.evaluate(basic_auth)
    rows = [text for _, text in result.lines if "status 401" in text]
    assert len(rows) == 1, str(result)
    for step in AUTH_MIDDLEWARE.steps:
        assert step.case.says in str(result), step.case.says


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


# --------------------------------------------------------------------------- the notebook's text

NOTEBOOKS = SOLUTIONS.parent
NOTEBOOK = NOTEBOOKS / "04-wsgi-middleware.ipynb"


def _markdown(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _title(number: str) -> str:
    """The first line of notebook ``number`` (its ``# NN · Title`` heading)."""
    (path,) = NOTEBOOKS.glob(f"{number}-*.ipynb")
    first = json.loads(path.read_text())["cells"][0]
    return "".join(first["source"]).splitlines()[0]


def test_lessons_named_in_bold_match_the_course_map() -> None:
    named = re.findall(r"\*\*(\d\d) · ([^*]+)\*\*", _markdown(NOTEBOOK))
    assert named
    for number, title in named:
        assert _title(number).startswith(f"# {number} · {title}"), (number, title)


def test_the_asgi_notebook_it_points_at_is_about_asgi() -> None:
    pointed = re.findall(r"ASGI[^.]*?(?:notebook|lesson) (\d\d)", _markdown(NOTEBOOK))
    assert pointed
    for number in pointed:
        assert "ASGI" in _title(number).partition(":")[0], (number, _title(number))


def test_the_served_log_cells_wait_for_close_before_reading_the_log() -> None:
    cells = {c["id"]: "".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]}
    # the logger writes its line at close(), just after the client has its answer
    for cell, reads in (("c04-serve-httpx", "print(*site_log"), ("c04-serve-check", "len(ours)")):
        source = cells[cell]
        assert "wait_for_lines(site_log" in source, cell
        assert source.index("wait_for_lines(site_log") < source.index(reads), cell


def test_a_password_compared_with_equals_passes_with_a_timing_warning_only() -> None:
    from tests.corpus.exercises_wsgi import ANSWERS

    timing = "without hmac.compare_digest"
    for item in [a for a in ANSWERS if a.exercise == "wsgi-auth-middleware" and a.passes]:
        result = gl.exercise("wsgi-auth-middleware").evaluate(item.answer)
        warned = [t for m, t in result.lines if m == "!" and timing in t]
        # answers that call compare_digest, here or in a helper of theirs, hear nothing
        assert bool(warned) is (item.name == "auth_compares_with_equals"), (item.name, result)


def test_a_secure_cookie_on_loopback_passes_with_one_warning() -> None:
    from tests.corpus.exercises_wsgi import ANSWERS

    (item,) = [a for a in ANSWERS if a.name == "counter_secure_on_loopback"]
    result = gl.exercise("wsgi-cookie-counter").evaluate(item.answer)
    warned = [t for m, t in result.lines if m == "!"]
    assert result.passed, result
    assert len(warned) == 1 and "treat 127.0.0.1 as a secure origin" in warned[0], warned
