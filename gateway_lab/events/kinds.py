"""The event vocabulary: every ``kind`` an :class:`~gateway_lab.events.flow.Event` can have.

Theory of operation: producers (the recorders, the in-process calls, the
CGI gateway, the checker, the WebSocket client, the request lab) take a
kind's name from the constants here; views take its colour and its meaning
from :data:`KINDS`; checks read the payload keys documented here. Each
:class:`Kind` is plain data: its name, its lanes (who sends it to whom, by
role), the payload keys it carries, and one plain sentence on what it
means (``{source}`` and ``{target}`` are filled with the lanes, ``{what}``
with what a ``return`` returned).

Payload shapes, one per kind (keys in brackets are present only when they
apply). Every payload may carry ``summary``: the short text on a diagram's
arrow.

* **A body** (``body``, ``write``, ``stdin``, ``stdout``, ``stderr``):
  ``body`` (bytes, at most ``BODY_CAP`` of them), ``size`` (the full size),
  ``truncated``. When the app passed something that is not bytes:
  ``value`` (a copy of it) and ``wrong_type`` (its type's name) instead.
* **An ASGI message** (``receive``, ``send``) is *flattened*: the message's
  own keys at the top level, ``{"type": "http.response.body", "body": b"Hi",
  "more_body": False, "size": 2, "truncated": False, "summary": ...}``. A
  ``body`` or ``bytes`` field is kept as at most ``BODY_CAP`` bytes, with
  ``size`` and ``truncated``; a long ``text`` likewise (``size`` counts
  characters). A message that is not a dict: ``type`` None, ``value``,
  ``wrong_type``. ``summary``, ``size`` and ``truncated`` are the only keys
  added; no ASGI message defines them.
* **start_response**: ``status`` and ``headers`` as given (copies),
  ``exc_info`` (None, the exception as text, or a copy of a malformed
  value) with ``exc_info_valid`` when one was passed, and ``positional`` /
  ``keywords`` only when the call was not ``(status, headers[, exc_info])``.
* **return**: ``type`` (the name of what was returned); for a WSGI body
  that is a str, bytes, None or not iterable, ``value`` (and ``size``,
  ``iterable``); for an ASGI call that was not awaitable, ``awaitable``
  False and ``value``.
* **close**: WSGI: empty, or ``cut`` True when the server closed the body
  before its end; WebSocket (a close frame, from the WebSocket client):
  ``code``.
* **exception**: ``type``, ``message``, ``traceback`` (text, without the
  recorder's frames), ``frames`` (``(file, line, function, source)`` each),
  ``during`` ("close" when the body's close() raised) and ``from_server``
  (the name of the server's callable that raised it into the app).
* **Copies of the learner's values** (statuses, headers, message fields,
  returned objects) keep their type: str, bytes, numbers, bools, None,
  lists, tuples, dicts, bytearrays and memoryviews are copied as they are;
  any other object becomes a :class:`~gateway_lab.events.payloads.StandIn`
  whose type name and ``repr`` are the original's. So a check reading a
  recorded flow sees the same types the server saw.

Caps: a :class:`~gateway_lab.events.flow.Flow` keeps at most ``max_events``
events in all (dropping the oldest) and, if given, ``per_connection``
events of each connection (the rest are counted, not kept); see
:mod:`~gateway_lab.events.flow`.

>>> KINDS[START_RESPONSE].lanes
('app', 'server')
>>> colour("no such kind")
'#2d3748'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BODY",
    "CLIENT_LEFT",
    "CLOSE",
    "ENDING_KINDS",
    "ENVIRON",
    "ENVIRONMENT",
    "ERRORS",
    "EXCEPTION",
    "EXIT",
    "FRAME",
    "KINDS",
    "READ",
    "RECEIVE",
    "REQUEST",
    "REQUEST_KINDS",
    "RESPONSE",
    "RETURN",
    "SCOPE",
    "SEND",
    "SPAWN",
    "START_RESPONSE",
    "STDERR",
    "STDIN",
    "STDOUT",
    "TIMEOUT",
    "UNAWAITED",
    "WRITE",
    "Kind",
    "colour",
    "meaning",
]

DEFAULT_COLOUR = "#2d3748"
_REQUEST = "#2b6cb0"  # a request arrives
_ANSWER = "#2f855a"  # the answer begins
_INCOMING = "#c05621"  # data flows towards the app or script
_DATA = "#4a5568"  # body bytes
_END = "#6b46c1"  # a step that ends or starts a process
_TROUBLE = "#c53030"  # something went wrong

BODY_KEYS = ("body", "size", "truncated", "value", "wrong_type", "summary")


@dataclass(frozen=True)
class Kind:
    """One kind of event: what it is called, who sends it, what it carries, what it means."""

    name: str
    lanes: tuple[str, str]  # (source role, target role); a middleware's lane plays either
    payload: tuple[str, ...]  # the keys its payload may carry
    meaning: str  # one sentence; {source}, {target} and {what} are filled in
    colour: str = DEFAULT_COLOUR
    protocol: str = "any"  # "wsgi", "asgi", "cgi", "http", "websocket" or "any"


# -- the names, as constants for producers --------------------------------------------
ENVIRON = "environ"
START_RESPONSE = "start_response"
WRITE = "write"
READ = "read"
ERRORS = "errors"
RETURN = "return"
BODY = "body"
CLOSE = "close"
EXCEPTION = "exception"
SCOPE = "scope"
RECEIVE = "receive"
SEND = "send"
UNAWAITED = "unawaited"
TIMEOUT = "timeout"
CLIENT_LEFT = "client left"
REQUEST = "request"
RESPONSE = "response"
FRAME = "frame"
SPAWN = "spawn"
ENVIRONMENT = "environment"
STDIN = "stdin"
STDOUT = "stdout"
STDERR = "stderr"
EXIT = "exit"

_ALL = [
    # -- WSGI (PEP 3333) --------------------------------------------------------------
    Kind(
        ENVIRON,
        ("server", "app"),
        ("environ", "summary"),
        "{source} calls {target} with environ and start_response (PEP 3333).",
        _REQUEST,
        "wsgi",
    ),
    Kind(
        START_RESPONSE,
        ("app", "server"),
        (
            "status",
            "headers",
            "exc_info",
            "exc_info_valid",
            "positional",
            "keywords",
            "summary",
        ),
        "{source} calls start_response(status, headers): the response begins.",
        _ANSWER,
        "wsgi",
    ),
    Kind(
        WRITE,
        ("app", "server"),
        BODY_KEYS,
        "{source} calls the legacy write(data) that start_response returned.",
        _DATA,
        "wsgi",
    ),
    Kind(
        READ,
        ("app", "server"),
        ("call", "asked", "left", "size", "summary"),
        "{source} reads the request body from wsgi.input.",
        _INCOMING,
        "wsgi",
    ),
    Kind(
        ERRORS,
        ("app", "server"),
        ("value", "summary"),
        "{source} writes to wsgi.errors, the server's error log.",
        _TROUBLE,
        "wsgi",
    ),
    Kind(
        RETURN,
        ("app", "server"),
        ("type", "value", "size", "iterable", "awaitable", "summary"),
        "{source} returned{what}.",
        _END,
    ),
    Kind(
        BODY,
        ("app", "server"),
        BODY_KEYS,
        "{target} takes the next chunk of the body from {source}'s iterable.",
        _DATA,
        "wsgi",
    ),
    Kind(
        CLOSE,
        ("server", "app"),
        ("cut", "code", "summary"),
        "{source} closes the exchange with {target}: close() on the body a WSGI app "
        "returned, or a WebSocket close frame (its code).",
        _END,
    ),
    Kind(
        EXCEPTION,
        ("app", "server"),
        ("type", "message", "traceback", "frames", "during", "from_server", "summary"),
        "{source} raised an exception; it travels on to {target}.",
        _TROUBLE,
    ),
    # -- ASGI (the ASGI spec) ---------------------------------------------------------
    Kind(
        SCOPE,
        ("server", "app"),
        ("scope", "type", "summary"),
        "{source} calls {target} with scope, receive and send (the ASGI spec).",
        _REQUEST,
        "asgi",
    ),
    Kind(
        RECEIVE,
        ("server", "app"),
        ("type", "...the message's fields", "size", "truncated", "value", "wrong_type", "summary"),
        "{target} awaited receive() and got this message from {source}.",
        _INCOMING,
        "asgi",
    ),
    Kind(
        SEND,
        ("app", "server"),
        (
            "type",
            "...the message's fields",
            "size",
            "truncated",
            "value",
            "wrong_type",
            "summary",
            "state_replaced",  # on lifespan.startup.complete: the app rebound scope["state"]
        ),
        "{source} awaited send(message): this message goes to {target}.",
        _ANSWER,
        "asgi",
    ),
    Kind(
        UNAWAITED,
        ("app", "server"),
        ("call", "summary"),  # call: "send" or "receive"
        "{source} called send() or receive() without await, so nothing happened.",
        _TROUBLE,
        "asgi",
    ),
    Kind(
        TIMEOUT,
        ("server", "app"),
        ("summary",),
        "{source} stopped waiting for {target}, which took too long.",
        _TROUBLE,
    ),
    Kind(
        CLIENT_LEFT,
        ("server", "app"),
        ("summary",),
        "The client hung up; {source} tells {target} it is gone.",
        _END,
        "asgi",
    ),
    # -- HTTP, seen from the client ---------------------------------------------------
    Kind(
        REQUEST,
        ("client", "server"),
        ("method", "path", "target", "headers", "body", "size", "truncated", "summary"),
        "{source} sends a request to {target}.",
        _REQUEST,
        "http",
    ),
    Kind(
        RESPONSE,
        ("server", "client"),
        ("status", "headers", "body", "size", "truncated", "problem", "summary"),
        "{source} sends the response back to {target}.",
        _ANSWER,
        "http",
    ),
    Kind(
        FRAME,
        ("client", "server"),
        ("data", "size", "summary"),
        "{source} sends a WebSocket message to {target}.",
        _DATA,
        "websocket",
    ),
    # -- CGI (RFC 3875) ---------------------------------------------------------------
    Kind(
        SPAWN,
        ("gateway", "script"),
        ("argv", "pid", "summary"),
        "{source} starts the script as a new process.",
        _END,
        "cgi",
    ),
    Kind(
        ENVIRONMENT,
        ("gateway", "script"),
        ("...one key per meta-variable",),
        "{source} hands the script its environment: the CGI meta-variables.",
        _REQUEST,
        "cgi",
    ),
    Kind(
        STDIN,
        ("gateway", "script"),
        BODY_KEYS,
        "{source} writes the request body to the script's standard input.",
        _INCOMING,
        "cgi",
    ),
    Kind(
        STDOUT,
        ("script", "gateway"),
        BODY_KEYS,
        "{source} writes to its standard output; {target} reads it.",
        _DATA,
        "cgi",
    ),
    Kind(
        STDERR,
        ("script", "gateway"),
        BODY_KEYS,
        "{source} writes to its standard error (the server's log).",
        _TROUBLE,
        "cgi",
    ),
    Kind(
        EXIT,
        ("script", "gateway"),
        ("code", "signal", "summary"),
        "{source}'s process ended.",
        _END,
        "cgi",
    ),
]

KINDS: dict[str, Kind] = {kind.name: kind for kind in _ALL}

# Kinds that carry the request as the app or script gets it (an environ, a scope,
# the CGI variables): what an inspector shows and what labels a connection.
REQUEST_KINDS = (ENVIRON, SCOPE, ENVIRONMENT)
# Kinds after which an exchange is over, as far as the app is concerned.
ENDING_KINDS = (CLOSE, RETURN, EXCEPTION)


def colour(kind: str) -> str:
    """The colour a view draws ``kind`` in (a neutral grey for a kind not listed)."""
    known = KINDS.get(kind)
    return known.colour if known else DEFAULT_COLOUR


def meaning(kind: str) -> str | None:
    """The sentence template for ``kind``, or None for a kind not listed."""
    known = KINDS.get(kind)
    return known.meaning if known else None
