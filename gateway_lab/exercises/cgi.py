"""CGI exercises: a learner's CGI script, checked by playing the web server.

Theory of operation: a CGI answer is a *program*, not a Python function, so
a :class:`CGIExercise` plays the web server with :func:`gateway_lab.run_cgi`
(one real process per request) instead of calling an app. The answer may be
the script's path or its whole source text (written to a temporary folder
and made executable for the check). Each request is an
:class:`~gateway_lab.exercises.framework.Case` (status, text in the body,
headers) wrapped in a :class:`CGICase` that adds what must *not* appear
(the visitor's own markup, unescaped), patterns the page must show (a form)
and a hint for when the case fails. Four checks look past the response the
gateway hands back:

* the script's **own** headers, read from its raw stdout: the gateway adds a
  missing ``Content-Type`` so the page still works, but RFC 3875 section
  6.3.1 asks the script to send it;
* what the gateway had to **answer for** the script (a 5xx page): not
  executable, a bad ``#!`` line, no empty line after the headers, a crash;
  each distinct explanation is shown once, and a launch failure or a
  timeout ends the check early (every other request would fail the same way);
* what its own headers say that the gateway's answer hides: a
  ``Content-Length`` that is not the body's size fails (this gateway sends
  the right one, but a server that passes it on cuts the page short or
  keeps the browser waiting), a ``Status: 200`` with no reason phrase gets a
  warning (RFC 3875 section 6.3.3's grammar has one);
* how the script reads a POST **body** (only when the exercise names a
  ``body_case``): RFC 3875 section 4.2 lets a server keep stdin open, or
  send more bytes, after ``CONTENT_LENGTH`` bytes, so a script must read
  exactly that many (:mod:`.stdin`). We send more bytes after the body; a script
  that reads "until the end" takes those bytes in. That is a warning
  (``!``), not a failure: most servers, this course's included, close stdin
  after the body, so such a script works here, but it would hang or misread
  elsewhere. A second POST sends a raw UTF-8 name (more bytes than
  characters): a text-mode ``sys.stdin.read(CONTENT_LENGTH)`` counts
  characters, takes one extra byte, and gets the same warning.

When the check stops early (the script could not start, or did not
finish) or a request got the gateway's answer, the headline says so
(``note``), so a count such as "1 of 1" does not look like a smaller exercise.

Each failed check says what to change for *that* check (a wrong header and
a wrong page get different advice), on its own line, so the headline counts
checks, not advice. A case that names a form ``field`` reads its expected
text in the page as a browser shows it (:func:`page_text`: tags dropped,
entities decoded, so ``Hello, <b>Ada</b>!`` reads ``Hello, Ada!``), and its
advice follows what the page showed: the name in other words, a list, a
name still URL-encoded, or no name at all (the case's own hint). A crash
quotes the learner's own line (:func:`learner_traceback`), not the last
lines of a library's frame; a script that imports ``cgi`` or ``cgitb``
(removed in Python 3.13, PEP 594) passes if it works, with a warning.

Feedback comes back as an :class:`~gateway_lab.exercises.framework.ExerciseResult`
(one line per expectation, ✓ / ✗ / !). An unfinished answer (``None``,
``...``, an empty script, a path that does not exist, a script that still
raises ``NotImplementedError``) is never an exception: it gets a sentence
saying what to do next.

A course module writes::

    GREETING = register(CGIExercise("cgi-greeting", [
        CGICase(Case("GET /?name=Ada", contains="Hello, Ada!"), hint="..."),
    ], title="A CGI greeting"))

RFC 3875: https://www.rfc-editor.org/rfc/rfc3875
"""

from __future__ import annotations

import re
import shutil

from gateway_lab import specs
from gateway_lab.cgi.explain import stderr_tail
from gateway_lab.cgi.parse import length_mismatch_note
from gateway_lab.cgi.run import CGIResult
from gateway_lab.exercises.cgi_case import (
    CGICase,
    gateway_answered,
    launch_failed,
    raw_headers,
)
from gateway_lab.exercises.compact import compact_lines
from gateway_lab.exercises.page import page_text
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.exercises.scripts import prepare_script
from gateway_lab.exercises.source import (
    crash_advice,
    learner_traceback,
    old_modules,
    read_source,
    removed_modules_line,
)
from gateway_lab.exercises.stdin import (
    STRAY_NAME,
    body_reading_line,
    stdin_without_length_line,
)
from gateway_lab.interface.response import reason_for

__all__ = [
    "STRAY_NAME",
    "CGICase",
    "CGIExercise",
    "learner_traceback",
    "old_modules",
    "page_text",
    "stdin_without_length_line",
]


