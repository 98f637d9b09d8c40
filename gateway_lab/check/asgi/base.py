"""The server's side of one ASGI connection: what every scope shares.

Theory of operation: each connection class *is* the server for one scope
(:mod:`.http`, :mod:`.websocket`, :mod:`.lifespan`). It hands
the app a ``receive`` that plays the client's part and a ``send`` that
judges every message: its shape (:mod:`.messages`) and its place in the
order the spec allows, by stepping the scope's table in
:mod:`gateway_lab.protocol.asgi` (the same tables the in-process call, the
guard and the mini server follow, so a finding reads as their errors do;
``self.order`` is the table's state). Like a forgiving
server it records a mistake and carries on, so one run shows as much as it
can; after a message it cannot make sense of, it stops judging the *order*
of that connection's messages, to avoid a cascade of findings from one
mistake. An app that sends HTTP messages in another scope is treating every
scope as HTTP: one warning, then its messages in that scope are ignored.

Every message is recorded as an :class:`~gateway_lab.events.flow.Event`
(``scope``, ``receive``, ``send``, ``return``, ``exception``, ``unawaited``)
with the payload the ASGI recorder would write
(:func:`~gateway_lab.events.payloads.message_payload`), so ``gl.check_flow``
of the report's flow judges it again with the same findings; every finding
carries the events that show it.

``send(...)`` and ``receive()`` return a :class:`Call`: a coroutine that
does its work only once awaited, and notes that it was. A call the app never
awaited (``send(...)`` without ``await``) is reported as such when the
connection ends, or as soon as one of its consequences would be (no
response, an unanswered lifespan event, a timeout...), instead of that
consequence. Since the real coroutine is only made when the call starts, no
"coroutine was never awaited" warning can leak from an un-awaited call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator, Mapping
from typing import Any

from gateway_lab.check.asgi.messages import is_message, value_problems
from gateway_lab.check.explain import short
from gateway_lab.check.report import Finding
from gateway_lab.check.rules import finding
from gateway_lab.errors import ClientDisconnected
from gateway_lab.events.flow import Event, Flow
from gateway_lab.events.kinds import RECEIVE, SEND, UNAWAITED
from gateway_lab.events.payloads import message_payload
from gateway_lab.protocol import asgi as order
from gateway_lab.protocol.extensions import unoffered

__all__ = ["ASGI_VERSION", "AWAIT_CONSEQUENCES", "Call", "ClientDisconnected", "Connection"]

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
MAX_PENDING = 100  # un-awaited calls remembered per connection (an endless loop makes more)

# Findings that an un-awaited send(...) or receive() explains better than they do.
AWAIT_CONSEQUENCES = frozenset(
    {
        "asgi.no-response",
        "asgi.response-incomplete",
        "asgi.body-before-start",
        "asgi.receive-after-body",
        "asgi.lifespan-no-reply",
        "asgi.unsupported-scope",
        "asgi.ws-no-handshake",
        "asgi.ws-send-before-accept",
        "app.timeout",
    }
)


class Call(Coroutine[Any, Any, Any]):
    """What ``send(...)`` and ``receive()`` return: a coroutine that notes it was awaited.

    The real coroutine (``connection.started(call)``) is made on the first
    ``await`` (or when a task first runs it). A call that is never awaited
    never makes one, so Python has no coroutine to warn about.
    """

    __slots__ = ("connection", "message", "name", "_running")  # one per message: keep it small

    def __init__(self, connection: Connection, name: str, message: Any = None) -> None:
        self.connection = connection
        self.name = name  # "send" or "receive"
        self.message = message
        self._running: Coroutine[Any, Any, Any] | None = None

    def _run(self) -> Coroutine[Any, Any, Any]:
        if self._running is None:
            self._running = self.connection.started(self)
        return self._running

    def __await__(self) -> Generator[Any, None, Any]:
        return self._run().__await__()

    def send(self, value: Any) -> Any:
        return self._run().send(value)

    def throw(self, *args: Any) -> Any:
        return self._run().throw(*args)

    def close(self) -> None:
        if self._running is not None:
            self._running.close()

    def __repr__(self) -> str:
        what = short(self.message.get("type")) if is_message(self.message) else ""
        return f"<coroutine {self.name}({what})>"


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
        self.last_received: dict[str, Any] | None = None  # what receive() gave the app last
        self.outcome = ""  # how the call ended: "return", "exception", "timeout"
        self.repeated: dict[str, tuple[Finding, str, int]] = {}  # rule -> first finding
        self.wakeup = asyncio.Event()
        self.pending: dict[int, Call] = {}  # calls made but not (yet) awaited
        self.order = order.INITIAL.get(self.scope_type, "")  # the state in the protocol table

    def event(self, source: str, kind: str, payload: dict[str, Any]) -> Event:
        target = "server" if source == "app" else "app"
        # (an endless stream: the flow's per-connection cap stops keeping, the judging goes on)
        return self.flow.add(source, target, kind, payload, self.number)

    def find(
        self, rule: str, events: list[Event] | None = None, once: bool = True, **details: Any
    ) -> Finding | None:
        if rule in AWAIT_CONSEQUENCES and self.judge_awaits():
            return None  # the un-awaited call is the cause; this is only its effect
        if rule == "app.raised" and "receive" in self.judge_awaits():
            return None  # it used the coroutine as if it were the message
        if once and rule in self.noted:
            return None
        self.noted.add(rule)
        self.findings.append(finding(rule, self.label, events, **details))
        return self.findings[-1]

    def violated(
        self, broken: order.Violation, message_type: str = "", events: list[Event] | None = None
    ) -> None:
        """Record ``broken`` in the protocol table's own words (message, fix, spec)."""
        item = self.find(broken.rule, events, value=repr(message_type))
        if item is not None:
            item.message = broken.message(message_type)
            item.hint, item.spec = broken.fix, broken.spec

    def follow(
        self, message: Mapping[str, Any], event: Event, events: list[Event] | None = None
    ) -> order.Violation | None:
        """Step the protocol table with ``message``; a refused one is a finding (unless
        the order is no longer being judged) and leaves ``self.order`` as it was."""
        key = order.message_key(message)
        broken = unoffered(key, self.extensions()) or order.violation(
            self.scope_type, self.order, key
        )
        if broken is None:
            self.order, _ = order.step(self.scope_type, self.order, key)
            return None
        if not self.confused:
            self.violated(broken, key, events or [event])
        if broken.rule in ("asgi.unknown-message", "asgi.extension-not-offered"):
            self.confused = True  # what comes after a message we cannot place is noise
        return broken

    def extensions(self) -> Mapping[str, Any]:
        """The extensions this connection's scope offers (none, unless a subclass says)."""
        return {}

    def scope(self) -> dict[str, Any]:
        raise NotImplementedError

    def leave(self) -> None:
        self.gone = True
        self.wakeup.set()

    # -- the two callables the app gets --------------------------------------------------
    def receive(self) -> Call:
        """What the app calls: ``await receive()`` gives the next message."""
        return self._track(Call(self, "receive"))

    def send(self, message: Any) -> Call:
        """What the app calls: ``await send(message)`` delivers it."""
        return self._track(Call(self, "send", message))

    def _track(self, call: Call) -> Call:
        if len(self.pending) < MAX_PENDING:
            self.pending[id(call)] = call
        return call

    def started(self, call: Call) -> Coroutine[Any, Any, Any]:
        """The app awaits ``call`` (or a task runs it): the coroutine that does the work."""
        self.pending.pop(id(call), None)
        return self.deliver(call.message) if call.name == "send" else self.take()

    def judge_awaits(self) -> set[str]:
        """Report the calls the app made without awaiting them: {"send", "receive"} or less.

        Once reported, the same names keep coming back, so a later consequence
        (a timeout, no response) can defer to them.
        """
        calls, self.pending = list(self.pending.values()), {}
        for name in ("send", "receive"):
            mine = [c for c in calls if c.name == name]
            if not mine:
                continue
            events = [
                self.event("app", UNAWAITED, {"call": name, "summary": f"{c!r} never awaited"})
                for c in mine[:3]
            ]
            first = mine[0].message
            value = (
                f"{{'type': {short(first['type'])}, ...}}" if is_message(first) else short(first)
            )
            more = len(mine) - 1
            others = f" (and {more} more {name}() call{'s' if more > 1 else ''} like it)"
            others = others if more else ""
            self.find(f"asgi.{name}-not-awaited", events, value=value, others=others)
            if name == "send":
                self.confused = True  # the order of what did arrive is not the app's plan
        return {n for n in ("send", "receive") if f"asgi.{n}-not-awaited" in self.noted}

    async def take(self) -> dict[str, Any]:
        message = await self.next_message()
        self.received_any = True
        self.last_received = message
        self.event("server", RECEIVE, message_payload(message))
        return message

    async def next_message(self) -> dict[str, Any]:
        raise NotImplementedError

    async def deliver(self, message: Any) -> None:
        # A real server yields to the loop while the socket drains; so do we, which
        # also lets the timeout stop an endless stream.
        await asyncio.sleep(0)
        event = self.event("app", SEND, message_payload(message))
        if not is_message(message):
            self.find("asgi.message-not-dict", [event], value=short(message, 60))
            self.confused = True
            return
        kind = message["type"]
        if self.ignored:
            return
        self.problems(value_problems(message), event)
        if kind.startswith("http.") and self.scope_type != "http" and not self.sent_any:
            self.find("asgi.scope-type-ignored", [event], scope=self.scope_type, value=repr(kind))
            self.ignored = True
            return
        self.sent_any = True
        self.judge_send(kind, message, event)
        if self.gone and self.scope_type == "websocket":
            raise ClientDisconnected("the client has disconnected")

    def judge_send(self, kind: str, message: Mapping[str, Any], event: Event) -> None:
        raise NotImplementedError

    def problems(self, found: list[tuple[str, dict[str, Any]]], event: Event) -> None:
        """Record the shape problems of one message; the same rule again on this
        connection is counted on its first finding ("... in 4 more messages"), so a
        loop that makes one mistake per message gets one finding, not one per message."""
        for rule, details in found:
            first = self.repeated.get(rule)
            if first is not None and event in first[0].events:
                self.find(rule, [event], once=False, **details)  # again in the same message
                continue
            if first is None:
                item = self.find(rule, [event], once=False, **details)
                if item is not None:
                    self.repeated[rule] = (item, item.message, 0)
                continue
            item, message, more = first
            more += 1
            self.repeated[rule] = (item, message, more)
            item.message = f"{message} The same in {more} more message{'s' if more > 1 else ''}."
            if len(item.events) < 3:
                item.events.append(event)

    def finished(self, outcome: str) -> None:
        """Judge the connection once the app returned ("return"), raised or hung."""
        self.judge_awaits()
