"""The exercise of notebook 09 (labs), checked with ``gl.exercise("asgi-guestbook")``.

Theory of operation: the capstone writes one small app three ways (CGI, WSGI,
ASGI); the learner writes the ASGI one. The exercise is data (see
:mod:`.exercises`): a sequence of requests against the *same* app, in order,
so that a message posted by one case shows in the next, and what each
response must contain. The app keeps its messages in a list of its own; the
checks only ask that the posted messages *appear*, so running the check
twice (more messages in the list) still passes.

* ``asgi-guestbook``: ``GET /`` and ``HEAD /`` answer the page
  (``guestbook_page``), a ``POST /`` whose form body has a ``message`` adds
  it (HTML-escaped, body possibly in several ``http.request`` messages) and
  answers the page, an empty message is a 400, any other method a 405 with
  ``Allow: GET, HEAD, POST`` (tried with ``PUT`` as well as ``DELETE``, so an
  ``elif method == "DELETE"`` that serves the page to the rest is caught).
  One message is not ASCII (``café``), so a Content-Length counted in
  characters (``len(text)``) differs from the page's bytes.

Six adjustments make the feedback point at the cause, on top of the
shared :class:`.exercises.Exercise`:

* a header the case looks for but cannot see, because the app sent it as
  ``str`` (``asgi.header-not-bytes``), says so instead of "got None";
* a missing message shows the part of the page around where it should be
  (the ``<ul>`` list), not the page's first 60 bytes; when the app sent no
  body at all, the row says so, once, and how to send one; if the app
  *returned* something instead (``return [body]``, a WSGI habit), it says
  that a server ignores an ASGI app's return value;
* a Content-Length that counts the page's characters, not its bytes, gets a
  row that says so (the checker's ``asgi.content-length-mismatch`` only
  says the numbers differ);
* a method the guestbook does not serve that got another status than 405
  is told to answer 405 to every method but the three it serves;
* the ``HEAD /`` case keeps its own rows apart: a wrong status is named
  first, as a status (``status should be 200, got 405``, and to answer
  ``HEAD`` like ``GET``), and only a body that really has bytes in it gets
  the "a HEAD response has no body" row, with their count;
* reading only part of a body (``asgi.body-partly-read``) is a mistake to
  fix here, not a warning: the guestbook *uses* the body. The headline
  counts it with the other ✗ lines, and names any ``!`` warnings apart.

The reference solution is ``notebooks/solutions/asgi_guestbook.py``.
"""

from __future__ import annotations

from gateway_lab.check.report import Report
from gateway_lab.events.kinds import RETURN
from gateway_lab.exercises.case import Case, multibyte_characters
from gateway_lab.exercises.framework import Exercise, register
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.exercises.runner import brief
from gateway_lab.interface.response import Response

__all__ = ["ASGI_GUESTBOOK", "GuestbookCase", "GuestbookExercise", "excerpt"]

EXCERPT_LIMIT = 120  # characters of the page shown around a missing message
SERVED = ("GET", "HEAD", "POST")
NO_BODY = ", but the app sent no body"
SEND_IT = "; send the page in a message: await send({'type': 'http.response.body', 'body': page})"
IN_CHARACTERS = "the number of characters in the page"

# Findings that are warnings in general but mistakes in this exercise.
_MISTAKES_HERE = ("asgi.body-partly-read",)


