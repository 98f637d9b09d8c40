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

import ast
import os
import re
import shutil
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from urllib.parse import unquote_plus

from gateway_lab import specs
from gateway_lab.cgi.explain import stderr_tail
from gateway_lab.cgi.parse import CGIOutputError, parse_cgi_output
from gateway_lab.cgi.process import run_process
from gateway_lab.cgi.run import CGIResult, child_environment, run_cgi
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.compact import compact_lines
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.exercises.scripts import prepare_script
from gateway_lab.exercises.stdin import MAX_OUTPUT, body_reading_line
from gateway_lab.interface.environ import cgi_variables

__all__ = [
    "STRAY_NAME",
    "CGICase",
    "CGIExercise",
    "learner_traceback",
    "old_modules",
    "page_text",
    "stdin_without_length_line",
]

# Put on stdin of a GET that has no CONTENT_LENGTH: a script that greets this
# name read stdin with no length to go by.
STRAY_NAME = "Eve"
_STRAY_STDIN = f"name={STRAY_NAME}".encode()

PEP594_CGI = specs.PEP594_CGI
MAX_SOURCE = 1_000_000  # read at most this much of a script to look at its code

# What a failed greeting's page showed, and what to change for it.
_TAKE_FIRST = (
    "parse_qs gives a list for each name (parse_qs('name=Ada') is {'name': ['Ada']}): "
    "take [0], as in fields.get('name', [''])[0]."
)
LIST_HINT = "The page shows a list: " + _TAKE_FIRST
FIELD_HINT = (
    "The page shows the whole field, {field!r} and all: parse the text with "
    "urllib.parse.parse_qs, which splits each field into its name and its value, then "
    "take fields.get({name!r}, [''])[0]."
)
DECODE_HINT = (
    "The name still has its URL encoding (a '+' or a %XX) on the page: decode it: "
    "parse_qs turns + into a space and %XX into bytes (then text), so parse the query "
    "string or the body with urllib.parse.parse_qs rather than splitting it by hand."
)
WORDING_HINT = (
    "The name is on the page, but not in the words asked for: print exactly {wanted!r}, "
    "with NAME the name (tags around it, such as <b>NAME</b>, are fine)."
)


class _PageText(HTMLParser):
    """The text of an HTML page as a browser shows it: no tags, no comments, no scripts."""

    _HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def page_text(page: str) -> str:
    """The text a browser shows for ``page``: tags and comments dropped, entities decoded.

    Runs of white space become one space, as a browser draws them.

    >>> page_text("<h1>Hello, <b>Ada</b>!</h1><!-- a note -->\\n<p>Tom &amp; Jerry</p>")
    'Hello, Ada! Tom & Jerry'
    """
    parser = _PageText()
    try:
        parser.feed(page)
        parser.close()
    except Exception:  # html.parser is lenient; a page it cannot read shows no text
        return ""
    return " ".join("".join(parser.parts).split())


def _without_comments(page: str) -> str:
    """``page`` with its HTML comments removed (an unclosed one runs to the end)."""
    return re.sub(r"<!--.*?(?:-->|\Z)", "", page, flags=re.DOTALL)


