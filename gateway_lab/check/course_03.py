"""Notebook 03's exercise: the server's half of PEP 3333, written by the learner.

Theory of operation: in ``03-wsgi-server`` the learner writes
``respond(app, environ, send_head, send_body)``, the part of a WSGI server
that calls the app and sends what it produces: ``start_response`` (which
returns ``write``), the head sent just before the first non-empty chunk,
``exc_info`` (replace the status before the head went out, re-raise after),
and ``close()`` on every path.

Checking needs no socket. Each :class:`ServerCase` builds a fresh app whose
body records its ``close()`` calls, runs the learner's ``respond`` with two
recording stand-ins for the connection (``send_head(status, headers)`` and
``send_body(data)``), and judges the :class:`Run`: what went out, in which
order, what ``respond`` raised, and whether ``close()`` was called. One case
plays a client that hangs up: its ``send_body`` raises ``BrokenPipeError``.
Every case runs in a daemon thread with a deadline, so an endless loop in an
answer becomes a line of feedback instead of a stuck notebook.

The feedback uses :class:`~gateway_lab.check.exercises.ExerciseResult`, so
it looks like every other exercise: one line per expectation, each starting
with the case's title, ✓ or ✗, and a hint for each ✗.

PEP 3333: https://peps.python.org/pep-3333/#the-start-response-callable
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .exercises import Exercise, ExerciseResult, register

__all__ = ["RESPOND", "Run", "ServerCase", "ServerPartExercise", "AppFailure"]

PEP3333_START = "https://peps.python.org/pep-3333/#the-start-response-callable"
PEP3333_ERRORS = "https://peps.python.org/pep-3333/#error-handling"
PEP3333_CLOSE = "https://peps.python.org/pep-3333/#specification-details"
PEP3333_WRITE = "https://peps.python.org/pep-3333/#the-write-callable"

Expectation = tuple[bool, str]


class AppFailure(Exception):
    """The error the checker's apps raise on purpose (so it is easy to recognise)."""


class Probe:
    """Shared between a case's app and its judge: counts close() calls."""

    def __init__(self) -> None:
        self.closed = 0


class ClosingList(list):  # type: ignore[type-arg]
    """A list body with a close() method, like many frameworks' response objects."""

    def __init__(self, items: list[bytes], probe: Probe) -> None:
        super().__init__(items)
        self._probe = probe

    def close(self) -> None:
        self._probe.closed += 1


class ClosingIterator:
    """A body that yields ``chunks`` through ``steps`` and counts close() calls."""

    def __init__(self, steps: Iterator[bytes], probe: Probe) -> None:
        self._steps = steps
        self._probe = probe

    def __iter__(self) -> ClosingIterator:
        return self

    def __next__(self) -> bytes:
        return next(self._steps)

    def close(self) -> None:
        self._probe.closed += 1


@dataclass
class Run:
    """What one call of the learner's ``respond`` did."""

    events: list[tuple[Any, ...]] = field(default_factory=list)  # ("head", s, h) / ("body", b)
    raised: BaseException | None = None
    finished: bool = False
    probe: Probe = field(default_factory=Probe)

    @property
    def heads(self) -> list[tuple[Any, ...]]:
        return [event for event in self.events if event[0] == "head"]

    @property
    def body(self) -> bytes:
        return b"".join(event[1] for event in self.events if event[0] == "body")

    @property
    def status(self) -> Any:
        return self.heads[0][1] if self.heads else None


@dataclass(frozen=True)
class ServerCase:
    """One app to run through ``respond``, and what a correct server does with it."""

    title: str
    make_app: Callable[[Probe], Callable[..., Any]]
    judge: Callable[[Run], list[Expectation]]
    client_hangs_up: bool = False


# -- small judging helpers ------------------------------------------------


def _expect(ok: bool, good: str, bad: str) -> Expectation:
    return (ok, good if ok else bad)


