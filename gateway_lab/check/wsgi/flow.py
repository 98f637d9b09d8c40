"""Judging one recorded WSGI request: the checker's rules, read off a flow's events.

Theory of operation: :class:`RecordedRequest` replays the events of one
request, as the WSGI recorder wrote them (:mod:`gateway_lab.events.record.wsgi`),
in the order they happened, and keeps the same notes the checker's driver
keeps while it plays the server (the status and headers so far, the body
bytes sent, the first chunk that came before ``start_response``). Each
event is judged with the checker's own pure functions (``status_problems``,
``header_problems``) and each mistake becomes the same finding, with the
same rule id and details, as :mod:`.driver` gives for the same behaviour.
When the request is over, the response as a whole is judged by
:func:`response_problems` (204/304 and HEAD bodies, Content-Length,
Content-Type), the same function a live check can use.

Two differences from a live check, both because a recording only shows
what happened: an exception the *server's* ``start_response`` or ``write``
raised into the app (``from_server``) is not the app's mistake (the
checker's forgiving server would not have raised), but the app stopped
there, so the response is not judged as a whole (likewise when the server
closed the body before its end: ``close`` with ``cut``); and a request whose
events were capped is judged on what was kept, without the whole-response
rules, which need every body chunk.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any

from gateway_lab.check.explain import short, user_frame, where
from gateway_lab.check.header_repeat import repeated_problems
from gateway_lab.check.report import Finding
from gateway_lab.check.rules import finding
from gateway_lab.check.wsgi.headers import (
    Problem,
    header_problems,
    parse_status,
    status_problems,
)
from gateway_lab.check.wsgi.rules import BIG_HEAD_BODY
from gateway_lab.events.flow import Event
from gateway_lab.events.kinds import BODY, CLOSE, ENVIRON, EXCEPTION, RETURN, START_RESPONSE, WRITE
from gateway_lab.protocol.wsgi import is_empty_exc_info

__all__ = [
    "RecordedRequest",
    "chunk_fix",
    "describe_recorded_exception",
    "judge_wsgi_request",
    "response_problems",
    "start_response_args_problem",
]

NO_BODY_STATUSES = (204, 304)
_NAMES = ("status", "headers", "exc_info")


def chunk_fix(chunk: Any) -> str:
    """How to turn a body chunk that is not bytes into bytes (``wsgi.body-not-bytes``)."""
    if isinstance(chunk, str):
        return "use text.encode('utf-8') or a b'...' literal."
    if isinstance(chunk, (bytearray, memoryview)):
        return "convert it with bytes(...)."
    if isinstance(chunk, (int, float)) and not isinstance(chunk, bool):
        return f"turn the number into text, then bytes: str({chunk!r}).encode()."
    return "encode text with .encode('utf-8'); yield only bytes."


def start_response_args_problem(positional: int, keywords: Sequence[str]) -> Problem | None:
    """``wsgi.start-response-args`` for a call with ``positional`` args and ``keywords``."""
    given = set(_NAMES[:positional])
    extra = positional > 3 or any(k not in _NAMES or k in given for k in keywords)
    have = given | {k for k in keywords if k in _NAMES}
    if not (extra or keywords) and {"status", "headers"} <= have:
        return None  # (keywords are a mistake too: PEP 3333's server calls are positional)
    detail = f"{positional} positional argument(s)"
    if keywords:
        detail += f" and the keywords {', '.join(sorted(keywords))}"
    return ("wsgi.start-response-args", {"detail": detail})


def response_problems(
    method: str, status: Any, headers: Sequence[tuple[str, str]], sent: int
) -> list[Problem]:
    """What is wrong with a whole response: bodies where none may be, the declared length."""
    problems: list[Problem] = []
    code = parse_status(status)
    head = method == "HEAD"
    if code in NO_BODY_STATUSES and sent:
        details = {"status": short(status), "sent": sent, "code": code}
        problems.append(("wsgi.body-on-no-content", details))
    elif head and sent >= BIG_HEAD_BODY:  # a few dropped bytes teach nothing
        problems.append(("wsgi.body-on-head", {"sent": sent}))
    lengths = [v for k, v in headers if k.lower() == "content-length"]
    if lengths:
        problems.extend(_length_problems(lengths, code, sent, head))
    if sent and not any(k.lower() == "content-type" for k, _ in headers):
        problems.append(("wsgi.no-content-type", {"status": short(status)}))
    problems.extend(repeated_problems("wsgi", headers))
    return problems


def _length_problems(lengths: list[str], code: int | None, sent: int, head: bool) -> list[Problem]:
    values = {v.strip() for v in lengths}
    if len(values) > 1 or not next(iter(values)).isdigit():
        return [("wsgi.content-length-invalid", {"value": short(", ".join(lengths))})]
    declared = int(values.pop())
    if head or code in NO_BODY_STATUSES or code is None or code < 200 or declared == sent:
        return []
    why = (
        "The client stops reading after the declared length, and the extra bytes "
        "spoil the next response on the connection."
        if sent > declared
        else "The client waits for the missing bytes until it gives up."
    )
    return [("wsgi.content-length-mismatch", {"declared": declared, "sent": sent, "why": why})]


def describe_recorded_exception(payload: dict[str, Any]) -> str:
    """``describe_exception``'s sentence for a recorded exception payload."""
    name, message = payload.get("type", "Exception"), payload.get("message", "")
    text = f"{name}: {message}" if message else str(name)
    frames = [
        traceback.FrameSummary(str(f[0]), int(f[1] or 0), str(f[2]), lookup_line=False, line=f[3])
        for f in payload.get("frames", [])
        if isinstance(f, (list, tuple)) and len(f) == 4
    ]
    return f"{text} {where(user_frame(frames))}".strip()


