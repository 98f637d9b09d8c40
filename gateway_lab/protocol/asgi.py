"""The order of ASGI messages, as tables of data: HTTP, WebSocket and lifespan.

Theory of operation (the way h11 keeps its state machine in ``_state.py``):
each scope's conversation is a small state machine, written below as plain
dicts, with the wording of every violation beside the transition it breaks.
Everything that plays the server for an ASGI app consults these tables
instead of keeping its own booleans: ``gl.call_asgi``, the guard every
served app sits behind, the mini ASGI server, and the checker. So one
mistake gets one sentence wherever it surfaces. The one function to call::

    state = INITIAL["http"]                                      # "before-start"
    state, problem = step("http", state, "http.response.start")  # "started", None
    state, problem = step("http", state, "http.response.body")   # "complete", None
    state, problem = step("http", state, "http.response.body")   # "complete", "The app sent ..."

``message_type`` is a message's ``"type"``, except that a body with
``more_body=True`` is ``"http.response.body+more_body"`` (likewise for the
denial extension's body): whether more may follow is part of the order.
:func:`message_key` makes that key from a message. **A refused message
leaves the state as it was** (there is no error state): it counts as not
sent, as when a server raises from ``send``. The server's own messages
(``http.request``, ``websocket.connect``, ``lifespan.startup``...) may be
stepped too, so a recorded flow can be fed in order: never violations,
and only the lifespan's two change the state.

:data:`INITIAL` names each machine's first state, :data:`FINAL` the states
where nothing more may be sent, :func:`ending` what is wrong when the app
*returns* in a state, :func:`violation` the :class:`Violation` itself (the
checker's rule id, ``what``, ``fix``, ``spec``). The WebSocket denial
response is in the tables; whether a scope offers it, and the HTTP
extensions (trailers, server push, path send...), are
:mod:`gateway_lab.protocol.extensions`' business.

>>> step("http", "before-start", "http.response.body")[0]
'before-start'
>>> step("websocket", INITIAL["websocket"], "websocket.accept")
('open', None)
>>> ending("http", "streaming").rule
'asgi.response-incomplete'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway_lab import specs

__all__ = [
    "FINAL",
    "INITIAL",
    "MACHINES",
    "MORE_BODY",
    "VIOLATIONS",
    "Machine",
    "Violation",
    "ending",
    "message_key",
    "step",
    "violation",
]

MORE_BODY = "+more_body"  # appended to a body message's type when more_body is True


@dataclass(frozen=True)
class Violation:
    """One way to break the order: the checker's rule id, what happened (``{value}``: the
    message's type, quoted; no other braces are fields), what to change, the spec's anchor."""

    rule: str
    what: str
    fix: str
    spec: str

    def message(self, message_type: str) -> str:
        """``what`` with the message type filled in."""
        return self.what.replace("{value}", repr(message_type.removesuffix(MORE_BODY)))

    def sentence(self, message_type: str = "") -> str:
        """The whole explanation: what happened, what to change, where the spec says so."""
        return f"{self.message(message_type)} {self.fix} See {self.spec}"


@dataclass(frozen=True)
class Machine:
    """One scope: ``allowed`` (state, type) -> next state; ``refused`` (state, type) and
    ``otherwise`` state (or "*") -> violation; ``endings`` state -> what returning there is."""

    name: str
    initial: str
    final: frozenset[str]
    allowed: Mapping[tuple[str, str], str]
    refused: Mapping[tuple[str, str], Violation]
    otherwise: Mapping[str, Violation]
    server: frozenset[str]
    endings: Mapping[str, Violation]


# -- HTTP ----------------------------------------------------------------------------------
# The spec (Response Body - send event): "more_body (bool) - Signifies if there is additional
# content to come (as part of a Response Body message). If False, response will be taken as
# complete and closed, and any further messages on the channel will be ignored."
START, BODY = "http.response.start", "http.response.body"
BODY_MORE = BODY + MORE_BODY

_BODY_BEFORE_START = Violation(
    "asgi.body-before-start",
    "The app sent 'http.response.body' before 'http.response.start', so there is no "
    "status line to put in front of the body.",
    "Send {'type': 'http.response.start', 'status': 200, 'headers': [...]} first.",
    specs.ASGI_HTTP_RESPONSE_START,
)
_START_TWICE = Violation(
    "asgi.start-twice",
    "The app sent 'http.response.start' twice; a response has one status line.",
    "Send the start message once, then only 'http.response.body' messages.",
    specs.ASGI_HTTP_RESPONSE_START,
)
_HTTP_AFTER_COMPLETE = Violation(
    "asgi.send-after-complete",
    "The app sent {value} after the response was complete (its last "
    "'http.response.body' had more_body=False), and nothing can follow the last message.",
    "Give every part but the last more_body=True (leaving it out means False, which "
    "ends the response), and send nothing after the part with more_body=False.",
    specs.ASGI_HTTP_RESPONSE_BODY,
)
_HTTP_UNKNOWN = Violation(
    "asgi.unknown-message",
    "The app sent a message of type {value} in an http scope, where an app sends "
    "'http.response.start', then one or more 'http.response.body' (no extension is offered).",
    "Check the spelling of 'type' and the order of the messages.",
    specs.ASGI_HTTP,
)
_NO_RESPONSE = Violation(
    "asgi.no-response",
    "The app returned without sending 'http.response.start', so the client gets no "
    "answer (servers send a 500).",
    "Send 'http.response.start' then 'http.response.body' before returning.",
    specs.ASGI_HTTP_RESPONSE_START,
)
_NO_BODY = Violation(
    "asgi.response-incomplete",
    "The app returned while the response was still open: 'http.response.start' was sent "
    "but no 'http.response.body' followed.",
    "Finish with a body message whose 'more_body' is False (the default).",
    specs.ASGI_HTTP_RESPONSE_BODY,
)
_OPEN_BODY = Violation(
    "asgi.response-incomplete",
    "The app returned while the response was still open: the last 'http.response.body' "
    "had more_body=True, so the client waits for more.",
    "Finish with a body message whose 'more_body' is False (the default).",
    specs.ASGI_HTTP_RESPONSE_BODY,
)

HTTP = Machine(
    name="http",
    initial="before-start",
    final=frozenset({"complete"}),
    allowed={
        ("before-start", START): "started",
        ("started", BODY_MORE): "streaming",
        ("started", BODY): "complete",
        ("streaming", BODY_MORE): "streaming",
        ("streaming", BODY): "complete",
    },
    refused={
        ("before-start", BODY): _BODY_BEFORE_START,
        ("started", START): _START_TWICE,
        ("streaming", START): _START_TWICE,
        ("complete", START): _HTTP_AFTER_COMPLETE,
        ("complete", BODY): _HTTP_AFTER_COMPLETE,
    },
    otherwise={"*": _HTTP_UNKNOWN},
    server=frozenset({"http.request", "http.disconnect"}),
    endings={"before-start": _NO_RESPONSE, "started": _NO_BODY, "streaming": _OPEN_BODY},
)

# -- WebSocket -----------------------------------------------------------------------------
# The spec (Close - send event): "If this is sent before the socket is accepted, the server
# must close the connection with a HTTP 403 error code (Forbidden)"
ACCEPT, SEND, CLOSE = "websocket.accept", "websocket.send", "websocket.close"
DENY_START, DENY_BODY = "websocket.http.response.start", "websocket.http.response.body"
DENY_BODY_MORE = DENY_BODY + MORE_BODY

_WS_SEND_BEFORE_ACCEPT = Violation(
    "asgi.ws-send-before-accept",
    "The app sent {value} before 'websocket.accept': until the app accepts, the "
    "handshake is not finished and there is no WebSocket to send on.",
    "Send {'type': 'websocket.accept'} first (or 'websocket.close' to refuse).",
    specs.ASGI_WEBSOCKET_ACCEPT,
)
_WS_ACCEPT_TWICE = Violation(
    "asgi.ws-accept-twice",
    "The app sent 'websocket.accept' twice; the handshake happens once.",
    "Accept once, then use 'websocket.send' and 'websocket.close'.",
    specs.ASGI_WEBSOCKET_ACCEPT,
)
_WS_AFTER_CLOSE = Violation(
    "asgi.send-after-complete",
    "The app sent {value} after the WebSocket was closed (it sent 'websocket.close' "
    "or its denial response), and nothing can follow the close.",
    "Return from the app after sending 'websocket.close'.",
    specs.ASGI_WEBSOCKET_CLOSE,
)
_WS_DENY_AFTER_ACCEPT = Violation(
    "asgi.ws-deny-after-accept",
    "The app sent {value} after 'websocket.accept'; an HTTP denial response can only "
    "replace the handshake, not follow it.",
    "To end an accepted WebSocket, send {'type': 'websocket.close', 'code': 1008}.",
    specs.ASGI_WEBSOCKET_DENIAL,
)
_WS_DENY_BODY_FIRST = Violation(
    "asgi.body-before-start",
    "The app sent 'websocket.http.response.body' before 'websocket.http.response.start', "
    "so the denial response has no status line.",
    "Send {'type': 'websocket.http.response.start', 'status': 403, 'headers': []} first.",
    specs.ASGI_WEBSOCKET_DENIAL,
)
_WS_DENYING = Violation(
    "asgi.unknown-message",
    "The app sent {value} while sending its HTTP denial response, where only "
    "'websocket.http.response.body' messages may follow the start.",
    "Finish the denial with a body message whose 'more_body' is False.",
    specs.ASGI_WEBSOCKET_DENIAL,
)
_WS_UNKNOWN = Violation(
    "asgi.unknown-message",
    "The app sent a message of type {value} in a websocket scope, where an app sends "
    "'websocket.accept' (or 'websocket.close' to refuse), then 'websocket.send' and "
    "'websocket.close'.",
    "Check the spelling of 'type' and the order of the messages.",
    specs.ASGI_WEBSOCKET,
)
_WS_NO_HANDSHAKE = Violation(
    "asgi.ws-no-handshake",
    "The app returned without accepting or closing the WebSocket, so the client's "
    "handshake is left unanswered (servers send 403).",
    "Send {'type': 'websocket.accept'}, or {'type': 'websocket.close'} to refuse.",
    specs.ASGI_WEBSOCKET_ACCEPT,
)
_WS_DENIAL_OPEN = Violation(
    "asgi.response-incomplete",
    "The app returned while its HTTP denial response was still open: the last "
    "'websocket.http.response.body' had more_body=True.",
    "Finish with a body message whose 'more_body' is False (the default).",
    specs.ASGI_WEBSOCKET_DENIAL,
)

_WS_ANY = (ACCEPT, SEND, CLOSE, DENY_START, DENY_BODY)
WEBSOCKET = Machine(
    name="websocket",
    initial="connecting",
    final=frozenset({"closed"}),
    allowed={
        ("connecting", ACCEPT): "open",
        ("connecting", CLOSE): "closed",  # a refusal: the client gets 403
        ("connecting", DENY_START): "denying",
        ("denying", DENY_BODY_MORE): "denying",
        ("denying", DENY_BODY): "closed",
        ("open", SEND): "open",
        ("open", CLOSE): "closed",
    },
    refused={
        ("connecting", SEND): _WS_SEND_BEFORE_ACCEPT,
        ("connecting", DENY_BODY): _WS_DENY_BODY_FIRST,
        ("open", ACCEPT): _WS_ACCEPT_TWICE,
        ("open", DENY_START): _WS_DENY_AFTER_ACCEPT,
        ("open", DENY_BODY): _WS_DENY_AFTER_ACCEPT,
        **{("closed", kind): _WS_AFTER_CLOSE for kind in _WS_ANY},
    },
    otherwise={"denying": _WS_DENYING, "*": _WS_UNKNOWN},
    server=frozenset({"websocket.connect", "websocket.receive", "websocket.disconnect"}),
    endings={"connecting": _WS_NO_HANDSHAKE, "denying": _WS_DENIAL_OPEN},
)

# -- lifespan ------------------------------------------------------------------------------
# The spec (Startup - receive event): "The application should send lifespan.startup.complete
# or lifespan.startup.failed" once it has finished starting up, and likewise for shutdown.
STARTUP_COMPLETE, STARTUP_FAILED = "lifespan.startup.complete", "lifespan.startup.failed"
SHUTDOWN_COMPLETE, SHUTDOWN_FAILED = "lifespan.shutdown.complete", "lifespan.shutdown.failed"


def _replies(step: str, spec: str) -> tuple[Violation, Violation]:
    """The two ways to get ``lifespan.{step}`` wrong: a wrong reply, and none at all."""
    done, failed = f"'lifespan.{step}.complete'", f"'lifespan.{step}.failed'"
    wrong = Violation(
        "asgi.lifespan-bad-reply",
        f"In answer to 'lifespan.{step}', the app sent {{value}}; the only replies are "
        f"{done} and {failed}.",
        f"Reply with {{'type': {done}}} (or {failed} with a 'message').",
        spec,
    )
    none = Violation(
        "asgi.lifespan-no-reply",
        f"The app received 'lifespan.{step}' and returned without replying, so a server "
        "would wait (or give up).",
        f"After doing the work, send {{'type': {done}}}.",
        spec,
    )
    return wrong, none


_BAD_STARTUP_REPLY, _STARTUP_NO_REPLY = _replies("startup", specs.ASGI_LIFESPAN_STARTUP_COMPLETE)
_BAD_SHUTDOWN_REPLY, _SHUTDOWN_NO_REPLY = _replies(
    "shutdown", specs.ASGI_LIFESPAN_SHUTDOWN_COMPLETE
)
_LIFESPAN_UNASKED = Violation(
    "asgi.lifespan-bad-reply",
    "The app sent {value} on the lifespan scope when the server was not waiting for a "
    "reply: each of 'lifespan.startup' and 'lifespan.shutdown' gets exactly one answer.",
    "Send one reply after each message receive() gives you, and nothing else.",
    specs.ASGI_LIFESPAN_SCOPE,
)

LIFESPAN = Machine(
    name="lifespan",
    initial="idle",
    final=frozenset({"failed", "stopped"}),
    allowed={
        ("idle", "lifespan.startup"): "starting",
        ("starting", STARTUP_COMPLETE): "serving",
        ("starting", STARTUP_FAILED): "failed",
        ("serving", "lifespan.shutdown"): "stopping",
        ("stopping", SHUTDOWN_COMPLETE): "stopped",
        ("stopping", SHUTDOWN_FAILED): "stopped",
    },
    refused={},  # every wrong reply is refused by the state's "otherwise"
    otherwise={
        "starting": _BAD_STARTUP_REPLY,
        "stopping": _BAD_SHUTDOWN_REPLY,
        "*": _LIFESPAN_UNASKED,
    },
    server=frozenset({"lifespan.startup", "lifespan.shutdown"}),
    endings={"starting": _STARTUP_NO_REPLY, "stopping": _SHUTDOWN_NO_REPLY},
)

MACHINES: dict[str, Machine] = {m.name: m for m in (HTTP, WEBSOCKET, LIFESPAN)}
INITIAL: dict[str, str] = {m.name: m.initial for m in MACHINES.values()}
FINAL: dict[str, frozenset[str]] = {m.name: m.final for m in MACHINES.values()}
# Every violation of the tables once (the checker's catalogue lists them, and those of
# :mod:`.extensions`).
_ALL = [
    v for m in MACHINES.values() for t in (m.refused, m.otherwise, m.endings) for v in t.values()
]
VIOLATIONS: tuple[Violation, ...] = tuple({id(v): v for v in _ALL}.values())


def message_key(message: Mapping[str, Any]) -> str:
    """The table key for ``message``: its type, plus :data:`MORE_BODY` for an unfinished body."""
    kind = message.get("type")
    kind = kind if isinstance(kind, str) else repr(kind)
    if kind in (BODY, DENY_BODY) and message.get("more_body", False):
        return kind + MORE_BODY
    return kind


def violation(machine: str, state: str, message_type: str) -> Violation | None:
    """The rule ``message_type`` breaks in ``state``, or None if it is allowed there."""
    table = MACHINES[machine]
    if (state, message_type) in table.allowed or message_type in table.server:
        return None
    found = table.refused.get((state, message_type.removesuffix(MORE_BODY)))  # a body is a body
    return found or table.otherwise.get(state) or table.otherwise["*"]


def step(machine: str, state: str, message_type: str) -> tuple[str, str | None]:
    """The state after ``message_type``, and why it is refused (None: it is not); a refused
    message leaves the state unchanged."""
    table = MACHINES[machine]
    following = table.allowed.get((state, message_type))
    if following is not None:
        return following, None
    if message_type in table.server:
        return state, None
    found = violation(machine, state, message_type)
    return state, found.sentence(message_type) if found else None


def ending(machine: str, state: str) -> Violation | None:
    """What is wrong when the app returns in ``state`` (None: nothing)."""
    return MACHINES[machine].endings.get(state)