def _one_head(run: Run, status: str) -> list[Expectation]:
    heads = run.heads
    body_first = bool(run.events) and run.events[0][0] != "head"
    results = [
        _expect(
            len(heads) == 1 and not body_first,
            "the head was sent once, before the body",
            (
                f"the head should be sent exactly once, before any body bytes; it was sent "
                f"{len(heads)} time(s){' after body bytes' if body_first else ''}. Keep a "
                f"flag such as head_sent, and send the head only when it is False."
            ),
        )
    ]
    results.append(
        _expect(
            run.status == status,
            f"status {status!r}",
            f"the status sent should be {status!r}, got {run.status!r}.",
        )
    )
    return results


def _no_error(run: Run) -> list[Expectation]:
    if run.raised is None:
        return []
    error = run.raised
    return [
        (
            False,
            f"respond raised {type(error).__name__}: {error}. This app follows PEP 3333, "
            f"so a server must serve it without an error. See {PEP3333_START}",
        )
    ]


def _body(run: Run, wanted: bytes) -> Expectation:
    return _expect(
        run.body == wanted,
        f"body {wanted!r}",
        f"the body sent should be {wanted!r}, got {run.body!r}.",
    )


def _closed(run: Run, when: str) -> Expectation:
    return _expect(
        run.probe.closed >= 1,
        f"close() was called {when}",
        (
            f"the body's close() should be called {when}, but it was not. Iterate inside "
            f"try: ... finally: and call body.close() in the finally block, if the body "
            f"has one. See {PEP3333_CLOSE}"
        ),
    )


# -- the apps and what to expect -----------------------------------------

TEXT = [("Content-Type", "text/plain")]


def _list_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", TEXT)
        return ClosingList([b"Hello, ", b"list"], probe)

    return app


def _judge_list(run: Run) -> list[Expectation]:
    return [
        *_no_error(run),
        *_one_head(run, "200 OK"),
        _body(run, b"Hello, list"),
        _closed(run, "after the last chunk"),
    ]


def _empty_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("204 No Content", [])
        return ClosingList([], probe)

    return app


def _judge_empty(run: Run) -> list[Expectation]:
    results = _no_error(run)
    results.append(
        _expect(
            len(run.heads) == 1 and run.status == "204 No Content",
            "an empty body still gets its head",
            (
                f"with an empty body the head must still go out (once the body is done); "
                f"got {len(run.heads)} head(s). After the loop, send the head if it has "
                f"not been sent yet."
            ),
        )
    )
    results.append(_closed(run, "for an empty body too"))
    return results


def _lazy_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def steps() -> Iterator[bytes]:
            start_response("200 OK", TEXT)  # runs on the first next(), not before
            yield b""
            yield b"lazy"

        return ClosingIterator(steps(), probe)

    return app


def _judge_lazy(run: Run) -> list[Expectation]:
    results = _no_error(run)
    if run.raised is None or run.heads:
        results += _one_head(run, "200 OK")
    results += [_body(run, b"lazy"), _closed(run, "after the last chunk")]
    if run.heads and run.heads[0][1] is None:
        results.append(
            (
                False,
                "the head was sent before the app called start_response (status None). A "
                "generator app calls start_response only when you iterate it: send the "
                "head at the first non-empty chunk, not right after app() returns.",
            )
        )
    return results


def _write_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        write = start_response("200 OK", TEXT)
        if not callable(write):
            raise TypeError(
                f"start_response returned {write!r}; PEP 3333 says it returns the "
                f"write(data) callable"
            )
        write(b"Hello, ")
        write(b"write")
        return ClosingList([b"!"], probe)

    return app


