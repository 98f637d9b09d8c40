"""Judging a WSGI status line and header list (PEP 3333, start_response).

Theory of operation: pure functions from what the app passed to
``start_response`` to a list of problems, each a rule id and the details its
message needs. No state, no I/O, so every branch is easy to test. The status
must be a str "NNN Reason"; headers a *list* of 2-tuples of str, latin-1
only, with valid names, no control characters, and none of the hop-by-hop
headers that belong to the server's connection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from gateway_lab.check.explain import short

__all__ = ["HOP_BY_HOP", "Problem", "header_problems", "parse_status", "status_problems"]

Problem = tuple[str, dict[str, Any]]

# wsgiref.util's list: headers about one connection, which only the server may set.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(r"^([0-9]{3})(?: (.*))?$", re.S)


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def parse_status(status: Any) -> int | None:
    """The status code of a well-formed-enough status str, else None."""
    if isinstance(status, str):
        match = _STATUS.match(status)
        if match:
            return int(match.group(1))
    return None


def status_problems(status: Any) -> list[Problem]:
    if not isinstance(status, str):
        return [("wsgi.status-not-str", {"value": short(status), "type": type(status).__name__})]
    match = _STATUS.match(status)
    if not match or int(match.group(1)) < 100 or _CONTROL.search(status):
        return [("wsgi.status-form", {"value": short(status)})]
    code, reason = match.group(1), match.group(2)
    if not reason or not reason.strip():
        try:
            phrase = HTTPStatus(int(code)).phrase
        except ValueError:
            phrase = "Reason"
        return [("wsgi.status-no-reason", {"value": short(status), "code": code, "reason": phrase})]
    return []


def _header_text_problems(pair: Any, name: str, value: str) -> list[Problem]:
    shown = short(pair, 60)
    for part in (name, value):
        wide = sorted({c for c in part if ord(c) > 0xFF})
        if wide:
            return [("wsgi.header-not-latin1", {"value": shown, "chars": "".join(wide[:5])})]
    if _CONTROL.search(name) or _CONTROL.search(value):
        return [("wsgi.header-crlf", {"value": shown})]
    if not _TOKEN.match(name):
        return [("wsgi.header-name-invalid", {"value": short(name)})]
    if name.lower() == "status":
        return [("wsgi.header-status", {})]
    if name.lower() in HOP_BY_HOP:
        return [("wsgi.hop-by-hop-header", {"value": short(pair, 60)})]
    return []


def header_problems(headers: Any) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Problems with ``headers``, and the (name, value) pairs that could be read."""
    problems: list[Problem] = []
    pairs: list[tuple[str, str]] = []
    if not isinstance(headers, list):
        problems.append(("wsgi.headers-not-list", {"type": type(headers).__name__}))
        try:
            items = list(headers.items() if isinstance(headers, Mapping) else headers)
        except (TypeError, AttributeError):
            return problems, pairs
    else:
        items = headers
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            problems.append(("wsgi.header-not-tuple", {"value": short(item, 60)}))
            if not (isinstance(item, (list, tuple)) and len(item) == 2):
                continue
        name, value = item
        bad = [
            (part, v) for part, v in (("name", name), ("value", value)) if not isinstance(v, str)
        ]
        if bad:
            part, v = bad[0]
            problems.append(
                (
                    "wsgi.header-not-str",
                    {"value": short(tuple(item), 60), "type": type(v).__name__, "part": part},
                )
            )
            pairs.append((_text(name), _text(value)))  # judged once; kept for later checks
            continue
        problems.extend(_header_text_problems(tuple(item), name, value))
        pairs.append((name, value))
    return problems, pairs
