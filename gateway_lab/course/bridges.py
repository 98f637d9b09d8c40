"""The exercise of notebook 08 (bridges), checked with ``gl.exercise(name)``.

Theory of operation: in this exercise the learner does not write an app but
a *bridge*: a function ``asgi_to_wsgi(asgi_app)`` that takes an ASGI app and
returns a WSGI app, so that a WSGI server can serve it. A bridge is only as
good as the apps it carries, so the checker builds several bridged apps,
one per small ASGI app below, each showing one thing a bridge must carry
across, and checks each with the WSGI validator (:func:`check_wsgi`) plus
the expectations of its :class:`~.exercises.Case` records:

* ``hello``: status 200, a header, a body: the basic trip;
* ``echo``: the request body, sent in several pieces, must reach the ASGI
  app through ``receive()``; a GET whose ``CONTENT_LENGTH`` is ``""`` (PEP
  3333: "may be empty or absent") must get an empty echo, not a ValueError;
* ``not found``: a 404 with a header of its own: the status line needs its
  reason phrase (``"404 Not Found"``), headers become ``str`` pairs;
* ``streamed``: a body sent in three ``http.response.body`` messages (the
  first two with ``more_body=True``) must arrive whole;
* ``disconnect``: once the response is sent, the app calls ``receive()``
  again, as a long-polling or streaming app does to notice the client
  leaving: the bridge must answer ``{'type': 'http.disconnect'}`` ("Sent to
  the application if receive is called after a response has been sent"),
  not the body again, an exception, or nothing at all. What the app got is
  kept in :data:`AFTER_RESPONSE` and judged in a line of its own.

Feedback lines are those of an ordinary exercise, each prefixed with the
app it is about. One validator hint is made specific to bridges: a header
passed through as bytes (``wsgi.header-not-str``) is what an ASGI app
sends, so the advice names ``.decode('latin-1')`` instead of the generic
"write it as str". A read of ``wsgi.input`` past ``CONTENT_LENGTH``
(``read()`` with no size, say) is only a warning of the validator, but it
fails this exercise (:data:`STRICT_RULES`, as in notebook 02): werkzeug's
and wsgiref's ``wsgi.input`` read from the connection, so there the read
waits for bytes the client never sends and the request hangs. It gets one
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

import asyncio
from dataclasses import dataclass, field
from typing import Any

from gateway_lab import specs
from gateway_lab.check.report import Finding
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.framework import Exercise, register
from gateway_lab.exercises.result import ExerciseResult, not_callable_sentence
from gateway_lab.exercises.runner import brief
from gateway_lab.interface.appkind import looks_async
from gateway_lab.types import ASGIApp, Receive, Scope, Send

__all__ = ["ASGI_TO_WSGI_BRIDGE", "STRICT_RULES", "BridgeExercise", "BridgeTarget", "TARGET_APPS"]


# -- the ASGI apps the learner's bridge must carry ------------------------------------


_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body  # http.disconnect: the client is gone
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def hello_app(scope: Scope, receive: Receive, send: Send) -> None:
    """200, a Content-Type, and a body that names the path."""
    if scope["type"] != "http":
        return
    body = f"Hello from ASGI at {scope['path']}!".encode()
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    await send({"type": "http.response.body", "body": body})


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the request body, however many messages it came in."""
    if scope["type"] != "http":
        return
    body = await _read_body(receive)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def not_found_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A 404 with a header of its own."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"x-reason", b"no such page"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"Nothing here."})


async def streamed_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A body in three messages: more_body=True, True, then False."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    for piece in (b"one, ", b"two, "):
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"three", "more_body": False})


AFTER_RESPONSE: list[str] = []  # what receive() gave disconnect_app after its response
AFTER_RESPONSE_WAIT = 0.5  # seconds disconnect_app waits on that receive()


async def disconnect_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers, then calls receive() once more: it must give 'http.disconnect'."""
    if scope["type"] != "http":
        return
    await _read_body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    await send({"type": "http.response.body", "body": b"done"})
    try:
        message = await asyncio.wait_for(receive(), AFTER_RESPONSE_WAIT)
    except asyncio.TimeoutError:
        AFTER_RESPONSE.append(
            f"nothing: receive() had not returned after {AFTER_RESPONSE_WAIT:g} s"
        )
    except Exception as exc:  # noqa: BLE001 - the bridge's receive failed: that is the finding
        AFTER_RESPONSE.append(f"an exception: receive() raised {type(exc).__name__}: {exc}")
    else:
        AFTER_RESPONSE.append(
            repr(message.get("type")) if isinstance(message, dict) else repr(message)
        )


def _disconnect_line() -> tuple[str, str]:
    """The ✓ / ✗ line about what receive() gave disconnect_app after its response."""
    got = AFTER_RESPONSE[-1] if AFTER_RESPONSE else "no call at all (the app did not run)"
    if got == "'http.disconnect'":
        return "✓", "[disconnect] after the response, receive() gave {'type': 'http.disconnect'}"
    return (
        "✗",
        f"[disconnect] after the response, the app called receive() again and got {got}. "
        "Once the body has been given, the bridge's receive() must return "
        "{'type': 'http.disconnect'} (a streaming or long-polling app waits for it to "
        f"stop). See {specs.ASGI_HTTP_DISCONNECT}",
    )


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
            AFTER_RESPONSE.clear()
            result = inner.evaluate(wrapped)
            if result.unfinished:
                return ExerciseResult(self.title, False, unfinished=_STILL_TODO)
            findings = result.report.findings if result.report is not None else []
            found = [finding for finding in findings if finding.rule in STRICT_RULES]
            strict += [(target.label, finding) for finding in found]
            lines += [
                (mark, f"[{target.label}] {_for_a_bridge(text)}")
                for mark, text in result.lines
                if text.split(" ", 1)[0] not in STRICT_RULES  # said once, below
            ]
            if target.app is disconnect_app:
                lines.append(_disconnect_line())
        if strict:
            lines.append(_read_past_line(strict))
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


def _for_a_bridge(line: str) -> str:
    """A feedback line, with generic advice made specific to bridges (bytes headers, "" length)."""
    if "wsgi.header-not-str" in line and "of type bytes" in line:
        found, _, _ = line.partition(" What to change: ")
        return f"{found} {BYTES_HEADER_ADVICE}"
    if f"({EMPTY_LENGTH}): no complete response" in line:  # the bridge raised on it
        return f"{line} {EMPTY_LENGTH_ADVICE}"
    return line


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
