"""Notebook 03's exercise: the reference solution passes, typical mistakes are named.

The exercise (``gateway_lab.course.wsgi_server``) runs small apps through a
learner's ``respond(app, environ, send_head, send_body)``. Each wrong answer
below is a mistake a learner is likely to make; the test asserts which cases
fail (by their stable titles), not the exact wording.
"""

from __future__ import annotations

import json
import re
import runpy
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gateway_lab.course.wsgi_server import CASES, RESPOND, ServerPartExercise
from gateway_lab.exercises.framework import _REGISTRY
from gateway_lab.exercises.result import ExerciseResult

SOLUTION = Path(__file__).parent.parent / "notebooks" / "solutions" / "wsgi_server_respond.py"
ALL_TITLES = {case.title for case in CASES}


def failed_titles(result: ExerciseResult) -> set[str]:
    """The titles of the cases with at least one ✗ line."""
    return {text.split(":", 1)[0] for mark, text in result.lines if mark == "✗"}


def solution() -> Any:
    return runpy.run_path(str(SOLUTION))["respond_complete"]


# -- typical wrong answers -------------------------------------------------


def respond_from_step_4(app: Any, environ: Any, send_head: Any, send_body: Any) -> None:
    """The notebook's first respond: no write(), no exc_info, no one-call rule."""
    status = headers = None
    head_sent = False

    def start_response(new_status: Any, new_headers: Any, exc_info: Any = None) -> None:
        nonlocal status, headers
        status, headers = new_status, new_headers

    body = app(environ, start_response)
    try:
        for chunk in body:
            if chunk:
                if not head_sent:
                    send_head(status, headers)
                    head_sent = True
                send_body(chunk)
        if not head_sent:
            send_head(status, headers)
    finally:
        if hasattr(body, "close"):
            body.close()


def make_respond(
    *,
    eager_head: bool = False,
    close: bool = True,
    reraise: bool = True,
    head_every_write: bool = False,
    refuse_twice: bool = True,
    head_on_empty_chunk: bool = False,
    head_in_start_response: bool = False,
    close_twice: bool = False,
    swallow: bool = False,
    write_without_head: bool = False,
    swallow_send_errors: bool = False,
    hold_back: bool = False,
    one_call_check_first: bool = False,
    raise_own_error: bool = False,
    stop_on_send_error: str = "",
) -> Any:
    """A respond with one chosen mistake (the defaults make a correct one).

    ``stop_on_send_error`` is not a mistake: ``"quietly"`` catches the send
    error around the loop and returns, ``"flag"`` notes it in write() and
    stops at the top of the loop's next turn (one chunk more from the app).
    """

    def respond(app: Any, environ: Any, send_head: Any, send_body: Any) -> None:
        state: dict[str, Any] = {"status": None, "headers": None, "sent": False}
        held: list[bytes] = []
        gone = [False]

        def send_head_once() -> None:
            if head_every_write or not state["sent"]:
                send_head(state["status"], state["headers"])
                state["sent"] = True

        def write(data: bytes) -> None:
            if hold_back:
                held.append(data)
                return
            try:
                if (data or head_on_empty_chunk) and not write_without_head:
                    send_head_once()
                if data:
                    send_body(data)
            except OSError:
                gone[0] = True
                if not (swallow_send_errors or stop_on_send_error == "flag"):
                    raise

        def start_response(status: Any, headers: Any, exc_info: Any = None) -> Any:
            if one_call_check_first and state["status"] is not None:
                raise RuntimeError("start_response() twice")
            if exc_info is not None:
                if state["sent"] and raise_own_error:
                    raise RuntimeError("headers already sent, cannot change status") from (
                        exc_info[1]
                    )
                if state["sent"] and reraise:
                    raise exc_info[1].with_traceback(exc_info[2])
            elif state["status"] is not None and refuse_twice:
                raise RuntimeError("start_response() twice")
            state["status"], state["headers"] = status, headers
            if head_in_start_response:
                send_head_once()  # the head goes out at once, before any body
            return write

        body = app(environ, start_response)
        if eager_head:
            send_head_once()
        try:
            try:
                for chunk in body:
                    if gone[0] and stop_on_send_error == "flag":
                        break  # the client left: stop asking the app for more
                    if chunk and not hold_back:
                        send_head_once()  # the loop's own head, when write() sends none
                    write(chunk)
            except OSError:
                if stop_on_send_error != "quietly":
                    raise
            except Exception:
                if not swallow:
                    raise
            if hold_back:
                send_head_once()
                send_body(b"".join(held))  # everything at once, at the end
            if not state["sent"]:
                send_head_once()
            if close_twice and hasattr(body, "close"):
                body.close()  # once here, and once more in the finally block
        finally:
            if close and hasattr(body, "close"):
                body.close()

    return respond


