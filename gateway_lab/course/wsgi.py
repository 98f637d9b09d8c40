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
  object plus a ``"size"`` field, the number of bytes in the request body;
  ``Content-Type: application/json`` and a correct ``Content-Length``. A body
  that is not a JSON object (not JSON at all, or JSON such as an array) gets
  ``400 Bad Request``; any other method gets
  ``405 Method Not Allowed`` with ``Allow: POST``. The task says "read
  exactly CONTENT_LENGTH bytes", so a read past the body (a warning of the
  checker, ``wsgi.input-past-content-length``) fails this exercise.
* ``wsgi-hello-name``: ``Hello, <name>!`` from the query string, the ``!``
  included, ``Hello, World!`` without one.

Feedback names the cause, not only the symptom: an :class:`AdvisedCase`
carries what to say when its request got no response (the app raised where
the task asks for a 400 or a 405) and, for a wrong body, what the body shows
(a name still percent-encoded: the query was split by hand, not parsed with
``parse_qs``; a greeting without its ``!``). :class:`LessonExercise` adds
those sentences to the rows, and fails the rules a task forbids even when
the checker only warns about them (``strict``).

The reference solutions are ``notebooks/solutions/wsgi_json_echo.py`` and
``wsgi_hello_name.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway_lab.check.report import Report
from gateway_lab.exercises.case import Case, header_row
from gateway_lab.exercises.compact import compact_lines, regroup_findings
from gateway_lab.exercises.framework import Exercise, register
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.interface.response import Response

__all__ = [
    "AdvisedCase",
    "JSONCase",
    "LessonExercise",
    "WSGI_HELLO_NAME",
    "WSGI_JSON_ECHO",
]


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class AdvisedCase(Case):
    """A :class:`Case` that says what to change, not only what came back.

    ``no_response``: the sentence for when the app gave no response to this
    request (it raised) or a response with the wrong status; ``advice``:
    (text, sentence) pairs, the sentence added to a failed row when the body
    contains the text.
    """

    no_response: str = ""
    advice: tuple[tuple[str, str], ...] = ()

    def expectations(self, response: Response | None) -> list[tuple[bool, str]]:
        results = super().expectations(response)
        if response is None:
            return results
        if self.no_response and self.status is not None and response.status != self.status:
            results = [
                (ok, text if ok or not text.startswith("status") else f"{text}. {self.no_response}")
                for ok, text in results
            ]
        said = [words for text, words in self.advice if text in response.text]
        if not said:
            return results
        return [(ok, text if ok else f"{text}: {' '.join(said)}") for ok, text in results]


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
        return (False, f"body should be the JSON {wanted}, got {_shown(got)}")


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
        ],
        strict=frozenset({"wsgi.input-past-content-length"}),
    )
)


_PERCENT = (
    "the name is still percent-encoded (%20 is a space): parse the query with "
    "urllib.parse.parse_qs(environ['QUERY_STRING']), which decodes it, instead of "
    "splitting the string by hand"
)
_BANG = "the task asks for the '!' at the end: Hello, <name>!"

WSGI_HELLO_NAME = register(
    LessonExercise(
        "wsgi-hello-name",
        kind="wsgi",
        title="Hello, name (WSGI)",
        cases=[
            AdvisedCase(
                "GET /?name=Ada",
                contains="Hello, Ada!",
                says="the name from the query string",
                headers_expected={"Content-Type": "text/plain"},
                advice=(("Hello, Ada", _BANG),),
            ),
            AdvisedCase(
                "GET /?name=Grace%20Hopper",
                contains="Hello, Grace Hopper!",
                says="a percent-encoded name",
                advice=(("%20", _PERCENT), ("Hello, Grace Hopper", _BANG)),
            ),
            AdvisedCase(
                "GET /",
                contains="Hello, World!",
                says="no name: greet the World",
                advice=(("Hello, World", _BANG),),
            ),
        ],
    )
)