class RecordedRequest:
    """One recorded WSGI request, judged event by event like the checker's driver."""

    def __init__(self, label: str, complete: bool = True) -> None:
        self.label = label
        self.complete = complete  # False: some events were over the flow's cap
        self.findings: list[Finding] = []
        self.noted: set[str] = set()
        self.method = ""
        self.status: Any = None
        self.headers: list[tuple[str, str]] = []
        self.status_event: Event | None = None
        self.headers_out = False
        self.sent_size = 0
        self.body_events: list[Event] = []
        self.early_chunk: tuple[Event, bytes] | None = None
        self.listed = False  # the body was a list or tuple, noted whole when returned
        self.finished = False
        self.raised = False
        self.stopped = False  # the server raised into the app: the response was cut short
        self.returned = False
        self.close_event: Event | None = None

    def find(
        self, rule: str, events: list[Event] | None = None, once: bool = True, **details: Any
    ) -> None:
        if once and rule in self.noted:
            return
        self.noted.add(rule)
        self.findings.append(finding(rule, self.label, events, **details))

    def feed(self, event: Event) -> None:
        handler = {
            ENVIRON: self._environ,
            START_RESPONSE: self._start_response,
            WRITE: self._write,
            RETURN: self._return,
            BODY: self._body,
            CLOSE: self._close,
            EXCEPTION: self._exception,
        }.get(event.kind)
        if handler is not None:
            handler(event, event.payload)

    # -- one event at a time -------------------------------------------------------------
    def _environ(self, event: Event, payload: dict[str, Any]) -> None:
        environ = payload.get("environ") or {}
        self.method = str(environ.get("REQUEST_METHOD", ""))

    def _start_response(self, event: Event, payload: dict[str, Any]) -> None:
        have = {"status", "headers"}
        if "positional" in payload:
            positional, keywords = int(payload["positional"]), list(payload.get("keywords", []))
            problem = start_response_args_problem(positional, keywords)
            if problem:
                self.find(problem[0], [event], **problem[1])
            have = set(_NAMES[:positional]) | {k for k in keywords if k in _NAMES}
        status = payload.get("status")
        headers = payload.get("headers") if "headers" in have else []
        if "exc_info_valid" in payload:
            if is_empty_exc_info(payload.get("exc_info")):  # sys.exc_info() outside an except
                self.find("wsgi.exc-info-outside-handler", [event])
                if self.status is not None and self.headers_out:
                    twice = [e for e in (self.status_event, event) if e]
                    self.find("wsgi.start-response-twice", twice, status=short(status))
            elif not payload["exc_info_valid"]:
                self.find("wsgi.exc-info-form", [event], value=short(payload.get("exc_info")))
            elif self.headers_out:
                return  # PEP 3333: too late; the server re-raises (the app's exception follows)
        elif self.status is not None:
            twice = [e for e in (self.status_event, event) if e]
            self.find("wsgi.start-response-twice", twice, status=short(status))
        for rule, details in status_problems(status):
            self.find(rule, [event], **details)
        problems, pairs = header_problems(headers)
        for rule, details in problems:
            self.find(rule, [event], once=False, **details)
        self.status, self.headers, self.status_event = status, pairs, event

    def _write(self, event: Event, payload: dict[str, Any]) -> None:
        self.find("wsgi.write-used", [event])
        if "wrong_type" in payload:
            value = short(payload.get("value"))
            self.find("wsgi.write-not-bytes", [event], type=payload["wrong_type"], value=value)
            return
        if self.finished:
            self.find("wsgi.write-after-close", [event])
            return
        if self.status is None:
            self.find("wsgi.write-before-start-response", [event])
        self._take(int(payload.get("size", 0)), event)

    def _take(self, size: int, event: Event) -> None:
        if size:
            self.headers_out = True
            self.sent_size += size
            self.body_events.append(event)

    def _return(self, event: Event, payload: dict[str, Any]) -> None:
        self.returned = True
        kind = payload.get("type")
        self.listed = kind in ("list", "tuple")
        if self.listed:
            self.finished = True  # a list is noted whole: its chunks follow at once
        value = payload.get("value")
        if "value" not in payload:
            return
        if kind == "NoneType":
            self.find("wsgi.body-is-none", [event])
        elif kind == "str":
            self.find("wsgi.body-is-str", [event], value=short(value, 30))
        elif kind in ("bytes", "bytearray"):
            self.find("wsgi.body-is-bytes", [event], value=short(bytes(value or b""), 30))
            self._take(int(payload.get("size", 0)), event)
        elif payload.get("iterable") is False:
            self.find("wsgi.body-not-iterable", [event], value=short(value), type=kind)
        else:
            return
        self.finished = True

    def _body(self, event: Event, payload: dict[str, Any]) -> None:
        if "wrong_type" in payload:
            chunk = payload.get("value")
            self.find(
                "wsgi.body-not-bytes",
                [event],
                type=payload["wrong_type"],
                value=short(chunk, 30),
                fix=chunk_fix(chunk),
            )
            return
        chunk = payload.get("body", b"")
        if chunk and self.status is None and self.early_chunk is None:
            self.early_chunk = (event, chunk)
        self._take(int(payload.get("size", len(chunk))), event)

    def _close(self, event: Event, payload: dict[str, Any]) -> None:
        self.finished = True
        self.close_event = event
        if payload.get("cut"):
            self.stopped = True  # the server gave up on the body: the rest was never seen

    def _exception(self, event: Event, payload: dict[str, Any]) -> None:
        if payload.get("during") == "close":
            self.raised = True
            events = [self.close_event] if self.close_event else [event]
            self.find("wsgi.close-raised", events, exc=describe_recorded_exception(payload))
        elif payload.get("from_server"):
            self.stopped = True
        else:
            self.raised = True
            self.find("app.raised", [event], exc=describe_recorded_exception(payload))

    # -- the response as a whole ---------------------------------------------------------
    def judge(self) -> list[Finding]:
        """The findings, once every event was fed."""
        if self.raised or not self.complete or not (self.finished or self.stopped):
            return self.findings  # (not finished: still running, judged for what it did so far)
        if self.stopped:
            if self.early_chunk is not None and self.status is None and not self.listed:
                # the server stopped at body bytes with no status line: that is what was seen
                event, chunk = self.early_chunk
                self.find("wsgi.body-before-start-response", [event], value=short(chunk, 30))
            return self.findings
        if self.status is None:
            if self.returned and not self.noted & {"wsgi.body-is-none", "wsgi.body-not-iterable"}:
                self.find("wsgi.no-start-response")
            return self.findings
        if self.early_chunk is not None:
            event, chunk = self.early_chunk
            self.find("wsgi.body-before-start-response", [event], value=short(chunk, 30))
        events = [e for e in (self.status_event,) if e] + self.body_events[:3]
        for rule, details in response_problems(
            self.method, self.status, self.headers, self.sent_size
        ):
            self.find(rule, events, **details)
        return self.findings


def judge_wsgi_request(events: Sequence[Event], label: str, complete: bool = True) -> list[Finding]:
    """The findings for one recorded request (its events, in order)."""
    request = RecordedRequest(label, complete)
    for event in events:
        request.feed(event)
    return request.judge()
