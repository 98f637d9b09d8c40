"""The exercise of notebook 08 (bridges), checked with ``gl.exercise(name)``.

Theory of operation: in this exercise the learner does not write an app but
a *bridge*: a function ``asgi_to_wsgi(asgi_app)`` that takes an ASGI app and
returns a WSGI app, so that a WSGI server can serve it. A bridge is only as
good as the apps it carries, so the checker builds several bridged apps,
one per small ASGI app below, each showing one thing a bridge must carry
across, and checks each with the WSGI validator (:func:`check_wsgi`) plus
the expectations of its :class:`~.exercises.Case` records. The apps live in
:mod:`gateway_lab.course.bridge_apps`, with the notes they keep of what the
bridge gave them:

* ``hello``: status 200, a header, a body: the basic trip;
* ``echo``: the request body, sent in several pieces, must reach the ASGI
  app through ``receive()``, ending in an ``http.request`` whose
  ``more_body`` is False, even when the body is empty; an ``http.disconnect``
  before that message means the client left (Starlette's ``request.body()``
  raises ``ClientDisconnect``) and fails the exercise; a GET whose
  ``CONTENT_LENGTH`` is ``""`` (PEP 3333: "may be empty or absent") must get
  an empty echo, not a ValueError;
* ``not found``: a 404 with a header of its own: the status line needs the
  standard reason phrase (``"404 Not Found"``, as step 5 asks: a WSGI server
  sends the phrase as given, so ``"404 OK"`` fails), headers become ``str``
  pairs;
* ``streamed``: a body sent in three ``http.response.body`` messages (the
  first two with ``more_body=True``) must arrive whole;
* ``disconnect``: once the response is sent, the app calls ``receive()``
  again, as a long-polling or streaming app does to notice the client
  leaving: the bridge must answer ``{'type': 'http.disconnect'}`` ("Sent to
  the application if receive is called after a response has been sent"),
  not the body again, an exception, or nothing at all. What the app got is
  kept in :data:`AFTER_RESPONSE` and judged in a line of its own.

Feedback lines are those of an ordinary exercise, each prefixed with the
app it is about. Some validator hints are made specific to bridges: a header
passed through as bytes (``wsgi.header-not-str``) is what an ASGI app
sends, so the advice names ``.decode('latin-1')`` instead of the generic
"write it as str"; a status that is not a "code reason" string names
``HTTPStatus(code).phrase``; and the request whose ``CONTENT_LENGTH`` is
``""`` gets the ``int('')`` advice only when the bridge raised that
ValueError. The status lines themselves are read from the report's flow
(its ``start_response`` events). A bridge that calls the app but never runs
the coroutine (Python warns "coroutine ... was never awaited", and the app
never started) gets one line saying to run it with ``asyncio.run``.

A read of ``wsgi.input`` past ``CONTENT_LENGTH`` (``read()`` with no size,
say) is only a warning of the validator, but it fails this exercise
(:data:`STRICT_RULES`, as in notebook 02): werkzeug's and wsgiref's
``wsgi.input`` read from the connection, so there the read waits for bytes
the client never sends and the request hangs. It gets one
✗ line, naming every app and request that showed it.

A bridge that returns something that cannot be a WSGI app (``None``, the
ASGI app itself, an ``async def``) gets one line saying so, not one per
app. An unfinished bridge (``None``, ``...``, or one that still
raises ``NotImplementedError``) gets a sentence saying what to do next,
never an exception.

* ``asgi-to-wsgi-bridge``: the exercise. Reference solution:
  ``notebooks/solutions/asgi_to_wsgi_bridge.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_lab import specs
from gateway_lab.check.report import Finding, Report
from gateway_lab.course.bridge_apps import (
    AFTER_RESPONSE,
    CUT_SHORT,
    RUNS,
    cut_short_line,
    disconnect_app,
    disconnect_line,
    echo_app,
    evaluate_watching,
    hello_app,
    never_ran,
    not_found_app,
    streamed_app,
)
from gateway_lab.events.kinds import START_RESPONSE
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.framework import Exercise, register
from gateway_lab.exercises.result import ExerciseResult, not_callable_sentence
from gateway_lab.exercises.runner import brief
from gateway_lab.interface.appkind import looks_async
from gateway_lab.types import ASGIApp

__all__ = [
    "ASGI_TO_WSGI_BRIDGE",
    "STRICT_RULES",
    "TARGET_APPS",
    "BridgeExercise",
    "BridgeTarget",
    "disconnect_app",
    "echo_app",
    "hello_app",
    "not_found_app",
    "streamed_app",
]


# -- the exercise ----------------------------------------------------------------------


@dataclass(frozen=True)
class BridgeTarget:
    """One ASGI app to carry across the learner's bridge, and what must come out."""

    label: str
    app: ASGIApp
    cases: list[Case] = field(default_factory=list)