# -- tests -------------------------------------------------------------------


def test_reference_solution_passes() -> None:
    result = RESPOND.evaluate(solution())
    assert result.passed, str(result)
    assert not result.unfinished
    assert {text.split(":", 1)[0] for _, text in result.lines} == ALL_TITLES


def test_a_correct_answer_written_differently_passes() -> None:
    assert RESPOND.evaluate(make_respond()).passed


def test_the_notebooks_first_respond_lacks_write_exc_info_and_the_one_call_rule() -> None:
    result = RESPOND.evaluate(respond_from_step_4)
    assert not result.passed
    assert failed_titles(result) == {
        "write()",
        "exc_info after the body started",
        "start_response twice",
    }
    write_line = next(t for m, t in result.lines if m == "✗" and t.startswith("write()"))
    assert "return write" in write_line


def test_sending_the_head_before_iterating_is_named() -> None:
    result = RESPOND.evaluate(make_respond(eager_head=True))
    # every generator app calls start_response only when iterated
    assert failed_titles(result) == {
        "start_response inside a generator",
        "exc_info after an empty chunk",
        "exc_info after the body started",
    }
    assert any("first non-empty chunk" in text for _, text in result.lines)


def test_sending_the_head_for_an_empty_chunk_is_named_as_such() -> None:
    """The cause is the head sent for b'', not the exc_info step that then had to raise."""
    result = RESPOND.evaluate(make_respond(head_on_empty_chunk=True))
    assert failed_titles(result) == {"exc_info after an empty chunk"}, str(result)
    (line,) = [t for m, t in result.lines if m == "✗"]
    assert "your server sent the head for an empty chunk" in line
    assert "must replace" not in line and "respond raised" not in line


def test_sending_the_head_from_start_response_is_named_as_such() -> None:
    """The head went out inside start_response, not for the empty chunk: say that."""
    result = RESPOND.evaluate(make_respond(head_in_start_response=True))
    assert failed_titles(result) == {
        "exc_info before the body",
        "exc_info after an empty chunk",
    }, str(result)
    failures = [text for mark, text in result.lines if mark == "✗"]
    assert len(failures) == 2, str(result)
    for text in failures:
        assert "your start_response sent the head" in text, text
        assert "start_response must only remember the status and headers" in text, text
        assert "the head goes out with the first non-empty body chunk" in text, text
        assert '"the start_response callable must not actually transmit the response headers"' in (
            text
        )
        assert "for an empty chunk" not in text and "yielded b''" not in text, text
        assert "nothing was sent yet" not in text and "respond raised" not in text, text


def test_a_head_sent_for_the_empty_chunk_is_not_blamed_on_start_response() -> None:
    result = RESPOND.evaluate(make_respond(head_on_empty_chunk=True))
    assert not any("your start_response sent the head" in text for _, text in result.lines)