@dataclass(frozen=True)
class CGICase:
    """One request of a CGI exercise: a :class:`Case` and a little more.

    ``absent``: text the body must not contain. ``shows``: (regular
    expression, what it means in words) pairs the body must match, HTML
    comments aside. ``hint``: what to change when this case's *page* is
    wrong (its text, what it must show or must not contain); a wrong status
    or header gets advice of its own. ``field``: the form field (``"name"``)
    whose value the page must show: the case's ``contains`` texts are then
    read in the page's text as a browser shows it (markup around the value
    is fine), and a failed one gets advice that follows what the page showed
    (:meth:`page_hint`), ``hint`` only when the value is not there at all.
    """

    case: Case
    absent: tuple[str, ...] = ()
    shows: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    field: str = ""

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

    @property
    def sent(self) -> tuple[str, str]:
        """The ``field``'s value as the request sends it (encoded) and decoded; empty if none."""
        if not self.field:
            return "", ""
        form = self.body.decode("latin-1") if self.method == "POST" else self.target
        found = re.search(rf"(?:^|[?&;]){re.escape(self.field)}=([^&;]*)", form)
        raw = found.group(1) if found else ""
        return raw, unquote_plus(raw)

    @property
    def wanted(self) -> tuple[str, ...]:
        """The texts the page must contain."""
        contains = self.case.contains
        return (contains,) if isinstance(contains, str) else tuple(contains)

    def found(self, text: str, page: str) -> bool:
        """Does ``page`` contain ``text`` (for a ``field`` case: also in the text it shows)?"""
        return text in page or (bool(self.field) and text in page_text(page))

    def answered(self, page: str) -> bool:
        """Does ``page`` hold every text this case wants? (How the stdin checks tell.)"""
        return all(self.found(text, page) for text in self.wanted)

    def page_hint(self, page: str) -> str:
        """What to change when ``page`` lacks a wanted text, following what it showed."""
        raw, value = self.sent
        if not value:
            return self.hint
        shown = page_text(page)
        quoted = "['\"]?" + re.escape(value) + "['\"]?"
        if re.search(r"\[\s*" + quoted + r"\s*(?:,[^\]]*)?\]", shown):
            return LIST_HINT
        if f"{self.field}={raw}" in shown or f"{self.field}={value}" in shown:
            return FIELD_HINT.format(field=f"{self.field}=", name=self.field)
        if raw != value and raw in shown:
            return DECODE_HINT
        if value.lower() in shown.lower():
            wanted = next((t for t in self.wanted if value in t), "")
            if wanted:
                return WORDING_HINT.format(wanted=wanted.replace(value, "NAME"))
        return self.hint

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
        checks = [(ok, text, STATUS_HINT) for ok, text in status.expectations(result)]
        if self.field:
            checks += [self._text_check(text, result) for text in self.wanted]
            page = replace(case, status=None, contains=(), headers_expected={})
        else:
            page = replace(case, status=None, headers_expected={})
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
        shown = _without_comments(result.text)
        for pattern, meaning in self.shows:
            seen = re.search(pattern, shown, re.IGNORECASE) is not None
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

    def _text_check(self, text: str, result: CGIResult) -> tuple[bool, str, str]:
        """A wanted text of a ``field`` case: in the body, or in the text the page shows."""
        one = replace(self.case, status=None, contains=text, equals=None, headers_expected={})
        ((ok, sentence),) = one.expectations(result)
        if ok:
            return True, sentence, self.hint
        if text in page_text(result.text):
            return True, f"page shows {text!r}", self.hint
        return False, sentence, self.page_hint(result.text)


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
        stderrs: list[bytes] = []
        all_answered = True
        launched = True
        for item in self.cases:
            result = item.run(script, self.timeout)
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
            if _gateway_answered(result):
                all_answered = False
                problem, key = _crash_problem(script, result)
                lines.append(("✗", _problem_line(item.label, problem, problems, key)))
                if _launch_failed(result):
                    launched = False
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
        if launched:
            removed = _removed_modules_line(script, stderrs)
            if removed is not None:
                lines.append(removed)
        passed = all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(self.title, passed, compact_lines(lines) if passed else lines)


