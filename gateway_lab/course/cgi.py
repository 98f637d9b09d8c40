"""The exercise of notebook 01: a CGI script that answers a form.

Theory of operation: the answer is a CGI script, so the exercise is a
:class:`~.cgi_exercise.CGIExercise` (which plays the web server, one real
process per request, and reads past the gateway's response: the script's
own headers, the gateway's 5xx explanations, how the script reads a POST
body). This module is only the data: seven requests and what each answer
must show.

* ``cgi-form``: with no name, show a ``<form>`` with an ``<input
  name="name">``; with a name (in the query string or in a POST body,
  percent- or plus-encoded), answer "Hello, NAME!" with the name
  HTML-escaped. The greeting is read in the page's text, as a browser
  shows it, so ``Hello, <b>Ada</b>!`` is right; its advice follows what
  the page showed (``field="name"``), and the hints below are for a page
  where the name is missing. The HTML name is checked as it is (an
  ``&amp;lt;`` must not pass for ``&lt;``), but a page that shows it still
  URL-encoded gets the decoding advice, not the escaping one
  (``echoes="name"``). The HTML name goes both ways, in the query string
  and in a POST body, since each is read by different code; what must not
  reach the page is the visitor's markup itself (``<script>alert(1)``),
  not any ``<script>``: a page may have scripts of its own. A last name has
  both quotes in it (``QUOTED_NAME``): a quote of it raw inside a tag ends
  the attribute it was put in (``value='{name}'`` after
  ``html.escape(name, quote=False)``), so it fails; shown only as text, its
  quotes are harmless and pass.

The reference solution is ``notebooks/solutions/cgi-form.py``.

>>> from gateway_lab.course.cgi import CGI_FORM
>>> CGI_FORM("solutions/cgi-form.py")  # doctest: +SKIP
✓ A CGI script that answers a form: passed, well done!
"""

from __future__ import annotations

from typing import Any

from gateway_lab.exercises.case import Case
from gateway_lab.exercises.cgi import CGICase, CGIExercise
from gateway_lab.exercises.framework import register
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.exercises.stdin import EXTRA_STDIN

__all__ = ["CGI_FORM", "EXTRA_STDIN", "QUOTED_NAME", "CGICase", "CGIExercise", "check_cgi_form"]

FORM_TYPE = (("Content-Type", "application/x-www-form-urlencoded"),)
# A "name" that is HTML, as a form sends it, and the markup that must not reach the page
# as it is. The page's own <script> tags are fine: only the visitor's must be escaped.
HTML_NAME = "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
INJECTED = "<script>alert(1)"
# A name with both quotes, < > and &: in a tag, its quotes must be escaped too.
QUOTED_NAME = "%22Ada%22+O%27Neil+%3Cb%3E+%26+co"  # "Ada" O'Neil <b> & co


def _form_cases() -> list[CGICase]:
    html = {"Content-Type": "text/html"}
    form = (
        (r"<form\b", "a <form>"),
        (r"<input\b[^>]*\bname\s*=\s*[\"']?name\b", "an <input> called name"),
    )
    query_hint = (
        "A GET form puts its fields in the query string: parse it with "
        "urllib.parse.parse_qs(os.environ.get('QUERY_STRING', '')), which also decodes "
        "%20 and + into spaces."
    )
    escape_hint = (
        "Escape the name before it goes into the page, with html.escape(name), whether it "
        "came in the query string or in the body: otherwise a visitor can put their own "
        "HTML and JavaScript into it."
    )
    post_hint = (
        "A POST form sends its fields in the request body, which arrives on stdin (not in "
        "QUERY_STRING): read exactly int(os.environ.get('CONTENT_LENGTH') or 0) bytes with "
        "sys.stdin.buffer.read(...), decode them with .decode('utf-8'), then parse them with "
        "urllib.parse.parse_qs (given bytes, parse_qs gives bytes keys, b'name', which "
        "fields.get('name') does not find)."
    )
    return [
        CGICase(
            Case("GET /", says="no name yet: show the form", headers_expected=html),
            shows=form,
            hint='With no name, answer a page with a <form> and an <input name="name">.',
        ),
        CGICase(
            Case(
                "GET /?name=Ada",
                contains="Hello, Ada!",
                says="a name in the query string",
                headers_expected=html,
            ),
            hint=query_hint,
            field="name",
        ),
        CGICase(
            Case(
                "POST /",
                body=b"name=Ada",
                headers=FORM_TYPE,
                contains="Hello, Ada!",
                says="a name in the POST body",
                headers_expected=html,
            ),
            hint=post_hint,
            field="name",
        ),
        CGICase(
            Case(
                "GET /?name=Grace%20Hopper",
                contains="Hello, Grace Hopper!",
                says="a percent-encoded name",
            ),
            hint=query_hint,
            field="name",
        ),
        CGICase(
            Case(
                "POST /",
                body=b"name=Grace+Hopper",
                headers=FORM_TYPE,
                contains="Hello, Grace Hopper!",
                says="a POST body with + for a space",
            ),
            hint=post_hint,
            field="name",
        ),
        CGICase(
            Case(f"GET /?name={HTML_NAME}", contains="&lt;script&gt;", says="a name that is HTML"),
            absent=(INJECTED,),
            echoes="name",  # still %3Cscript%3E on the page: decode first (parse_qs)
            hint=escape_hint,
        ),
        CGICase(
            Case(
                "POST /",
                body=f"name={HTML_NAME}".encode(),
                headers=FORM_TYPE,
                contains="&lt;script&gt;",
                says="a POST body with a name that is HTML",
            ),
            absent=(INJECTED,),
            echoes="name",
            hint=escape_hint,
        ),
        CGICase(
            Case(
                f"GET /?name={QUOTED_NAME}",
                contains='Hello, "Ada" O\'Neil <b> & co!',
                says="a name with quotes, < > and &",
            ),
            absent=("<b> & co",),
            hint=escape_hint,
            field="name",
            echoes="name",
            in_tags="name",
        ),
    ]


_FORM_CASES = _form_cases()

CGI_FORM = CGIExercise(
    "cgi-form",
    _FORM_CASES,
    title="A CGI script that answers a form",
    body_case=_FORM_CASES[2],
)
register(CGI_FORM)  # gl.exercise("cgi-form")


def check_cgi_form(
    answer: Any, *, quiet: bool = False, timeout: float | None = None
) -> ExerciseResult:
    """Check a form-answering CGI script (its path or its source text).

    ``timeout``: seconds each request may take (3 by default).
    """
    return CGI_FORM.check(answer, quiet=quiet, timeout=timeout)
