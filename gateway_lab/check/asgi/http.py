"""The server's side of one HTTP request (the ASGI spec, "HTTP").

Theory of operation: ``receive`` hands over the request body one piece per
``http.request`` message (``more_body=True`` on all but the last), then
waits: ``http.disconnect`` comes only once the response is complete, as
from a client that is waiting for its answer. ``send`` follows the
response: one ``http.response.start``, then ``http.response.body`` messages
until one has ``more_body=False``, and nothing after. When the app returns,
the response as a whole is judged: was there one, was it finished, did the
app read all of the body it started reading, does the content-length match,
is there a body where none may be (204, 304) or none is wanted (HEAD).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_lab.check.asgi.base import ASGI_VERSION, Connection
from gateway_lab.check.asgi.messages import body_problems, headers_problems, start_problems
from gateway_lab.check.battery import Probe
from gateway_lab.events.flow import Event, Flow
from gateway_lab.interface.environ import make_http_scope
from gateway_lab.interface.response import Response

__all__ = ["HTTPConnection"]

NO_BODY_STATUSES = (204, 304)
KEEP_BYTES = 1 << 20  # bodies are counted in full but kept up to 1 MiB


class HTTPConnection(Connection):
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
        self.complete = False

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
        if self.complete and kind.startswith("http.response.") and not self.confused:
            self.find(
                "asgi.send-after-complete",
                [event],
                value=repr(kind),
                what="response",
                hint="Send the body's last part with more_body=False, and nothing after.",
            )
            return
        if kind == "http.response.start":
            if self.start_event is not None:
                self.find("asgi.start-twice", [self.start_event, event])
                return
            self.problems(start_problems(message), event)
            self.status, self.start_event = message.get("status"), event
            self.headers = headers_problems(message.get("headers", []))[1]
        elif kind == "http.response.body":
            if self.start_event is None and not self.confused:
                self.find("asgi.body-before-start", [event])
                self.confused = True
            self.problems(body_problems(message, "'http.response.body'"), event)
            body = message.get("body", b"")
            if isinstance(body, bytes):
                self.body_size += len(body)
                if len(self.body) < KEEP_BYTES:
                    self.body += body[: KEEP_BYTES - len(self.body)]
                if body:
                    self.body_events.append(event)
            if not message.get("more_body", False) and self.start_event is not None:
                self.complete = True
                self.wakeup.set()
        else:
            self.unknown(
                kind,
                event,
                "an HTTP app sends 'http.response.start', then one or "
                "more 'http.response.body' (this server offers no extensions).",
            )

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
        if self.start_event is None:
            self.find("asgi.no-response")
            return
        if not self.complete:
            detail = (
                "the last 'http.response.body' had more_body=True, so the client waits for more."
                if self.body_events or self.noted
                else "'http.response.start' was sent but no 'http.response.body' followed."
            )
            self.find("asgi.response-incomplete", [self.start_event], detail=detail)
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
        status = self.status if isinstance(self.status, int) else None
        sent = self.body_size
        head = self.probe.method == "HEAD"
        events = [e for e in (self.start_event,) if e] + self.body_events[:3]
        if status in NO_BODY_STATUSES and sent:
            self.find("asgi.body-on-no-content", events, status=status, sent=sent)
        elif head and sent:
            self.find("asgi.body-on-head", events, sent=sent)
        lengths = {v.strip() for k, v in self.headers if k.lower() == b"content-length"}
        if len(lengths) != 1 or head or status in NO_BODY_STATUSES:
            return
        value = lengths.pop()
        if value.isdigit() and int(value) != sent:
            why = (
                "The client stops reading at the declared length."
                if sent > int(value)
                else "The client waits for the missing bytes until it gives up."
            )
            self.find(
                "asgi.content-length-mismatch", events, declared=int(value), sent=sent, why=why
            )
