"""Middleware exercises: a learner's middleware factory, checked around a known inner app.

Theory of operation: a middleware exercise cannot be checked like an app,
because the learner writes a *factory*: a function that takes an app and
returns the middleware. So a :class:`MiddlewareExercise` first builds a fresh
inner app of its own (one that notes every call it gets), hands it to the
learner's factory, and then plays the server for the result, one
:class:`Step` at a time, through :func:`check_wsgi` (so protocol mistakes are
reported too). Each step (:mod:`.step`) is a :class:`Case` plus what only a
middleware exercise can ask: must the inner app run, what must not leak,
which cookie must be set, which header must have which form, and what to
change when a step fails in a way the exercise knows the cause of.

A header or cookie line that says the same on several steps (the same bare
``WWW-Authenticate`` on every 401, the same ``Max-Age=0`` on every visit) is
said once, on the first, naming the other steps.

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
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from gateway_lab.check.report import Report
from gateway_lab.check.validate import check_wsgi
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.compact import compact_lines
from gateway_lab.exercises.cookies import jar_update
from gateway_lab.exercises.framework import Exercise
from gateway_lab.exercises.reach import source_of
from gateway_lab.exercises.result import ExerciseResult, not_callable_sentence
from gateway_lab.exercises.step import (
    Render,
    Step,
    dropped_headers,
    inner_app,
    said_per_step,
    step_lines,
    with_advice,
)
from gateway_lab.interface.appkind import looks_async
from gateway_lab.types import WSGIApp

__all__ = ["MiddlewareExercise", "Render", "Step", "inner_app"]


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
        read_source: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(name, "wsgi", [step.case for step in steps], title=title, timeout=timeout)
        self.read_source = read_source  # the answer's source -> a warning row ("" for none)
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
        shown = _alike_together(compact_lines(lines)) if passed else lines  # a pass, briefly
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
        first_said: dict[str, str] = {}  # a header or cookie complaint -> its first line
        repeats: dict[str, list[str]] = {}  # that first line -> the steps that repeat it
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
            if dropped_headers(step, response, inner_ran):
                explained.add("wsgi.no-content-type")
            own += step_lines(step, label, response, inner_ran)
            if response is not None:
                if response.status < 400:  # it got in: a wrong status says what to change
                    own = with_advice(own, step.if_let_in, f"{label}: status should be")
                own = with_advice(own, "" if inner_ran else step.if_refused)
            for mark, text in said_per_step(step, label, response, report.flow):
                said = text.removeprefix(f"{label}: ")
                if mark == "✗" and said in first_said:  # said on an earlier step: named there
                    repeats[first_said[said]].append(case.says or label)
                    continue
                if mark == "✗":
                    first_said[said] = text
                    repeats[text] = []
                own.append((mark, text))
            lines += own
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
        _fold_repeats(lines, repeats)
        lines = _warn_once(lines)
        said = self.read_source(source_of(app)) if self.read_source else ""
        if said:  # a warning: it never fails an answer whose requests all passed
            lines.append(("!", said))
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
        if dropped_headers(step, response, inner_ran):
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


def _warn_once(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``lines`` with a warning (!) that repeats on later requests kept on the first only."""
    seen: set[str] = set()
    kept = []
    for mark, text in lines:
        said = text.split("): ", 1)[-1]
        if mark == "!" and said in seen:
            continue
        if mark == "!":
            seen.add(said)
        kept.append((mark, text))
    return kept


def _fold_repeats(lines: list[tuple[str, str]], repeats: dict[str, list[str]]) -> None:
    """Name, on the first line of each repeated complaint, the steps that repeat it."""
    for index, (mark, text) in enumerate(lines):
        others = repeats.get(text)
        if others:
            more = "; ".join(others)
            lines[index] = (
                mark,
                f"{text} The same came back on {len(others)} more "
                f"request{'s' if len(others) > 1 else ''} ({more}).",
            )


def _alike_together(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive ✓ rows of one request line with the same checks, as one row.

    ``GET / (a wrong password): status 401`` and ``GET / (garbled
    credentials): status 401`` become ``GET / (a wrong password; garbled
    credentials): status 401``: every request still named, a pass still brief.
    """
    merged: list[tuple[str, str]] = []
    last = ("", "", "")  # request line, what it says, its checks
    for mark, text in lines:
        about, colon, checks = text.partition("): ")
        request, paren, says = about.partition(" (")
        if mark == "✓" and colon and paren and merged and last[::2] == (request, checks):
            last = (request, f"{last[1]}; {says}", checks)
            merged[-1] = ("✓", f"{request} ({last[1]}): {checks}")
            continue
        merged.append((mark, text))
        last = (request, says, checks) if mark == "✓" and colon and paren else ("", "", "")
    return merged