class CGIExercise:
    """A CGI exercise: requests, what each answer must show, friendly feedback.

    ``exercise(answer)`` (or ``exercise.check(answer)``) prints the feedback
    and returns an :class:`ExerciseResult`; ``evaluate`` only returns it.
    ``body_case``, a POST case, also checks that the script reads exactly
    ``CONTENT_LENGTH`` bytes of its body.
    """

    kind = "cgi"

    def __init__(
        self,
        name: str,
        cases: list[CGICase],
        *,
        title: str = "",
        body_case: CGICase | None = None,
        timeout: float = 3.0,
    ) -> None:
        self.name = name
        self.cases = list(cases)
        self.title = title or name
        self.body_case = body_case
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<CGIExercise {self.name!r} ({len(self.cases)} cases)>"

    def __call__(
        self, answer: object, *, quiet: bool = False, timeout: float | None = None
    ) -> ExerciseResult:
        return self.check(answer, quiet=quiet, timeout=timeout)

    def check(
        self, answer: object, *, quiet: bool = False, timeout: float | None = None
    ) -> ExerciseResult:
        """Check ``answer``, print friendly feedback (unless ``quiet``), return the result.

        ``timeout``: seconds each request may take (the exercise's own by default).
        """
        result = self.evaluate(answer, timeout=timeout)
        if not quiet:
            print(result)
            result.printed = True
        return result

    def evaluate(self, answer: object, *, timeout: float | None = None) -> ExerciseResult:
        """Check ``answer`` (a script path or source text) without printing; never raises."""
        script, folder, unfinished = prepare_script(answer)
        try:
            if unfinished:
                return ExerciseResult(self.title, False, unfinished=unfinished)
            assert script is not None
            return self._judge(script, self.timeout if timeout is None else timeout)
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    def _judge(self, script: str, timeout: float) -> ExerciseResult:
        lines: list[tuple[str, str]] = []
        problems: list[str] = []
        missing_type: list[str] = []
        advised: set[str] = set()
        stderrs: list[bytes] = []
        heads: list[tuple[str, CGIResult, list[tuple[str, str]]]] = []
        all_answered = True
        stopped = ""
        source = read_source(script)
        for item in self.cases:
            result = item.run(script, timeout)
            stderrs.append(result.stderr)
            if b"NotImplementedError" in result.stderr:
                return ExerciseResult(
                    self.title,
                    False,
                    unfinished=(
                        "The script still raises NotImplementedError: replace that line "
                        "with your code, save the script, then run this check again."
                    ),
                )
            if gateway_answered(result):
                all_answered = False
                problem, key = _crash_problem(script, result, timeout)
                lines.append(("✗", _problem_line(item.label, problem, problems, key)))
                if launch_failed(result):
                    stopped = _stopped_note(item.label, result, item is self.cases[0])
                    break
                continue
            lines += _case_lines(item, result, advised, source)
            pairs = raw_headers(result)
            if pairs is not None:
                heads.append((item.label, result, pairs))
                if "content-type" not in {name for name, _ in pairs}:
                    missing_type.append(item.label)
        if all_answered:
            lines.append(_content_type_line(missing_type))
            lines += own_header_lines(heads)
            if self.body_case is not None:
                body_line = body_reading_line(script, self.body_case, timeout)
                if body_line is not None:
                    lines.append(body_line)
                stray = stdin_without_length_line(script, timeout)
                if stray is not None:
                    lines.append(stray)
        if not stopped:
            removed = removed_modules_line(script, stderrs)
            if removed is not None:
                lines.append(removed)
        passed = all(mark != "✗" for mark, _ in lines)
        note = stopped or ("" if all_answered else _LATER_CHECKS)
        return ExerciseResult(
            self.title, passed, compact_lines(lines) if passed else lines, note=note
        )


_LATER_CHECKS = (
    "the script's own headers and how it reads stdin are checked once it answers every request"
)


def _stopped_note(label: str, result: CGIResult, first: bool) -> str:
    """Why the check sent no more requests (for the headline's count)."""
    at = "after the first request" if first else f"at {label}"
    if result.status == 504:
        return f"the check stopped {at}: the script did not finish, so no more requests were sent"
    return (
        f"the check stopped {at}: the script could not be started, and every other "
        f"request would fail the same way"
    )


def _crash_problem(script: str, result: CGIResult, timeout: float) -> tuple[str, str]:
    """The gateway's explanation with the learner's own line kept, and its key for repeats.

    The key is the explanation's first line, plus the error itself for a
    crash: two different errors are two problems, not "the same as above".
    A timeout's "more time with timeout=..." is worded for this check's call.
    """
    problem = str(result.problem)
    if result.status == 504:
        problem = problem.replace(
            "with timeout=...",
            f"with timeout=...: this check waited {timeout:g} s a request; give it more "
            f"in its call, as in check_cgi_form(answer, timeout=10)",
        )
    key = problem.splitlines()[0]
    kept = learner_traceback(result.stderr, script)
    tail = stderr_tail(result.stderr)
    if kept is not None and tail:
        if f"Its stderr said: {tail}" in problem:
            problem = problem.replace(f"Its stderr said: {tail}", f"Its stderr said:\n{kept}", 1)
        else:
            problem = problem.replace(tail, kept, 1)
        key += "\n" + kept.splitlines()[-1]
    source = read_source(script)
    advice = crash_advice(result.stderr, source) if result.stderr else ""
    advice = advice or _missing_field_advice(stderr_tail(result.stderr, 1), source)
    if advice:
        problem += f"\nWhat to change: {advice}"
    return problem, key


