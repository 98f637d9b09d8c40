"""Notebook 06 (ASGI): its exercises, the wrong answers learners write, and its claims.

The notebook itself runs under nbval; its quiet check cells assert what the
prose says on the live run. Here: each reference solution passes its
exercise, typical wrong answers get the right feedback (asserted on rule ids
and the key words of each line, not on whole sentences), and the behaviours
the lesson leans on beyond its own cells (the mistakes' rule ids on both
engines' terms, the shallow copy of lifespan state, a failed startup).
"""

from __future__ import annotations

import inspect
import json
import runpy
from pathlib import Path
from typing import Any

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.course import asgi as course_06
from gateway_lab.exercises.result import ExerciseResult

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"
EXERCISES = {
    "asgi-echo-body": None,  # defined in course.py, used by this notebook
    "asgi-streaming-count": course_06.ASGI_STREAMING_COUNT,
    "asgi-lifespan-counter": course_06.ASGI_LIFESPAN_COUNTER,
}


# The function each solution defines: the scaffold's name, so that a learner who
# %loads a solution and re-runs the check cell checks the solution.
SCAFFOLD_NAMES = {
    "asgi-echo-body": "echo_app",
    "asgi-streaming-count": "count_app",
    "asgi-lifespan-counter": "counter_app",
}


def _solution(name: str) -> Any:
    return runpy.run_path(str(SOLUTIONS / f"{name.replace('-', '_')}.py"))[SCAFFOLD_NAMES[name]]


def _check(name: str, app: Any) -> ExerciseResult:
    exercise = EXERCISES[name] or gl.exercise(name)
    return exercise.evaluate(app)


def _failed(result: ExerciseResult) -> str:
    return "\n".join(text for mark, text in result.lines if mark == "✗")


# -- reference solutions -----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_reference_solution_passes(name: str) -> None:
    result = _check(name, _solution(name))
    assert result.passed, str(result)


@pytest.mark.parametrize("name", ["asgi-streaming-count", "asgi-lifespan-counter"])
def test_exercise_is_registered_for_gl_exercise(name: str) -> None:
    assert gl.exercise(name) is EXERCISES[name]


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_reference_solution_has_no_error_or_warning_in_the_full_check(name: str) -> None:
    report = gl.check_asgi(_solution(name))
    assert report.ok and not report.warnings, str(report)


def test_check_prints_and_passes(capsys: Any) -> None:
    gl.exercise("asgi-streaming-count")(_solution("asgi-streaming-count"))
    assert "passed, well done" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["asgi-streaming-count", "asgi-lifespan-counter"])
def test_solution_serves_for_real(name: str) -> None:
    with gl.serve_asgi(_solution(name), name=f"test-{name}") as server:
        first = httpx.get(server.url + "?n=4", timeout=5)
        second = httpx.get(server.url, timeout=5)
    if name == "asgi-streaming-count":
        assert (first.text, second.text) == ("1\n2\n3\n4\n", "1\n2\n3\n")
    else:
        assert (first.text, second.text) == ("1", "2")


