"""CGI exercises: a learner's CGI script, checked by playing the web server.

Theory of operation: a CGI answer is a *program*, not a Python function, so
a :class:`CGIExercise` plays the web server with :func:`gateway_lab.run_cgi`
(one real process per request) instead of calling an app. The answer may be
the script's path or its whole source text (written to a temporary folder
and made executable for the check). Each request is an
:class:`~gateway_lab.exercises.framework.Case` (status, text in the body,
headers) wrapped in a :class:`CGICase` that adds what must *not* appear
(an unescaped ``<script>``), patterns the page must show (a form) and a
hint for when the case fails. Three checks look past the response the
gateway hands back:

* the script's **own** headers, read from its raw stdout: the gateway adds a
  missing ``Content-Type`` so the page still works, but RFC 3875 section
  6.3.1 asks the script to send it;
* what the gateway had to **answer for** the script (a 5xx page): not
  executable, a bad ``#!`` line, no empty line after the headers, a crash;
  each distinct explanation is shown once, and a launch failure or a
  timeout ends the check early (every other request would fail the same way);
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

Each failed check says what to change for *that* check (a wrong header and
a wrong page get different advice), on its own line, so the headline counts
checks, not advice.

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

import os
import re
import shutil
from dataclasses import dataclass, replace

from gateway_lab import specs
from gateway_lab.cgi.parse import CGIOutputError, parse_cgi_output
from gateway_lab.cgi.process import run_process
from gateway_lab.cgi.run import CGIResult, child_environment, run_cgi
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.compact import compact_lines
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.exercises.scripts import prepare_script
from gateway_lab.exercises.stdin import MAX_OUTPUT, body_reading_line
from gateway_lab.interface.environ import cgi_variables

__all__ = ["STRAY_NAME", "CGICase", "CGIExercise", "stdin_without_length_line"]

# Put on stdin of a GET that has no CONTENT_LENGTH: a script that greets this
# name read stdin with no length to go by.
STRAY_NAME = "Eve"
_STRAY_STDIN = f"name={STRAY_NAME}".encode()


@dataclass(frozen=True)
class CGICase:
    """One request of a CGI exercise: a :class:`Case` and a little more.

    ``absent``: text the body must not contain. ``shows``: (regular
    expression, what it means in words) pairs the body must match. ``hint``:
    what to change when this case's *page* is wrong (its text, what it must
    show or must not contain); a wrong status or header gets advice of its own.
    """

    case: Case
    absent: tuple[str, ...] = ()
    shows: tuple[tuple[str, str], ...] = ()
    hint: str = ""

    @property
    def method(self) -> str:
        return self.case.request.strip().partition(" ")[0].upper() or "GET"

    @property
    def target(self) -> str:
        return self.case.request.strip().partition(" ")[2].strip() or "/"

    @property
    def body(self) -> bytes:
        body = self.case.body
        return body if isinstance(body, bytes) else b"".join(body)

    @property
    def label(self) -> str:
        """The request in a few words: ``POST / with body 'name=Ada'``."""
        text = f"{self.method} {self.target}"
        return text + (f" with body {self.body.decode('latin-1')!r}" if self.body else "")

    def run(self, script: str, timeout: float) -> CGIResult:
        """Send this case's request to ``script`` through the course's gateway."""
        # "/?name=Ada" asks for the script itself: no extra path, only a query.
        path = (
            self.target[1:] if self.target == "/" or self.target.startswith("/?") else self.target
        )
        return run_cgi(
            script, self.method, path, list(self.case.headers), self.body, timeout=timeout
        )

    def expectations(self, result: CGIResult) -> list[tuple[bool, str]]:
        """(passed, sentence) for each thing this case expects of ``result``."""
        return [(ok, text) for ok, text, _ in self.checks(result)]

    def checks(self, result: CGIResult) -> list[tuple[bool, str, str]]:
        """(passed, sentence, what to change if it failed) for each expectation.

        Each check carries the hint for *its* part of the answer: a wrong
        status, a wrong header and a wrong page get different advice, so a
        learner is never told to fix a part that passed.
        """
        case = self.case
        status = replace(case, contains=(), equals=None, headers_expected={})
        page = replace(case, status=None, headers_expected={})
        checks = [(ok, text, STATUS_HINT) for ok, text in status.expectations(result)]
        checks += [(ok, text, self.hint) for ok, text in page.expectations(result)]
        for text in self.absent:
            found = text in result.text
            checks.append(
                (
                    not found,
                    f"body has no unescaped {text!r}"
                    if not found
                    else f"body should not contain {text!r} as it is, but it does",
                    self.hint,
                )
            )
        for pattern, meaning in self.shows:
            seen = re.search(pattern, result.text, re.IGNORECASE) is not None
            checks.append(
                (seen, meaning if seen else f"should show {meaning}, but does not", self.hint)
            )
        for name, part in case.headers_expected.items():
            one_header = replace(
                case, status=None, contains=(), equals=None, headers_expected={name: part}
            )
            hint = _header_hint(name, part)
            checks += [(ok, text, hint) for ok, text in one_header.expectations(result)]
        return checks


STATUS_HINT = (
    "A normal answer needs no Status: header (the gateway then sends 200 OK); print "
    "Status: only for an error or a redirect."
)


def _header_hint(name: str, part: str) -> str:
    if name.lower() == "content-type" and part.lower() == "text/html":
        return (
            "print('Content-Type: text/html; charset=utf-8') before the empty line: with "
            "any other type (text/plain, say) the browser shows your tags as text "
            "instead of drawing the page."
        )
    return f"print a {name}: header whose value contains {part!r}, before the empty line."


def _raw_header_names(result: CGIResult) -> set[str] | None:
    """The header names the script itself printed (lower case), or None if unknown."""
    events = result.flow.of_kind("stdout") if result.flow is not None else []
    if not events:
        return None
    raw: bytes = events[-1].payload.get("body", b"")
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    names = set()
    for line in head.splitlines():
        name, colon, _ = line.partition(b":")
        if colon:
            names.add(name.strip().decode("latin-1").lower())
    return names


def _gateway_answered(result: CGIResult) -> bool:
    """True when the page is the gateway's explanation, not the script's answer."""
    return result.problem is not None and result.status >= 500


def _launch_failed(result: CGIResult) -> bool:
    """The script never ran (not executable, bad #! line) or was stopped (timeout)."""
    return _gateway_answered(result) and (result.exit_code is None or result.status == 504)


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

    def __call__(self, answer: object, *, quiet: bool = False) -> ExerciseResult:
        return self.check(answer, quiet=quiet)

    def check(self, answer: object, *, quiet: bool = False) -> ExerciseResult:
        """Check ``answer``, print friendly feedback (unless ``quiet``), return the result."""
        result = self.evaluate(answer)
        if not quiet:
            print(result)
            result.printed = True
        return result

    def evaluate(self, answer: object) -> ExerciseResult:
        """Check ``answer`` (a script path or source text) without printing; never raises."""
        script, folder, unfinished = prepare_script(answer)
        try:
            if unfinished:
                return ExerciseResult(self.title, False, unfinished=unfinished)
            assert script is not None
            return self._judge(script)
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    def _judge(self, script: str) -> ExerciseResult:
        lines: list[tuple[str, str]] = []
        problems: list[str] = []
        missing_type: list[str] = []
        advised: set[str] = set()
        all_answered = True
        for item in self.cases:
            result = item.run(script, self.timeout)
            if b"NotImplementedError" in result.stderr:
                return ExerciseResult(
                    self.title,
                    False,
                    unfinished=(
                        "The script still raises NotImplementedError: replace that line "
                        "with your code, save the script, then run this check again."
                    ),
                )
            if _gateway_answered(result):
                all_answered = False
                lines.append(("✗", _problem_line(item.label, str(result.problem), problems)))
                if _launch_failed(result):
                    break
                continue
            lines += _case_lines(item, result, advised)
            names = _raw_header_names(result)
            if names is not None and "content-type" not in names:
                missing_type.append(item.label)
        if all_answered:
            lines.append(_content_type_line(missing_type))
            if self.body_case is not None:
                body_line = body_reading_line(script, self.body_case, self.timeout)
                if body_line is not None:
                    lines.append(body_line)
                stray = stdin_without_length_line(script, self.timeout)
                if stray is not None:
                    lines.append(stray)
        passed = all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(self.title, passed, compact_lines(lines) if passed else lines)


def stdin_without_length_line(script: str, timeout: float) -> tuple[str, str] | None:
    """The warning for a script that reads stdin on a request with no CONTENT_LENGTH.

    The script gets ``GET /`` (no body, so no ``CONTENT_LENGTH``) with a form
    on stdin all the same. Greeting that name means it read stdin with no
    length to go by (a ``!``); a ✓ when it did not; None when its answer
    cannot be read.
    """
    variables = cgi_variables("GET", "", [], None, script_name="/" + os.path.basename(script))
    variables.pop("CONTENT_LENGTH", None)
    variables["PATH_INFO"] = ""
    outcome = run_process(
        [script],
        child_environment(variables),
        os.path.dirname(script),
        _STRAY_STDIN,
        timeout=timeout,
        max_output=MAX_OUTPUT,
    )
    try:
        page = parse_cgi_output(outcome.stdout).body.decode("utf-8", "replace")
    except CGIOutputError:
        return None
    if STRAY_NAME not in page:
        return ("✓", "GET / with no body: leaves stdin alone when there is no CONTENT_LENGTH")
    return (
        "!",
        f"GET / with no body: this request has no CONTENT_LENGTH, yet the script read "
        f"stdin (it greeted {STRAY_NAME!r}, a name this check put on stdin). With "
        f"CONTENT_LENGTH absent, int(... or 0) is 0, so read(length - 1) is read(-1), "
        f"and read(-1) or read() reads until stdin ends; a server that keeps stdin open "
        f"never ends it, and the request hangs. What to change: read stdin only when "
        f"CONTENT_LENGTH is set (a POST), and exactly "
        f"sys.stdin.buffer.read(int(os.environ.get('CONTENT_LENGTH') or 0)) bytes. "
        f"See {specs.RFC3875_REQUEST_BODY}",
    )


def _case_lines(item: CGICase, result: CGIResult, advised: set[str]) -> list[tuple[str, str]]:
    """One line per check; a failed check says what to change for *that* check.

    The advice rides on the failed check's own line (not a line of its own),
    so the headline counts checks only. ``advised`` holds the advice given so
    far: the same advice again (another request, the same mistake) is only
    pointed at.
    """
    about = f" ({item.case.says})" if item.case.says else ""
    lines: list[tuple[str, str]] = []
    for ok, text, hint in item.checks(result):
        line = f"{item.label}{about}: {text}"
        if not ok and hint:
            line += ". What to change: " + ("as above." if hint in advised else hint)
            advised.add(hint)
        lines.append(("✓" if ok else "✗", line))
    return lines


def _problem_line(label: str, problem: str, seen: list[str]) -> str:
    """The gateway's explanation in full the first time, in one line after that."""
    first = problem.splitlines()[0]
    if not seen:
        seen.append(first)
        indented = problem.replace("\n", "\n      ")
        return f"{label}: the gateway had to answer for the script. {indented}"
    if first in seen:
        return f"{label}: the same problem as above."
    seen.append(first)
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
