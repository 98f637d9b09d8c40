"""Server-part exercises: the learner writes part of a WSGI server, we play the rest.

Theory of operation: the answer is ``respond(app, environ, send_head,
send_body)``, the part of a WSGI server that calls the app and sends what it
produces: ``start_response`` (which returns ``write``), the head sent just
before the first non-empty chunk, ``exc_info`` (replace the status before
the head went out, re-raise after), and ``close()`` on every path.

Checking needs no socket. Each :class:`ServerCase` builds a fresh app whose
body counts its ``close()`` calls (a :class:`ClosingList` or a
:class:`ClosingIterator` sharing a :class:`CloseCounter`); :func:`run_case` runs
the learner's ``respond`` on it with two recording stand-ins for the
connection (``send_head(status, headers)`` and ``send_body(data)``) and
returns a :class:`Run`: what went out, in which order, what ``respond``
raised, and how often ``close()`` was called. An app that wants to know
*when* the head went out names the step it is at (``closes.step =
"start_response"``): each head sent records that step in
``Run.head_steps``, so a judge can tell a head sent by ``start_response``
itself from one sent for an empty chunk. The case's ``judge`` turns the
run into :data:`Expectation` lines, with the small helpers here
(:func:`expect`, :func:`head_sent_once`, :func:`no_error`, :func:`body_is`,
:func:`closed`). A case with ``client_hangs_up`` plays a client that goes
away: its ``send_body`` raises ``BrokenPipeError`` after the first chunk.
Every case runs in a daemon thread with a deadline, so an endless loop in an
answer becomes a line of feedback instead of a stuck notebook. A body
closed more than once gets a warning line (!), never a ✗: PEP 3333 asks
for the call "upon completion of the current request", and most close()
methods do no harm the second time. Apps that
fail on purpose raise :class:`AppFailure`, so a judge can tell the app's
error from the learner's.

:class:`ServerPartExercise` runs every case and gives the same feedback as
every other exercise (an :class:`~gateway_lab.exercises.framework.ExerciseResult`):
one line per expectation, each starting with the case's title, ✓ or ✗, with
a hint for each ✗. An unfinished answer (``None``, ``...``, not a function
of four arguments, a body that still raises ``NotImplementedError``) gets a
sentence, never a traceback.

PEP 3333: https://peps.python.org/pep-3333/#the-start-response-callable
"""

from __future__ import annotations

import inspect
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway_lab import specs
from gateway_lab.errors import AppFailure
from gateway_lab.exercises.compact import compact_lines
from gateway_lab.exercises.framework import Exercise
from gateway_lab.exercises.result import ExerciseResult, not_callable_sentence
from gateway_lab.interface.appkind import looks_async
from gateway_lab.types import Environ, WSGIApp

__all__ = [
    "AppFailure",
    "ClosingIterator",
    "CloseCounter",
    "ClosingList",
    "Expectation",
    "SWALLOWED",
    "WRITE_HEAD_FIRST",
    "Run",
    "ServerCase",
    "ServerPartExercise",
    "body_is",
    "closed",
    "closed_more_than_once",
    "expect",
    "head_sent_once",
    "no_error",
    "reraise_hint",
    "run_case",
]

Expectation = tuple[bool, str]  # (passed, the sentence the learner reads)

# Two causes a respond() case can name reliably (see course.wsgi_server).
WRITE_HEAD_FIRST = (
    "write() must send the head first, if it has not gone out yet (the same flag the "
    "loop uses), then its data."
)
SWALLOWED = (
    "respond caught the app's error and returned normally: do not catch it around the "
    "loop; let it out after the finally (which still calls close())."
)


class CloseCounter:
    """Shared between a case's app and its judge: how often the body's close() was called.

    ``step`` is what the app is doing now, in a word or two, set by the app
    itself ("" until it says); each head sent records it (``Run.head_steps``).
    """

    def __init__(self) -> None:
        self.count = 0
        self.step = ""


class ClosingList(list[bytes]):
    """A list body with a close() method, like many frameworks' response objects."""

    def __init__(self, items: list[bytes], closes: CloseCounter) -> None:
        super().__init__(items)
        self._closes = closes

    def close(self) -> None:
        self._closes.count += 1


class ClosingIterator:
    """A body that yields ``chunks`` through ``steps`` and counts close() calls."""

    def __init__(self, steps: Iterator[bytes], closes: CloseCounter) -> None:
        self._steps = steps
        self._closes = closes

    def __iter__(self) -> ClosingIterator:
        return self

    def __next__(self) -> bytes:
        return next(self._steps)

    def close(self) -> None:
        self._closes.count += 1


@dataclass
class Run:
    """What one call of the learner's ``respond`` did."""

    events: list[tuple[Any, ...]] = field(default_factory=list)  # ("head", s, h) / ("body", b)
    raised: BaseException | None = None
    finished: bool = False
    closes: CloseCounter = field(default_factory=CloseCounter)
    head_steps: list[str] = field(default_factory=list)  # the app's step at each head sent

    @property
    def heads(self) -> list[tuple[Any, ...]]:
        return [event for event in self.events if event[0] == "head"]

    @property
    def body(self) -> bytes:
        return b"".join(event[1] for event in self.events if event[0] == "body")

    @property
    def status(self) -> object:
        return self.heads[0][1] if self.heads else None


