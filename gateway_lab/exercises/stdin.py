"""Does a CGI script read exactly CONTENT_LENGTH bytes of its body? Send more, and see.

Theory of operation: RFC 3875 section 4.2 lets a server keep a script's
stdin open, or send more bytes, after the ``CONTENT_LENGTH`` bytes of the
body, so a script must read exactly that many. :func:`body_reading_line`
runs the script with :data:`EXTRA_STDIN` written after the body: a script
that reads "until the end" takes those bytes in and shows them. A second
run sends :data:`UTF8_BODY`, a raw UTF-8 name with more bytes than
characters: a text-mode ``sys.stdin.read(CONTENT_LENGTH)`` counts
characters, takes one extra byte, and answers with an ``E`` stuck on.
Either is a warning (``!``), not a failure: most servers, this course's
included, close stdin after the body, so such a script works here, but it
would hang or misread elsewhere.

:func:`stdin_without_length_line` asks the opposite: a ``GET`` with no
``CONTENT_LENGTH`` gets a form on stdin all the same (:data:`STRAY_NAME`), and
a script that greets that name read stdin with no length to go by.
"""

from __future__ import annotations

import os
from typing import Protocol

from gateway_lab import specs
from gateway_lab.cgi.parse import CGIOutputError, parse_cgi_output
from gateway_lab.cgi.process import run_process
from gateway_lab.cgi.run import child_environment, forwardable_headers
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.source import read_source, stdin_read_in
from gateway_lab.interface.environ import cgi_variables

__all__ = [
    "EXTRA_STDIN",
    "STRAY_NAME",
    "UTF8_BODY",
    "UTF8_NAME",
    "BodyCase",
    "body_reading_line",
    "stdin_without_length_line",
]

EXTRA_STDIN = b"Eve"  # sent after the body, beyond CONTENT_LENGTH
UTF8_NAME = "Zoë"
UTF8_BODY = f"name={UTF8_NAME}".encode()  # raw UTF-8: one byte more than characters
MAX_OUTPUT = 1_000_000
# What both ✓ lines are about, so that a passing report folds them into one row.
STDIN_ABOUT = "stdin (how the script reads it)"


class BodyCase(Protocol):
    """The POST case whose body the check sends (a ``CGICase``)."""

    @property
    def case(self) -> Case: ...

    @property
    def label(self) -> str: ...

    @property
    def body(self) -> bytes: ...

    def answered(self, page: str) -> bool:
        """Does ``page`` hold what the case wants (markup around a name allowed)?"""
        ...


def body_reading_line(script: str, body_case: BodyCase, timeout: float) -> tuple[str, str] | None:
    """The feedback line on how ``script`` reads its body, or None if it cannot be judged.

    Twice: with the body case's own body, then with :data:`UTF8_BODY`, whose
    name is sent as raw UTF-8 (more bytes than characters). A text-mode
    ``sys.stdin.read(n)`` reads n *characters*, so on that body it takes
    the first extra byte too: the name comes back with an ``E`` stuck on.
    """
    case = body_case.case
    label = body_case.label
    text = _answer_with_extra(script, case, body_case.body, timeout)
    if text is None:
        return None
    if EXTRA_STDIN.decode() in text:
        return (
            "!",
            f"{label}: the script read more than CONTENT_LENGTH bytes from stdin: it "
            f"took the {len(EXTRA_STDIN)} extra bytes this check sent after the body. "
            f"The course's gateway sends nothing more and closes stdin, which hides the "
            f"mistake there, but RFC 3875 lets a server keep stdin open (the read then "
            f"never returns) or send more (as this check did): read exactly "
            f"sys.stdin.buffer.read(int(os.environ.get('CONTENT_LENGTH') or 0)), "
            f"never sys.stdin.read(). See {specs.RFC3875_REQUEST_BODY}",
        )
    if not body_case.answered(text):
        return None
    text = _answer_with_extra(script, case, UTF8_BODY, timeout) or ""
    if UTF8_NAME + EXTRA_STDIN.decode()[:1] in text:
        return (
            "!",
            f"POST / with body {UTF8_BODY.decode()!r} sent as raw UTF-8 "
            f"({len(UTF8_BODY)} bytes, {len(UTF8_BODY.decode())} characters): the "
            f"script read {len(UTF8_BODY)} characters, not {len(UTF8_BODY)} bytes, "
            f"so it took a byte from after the body and answered "
            f"{UTF8_NAME + EXTRA_STDIN.decode()[:1]!r}. sys.stdin.read(n) counts "
            f"characters, CONTENT_LENGTH counts bytes. The course's gateway sends "
            f"nothing after the body, which hides the mistake there; a server that "
            f"sends more shows it, as this check did. What to change: read bytes, "
            f"sys.stdin.buffer.read(int(os.environ.get('CONTENT_LENGTH') or 0)), "
            f"then .decode('utf-8'). See {specs.RFC3875_REQUEST_BODY}",
        )
    return ("✓", f"{STDIN_ABOUT}: reads exactly CONTENT_LENGTH bytes of the body of {label}")


def _answer_with_extra(script: str, case: Case, body: bytes, timeout: float) -> str | None:
    """The script's page for a POST of ``body`` followed by EXTRA_STDIN on stdin."""
    variables = cgi_variables(
        "POST",
        "",
        forwardable_headers(list(case.headers)),
        len(body),
        script_name="/" + os.path.basename(script),
    )
    variables["PATH_INFO"] = ""
    outcome = run_process(
        [script],
        child_environment(variables),
        os.path.dirname(script),
        body + EXTRA_STDIN,
        timeout=timeout,
        max_output=MAX_OUTPUT,
    )
    try:
        return parse_cgi_output(outcome.stdout).body.decode("utf-8", "replace")
    except CGIOutputError:
        return None


# Put on stdin of a GET that has no CONTENT_LENGTH: a script that greets this
# name read stdin with no length to go by.
STRAY_NAME = "Eve"
_STRAY_STDIN = f"name={STRAY_NAME}".encode()


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
        return (
            "✓",
            f"{STDIN_ABOUT}: leaves stdin alone on GET / with no body, which has no CONTENT_LENGTH",
        )
    kind, code = stdin_read_in(read_source(script))
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
