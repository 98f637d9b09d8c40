"""Recorders: middleware that writes down a WSGI or ASGI exchange as events.

Theory of operation: a recorder sits between a server and an app and plays
both parts honestly. Towards the app it is the server; towards the server it
is the app. Everything passes through *unchanged*: the same environ or scope
object, the same messages, the real ``write`` callable (wrapped only to take
a note), the same list body (so ``len()`` still works), ``close()``
forwarded, the app's exceptions re-raised as they came. On the way it adds
:class:`~gateway_lab.events.flow.Event` records to a :class:`~gateway_lab.events.flow.Flow`.

WSGI (PEP 3333), one request::

    server -> app     environ          {"environ": {...}, "summary": "GET /"}
    app -> server     start_response   {"status", "headers", "exc_info"}
    app -> server     write            keep_body(data)       (the legacy write())
    app -> server     return           {"type": "list"}      (the app returned)
    app -> server     body             keep_body(chunk)      (one per chunk)
    server -> app     close            {}                    (iterable.close())
    app -> server     exception        {"type", "message", "traceback"}

ASGI (the ASGI spec), one connection::

    server -> app     scope            {"scope": {...}, "summary": "http GET /"}
    server -> app     receive          {"type", "message", + body fields}
    app -> server     send             {"type", "message", + body fields}
    app -> server     return | exception

Each call gets a new ``connection`` number, so concurrent requests can be
told apart. Bodies are kept up to ``events.BODY_CAP`` bytes with their full
size. An exception's traceback is kept without the recorder's own frames
(``learner_traceback``): the learner sees their code and the server's.
Recording never raises: a payload that cannot be copied is shown via
``repr``, so a learner's wrong types reach the server (and its error
message) exactly as they would without the recorder.

Stacking: a recorder called while another recorder's exchange is running
(a middleware stack, each layer recorded) takes the outer layer's lane as
its ``server_lane`` and adds its events to the outer flow as well, under
the outer connection number. So one flow shows one lane per layer::

    inner, _ = record_wsgi(app, lane="app")
    outer, flow = record_wsgi(auth_middleware(inner), lane="auth")
    # flow lanes: server, auth, app
"""

from __future__ import annotations

import contextvars
import os
import traceback
from collections.abc import Iterable, Iterator
from typing import Any

from gateway_lab.errors import NotAnAppError
from gateway_lab.events.flow import BODY_CAP, Flow, keep_body
from gateway_lab.types import (
    ASGIApp,
    Environ,
    Message,
    Receive,
    Scope,
    Send,
    StartResponse,
    WSGIApp,
)

__all__ = ["ASGIRecorder", "WSGIRecorder", "learner_traceback", "record_asgi", "record_wsgi"]

PEP3333 = "https://peps.python.org/pep-3333/"
ASGI_SPEC = "https://asgi.readthedocs.io/en/latest/specs/main.html"

# (flow, connection) pairs an event goes to, and the lane of the innermost
# recorder currently running: what a nested recorder joins.
Sinks = tuple[tuple[Flow, int], ...]
_active: contextvars.ContextVar[tuple[Sinks, str] | None] = contextvars.ContextVar(
    "gateway_lab_active_recording", default=None
)

_PLAIN = (str, bytes, int, float, bool, type(None))


def _emit(sinks: Sinks, source: str, target: str, kind: str, payload: dict[str, Any]) -> None:
    for flow, connection in sinks:
        flow.add(source, target, kind, payload, connection)


def _copy_value(value: Any) -> Any:
    """A copy safe to keep and show: plain values as they are, the rest via repr."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        items = [v if isinstance(v, _PLAIN) else _copy_value(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {str(k): _copy_value(v) for k, v in value.items()}
    return repr(value)


def _body_fields(data: Any) -> dict[str, Any]:
    """keep_body's fields for bytes; for anything else, its type and repr."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return keep_body(data)
    text = repr(data)
    return {
        "body": b"",
        "size": 0,
        "truncated": False,
        "wrong_type": type(data).__name__,
        "repr": text[:BODY_CAP],
    }


_PACKAGE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
# gateway_lab's own plumbing: the recorder, the event model and the views. Their
# frames only take notes; a learner reading a traceback needs their own code and
# the server's (calls, guard, mini servers, werkzeug, uvicorn...), not these.
_OWN_FILES = frozenset([os.path.join(_PACKAGE, "types.py")])
_OWN_FOLDERS = tuple(os.path.join(_PACKAGE, name) + os.sep for name in ("events", "views"))


def _is_own_frame(filename: str) -> bool:
    path = os.path.realpath(filename)
    return path in _OWN_FILES or path.startswith(_OWN_FOLDERS)


def _drop_own_frames(exc: traceback.TracebackException, seen: set[int]) -> int:
    """Remove gateway_lab's plumbing frames (never the innermost: where it was raised)."""
    frames = list(exc.stack)
    kept = [
        frame
        for index, frame in enumerate(frames)
        if index == len(frames) - 1 or not _is_own_frame(frame.filename)
    ]
    exc.stack = traceback.StackSummary.from_list(kept)
    hidden = len(frames) - len(kept)
    related = [exc.__cause__, exc.__context__, *(getattr(exc, "exceptions", None) or ())]
    for other in related:
        if other is not None and id(other) not in seen:
            seen.add(id(other))
            hidden += _drop_own_frames(other, seen)
    return hidden


