"""Play the server for a WSGI app, one request at a time, and note every mistake.

Theory of operation: the driver *is* the server here, and it is the same
server side as every other in the package
(:class:`~gateway_lab.protocol.wsgi.WSGIExchange`): it builds the environ,
hands over ``start_response``, ``write`` and a watched ``wsgi.input``, iterates
the body and calls ``close()``, so it sees every detail a real server sees
and more: which read asked past CONTENT_LENGTH, which chunk was a str, how
many bytes followed a Content-Length header. Each step is recorded as an
:class:`~gateway_lab.events.flow.Event` (kinds ``environ``, ``start_response``,
``write``, ``read``, ``return``, ``body``, ``close``, ``exception``) in the
report's flow, one connection number per request, and each finding carries
the events that show it.

The driver behaves like a forgiving server: after a mistake it carries on if
it can, so one run shows as many mistakes as possible. Like a real server it
re-raises ``exc_info`` when the app changes the status after body bytes went
out (PEP 3333, "Error Handling").

Each request runs in a daemon thread and is given ``timeout`` seconds; an
app that never finishes gets an ``app.timeout`` finding and is left behind
(a thread cannot be killed), never waited for.
"""

from __future__ import annotations

import threading
from typing import Any
from wsgiref.util import FileWrapper

from gateway_lab.check.battery import Probe
from gateway_lab.check.explain import describe_exception, short
from gateway_lab.check.report import Finding
from gateway_lab.check.rules import finding
from gateway_lab.check.wsgi.input import WatchedErrors, WatchedInput
from gateway_lab.events.flow import Event, Flow, keep_body
from gateway_lab.interface.environ import make_environ
from gateway_lab.interface.response import Response
from gateway_lab.platform import IN_BROWSER
from gateway_lab.protocol.wsgi import HEADER_KEYS, WSGIExchange

__all__ = ["run_wsgi_probe"]

NO_BODY_STATUSES = (204, 304)
KEEP_BYTES = 1 << 20  # bodies are counted in full but kept up to 1 MiB
MAX_EVENTS = 500  # events recorded per request


