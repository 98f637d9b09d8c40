"""The request lab's engine: send one request to an app or a URL and record it all.

Theory of operation: :func:`send_request` takes a *target* (a WSGI app, an
ASGI app, a running :class:`~gateway_lab.servers.Server` or a URL) and the
parts of a request (method, path, query, headers, body). It returns a
:class:`LabResult`: the response, the recorded :class:`Flow` and the
environ or scope the app saw. In-process apps are wrapped in a recorder
(``trace``) and called with ``calls.call_wsgi`` / ``calls.acall_asgi``, so
the flow shows client, server and app. A URL is fetched with httpx; if the
server behind it runs a recorded app, that app's events for the request are
copied in. ASGI apps run on a worker thread with their own event loop, so
this also works from a widget callback on the kernel's running loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from gateway_lab.events.flow import Event, Flow, keep_body
from gateway_lab.events.kinds import ENDING_KINDS, ENVIRON, REQUEST, RESPONSE, SCOPE
from gateway_lab.events.record import ASGIRecorder, WSGIRecorder, record_asgi, record_wsgi
from gateway_lab.interface.appkind import looks_async
from gateway_lab.interface.response import Response
from gateway_lab.platform import IN_BROWSER, run_here
from gateway_lab.protocol.calls import acall_asgi, call_wsgi

__all__ = ["LabResult", "parse_headers", "send_request"]

TIMEOUT = 10.0
URL_SAFE = "/%:@!$&'()*+,;=-._~?"


@dataclass
class LabResult:
    """What one request in the lab produced."""

    response: Response | None
    flow: Flow
    request_kind: str | None = None  # "environ" or "scope"
    request: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def parse_headers(text: str) -> list[tuple[str, str]]:
    """'Name: value' lines (blank lines ignored) -> a list of pairs."""
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValueError(
                f"Each header line reads 'Name: value'; {line!r} has no name before a colon."
            )
        pairs.append((name.strip(), value.strip()))
    return pairs


def _target_of(path: str, query: str) -> str:
    """The request target as a client sends it: non-ASCII text percent-encoded (UTF-8)."""
    path = quote(path if path.startswith("/") else "/" + path, safe=URL_SAFE)
    query = quote(query, safe=URL_SAFE)
    return f"{path}?{query}" if query else path


def _unwrap(app: Any) -> Any:
    while isinstance(app, (WSGIRecorder, ASGIRecorder)):
        app = app.app
    return app


def _find_request(flow: Flow) -> tuple[str | None, dict[str, Any]]:
    for event in flow.events:
        if event.kind in (ENVIRON, SCOPE) and isinstance(event.payload.get(event.kind), dict):
            return event.kind, event.payload[event.kind]
    return None, {}


def _run_on_own_loop(coroutine: Any) -> Any:
    if IN_BROWSER:  # no threads there: the page's event loop runs it
        return run_here(coroutine)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="gateway-lab request lab", daemon=True)
    worker.start()
    worker.join(TIMEOUT + 1)
    if "error" in outcome:
        raise outcome["error"]
    if "value" not in outcome:
        raise TimeoutError(f"The app did not answer within {TIMEOUT} s.")
    return outcome["value"]


def _copy_new_events(source: Flow, start: int, into: Flow, connection: int) -> None:
    shift = source.started - into.started
    into.extend(
        Event(event.t + shift, event.source, event.target, event.kind, event.payload, connection)
        for event in source.events[start:]
    )


def send_request(
    target: Any,
    method: str = "GET",
    path: str = "/",
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> LabResult:
    """Send one request to ``target`` and record everything that happened."""
    headers = list(headers or [])
    request_target = _target_of(path, query)
    flow = Flow(f"{method} {request_target}", lanes=["client", "server", "app"])
    connection = flow.new_connection()
    flow.add(
        "client",
        "server",
        REQUEST,
        {
            "summary": f"{method} {request_target}",
            "method": method,
            "target": request_target,
            "headers": headers,
            **keep_body(body),
        },
        connection,
    )
    response: Response | None = None
    error: str | None = None
    try:
        if isinstance(target, str) or hasattr(target, "url"):
            response = _send_over_http(
                target, method, request_target, headers, body, flow, connection
            )
        else:
            app = _unwrap(target)
            if looks_async(app):
                asgi_app, _ = record_asgi(app, flow)
                response = _run_on_own_loop(
                    acall_asgi(asgi_app, method, request_target, headers, body, timeout=TIMEOUT)
                )
            else:
                wsgi_app, _ = record_wsgi(app, flow)
                response = call_wsgi(wsgi_app, method, request_target, headers, body)
    except Exception as exc:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if response is not None:
        flow.add(
            "server",
            "client",
            RESPONSE,
            {
                "summary": response.status_line,
                "status": response.status,
                "headers": response.headers,
                **keep_body(response.body),
            },
            connection,
        )
    kind, request = _find_request(flow)
    return LabResult(response, flow, kind, request, error)


def _send_over_http(
    target: Any,
    method: str,
    request_target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    flow: Flow,
    connection: int,
) -> Response:
    import httpx  # imported on use: keeps the views light

    base = target if isinstance(target, str) else target.url
    recorder = None if isinstance(target, str) else getattr(target, "app", None)
    recorded_flow = recorder.flow if isinstance(recorder, (WSGIRecorder, ASGIRecorder)) else None
    before = len(recorded_flow) if recorded_flow is not None else 0
    with httpx.Client(timeout=TIMEOUT) as client:
        reply = client.request(
            method, base.rstrip("/") + request_target, headers=headers, content=body
        )
    if recorded_flow is not None:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and not any(
            e.kind in ENDING_KINDS for e in recorded_flow.events[before:]
        ):
            time.sleep(0.005)
        _copy_new_events(recorded_flow, before, flow, connection)
    return Response(
        reply.status_code, list(reply.headers.multi_items()), reply.content, reply.reason_phrase
    )
