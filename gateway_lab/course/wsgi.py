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
  ``405 Method Not Allowed`` with ``Allow: POST``.

The reference solution is ``notebooks/solutions/wsgi_json_echo.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway_lab.exercises.case import Case, header_row
from gateway_lab.exercises.framework import Exercise, register
from gateway_lab.interface.response import Response

__all__ = ["JSONCase", "WSGI_HELLO_NAME", "WSGI_JSON_ECHO"]


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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

WSGI_JSON_ECHO = register(
    Exercise(
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
            Case(
                "POST /",
                body=b"name=Ada",
                headers=(("Content-Type", "application/x-www-form-urlencoded"),),
                status=400,
                says="a body that is not JSON",
            ),
            Case(
                "POST /",
                body=_json_request([1, 2])[0],
                headers=_JSON_HEADERS,
                status=400,
                says="JSON, but an array, not an object",
            ),
            Case(
                "GET /",
                status=405,
                says="only POST is allowed",
                headers_expected={"Allow": "POST"},
            ),
        ],
    )
)


WSGI_HELLO_NAME = register(
    Exercise(
        "wsgi-hello-name",
        kind="wsgi",
        title="Hello, name (WSGI)",
        cases=[
            Case(
                "GET /?name=Ada",
                contains="Hello, Ada",
                says="the name from the query string",
                headers_expected={"Content-Type": "text/plain"},
            ),
            Case(
                "GET /?name=Grace%20Hopper",
                contains="Hello, Grace Hopper",
                says="a percent-encoded name",
            ),
            Case("GET /", contains="Hello, World", says="no name: greet the World"),
        ],
    )
)