class _Exchange(WSGIExchange):
    """One request: the server's side of the conversation and what it noticed.

    The protocol is :class:`~gateway_lab.protocol.wsgi.WSGIExchange`'s, the one
    every server side follows; the hooks here record each step as an event
    and turn each problem into a finding instead of an exception.
    """

    def __init__(self, app: Any, probe: Probe, flow: Flow, connection: int) -> None:
        super().__init__()
        self.app = app
        self.probe = probe
        self.flow = flow
        self.connection = connection
        self.label = probe.label
        self.findings: list[Finding] = []
        self.noted: set[str] = set()
        self.status_event: Event | None = None
        self.current: Event | None = None  # the event of the app's latest step
        self.result: Any = None
        self.sent = bytearray()  # the body, kept up to KEEP_BYTES
        self.sent_size = 0  # the body's full size
        self.abandoned = False  # the check gave up waiting: stop iterating
        self.recorded = 0  # events recorded for this request
        self.body_events: list[Event] = []
        self.early_chunk: tuple[Event, str] | None = None  # body before start_response
        self.raised = False
        self.done = threading.Event()

    # -- recording ---------------------------------------------------------------------
    def event(self, source: str, kind: str, payload: dict[str, Any]) -> Event:
        target = "server" if source == "app" else "app"
        self.recorded += 1
        if self.recorded > MAX_EVENTS:  # an endless body: keep judging, stop recording
            event = Event(self.flow.now(), source, target, kind, {}, self.connection)
        else:
            event = self.flow.add(source, target, kind, payload, self.connection)
        self.current = event
        return event

    def find(
        self, rule: str, events: list[Event] | None = None, once: bool = True, **details: Any
    ) -> None:
        if once and rule in self.noted:
            return
        self.noted.add(rule)
        self.findings.append(finding(rule, self.label, events, **details))

    # -- the hooks of the one server side ------------------------------------------------
    def problem(self, key: str, **details: Any) -> None:
        """A forgiving server: note the mistake and carry on, to show as many as possible."""
        current = [self.current] if self.current is not None else None
        if key == "no-start-response":
            return  # judged with the response as a whole (judge)
        if key == "body-before-start-response":
            if self.early_chunk is None and self.current is not None:
                self.early_chunk = (self.current, details["value"])
            return
        if key == "start-response-twice":
            current = [e for e in (self.status_event, self.current) if e is not None]
        if key == "body-is-bytes" and isinstance(self.result, (bytes, bytearray)):
            self.send_body(bytes(self.result))
        self.find(f"wsgi.{key}", current, once=key not in HEADER_KEYS, **details)

    def returned(self, result: Any) -> None:
        self.result = result
        self.event(
            "app", "return", {"type": type(result).__name__, "summary": f"returned {short(result)}"}
        )

    def send_body(self, data: bytes) -> None:
        self.sent_size += len(data)
        if len(self.sent) < KEEP_BYTES:
            self.sent += data[: KEEP_BYTES - len(self.sent)]
        if self.current is not None:
            self.body_events.append(self.current)

    def stopped(self) -> bool:
        return self.abandoned

    def closing(self) -> None:
        self.event("server", "close", {})

    def close_failed(self, exc: Exception) -> None:
        self.raised = True
        self.find(
            "wsgi.close-raised",
            [self.current] if self.current else None,
            exc=describe_exception(exc),
        )

    # -- the server's callables, recorded ------------------------------------------------
    def note_read(self, call: str, asked: int | None, left: int, got: int) -> None:
        event = self.event(
            "app",
            "read",
            {
                "call": call,
                "asked": asked,
                "left": left,
                "size": got,
                "summary": f"{call} -> {got} B",
            },
        )
        length = len(self.probe.body)
        if call == "read()":
            self.find("wsgi.input-read-unbounded", [event], call="read()")
        elif asked is not None and asked > left:
            situation = (
                f"when only {left} of the {length}-byte body (CONTENT_LENGTH) were left"
                if length
                else "but this request has no body (CONTENT_LENGTH is absent)"
            )
            self.find("wsgi.input-past-content-length", [event], asked=asked, situation=situation)

    def note_errors_write(self, data: Any) -> None:
        event = self.event("app", "errors", {"value": short(data), "summary": "wsgi.errors"})
        self.find("wsgi.errors-not-str", [event], type=type(data).__name__, value=short(data))

    def start_response(self, *args: Any, **kwargs: Any) -> Any:
        names = ("status", "headers", "exc_info")
        given = dict(zip(names, args, strict=False))
        extra = len(args) > 3 or any(k not in names or k in given for k in kwargs)
        given.update({k: v for k, v in kwargs.items() if k in names})
        event = self.event(
            "app",
            "start_response",
            {
                "status": short(given.get("status")),
                "headers": short(given.get("headers"), 200),
                "exc_info": given.get("exc_info") is not None,
                "summary": f"start_response {short(given.get('status'))}",
            },
        )
        if extra or "status" not in given or "headers" not in given:
            self.problem(
                "start-response-args",
                detail=f"{len(args)} positional argument(s)"
                + (f" and keywords {sorted(kwargs)}" if kwargs else ""),
            )
        write = super().start_response(
            given.get("status"), given.get("headers", []), given.get("exc_info")
        )
        self.status_event = event
        return write

    def write(self, data: Any) -> None:
        event = self.event(
            "app",
            "write",
            keep_body(data)
            if isinstance(data, (bytes, bytearray))
            else {"value": short(data), "summary": "write(?)"},
        )
        self.find("wsgi.write-used", [event])
        super().write(data)

    def chunk(self, chunk: Any) -> None:
        if isinstance(chunk, bytes):
            self.event("app", "body", keep_body(chunk))
        else:
            self.event("app", "body", {"value": short(chunk), "summary": "body ?"})
        super().chunk(chunk)

    # -- running the app ----------------------------------------------------------------
    def run(self) -> None:
        try:
            environ = self._environ()
            shown = {k: v for k, v in environ.items() if isinstance(v, (str, tuple, bool))}
            self.event("server", "environ", {"environ": shown, "summary": self.label})
            self.respond(self.app, environ)
        except BaseException as exc:  # noqa: BLE001 - a learner's exception, explained
            self.raised = True
            event = self.event(
                "app", "exception", {"type": type(exc).__name__, "message": str(exc)}
            )
            self.find("app.raised", [event], exc=describe_exception(exc))
        finally:
            self.finished = True
            self.done.set()

    def _environ(self) -> dict[str, Any]:
        probe = self.probe
        environ = make_environ(probe.method, probe.target, probe.all_headers(), probe.body)
        environ["wsgi.input"] = WatchedInput(probe.body, self.note_read)
        environ["wsgi.errors"] = WatchedErrors(self.note_errors_write)
        environ["wsgi.file_wrapper"] = FileWrapper
        environ["wsgi.multithread"] = True
        return environ

    def response(self) -> Response | None:
        if self.raised or self.code is None:
            return None
        return Response(self.code, list(self.headers), bytes(self.sent))

    # -- judging the response as a whole -------------------------------------------------
    def judge(self) -> None:
        if self.raised:
            return
        if self.status is None:
            if not self.noted & {"wsgi.body-is-none", "wsgi.body-not-iterable"}:
                self.find("wsgi.no-start-response")
            return
        if self.early_chunk is not None:
            event, value = self.early_chunk
            self.find("wsgi.body-before-start-response", [event], value=value)
        code = self.code
        sent = self.sent_size
        head = self.probe.method == "HEAD"
        events = [e for e in (self.status_event,) if e] + self.body_events[:3]
        if code in NO_BODY_STATUSES and sent:
            self.find(
                "wsgi.body-on-no-content", events, status=short(self.status), sent=sent, code=code
            )
        elif head and sent:
            self.find("wsgi.body-on-head", events, sent=sent)
        lengths = [v for k, v in self.headers if k.lower() == "content-length"]
        if lengths:
            self._judge_length(lengths, code, sent, head, events)
        if sent and not any(k.lower() == "content-type" for k, _ in self.headers):
            self.find("wsgi.no-content-type", events, status=short(self.status))

    def _judge_length(
        self, lengths: list[str], code: int | None, sent: int, head: bool, events: list[Event]
    ) -> None:
        values = {v.strip() for v in lengths}
        if len(values) > 1 or not next(iter(values)).isdigit():
            self.find("wsgi.content-length-invalid", events, value=short(", ".join(lengths)))
            return
        declared = int(values.pop())
        if head or code in NO_BODY_STATUSES or code is None or code < 200:
            return
        if declared != sent:
            why = (
                "The client stops reading after the declared length, and the extra bytes "
                "spoil the next response on the connection."
                if sent > declared
                else "The client waits for the missing bytes until it gives up."
            )
            self.find("wsgi.content-length-mismatch", events, declared=declared, sent=sent, why=why)


def run_wsgi_probe(
    app: Any, probe: Probe, flow: Flow, connection: int, timeout: float
) -> tuple[list[Finding], Response | None]:
    """Send ``probe`` to ``app``; the findings, and the response if there was one."""
    exchange = _Exchange(app, probe, flow, connection)
    if IN_BROWSER:  # no threads there: the app runs on this thread, with no timeout
        exchange.run()
        exchange.judge()
        return exchange.findings, exchange.response()
    worker = threading.Thread(
        target=exchange.run, name=f"gateway-lab-check-{connection}", daemon=True
    )
    worker.start()
    if not exchange.done.wait(timeout):
        exchange.abandoned = True
        flow.add(
            "server", "app", "timeout", {"summary": f"gave up after {timeout:g} s"}, connection
        )
        found = list(exchange.findings)
        found.append(
            finding("app.timeout", probe.label, timeout=timeout, detail=_hang_detail(exchange))
        )
        return found, None
    worker.join()
    exchange.judge()
    return exchange.findings, exchange.response()


def _hang_detail(exchange: _Exchange) -> str:
    if exchange.status is None:
        return "It had not called start_response yet."
    return f"It had sent {exchange.sent_size} body bytes so far."