# -- unfinished answers: the notebook's scaffolds ----------------------------------------
async def count_scaffold(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    raise NotImplementedError("write your streaming app here")


async def counter_scaffold(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        raise NotImplementedError("handle the lifespan messages here")
    if scope["type"] == "http":
        raise NotImplementedError("answer with the count here")


async def counter_requests_still_scaffold(scope: Any, receive: Any, send: Any) -> None:
    """The lifespan side written, the request side still the scaffold's line."""
    if scope["type"] == "lifespan":
        return await _dict_lifespan(scope, receive, send)
    raise NotImplementedError("answer with the count here")


def plain_function(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [])
    return [b"1"]


@pytest.mark.parametrize(
    ("name", "answer", "words"),
    [
        ("asgi-streaming-count", count_scaffold, "NotImplementedError"),
        ("asgi-lifespan-counter", counter_scaffold, "NotImplementedError"),
        ("asgi-lifespan-counter", counter_requests_still_scaffold, "NotImplementedError"),
        ("asgi-streaming-count", None, "still None"),
        ("asgi-lifespan-counter", ..., "still `...`"),
        ("asgi-lifespan-counter", plain_function, "async def app(scope, receive, send)"),
    ],
)
def test_unfinished_answer_gets_a_sentence_not_an_exception(
    name: str, answer: Any, words: str, capsys: Any
) -> None:
    result = EXERCISES[name](answer)
    assert not result.passed and result.unfinished
    out = capsys.readouterr().out
    assert "not finished yet" in out and words in out


# -- typical wrong answers: streaming ----------------------------------------------------
def _n(scope: Any) -> int:
    from urllib.parse import parse_qs

    return int(parse_qs(scope["query_string"].decode()).get("n", ["3"])[0])


START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain")],
}


async def count_joined(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(START)
    lines = "".join(f"{i}\n" for i in range(1, _n(scope) + 1))
    await send({"type": "http.response.body", "body": lines.encode()})


async def count_never_ends(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(START)
    for i in range(1, _n(scope) + 1):
        await send({"type": "http.response.body", "body": f"{i}\n".encode(), "more_body": True})


async def count_str_lines(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(START)
    for i in range(1, _n(scope) + 1):
        await send({"type": "http.response.body", "body": f"{i}\n", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def count_from_zero(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(START)
    for i in range(_n(scope)):
        await send({"type": "http.response.body", "body": f"{i}\n".encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def count_each_line_ends(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(START)
    for i in range(1, _n(scope) + 1):
        await send({"type": "http.response.body", "body": f"{i}\n".encode()})  # more_body False


async def count_ignores_n(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(START)
    for i in range(1, 4):
        await send({"type": "http.response.body", "body": f"{i}\n".encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (count_joined, ["should come in 5 'http.response.body' messages", "came in 1 "]),
        (count_never_ends, ["asgi.response-incomplete", "more_body"]),
        (count_str_lines, ["asgi.body-not-bytes"]),
        (count_from_zero, ["body should be b'1\\n2\\n3\\n4\\n5\\n', got b'0\\n1\\n2\\n3\\n4\\n'"]),
        (count_each_line_ends, ["asgi.send-after-complete"]),
        (count_ignores_n, ["body should be b'1\\n2\\n3\\n4\\n5\\n', got b'1\\n2\\n3\\n'"]),
    ],
)
def test_streaming_wrong_answer_gets_the_right_feedback(answer: Any, expected: list[str]) -> None:
    result = course_06.ASGI_STREAMING_COUNT.evaluate(answer)
    assert not result.passed and not result.unfinished, str(result)
    failed = _failed(result)
    for words in expected:
        assert words in failed, failed


def test_joined_body_is_told_how_to_stream() -> None:
    failed = _failed(course_06.ASGI_STREAMING_COUNT.evaluate(count_joined))
    assert "more_body': True" in failed and "more_body=False" in failed


# -- typical wrong answers: lifespan counter ---------------------------------------------
def _lifespan(on_startup: Any) -> Any:
    """A lifespan handler that runs ``on_startup(state)`` and answers properly."""

    async def handle(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                on_startup(scope["state"])
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    return handle


async def _answer(send: Any, number: int) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(number).encode()})


_int_lifespan = _lifespan(lambda state: state.update(count=0))


async def counter_int_in_state(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await _int_lifespan(scope, receive, send)
    scope["state"]["count"] += 1
    await _answer(send, scope["state"]["count"])


_global_count = {"count": 0}
_plain_lifespan = _lifespan(lambda state: None)


async def counter_global(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await _plain_lifespan(scope, receive, send)
    _global_count["count"] += 1
    await _answer(send, _global_count["count"])


async def counter_no_startup_reply(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["counter"] = {"count": 0}
        await receive()  # waits for shutdown without having answered startup
        return
    counter = scope["state"]["counter"]
    counter["count"] += 1
    await _answer(send, counter["count"])


async def counter_without_lifespan(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    counter = scope["state"]["counter"]  # KeyError: nothing set it up
    counter["count"] += 1
    await _answer(send, counter["count"])


_dict_lifespan = _lifespan(lambda state: state.update(counter={"count": 0}))


async def counter_no_shutdown_reply(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        scope["state"]["counter"] = {"count": 0}
        await send({"type": "lifespan.startup.complete"})
        await receive()
        return  # forgot lifespan.shutdown.complete
    counter = scope["state"]["counter"]
    counter["count"] += 1
    await _answer(send, counter["count"])


async def counter_returns_after_startup(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        scope["state"]["counter"] = {"count": 0}
        await send({"type": "lifespan.startup.complete"})
        return  # never waits for lifespan.shutdown
    counter = scope["state"]["counter"]
    counter["count"] += 1
    await _answer(send, counter["count"])


async def counter_int_body(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await _dict_lifespan(scope, receive, send)
    counter = scope["state"]["counter"]
    counter["count"] += 1
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": counter["count"]})  # an int


async def counter_shutdown_not_awaited(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        scope["state"]["counter"] = {"count": 0}
        await send({"type": "lifespan.startup.complete"})
        await receive()
        send({"type": "lifespan.shutdown.complete"})  # no await: never sent
        return
    counter = scope["state"]["counter"]
    counter["count"] += 1
    await _answer(send, counter["count"])


async def counter_in_the_scope_itself(scope: Any, receive: Any, send: Any) -> None:
    """The learners' slip: the counter put in the lifespan scope, not in scope['state']."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["counter"] = {"count": 0}  # stays in the lifespan scope
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    scope["counter"]["count"] += 1  # KeyError: a request's scope is a new one
    await _answer(send, scope["counter"]["count"])


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            counter_in_the_scope_itself,
            [
                "app.raised",
                "KeyError: 'counter'",
                'scope["counter"]["count"] += 1',  # the app's exception line
                "no complete response came back (see the app.raised row)",
                "State lives in scope['state']",
                "copies the lifespan scope's scope['state'] into each request's scope",
            ],
        ),
        (counter_returns_after_startup, ["never received 'lifespan.shutdown'"]),
        (counter_int_body, ["asgi.body-not-bytes", "str(1).encode()"]),
        (counter_shutdown_not_awaited, ["asgi.send-not-awaited", "await send(...)"]),
        (counter_int_in_state, ["body should be b'2', got b'1'", "shallow copy"]),
        (counter_global, ["scope['state']: the lifespan startup left it empty", "global"]),
        (counter_no_startup_reply, ["asgi.lifespan-no-reply", "lifespan.startup.complete"]),
        (counter_without_lifespan, ["never received 'lifespan.startup'", "startup.complete"]),
        (counter_no_shutdown_reply, ["asgi.lifespan-no-reply", "lifespan.shutdown.complete"]),
    ],
)
def test_counter_wrong_answer_gets_the_right_feedback(answer: Any, expected: list[str]) -> None:
    _global_count["count"] = 0
    result = course_06.ASGI_LIFESPAN_COUNTER.evaluate(answer)
    assert not result.passed and not result.unfinished, str(result)
    failed = _failed(result)
    for words in expected:
        assert words in failed, failed


def test_a_missing_startup_complete_is_named_not_its_key_error() -> None:
    """Issue 12: forgetting lifespan.startup.complete added a confusing KeyError: 'count'."""
    for answer in (counter_without_lifespan, counter_no_startup_reply):
        failed = _failed(course_06.ASGI_LIFESPAN_COUNTER.evaluate(answer))
        assert "KeyError" not in failed and "lifespan.startup.complete" in failed, failed


def test_a_global_counter_reset_at_startup_fails_for_not_using_the_state() -> None:
    """Issue 12: a module-level counter reset at startup passed without scope['state']."""
    counter = {"n": 0}

    async def reset_global(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                counter["n"] = 0
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        counter["n"] += 1
        await _answer(send, counter["n"])

    result = course_06.ASGI_LIFESPAN_COUNTER.evaluate(reset_global)
    assert not result.passed
    assert "left it empty" in _failed(result) and "scope['state']" in _failed(result)


def test_a_counter_in_the_lifespan_scope_is_not_called_a_global() -> None:
    """The requests' KeyError is the clue: no guess at a global variable, no silent note."""
    result = course_06.ASGI_LIFESPAN_COUNTER.evaluate(counter_in_the_scope_itself)
    text = str(result)
    assert "a global variable?" not in text and "see the rows that name the problems" not in text, (
        text
    )
    assert "fine for an app that serves only that" not in text, text
    assert result.report is not None and "asgi.unsupported-scope" not in result.report.rules()


def test_int_body_is_not_blamed_on_the_shallow_copy() -> None:
    failed = _failed(course_06.ASGI_LIFESPAN_COUNTER.evaluate(counter_int_body))
    assert "shallow copy" not in failed and "bytes(...)" not in failed, failed


def test_zero_bytes_advice_is_given_once_not_on_every_request() -> None:
    from tests.corpus.exercises_asgi_more import counter_zero_bytes

    result = course_06.ASGI_LIFESPAN_COUNTER.evaluate(counter_zero_bytes)
    text = "\n".join(t for _, t in result.lines)
    assert not result.passed
    assert text.count("bytes(n) makes n zero bytes") == 1, text
    assert "got b'\\x00\\x00\\x00'" in text, text


def test_replaced_state_gets_one_row_that_says_what_to_write() -> None:
    from tests.corpus.exercises_asgi_more import counter_rebinds_state as app

    result = course_06.ASGI_LIFESPAN_COUNTER.evaluate(app)
    rows = [t for m, t in result.lines if "scope['state']" in t]
    assert not result.passed
    assert any(t.startswith("scope['state']: the startup replaced it") for t in rows), rows
    assert not any(t.startswith("asgi.lifespan-state-replaced") for t in rows), rows
    # the checker itself keeps the warning, and takes the failing requests for errors
    report = gl.check_asgi(app)
    assert "asgi.lifespan-state-replaced" in report.rules("warning")
    assert "asgi.unsupported-scope" not in report.rules(), str(report)


def test_shutdown_is_checked_and_confirmed() -> None:
    result = course_06.ASGI_LIFESPAN_COUNTER.evaluate(_solution("asgi-lifespan-counter"))
    answered = "lifespan shutdown: the app answered 'lifespan.shutdown.complete', then returned"
    assert ("✓", answered) in result.lines
    returned = course_06.ASGI_LIFESPAN_COUNTER.evaluate(counter_returns_after_startup)
    (line,) = [text for mark, text in returned.lines if text.startswith("lifespan shutdown")]
    assert ("✗", line) in returned.lines and "lifespan.shutdown.complete" in line


# -- typical wrong answers: echo body (the shared exercise, as this notebook uses it) ----
async def echo_first_message(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message["body"]})


async def echo_str_headers(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [("x", "y")]})
    await send({"type": "http.response.body", "body": body})


async def echo_each_piece(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
        await send({"type": "http.response.body", "body": message.get("body", b"")})  # ends it


async def echo_without_await(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    send({"type": "http.response.start", "status": 200, "headers": []})
    send({"type": "http.response.body", "body": body})


async def echo_loop_never_runs(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    body, more_body = b"", False  # so the loop below never runs
    while more_body:
        message = await receive()
        body += message.get("body", b"")
        more_body = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def echo_receive_not_awaited(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    message = receive()  # no await: a coroutine, not the message
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message.get("body", b"")})


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            echo_loop_never_runs,
            ["got b''. receive() was never called", "more_body = True", "never runs"],
        ),
        (echo_without_await, ["asgi.send-not-awaited", "write `await send(...)`"]),
        (echo_first_message, ["asgi.body-partly-read", "got b'first part, '"]),
        (echo_str_headers, ["asgi.header-not-bytes"]),
        (echo_each_piece, ["asgi.send-after-complete"]),
    ],
)
def test_echo_wrong_answer_gets_the_right_feedback(answer: Any, expected: list[str]) -> None:
    result = gl.exercise("asgi-echo-body").evaluate(answer)
    assert not result.passed, str(result)
    shown = "\n".join(text for mark, text in result.lines if mark != "✓")
    for words in expected:
        assert words in shown, shown


def test_echo_never_receiving_is_said_on_the_bodies_only() -> None:
    result = gl.exercise("asgi-echo-body").evaluate(echo_loop_never_runs)
    hinted = [text for mark, text in result.lines if "receive() was never called" in text]
    assert len(hinted) == 2, str(result)  # the two posted bodies; the empty one passes
    assert all(text.startswith("POST /") and "body should be" in text for text in hinted)


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_echo_receive_not_awaited_is_not_called_never_received() -> None:
    result = gl.exercise("asgi-echo-body").evaluate(echo_receive_not_awaited)
    text = str(result)
    assert "asgi.receive-not-awaited" in text and "receive() was never called" not in text, text


def test_echo_without_await_is_not_called_a_missing_response() -> None:
    result = gl.exercise("asgi-echo-body").evaluate(echo_without_await)
    assert result.report is not None and "asgi.no-response" not in result.report.rules()


# -- every ASGI reference solution rejects the scopes it does not serve -------------------
# The lesson teaches the spec's "Applications should actively reject any protocol that
# they do not understand with an Exception": a solution that returns instead gets an
# asgi.unsupported-scope note from gl.check_asgi. All of notebooks/solutions/asgi_*.py,
# lessons 06, 07 and 09 alike, so that a new solution is covered too.
ASGI_SOLUTION_FILES = sorted(SOLUTIONS.glob("asgi_*.py"))
NOT_AN_ASGI_APP = {"asgi_to_wsgi_bridge.py"}  # a WSGI wrapper around an ASGI app


def _namespace_for_solutions() -> dict[str, Any]:
    """The names a solution may use from its notebook (lesson 09's guestbook helpers)."""
    notebook = json.loads((SOLUTIONS.parent / "09-labs.ipynb").read_text(encoding="utf-8"))
    helpers = next(c["source"] for c in notebook["cells"] if c["id"] == "guestbook-helpers")
    names: dict[str, Any] = {"gl": gl}
    exec("from urllib.parse import parse_qs", names)
    exec("".join(helpers), names)
    return names


def _asgi_apps(path: Path) -> list[Any]:
    """The ASGI apps (``async def f(scope, receive, send)``) that the file ``path`` defines."""
    found = runpy.run_path(str(path), init_globals=_namespace_for_solutions())
    apps = {
        id(value): value
        for value in found.values()
        if inspect.iscoroutinefunction(value)
        and value.__code__.co_filename == str(path)
        and list(inspect.signature(value).parameters) == ["scope", "receive", "send"]
    }
    return list(apps.values())


def _scope_complaints(app: Any) -> list[str]:
    """What gl.check_asgi says about how ``app`` turns scope types away ([] if nothing).

    An app that serves no HTTP at all (a WebSocket-only one) always gets a note that
    only its other side was checked; that note is fine as long as it does not ask for
    an exception in place of a return.
    """
    report = gl.check_asgi(app, [gl.Probe("GET", "/")], timeout=0.5)
    return [
        f"{f.message} {f.hint}"
        for f in report.findings
        if f.rule == "asgi.unsupported-scope"
        and not ("side was checked" in f.message and not f.hint and "return" not in f.message)
    ]


@pytest.mark.parametrize("path", ASGI_SOLUTION_FILES, ids=lambda p: p.name)
def test_every_asgi_solution_raises_for_scope_types_it_does_not_serve(path: Path) -> None:
    apps = _asgi_apps(path)
    if path.name in NOT_AN_ASGI_APP:
        assert not apps, path.name
        return
    assert apps, f"{path.name} defines no `async def ...(scope, receive, send)`"
    for app in apps:
        assert _scope_complaints(app) == [], path.name
    assert "returning says so" not in path.read_text(encoding="utf-8")


def test_a_solution_that_returns_for_other_scopes_is_caught() -> None:
    """The guard above is not vacuous: the old `return` in asgi_echo_body.py is flagged."""
    source = (SOLUTIONS / "asgi_echo_body.py").read_text(encoding="utf-8")
    raising = "raise RuntimeError(f\"unsupported scope type {scope['type']!r}\")"
    assert raising in source
    names: dict[str, Any] = {}
    exec(source.replace(raising, "return"), names)
    (complaint,) = _scope_complaints(names["echo_app"])
    assert "lifespan and websocket" in complaint and "A return is tolerated" in complaint
    assert "actively reject any protocol" in complaint and "raise RuntimeError" in complaint


# -- the notebook and its solutions agree ------------------------------------------------
def _notebook_cells() -> dict[str, str]:
    notebook = json.loads((SOLUTIONS.parent / "06-asgi.ipynb").read_text(encoding="utf-8"))
    return {cell["id"]: "".join(cell["source"]) for cell in notebook["cells"]}


@pytest.mark.parametrize(("name", "cell"), [(n, f"ex{i}") for i, n in enumerate(EXERCISES, 1)])
def test_loaded_solution_replaces_what_the_check_cell_checks(name: str, cell: str) -> None:
    """%load a solution, re-run the check cell: it must check the solution."""
    cells = _notebook_cells()
    function = SCAFFOLD_NAMES[name]
    assert f'gl.exercise("{name}")({function})' in cells[f"{cell}-check"]
    assert f"async def {function}(" in cells[f"{cell}-scaffold"]
    assert f"%load solutions/{name.replace('-', '_')}.py" in cells[f"{cell}-md"]
    _solution(name)  # the solution defines that very name


MISTAKE_RULES = [
    "asgi.body-before-start",
    "asgi.body-not-bytes",
    "asgi.response-incomplete",
    "asgi.send-after-complete",
    "asgi.header-not-bytes",
    "asgi.body-partly-read",
    "asgi.send-not-awaited",
]


def test_lesson_counts_seven_mistakes_everywhere() -> None:
    cells = _notebook_cells()
    table = [
        line
        for line in cells["mistakes-md"].splitlines()
        if line.startswith("| ") and "`asgi." in line
    ]
    assert [line.split("`asgi.")[1].split("`")[0] for line in table] == [
        rule.removeprefix("asgi.") for rule in MISTAKE_RULES
    ]
    for rule in MISTAKE_RULES:
        assert f"`{rule}`" in cells["summary"], rule
    for cell in ("title", "mistakes-md", "summary"):
        assert "seven" in cells[cell].lower() and "six" not in cells[cell].lower(), cell


def test_lesson_has_its_stated_time_and_one_break_point() -> None:
    cells = _notebook_cells()
    assert "**Time:** about 105 minutes" in cells["title"]
    breaks = [c for c, text in cells.items() if text.startswith("**☕ Break point.**")]
    assert breaks == ["break-point"], breaks


# -- the mistakes of section 9 that the lesson shows only in its table --------------------
# (copied from the cells they had in the lesson before the table replaced them)
async def _str_body(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": "Hello, world!"})


async def _after_end(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"Hello, "})
    await send({"type": "http.response.body", "body": b"world!"})


async def _str_headers(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    await send(
        {"type": "http.response.start", "status": 200, "headers": [("content-type", "text/plain")]}
    )
    await send({"type": "http.response.body", "body": b"Hello, world!"})


async def _one_message(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    message = await receive()  # only the first piece!
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message["body"]})


@pytest.mark.parametrize(
    ("app", "rule", "severity"),
    [
        (_str_body, "asgi.body-not-bytes", "error"),
        (_after_end, "asgi.send-after-complete", "error"),
        (_str_headers, "asgi.header-not-bytes", "error"),
        (_one_message, "asgi.body-partly-read", "warning"),
    ],
)
def test_table_mistake_is_named_by_the_checker(app: Any, rule: str, severity: str) -> None:
    report = gl.check_asgi(app)
    assert rule in report.rules(severity), report


def test_one_message_reads_one_of_the_three_posted_pieces() -> None:
    report = gl.check_asgi(_one_message)
    post = next(
        e.connection
        for e in report.flow.of_kind("scope")
        if e.payload["scope"].get("method") == "POST"
    )
    receives = [e for e in report.flow.of_kind("receive") if e.connection == post]
    assert len(receives) == 1, receives


# -- the middleware of section 8 -----------------------------------------------------------
def _timed(app: Any) -> Any:
    import time

    async def middleware(scope: Any, receive: Any, send: Any) -> Any:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                took = f"{(time.perf_counter() - started) * 1000:.2f} ms".encode()
                message = {**message, "headers": [*message["headers"], (b"x-response-time", took)]}
            await send(message)

        scope = {**scope, "path": scope["path"].rstrip("/") or "/"}
        await app(scope, receive, timed_send)

    return middleware


def test_middleware_cell_matches_the_tested_copy() -> None:
    cell = _notebook_cells()["middleware"]
    assert "return await app(scope, receive, send)" in cell
    assert 'scope = {**scope, "path": scope["path"].rstrip("/") or "/"}' in cell
    assert '(b"x-response-time", took)' in cell


def test_middleware_copies_the_scope_and_passes_lifespan_through() -> None:
    seen: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        if scope["type"] != "http":
            raise RuntimeError("http only")
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    response = gl.call_asgi(_timed(inner), path="/menu/")
    assert response.body == b"/menu"
    assert response.header("x-response-time", "").endswith(" ms")
    report = gl.check_asgi(_timed(inner))
    assert report.ok and not report.warnings, report
    lifespan = [s for s in seen if s["type"] == "lifespan"]
    assert lifespan, [s["type"] for s in seen]


def test_middleware_leaves_the_callers_scope_unchanged() -> None:
    import asyncio

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = {"type": "http", "path": "/menu/", "headers": []}

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(_timed(inner)(scope, receive, send))
    assert scope["path"] == "/menu/"
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


def test_lesson_apps_raise_for_scopes_they_do_not_handle() -> None:
    cells = _notebook_cells()
    for cell in ("lifespan-app", "startup-fail", "ex1-scaffold", "ex2-scaffold", "ex3-scaffold"):
        assert 'raise RuntimeError(f"unsupported scope type' in cells[cell], cell


def test_flow_panel_shows_the_hello_worlds_headers_as_a_list_of_pairs() -> None:
    """One pair in brackets of its own: not read as a flat list of two bytes."""
    from gateway_lab.views.html import format_payload

    start = {"type": "http.response.start", "headers": [[b"content-type", b"text/plain"]]}
    assert "headers: [\n  [b'content-type', b'text/plain'],\n]" in format_payload(start)
    assert "headers: []" in format_payload({"type": "http.response.start", "headers": []})


def test_countdown_is_timed_with_a_client_made_before_the_clock() -> None:
    cell = _notebook_cells()["countdown-read"]
    assert cell.index("httpx.Client(") < cell.index("time.perf_counter()")
    assert "httpx.stream(" not in cell


# -- claims of the lesson beyond its quiet checks ----------------------------------------
async def _article_hello(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [[b"content-type", b"text/plain"]],
        }
    )
    await send({"type": "http.response.body", "body": b"Hello, world!"})


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
def test_article_hello_is_offered_lifespan_first_and_still_serves(engine: str) -> None:
    recorded, flow = gl.record_asgi(_article_hello)
    with gl.serve_asgi(recorded, name=f"nb06-hello-{engine}", engine=engine) as server:
        reply = httpx.get(server.url, timeout=5)
    assert reply.content == b"Hello, world!"
    assert [e.payload["type"] for e in flow.of_kind("scope")] == ["lifespan", "http"]


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
def test_lifespan_state_reaches_requests_as_a_shallow_copy(engine: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _dict_lifespan(scope, receive, send)
            return
        state = scope["state"]
        state["counter"]["count"] += 1  # shared object: survives
        state["plain"] = state.get("plain", 0) + 1  # key of the copy: lost
        await _answer(send, state["counter"]["count"] * 10 + state["plain"])

    with gl.serve_asgi(app, name=f"nb06-state-{engine}", engine=engine) as server:
        answers = [httpx.get(server.url, timeout=5).text for _ in range(3)]
    assert answers == ["11", "21", "31"]


async def _cannot_start(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database at db:5432"})


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
def test_failed_startup_refuses_to_serve(engine: str) -> None:
    with pytest.raises(gl.ServerStartError):
        gl.serve_asgi(_cannot_start, name=f"nb06-fail-{engine}", engine=engine)
    assert f"nb06-fail-{engine}" not in gl.servers()


def test_failed_startup_on_mini_quotes_the_app() -> None:
    with pytest.raises(gl.ServerStartError, match="no database at db:5432"):
        gl.serve_asgi(_cannot_start, name="nb06-fail-quote", engine="mini")


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
def test_unfinished_response_breaks_the_client(engine: str) -> None:
    with gl.serve_asgi(count_never_ends, name=f"nb06-open-{engine}", engine=engine) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(server.url, timeout=5)
