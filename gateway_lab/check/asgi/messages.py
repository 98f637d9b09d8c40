"""Judging the fields of one ASGI message (the ASGI spec, HTTP and WebSocket).

Theory of operation: pure functions from a message dict to a list of
problems (a rule id and the details its message needs). The order of
messages is the drivers' business; here only the *shape* of one message is
judged: status an int from 100 to 599 and not an informational 1xx,
headers an iterable of [name, value] pairs of bytes without control
characters, names in lower case ("Header names must be lowercased": an
upper-case name is an error), bodies bytes, WebSocket frames with exactly
one of ``bytes`` / ``text``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from gateway_lab.check.explain import short

__all__ = [
    "body_problems",
    "headers_problems",
    "is_message",
    "start_problems",
    "ws_accept_problems",
    "ws_close_problems",
    "ws_send_problems",
]

Problem = tuple[str, dict[str, Any]]
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def is_message(message: Any) -> bool:
    return isinstance(message, Mapping) and isinstance(message.get("type"), str)


def _as_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("latin-1", "replace")


def _header_fix(value: Any) -> str:
    """How to write one header name or value as the bytes ASGI wants."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"a number becomes text, then bytes: str({short(value, 20)}).encode()"
    if isinstance(value, str):
        return "b'...' literals, or .encode('latin-1') for text you built"
    return "bytes, such as b'text/plain'"


def headers_problems(headers: Any) -> tuple[list[Problem], list[tuple[bytes, bytes]]]:
    """Problems with a ``headers`` field, and the pairs that could be read."""
    problems: list[Problem] = []
    pairs: list[tuple[bytes, bytes]] = []
    if isinstance(headers, (str, bytes, Mapping)) or not hasattr(headers, "__iter__"):
        return [("asgi.headers-form", {"value": short(headers, 60)})], pairs
    for item in headers:
        try:
            name, value = item
        except (TypeError, ValueError):
            problems.append(("asgi.headers-form", {"value": short(item, 60)}))
            continue
        bad = [(p, v) for p, v in (("name", name), ("value", value)) if not isinstance(v, bytes)]
        if bad:
            part, v = bad[0]
            problems.append(
                (
                    "asgi.header-not-bytes",
                    {
                        "value": short((name, value), 60),
                        "type": type(v).__name__,
                        "part": part,
                        "fix": _header_fix(v),
                    },
                )
            )
            if all(isinstance(v, (str, bytes)) for v in (name, value)):
                # judged as the header it means, so that the one mistake is not also
                # reported as a missing header (asgi.no-content-type)
                pairs.append((_as_bytes(name), _as_bytes(value)))
            continue
        if _CONTROL.search(name) or _CONTROL.search(value):
            problems.append(("asgi.header-crlf", {"value": short((name, value), 60)}))
        elif name.startswith(b":"):
            problems.append(("asgi.pseudo-header", {"value": short(name)}))
        elif name != name.lower():
            problems.append(("asgi.header-name-case", {"value": short(name)}))
        pairs.append((name, value))
    return problems, pairs


