"""A request's life as a list of events: the one data type everything shares.

Theory of operation: the CGI gateway, the WSGI recorder and the ASGI recorder
all describe what happened as :class:`Event` records: *when* (seconds since
the flow began), *who* sent it to *whom* (lane names such as ``"client"``,
``"server"``, ``"app"``, or a middleware's name), *what* (a short ``kind``
such as ``"environ"``, ``"start_response"``, ``"body"``, ``"receive"``,
``"send"``, ``"spawn"``, ``"exit"``), and a ``payload`` (a plain dict, safe to
show). Views only draw a :class:`Flow` (a list of events and its lanes);
checks only read one. Nothing here serves, draws or judges.

Caps live here, in one place. A flow keeps at most ``max_events`` events
(:data:`MAX_EVENTS` by default), dropping the oldest (and counting them in
``dropped``), so a recorded server left running for hours cannot exhaust the
kernel's memory. ``per_connection`` (None: no cap) bounds the events kept of
any one connection: once a connection has that many, its further events are
counted in ``skipped[connection]`` but not kept, so an endless stream on one
connection cannot push the others out (the checker uses
:data:`CHECK_PER_CONNECTION`). ``add`` returns the event either way, so a
producer can carry on as if it had been kept. Bodies are kept up to :data:`BODY_CAP`
bytes; ``keep_body`` returns what was kept together with the full size, so a
view can say "1,048,576 bytes (first 4,096 shown)".
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BODY_CAP", "CHECK_PER_CONNECTION", "MAX_EVENTS", "Event", "Flow", "keep_body"]

BODY_CAP = 4096
MAX_EVENTS = 100_000  # a long-running recorded server must not grow the kernel forever
CHECK_PER_CONNECTION = 500  # events a check keeps of one request: enough to show a mistake


def keep_body(data: bytes | bytearray | memoryview, cap: int = BODY_CAP) -> dict[str, Any]:
    """A payload fragment for a body: at most ``cap`` bytes, and the real size."""
    data = bytes(data)
    kept = data[:cap]
    return {"body": kept, "size": len(data), "truncated": len(data) > cap}


@dataclass(frozen=True)
class Event:
    """One thing that happened in an exchange."""

    t: float  # seconds since the flow started
    source: str  # lane the event comes from ("client", "server", "app", ...)
    target: str  # lane it goes to
    kind: str  # short name: "environ", "send", "spawn", ...
    payload: dict[str, Any] = field(default_factory=dict)
    connection: int = 0  # which connection / request, for concurrent flows

    def summary(self) -> str:
        """One line for a log or a diagram label."""
        detail = self.payload.get("summary") or self.payload.get("type") or ""
        lanes = f"{self.source} -> {self.target}"
        return f"{self.t * 1000:8.2f} ms  {lanes}  {self.kind} {detail}".rstrip()


class Flow:
    """An ordered, thread-safe list of events with the lanes they use.

    Listeners (views that update live) are called with each new event; they
    must be quick, since they run on the thread that recorded the event.
    """

    def __init__(
        self,
        title: str = "",
        lanes: list[str] | None = None,
        max_events: int = MAX_EVENTS,
        *,
        per_connection: int | None = None,
    ) -> None:
        self.title = title
        self.lanes: list[str] = list(lanes or [])
        self.events: list[Event] = []
        self.max_events = max_events
        self.per_connection = per_connection
        self.dropped = 0  # oldest events let go to keep memory bounded
        self.skipped: dict[int, int] = {}  # per connection: events over per_connection
        self._kept: dict[int, int] = {}  # per connection: events kept so far
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._listeners: list[Any] = []
        self._connection_numbers = itertools.count(1)

    def new_connection(self) -> int:
        """A fresh connection number (1, 2, 3...) for a new exchange; thread-safe."""
        with self._lock:
            return next(self._connection_numbers)

    def now(self) -> float:
        return time.perf_counter() - self.started

    def add(
        self,
        source: str,
        target: str,
        kind: str,
        payload: dict[str, Any] | None = None,
        connection: int = 0,
    ) -> Event:
        event = Event(self.now(), source, target, kind, payload or {}, connection)
        with self._lock:
            if not self._admit(connection):
                return event
            for lane in (source, target):
                if lane not in self.lanes:
                    self.lanes.append(lane)
            self.events.append(event)
            self._trim()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    def extend(self, events: Any) -> None:
        """Append events recorded elsewhere (already timed), in order; thread-safe."""
        events = list(events)
        with self._lock:
            events = [e for e in events if self._admit(e.connection)]
            for event in events:
                for lane in (event.source, event.target):
                    if lane not in self.lanes:
                        self.lanes.append(lane)
                self.events.append(event)
            self._trim()
            listeners = list(self._listeners)
        for event in events:
            for listener in listeners:
                listener(event)

    def _admit(self, connection: int) -> bool:
        """Count one more event of ``connection``; False once over ``per_connection``."""
        kept = self._kept.get(connection, 0)
        if self.per_connection is not None and kept >= self.per_connection:
            self.skipped[connection] = self.skipped.get(connection, 0) + 1
            return False
        self._kept[connection] = kept + 1
        return True

    def complete(self, connection: int) -> bool:
        """False when some of ``connection``'s events were over ``per_connection``.

        (Events dropped as the oldest of the whole flow are a connection's
        *first* ones; a reader notices them by a connection that does not
        start with its request.)
        """
        return not self.skipped.get(connection)

    def _trim(self) -> None:
        """Drop the oldest tenth once over ``max_events`` (call with the lock held)."""
        if len(self.events) > self.max_events:
            excess = len(self.events) - self.max_events + self.max_events // 10
            del self.events[:excess]
            self.dropped += excess

    def subscribe(self, listener: Any) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Any) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def of_kind(self, *kinds: str) -> list[Event]:
        return [e for e in self.events if e.kind in kinds]

    def connections(self) -> list[int]:
        return sorted({e.connection for e in self.events})

    def __iter__(self) -> Iterator[Event]:
        return iter(list(self.events))

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        dropped = f" ({self.dropped} oldest dropped)" if self.dropped else ""
        if self.skipped:
            dropped += f" ({sum(self.skipped.values())} over the per-connection cap)"
        head = f"<Flow {self.title!r}: {len(self.events)} events{dropped}, lanes {self.lanes}>"
        lines = [e.summary() for e in self.events[:30]]
        if len(self.events) > 30:
            lines.append(f"... {len(self.events) - 30} more")
        return "\n".join([head, *lines])
