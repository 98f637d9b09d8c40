"""The head of a WSGI response, judged: the status and headers an app gives start_response.

Theory of operation: pure functions from what the app passed to
``start_response`` to a list of *problems* (the key of a sentence in
:data:`gateway_lab.protocol.wsgi.SENTENCES` and the details that fill it in),
with no state and no I/O, so every server side can ask them and every branch
is easy to test. PEP 3333 asks for a status ``str`` "NNN Reason" (one
space, no surrounding whitespace, no control characters; a final status,
200 to 599: the server sends ``100 Continue`` itself) and a *list*
of 2-tuples of ``str``, latin-1 only, with valid names, no control
characters, and none of the hop-by-hop headers that belong to the server's
connection. Which problems are fatal (no server could send them) is the
exchange's business, not this module's.

>>> status_problems("200 OK"), parse_status("404 Not Found")
([], 404)
>>> header_problems([("X-Ok", "yes"), ("Bad Name", "x")])[0]
[('header-name-invalid', {'value': "'Bad Name'"})]
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from gateway_lab import specs
from gateway_lab.protocol.bodies import Problem, shown

__all__ = ["header_problems", "parse_status", "status_problems"]

_TOKEN = re.compile(specs.TOKEN_PATTERN)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(r"([0-9]{3})(?: (.*))?", re.S)


def parse_status(status: Any) -> int | None:
    """The code of a status str of the form 'NNN reason' (or 'NNN'), else None."""
    if isinstance(status, str):
        match = _STATUS.fullmatch(status)
        if match:
            return int(match.group(1))
    return None


def status_problems(status: Any) -> list[Problem]:
    """What is wrong with a status given to start_response (an empty list if nothing)."""
    if not isinstance(status, str):
        return [("status-not-str", {"value": shown(status), "type": type(status).__name__})]
    if _CONTROL.search(status) or "\t" in status:
        return [("status-control", {"value": shown(status)})]
    match = _STATUS.fullmatch(status)
    if not match or not 100 <= int(match.group(1)) <= 599:
        return [("status-form", {"value": shown(status)})]
    code, reason = match.group(1), match.group(2)
    if code.startswith("1"):
        return [("status-informational", {"value": shown(status)})]
    wide = "" if status.isascii() else _wide(status)
    if wide:
        return [("status-not-latin1", {"value": shown(status), "chars": wide})]
    if not reason or not reason.strip():
        try:
            phrase = HTTPStatus(int(code)).phrase
        except ValueError:
            phrase = "Reason"
        return [("status-no-reason", {"value": shown(status), "code": code, "reason": phrase})]
    if reason != reason.strip() or "  " in status[:5]:
        # PEP 3333: "separated by a single space, with no surrounding whitespace"
        return [("status-form", {"value": shown(status)})]
    return []


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def _wide(text: str) -> str:
    """Up to five of the characters of ``text`` that latin-1 cannot hold."""
    return "".join(sorted({c for c in text if ord(c) > 0xFF})[:5])


def _header_text_problems(pair: tuple[Any, ...], name: str, value: str) -> list[Problem]:
    if not (name.isascii() and value.isascii()):
        wide = _wide(name) or _wide(value)
        if wide:
            return [("header-not-latin1", {"value": shown(tuple(pair), 60), "chars": wide})]
    if _CONTROL.search(name) or _CONTROL.search(value):
        return [("header-crlf", {"value": shown(tuple(pair), 60)})]
    if not _TOKEN.fullmatch(name):
        return [("header-name-invalid", {"value": shown(name)})]
    lower = name.lower()
    if lower == "status":
        return [("header-status", {})]
    if lower in specs.HOP_BY_HOP_HEADERS:
        return [("hop-by-hop-header", {"value": shown(tuple(pair), 60)})]
    return []


def header_problems(headers: Any) -> tuple[list[Problem], list[tuple[str, str]]]:
    """What is wrong with a header list, and the (name, value) pairs that could be read."""
    problems: list[Problem] = []
    pairs: list[tuple[str, str]] = []
    if not isinstance(headers, list):
        problems.append(("headers-not-list", {"type": type(headers).__name__}))
        try:
            items = list(headers.items() if hasattr(headers, "items") else headers)
        except (TypeError, AttributeError):
            return problems, pairs
    else:
        items = headers
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            problems.append(("header-not-tuple", {"value": shown(item, 60)}))
            if not (isinstance(item, (list, tuple)) and len(item) == 2):
                continue
        name, value = item
        if not (isinstance(name, str) and isinstance(value, str)):
            part, v = ("name", name) if not isinstance(name, str) else ("value", value)
            details = {"value": shown(tuple(item), 60), "type": type(v).__name__, "part": part}
            problems.append(("header-not-str", details))
            pairs.append((_text(name), _text(value)))  # judged once; kept for later checks
            continue
        found = _header_text_problems(item, name, value)
        if found:
            problems.extend(found)
        pairs.append((name, value))
    return problems, pairs
