"""Recorders: middleware that writes down a WSGI or ASGI exchange as events.

Theory of operation: a recorder sits between a server and an app and plays
both parts honestly. Towards the app it is the server; towards the server it
is the app. Everything passes through *unchanged*: the same environ or scope
object, the same messages, the server's own callables (wrapped only to take
a note), the same list body, ``close()`` forwarded, the app's exceptions
re-raised as they came. On the way it adds
:class:`~gateway_lab.events.flow.Event` records to a
:class:`~gateway_lab.events.flow.Flow`: one connection number per call,
kinds and payload shapes from :mod:`~gateway_lab.events.kinds`.

This package's face is ``gl.record_wsgi`` and ``gl.record_asgi``. The
pieces: :mod:`.base` (sinks, nesting, tracebacks without the recorder's own
frames), :mod:`.wsgi` (PEP 3333, one request), :mod:`.asgi` (the ASGI spec,
one connection), and :mod:`gateway_lab.events.payloads` (what each event
keeps: copies that keep their types, bodies capped at
``BODY_CAP`` with their full size). Recording never raises: a value that
cannot be copied is kept by its ``repr``, so a learner's wrong types reach
the server (and its error message) exactly as they would without the
recorder. A recorded flow can be judged afterwards with ``gl.check_flow``.

Stacking: a recorder called while another recorder's exchange is running
(a middleware stack, each layer recorded) takes the outer layer's lane as
its ``server_lane`` and adds its events to the outer flow as well, under
the outer connection number. So one flow shows one lane per layer::

    inner, _ = record_wsgi(app, lane="app")
    outer, flow = record_wsgi(auth_middleware(inner), lane="auth")
    # flow lanes: server, auth, app
"""

from __future__ import annotations

from gateway_lab.events.flow import Flow
from gateway_lab.events.record.asgi import ASGIRecorder
from gateway_lab.events.record.base import ASGI_SPEC, PEP3333, ensure_callable, learner_traceback
from gateway_lab.events.record.wsgi import WSGIRecorder
from gateway_lab.types import ASGIApp, WSGIApp

__all__ = ["ASGIRecorder", "WSGIRecorder", "learner_traceback", "record_asgi", "record_wsgi"]


def record_wsgi(
    app: WSGIApp, flow: Flow | None = None, *, lane: str = "app", server_lane: str | None = None
) -> tuple[WSGIRecorder, Flow]:
    """Wrap a WSGI app so that every request is recorded; returns (app, flow).

    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"Hello"]
    >>> recorded, flow = record_wsgi(app)
    >>> from gateway_lab.protocol.calls import call_wsgi
    >>> call_wsgi(recorded).text
    'Hello'
    >>> [e.kind for e in flow]
    ['environ', 'start_response', 'return', 'body']

    ``server_lane`` defaults to ``"server"``, or to the enclosing recorder's
    lane when this one runs inside another (a recorded middleware stack).
    The flow is also ``recorded.flow``.
    """
    ensure_callable(app, "record_wsgi", "app(environ, start_response)", PEP3333)
    if flow is None:
        flow = Flow(f"WSGI {getattr(app, '__name__', type(app).__name__)}")
    return WSGIRecorder(app, flow, lane, server_lane), flow


def record_asgi(
    app: ASGIApp, flow: Flow | None = None, *, lane: str = "app", server_lane: str | None = None
) -> tuple[ASGIRecorder, Flow]:
    """Wrap an ASGI app so that every connection is recorded; returns (app, flow).

    In a notebook::

        recorded, flow = gl.record_asgi(app)
        await gl.call_asgi(recorded)
        gl.show_flow(flow)

    The flow is also ``recorded.flow``.
    """
    ensure_callable(app, "record_asgi", "`async def app(scope, receive, send)`", ASGI_SPEC)
    if flow is None:
        flow = Flow(f"ASGI {getattr(app, '__name__', type(app).__name__)}")
    return ASGIRecorder(app, flow, lane, server_lane), flow
