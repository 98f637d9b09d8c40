"""The exercises of notebook 02 (WSGI), checked with ``gl.exercise(name)``.

Theory of operation: an exercise is data (see :mod:`.exercises`): requests
and what each response must show. The cases that say what to change live in
:mod:`gateway_lab.exercises.advice`: an :class:`AdvisedCase` (a body that
must be an exact text, sentences for the usual causes of a wrong body or a
missing response), a :class:`JSONCase` (a body compared as *JSON*, so that a
correct answer passes however ``json.dumps`` spaces its output, and a
Content-Length that must be present: the checker itself reports one that
disagrees with the body, and the exercise then marks that row ✗).

* ``wsgi-json-echo``: a WSGI app that answers a JSON POST with the same JSON
  object plus a ``"size"`` field, the number of bytes in the request body
  (one body is spaced by hand: the parsed object encoded again has another
  length); ``Content-Type: application/json``, a correct ``Content-Length``.
  A body that is not a JSON object gets ``400 Bad Request``: not JSON at all,
  JSON such as an array, bytes that are not UTF-8 (``json.loads`` raises
  ``UnicodeDecodeError``, a ``ValueError`` but not a ``JSONDecodeError``),
  and no body at all, with ``CONTENT_LENGTH`` absent or ``''`` (PEP 3333:
  "May be empty or absent"; wsgiref sends ``''``). Any other method (GET,
  PUT) gets ``405 Method Not Allowed`` with ``Allow: POST``. The task says
  "read exactly CONTENT_LENGTH bytes", so a read past the body (a warning of
  the checker, ``wsgi.input-past-content-length``) fails this exercise.
* ``wsgi-hello-name``: the body is exactly ``Hello, <name>!`` (a trailing
  newline allowed) from the query string, ``Hello, World!`` without one,
  ``Content-Type: text/plain`` always. One name is not ASCII (``Zoë``), so a
  Content-Length (optional) that counts characters, not bytes, is caught and
  named, and so is the name decoded as latin-1 (mojibake). ``Grace+Hopper``
  (as a form sends it) and a second parameter (``lang=en``, before or after
  the name) fail a query split by hand, even with ``unquote``.

Feedback names the cause, not only the symptom: a case says why a request
got no response (the app raised where the task asks for a 400 or a 405),
what a wrong body shows, on its first failed body row (extra text around
the greeting; a name still percent-encoded, a ``+`` or ``&`` left in: split
by hand, not parsed with ``parse_qs``; mojibake; the list ``parse_qs``
gives; no ``!``), a Content-Length that counts characters, and what a wrong
``size`` counted. :class:`LessonExercise` adds those sentences, and fails
the rules a task forbids even when the checker only warns (``strict``).

The reference solutions are ``notebooks/solutions/wsgi_json_echo.py`` and
``wsgi_hello_name.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gateway_lab.exercises.advice import AdvisedCase, JSONCase, LessonExercise
from gateway_lab.exercises.framework import register

__all__ = ["AdvisedCase", "JSONCase", "LessonExercise", "WSGI_HELLO_NAME", "WSGI_JSON_ECHO"]


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
_LENGTH_SPEC = 'PEP 3333 says of CONTENT_LENGTH: "May be empty or absent."'
_NO_BODY = (
    "This request must get '400 Bad Request': a POST with no body comes without CONTENT_LENGTH ("
    + _LENGTH_SPEC
    + "). Read int(environ.get('CONTENT_LENGTH') or 0) bytes: that gives b'', not a JSON "
    "object (json.loads(b'') raises ValueError), so answer 400."
)
_EMPTY_LENGTH = (
    "This request must get '400 Bad Request': here CONTENT_LENGTH is '', as wsgiref's server "
    "sends it for a request without a body (" + _LENGTH_SPEC + "), and int('') raises "
    "ValueError. Read int(environ.get('CONTENT_LENGTH') or 0) bytes: 'or 0' covers both '' "
    "and a missing key; the empty body is not a JSON object, so answer 400."
)
_BODY_NOT_UTF8 = (
    "This request must get '400 Bad Request': its body, b'\\xff{}', is not UTF-8, so json.loads "
    "raises UnicodeDecodeError, a ValueError but not a json.JSONDecodeError. Catch ValueError, "
    "which covers both, and answer 400."
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
                "POST /",
                body=b"\xff{}",
                headers=_JSON_HEADERS,
                status=400,
                says="bytes that are not UTF-8",
                no_response=_BODY_NOT_UTF8,
            ),
            AdvisedCase(
                "POST /",
                status=400,
                says="no body, so no CONTENT_LENGTH",
                no_response=_NO_BODY,
            ),
            AdvisedCase(
                "POST /",
                headers=(("Content-Length", ""),),
                status=400,
                says="no body, and CONTENT_LENGTH is ''",
                no_response=_EMPTY_LENGTH,
                label="POST / (empty Content-Length)",
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


_PLUS = (  # a '+' left in the greeting
    r"\+",
    "in a query string '+' stands for a space (an HTML form sends Grace+Hopper), and a name "
    "split from the query by hand keeps it (urllib.parse.unquote keeps it too): parse the "
    "query with urllib.parse.parse_qs(environ['QUERY_STRING']), which decodes '+' as a space",
)
_AMPERSAND = (  # an '&' or '=' left in the greeting, or the value of another parameter
    r"[&=]|Hello, en\b",
    "'&' separates name=value pairs, and this query holds another parameter beside the name: "
    "parse the query with urllib.parse.parse_qs(environ['QUERY_STRING']), which splits it at "
    "'&' and gives each name its own value",
)
_LIST = (
    r"\[\s*['\"]",
    "parse_qs gives a list for each name: take [0], as in parse_qs(q).get('name', ['World'])[0]",
)
_NOT_UTF8_BODY = (
    "\ufffd",
    "the body is not UTF-8: encode the greeting with .encode('utf-8') (or declare the "
    "charset you used: 'text/plain; charset=...')",
)


def _hello(request: str, name: str, says: str, escape: str) -> AdvisedCase:
    """A ``wsgi-hello-name`` case: exactly ``Hello, <name>!`` in text/plain."""
    percent = (
        r"%[0-9A-Fa-f]{2}",
        f"the name is still percent-encoded ({escape}): parse the query with "
        "urllib.parse.parse_qs(environ['QUERY_STRING']), which decodes it, instead of "
        "splitting the string by hand",
    )
    garbled = name.encode("utf-8").decode("latin-1")  # 'Zoë' read byte by byte: 'ZoÃ«'
    mojibake = (
        re.escape(garbled),
        f"{garbled!r} is mojibake: the UTF-8 bytes of {name!r} ({escape}) decoded as latin-1, "
        "one character per byte. The escapes of a query string are UTF-8, and parse_qs "
        "decodes them as UTF-8 unless told otherwise: leave out encoding='latin-1'",
    )
    bang = (
        rf"(?s)\A(?!.*!).*Hello, {re.escape(name)}\b",  # no '!' at all (Hello, Adam! is not Ada)
        "the task asks for the '!' at the end: Hello, <name>!",
    )
    return AdvisedCase(
        request,
        exactly=f"Hello, {name}!",
        says=says,
        headers_expected={"Content-Type": "text/plain"},
        # every advice on every case: each pattern shows only in a body with its defect
        advice=(
            *([percent] if escape else []),
            *([mojibake] if not name.isascii() else []),
            _PLUS,
            _AMPERSAND,
            _NOT_UTF8_BODY,
            _LIST,
            bang,
        ),
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