def learner_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` as text, without gateway_lab's recorder frames."""
    try:
        summary = traceback.TracebackException.from_exception(exc)
        hidden = _drop_own_frames(summary, {id(summary)})
        text = "".join(summary.format())
    except Exception:  # recording never raises: fall back to the plain traceback
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if hidden:
        frames = "frame" if hidden == 1 else "frames"
        text += (
            f"({hidden} {frames} of gateway_lab's recorder left out: it only takes "
            f"notes and passes everything on.)\n"
        )
    return text


def _exception_payload(exc: BaseException) -> dict[str, Any]:
    message = str(exc)
    return {
        "type": type(exc).__name__,
        "message": message,
        "traceback": learner_traceback(exc),
        "summary": f"{type(exc).__name__}: {message}" if message else type(exc).__name__,
    }


def _exc_info_text(exc_info: Any) -> str | None:
    if not exc_info:
        return None
    try:
        return "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
    except Exception:
        return repr(exc_info)


def _enter(flow: Flow, server_lane: str | None) -> tuple[Sinks, str]:
    """Sinks and the server-side lane for a new exchange, joining an outer one."""
    outer = _active.get()
    if outer is None:
        return ((flow, flow.new_connection()),), server_lane or "server"
    outer_sinks, outer_lane = outer
    own = next(((f, c) for f, c in outer_sinks if f is flow), None)
    sinks = outer_sinks if own else ((flow, flow.new_connection()), *outer_sinks)
    return sinks, server_lane or outer_lane


# --------------------------------------------------------------------------- WSGI


class _RecordedBody:
    """The app's iterable, passed through chunk by chunk, with notes taken."""

    __slots__ = ("_iterable", "_iterator", "_sinks", "_lane", "_server_lane", "_closed")

    def __init__(self, iterable: Iterable[bytes], sinks: Sinks, lane: str, server_lane: str):
        self._iterable = iterable
        self._iterator: Iterator[bytes] | None = None
        self._sinks = sinks
        self._lane = lane
        self._server_lane = server_lane
        self._closed = False

    def __iter__(self) -> _RecordedBody:
        return self

    def __next__(self) -> bytes:
        # Inner recorders reached while we pull (a middleware that is a
        # generator) must see this layer as their server, as during the call.
        token = _active.set((self._sinks, self._lane))
        try:
            if self._iterator is None:
                self._iterator = iter(self._iterable)
            chunk = next(self._iterator)
        except StopIteration:
            raise
        except BaseException as exc:
            _emit(self._sinks, self._lane, self._server_lane, "exception", _exception_payload(exc))
            raise
        finally:
            _active.reset(token)
        _emit(self._sinks, self._lane, self._server_lane, "body", _body_fields(chunk))
        return chunk

    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]  # TypeError, as without us

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _emit(self._sinks, self._server_lane, self._lane, "close", {})
        close = getattr(self._iterable, "close", None)
        if close is not None:
            token = _active.set((self._sinks, self._lane))
            try:
                close()
            finally:
                _active.reset(token)


class _Recorder:
    """What both recorders share: the wrapped app, the flow it writes to, its lane."""

    def __init__(
        self, app: Any, flow: Flow, lane: str = "app", server_lane: str | None = None
    ) -> None:
        self.app = app
        self.flow = flow
        self.lane = lane
        self.server_lane = server_lane
        self.__name__ = getattr(app, "__name__", type(app).__name__)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} lane={self.lane!r} of {self.app!r}: {len(self.flow)} events>"
        )


class WSGIRecorder(_Recorder):
    """WSGI middleware that records each request into :attr:`flow`."""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        sinks, server_lane = _enter(self.flow, self.server_lane)
        lane = self.lane
        _emit(sinks, server_lane, lane, "environ", _environ_payload(environ))

        def recording_start_response(status: Any, headers: Any, exc_info: Any = None) -> Any:
            try:
                header_list = [tuple(pair) for pair in headers]
            except Exception:
                header_list = repr(headers)
            _emit(
                sinks,
                lane,
                server_lane,
                "start_response",
                {
                    "status": status if isinstance(status, str) else repr(status),
                    "headers": header_list,
                    "exc_info": _exc_info_text(exc_info),
                    "summary": str(status),
                },
            )
            write = start_response(status, headers, exc_info)

            def recording_write(data: bytes) -> Any:
                _emit(sinks, lane, server_lane, "write", _body_fields(data))
                return write(data)

            return recording_write

        token = _active.set((sinks, lane))
        try:
            result = self.app(environ, recording_start_response)
        except BaseException as exc:
            _emit(sinks, lane, server_lane, "exception", _exception_payload(exc))
            raise
        finally:
            _active.reset(token)
        _emit(
            sinks,
            lane,
            server_lane,
            "return",
            {"type": type(result).__name__, "summary": type(result).__name__},
        )
        if isinstance(result, (list, tuple)):
            # Already complete: note its chunks now and hand over the very same object.
            for chunk in result:
                _emit(sinks, lane, server_lane, "body", _body_fields(chunk))
            return result
        if result is None or isinstance(result, (str, bytes, bytearray)):
            return result  # a mistake the server (or guard) will name; pass it on
        return _RecordedBody(result, sinks, lane, server_lane)


def _environ_payload(environ: Any) -> dict[str, Any]:
    try:
        copy = {str(k): v if isinstance(v, str) else repr(v) for k, v in dict(environ).items()}
    except Exception:
        return {"environ": {}, "summary": repr(environ)[:80]}
    path = copy.get("PATH_INFO", "")
    if copy.get("QUERY_STRING"):
        path += "?" + copy["QUERY_STRING"]
    return {"environ": copy, "summary": f"{copy.get('REQUEST_METHOD', '?')} {path}"}


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
    """
    _ensure_callable(app, "record_wsgi", "app(environ, start_response)", PEP3333)
    if flow is None:
        flow = Flow(f"WSGI {getattr(app, '__name__', type(app).__name__)}")
    return WSGIRecorder(app, flow, lane, server_lane), flow


# --------------------------------------------------------------------------- ASGI


def _scope_payload(scope: Any) -> dict[str, Any]:
    try:
        copy = _copy_value(dict(scope))
    except Exception:
        return {"scope": {}, "summary": repr(scope)[:80]}
    kind = copy.get("type", "?")
    if kind == "http":
        summary = f"http {copy.get('method', '?')} {copy.get('path', '')}"
    elif kind == "websocket":
        summary = f"websocket {copy.get('path', '')}"
    else:
        summary = str(kind)
    query = copy.get("query_string")
    if kind in ("http", "websocket") and query:
        summary += "?" + (query.decode("latin-1") if isinstance(query, bytes) else str(query))
    return {"scope": copy, "type": kind, "summary": summary}


def _message_payload(message: Any) -> dict[str, Any]:
    if not isinstance(message, dict):
        return {
            "type": None,
            "message": repr(message)[:BODY_CAP],
            "wrong_type": type(message).__name__,
            "summary": repr(message)[:60],
        }
    kind = message.get("type")
    copy: dict[str, Any] = {}
    payload: dict[str, Any] = {"type": kind, "message": copy, "summary": str(kind)}
    for key, value in message.items():
        if key in ("body", "bytes") and isinstance(value, (bytes, bytearray, memoryview)):
            fields = keep_body(value)
            payload.update(fields)
            copy[key] = fields["body"]
        elif key == "text" and isinstance(value, str) and len(value) > BODY_CAP:
            copy[key] = value[:BODY_CAP]
            payload.update({"size": len(value), "truncated": True})
        else:
            copy[str(key)] = _copy_value(value)
    if kind == "http.response.start":
        payload["summary"] = f"{kind} {message.get('status')}"
    elif "size" in payload:
        more = " more" if message.get("more_body") else ""
        payload["summary"] = f"{kind} {payload['size']} B{more}"
    return payload


class ASGIRecorder(_Recorder):
    """ASGI middleware that records each connection into :attr:`flow`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sinks, server_lane = _enter(self.flow, self.server_lane)
        lane = self.lane
        _emit(sinks, server_lane, lane, "scope", _scope_payload(scope))

        async def recording_receive() -> Message:
            message = await receive()
            _emit(sinks, server_lane, lane, "receive", _message_payload(message))
            return message

        async def recording_send(message: Message) -> None:
            _emit(sinks, lane, server_lane, "send", _message_payload(message))
            await send(message)

        token = _active.set((sinks, lane))
        try:
            result = await self.app(scope, recording_receive, recording_send)
        except BaseException as exc:
            _emit(sinks, lane, server_lane, "exception", _exception_payload(exc))
            raise
        finally:
            _active.reset(token)
        _emit(
            sinks,
            lane,
            server_lane,
            "return",
            {
                "type": type(result).__name__,
                "summary": "" if result is None else type(result).__name__,
            },
        )
        return result


def record_asgi(
    app: ASGIApp, flow: Flow | None = None, *, lane: str = "app", server_lane: str | None = None
) -> tuple[ASGIRecorder, Flow]:
    """Wrap an ASGI app so that every connection is recorded; returns (app, flow).

    In a notebook::

        recorded, flow = gl.record_asgi(app)
        await gl.call_asgi(recorded)
        gl.show_flow(flow)
    """
    _ensure_callable(app, "record_asgi", "`async def app(scope, receive, send)`", ASGI_SPEC)
    if flow is None:
        flow = Flow(f"ASGI {getattr(app, '__name__', type(app).__name__)}")
    return ASGIRecorder(app, flow, lane, server_lane), flow


def _ensure_callable(app: Any, who: str, signature: str, spec: str) -> None:
    if not callable(app):
        raise NotAnAppError(
            f"{who} needs the app itself, a callable {signature}, but got a "
            f"{type(app).__name__} ({repr(app)[:60]}), which cannot be called. Pass "
            f"the function itself, without parentheses. See {spec}"
        )