@dataclass(frozen=True)
class ServerCase:
    """One app to run through ``respond``, and what a correct server does with it."""

    title: str
    make_app: Callable[[CloseCounter], WSGIApp]
    judge: Callable[[Run], list[Expectation]]
    client_hangs_up: bool = False


# -- judging helpers: one Run in, lines of feedback out ----------------


def expect(ok: bool, good: str, bad: str) -> Expectation:
    """``(ok, good)`` when ``ok``, else ``(ok, bad)``: one line of feedback."""
    return (ok, good if ok else bad)


def head_sent_once(run: Run, status: str, body_first_hint: str = "") -> list[Expectation]:
    """The head went out exactly once, before any body bytes, with ``status``.

    ``body_first_hint``: what to change when body bytes went out before the
    head (a judge that knows which code sent them), instead of the flag advice.
    """
    heads = run.heads
    body_first = bool(run.events) and run.events[0][0] != "head"
    advice = "Keep a flag such as head_sent, and send the head only when it is False."
    if body_first and body_first_hint:
        advice = body_first_hint
    results = [
        expect(
            len(heads) == 1 and not body_first,
            "the head was sent once, before the body",
            (
                f"the head should be sent exactly once, before any body bytes; it was sent "
                f"{len(heads)} time(s){' after body bytes' if body_first else ''}. {advice}"
            ),
        )
    ]
    results.append(
        expect(
            run.status == status,
            f"status {status!r}",
            f"the status sent should be {status!r}, got {run.status!r}.",
        )
    )
    return results


def reraise_hint(run: Run, reraised_inside: bool) -> str:
    """What to change when the app's error, after the head went out, did not leave respond.

    ``reraised_inside``: the app's ``start_response(..., exc_info)`` call raised
    (the app's step says so), so ``respond`` itself caught the error: :data:`SWALLOWED`.
    """
    if run.raised is None and reraised_inside:
        return SWALLOWED
    raised = run.raised
    why = f"it raised {type(raised).__name__} instead" if raised else "respond returned normally"
    return (
        f"after the head went out, start_response(..., exc_info) must re-raise the "
        f"app's error (raise exc_info[1].with_traceback(exc_info[2])), so that the "
        f"server cuts the connection instead of finishing a response that lies; {why}."
    )


def no_error(run: Run) -> list[Expectation]:
    """Nothing, or one ✗ line when ``respond`` raised serving a correct app."""
    if run.raised is None:
        return []
    error = run.raised
    return [
        (
            False,
            f"respond raised {type(error).__name__}: {error}. This app follows PEP 3333, "
            f"so a server must serve it without an error. See {specs.PEP3333_START_RESPONSE}",
        )
    ]


def body_is(run: Run, wanted: bytes) -> Expectation:
    """All the body bytes sent, joined, are ``wanted``."""
    return expect(
        run.body == wanted,
        f"body {wanted!r}",
        f"the body sent should be {wanted!r}, got {run.body!r}.",
    )


def closed_more_than_once(calls: dict[str, int]) -> str:
    """The warning for bodies closed more than once: ``calls`` maps a case's title to its count.

    One line for all the cases it happened in: the cause is one place in the answer.
    """
    where = "; ".join(f"{title} ({count} calls)" for title, count in calls.items())
    return (
        f"the body's close() was called more than once, in these cases: {where}. Call it "
        f"once, in the finally block only (not also after the loop or in an except block). "
        f'PEP 3333 asks the server to call it "upon completion of the current request", and '
        f"a close() that releases a resource may not expect a second call. "
        f"See {specs.PEP3333_DETAILS}"
    )


def closed(run: Run, when: str) -> Expectation:
    """The body's ``close()`` was called (``when`` says on which path, in words)."""
    return expect(
        run.closes.count >= 1,
        f"close() was called {when}",
        (
            f"the body's close() should be called {when}, but it was not. Iterate inside "
            f"try: ... finally: and call body.close() in the finally block, if the body "
            f"has one. See {specs.PEP3333_DETAILS}"
        ),
    )


# -- running one case, and the exercise ---------------------------------


def _environ() -> Environ:
    """A minimal, valid GET environ: the apps here do not look at it."""
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
    app = case.make_app(run.closes)

    def send_head(status: object, headers: object) -> None:
        run.events.append(("head", status, headers))
        run.head_steps.append(run.closes.step)

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

    def evaluate(self, answer: object) -> ExerciseResult:
        """Run every case through ``answer`` and judge it. Never raises on an unfinished answer."""
        unfinished = self._unfinished(answer)
        if unfinished or not callable(answer):  # (_unfinished said it is callable)
            return ExerciseResult(self.title, False, unfinished=unfinished)
        lines: list[tuple[str, str]] = []
        closed_twice: dict[str, int] = {}  # case title: close() calls, when more than one
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
            if run.finished and run.closes.count > 1:
                closed_twice[case.title] = run.closes.count
        if closed_twice:
            lines.append(("!", closed_more_than_once(closed_twice)))
        passed = all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(self.title, passed, compact_lines(lines) if passed else lines)

    def _unfinished(self, answer: object) -> str:
        if answer is None or answer is Ellipsis:
            shown = "None" if answer is None else "`...`"
            return (
                f"The answer is still {shown}. Write respond(app, environ, send_head, "
                f"send_body), run its cell, then run this check again."
            )
        if not callable(answer):
            return not_callable_sentence(answer, "your respond function")
        if looks_async(answer):
            return (
                "respond is part of a WSGI server, which calls the app synchronously: "
                "write a plain `def respond_complete(...)`, not `async def`."
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