def _judge_write(run: Run) -> list[Expectation]:
    if isinstance(run.raised, TypeError) and "returns the write" in str(run.raised):
        return [
            (
                False,
                f"start_response should return a write(data) function; it returned "
                f"something else. Define write(data) (send the head if needed, then the "
                f"data) and `return write` at the end of start_response. See {PEP3333_WRITE}",
            )
        ]
    return [
        *_no_error(run),
        *_one_head(run, "200 OK"),
        _expect(
            run.body == b"Hello, write!",
            "write() output came first, then the returned body: b'Hello, write!'",
            (
                f"the body should be b'Hello, write!' (what write() sent, then the "
                f"returned list), got {run.body!r}."
            ),
        ),
    ]


def _replace_before_body_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", TEXT)
        try:
            raise AppFailure("the database is down")
        except AppFailure:
            start_response("500 Internal Server Error", TEXT, sys.exc_info())
            return ClosingList([b"sorry"], probe)

    return app


def _judge_replace(run: Run, what: str) -> list[Expectation]:
    results = []
    if run.raised is not None:
        results.append(
            (
                False,
                (
                    f"respond raised {type(run.raised).__name__}: {run.raised}. {what}: "
                    f"nothing was sent yet, so start_response(..., exc_info) must replace "
                    f"the status and headers, not raise. See {PEP3333_ERRORS}"
                ),
            )
        )
    results += [*_one_head(run, "500 Internal Server Error"), _body(run, b"sorry")]
    return results


def _empty_chunk_first_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def steps() -> Iterator[bytes]:
            start_response("200 OK", TEXT)
            yield b""  # an empty chunk sends nothing, not even the head
            try:
                raise AppFailure("the template is missing")
            except AppFailure:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            yield b"sorry"

        return ClosingIterator(steps(), probe)

    return app


def _too_late_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def steps() -> Iterator[bytes]:
            start_response("200 OK", TEXT)
            yield b"part"
            try:
                raise AppFailure("failed in the middle of the body")
            except AppFailure:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            yield b"never"

        return ClosingIterator(steps(), probe)

    return app


def _judge_too_late(run: Run) -> list[Expectation]:
    reraised = isinstance(run.raised, AppFailure)
    if run.raised is None:
        why = "respond returned normally"
    else:
        why = f"it raised {type(run.raised).__name__} instead"
    return [
        _expect(
            reraised,
            "the app's own error came back out of respond (the server can now abort)",
            (
                f"after the head went out, start_response(..., exc_info) must re-raise the "
                f"app's error (raise exc_info[1].with_traceback(exc_info[2])), so that the "
                f"server cuts the connection instead of finishing a response that lies; "
                f"{why}. See {PEP3333_ERRORS}"
            ),
        ),
        *_one_head(run, "200 OK"),
        _body(run, b"part"),
        _closed(run, "even though the app failed"),
    ]


def _twice_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", TEXT)
        start_response("404 Not Found", TEXT)  # a bug: no exc_info
        return ClosingList([b"which status?"], probe)

    return app


def _judge_twice(run: Run) -> list[Expectation]:
    refused = run.raised is not None or str(run.status or "").startswith("5")
    return [
        _expect(
            refused,
            "a second start_response() without exc_info was refused with an error",
            (
                "a second call of start_response() without exc_info is an error in the "
                "app; the server should raise (for example RuntimeError) instead of "
                f"quietly taking the new status. See {PEP3333_START}"
            ),
        )
    ]


def _hang_up_app(probe: Probe) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def steps() -> Iterator[bytes]:
            start_response("200 OK", TEXT)
            for number in range(1000):
                yield f"chunk {number}\n".encode()

        return ClosingIterator(steps(), probe)

    return app


def _judge_hang_up(run: Run) -> list[Expectation]:
    return [_closed(run, "when the client hung up (send_body raised BrokenPipeError)")]