def test_closing_the_body_twice_is_a_warning_not_a_failure() -> None:
    result = RESPOND.evaluate(make_respond(close_twice=True))
    assert result.passed, str(result)
    warnings = [text for mark, text in result.lines if mark == "!"]
    assert len(warnings) == 1, str(result)  # one row for every case it happened in
    (warning,) = warnings
    assert "close() was called more than once" in warning
    assert "a list body (2 calls)" in warning and "write() (2 calls)" in warning
    assert "the client hangs up" not in warning  # its loop ended in the error: closed once
    assert '"upon completion of the current request"' in warning
    assert len(str(result).splitlines()) <= 12, str(result)


def test_closing_the_body_once_gets_no_warning() -> None:
    for answer in (solution(), make_respond()):
        result = RESPOND.evaluate(answer)
        assert all(mark == "✓" for mark, _ in result.lines), str(result)


def test_forgetting_close_is_named_on_every_path() -> None:
    result = RESPOND.evaluate(make_respond(close=False))
    assert failed_titles(result) == {
        "a list body",
        "an empty body",
        "start_response inside a generator",
        "exc_info after the body started",
        "the client hangs up",
    }
    assert all("close()" in text for mark, text in result.lines if mark == "✗")


def test_replacing_the_status_after_the_head_went_out_is_named() -> None:
    result = RESPOND.evaluate(make_respond(reraise=False))
    assert failed_titles(result) == {"exc_info after the body started"}
    assert any("exc_info[1].with_traceback" in text for _, text in result.lines)


def test_swallowing_the_apps_error_is_named_not_blamed_on_start_response() -> None:
    """start_response re-raised, as it must; respond's except around the loop ate it."""
    result = RESPOND.evaluate(make_respond(swallow=True))
    assert failed_titles(result) == {"exc_info after the body started"}, str(result)
    (line,) = [t for m, t in result.lines if m == "✗"]
    assert "respond caught the app's error and returned normally" in line
    assert "do not catch it around the loop" in line
    assert "let it out after the finally (which still calls close())" in line
    assert "with_traceback" not in line  # start_response is not the part to change


def test_a_start_response_that_does_not_reraise_is_still_told_to() -> None:
    """Both mistakes at once: start_response is the first to fix."""
    result = RESPOND.evaluate(make_respond(reraise=False, swallow=True))
    late = [t for m, t in result.lines if m == "✗" and t.startswith("exc_info after the body")]
    line = next(t for t in late if "re-raise" in t)
    assert "exc_info[1].with_traceback" in line and "caught the app's error" not in line


def test_a_write_that_sends_no_head_is_told_to_send_it_first() -> None:
    result = RESPOND.evaluate(make_respond(write_without_head=True))
    assert failed_titles(result) == {"write()"}, str(result)
    (line,) = [t for m, t in result.lines if m == "✗"]
    assert "write() must send the head first, if it has not gone out yet" in line
    assert "(the same flag the loop uses)" in line
    assert "Keep a flag such as head_sent" not in line


def test_sending_the_head_more_than_once_is_named() -> None:
    result = RESPOND.evaluate(make_respond(head_every_write=True))
    assert {"a list body", "write()"} <= failed_titles(result)
    assert any("exactly once" in text for _, text in result.lines)


def test_taking_a_second_status_quietly_is_named() -> None:
    result = RESPOND.evaluate(make_respond(refuse_twice=False))
    assert failed_titles(result) == {"start_response twice"}


def respond_whose_write_swallows_send_errors(
    app: Any, environ: Any, send_head: Any, send_body: Any
) -> None:
    """From a learner walk: all else right, but write() eats the client's hang-up."""
    status = headers = None
    head_sent = False

    def write(data: bytes) -> None:
        nonlocal head_sent
        if not data:
            return
        try:
            if not head_sent:
                send_head(status, headers)
                head_sent = True
            send_body(data)
        except OSError:
            pass

    def start_response(new_status: Any, new_headers: Any, exc_info: Any = None) -> Any:
        nonlocal status, headers
        if exc_info is not None:
            try:
                if head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif status is not None:
            raise RuntimeError("start_response() twice")
        status, headers = new_status, new_headers
        return write

    body = app(environ, start_response)
    try:
        for chunk in body:
            write(chunk)
        if not head_sent:
            send_head(status, headers)
    finally:
        if hasattr(body, "close"):
            body.close()


