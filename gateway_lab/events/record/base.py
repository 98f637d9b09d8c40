"""What the WSGI and ASGI recorders share: where events go, nesting, and tracebacks.

Theory of operation: a recorder adds each event to one or more *sinks*, a
``(flow, connection)`` pair each. A recorder that runs inside another
recorder's exchange (a recorded middleware stack) finds the outer one in a
context variable, takes its lane as its own ``server_lane`` and writes to the
outer flow as well, under the outer connection number; so one flow shows
one lane per layer.

A recorded exception keeps its traceback without gateway_lab's own plumbing
frames (:func:`learner_traceback`): the learner sees their code and the
server's, not the recorder that only took notes. The exceptions a server's
callable (``start_response``, ``write``, ``send``, ``receive``) raised into
the app are remembered per exchange (:class:`ServerRaised`), so the app's
exception event can say ``from_server``: a check then knows the app did not
fail on its own.
"""

from __future__ import annotations

import contextvars
import os
import traceback
from typing import Any

from gateway_lab import specs
from gateway_lab.errors import NotAnAppError
from gateway_lab.events.flow import Flow
from gateway_lab.events.kinds import EXCEPTION
from gateway_lab.events.payloads import exception_payload

__all__ = [
    "ASGI_SPEC",
    "PEP3333",
    "Recorder",
    "ServerRaised",
    "Sinks",
    "active",
    "emit",
    "ensure_callable",
    "enter",
    "learner_traceback",
    "record_exception",
]

PEP3333 = specs.PEP3333_APP_SIDE  # what an app is: a callable(environ, start_response)
ASGI_SPEC = specs.ASGI_APPLICATIONS  # what an app is: async def app(scope, receive, send)

# (flow, connection) pairs an event goes to, and the lane of the innermost
# recorder currently running: what a nested recorder joins.
Sinks = tuple[tuple[Flow, int], ...]
active: contextvars.ContextVar[tuple[Sinks, str] | None] = contextvars.ContextVar(
    "gateway_lab_active_recording", default=None
)


def emit(sinks: Sinks, source: str, target: str, kind: str, payload: dict[str, Any]) -> None:
    for flow, connection in sinks:
        flow.add(source, target, kind, payload, connection)


def enter(flow: Flow, server_lane: str | None) -> tuple[Sinks, str]:
    """Sinks and the server-side lane for a new exchange, joining an outer one."""
    outer = active.get()
    if outer is None:
        return ((flow, flow.new_connection()),), server_lane or "server"
    outer_sinks, outer_lane = outer
    own = next(((f, c) for f, c in outer_sinks if f is flow), None)
    sinks = outer_sinks if own else ((flow, flow.new_connection()), *outer_sinks)
    return sinks, server_lane or outer_lane


_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
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


class ServerRaised:
    """The exceptions a server's callables raised into the app, during one exchange."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[int, tuple[BaseException, str]] = {}

    def note(self, exc: BaseException, callable_name: str) -> None:
        self._seen[id(exc)] = (exc, callable_name)  # the exception is kept: ids stay unique

    def payload(self, exc: BaseException, **extra: Any) -> dict[str, Any]:
        """The exception payload of ``exc``, with ``from_server`` if a server raised it."""
        noted = self._seen.get(id(exc))
        if noted is not None and noted[0] is exc:
            extra["from_server"] = noted[1]
        return exception_payload(exc, learner_traceback(exc), **extra)


def record_exception(
    sinks: Sinks, source: str, target: str, raised: ServerRaised, exc: BaseException, **extra: Any
) -> None:
    emit(sinks, source, target, EXCEPTION, raised.payload(exc, **extra))


class Recorder:
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


def ensure_callable(app: Any, who: str, signature: str, spec: str) -> None:
    if not callable(app):
        raise NotAnAppError(
            f"{who} needs the app itself, a callable {signature}, but got a "
            f"{type(app).__name__} ({repr(app)[:60]}), which cannot be called. Pass "
            f"the function itself, without parentheses. See {spec}"
        )