def _missing_field_advice(error: str, source: str) -> str:
    """What to change for ``fields['name']`` on a request that has no such field."""
    missing = re.fullmatch(r"KeyError: '([a-z_][a-z0-9_]*)'", error.strip())
    if missing is None or "parse_qs" not in source:
        return ""
    name = missing.group(1)
    return (
        f"a request that sends no {name} field (GET /, the form's first visit) has no "
        f"{name!r} key in the dict parse_qs gives, so [{name!r}] raises KeyError: read it "
        f"with .get, as in fields.get({name!r}, [''])[0], and show the form when it is empty."
    )


def _case_lines(
    item: CGICase, result: CGIResult, advised: set[str], source: str = ""
) -> list[tuple[str, str]]:
    """One line per check; a failed check says what to change for *that* check.

    The advice rides on the failed check's own line (not a line of its own),
    so the headline counts checks only. ``advised`` holds the advice given so
    far: the same advice again (another request, the same mistake) is only
    pointed at. ``source`` is the script's text (a name escaped too early shows there).
    """
    about = f" ({item.case.says})" if item.case.says else ""
    lines: list[tuple[str, str]] = []
    for ok, text, hint in item.checks(result, source):
        line = f"{item.label}{about}: {text}"
        if not ok and hint:
            line += ". What to change: " + ("as above." if hint in advised else hint)
            advised.add(hint)
        lines.append(("✓" if ok else "✗", line))
    return lines


def _problem_line(label: str, problem: str, seen: list[str], key: str = "") -> str:
    """The gateway's explanation in full the first time, in one line after that.

    ``key`` (the first line unless given) tells repeats apart; a new problem
    that opens like one already shown (another crash) is shown in full.
    """
    first = problem.splitlines()[0]
    key = key or first
    indented = problem.replace("\n", "\n      ")
    if not seen:
        seen.append(key)
        return f"{label}: the gateway had to answer for the script. {indented}"
    if key in seen:
        return f"{label}: the same problem as above."
    opened_alike = any(known.splitlines()[0] == first for known in seen)
    seen.append(key)
    if opened_alike:
        return f"{label}: the gateway had to answer for the script again. {indented}"
    return f"{label}: the gateway had to answer for the script again. {first}"


def _content_type_line(missing: list[str]) -> tuple[str, str]:
    if not missing:
        return ("✓", "the script prints its own Content-Type header")
    return (
        "✗",
        f"the script printed no Content-Type header (on {', '.join(missing)}); the "
        f"gateway guessed one so the page still shows, but a CGI script must send it. "
        f"What to change: print('Content-Type: text/html; charset=utf-8') before the "
        f"empty line that ends the headers. See {specs.RFC3875_CONTENT_TYPE}",
    )


Line = tuple[str, str]  # (mark, sentence)


def own_header_lines(heads: list[tuple[str, CGIResult, list[tuple[str, str]]]]) -> list[Line]:
    """Lines on what the script's own headers say that the gateway's answer hides.

    ``heads``: (request, result, the headers the script printed) of each
    answered request. A ``Content-Length`` that is not the body's size is a
    ✗: this gateway (and ``serve_cgi``) send the right one, so the page looks
    fine here, but a server that passes the header on breaks the page. A
    ``Status:`` with no reason phrase is a warning: the gateway supplies one.
    Nothing is said when the script sends neither.
    """
    lines: list[Line] = []
    lengths = [
        (label, value, len(result.body))
        for label, result, pairs in heads
        for name, value in pairs
        if name == "content-length"
    ]
    wrong = [(label, value, size) for label, value, size in lengths if value != str(size)]
    if wrong:
        label, value, size = wrong[0]
        more = len(wrong) - 1
        also = f" (and {more} more request{'s' if more > 1 else ''})" if more else ""
        lines.append(("✗", f"{label}{also}: {length_mismatch_note(value, size)}"))
    elif lengths:
        lines.append(("✓", "the script's Content-Length header matches its body"))
    bare = [
        (label, value)
        for label, _, pairs in heads
        for name, value in pairs
        if name == "status" and re.fullmatch(r"\d{3}", value)
    ]
    if bare:
        label, value = bare[0]
        code = int(value)
        lines.append(
            (
                "!",
                f"{label}: the script printed 'Status: {value}' with no reason phrase. "
                f'RFC 3875 section 6.3.3 writes the header as "Status:" status-code SP '
                f"reason-phrase; this gateway supplied the phrase, another server may not. "
                f"What to change: print('Status: {code} {reason_for(code) or 'Reason'}')"
                f"{', or leave the Status line out: 200 is the default' if code == 200 else ''}"
                f". See {specs.rfc3875_section('6.3.3')}",
            )
        )
    return lines