def stdin_without_length_line(script: str, timeout: float) -> tuple[str, str] | None:
    """The warning for a script that reads stdin on a request with no CONTENT_LENGTH.

    The script gets ``GET /`` (no body, so no ``CONTENT_LENGTH``) with a form
    on stdin all the same. Greeting that name means it read stdin with no
    length to go by (a ``!``, worded for the read its source shows: one to
    the end, or ``read(length - 1)``); a ✓ when it did not; None when its
    answer cannot be read.
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
    kind, code = stdin_read_in(_read_source(script))
    if kind == "length - 1":
        how = (
            f"With CONTENT_LENGTH absent, int(... or 0) is 0, so {code} is read(-1), and "
            f"read(-1) reads until stdin ends"
        )
    elif kind == "to the end":
        how = f"Its {code} reads until stdin ends, whatever CONTENT_LENGTH says"
    else:
        how = "With no CONTENT_LENGTH there is no body, so there is nothing to read"
    return (
        "!",
        f"GET / with no body: this request has no CONTENT_LENGTH, yet the script read "
        f"stdin (it greeted {STRAY_NAME!r}, a name this check put on stdin). {how}; a "
        f"server that keeps stdin open never ends it, and the request hangs. What to "
        f"change: read stdin only when CONTENT_LENGTH is set (a POST), and exactly "
        f"sys.stdin.buffer.read(int(os.environ.get('CONTENT_LENGTH') or 0)) bytes. "
        f"See {specs.RFC3875_REQUEST_BODY}",
    )


_READ_MINUS_ONE = re.compile(r"[\w.]*\.read\(\s*\w+\s*-\s*1\s*\)")
_READ_TO_END = re.compile(
    r"[\w.]*stdin(?:\.buffer)?\.(?:read\(\s*(?:-1\s*)?\)|readlines\(\s*\))"
    r"|for\s+\w+\s+in\s+sys\.stdin(?:\.buffer)?\b"
    r"|open\(\s*0\b[^)]*\)\.read\(\s*\)"
)


def stdin_read_in(source: str) -> tuple[str, str]:
    """How ``source`` reads stdin with no length: ``("length - 1" | "to the end" | "", code)``.

    >>> stdin_read_in("data = sys.stdin.read()")
    ('to the end', 'sys.stdin.read()')
    >>> stdin_read_in("body = sys.stdin.buffer.read(length - 1)")
    ('length - 1', 'sys.stdin.buffer.read(length - 1)')
    """
    for kind, pattern in (("length - 1", _READ_MINUS_ONE), ("to the end", _READ_TO_END)):
        found = pattern.search(source)
        if found:
            return kind, found.group(0)
    return "", ""


def _read_source(script: str) -> str:
    """The script's text (its first MAX_SOURCE bytes), or "" if it cannot be read."""
    try:
        with open(script, "rb") as file:
            return file.read(MAX_SOURCE).decode("utf-8", "replace")
    except OSError:
        return ""


_REMOVED = ("cgi", "cgitb")  # PEP 594: deprecated in Python 3.11, removed in 3.13
_DEPRECATED = re.compile(rb"DeprecationWarning: '(cgi|cgitb)' is deprecated")
_GONE = re.compile(rb"No module named '(cgi|cgitb)'")


def old_modules(source: str) -> list[str]:
    """The modules removed in Python 3.13 (``cgi``, ``cgitb``) that ``source`` imports.

    >>> old_modules("import os, cgi\\nform = cgi.FieldStorage()")
    ['cgi']
    >>> old_modules("# no 'import cgi' here\\nfrom urllib.parse import parse_qs")
    []
    """
    found: set[str] = set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # not Python (or not yet): a plain look at the lines
        found.update(re.findall(r"^\s*(?:import|from)\s+(cgitb|cgi)\b", source, re.MULTILINE))
    else:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.partition(".")[0])
    return [name for name in _REMOVED if name in found]


def _removed_modules_line(script: str, stderrs: list[bytes]) -> tuple[str, str] | None:
    """A warning for a script that uses ``cgi`` or ``cgitb`` (None if it does not).

    Read from the script's source, or from the DeprecationWarning Python
    3.11 and 3.12 print on stderr. A script whose import already failed (a
    Python 3.13) gets no warning: its crash lines say it.
    """
    names = set(old_modules(_read_source(script)))
    stderr = b"".join(stderrs)
    names.update(found.decode() for found in _DEPRECATED.findall(stderr))
    if not names or _GONE.search(stderr):
        return None
    used = [name for name in _REMOVED if name in names]
    modules = " and ".join(used) + (" modules are" if len(used) > 1 else " module is")
    what = []
    if "cgi" in used:
        what.append(
            "parse with urllib.parse.parse_qs, not cgi.FieldStorage(): "
            "parse_qs(os.environ.get('QUERY_STRING', '')) for a GET, "
            "parse_qs(sys.stdin.buffer.read(int(os.environ.get('CONTENT_LENGTH') or "
            "0)).decode('utf-8')) for a POST, then fields.get('name', [''])[0]"
        )
    if "cgitb" in used:
        what.append("drop cgitb.enable(): this check already shows a crash's traceback")
    return (
        "!",
        f"the {modules} gone from Python 3.13 (PEP 594: deprecated in 3.11, removed in "
        f"3.13): the script imports {' and '.join(used)}, which still works on the Python "
        f"that ran it here, but on 3.13 and later it stops at that import. What to "
        f"change: {'; '.join(what)}. See {PEP594_CGI}",
    )