EMPTY_LENGTH = "CONTENT_LENGTH is '', as some servers send it for a GET"  # what the case says
TARGET_APPS: tuple[BridgeTarget, ...] = (
    BridgeTarget(
        "hello",
        hello_app,
        [
            Case(
                "GET /hello",
                contains="Hello from ASGI at /hello!",
                headers_expected={"Content-Type": "text/plain"},
                says="status, header and body",
            )
        ],
    ),
    BridgeTarget(
        "echo",
        echo_app,
        [
            Case(
                "POST /",
                body=(b"first part, ", b"second part, ", b"last part"),
                equals=b"first part, second part, last part",
                says="the request body must reach receive()",
            ),
            Case("POST /", equals=b"", says="an empty body"),
            Case("GET /", headers=(("Content-Length", ""),), equals=b"", says=EMPTY_LENGTH),
        ],
    ),
    BridgeTarget(
        "not found",
        not_found_app,
        [
            Case(
                "GET /nowhere",
                status=404,
                headers_expected={"X-Reason": "no such page"},
                says="the app's own status and header",
            )
        ],
    ),
    BridgeTarget(
        "streamed",
        streamed_app,
        [
            Case(
                "GET /",
                equals=b"one, two, three",
                says="a body sent in three messages",
            )
        ],
    ),
    BridgeTarget(
        "disconnect",
        disconnect_app,
        [Case("GET /", equals=b"done", says="then receive() once more")],
    ),
)


class BridgeExercise(Exercise):
    """An exercise whose answer is a bridge factory ``bridge(asgi_app) -> wsgi_app``."""

    def __init__(
        self,
        name: str,
        targets: tuple[BridgeTarget, ...],
        *,
        title: str = "",
        timeout: float = 2.0,
    ) -> None:
        cases = [case for target in targets for case in target.cases]
        super().__init__(name, kind="wsgi", cases=cases, title=title, timeout=timeout)
        self.targets = targets

    def evaluate(self, app: object) -> ExerciseResult:
        """Check the bridge ``app`` on every target app. Never raises on an unfinished one."""
        bridge = app
        unfinished = self._unfinished_bridge(bridge)
        if unfinished or not callable(bridge):  # (_unfinished_bridge said it is callable)
            return ExerciseResult(self.title, False, unfinished=unfinished)
        lines: list[tuple[str, str]] = []
        strict: list[tuple[str, Finding]] = []  # (app label, finding) of a STRICT_RULES rule
        statuses: list[tuple[str, object]] = []  # (app label, status given to start_response)
        for target in self.targets:
            try:
                wrapped = bridge(target.app)
            except NotImplementedError:
                return ExerciseResult(self.title, False, unfinished=_STILL_TODO)
            except Exception as exc:
                return self._wrong_shape(_raised(exc))
            problem = _shape_problem(wrapped, target.app)
            if problem:
                return self._wrong_shape(problem)  # the same for every target: say it once
            inner = Exercise(self.name, "wsgi", target.cases, timeout=self.timeout)
            for notes in (RUNS, CUT_SHORT, AFTER_RESPONSE):
                notes.clear()
            result, never_awaited = evaluate_watching(inner, wrapped, target.app)
            if result.unfinished:
                return ExerciseResult(self.title, False, unfinished=_STILL_TODO)
            if never_awaited and not RUNS:
                return self._wrong_shape(never_ran(target.app))  # the same for every target
            findings = result.report.findings if result.report is not None else []
            found = [finding for finding in findings if finding.rule in STRICT_RULES]
            strict += [(target.label, finding) for finding in found]
            int_of_empty = any(
                f.rule == "app.raised" and _INT_OF_EMPTY in f.message for f in findings
            )
            lines += [
                (mark, f"[{target.label}] {_for_a_bridge(text, int_of_empty)}")
                for mark, text in result.lines
                if text.split(" ", 1)[0] not in STRICT_RULES  # said once, below
            ]
            if CUT_SHORT:
                lines.append(cut_short_line(target.label))
            disconnect = disconnect_line() if target.app is disconnect_app else None
            lines += [disconnect] if disconnect else []
            statuses += [(target.label, status) for status in _statuses(result.report)]
        if strict:
            lines.append(_read_past_line(strict))
        reason = _reason_line(statuses)
        lines += [reason] if reason else []
        passed = bool(lines) and all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(self.title, passed, brief(lines))

    def _wrong_shape(self, problem: str) -> ExerciseResult:
        return ExerciseResult(self.title, False, [("✗", problem)])

    def _unfinished_bridge(self, bridge: object) -> str:
        if bridge is None or bridge is Ellipsis:
            shown = "None" if bridge is None else "`...`"
            return (
                f"The bridge is still {shown}. Write `def asgi_to_wsgi(asgi_app):` so that it "
                "returns a WSGI app, run its cell, then run this check again."
            )
        if not callable(bridge):
            return not_callable_sentence(bridge, "your bridge function asgi_to_wsgi")
        if looks_async(bridge):
            return (
                "The bridge itself should be a plain `def asgi_to_wsgi(asgi_app):` that "
                "builds and returns a WSGI app; yours is `async def`."
            )
        return ""