CASES = [
    ServerCase("a list body", _list_app, _judge_list),
    ServerCase("an empty body", _empty_app, _judge_empty),
    ServerCase("start_response inside a generator", _lazy_app, _judge_lazy),
    ServerCase("write()", _write_app, _judge_write),
    ServerCase(
        "exc_info before the body",
        _replace_before_body_app,
        lambda run: _judge_replace(run, "The app replaced its 200 before returning"),
    ),
    ServerCase(
        "exc_info after an empty chunk",
        _empty_chunk_first_app,
        lambda run: _judge_replace(run, "Only an empty chunk came before the error"),
    ),
    ServerCase("exc_info after the body started", _too_late_app, _judge_too_late),
    ServerCase("start_response twice", _twice_app, _judge_twice),
    ServerCase("the client hangs up", _hang_up_app, _judge_hang_up, client_hangs_up=True),
]


def _environ() -> dict[str, Any]:
    import io

    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def run_case(respond: Callable[..., Any], case: ServerCase, timeout: float) -> Run:
    """Run ``respond`` on the case's app, in a daemon thread, for at most ``timeout`` s."""
    run = Run()
    app = case.make_app(run.probe)

    def send_head(status: Any, headers: Any) -> None:
        run.events.append(("head", status, headers))

    def send_body(data: Any) -> None:
        if case.client_hangs_up and run.body:
            raise BrokenPipeError(32, "Broken pipe (the client hung up)")
        run.events.append(("body", bytes(data)))

    def target() -> None:
        try:
            respond(app, _environ(), send_head, send_body)
        except BaseException as exc:  # noqa: B036 - the learner's code may raise anything
            run.raised = exc
        finally:
            run.finished = True

    thread = threading.Thread(target=target, name=f"exercise {case.title}", daemon=True)
    thread.start()
    thread.join(timeout)
    return run


class ServerPartExercise(Exercise):
    """An exercise whose answer is a server part: ``respond(app, environ, head, body)``."""

    def __init__(
        self, name: str, title: str, server_cases: list[ServerCase], timeout: float = 2.0
    ) -> None:
        super().__init__(name, kind="wsgi", cases=[], title=title, timeout=timeout)
        self.server_cases = list(server_cases)

    def __repr__(self) -> str:
        return f"<ServerPartExercise {self.name!r} ({len(self.server_cases)} cases)>"

    def evaluate(self, answer: Any) -> ExerciseResult:
        """Run every case through ``answer`` and judge it. Never raises on an unfinished answer."""
        unfinished = self._unfinished(answer)
        if unfinished:
            return ExerciseResult(self.title, False, unfinished=unfinished)
        lines: list[tuple[str, str]] = []
        for case in self.server_cases:
            run = run_case(answer, case, self.timeout)
            if isinstance(run.raised, NotImplementedError):
                return ExerciseResult(
                    self.title,
                    False,
                    unfinished=(
                        "respond still raises NotImplementedError: replace that line with "
                        "your code, run the cell, then run this check again."
                    ),
                )
            if not run.finished:
                results = [
                    (
                        False,
                        f"respond did not finish within {self.timeout:g} s. Look for a loop "
                        f"that never ends (the body has only a few chunks).",
                    )
                ]
            else:
                results = case.judge(run)
            for ok, text in results:
                lines.append(("✓" if ok else "✗", f"{case.title}: {text}"))
        passed = all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(self.title, passed, lines)

    def _unfinished(self, answer: Any) -> str:
        if answer is None or answer is Ellipsis:
            shown = "None" if answer is None else "`...`"
            return (
                f"The answer is still {shown}. Write respond(app, environ, send_head, "
                f"send_body), run its cell, then run this check again."
            )
        if not callable(answer):
            return (
                f"This check needs your respond function itself, but got a "
                f"{type(answer).__name__}. Pass the function's name without parentheses."
            )
        try:
            inspect.signature(answer).bind(None, {}, None, None)
        except TypeError:
            return (
                "respond must take four arguments, (app, environ, send_head, send_body), "
                "like the respond function earlier in the notebook."
            )
        except ValueError:  # no signature to inspect (a builtin): just try it
            pass
        return ""


RESPOND = register(
    ServerPartExercise(
        "wsgi-server-respond",
        title="The server's half of WSGI: respond()",
        server_cases=CASES,
    )
)
