"""Exercise checkers: a few lines per exercise, friendly feedback for learners.

Theory of operation: an :class:`Exercise` is data: a name, the kind of app
(``"wsgi"`` or ``"asgi"``) and a list of :class:`~gateway_lab.exercises.case.Case`
records, each one request and what its response should show (status, text
in the body, the exact body, headers). Checking an answer runs the validator
(:func:`check_wsgi` / :func:`check_asgi`) with the cases' requests, so
protocol mistakes and wrong answers come back together, then prints an
:class:`~gateway_lab.exercises.result.ExerciseResult`: one line per
expectation, ✓ or ✗, with the validator's hint for each mistake.
A finding the validator made on several requests names all of them, so a
request whose response is missing always has its explanation in a row of its
own, which the row of that request names; a
finding that contradicts a ✓ (a Content-Length that does not match the
body) turns that request's header row into a ✗.

An unfinished answer is never an exception: an app that is still ``None``
or ``...``, raises ``NotImplementedError``, takes the wrong number of
arguments, or is the wrong kind of app gets a sentence saying what to do
next.

A notebook author writes::

    hello = Exercise("hello", kind="wsgi", cases=[
        Case("GET /?name=Ada", contains="Hello, Ada"),
    ])

and the learner runs ``hello.check(app)`` (or ``hello(app)``).
"""

from __future__ import annotations

from typing import Protocol, TypeVar, cast

from gateway_lab.check.report import Report
from gateway_lab.check.validate import check_asgi, check_wsgi
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.compact import finding_lines
from gateway_lab.exercises.result import ExerciseResult, not_callable_sentence
from gateway_lab.interface.appkind import looks_async
from gateway_lab.protocol.wsgi import FATAL
from gateway_lab.types import AnyApp

__all__ = ["Exercise", "ExerciseLike", "register", "registered"]

# Findings that make the app unusable as an answer: no request was sent at all.
_KIND_RULES = ("app.not-callable", "app.wrong-kind")
# Findings that spoil the whole response a case looks at: its other ✗ rows
# ("got b''") follow from them, and say so.
_CAUSE_RULES = frozenset({"app.raised", "app.timeout", *(f"wsgi.{key}" for key in FATAL)}) | {
    "asgi.body-not-bytes",
    "asgi.message-not-dict",
    "asgi.send-not-awaited",
    "asgi.status-not-int",
    "asgi.headers-form",
    "asgi.header-not-bytes",
    "asgi.no-response",
    "asgi.response-incomplete",
}
# Findings that say a header's value is wrong, whatever the case's own row says.
_HEADER_RULES = {
    "wsgi.content-length-mismatch": "content-length",
    "wsgi.content-length-invalid": "content-length",
    "asgi.content-length-mismatch": "content-length",
}


