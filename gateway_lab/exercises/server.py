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
itself from one sent for an empty chunk. A :class:`ClosingIterator` also
counts the chunks it hands out and notes whether the server asked for the
next one while the last non-empty one was still unsent (a server that holds
the body back); ``send_body`` notes how many chunks the app had made when a
send first failed. The case's ``judge`` turns the run into
:data:`Expectation` lines, with the helpers of
:mod:`gateway_lab.exercises.server_judges`. A case with ``client_hangs_up``
plays a client that goes away: its ``send_body`` raises ``BrokenPipeError``
after the first chunk.
``send_body`` takes bytes only: anything else raises :class:`_NotBytesError`,
whose sentence is the one row the exercise shows for it (once, not on
every case it broke, and never as a fault of ``exc_info``).
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
    "Run",
    "ServerCase",
    "ServerPartExercise",
    "closed_more_than_once",
    "run_case",
]

Expectation = tuple[bool, str]  # (passed, the sentence the learner reads)


class CloseCounter:
    """Shared by a case's app, the stand-in connection and the judge: what the body saw.

    ``count``: how often the body's close() was called. ``step`` is what the
    app is doing now, in a word or two, set by the app itself ("" until it
    says); each head sent records it (``Run.head_steps``). The rest is kept
    by a :class:`ClosingIterator` and ``send_body``: ``pulls``, the chunks the
    body handed out; ``last``, the latest of them; ``unsent``, it was not
    empty and no ``send_body`` call has come since; ``held_back``, the first
    chunk still unsent when the server asked for the next one (None: never);
    ``pulls_at_failure``, ``pulls`` when a send first failed (None: none did).
    """

    def __init__(self) -> None:
        self.count = 0
        self.step = ""
        self.pulls = 0
        self.last = b""
        self.unsent = False
        self.held_back: bytes | None = None
        self.pulls_at_failure: int | None = None


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
        closes = self._closes
        if closes.unsent and closes.held_back is None:
            closes.held_back = closes.last  # asked for more while this chunk waits
        chunk = next(self._steps)
        closes.pulls += 1
        closes.last, closes.unsent = chunk, bool(chunk)
        return chunk

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


# -- the warning the exercise adds itself ----------------------------------


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


class _NotBytesError(TypeError):
    """What ``send_body`` raises for data that is not bytes: the row of feedback itself."""

    def __init__(self, data: object) -> None:
        shown = repr(data) if len(repr(data)) <= 40 else repr(data)[:37] + "..."
        super().__init__(
            f"respond passed send_body a {type(data).__name__} ({shown}); send_body "
            'takes bytes, the very chunks the app yields (PEP 3333: "When called by the '
            "server, the application object must return an iterable yielding zero or more "
            'bytestrings.") What to change: pass each chunk on unchanged, '
            f"send_body(chunk), with no .decode() or str(). See {specs.PEP3333_DETAILS}"
        )


def run_case(respond: Callable[..., Any], case: ServerCase, timeout: float) -> Run:
    """Run ``respond`` on the case's app, in a daemon thread, for at most ``timeout`` s."""
    run = Run()
    app = case.make_app(run.closes)

    def send_head(status: object, headers: object) -> None:
        run.events.append(("head", status, headers))
        run.head_steps.append(run.closes.step)

    def send_body(data: Any) -> None:
        run.closes.unsent = False
        if case.client_hangs_up and run.body:
            if run.closes.pulls_at_failure is None:
                run.closes.pulls_at_failure = run.closes.pulls
            raise BrokenPipeError(32, "Broken pipe (the client hung up)")
        if not isinstance(data, (bytes, bytearray)):
            raise _NotBytesError(data)
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
        not_bytes = False  # a str (or other non-bytes) reached send_body: one row says so
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
            elif isinstance(run.raised, _NotBytesError):
                if not_bytes:
                    continue  # the same cause: said once, on the first case it broke
                not_bytes = True
                results = [(False, str(run.raised))]
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