def excerpt(page: str, wanted: str, limit: int = EXCERPT_LIMIT) -> str:
    """The part of ``page`` a learner should look at when ``wanted`` is missing from it.

    The page's ``<ul>...</ul>`` list when there is one and it is short; else
    the text around the end of the longest start of ``wanted`` that the page
    does hold (where the two part ways); else the page's beginning.
    """
    start, end = page.find("<ul"), page.find("</ul>")
    if 0 <= start < end and end + 5 - start <= limit:
        return repr(page[start : end + 5])
    cut = 0
    for size in range(len(wanted), 0, -1):
        found = page.find(wanted[:size])
        if found >= 0:
            cut = found + size
            break
    begin = max(cut - limit // 2, 0)
    shown = page[begin : begin + limit]
    before = "..." if begin > 0 else ""
    after = "..." if begin + limit < len(page) else ""
    return f"{before}{shown!r}{after}"


class GuestbookCase(Case):
    """A :class:`Case` whose ✗ body line shows the page around the missing text."""

    def expectations(self, response: Response | None) -> list[tuple[bool, str]]:
        results = super().expectations(response)
        if response is None:
            return results
        texts = (self.contains,) if isinstance(self.contains, str) else self.contains
        page = response.text
        method = self.probe().method
        head = method == "HEAD"
        judged: list[tuple[bool, str]] = []
        unsent: list[str] = []  # texts missing from an empty body: one row for them all
        for ok, sentence in results:
            missing = next(
                (t for t in texts if sentence.startswith(f"body should contain {t!r}")), None
            )
            if not ok and missing is not None and not response.body:
                unsent.append(missing)
                if len(unsent) > 1:
                    continue
                sentence = f"body should contain {missing!r}{NO_BODY}{SEND_IT}"
            elif not ok and missing is not None:
                sentence = (
                    f"body should contain {missing!r}; around there the page has "
                    f"{excerpt(page, missing)}"
                )
            elif not ok and head and sentence.startswith("status should be"):
                sentence += ": answer HEAD like GET, with the same status and headers"
                if response.status == 405:
                    sentence += (
                        " (405 is for the methods the guestbook does not serve;"
                        " HEAD is one it does)"
                    )
            elif not ok and method not in SERVED and sentence.startswith("status should be"):
                sentence += (
                    f": {method} is not one of GET, HEAD and POST either. Answer 405 to every "
                    "method but those three (an else branch after them), not only to the ones "
                    "you listed"
                )
            elif not ok and head and self.equals == b"" and sentence.startswith("body should be"):
                sentence = (
                    f"a HEAD response has no body, but the app sent {len(response.body)} "
                    "bytes of it: when scope['method'] == 'HEAD', send the same status and "
                    "headers as GET and an empty body (a server would drop those bytes; "
                    "building the page was wasted work)"
                )
            judged.append((ok, sentence))
        if len(unsent) > 1:
            at = next(i for i, (_, text) in enumerate(judged) if NO_BODY in text)
            wanted = " and ".join(repr(t) for t in unsent)
            judged[at] = (False, f"body should contain {wanted}{NO_BODY}{SEND_IT}")
        return judged + ([] if head else length_in_characters(response))


def length_in_characters(response: Response) -> list[tuple[bool, str]]:
    """A ✗ row for a Content-Length that counts the page's characters instead of its bytes.

    No row otherwise: a right length needs none, and ``asgi.content-length-mismatch``
    says what is wrong with any other number.
    """
    value = (response.header("Content-Length") or "").strip()
    size, text = len(response.body), response.text
    if not value or value == str(size) or value != str(len(text)):
        return []
    return [
        (
            False,
            f"Content-Length is {value}, {IN_CHARACTERS}, but "
            f"Content-Length counts bytes: the page is {size} bytes in UTF-8 "
            f"({multibyte_characters(text)}). Count the bytes you send, "
            "str(len(body)).encode() with body = the page as bytes, not len() of the text",
        )
    ]


class GuestbookExercise(Exercise):
    """The guestbook exercise: feedback that names the real cause of each ✗."""

    def evaluate(self, app: object) -> ExerciseResult:
        result = super().evaluate(app)
        lines = [
            ("✗" if mark == "!" and text.startswith(_MISTAKES_HERE) else mark, text)
            for mark, text in result.lines
        ]
        passed = bool(lines) and all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(
            result.name,
            passed if not result.unfinished else False,
            brief(lines),
            unfinished=result.unfinished,
            report=result.report,
        )

    def _case_lines(self, report: Report) -> list[tuple[str, str]]:
        lines = _first_in_characters(_returned_instead(super()._case_lines(report), report))
        str_headers = [f for f in report.findings if f.rule == "asgi.header-not-bytes"]
        if not str_headers:
            return lines
        labels = {case.probe().label for case in self.cases}
        judged: list[tuple[str, str]] = []
        for mark, text in lines:
            label = next((known for known in labels if text.startswith(known)), "")
            for name in self._expected_header_names():
                wrong = f"header {name} should contain "
                if mark == "✗" and wrong in text and text.endswith("got None"):
                    sent_as_str = any(
                        label in (f.request, *f.also) and name.lower() in f.message.lower()
                        for f in str_headers
                    )
                    if sent_as_str:
                        text = text.removesuffix("got None") + (
                            "got a str header (see asgi.header-not-bytes below)"
                        )
            judged.append((mark, text))
        return judged

    def _expected_header_names(self) -> list[str]:
        return list(dict.fromkeys(n for case in self.cases for n in case.headers_expected))


def _returned_instead(lines: list[tuple[str, str]], report: Report) -> list[tuple[str, str]]:
    """``lines``, where a row says the app sent no body, naming what it returned instead."""
    returned = next(
        (
            str(event.payload.get("type"))
            for event in report.flow.of_kind(RETURN)
            if event.payload.get("summary")  # "" when the app returned None
        ),
        None,
    )
    if returned is None or not any(NO_BODY in text for _, text in lines):
        return lines
    instead = (
        f"{NO_BODY}: it returned a {returned}, and a server ignores what an ASGI app returns "
        "(returning the body is WSGI's way)"
    )
    return [(mark, text.replace(NO_BODY + SEND_IT, instead + SEND_IT)) for mark, text in lines]


def _first_in_characters(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``lines`` with only the first row about a length in characters (the page keeps 'café')."""
    rows = [i for i, (_, text) in enumerate(lines) if IN_CHARACTERS in text]
    return [line for i, line in enumerate(lines) if i not in rows[1:]]


_FORM = (("Content-Type", "application/x-www-form-urlencoded"),)

ASGI_GUESTBOOK = register(
    GuestbookExercise(
        "asgi-guestbook",
        kind="asgi",
        title="The guestbook (ASGI)",
        cases=[
            GuestbookCase(
                "GET /",
                contains="<h1>Guestbook</h1>",
                headers_expected={"Content-Type": "text/html"},
                says="the page",
            ),
            GuestbookCase(
                "HEAD /",
                equals=b"",  # the head of the page, not its body (RFC 9110, 9.3.2)
                headers_expected={"Content-Type": "text/html"},
                says="HEAD is answered like GET, without the body",
            ),
            GuestbookCase(
                "POST /",
                body=(b"message=Hello", b"+from+the+checker"),
                headers=_FORM,
                contains="<li>Hello from the checker</li>",
                says="a message whose body comes in two http.request messages",
            ),
            GuestbookCase(
                "POST /",
                body=b"message=%3Cb%3Ebold%3C%2Fb%3E",
                headers=_FORM,
                contains="<li>&lt;b&gt;bold&lt;/b&gt;</li>",
                says="HTML in a message is escaped",
            ),
            GuestbookCase(
                "POST /",
                body=b"message=caf%C3%A9",  # 'café': 4 characters, 5 bytes in UTF-8
                headers=_FORM,
                contains="<li>café</li>",
                says="a message that is not ASCII",
            ),
            GuestbookCase(
                "GET /",
                contains=(
                    "<li>Hello from the checker</li>",
                    "<li>&lt;b&gt;bold&lt;/b&gt;</li>",
                    "<li>café</li>",
                ),
                says="the messages stay",
            ),
            GuestbookCase(
                "POST /",
                body=b"message=",
                headers=_FORM,
                status=400,
                says="an empty message is refused",
            ),
            GuestbookCase(
                "DELETE /",
                status=405,
                headers_expected={"Allow": "GET, HEAD, POST"},
                says="other methods are not allowed",
            ),
            GuestbookCase(
                "PUT /",
                body=b"message=Hi",
                headers=_FORM,
                status=405,
                headers_expected={"Allow": "GET, HEAD, POST"},
                says="PUT is not allowed either",
            ),
        ],
    )
)
