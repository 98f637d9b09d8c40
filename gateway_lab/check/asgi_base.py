"""The server's side of one ASGI connection: what every scope shares.

Theory of operation: each connection class *is* the server for one scope
(:mod:`.asgi_http`, :mod:`.asgi_websocket`, :mod:`.asgi_lifespan`). It hands
the app a ``receive`` that plays the client's part and a ``send`` that
judges every message: its shape (:mod:`.asgi_messages`) and its place in the
order the spec allows (a small state machine per scope). Like a forgiving
server it records a mistake and carries on, so one run shows as much as it
can; after a message it cannot make sense of, it stops judging the *order*
of that connection's messages, to avoid a cascade of findings from one
mistake. An app that sends HTTP messages in another scope is treating every
scope as HTTP: one warning, then its messages in that scope are ignored.

Every message is recorded as an :class:`~gateway_lab.events.Event`
(``scope``, ``receive``, ``send``, ``return``, ``exception``), and every
finding carries the events that show it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..events import Event, Flow, keep_body
from .asgi_messages import is_message
from .explain import short
from .report import Finding
from .rules import finding

__all__ = ["ASGI_VERSION", "ClientGone", "Connection"]

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
MAX_EVENTS = 500  # events recorded per connection


class ClientGone(OSError):
    """Raised by send() once the client has left (the spec asks for an OSError)."""


def _payload(message: Any) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        return {"value": short(message), "summary": f"not a message: {short(message)}"}
    payload: dict[str, Any] = {"type": message.get("type"), "summary": str(message.get("type"))}
    for key, value in message.items():
        if key in ("body", "bytes") and isinstance(value, (bytes, bytearray)):
            payload.update(keep_body(value))
        elif key != "type":
            plain = isinstance(value, (str, int, float, bool, type(None)))
            payload[key] = value if plain and len(str(value)) <= 200 else short(value, 200)
    if message.get("type") == "http.response.start":
        payload["summary"] = f"http.response.start {short(message.get('status'))}"
    return payload


class Connection:
    """What every scope shares: recording, findings, the call itself."""

    scope_type = ""

    def __init__(self, flow: Flow, number: int, label: str) -> None:
        self.flow = flow
        self.number = number
        self.label = label
        self.findings: list[Finding] = []
        self.noted: set[str] = set()
        self.sent_any = False
        self.received_any = False
        self.confused = False  # after a message we cannot place, stop judging order
        self.ignored = False  # the app treats this scope as HTTP
        self.gone = False  # the client has left
        self.wakeup = asyncio.Event()
        self.recorded = 0  # events recorded for this connection

    def event(self, source: str, kind: str, payload: dict[str, Any]) -> Event:
        target = "server" if source == "app" else "app"
        self.recorded += 1
        if self.recorded > MAX_EVENTS:  # an endless stream: keep judging, stop recording
            return Event(self.flow.now(), source, target, kind, {}, self.number)
        return self.flow.add(source, target, kind, payload, self.number)

    def find(
        self, rule: str, events: list[Event] | None = None, once: bool = True, **details: Any
    ) -> None:
        if once and rule in self.noted:
            return
        self.noted.add(rule)
        self.findings.append(finding(rule, self.label, events, **details))

    def scope(self) -> dict[str, Any]:
        raise NotImplementedError

    def leave(self) -> None:
        self.gone = True
        self.wakeup.set()

    async def receive(self) -> dict[str, Any]:
        message = await self.next_message()
        self.received_any = True
        self.event("server", "receive", _payload(message))
        return message

    async def next_message(self) -> dict[str, Any]:
        raise NotImplementedError

    async def send(self, message: Any) -> None:
        # A real server yields to the loop while the socket drains; so do we, which
        # also lets the timeout stop an endless stream.
        await asyncio.sleep(0)
        event = self.event("app", "send", _payload(message))
        if not is_message(message):
            self.find("asgi.message-not-dict", [event], value=short(message, 60))
            self.confused = True
            return
        kind = message["type"]
        if self.ignored:
            return
        if kind.startswith("http.") and self.scope_type != "http" and not self.sent_any:
            self.find("asgi.scope-type-ignored", [event], scope=self.scope_type, value=repr(kind))
            self.ignored = True
            return
        self.sent_any = True
        self.judge_send(kind, message, event)
        if self.gone and self.scope_type == "websocket":
            raise ClientGone("the client has disconnected")

    def judge_send(self, kind: str, message: Mapping[str, Any], event: Event) -> None:
        raise NotImplementedError

    def unknown(self, kind: str, event: Event, expected: str) -> None:
        self.find(
            "asgi.unknown-message",
            [event],
            value=repr(kind),
            scope=self.scope_type,
            expected=expected,
        )
        self.confused = True

    def problems(self, found: list[tuple[str, dict[str, Any]]], event: Event) -> None:
        for rule, details in found:
            self.find(rule, [event], once=False, **details)

    def finished(self, outcome: str) -> None:
        """Judge the connection once the app returned ("return"), raised or hung."""
