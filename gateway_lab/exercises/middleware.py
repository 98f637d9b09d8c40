"""Middleware exercises: a learner's middleware factory, checked around a known inner app.

Theory of operation: a middleware exercise cannot be checked like an app,
because the learner writes a *factory*: a function that takes an app and
returns the middleware. So a :class:`MiddlewareExercise` first builds a fresh
inner app of its own (one that notes every call it gets), hands it to the
learner's factory, and then plays the server for the result, one
:class:`Step` at a time, through :func:`check_wsgi` (so protocol mistakes are
reported too). Each step is a :class:`Case` plus what only a middleware
exercise can ask:

* ``inner_called``: must the request reach the inner app? (an authentication
  middleware must turn a stranger away *before* the inner app runs);
* ``hides``: text of the inner app's page that must not leak into the answer;
* ``cookie``: a ``Set-Cookie`` header that must set this name and value, with
  ``Path=/``;
* ``send_cookies``: send back, in a ``Cookie`` header, what earlier steps'
  ``Set-Cookie`` headers set (a tiny browser cookie jar), so a counter can be
  followed over several requests;
* ``keeps_headers``: the header the middleware adds (``"Set-Cookie"``): the
  inner app's own headers (it marks its pages with ``X-Inner: yes``) must
  come back next to it; a middleware that passes on only its own header is
  told exactly that, instead of hearing that a Content-Type is missing;
* ``body_hint``: (text, advice): when the body shows that text, the failed
  body check says what to change (``Hello, stranger`` means the inner app
  never saw ``REMOTE_USER``);
* ``if_raised``: what to change when the middleware raised on this request
  instead of answering (``users[user]`` on a user who is not there);
* ``header_form``: (header, regular expression, what to change): the header
  must match, in full (``WWW-Authenticate`` must carry a ``realm``);
* ``header_details``: further (regular expression, what to change) pairs the
  same header must match too, once it has the form: only the first one it
  misses is reported, so a header with no realm hears about the realm, and
  one with an unquoted realm hears about the quotes, each once;
* ``if_failed``: what to change when a check of this step fails while a
  response came back (a request under another scheme than Basic got in):
  added to the step's first ✗ line;
* ``if_refused``: the same, but only when the inner app did not run on a
  step that must reach it (a Basic request with the scheme in lower case was
  turned away); a step that reached the app and failed for another reason
  (no ``REMOTE_USER``) does not get it.

A ``wsgi.start-response-twice`` finding on a request that reached the inner
app gets advice for *middleware* (the server's ``start_response`` was called
by the middleware and then again by the app it was passed on to), not the
validator's advice for apps.

The validator's findings are shown once per distinct message, so a second,
different crash is not hidden behind the first. The feedback is an
:class:`ExerciseResult` (one ✓ / ✗ line per expectation; a pass folded to
a line per request); an unfinished answer gets a sentence, never a traceback.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gateway_lab.check.report import Report
from gateway_lab.check.validate import check_wsgi
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.compact import compact_lines
from gateway_lab.exercises.cookies import cookie_lines, jar_update
from gateway_lab.exercises.framework import Exercise
from gateway_lab.exercises.result import ExerciseResult, not_callable_sentence
from gateway_lab.interface.appkind import looks_async
from gateway_lab.interface.response import Response
from gateway_lab.types import Environ, StartResponse, WSGIApp

__all__ = ["MiddlewareExercise", "Render", "Step", "inner_app"]


@dataclass(frozen=True)
class Step:
    """One request of a middleware exercise: a :class:`Case` and the extras."""

    case: Case
    inner_called: bool | None = None
    hides: str = ""
    cookie: tuple[str, str] | None = None
    send_cookies: bool = False
    keeps_headers: str = ""
    body_hint: tuple[str, str] | None = None
    if_raised: str = ""
    header_form: tuple[str, str, str] | None = None
    header_details: tuple[tuple[str, str], ...] = ()
    if_failed: str = ""
    if_refused: str = ""


# --------------------------------------------------------------------------- inner apps

Render = Callable[[Environ], str]


def inner_app(render: Render, calls: list[str]) -> WSGIApp:
    """A small known app to wrap: notes each call, ``/missing`` is a 404."""

    def inner(environ: Environ, start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        calls.append(path)
        if path == "/missing":
            body = b"No page here."
            start_response(
                "404 Not Found",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "13")],
            )
            return [body]
        body = render(environ).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("X-Inner", "yes"),
            ],
        )
        return [body]

    inner.__name__ = "inner_app"
    return inner


def _dropped_headers(step: Step, response: Response | None, inner_ran: bool) -> bool:
    """Did the inner app's page come back without the inner app's own headers?"""
    return (
        bool(step.keeps_headers)
        and inner_ran
        and response is not None
        and response.status == 200
        and response.header("X-Inner") is None
    )


def _names(headers: list[tuple[str, str]]) -> str:
    return ", ".join(name for name, _ in headers) if headers else "no header at all"


# --------------------------------------------------------------------------- the exercise


# The validator's hint for start-response-twice is for apps; a middleware that
# called the server's start_response and passed it on needs this instead.
PASSED_ON_TWICE = (
    "your middleware called start_response and then passed the same start_response on "
    "to the app, which called it again. A middleware either answers by itself "
    "(start_response, then its own body, without calling the app) or lets the app answer; "
    "to change the app's status or headers, give the app a start_response of your own that "
    "adjusts them and then calls the server's: "
    "def patched(status, headers, exc_info=None): "
    "return start_response(status, [*headers, ...], exc_info)."
)


def _unfinished_by(report: Report) -> bool:
    return any(
        f.rule == "app.raised" and "NotImplementedError" in f.message for f in report.findings
    )


class MiddlewareExercise(Exercise):
    """An exercise whose answer is a middleware factory, checked step by step.

    ``build(answer, inner)`` makes the app to check (for example
    ``answer(inner, USERS)``); ``call`` is how the notebook names that call in
    feedback (``"basic_auth(app, users)"``).
    """

    def __init__(
        self,
        name: str,
        *,
        title: str,
        call: str,
        build: Callable[[Any, WSGIApp], Any],
        render: Render,
        steps: list[Step],
        arguments: int,
        timeout: float = 2.0,
    ) -> None:
        super().__init__(name, "wsgi", [step.case for step in steps], title=title, timeout=timeout)
        self.call = call
        self.build = build
        self.render = render
        self.steps = list(steps)
        self.arguments = arguments

    def __repr__(self) -> str:
        return f"<MiddlewareExercise {self.name!r} ({len(self.steps)} steps)>"

    def _result(self, *, unfinished: str = "", lines: Any = None) -> ExerciseResult:
        lines = list(lines or [])
        passed = not unfinished and all(mark != "✗" for mark, _ in lines)
        shown = compact_lines(lines) if passed else lines  # a pass, briefly
        return ExerciseResult(self.title, passed, shown, unfinished=unfinished)

    def _unfinished_factory(self, answer: object) -> str:
        if answer is None or answer is Ellipsis:
            shown = "None" if answer is None else "`...`"
            return (
                f"The answer is still {shown}. Write `def {self.call}:`, run its cell, "
                "then run this check again."
            )
        if not callable(answer):
            return not_callable_sentence(answer, "your function")
        if looks_async(answer):
            return (
                f"This is WSGI middleware: write a plain `def {self.call}:`, "
                "not `async def` (that is ASGI, later in the course)."
            )
        return ""

    def _make(self, answer: Any, inner: WSGIApp) -> tuple[Any, ExerciseResult | None]:
        """The learner's middleware around ``inner``, or the feedback that stops here."""
        try:
            inspect.signature(answer).bind(*range(self.arguments))
        except TypeError:
            return None, self._result(
                lines=[
                    (
                        "✗",
                        f"Your function should take {self.arguments} argument(s), as in "
                        f"`def {self.call}:`, and return the middleware.",
                    )
                ]
            )
        except ValueError:
            pass  # no signature to read (a builtin or a C type): just try it
        try:
            app = self.build(answer, inner)
        except NotImplementedError:
            return None, self._result(
                unfinished="Your function still raises NotImplementedError: write it, run its "
                "cell, then run this check again."
            )
        except Exception as exc:
            return None, self._result(
                lines=[
                    (
                        "✗",
                        f"Calling {self.call} raised {type(exc).__name__}: {exc}. Pass the "
                        "outer function (the one that takes the app and returns the "
                        "middleware), not the middleware itself.",
                    )
                ]
            )
        if app is None or app is Ellipsis:
            return None, self._result(
                unfinished=f"{self.call} returned {'None' if app is None else '...'}: end it "
                "with `return middleware`, then run this check again."
            )
        if not callable(app):
            return None, self._result(
                lines=[
                    (
                        "✗",
                        f"{self.call} returned a {type(app).__name__}; it should return the "
                        "middleware, a WSGI app (a function of environ and start_response).",
                    )
                ]
            )
        return app, None

    def evaluate(self, app: object) -> ExerciseResult:
        """Check the learner's factory without printing. Never raises on unfinished work."""
        unfinished = self._unfinished_factory(app)
        if unfinished:
            return self._result(unfinished=unfinished)
        calls: list[str] = []
        inner = inner_app(self.render, calls)
        middleware, stop = self._make(app, inner)
        if stop is not None:
            return stop
        lines: list[tuple[str, str]] = []
        shown: dict[tuple[str, str], str] = {}  # (rule, message) -> the label it was shown on
        explained: set[str] = set()  # rules a line of ours already explains better
        advised: set[str] = set()
        jar: dict[str, str] = {}
        report: Report | None = None
        for step in self.steps:
            case = step.case
            if step.send_cookies and jar:
                sent = "; ".join(f"{key}={value}" for key, value in jar.items())
                case = replace(case, headers=(*case.headers, ("Cookie", sent)))
            probe = case.probe()
            before = len(calls)
            report = check_wsgi(middleware, [probe], timeout=self.timeout)
            if _unfinished_by(report):
                return self._result(
                    unfinished="The middleware still raises NotImplementedError: replace that "
                    "line with your code, run the cell, then run this check again."
                )
            response = report.responses[0] if report.responses else None
            label = probe.label + (f" ({case.says})" if case.says else "")
            inner_ran = len(calls) > before
            findings = [
                item
                for item in report.ordered()
                if item.severity != "info" and item.rule not in explained
            ]
            # a response that never came, for a reason already shown: point at it
            errors = [(f.rule, f.message) for f in findings if f.severity == "error"]
            earlier = [shown[key] for key in errors] if all(k in shown for k in errors) else []
            own = self._case_lines_for(step, case, label, response, inner_ran, earlier, advised)
            if _dropped_headers(step, response, inner_ran):
                explained.add("wsgi.no-content-type")
            own += self._step_lines(step, label, response, inner_ran)
            advice = step.if_failed or ("" if inner_ran else step.if_refused)
            lines += _with_advice(own, advice) if response is not None else own
            jar_update(jar, response)
            for item in findings:
                key = (item.rule, item.message)
                if key in shown or item.rule in explained:
                    continue
                shown[key] = label
                mark = "!" if item.severity == "warning" else "✗"
                hint = item.hint
                if item.rule == "wsgi.start-response-twice" and inner_ran:
                    hint = PASSED_ON_TWICE
                lines.append(
                    (mark, f"{item.rule} on {label}: {item.message} What to change: {hint}")
                )
        result = self._result(lines=lines)
        result.report = report
        return result

    def _case_lines_for(
        self,
        step: Step,
        case: Case,
        label: str,
        response: Any,
        inner_ran: bool,
        earlier: list[str],
        advised: set[str],
    ) -> list[tuple[str, str]]:
        """The case's own checks, with advice where this exercise knows the cause."""
        page = replace(case, headers_expected={})
        lines: list[tuple[str, str]] = []
        hint = ""
        if step.body_hint is not None and response is not None:
            text, advice = step.body_hint
            hint = advice if text in response.text else ""
        for ok, text in page.expectations(response):
            if response is None and earlier:
                text = (
                    f"no complete response came back: the same problem as on {earlier[0]}, "
                    "shown above."
                )
            elif response is None and step.if_raised:
                text = f"no complete response came back. What to change: {step.if_raised}"
            if not ok and hint and text.startswith("body"):
                text += " What to change: " + ("as above." if hint in advised else hint)
                advised.add(hint)
                hint = ""
            lines.append(("✓" if ok else "✗", f"{label}: {text}"))
        if _dropped_headers(step, response, inner_ran):
            return lines + [
                (
                    "✗",
                    f"{label}: the app's own headers did not come back (its Content-Type and "
                    f"X-Inner: yes are gone), only {_names(response.headers)}. What to "
                    f"change: keep the app's own headers and add {step.keeps_headers} to "
                    f"them: start_response(status, [*headers, ('{step.keeps_headers}', "
                    "...)], exc_info).",
                )
            ]
        if response is None:
            return lines  # the line above already says no response came
        headers = replace(case, status=None, contains=(), equals=None)
        return lines + [
            ("✓" if ok else "✗", f"{label}: {text}") for ok, text in headers.expectations(response)
        ]

    def _step_lines(
        self, step: Step, label: str, response: Any, inner_ran: bool
    ) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        if step.inner_called is True:
            lines.append(
                ("✓", f"{label}: the inner app ran")
                if inner_ran
                else ("✗", f"{label}: the inner app never ran; call app(environ, start_response)")
            )
        elif step.inner_called is False:
            lines.append(
                ("✓", f"{label}: the inner app was not called")
                if not inner_ran
                else (
                    "✗",
                    f"{label}: the inner app was called; decide first, and call it only "
                    "for a request that may see its page",
                )
            )
        if step.hides and response is not None and step.hides in response.text:
            lines.append(
                (
                    "✗",
                    f"{label}: the body shows the inner app's page ({step.hides!r}); answer "
                    "with your own short body instead",
                )
            )
        if step.cookie is not None:
            lines += cookie_lines(response, label, *step.cookie)
        if step.header_form is not None and response is not None:
            name, pattern, advice = step.header_form
            lines.append(
                _header_form_line(response, label, name, (pattern, advice), *step.header_details)
            )
        return lines


def _with_advice(lines: list[tuple[str, str]], advice: str) -> list[tuple[str, str]]:
    """``lines`` with ``advice`` added to the first ✗ line (none, or no advice: unchanged)."""
    if not advice:
        return lines
    for index, (mark, text) in enumerate(lines):
        if mark == "✗":
            said = f"{text.rstrip('.')}. What to change: {advice}"
            return [*lines[:index], (mark, said), *lines[index + 1 :]]
    return lines


def _header_form_line(
    response: Response, label: str, name: str, *checks: tuple[str, str]
) -> tuple[str, str]:
    """✓ when header ``name`` matches every (pattern, advice) of ``checks`` in full.

    Otherwise ✗ with the advice of the first pattern it misses.
    """
    value = response.header(name)
    for pattern, advice in checks:
        if value is None or not re.fullmatch(pattern, value.strip(), re.IGNORECASE):
            got = "no such header" if value is None else repr(f"{name}: {value}")
            return ("✗", f"{label}: {name} is not of the right form (got {got}). {advice}")
    return ("✓", f"{label}: {name}: {value}")