_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')


def learner_traceback(stderr: bytes, script: str) -> str | None:
    r"""The script's own frame of its traceback and the error, or None if there is none.

    Python's traceback ends in a library's frame when the error is raised
    there (``os.environ[...]``, ``html.escape(a_list)``): its last lines then
    never name the learner's line. This keeps the last frame that is in
    ``script`` (its ``File ..., line N`` line, shortened to the file's name,
    its code and its carets) and the error itself. A SyntaxError, which has
    no ``Traceback`` line, is kept the same way.

    >>> stderr = (b'Traceback (most recent call last):\n'
    ...           b'  File "/lab/my_form.py", line 9, in <module>\n    key = os.environ["KEY"]\n'
    ...           b'          ~~~~~~~~~~^^^^^^^\n'
    ...           b'  File "<frozen os>", line 679, in __getitem__\nKeyError: \'KEY\'\n')
    >>> print(learner_traceback(stderr, "/lab/my_form.py"))
      File "my_form.py", line 9, in <module>
        key = os.environ["KEY"]
              ~~~~~~~~~~^^^^^^^
    KeyError: 'KEY'
    """
    lines = stderr.decode("utf-8", "replace").rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    start = starts[-1] if starts else 0
    name = os.path.basename(script)
    frames = ((i, _FRAME.match(lines[i])) for i in range(start, len(lines)))
    mine = [(i, frame[1]) for i, frame in frames if frame and os.path.basename(frame[1]) == name]
    if not mine:
        return None
    first, path = mine[-1]
    kept = [lines[first].replace(f'"{path}"', f'"{name}"', 1)]
    after = first + 1
    while after < len(lines) and lines[after][:1].isspace() and not _FRAME.match(lines[after]):
        kept.append(lines[after])
        after += 1
    error = next((i for i in range(after, len(lines)) if lines[i][:1].strip()), None)
    if error is None:
        return None
    return "\n".join(kept + lines[error : error + 5])


def _crash_advice(stderr: bytes, source: str) -> str:
    """What to change for a crash a learner of this lesson often meets ("" for others)."""
    error = stderr_tail(stderr, 1)
    if _GONE.search(stderr):
        return (
            "the cgi module is gone from Python 3.13 (PEP 594): parse with "
            "urllib.parse.parse_qs, parse_qs(os.environ.get('QUERY_STRING', '')) for a "
            "GET and parse_qs(sys.stdin.buffer.read(int(os.environ.get('CONTENT_LENGTH') "
            f"or 0)).decode('utf-8')) for a POST. See {PEP594_CGI}"
        )
    if "module 'cgi' has no attribute 'escape'" in error:
        return "cgi.escape is gone (since Python 3.8): escape with html.escape(name)."
    if "parse_qs" in source and re.match(r"(?:AttributeError|TypeError)\b.*\blist\b", error):
        return "the script used a list where it needs text: " + _TAKE_FIRST
    return ""


def _crash_problem(script: str, result: CGIResult) -> tuple[str, str]:
    """The gateway's explanation with the learner's own line kept, and its key for repeats.

    The key is the explanation's first line, plus the error itself for a
    crash: two different errors are two problems, not "the same as above".
    """
    problem = str(result.problem)
    key = problem.splitlines()[0]
    kept = learner_traceback(result.stderr, script)
    tail = stderr_tail(result.stderr)
    if kept is not None and tail:
        if f"Its stderr said: {tail}" in problem:
            problem = problem.replace(f"Its stderr said: {tail}", f"Its stderr said:\n{kept}", 1)
        else:
            problem = problem.replace(tail, kept, 1)
        key += "\n" + kept.splitlines()[-1]
    advice = _crash_advice(result.stderr, _read_source(script)) if result.stderr else ""
    if advice:
        problem += f"\nWhat to change: {advice}"
    return problem, key


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
