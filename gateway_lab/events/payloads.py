"""Payloads: the one place where an event's payload is built from what really happened.

Theory of operation: a payload must be safe to keep (a copy, never the
learner's live object: a generator kept in a flow would be consumed by a
view) and faithful enough to judge (a check reading a recorded flow must
see that a status was an int, or a header a list instead of a tuple). So
:func:`copy_value` copies plain data as it is, keeping its type (str,
bytes, numbers, None, lists, tuples, dicts, bytearrays, memoryviews) and
turns anything else into a :class:`StandIn`: an object whose type *name*
and ``repr`` are the original's, and which does nothing else.

Each ``*_payload`` function builds the payload of one kind, in the shape
:mod:`~gateway_lab.events.kinds` documents; the recorders use them, and so
can every other producer (the checker's drivers), so one message always
has one shape. Building a payload never raises: what cannot be copied is
shown by its ``repr``.

>>> message_payload({"type": "http.response.body", "body": b"Hi"})["size"]
2
>>> type(copy_value(iter([]))).__name__
'list_iterator'
"""

from __future__ import annotations

import traceback
from typing import Any

from gateway_lab.events.flow import BODY_CAP, keep_body

__all__ = [
    "StandIn",
    "body_payload",
    "copy_value",
    "environ_payload",
    "exception_payload",
    "message_payload",
    "replaced_state",
    "return_payload",
    "scope_payload",
    "start_response_payload",
]

_PLAIN = (str, bytes, int, float, bool, type(None))
_DEPTH = 40  # nested containers copied this deep (past the 32 levels ASGI allows)
_ITEMS = 1000  # items of one container copied; a longer one is cut (its repr says so)
_REPR = 200  # characters of a stand-in's repr kept


class StandIn:
    """What a payload keeps of an object that is not plain data: its type name and repr."""

    __slots__ = ("_text",)
    _classes: dict[str, type[StandIn]] = {}

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text

    def __eq__(self, other: object) -> bool:
        """Two stand-ins are equal when their type names and reprs are: payloads compare."""
        if not isinstance(other, StandIn):
            return NotImplemented
        return type(self).__name__ == type(other).__name__ and self._text == other._text

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._text))

    @classmethod
    def of(cls, value: Any) -> StandIn:
        """A stand-in for ``value``: ``type(stand_in).__name__`` is ``value``'s type name."""
        name = type(value).__name__
        made = cls._classes.get(name)
        if made is None:
            made = type(name, (StandIn,), {"__slots__": ()})
            cls._classes[name] = made
        try:
            text = repr(value)
        except Exception:  # a learner's object whose __repr__ fails
            text = f"<{name} object>"
        return made(text if len(text) <= _REPR else text[: _REPR - 3] + "...")