class Exercise:
    """An exercise: ``Exercise("hello", kind="wsgi", cases=[Case(...)])``."""

    def __init__(
        self, name: str, kind: str, cases: list[Case], *, title: str = "", timeout: float = 2.0
    ) -> None:
        if kind not in ("wsgi", "asgi"):
            raise ValueError(f"kind must be 'wsgi' or 'asgi', not {kind!r}")
        self.name = name
        self.kind = kind
        self.cases = list(cases)
        self.title = title or name
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<Exercise {self.name!r} ({self.kind}, {len(self.cases)} cases)>"

    def __call__(self, app: object, *, quiet: bool = False) -> ExerciseResult:
        return self.check(app, quiet=quiet)

    def check(self, app: object, *, quiet: bool = False) -> ExerciseResult:
        """Check ``app``, print friendly feedback (unless ``quiet``), return the result."""
        result = self.evaluate(app)
        if not quiet:
            print(result)
            result.printed = True
        return result

    def evaluate(self, app: object) -> ExerciseResult:
        """Check ``app`` without printing. Never raises on an unfinished answer.

        Subclasses adjust one step each: ``_run`` (drive the app), ``_case_lines``
        (the cases' expectations), ``_extra_lines`` (more expectations, before the
        checker's findings) and ``_final_lines`` (a last pass, e.g. a restart).
        """
        unfinished = self._unfinished(app)
        if unfinished:
            return ExerciseResult(self.title, False, unfinished=unfinished)
        answer = cast(AnyApp, app)  # _unfinished saw a callable of this exercise's kind
        report = self._run(answer)
        if any(
            f.rule == "app.raised" and "NotImplementedError" in f.message for f in report.findings
        ):
            return ExerciseResult(
                self.title,
                False,
                report=report,
                unfinished=(
                    "The app still raises NotImplementedError: replace that line with your "
                    "code, run the cell, then run this check again."
                ),
            )
        unusable = self._unusable(app, report)
        if unusable:
            return ExerciseResult(self.title, False, report=report, unfinished=unusable)
        lines = self._case_lines(report) + self._extra_lines(report)
        lines += finding_lines(report)  # one row per rule, naming every request that showed it
        lines += self._final_lines(answer, lines)
        passed = all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(self.title, passed, lines, report=report)

    def _run(self, app: AnyApp) -> Report:
        probes = [case.probe() for case in self.cases]
        if self.kind == "wsgi":
            return check_wsgi(app, probes, timeout=self.timeout)
        return check_asgi(app, probes, timeout=self.timeout, lifespan=False, websocket=False)

    def _case_lines(self, report: Report) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        responses = list(report.responses)
        responses += [None] * (len(self.cases) - len(responses))
        for case, response in zip(self.cases, responses, strict=False):
            label = case.probe().label
            about = f" ({case.says})" if case.says else ""
            if response is None:
                checks = [(False, _no_response(report, label))]
            else:
                checks = _contradicted(case.expectations(response), report, label)
            cause = _cause(report, label) if response is not None else ""
            for ok, text in checks:
                text += f" ({cause})" if cause and not ok else ""
                lines.append(("✓" if ok else "✗", f"{label}{about}: {text}"))
        return lines

    def _unusable(self, app: object, report: Report) -> str:
        """Why the run could not try every case ("" when it could)."""
        kind = next((f for f in report.findings if f.rule in _KIND_RULES), None)
        if kind is not None:
            hint = self._signature_hint(app) if kind.rule == "app.wrong-kind" else kind.hint
            return f"{kind.message} What to change: {hint}"
        if len(report.responses) >= len(self.cases):
            return ""
        errors = " ".join(f.message for f in report.errors)
        return (
            f"The check got only {len(report.responses)} of {len(self.cases)} responses, "
            f"so it cannot judge your app yet. {errors}".strip()
        )

    def _signature_hint(self, app: object) -> str:
        name = getattr(app, "__name__", "")
        name = name if name.isidentifier() else "app"
        if self.kind == "wsgi":
            return (
                "This exercise needs a WSGI app, a plain function that takes exactly two "
                f"arguments: `def {name}(environ, start_response):`. Fix the `def` line, run "
                "its cell, then run this check again."
            )
        return (
            "This exercise needs an ASGI app, a coroutine function that takes exactly three "
            f"arguments: `async def {name}(scope, receive, send):`. Fix the `def` line, run "
            "its cell, then run this check again."
        )

    def _extra_lines(self, report: Report) -> list[tuple[str, str]]:
        return []

    def _final_lines(self, app: AnyApp, lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return []

    def _unfinished(self, app: object) -> str:
        if app is None or app is Ellipsis:
            shown = "None" if app is None else "`...`"
            return (
                f"The app is still {shown}. Write your {self.kind.upper()} app, run its "
                "cell, then run this check again."
            )
        if not callable(app):
            return not_callable_sentence(app, "your app function")
        if self.kind == "wsgi" and looks_async(app):
            return (
                "This exercise wants a WSGI app, a plain `def app(environ, "
                "start_response):`, but yours is `async def` (that is ASGI)."
            )
        if self.kind == "asgi" and not looks_async(app) and not isinstance(app, type):
            return (
                "This exercise wants an ASGI app: `async def app(scope, receive, "
                "send):`. Yours is a plain function (WSGI style?)."
            )
        return ""


def _cause(report: Report, label: str) -> str:
    """Words naming the error that spoiled ``label``'s response ("" when none did)."""
    rules = [
        f.rule
        for f in report.ordered()
        if f.severity == "error" and f.rule in _CAUSE_RULES and label in (f.request, *f.also)
    ]
    if not rules:
        return ""
    return f"because of {', '.join(dict.fromkeys(rules))}: fix that first"


def _no_response(report: Report, label: str) -> str:
    """The ✗ row of a request that got no complete response, naming the findings why."""
    rules = [
        f.rule for f in report.ordered() if f.severity != "info" and label in (f.request, *f.also)
    ]
    why = ", ".join(dict.fromkeys(rules)) or "the problems"
    return f"no complete response came back (see the {why} row)."


def _contradicted(
    checks: list[tuple[bool, str]], report: Report, label: str
) -> list[tuple[bool, str]]:
    """``checks``, with a ✓ header row turned ✗ when a finding says that header is wrong.

    A case only looks for a header (``Content-Length: 43`` is there); the
    checker knows whether its value fits the body it came with.
    """
    wrong = {
        _HEADER_RULES[f.rule]: f.rule
        for f in report.findings
        if f.rule in _HEADER_RULES and label in (f.request, *f.also)
    }
    if not wrong:
        return checks
    judged: list[tuple[bool, str]] = []
    for ok, text in checks:
        name = text.partition(":")[0].strip().lower()
        if ok and name in wrong:
            judged.append((False, f"{text} does not fit the body (see the {wrong[name]} row)"))
        else:
            judged.append((ok, text))
    return judged


class ExerciseLike(Protocol):
    """What the registry needs of an exercise, whatever kind of answer it checks."""

    name: str

    def __call__(self, answer: object, /, *, quiet: bool = False) -> ExerciseResult: ...

    def check(self, answer: object, /, *, quiet: bool = False) -> ExerciseResult: ...

    def evaluate(self, answer: object, /) -> ExerciseResult: ...


AnExercise = TypeVar("AnExercise", bound=ExerciseLike)

_REGISTRY: dict[str, ExerciseLike] = {}


def register(item: AnExercise) -> AnExercise:
    """Make ``item`` available as ``gl.exercise(item.name)``."""
    _REGISTRY[item.name] = item
    return item


def registered(name: str) -> ExerciseLike:
    """The registered exercise called ``name``; KeyError names the ones there are."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"No exercise called {name!r}; the course has: {known}.") from None
