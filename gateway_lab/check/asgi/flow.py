"""Judging recorded ASGI connections: the checker's rules, read off a flow's events.

Theory of operation: :class:`RecordedConnection` replays the events of one
connection as the ASGI recorder wrote them (:mod:`gateway_lab.events.record.asgi`):
the scope, then every message the app received and sent, then how the app
ended. The *order* of the app's messages is judged by stepping the scope's
table in :mod:`gateway_lab.protocol.asgi` (the tables the checker, the
in-process call, the guard and the mini server follow), and a refused
message is worded by the table's own :class:`~gateway_lab.protocol.asgi.Violation`,
as the live checker words it. The *shape* of each message is judged by the
checker's pure functions in :mod:`.messages`. When the app has returned,
the response as a whole is judged by :func:`response_problems`. The
connections of one flow are judged together (:func:`judge_asgi_connections`),
as the checker judges its battery: the scopes an app turns away go to the
checker's own :class:`~gateway_lab.check.asgi.outcomes.Rejections`, and an
exception is worded by its ``consequence`` for the scope and the state.

A message is read back from its flattened payload (see
:mod:`gateway_lab.events.kinds`): the payload without the bookkeeping keys
``summary``, ``size`` and ``truncated``. Bodies were capped when recorded,
so sizes come from ``size``, never from the kept bytes.

When the server raised into the app (``from_server``: a real server refusing
a message), the app's own mistakes up to there are judged; the response as
a whole only if the app had sent its last message (a server refusing a body
that does not match its content-length still got the whole response).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway_lab import specs
from gateway_lab.check.asgi.base import AWAIT_CONSEQUENCES
from gateway_lab.check.asgi.messages import (
    body_problems,
    headers_problems,
    lifespan_reply_problems,
    start_problems,
    value_problems,
    ws_accept_problems,
    ws_close_problems,
    ws_send_problems,
)
from gateway_lab.check.asgi.outcomes import Rejections, consequence
from gateway_lab.check.explain import short
from gateway_lab.check.header_repeat import repeated_problems
from gateway_lab.check.report import Finding
from gateway_lab.check.rules import RULES, finding
from gateway_lab.check.wsgi.flow import describe_recorded_exception
from gateway_lab.check.wsgi.rules import BIG_HEAD_BODY
from gateway_lab.events.flow import Event
from gateway_lab.events.kinds import EXCEPTION, RECEIVE, RETURN, SCOPE, SEND, UNAWAITED
from gateway_lab.protocol import asgi as order
from gateway_lab.protocol.extensions import unoffered

__all__ = [
    "RecordedConnection",
    "connection_label",
    "judge_asgi_connections",
    "message_of",
    "response_problems",
]

NO_BODY_STATUSES = (204, 304)
_BOOKKEEPING = frozenset({"summary", "size", "truncated", "state_replaced"})
Problem = tuple[str, dict[str, Any]]


def message_of(payload: Mapping[str, Any]) -> Any:
    """The message a ``send`` / ``receive`` payload records (a copy, bodies capped)."""
    if "wrong_type" in payload and payload.get("type") is None:
        return payload.get("value")
    return {k: v for k, v in payload.items() if k not in _BOOKKEEPING}


def response_problems(
    method: str,
    status: Any,
    headers: Sequence[tuple[bytes, bytes]],
    sent: int,
    headers_read: bool = True,
) -> list[Problem]:
    """What is wrong with a whole HTTP response: 204/304 or HEAD bodies, content-length.

    ``headers_read``: False when the start's headers could not be read as pairs (a dict,
    say), so a header the app did mean to send is not also called missing."""
    problems: list[Problem] = []
    code = status if isinstance(status, int) and not isinstance(status, bool) else None
    head = method == "HEAD"
    if code in NO_BODY_STATUSES and sent:
        problems.append(("asgi.body-on-no-content", {"status": code, "sent": sent}))
    elif head and sent >= BIG_HEAD_BODY:  # every server drops it: a note if it was work
        problems.append(("asgi.body-on-head", {"sent": sent}))
    names = {k.lower() for k, _ in headers}
    typed = b"content-type" in names or not headers_read
    if sent and not head and code is not None and code not in NO_BODY_STATUSES and not typed:
        problems.append(("asgi.no-content-type", {"status": code}))
    text = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
    problems.extend(repeated_problems("asgi", text))
    lengths = {v.strip() for k, v in headers if k.lower() == b"content-length"}
    if len(lengths) != 1 or head or code in NO_BODY_STATUSES:  # (an invalid one: at the start)
        return problems
    value = lengths.pop()
    if value.isdigit() and int(value) != sent:
        why = (
            "The client stops reading at the declared length."
            if sent > int(value)
            else "The client waits for the missing bytes until it gives up."
        )
        details = {"declared": int(value), "sent": sent, "why": why}
        problems.append(("asgi.content-length-mismatch", details))
    return problems


def connection_label(scope: Mapping[str, Any]) -> str:
    """How the checker names a connection: 'GET /', 'WEBSOCKET /ws', 'lifespan startup'."""
    kind = scope.get("type")
    if kind == "http":
        query = scope.get("query_string") or b""
        target = str(scope.get("path", "/"))
        if isinstance(query, bytes) and query:
            target += "?" + query.decode("latin-1")
        return f"{scope.get('method', '?')} {target}"
    if kind == "websocket":
        return f"WEBSOCKET {scope.get('path', '/')}"
    return "lifespan startup" if kind == "lifespan" else str(kind)


class RecordedConnection:
    """One recorded ASGI connection, judged event by event like the checker."""

    def __init__(self, scope: Mapping[str, Any], complete: bool = True) -> None:
        self.scope = scope
        self.scope_type = str(scope.get("type"))
        self.label = connection_label(scope)
        self.complete = complete
        self.findings: list[Finding] = []
        self.noted: set[str] = set()
        self.order = order.INITIAL.get(self.scope_type, "")
        self.judged = self.scope_type in order.MACHINES
        self.confused = False
        self.ignored = False
        self.sent_any = False
        self.received_any = False
        self.status: Any = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.start_event: Event | None = None
        self.body_size = 0
        self.body_events: list[Event] = []
        self.outcome = ""  # "return", "exception", "stopped" (the server raised into the app)
        self.last_received: dict[str, Any] | None = None
        self.end_event: Event | None = None
        # send / receive calls never awaited: only the checker's own flows record them
        self.unawaited: set[str] = set()

    # -- findings ------------------------------------------------------------------------
    def find(
        self, rule: str, events: list[Event] | None = None, once: bool = True, **details: Any
    ) -> Finding | None:
        if (
            rule in AWAIT_CONSEQUENCES
            and self.unawaited
            or (rule == "app.raised" and "receive" in self.unawaited)
        ):
            return None  # as the checker says: the un-awaited call is the cause, this its effect
        if once and rule in self.noted or rule not in RULES:
            return None
        self.noted.add(rule)
        self.findings.append(finding(rule, self.label, events, **details))
        return self.findings[-1]

    def violated(
        self, broken: order.Violation, message_type: str = "", events: list[Event] | None = None
    ) -> None:
        """A broken rule of the protocol table, in the table's own words."""
        item = self.find(broken.rule, events, value=repr(message_type))
        if item is not None:
            item.message = broken.message(message_type)
            item.hint, item.spec = broken.fix, broken.spec

    def problems(self, found: list[Problem], event: Event) -> None:
        for rule, details in found:
            self.find(rule, [event], once=False, **details)

    # -- the events ----------------------------------------------------------------------
    def feed(self, event: Event) -> None:
        if event.kind == RECEIVE:
            self.received_any = True
            message = message_of(event.payload)
            self.last_received = message if isinstance(message, dict) else None
            if self.judged and isinstance(message, Mapping):
                key = order.message_key(message)
                if key in order.MACHINES[self.scope_type].server:
                    self.order, _ = order.step(self.scope_type, self.order, key)
                if key == "lifespan.shutdown":
                    self.label = "lifespan shutdown"
        elif event.kind == SEND:
            self._send(message_of(event.payload), event)
        elif event.kind == RETURN:
            self.outcome, self.end_event = "return", event
            if event.payload.get("awaitable") is False:
                self.find("asgi.not-awaitable", value=short(event.payload.get("value")))
                self.outcome = "not-awaitable"  # the call never started: nothing else to judge
        elif event.kind == EXCEPTION:
            self.end_event = event
            self.outcome = "stopped" if event.payload.get("from_server") else "exception"

    def _send(self, message: Any, event: Event) -> None:
        if not (isinstance(message, Mapping) and isinstance(message.get("type"), str)):
            self.find("asgi.message-not-dict", [event], value=short(message, 60))
            self.confused = True
            return
        kind = message["type"]
        if self.ignored or not self.judged:
            return
        self.problems(value_problems(message), event)
        if kind.startswith("http.") and self.scope_type != "http" and not self.sent_any:
            self.find("asgi.scope-type-ignored", [event], scope=self.scope_type, value=repr(kind))
            self.ignored = True
            return
        self.sent_any = True
        events = [self.start_event, event] if kind == "http.response.start" else [event]
        broken = self._follow(message, event, [e for e in events if e])
        {"http": self._http, "websocket": self._websocket, "lifespan": self._lifespan}[
            self.scope_type
        ](kind, message, event, broken)

    def _follow(
        self, message: Mapping[str, Any], event: Event, events: list[Event]
    ) -> order.Violation | None:
        key = order.message_key(message)
        offered = self.scope.get("extensions")
        broken = unoffered(key, offered) or order.violation(self.scope_type, self.order, key)
        if broken is not None and key.removesuffix(order.MORE_BODY) in (offered or {}):
            self.confused = True  # an extension this server offers: the order is its business
            return None
        if broken is None:
            self.order, _ = order.step(self.scope_type, self.order, key)
            return None
        if not self.confused:
            self.violated(broken, key, events)
        if broken.rule in ("asgi.unknown-message", "asgi.extension-not-offered"):
            self.confused = True
        return broken

    def _http(
        self, kind: str, message: Mapping[str, Any], event: Event, broken: order.Violation | None
    ) -> None:
        if broken is not None and broken.rule != "asgi.body-before-start":
            return
        if broken is not None:
            self.confused = True
        if kind == "http.response.start":
            self.problems(start_problems(message), event)
            self.status, self.start_event = message.get("status"), event
            self.headers = headers_problems(message.get("headers", []))[1]
            return
        self.problems(body_problems(message, "'http.response.body'"), event)
        body = message.get("body", b"")
        if isinstance(body, bytes) and broken is None:
            size = int(event.payload.get("size", len(body)))
            self.body_size += size
            if size:
                self.body_events.append(event)

    def _websocket(
        self, kind: str, message: Mapping[str, Any], event: Event, broken: order.Violation | None
    ) -> None:
        if broken is not None and broken.rule != "asgi.ws-send-before-accept":
            return
        if kind == "websocket.accept":
            offered = self.scope.get("subprotocols") or []
            self.problems(ws_accept_problems(message, list(offered)), event)
        elif kind == "websocket.send":
            self.problems(ws_send_problems(message), event)
        elif kind == "websocket.close":
            self.problems(ws_close_problems(message), event)

    def _lifespan(
        self, kind: str, message: Mapping[str, Any], event: Event, broken: order.Violation | None
    ) -> None:
        if broken is not None:
            self.confused = True
            return
        self.problems(lifespan_reply_problems(kind, message), event)
        if kind == "lifespan.startup.complete" and event.payload.get("state_replaced"):
            replaced = str(event.payload["state_replaced"])
            self.find("asgi.lifespan-state-replaced", [event], value=replaced)
        if kind == "lifespan.startup.failed":
            value = short(message.get("message", ""))
            self.find("asgi.lifespan-startup-failed", [event], value=value)

    # -- how it ended --------------------------------------------------------------------
    def judge(self, rejections: Rejections) -> list[Finding]:
        """The findings, once every event was fed; scopes turned away go to ``rejections``."""
        who: Any = self  # Rejections and consequence() read the fields a Connection has
        rejections.saw(who)
        if "send" in self.unawaited:
            self.confused = True  # what did arrive is not the response the app meant to send
        if self.outcome == "stopped" and self.order in order.FINAL.get(self.scope_type, ()):
            # the app had sent its last message; the server refused it (a length that does
            # not match, a body on a 204): judge the response the app meant to send
            self.outcome = "return"
        if self.outcome == "exception" and self.end_event is not None:
            payload = self.end_event.payload
            if not self.sent_any and not self.ignored:
                rejections.add(who, f"it raised {payload.get('type')}", by_raising=True)
                if self.scope_type != "http":
                    return self.findings
            if not self.ignored:
                self._raised(payload)
            return self.findings
        if self.outcome == "stopped" and not (self.sent_any or self.ignored):
            # the server refused what the app tried to send (not a message at all): as
            # the checker's forgiving server sees it, the app sent nothing, then ended
            rejections.add(who, "it returned at once", by_raising=False)
        if self.outcome != "return" or self.ignored:
            return self.findings
        if not self.sent_any and (self.scope_type == "http" or not self.received_any):
            rejections.add(who, "it returned at once", by_raising=False)
        if self.confused or not self.judged or not self.complete:
            return self.findings
        if self.scope_type == "lifespan":
            self._lifespan_ending()
        elif self.scope_type == "websocket":
            if self.received_any and not self.sent_any:
                unfinished = order.ending("websocket", self.order)
                if unfinished is not None:
                    self.violated(unfinished)
        elif self.scope_type == "http":
            unfinished = order.ending("http", self.order)
            if unfinished is not None:
                self.violated(unfinished, events=[e for e in (self.start_event,) if e] or None)
                return self.findings
            method = str(self.scope.get("method", ""))
            events = [e for e in (self.start_event,) if e] + self.body_events[:3]
            read = "asgi.headers-form" not in self.noted
            for rule, details in response_problems(
                method, self.status, self.headers, self.body_size, read
            ):
                self.find(rule, events, **details)
        return self.findings

    def _raised(self, payload: Mapping[str, Any]) -> None:
        """``app.raised``, worded for the scope and the state, as the checker words it."""
        item = self.find(
            "app.raised",
            [self.end_event] if self.end_event else None,
            exc=describe_recorded_exception(dict(payload)),
        )
        if item is None:
            return
        if self.last_received is not None:
            shown = {k: v for k, v in self.last_received.items() if k != "body" or v}
            item.message += f" The last message it received was {short(shown, 120)}."
        who: Any = self
        item.hint = f"Fix the exception at the line named above. {consequence(who)}"
        item.spec = specs.ASGI_ERROR_HANDLING

    def _lifespan_ending(self) -> None:
        if self.noted or self.order not in ("starting", "stopping"):
            return
        step = "startup" if self.order == "starting" else "shutdown"
        self.find(
            "asgi.lifespan-no-reply",
            event=f"'lifespan.{step}'",
            how="returned",
            reply=f"lifespan.{step}.complete",
        )


def judge_asgi_connections(
    connections: Sequence[tuple[Sequence[Event], bool]],
) -> list[Finding]:
    """The findings for recorded connections (each: its events, and whether all were kept).

    Judged together, as the checker judges its battery: a scope type the app
    turns away (by raising or returning before sending anything) is one note
    for them all, and none at all when the app serves another type instead.
    """
    rejections = Rejections()
    findings: list[Finding] = []
    http_count = 0
    for events, complete in connections:
        connection = _connection(events, complete)
        if connection is None:
            continue
        http_count += connection.scope_type == "http"
        findings.extend(connection.judge(rejections))
    return rejections.settle(findings, http_count)


def _connection(events: Sequence[Event], complete: bool) -> RecordedConnection | None:
    scope_event = next((e for e in events if e.kind == SCOPE), None)
    if scope_event is None:
        return None
    scope = scope_event.payload.get("scope")
    connection = RecordedConnection(scope if isinstance(scope, Mapping) else {}, complete)
    connection.unawaited = {str(e.payload.get("call")) for e in events if e.kind == UNAWAITED}
    for event in events[list(events).index(scope_event) + 1 :]:
        connection.feed(event)
    return connection
