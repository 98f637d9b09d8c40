"""Play the server for a WSGI app, one request at a time, and note every mistake.

Theory of operation: the driver *is* the server here, and it is the same
server side as every other in the package
(:class:`~gateway_lab.protocol.wsgi.WSGIExchange`): it builds the environ,
hands over ``start_response``, ``write`` and a watched ``wsgi.input``, iterates
the body and calls ``close()``, so it sees every detail a real server sees
and more: which read asked past CONTENT_LENGTH, which chunk was a str, how
many bytes followed a Content-Length header. Each step is recorded as an
:class:`~gateway_lab.events.flow.Event` (kinds ``environ``, ``start_response``,
``write``, ``read``, ``errors``, ``return``, ``body``, ``close``,
``exception``) in the report's flow, one connection number per request, with
the payloads the WSGI recorder would write (:mod:`gateway_lab.events.payloads`),
and each finding carries the events that show it. The response as a whole
is judged by :func:`~gateway_lab.check.wsgi.flow.response_problems`, the
function ``gl.check_flow`` uses too, so judging the report's flow again gives
the same findings.

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
from gateway_lab.check.wsgi.flow import response_problems, start_response_args_problem
from gateway_lab.check.wsgi.input import WatchedErrors, WatchedInput
from gateway_lab.events.flow import Event, Flow
from gateway_lab.events.kinds import (
    BODY,
    CLOSE,
    ENVIRON,
    ERRORS,
    EXCEPTION,
    READ,
    RETURN,
    START_RESPONSE,
    TIMEOUT,
    WRITE,
)
from gateway_lab.events.payloads import (
    body_payload,
    environ_payload,
    exception_payload,
    return_payload,
    start_response_payload,
)
from gateway_lab.events.record.base import learner_traceback
from gateway_lab.interface.environ import make_environ
from gateway_lab.interface.response import Response
from gateway_lab.platform import IN_BROWSER
from gateway_lab.protocol.wsgi import HEADER_KEYS, WSGIExchange

__all__ = ["run_wsgi_probe"]

KEEP_BYTES = 1 << 20  # bodies are counted in full but kept up to 1 MiB
# Variables PEP 3333 lets a server leave out: a KeyError on one of them means the
# app had no fallback plan (wsgi.environ-key-missing).
_OPTIONAL = {
    # (it may also be '': "May be empty or absent", PEP 3333)
    "CONTENT_LENGTH": ("the request has no body", "int(environ.get('CONTENT_LENGTH') or 0)"),
    "CONTENT_TYPE": ("the request has no body", "environ.get('CONTENT_TYPE', '')"),
    "QUERY_STRING": ("the URL has no query string", "environ.get('QUERY_STRING', '')"),
    "REMOTE_USER": ("no one logged in", "environ.get('REMOTE_USER')"),
    "HTTP_COOKIE": ("the client sent no cookie", "environ.get('HTTP_COOKIE', '')"),
    "HTTP_AUTHORIZATION": ("the client sent no credentials", "environ.get('HTTP_AUTHORIZATION')"),
}


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
        self.body_events: list[Event] = []
        self.early_chunk: tuple[Event, str] | None = None  # body before start_response
        self.raised = False
        self.done = threading.Event()

    # -- recording ---------------------------------------------------------------------
    def event(self, source: str, kind: str, payload: dict[str, Any]) -> Event:
        target = "server" if source == "app" else "app"
        # (an endless body: the flow's per-connection cap stops keeping, the judging goes on)
        self.current = self.flow.add(source, target, kind, payload, self.connection)
        return self.current

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
        self.event("app", RETURN, return_payload(result))

    def send_body(self, data: bytes) -> None:
        self.sent_size += len(data)
        if len(self.sent) < KEEP_BYTES:
            self.sent += data[: KEEP_BYTES - len(self.sent)]
        if self.current is not None:
            self.body_events.append(self.current)

    def stopped(self) -> bool:
        return self.abandoned

    def closing(self) -> None:
        self.event("server", CLOSE, {})

    def close_failed(self, exc: Exception) -> None:
        self.raised = True
        closed = self.current
        payload = exception_payload(exc, learner_traceback(exc), during="close")
        self.event("app", EXCEPTION, payload)
        self.find("wsgi.close-raised", [closed] if closed else None, exc=describe_exception(exc))

    # -- the server's callables, recorded ------------------------------------------------
    def note_read(self, call: str, asked: int | None, left: int, got: int, past: bool) -> None:
        """One read of wsgi.input; ``past``: on a socket it would wait after the body."""
        event = self.event(
            "app",
            READ,
            {
                "call": call,
                "asked": asked,
                "left": left,
                "size": got,
                "summary": f"{call} -> {got} B",
            },
        )
        if call.startswith("readline(") and asked is not None:
            self.find("wsgi.readline-size", [event], call=call)
        if not past:
            return
        length = len(self.probe.body)
        situation = (
            f"when only {left} of the {length}-byte body (CONTENT_LENGTH) were left"
            if length
            else "but this request has no body (CONTENT_LENGTH is absent)"
        )
        if call.startswith("readline"):
            what = f"a line ({call}) that has no newline before the body ends"
        elif asked is None:
            what = f"everything up to end-of-file ({call})"
        else:
            what = f"{asked} bytes ({call})"
        self.find("wsgi.input-past-content-length", [event], asked=what, situation=situation)

    def note_closed(self, stream: str) -> None:
        event = self.event("app", ERRORS, {"summary": f"{stream}.close()"})
        self.find("wsgi.stream-closed", [event], stream=stream)

    def note_errors_write(self, data: Any) -> None:
        event = self.event("app", ERRORS, {"value": short(data), "summary": "wsgi.errors"})
        self.find("wsgi.errors-not-str", [event], type=type(data).__name__, value=short(data))

    def start_response(self, *args: Any, **kwargs: Any) -> Any:
        names = ("status", "headers", "exc_info")
        given = dict(zip(names, args, strict=False))
        given.update({k: v for k, v in kwargs.items() if k in names})
        event = self.event("app", START_RESPONSE, start_response_payload(args, kwargs))
        wrong_call = start_response_args_problem(len(args), list(kwargs))
        if wrong_call is not None:
            self.find(wrong_call[0], [event], **wrong_call[1])
        write = super().start_response(
            given.get("status"), given.get("headers", []), given.get("exc_info")
        )
        self.status_event = event
        return write

    def write(self, data: Any) -> None:
        event = self.event("app", WRITE, body_payload(data))
        self.find("wsgi.write-used", [event])
        super().write(data)

    def chunk(self, chunk: Any) -> None:
        self.event("app", BODY, body_payload(chunk))
        super().chunk(chunk)

    # -- running the app ----------------------------------------------------------------
    def run(self) -> None:
        environ_keys: frozenset[str] = frozenset()
        try:
            environ = self._environ()
            environ_keys = frozenset(environ)
            self.event("server", ENVIRON, environ_payload(environ))
            self.respond(self.app, environ)
        except BaseException as exc:  # noqa: BLE001 - a learner's exception, explained
            self.raised = True
            event = self.event("app", EXCEPTION, exception_payload(exc, learner_traceback(exc)))
            self.find("app.raised", [event], exc=describe_exception(exc))
            missing = _missing_variable(exc, environ_keys)
            if missing is not None:
                self.find("wsgi.environ-key-missing", [event], **missing)
        finally:
            self.finished = True
            self.done.set()

    def _environ(self) -> dict[str, Any]:
        probe = self.probe
        environ = make_environ(probe.method, probe.target, probe.all_headers(), probe.body)
        environ["wsgi.input"] = WatchedInput(
            probe.body, self.note_read, lambda: self.note_closed("wsgi.input")
        )
        environ["wsgi.errors"] = WatchedErrors(
            self.note_errors_write, lambda: self.note_closed("wsgi.errors")
        )
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
        events = [e for e in (self.status_event,) if e] + self.body_events[:3]
        # the one judgement of a whole response, shared with check_flow
        for rule, details in response_problems(
            self.probe.method, self.status, self.headers, self.sent_size
        ):
            self.find(rule, events, **details)


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
        flow.add("server", "app", TIMEOUT, {"summary": f"gave up after {timeout:g} s"}, connection)
        found = list(exchange.findings)
        found.append(
            finding("app.timeout", probe.label, timeout=timeout, detail=_hang_detail(exchange))
        )
        return found, None
    worker.join()
    exchange.judge()
    return exchange.findings, exchange.response()


def _missing_variable(exc: BaseException, present: frozenset[str]) -> dict[str, Any] | None:
    """The details of wsgi.environ-key-missing, if ``exc`` is a KeyError on an optional key."""
    if not isinstance(exc, KeyError) or len(exc.args) != 1 or not isinstance(exc.args[0], str):
        return None
    key = exc.args[0]
    if key in present or not (key in _OPTIONAL or key.startswith("HTTP_")):
        return None
    why, use = _OPTIONAL.get(
        key, ("the client did not send that header", f"environ.get({key!r}, '')")
    )
    return {"key": key, "why": why, "use": use}


def _hang_detail(exchange: _Exchange) -> str:
    if exchange.status is None:
        return "It had not called start_response yet."
    return f"It had sent {exchange.sent_size} body bytes so far."
