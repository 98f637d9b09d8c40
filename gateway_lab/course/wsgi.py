"""The exercises of notebook 02 (WSGI), checked with ``gl.exercise(name)``.

Theory of operation: an exercise is data (see :mod:`.exercises`): requests
and what each response must show. This lesson needs one thing the generic
:class:`~.exercises.Case` does not know: a body compared as *JSON*, so that
a correct answer passes however ``json.dumps`` spaces its output. A
:class:`JSONCase` is a ``Case`` with two more expectations, a JSON value the
body must decode to and a Content-Length header that must be present (the
checker itself reports a Content-Length that disagrees with the body, and
the exercise then marks that row ✗).

* ``wsgi-json-echo``: a WSGI app that answers a JSON POST with the same JSON
  object plus a ``"size"`` field, the number of bytes in the request body
  (one body is spaced by hand: the parsed object encoded again has another
  length); ``Content-Type: application/json``, a correct ``Content-Length``.
  A body that is not a JSON object (not JSON at all, or JSON such as an
  array) gets ``400 Bad Request``; any other method (GET, PUT) gets
  ``405 Method Not Allowed`` with ``Allow: POST``. The task says
  "read exactly CONTENT_LENGTH bytes", so a read past the body (a warning of
  the checker, ``wsgi.input-past-content-length``) fails this exercise.
* ``wsgi-hello-name``: ``Hello, <name>!`` from the query string, the ``!``
  included, ``Hello, World!`` without one, ``Content-Type: text/plain``
  always. One name is not ASCII (``Zoë``), so a Content-Length (optional)
  that counts characters, not bytes, is caught and named. ``Grace+Hopper``
  (as a form sends it) and a second parameter (``lang=en``, before or after
  the name) fail a query split by hand, even with ``unquote``.

Feedback names the cause, not only the symptom: an :class:`AdvisedCase`
says why a request got no response (the app raised where the task asks for
a 400 or a 405), what a wrong body shows, on its first failed body row (a
name still percent-encoded, a ``+`` or ``&`` left in: split by hand, not
parsed with ``parse_qs``; the list ``parse_qs`` gives; no ``!``), and a
Content-Length that counts characters; a :class:`JSONCase` says what a
wrong ``size`` counted. :class:`LessonExercise` adds those sentences, and
fails the rules a task forbids even when the checker only warns (``strict``).

The reference solutions are ``notebooks/solutions/wsgi_json_echo.py`` and
``wsgi_hello_name.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from gateway_lab.check.report import Report
from gateway_lab.exercises.case import Case, header_row, in_its_charset, multibyte_characters
from gateway_lab.exercises.compact import compact_lines, regroup_findings
from gateway_lab.exercises.framework import Exercise, register
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.interface.response import Response

__all__ = ["AdvisedCase", "JSONCase", "LessonExercise", "WSGI_HELLO_NAME", "WSGI_JSON_ECHO"]


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class AdvisedCase(Case):
    """A :class:`Case` that says what to change, not only what came back.

    ``no_response``: the sentence for when the app gave no response to this
    request (it raised) or a response with the wrong status; ``advice``:
    (pattern, sentence) pairs, the sentences added to the first failed *body*
    row when the regular expression is found in the body; ``counts_bytes``: a
    Content-Length (if any) must count bytes, and one that counts characters
    gets a ✗ row saying so. The body is read in the charset its Content-Type
    declares (UTF-8 when it declares none).
    """

    no_response: str = ""
    advice: tuple[tuple[str, str], ...] = ()
    counts_bytes: bool = False

    def expectations(self, response: Response | None) -> list[tuple[bool, str]]:
        if response is None:
            return super().expectations(response)
        readable = in_its_charset(response)
        results = super().expectations(readable)
        if self.no_response and self.status is not None and response.status != self.status:
            results = [
                (ok, text if ok or not text.startswith("status") else f"{text}. {self.no_response}")
                for ok, text in results
            ]
        said = " ".join(
            words for pattern, words in self.advice if re.search(pattern, readable.text)
        )
        failed = [i for i, (ok, text) in enumerate(results) if not ok and text.startswith("body ")]
        if said and failed:  # on the first failed body row only ("body should contain ...")
            results[failed[0]] = (False, f"{results[failed[0]][1]}: {said}")
        if self.counts_bytes:
            results += _length_in_bytes(response)
        return results


def _length_in_bytes(response: Response) -> list[tuple[bool, str]]:
    """✓ for a Content-Length that counts bytes, ✗ for one that counts characters.

    No row otherwise: ``wsgi.content-length-mismatch`` says what is wrong with another number.
    """
    value, readable = (
        (response.header("Content-Length") or "").strip(),
        in_its_charset(response),
    )
    size, text = len(response.body), readable.text
    if value == str(size):
        return [(True, header_row("Content-Length", value))]
    if not value or value != str(len(text)):
        return []
    wide = f" ({multibyte_characters(text)} in UTF-8)" if readable is response else ""
    return [
        (
            False,
            f"Content-Length is {value}, the number of characters in {_shown(text, 40)}, but "
            f"Content-Length counts bytes: the body is {size} bytes{wide}. Count the bytes "
            "after encoding: body = text.encode('utf-8'), then ('Content-Length', "
            "str(len(body))) (mistake 8 in section 8: a Content-Length that lies)",
        )
    ]


class LessonExercise(Exercise):
    """An :class:`Exercise` whose rows say what to change, and that fails ``strict`` rules."""

    def __init__(self, *args: Any, strict: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.strict = strict

    def _case_lines(self, report: Report) -> list[tuple[str, str]]:
        lines = super()._case_lines(report)
        responses = list(report.responses) + [None] * len(self.cases)
        for case, response in zip(self.cases, responses, strict=False):
            if response is not None or not isinstance(case, AdvisedCase) or not case.no_response:
                continue
            about = f" ({case.says})" if case.says else ""
            prefix = f"{case.probe().label}{about}: "
            lines = [
                (mark, f"{text} {case.no_response}" if text.startswith(prefix) else text)
                for mark, text in lines
            ]
        return lines

    def evaluate(self, app: object) -> ExerciseResult:
        result = super().evaluate(app)
        if result.unfinished:
            return result
        lines = result.lines
        if result.report is not None:
            lines = regroup_findings(lines, result.report)
        lines = [
            ("✗" if mark == "!" and text.split(" ", 1)[0] in self.strict else mark, text)
            for mark, text in lines
        ]
        passed = all(mark != "✗" for mark, _ in lines)
        shown = compact_lines(lines) if passed else lines
        return ExerciseResult(result.name, passed, shown, report=result.report)


@dataclass(frozen=True)
class JSONCase(Case):
    """A :class:`Case` whose body must decode to ``json_equals``.

    ``needs_length``: the response must carry a Content-Length header.
    """

    json_equals: Any = None
    needs_length: bool = False

    def expectations(self, response: Response | None) -> list[tuple[bool, str]]:
        results = super().expectations(response)
        if response is None:
            return results
        if self.needs_length:
            value = response.header("Content-Length")
            results.append(
                (
                    value is not None,
                    header_row("Content-Length", value)
                    if value is not None
                    else "header Content-Length is missing: add "
                    "('Content-Length', str(len(body))) to the header list",
                )
            )
        if self.json_equals is not None:
            results.append(self._json_expectation(response.body))
        return results

    def _json_expectation(self, body: bytes) -> tuple[bool, str]:
        wanted = _shown(self.json_equals)
        try:
            got = json.loads(body)
        except ValueError:
            return (
                False,
                f"body should be the JSON {wanted}, but it is not valid JSON: "
                f"{_shown(body)} (build it with json.dumps(...).encode('utf-8'))",
            )
        if got == self.json_equals:
            return (True, f"body is the JSON {wanted}")
        return (False, f"body should be the JSON {wanted}, got {_shown(got)}{self._size(got)}")

    def _size(self, got: Any) -> str:
        """What a wrong ``"size"`` counted, when it alone is wrong ("" otherwise)."""
        wanted = self.json_equals
        if not (isinstance(got, dict) and isinstance(wanted, dict) and "size" in wanted):
            return ""
        if {**got, "size": 0} != {**wanted, "size": 0} or got.get("size") == wanted["size"]:
            return ""
        size, parsed = got.get("size"), {k: v for k, v in wanted.items() if k != "size"}
        text = b"".join((self.body,) if isinstance(self.body, bytes) else self.body).decode()
        said = (
            f": size should be {wanted['size']}, the number of bytes of the request body as it "
            "came in (int(environ['CONTENT_LENGTH']), or len() of the bytes read from wsgi.input)"
        )
        if size == len(text):
            return (
                f"{said}; {size} is the number of characters of the body, but "
                f"{multibyte_characters(text)} in UTF-8: count the bytes, before decoding"
            )
        spacings: list[dict[str, Any]] = [{}, {"separators": (",", ":")}, {"indent": 2}]
        encoded = [json.dumps(parsed, ensure_ascii=a, **s) for a in (True, False) for s in spacings]
        if size in {n for e in encoded for n in (len(e), len(e.encode()))}:
            return (
                f"{said}; {size} is the length of the object encoded again with json.dumps, "
                "whose spacing differs from the body the client sent: count the bytes that "
                "came in, not a new encoding"
            )
        return said


def _json_request(value: Any, pieces: int = 1) -> tuple[bytes, ...]:
    """``value`` as UTF-8 JSON bytes, cut into ``pieces`` parts."""
    data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    step = -(-len(data) // pieces)
    return tuple(data[i : i + step] for i in range(0, len(data), step))


_JSON_HEADERS = (("Content-Type", "application/json"),)
_ADA = {"name": "Ada", "languages": ["Python", "C"]}
_ZURICH = {"city": "Zürich", "zip": 8000}
_ADA_BODY = _json_request(_ADA)
_ZURICH_BODY = _json_request(_ZURICH, pieces=3)
# Spaced by hand: json.dumps of the parsed object gives other lengths (36, 32, 33, 29...)
_GENEVA_BODY = '{"zip" : 1200,\n  "city":"Genève" }'.encode()
_GENEVA = json.loads(_GENEVA_BODY)

_NOT_JSON = (
    "This request must get '400 Bad Request': json.loads raises ValueError "
    "(json.JSONDecodeError) on a body that is not JSON; catch it and answer 400."
)
_NOT_AN_OBJECT = (
    "This request must get '400 Bad Request': json.loads gives a list for this body, not "
    "a dict; check isinstance(data, dict) and answer 400 when it is not."
)
_NOT_POST = (
    "This request must get '405 Method Not Allowed' with an ('Allow', 'POST') header: "
    "look at environ['REQUEST_METHOD'] first, before reading or parsing the body."
)
_NOT_POST_EITHER = (
    "This request must get '405 Method Not Allowed' with an ('Allow', 'POST') header: the "
    "task says any method other than POST, so refuse every method that is not POST "
    "(environ['REQUEST_METHOD'] != 'POST'), not only GET, before reading the body."
)

WSGI_JSON_ECHO = register(
    LessonExercise(
        "wsgi-json-echo",
        kind="wsgi",
        title="Echo JSON (WSGI)",
        cases=[
            JSONCase(
                "POST /",
                body=_ADA_BODY,
                headers=_JSON_HEADERS,
                says="the same object plus its size",
                json_equals={**_ADA, "size": len(b"".join(_ADA_BODY))},
                headers_expected={"Content-Type": "application/json"},
                needs_length=True,
            ),
            JSONCase(
                "POST /",
                body=_ZURICH_BODY,
                headers=_JSON_HEADERS,
                says="'ü' is two bytes in UTF-8",
                json_equals={**_ZURICH, "size": len(b"".join(_ZURICH_BODY))},
                needs_length=True,
            ),
            JSONCase(
                "POST /",
                body=_GENEVA_BODY,
                headers=_JSON_HEADERS,
                says="spaced by hand, not by json.dumps",
                json_equals={**_GENEVA, "size": len(_GENEVA_BODY)},
                needs_length=True,
            ),
            AdvisedCase(
                "POST /",
                body=b"name=Ada",
                headers=(("Content-Type", "application/x-www-form-urlencoded"),),
                status=400,
                says="a body that is not JSON",
                no_response=_NOT_JSON,
            ),
            AdvisedCase(
                "POST /",
                body=_json_request([1, 2])[0],
                headers=_JSON_HEADERS,
                status=400,
                says="JSON, but an array, not an object",
                no_response=_NOT_AN_OBJECT,
            ),
            AdvisedCase(
                "GET /",
                status=405,
                says="only POST is allowed",
                headers_expected={"Allow": "POST"},
                no_response=_NOT_POST,
            ),
            AdvisedCase(
                "PUT /",
                body=_ADA_BODY,
                headers=_JSON_HEADERS,
                status=405,
                says="PUT is not POST either",
                headers_expected={"Allow": "POST"},
                no_response=_NOT_POST_EITHER,
            ),
        ],
        strict=frozenset({"wsgi.input-past-content-length"}),
    )
)


_PARSE_QS = (  # a '+' or an '&' left in the greeting, or the value of another parameter
    r"[+&=]|Hello, en\b",
    "in a query string '+' stands for a space (an HTML form sends Grace+Hopper) and '&' "
    "separates name=value pairs, and urllib.parse.unquote handles neither: parse the query "
    "with urllib.parse.parse_qs(environ['QUERY_STRING']): it decodes '+' as a space and "
    "splits at '&'",
)
_LIST = (
    r"\[\s*['\"]",
    "parse_qs gives a list for each name: take [0], as in parse_qs(q).get('name', ['World'])[0]",
)
_NOT_UTF8 = (
    "\ufffd",
    "the body is not UTF-8: encode the greeting with .encode('utf-8') (or declare the "
    "charset you used: 'text/plain; charset=...')",
)


def _hello(request: str, name: str, says: str, escape: str) -> AdvisedCase:
    """A ``wsgi-hello-name`` case: ``Hello, <name>!`` in text/plain, no '+' or '&' left in."""
    percent = (
        r"%[0-9A-Fa-f]{2}",
        f"the name is still percent-encoded ({escape}): parse the query with "
        "urllib.parse.parse_qs(environ['QUERY_STRING']), which decodes it, instead of "
        "splitting the string by hand",
    )
    bang = (
        rf"(?s)\A(?!.*!).*Hello, {re.escape(name)}\b",  # no '!' at all (Hello, Adam! is not Ada)
        "the task asks for the '!' at the end: Hello, <name>!",
    )
    return AdvisedCase(
        request,
        contains=f"Hello, {name}!",
        lacks=("+", "&"),
        says=says,
        headers_expected={"Content-Type": "text/plain"},
        # every advice on every case: each pattern shows only in a body with its defect
        advice=(*([percent] if escape else []), _PARSE_QS, _NOT_UTF8, _LIST, bang),
        counts_bytes=not name.isascii(),  # 'ë' is two bytes: a Content-Length of characters lies
    )


_HELLO_CASES = [  # request, the name it greets, what it is about, what its escape stands for
    ("GET /?name=Ada", "Ada", "the name from the query string", ""),
    ("GET /?name=Grace%20Hopper", "Grace Hopper", "a percent-encoded name", "%20 is a space"),
    ("GET /?name=Grace+Hopper", "Grace Hopper", "'+' is a space, as a form sends it", ""),
    ("GET /?name=Zo%C3%AB", "Zoë", "'ë' is two bytes in UTF-8", "%C3%AB is 'ë' in UTF-8"),
    ("GET /?lang=en&name=Ada", "Ada", "another parameter first", ""),
    ("GET /?name=Ada&lang=en", "Ada", "another parameter after the name", ""),
    ("GET /", "World", "no name: greet the World", ""),
]
WSGI_HELLO_NAME = register(
    LessonExercise(
        "wsgi-hello-name",
        kind="wsgi",
        title="Hello, name (WSGI)",
        cases=[_hello(*case) for case in _HELLO_CASES],
    )
)