def start_problems(message: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    status = message.get("status")
    if isinstance(status, bool) or not isinstance(status, int):
        problems.append(
            ("asgi.status-not-int", {"value": short(status), "type": type(status).__name__})
        )
    elif not 100 <= status <= 599:
        problems.append(("asgi.status-invalid", {"value": status}))
    elif status < 200:
        problems.append(("asgi.status-informational", {"value": status}))
    found, pairs = headers_problems(message.get("headers", []))
    lengths = {value.strip() for name, value in pairs if name.lower() == b"content-length"}
    if len(lengths) > 1 or (lengths and not next(iter(lengths)).isdigit()):
        shown = b", ".join(sorted(lengths)).decode("latin-1")
        found.append(("asgi.content-length-invalid", {"value": short(shown)}))
    return problems + found


def _bytes_fix(body: Any) -> str:
    """How to turn ``body`` into the bytes it was meant to be (the rule's hint)."""
    if isinstance(body, str):
        if len(body) > 20:  # a value cut short, then .encode(), would read as garble
            return "your text.encode('utf-8'), or a b'...' literal"
        return f"{short(body, 30)}.encode('utf-8') or a b'...' literal"
    if isinstance(body, (int, float)) and not isinstance(body, bool):
        text = short(body, 30)
        fix = f"str({text}).encode(), which is {short(str(body).encode(), 30)}"
        if isinstance(body, int) and body >= 0:  # the trap: bytes(3) == b"\x00\x00\x00"
            zeros = {0: "no bytes at all", 1: "one zero byte"}.get(body, f"{text} zero bytes")
            fix += f" (not bytes({text}): that makes {zeros})"
        return fix
    if isinstance(body, (bytearray, memoryview)):
        return "bytes(...) of it"
    if body is None:
        return "b'' for an empty body"
    if isinstance(body, (list, tuple)):
        return "b''.join(...) of the parts, each of them bytes"
    return "encode text with .encode('utf-8'), a number with str(n).encode()"


def body_problems(message: Mapping[str, Any], where: str, field: str = "body") -> list[Problem]:
    more = message.get("more_body", False)
    flag: list[Problem] = []
    if not isinstance(more, bool):
        flag = [("asgi.more-body-not-bool", {"where": where, "value": short(more, 30)})]
    body = message.get(field, b"")
    if isinstance(body, bytes):
        return flag
    fix = _bytes_fix(body)
    return [
        (
            "asgi.body-not-bytes",
            {"where": where, "type": type(body).__name__, "value": short(body, 30), "fix": fix},
        ),
        *flag,
    ]


def _form(detail: str, hint: str) -> Problem:
    return ("asgi.ws-message-form", {"detail": detail, "hint": hint})


def ws_send_problems(message: Mapping[str, Any]) -> list[Problem]:
    data, text = message.get("bytes"), message.get("text")
    if (data is None) == (text is None):
        which = "both 'bytes' and 'text'" if data is not None else "neither 'bytes' nor 'text'"
        return [
            _form(
                f"'websocket.send' carried {which}; exactly one of them must be set.",
                "Send {'type': 'websocket.send', 'text': '...'} or "
                "{'type': 'websocket.send', 'bytes': b'...'}.",
            )
        ]
    if data is not None and not isinstance(data, bytes):
        return [
            _form(
                f"'websocket.send' had 'bytes' = {short(data)}, a "
                f"{type(data).__name__}; it must be bytes.",
                "Use 'text' for str, 'bytes' for bytes.",
            )
        ]
    if text is not None and not isinstance(text, str):
        return [
            _form(
                f"'websocket.send' had 'text' = {short(text)}, a "
                f"{type(text).__name__}; it must be a str.",
                "Use 'text' for str (decode bytes first), 'bytes' for bytes.",
            )
        ]
    return []


def ws_accept_problems(message: Mapping[str, Any], offered: list[str]) -> list[Problem]:
    chosen = message.get("subprotocol")
    if chosen is not None and chosen not in offered:
        return [
            _form(
                f"'websocket.accept' chose the subprotocol {short(chosen)}, which the "
                f"client did not offer (it offered {offered or 'none'}).",
                "Only choose from scope['subprotocols'], or leave 'subprotocol' out.",
            )
        ]
    found, pairs = headers_problems(message.get("headers", []))
    if any(name == b"sec-websocket-protocol" for name, _ in pairs):
        found.append(
            _form(
                "'websocket.accept' carried a sec-websocket-protocol header; the spec says "
                'the headers "Must not include a header named sec-websocket-protocol".',
                "Choose the subprotocol with the 'subprotocol' key instead: "
                "{'type': 'websocket.accept', 'subprotocol': 'chat'}.",
            )
        )
    return found


def lifespan_reply_problems(kind: str, message: Mapping[str, Any]) -> list[Problem]:
    """A ``.failed`` reply's 'message' must be a str (the text a server prints)."""
    text = message.get("message", "")
    if kind.endswith(".failed") and not isinstance(text, str):
        return [("asgi.lifespan-message-not-str", {"kind": repr(kind), "value": short(text)})]
    return []


# Keys whose values other rules judge (bodies, headers, status, close code...).
_JUDGED_KEYS = frozenset(
    {"type", "body", "bytes", "text", "headers", "status", "code", "reason", "message"}
)
_INT64 = 2**63


def value_problems(message: Mapping[str, Any]) -> list[Problem]:
    """Values a message may not carry: the spec lists the allowed types (tuples pass)."""
    for key, value in message.items():
        if key in _JUDGED_KEYS:
            continue
        bad = _forbidden(value, 0)
        if bad:
            return [("asgi.message-value-type", {"key": repr(key), "value": bad})]
    return []


def _forbidden(value: Any, depth: int) -> str:
    """A description of the first value that no ASGI message may hold ("" if none)."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return ""
    if isinstance(value, int):
        return (
            "" if -_INT64 <= value < _INT64 else f"{short(value)} (outside the signed 64-bit range)"
        )
    if isinstance(value, float):
        return "" if math.isfinite(value) else f"{value!r} (no NaN or infinities)"
    if depth > 32:
        return "a structure nested more than 32 levels deep"
    if isinstance(value, (list, tuple)):
        return next((found for item in value if (found := _forbidden(item, depth + 1))), "")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"a dict key {short(k)} (keys must be Unicode strings)"
            found = _forbidden(v, depth + 1)
            if found:
                return found
        return ""
    return f"{short(value, 40)} (a {type(value).__name__})"


# RFC 6455 section 7.4.1: codes that "MUST NOT be set as a status code in a Close
# control frame by an endpoint" (the server would put the app's code in one).
RESERVED_CLOSE_CODES = frozenset({1005, 1006, 1015})


def ws_close_problems(message: Mapping[str, Any]) -> list[Problem]:
    code, reason = message.get("code", 1000), message.get("reason", "")
    if isinstance(code, bool) or not isinstance(code, int):
        return [
            _form(
                f"'websocket.close' had code {short(code)}; it must be an int such as 1000.",
                "Write 'code': 1000 (or leave it out).",
            )
        ]
    if code in RESERVED_CLOSE_CODES:
        return [("asgi.ws-close-code", {"value": code})]
    if reason is not None and not isinstance(reason, str):
        return [
            _form(
                f"'websocket.close' had reason {short(reason)}; it must be a str.",
                "Write 'reason': 'text' (or leave it out).",
            )
        ]
    return []