def test_a_server_that_keeps_running_the_app_after_the_client_left_fails() -> None:
    """close() ran, but only after the app had made all its chunks for nobody."""
    for answer in (
        respond_whose_write_swallows_send_errors,
        make_respond(swallow_send_errors=True),
    ):
        result = RESPOND.evaluate(answer)
        assert failed_titles(result) == {"the client hangs up"}, str(result)
        (line,) = [t for m, t in result.lines if m == "✗"]
        assert "your server kept running the app after the client left" in line
        assert "asked the app for 998 more chunks" in line
        assert "Let the send error end the loop (do not catch it)" in line
        assert "close() runs in the finally block" in line


@pytest.mark.parametrize("how", ["quietly", "flag"])
def test_a_server_that_stops_when_the_client_left_passes(how: str) -> None:
    """Catching the send error is fine if the loop ends there (or on its next turn)."""
    result = RESPOND.evaluate(make_respond(stop_on_send_error=how))
    assert result.passed, str(result)
    assert "stopped running the app once send_body failed" in str(result)


def test_holding_the_body_back_until_the_app_is_done_is_named() -> None:
    """PEP 3333: servers "must not delay the transmission of any block"."""
    result = RESPOND.evaluate(make_respond(hold_back=True))
    assert failed_titles(result) == {"exc_info after the body started", "the client hangs up"}
    failures = [t for m, t in result.lines if m == "✗"]
    assert len(failures) == 2, str(result)
    for line in failures:
        assert "your server held the body back" in line, line
        assert "before asking for the next one" in line, line
        assert '"must not delay the transmission of any block"' in line, line
        assert "must re-raise" not in line and "the status sent should be" not in line, line
    assert "b'partnever'" in failures[0]
    assert "an endless stream would never send anything" in failures[1]


def test_a_respond_that_raises_gets_one_row_per_case_not_its_consequences() -> None:
    """The one-call check before the exc_info one: the raise is the cause, once."""
    result = RESPOND.evaluate(make_respond(one_call_check_first=True))
    assert failed_titles(result) == {
        "exc_info before the body",
        "exc_info after an empty chunk",
        "exc_info after the body started",
    }, str(result)
    failures = [t for m, t in result.lines if m == "✗"]
    assert len(failures) == 3, str(result)
    text = "\n".join(failures)
    assert text.count("must replace the status and headers, not raise") == 2
    assert "Keep a flag such as head_sent" not in text and "got None" not in text
    assert "your start_response raised RuntimeError: start_response() twice instead" in text


def test_a_correct_app_that_makes_respond_raise_gets_the_error_and_close_only() -> None:
    def broken(app: Any, environ: Any, send_head: Any, send_body: Any) -> None:
        body = app(environ, lambda status, headers, exc_info=None: None)
        try:
            raise KeyError("oops")
        finally:
            getattr(body, "close", lambda: None)()

    result = RESPOND.evaluate(broken)
    rows = [t for _, t in result.lines if t.startswith("a list body")]
    assert len(rows) == 2, str(result)
    assert "respond raised KeyError" in rows[0] and "close() was called" in rows[1]


def test_raising_another_error_after_the_head_went_out_is_told_the_real_reason() -> None:
    """PEP 3333 asks for "an error" and recommends the app's own; the exercise asks for it."""
    result = RESPOND.evaluate(make_respond(raise_own_error=True))
    assert failed_titles(result) == {"exc_info after the body started"}, str(result)
    (line,) = [t for m, t in result.lines if m == "✗"]
    assert '"should re-raise using the exc_info tuple"' in line
    assert "raise exc_info[1].with_traceback(exc_info[2])" in line
    assert "RuntimeError: headers already sent, cannot change status instead" in line
    assert "cuts the connection" not in line  # a RuntimeError would make it cut it too


