"""The ASGI recorder: middleware that writes down one connection at a time (the ASGI spec).

Theory of operation: the app gets the very same scope, and a ``receive`` and
``send`` that hand the very same message objects through, each noting the
message on the way (flattened, bodies capped: see
:mod:`~gateway_lab.events.kinds`). Events, in the order they happen::

    server -> app     scope       scope_payload(scope)
    server -> app     receive     message_payload(message)
    app -> server     send        message_payload(message)
    app -> server     return      return_payload(result, asgi=True)
    app -> server     exception   exception_payload(...)

A ``send`` is noted *before* it is handed to the server, so a message the
server refuses is on record (and the server's exception, when it reaches
the app, is marked ``from_server``). An app whose call returns something
that cannot be awaited (a plain ``def``) gets a ``return`` event with
``awaitable`` False, then fails exactly as it would without the recorder.
An ASGI 2 app (a class: ``app(scope)`` makes an instance that is called
with ``receive`` and ``send``) is called that way, as servers and the
checker do, since a server cannot tell it apart once it is wrapped.
A lifespan app that rebinds ``scope["state"]`` before its
``lifespan.startup.complete`` has that send marked ``state_replaced``: the
server copies only the dict it gave, so the flow shows the lost state.
"""

from __future__ import annotations

import inspect
from typing import Any

from gateway_lab.events.kinds import RECEIVE, RETURN, SCOPE, SEND
from gateway_lab.events.payloads import (
    copy_value,
    message_payload,
    replaced_state,
    return_payload,
    scope_payload,
)
from gateway_lab.events.record.base import (
    Recorder,
    ServerRaised,
    active,
    emit,
    enter,
    record_exception,
)
from gateway_lab.types import Message, Receive, Scope, Send

__all__ = ["ASGIRecorder"]


def _asgi2(app: Any) -> bool:
    """An ASGI 2 app: a class, whose instance (made from the scope) takes receive and send."""
    return inspect.isclass(app)


class ASGIRecorder(Recorder):
    """ASGI middleware that records each connection into :attr:`flow`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sinks, server_lane = enter(self.flow, self.server_lane)
        lane = self.lane
        raised = ServerRaised()
        emit(sinks, server_lane, lane, SCOPE, scope_payload(scope))

        async def recording_receive() -> Message:
            try:
                message = await receive()
            except BaseException as exc:
                raised.note(exc, "receive")
                raise
            emit(sinks, server_lane, lane, RECEIVE, message_payload(message))
            return message

        given_state = scope.get("state") if scope.get("type") == "lifespan" else None

        async def recording_send(message: Message) -> None:
            payload = message_payload(message)
            if (
                given_state is not None
                and payload.get("type") == "lifespan.startup.complete"
                and scope.get("state") is not given_state
            ):
                payload["state_replaced"] = replaced_state(scope.get("state"))
            emit(sinks, lane, server_lane, SEND, payload)
            try:
                await send(message)
            except BaseException as exc:
                raised.note(exc, "send")
                raise

        token = active.set((sinks, lane))
        try:
            try:
                app: Any = self.app
                if _asgi2(app):  # ASGI 2: app(scope), then instance(receive, send)
                    called = app(scope)(recording_receive, recording_send)
                else:
                    called = self.app(scope, recording_receive, recording_send)
                if inspect.isawaitable(called):
                    result: object = await called  # an ASGI app returns None
            except BaseException as exc:
                record_exception(sinks, lane, server_lane, raised, exc)
                raise
            if not inspect.isawaitable(called):
                payload = return_payload(called, asgi=True)
                payload.update(awaitable=False, value=copy_value(called))
                emit(sinks, lane, server_lane, RETURN, payload)
                await called  # fails as it would without us; the server names it
        finally:
            active.reset(token)
        emit(sinks, lane, server_lane, RETURN, return_payload(result, asgi=True))
