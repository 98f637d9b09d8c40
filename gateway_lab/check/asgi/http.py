"""The server's side of one HTTP request (the ASGI spec, "HTTP").

Theory of operation: ``receive`` hands over the request body one piece per
``http.request`` message (``more_body=True`` on all but the last), then
waits: ``http.disconnect`` comes only once the response is complete, as
from a client that is waiting for its answer. ``send`` follows the
response through the ``"http"`` table of :mod:`gateway_lab.protocol.asgi`
(one ``http.response.start``, then ``http.response.body`` messages until
one has ``more_body=False``, and nothing after) and judges each message's
shape. When the app returns, the response as a whole is judged: was there
one, was it finished (the table's :func:`~gateway_lab.protocol.asgi.ending`),
did the app read all of the body it started reading, does the
content-length match, is there a body where none may be (204, 304) or none
is wanted (HEAD).

(:class:`HTTPRequestConnection` is the checker's stand-in for a server and
its client on one request; the real server protocol of the mini ASGI server
is :class:`gateway_lab.mini.asgi.HTTPConnection`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_lab.check.asgi.base import ASGI_VERSION, Connection
from gateway_lab.check.asgi.flow import response_problems
from gateway_lab.check.asgi.messages import body_problems, headers_problems, start_problems
from gateway_lab.check.battery import Probe
from gateway_lab.events.flow import Event, Flow
from gateway_lab.interface.environ import make_http_scope
from gateway_lab.interface.response import Response
from gateway_lab.protocol import asgi as order

__all__ = ["HTTPRequestConnection"]

KEEP_BYTES = 1 << 20  # bodies are counted in full but kept up to 1 MiB


class HTTPRequestConnection(Connection):
    """One HTTP request: the body in pieces, then a disconnect after the answer."""

    scope_type = "http"

    def __init__(self, flow: Flow, number: int, probe: Probe, state: dict[str, Any]) -> None:
        super().__init__(flow, number, probe.label)
        self.probe = probe
        self.state = state
        self.pieces = list(probe.chunks) or [b""]
        self.delivered = 0
        self.waiting_after_body = False
        self.status: Any = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.start_event: Event | None = None
        self.body = bytearray()  # kept up to KEEP_BYTES
        self.body_size = 0
        self.body_events: list[Event] = []

    @property
    def complete(self) -> bool:
        """The last body message (more_body=False) has been sent."""
        return self.order in order.FINAL["http"]

    def scope(self) -> dict[str, Any]:
        scope = make_http_scope(self.probe.method, self.probe.target, self.probe.all_headers())
        scope["asgi"] = dict(ASGI_VERSION)
        scope["state"] = dict(self.state)
        scope["extensions"] = {}
        return scope

    async def next_message(self) -> dict[str, Any]:
        if self.delivered < len(self.pieces):
            body = self.pieces[self.delivered]
            self.delivered += 1
            more = self.delivered < len(self.pieces)
            return {"type": "http.request", "body": body, "more_body": more}
        self.waiting_after_body = not self.complete
        while not (self.complete or self.gone):
            self.wakeup.clear()
            await self.wakeup.wait()
        self.waiting_after_body = False
        return {"type": "http.disconnect"}

    def judge_send(self, kind: str, message: Mapping[str, Any], event: Event) -> None:
        events = [self.start_event, event] if kind == "http.response.start" else None
        broken = self.follow(message, event, [e for e in events or [] if e] or None)
        if broken is not None and broken.rule != "asgi.body-before-start":
            return  # start twice, after the end, unknown: nothing more to judge in it
        if broken is not None:
            self.confused = True  # a body with no start: judge its shape, not what follows
        if kind == "http.response.start":
            self.problems(start_problems(message), event)
            self.status, self.start_event = message.get("status"), event
            self.headers = headers_problems(message.get("headers", []))[1]
            return
        self.problems(body_problems(message, "'http.response.body'"), event)
        body = message.get("body", b"")
        if isinstance(body, bytes) and broken is None:
            self.body_size += len(body)
            if len(self.body) < KEEP_BYTES:
                self.body += body[: KEEP_BYTES - len(self.body)]
            if body:
                self.body_events.append(event)
        if self.complete:
            self.wakeup.set()

    def finished(self, outcome: str) -> None:
        self.leave()
        if "send" in self.judge_awaits():
            return  # what did arrive is not the response the app meant to send
        if outcome == "timeout":
            if self.waiting_after_body:
                self.find("asgi.receive-after-body")
            return
        if outcome != "return" or self.confused:
            return
        unfinished = order.ending("http", self.order)
        if unfinished is not None:
            self.violated(unfinished, events=[e for e in (self.start_event,) if e] or None)
            return
        total = len(self.pieces)
        if 0 < self.delivered < total:
            self.find("asgi.body-partly-read", total=total, read=self.delivered)
        self.judge_response()

    def response(self) -> Response | None:
        if not isinstance(self.status, int) or isinstance(self.status, bool):
            return None
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers]
        return Response(self.status, headers, bytes(self.body))

    def judge_response(self) -> None:
        """The response as a whole: the one judgement, shared with ``check_flow``."""
        events = [e for e in (self.start_event,) if e] + self.body_events[:3]
        read = "asgi.headers-form" not in self.noted
        found = response_problems(
            self.probe.method, self.status, self.headers, self.body_size, read
        )
        for rule, details in found:
            self.find(rule, events, **details)