def test_a_head_sent_for_an_empty_chunk_is_not_said_to_have_been_reraised() -> None:
    """The feedback says what the code did: it sent the head early, whatever came next."""
    for reraise in (True, False):
        result = RESPOND.evaluate(make_respond(head_on_empty_chunk=True, reraise=reraise))
        line = next(t for m, t in result.lines if m == "✗" and "after an empty chunk" in t)
        assert "your server sent the head for an empty chunk" in line
        assert "re-raised" not in line, line
        assert '"only after the first iteration' in line


@pytest.mark.parametrize("answer", [None, Ellipsis, 42, lambda app, environ: None])
def test_unfinished_answers_get_a_sentence_not_an_exception(answer: Any) -> None:
    result = RESPOND.evaluate(answer)
    assert not result.passed
    assert result.unfinished
    assert not result.lines


def test_the_notebook_scaffold_is_unfinished_and_check_prints_without_raising(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def respond_complete(app: Any, environ: Any, send_head: Any, send_body: Any) -> None:
        raise NotImplementedError("write your respond_complete here")

    result = RESPOND(respond_complete)
    assert not result.passed
    assert "NotImplementedError" in result.unfinished
    assert "not finished yet" in capsys.readouterr().out


def test_a_respond_that_never_finishes_is_reported_not_waited_for() -> None:
    quick = ServerPartExercise("slow", "slow", CASES[:2], timeout=0.1)

    def slow_respond(app: Any, environ: Any, send_head: Any, send_body: Any) -> None:
        time.sleep(0.5)

    started = time.monotonic()
    result = quick.evaluate(slow_respond)
    assert time.monotonic() - started < 0.45
    assert not result.passed
    assert all("did not finish" in text for _, text in result.lines)


def test_the_exercise_is_registered_by_name() -> None:
    # The registry itself: gl.exercise() also imports every other course module.
    assert _REGISTRY["wsgi-server-respond"] is RESPOND


def test_the_solution_works_as_a_real_server_part() -> None:
    """The notebook's reward cell: the solution serves a write() app over a socket."""
    import io

    sent: list[bytes] = []

    def write_app(environ: Any, start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written, ")
        return [b"returned"]

    environ = {"REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr}
    solution()(write_app, environ, lambda s, h: sent.append(s.encode()), sent.append)
    assert sent == [b"200 OK", b"written, ", b"returned"]


# -- the notebook's text ---------------------------------------------------

NOTEBOOKS = SOLUTION.parent.parent
NOTEBOOK = NOTEBOOKS / "03-wsgi-server.ipynb"


def _cells() -> dict[str, str]:
    return {c["id"]: "".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]}


def _title(number: str) -> str:
    (path,) = NOTEBOOKS.glob(f"{number}-*.ipynb")
    return "".join(json.loads(path.read_text())["cells"][0]["source"]).splitlines()[0]


NUMBERS = {"eight": 8, "nine": 9, "ten": 10, "eleven": 11}


def test_the_exercise_text_names_every_case_the_check_runs() -> None:
    text = _cells()["exercise"]
    counted = re.search(r"The check runs (\w+) small apps", text)
    assert counted and NUMBERS[counted.group(1)] == len(CASES)
    for words in ("list body", "empty body", "generator", "write()", "before the body"):
        assert words in text, words
    assert "after an empty chunk" in text and "after the body started" in text
    assert "double `start_response`" in text and "hangs up" in text


def test_no_link_leaves_the_notebooks_folder() -> None:
    """JupyterLab opens the notebooks folder: a link to ../ leads nowhere there."""
    assert not re.search(r"\]\(\.\./", "\n".join(_cells().values()))


def test_the_asgi_notebooks_it_points_at_are_about_asgi() -> None:
    markdown = "\n".join(_cells().values())
    pointed = re.findall(r"ASGI notebooks \((\d\d) onwards\)", markdown)
    assert pointed
    for number in pointed:
        assert "ASGI" in _title(number).partition(":")[0], (number, _title(number))


def test_remote_port_is_not_credited_to_cgi() -> None:
    """RFC 3875 defines REMOTE_ADDR and REMOTE_HOST, not REMOTE_PORT."""
    text = _cells()["diff-notes"]
    assert "REMOTE_PORT" in text
    assert "(from CGI)" not in text
    assert "not in RFC 3875" in text


def test_the_one_call_rule_shown_in_the_mini_server_is_said_to_raise_through_fatal() -> None:
    """The start_response shown only calls self.problem(...): the prose says why it raises."""
    from gateway_lab.protocol.wsgi import FATAL

    assert "start-response-twice" in FATAL
    text = _cells()["read-notes"]
    assert "`FATAL`" in text and "ProtocolError" in text
    assert "show_source(mini_wsgi._Exchange.send_headers)" in text  # the hook it names
    assert "mini_wsgi._Exchange._send" in _cells()["show-start-response"]


def test_the_framing_summary_is_computed_from_the_table() -> None:
    """werkzeug and the tiny server send no Content-Length for one chunk: not "everyone"."""
    code = _cells()["headers-check"]
    assert "Content-Length for one chunk;" not in code
    assert "with_length" in code


def test_the_cgi_cell_keeps_the_exercise_result() -> None:
    """The reward cell reads `result.passed`: a later cell must not reuse the name."""
    cells = _cells()
    assert "result.passed" in cells["exercise-reward"]
    later = list(cells)[list(cells).index("exercise-reward") + 1 :]
    assert not any(re.search(r"^result\s*=", cells[c], re.M) for c in later)


def test_empty_write_is_described_as_each_server_side_does_it() -> None:
    """The mini server's write(b"") sends nothing; the CGI adapter's sends the head."""
    cells = _cells()
    assert 'write(b"")` sends not even the head' in cells["read-notes"]
    assert 'write(b"")` sends the head here' in cells["cgi-adapter-h"]
    assert "if chunk:" in cells["cgi-adapter"] and 'write(b"")' in cells["cgi-adapter"]
    assert "the check accepts both" in cells["exercise"]


def respond_like_the_cgi_adapter(app: Any, environ: Any, send_head: Any, send_body: Any) -> None:
    """Valid: the notebook's CGI adapter, on send_head/send_body. Its write(b"") sends the head."""
    remembered: list[Any] = []
    head_sent = False

    def write(data: bytes) -> None:
        nonlocal head_sent
        if not head_sent:
            send_head(*remembered)
            head_sent = True
        if data:
            send_body(data)

    def start_response(status: Any, headers: Any, exc_info: Any = None) -> Any:
        if exc_info:
            try:
                if head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif remembered:
            raise RuntimeError("start_response() was called twice without exc_info")
        remembered[:] = [status, headers]
        return write

    body = app(environ, start_response)
    try:
        for chunk in body:
            if chunk:
                write(chunk)
        if not head_sent:
            write(b"")
    finally:
        if hasattr(body, "close"):
            body.close()


def test_a_write_that_sends_the_head_for_empty_data_passes_when_the_loop_skips_it() -> None:
    """PEP 3333 allows both readings of write(b""); the notebook says the check accepts both."""
    result = RESPOND.evaluate(respond_like_the_cgi_adapter)
    assert result.passed, str(result)
    assert all(mark == "✓" for mark, _ in result.lines), str(result)


def test_a_str_sent_to_send_body_is_one_row_never_blamed_on_exc_info() -> None:
    from tests.corpus.exercises_wsgi import ANSWERS

    (item,) = [a for a in ANSWERS if a.name == "decodes_each_chunk"]
    result = RESPOND.evaluate(item.answer)
    failed = [t for m, t in result.lines if m == "✗"]
    assert not result.passed
    assert len(failed) == 1 and "respond passed send_body a str" in failed[0], failed
    assert not any("exc_info" in t for t in failed), failed