def copy_value(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` that is safe to keep and keeps its type (see the module doc)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, bytearray):
        return bytearray(value[:BODY_CAP])
    if isinstance(value, memoryview):
        try:
            return memoryview(bytes(value[:BODY_CAP]))
        except Exception:
            return StandIn.of(value)
    if depth < _DEPTH and type(value) in (list, tuple):
        items = [copy_value(v, depth + 1) for v in value[:_ITEMS]]
        return items if type(value) is list else tuple(items)
    if depth < _DEPTH and type(value) is dict:
        return {
            k if isinstance(k, _PLAIN) else StandIn.of(k): copy_value(v, depth + 1)
            for k, v in list(value.items())[:_ITEMS]
        }
    return StandIn.of(value)


def body_payload(data: Any) -> dict[str, Any]:
    """A body chunk: ``keep_body`` for bytes; for anything else, a copy and its type."""
    if isinstance(data, bytes):
        return keep_body(data)
    return {
        "value": copy_value(data),
        "wrong_type": type(data).__name__,
        "summary": f"not bytes: {type(data).__name__}",
    }


def environ_payload(environ: Any) -> dict[str, Any]:
    """An environ: str values as they are, the rest (streams, tuples...) by repr."""
    try:
        copy = {str(k): v if isinstance(v, str) else repr(v) for k, v in dict(environ).items()}
    except Exception:
        return {"environ": {}, "summary": repr(environ)[:80]}
    path = copy.get("PATH_INFO", "")
    if copy.get("QUERY_STRING"):
        path += "?" + copy["QUERY_STRING"]
    return {"environ": copy, "summary": f"{copy.get('REQUEST_METHOD', '?')} {path}"}


def start_response_payload(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A call of start_response: status, headers and exc_info as given.

    ``positional`` and ``keywords`` are there only when the call was not
    ``start_response(status, headers[, exc_info])``; ``exc_info_valid`` only
    when an ``exc_info`` was passed.
    """
    names = ("status", "headers", "exc_info")
    given = dict(zip(names, args, strict=False))
    given.update({k: v for k, v in kwargs.items() if k in names and k not in given})
    status, exc_info = given.get("status"), given.get("exc_info")
    payload: dict[str, Any] = {
        "status": copy_value(status),
        "headers": copy_value(given.get("headers")),
        "exc_info": None,
        "summary": str(status) if isinstance(status, str) else repr(status)[:60],
    }
    if kwargs or not 2 <= len(args) <= 3:
        payload["positional"] = len(args)
        payload["keywords"] = sorted(str(k) for k in kwargs)
    if exc_info is not None:
        valid = (
            isinstance(exc_info, tuple)
            and len(exc_info) == 3
            and isinstance(exc_info[1], BaseException)
        )
        payload["exc_info_valid"] = valid
        payload["exc_info"] = _exception_text(exc_info[1]) if valid else copy_value(exc_info)
    return payload


def _exception_text(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception_only(type(exc), exc)).strip()
    except Exception:
        return type(exc).__name__


def return_payload(result: Any, asgi: bool = False) -> dict[str, Any]:
    """What the app returned: its type, and a copy of it when it is not a usable body.

    WSGI: a str, bytes or None, or an object that cannot be iterated, is
    kept as ``value`` (with its ``size`` for bytes), and ``iterable`` says
    whether it could be iterated. ASGI: the app's call returned something
    that was not awaitable (``awaitable`` False), or the coroutine's result.
    """
    name = type(result).__name__
    payload: dict[str, Any] = {"type": name, "summary": name}
    if asgi:
        payload["summary"] = "" if result is None else name
        return payload
    if result is None or isinstance(result, (str, bytes, bytearray)):
        payload["value"] = copy_value(result if result is None else result[:BODY_CAP])
        if isinstance(result, (bytes, bytearray)):
            payload["size"] = len(result)
    elif not hasattr(result, "__iter__") and not hasattr(result, "__getitem__"):
        payload["value"] = copy_value(result)
        payload["iterable"] = False
    return payload


def scope_payload(scope: Any) -> dict[str, Any]:
    """A scope, copied (bytes stay bytes), with its type and a one-line summary."""
    try:
        copy = copy_value(dict(scope))
    except Exception:
        return {"scope": {}, "summary": repr(scope)[:80]}
    if not isinstance(copy, dict):
        return {"scope": {}, "summary": repr(scope)[:80]}
    kind = copy.get("type", "?")
    if kind == "http":
        summary = f"http {copy.get('method', '?')} {copy.get('path', '')}"
    elif kind == "websocket":
        summary = f"websocket {copy.get('path', '')}"
    else:
        summary = str(kind)
    query = copy.get("query_string")
    if kind in ("http", "websocket") and query:
        summary += "?" + (query.decode("latin-1") if isinstance(query, bytes) else str(query))
    return {"scope": copy, "type": kind, "summary": summary}


def message_payload(message: Any) -> dict[str, Any]:
    """An ASGI message, flattened: its own keys at the top, bodies capped (see kinds)."""
    if not isinstance(message, dict):
        shown = repr(message)[:60]
        return {
            "type": None,
            "value": copy_value(message),
            "wrong_type": type(message).__name__,
            "summary": f"not a message: {shown}",
        }
    kind = message.get("type")
    payload: dict[str, Any] = {}
    for key, value in list(message.items()):
        if key in ("body", "bytes") and isinstance(value, bytes):
            fields = keep_body(value)
            payload[key] = fields["body"]
            payload.update(size=fields["size"], truncated=fields["truncated"])
        elif key == "text" and isinstance(value, str) and len(value) > BODY_CAP:
            payload[key] = value[:BODY_CAP]
            payload.update(size=len(value), truncated=True)
        else:
            payload[key if isinstance(key, str) else repr(key)] = copy_value(value)
    summary = str(kind)
    if kind == "http.response.start":
        summary = f"{kind} {message.get('status')}"
    elif "size" in payload:
        more = " more" if message.get("more_body") else ""
        summary = f"{kind} {payload['size']} B{more}"
    payload["summary"] = summary
    return payload


def exception_payload(exc: BaseException, text: str, **extra: Any) -> dict[str, Any]:
    """An exception: type, message, the traceback ``text`` and its frames.

    ``frames`` are ``(filename, line number, function, source line)`` of the
    traceback as far as it went when recorded, so a check can point at the
    learner's line just as it would for a live exception. ``extra`` adds
    ``during`` ("close": raised by the body's close()) or ``from_server``
    (the server's own callable raised it into the app).
    """
    message = str(exc)
    try:
        frames = [
            (f.filename, f.lineno, f.name, f.line or "")
            for f in traceback.extract_tb(exc.__traceback__)
        ]
    except Exception:
        frames = []
    return {
        "type": type(exc).__name__,
        "message": message,
        "traceback": text,
        "frames": frames,
        **extra,
        "summary": f"{type(exc).__name__}: {message}" if message else type(exc).__name__,
    }


def replaced_state(value: Any) -> str:
    """How a lifespan scope's rebound ``state`` reads: "dict {'count': 0}", or its type.

    The recorder notes it on the ``lifespan.startup.complete`` send (key
    ``state_replaced``) when the app put a new object in ``scope["state"]``
    in place of the one the server gave, which no request will ever see.
    """
    shown = repr(copy_value(value))
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{type(value).__name__} {shown}"