BYTES_HEADER_ADVICE = (
    "What to change: an ASGI app's headers are pairs of bytes, and WSGI wants str: in the "
    "bridge, decode each name and value with .decode('latin-1'), for example "
    "[(name.decode('latin-1'), value.decode('latin-1')) for name, value in headers]."
)


# Validator warnings that fail this exercise: on a real WSGI server they hang the request.
STRICT_RULES = frozenset({"wsgi.input-past-content-length"})

READ_THE_LENGTH_ADVICE = (
    "What to change (step 1 of the task): read exactly "
    'int(environ.get("CONTENT_LENGTH") or 0) bytes, for example '
    'length = int(environ.get("CONTENT_LENGTH") or 0), then '
    'body = environ["wsgi.input"].read(length) if length else b"".'
)
EMPTY_LENGTH_ADVICE = (  # for a bridge that raised on EMPTY_LENGTH's request
    "CONTENT_LENGTH may be empty as well as absent (PEP 3333), and int('') raises ValueError: "
    f'int(environ.get("CONTENT_LENGTH", 0)) fails here. {READ_THE_LENGTH_ADVICE}'
)


def _read_past_line(strict: list[tuple[str, Finding]]) -> tuple[str, str]:
    """The one ✗ line about reads past CONTENT_LENGTH, naming every app and request."""
    requests = [(label, r) for label, f in strict for r in (f.request, *f.also) if r]
    where = ", ".join(dict.fromkeys(f"[{label}] {request}" for label, request in requests))
    firsts = (f.message.split(". ", 1)[0].rstrip(".") + "." for _, f in strict)
    said = " ".join(dict.fromkeys(m.replace("The app", "The bridge", 1) for m in firsts))
    return (
        "✗",
        f"{strict[0][1].rule} on {where}: {said} The check's wsgi.input answers such a read "
        "at once, but werkzeug's (gl.serve_wsgi's default engine) and wsgiref's read from the "
        "connection: served on either, the read waits for bytes the client never sends, and "
        f"these requests hang until the client gives up. {READ_THE_LENGTH_ADVICE} "
        f"See {specs.PEP3333_STREAMS}",
    )


_INT_OF_EMPTY = "ValueError: invalid literal for int() with base 10: ''"
_STATUS_RULES = ("wsgi.status-not-str ", "wsgi.status-form ", "wsgi.status-no-reason ")
STATUS_ADVICE = (
    'Build the line from the ASGI status code: f"{code} {HTTPStatus(code).phrase}" '
    "(from http import HTTPStatus) gives '404 Not Found' for 404."
)


def _for_a_bridge(line: str, int_of_empty: bool) -> str:
    """A feedback line, with generic advice made specific to bridges.

    Headers as bytes get the .decode('latin-1') advice, a status line the
    HTTPStatus advice, and the request with CONTENT_LENGTH "" the int('')
    advice, but only when ``int_of_empty``: the app raised int('')'s ValueError.
    """
    if "wsgi.header-not-str" in line and "of type bytes" in line:
        found, _, _ = line.partition(" What to change: ")
        return f"{found} {BYTES_HEADER_ADVICE}"
    if line.startswith(_STATUS_RULES) and " What to change: " in line:
        found, _, hint = line.partition(" What to change: ")
        return f"{found} What to change (step 5): {hint} {STATUS_ADVICE}"
    if int_of_empty and f"({EMPTY_LENGTH}): no complete response" in line:
        return f"{line} {EMPTY_LENGTH_ADVICE}"
    return line


def _statuses(report: Report | None) -> list[object]:
    """Every status the bridged app passed to start_response, as it passed it."""
    events = list(report.flow) if report is not None else []
    return [event.payload.get("status") for event in events if event.kind == START_RESPONSE]


def _reason_line(statuses: list[tuple[str, object]]) -> tuple[str, str] | None:
    """A ✗ line for status lines whose reason is not the code's standard phrase, or None.

    Statuses that are not "code reason" strings are the checker's to judge.
    """
    wrong: dict[str, tuple[str, str]] = {}  # "[label] '404 OK'" -> ("404 OK", "404 Not Found")
    for label, status in statuses:
        if not isinstance(status, str):
            continue
        code, _, reason = status.partition(" ")
        phrase = specs.reason_phrase(int(code)) if code.isdigit() and len(code) == 3 else ""
        if phrase and reason.strip() and reason.strip().casefold() != phrase.casefold():
            wrong.setdefault(f"[{label}] {status!r}", (status, f"{code} {phrase}"))
    if not wrong:
        return None
    given, right = next(iter(wrong.values()))
    return (
        "✗",
        f"{', '.join(wrong)}: the reason phrase after the code is not the standard one "
        f"(for this code: {right!r}). A WSGI server sends the status line as the app gives "
        f"it, so the client would read {given!r}. What to change (step 5): {STATUS_ADVICE}",
    )


def _raised(exc: Exception) -> str:
    return (
        f"calling asgi_to_wsgi(app) raised {type(exc).__name__}: {exc}. The bridge should "
        "only define the WSGI app and return it; the work happens when the WSGI app is called."
    )


def _shape_problem(wrapped: Any, asgi_app: ASGIApp) -> str:
    """Why what the bridge returned cannot be a WSGI app, or "" if it can."""
    if wrapped is None:
        return (
            "asgi_to_wsgi(app) returned None. End the bridge with `return wsgi_app` "
            "(the WSGI function you defined inside it)."
        )
    if wrapped is asgi_app or looks_async(wrapped):
        return (
            "asgi_to_wsgi(app) returned an async function, but a WSGI server needs a plain "
            "`def wsgi_app(environ, start_response):` that runs the ASGI app (with "
            f"asyncio.run) and returns the body. See {specs.PEP3333_APP_SIDE}"
        )
    if not callable(wrapped):
        return (
            f"asgi_to_wsgi(app) returned a {type(wrapped).__name__}, not a WSGI app. Return "
            "the function `wsgi_app` itself, without calling it."
        )
    return ""


_STILL_TODO = (
    "The bridge still raises NotImplementedError: replace that line with your code, run "
    "the cell, then run this check again."
)

ASGI_TO_WSGI_BRIDGE = register(
    BridgeExercise("asgi-to-wsgi-bridge", TARGET_APPS, title="An ASGI-to-WSGI bridge")
)
