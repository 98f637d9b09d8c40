"""The server's side of one WebSocket (the ASGI spec, "WebSocket").

Theory of operation: the client connects (``websocket.connect``), and once
the app accepts it says "hello" once and then leaves
(``websocket.disconnect``); a ``receive()`` after that is a mistake
(``asgi.receive-after-disconnect``), answered by raising
:class:`ClientDisconnected` so a loop that ignores the disconnect ends at
once instead of spinning. An app that never reads is left after a short
``linger``; from then on its sends raise :class:`ClientDisconnected`, an
``OSError`` as the spec asks, which ends an endless push loop the way a
real server would. The order is the ``"websocket"`` table of
:mod:`gateway_lab.protocol.asgi` (``self.order``): ``websocket.close``
before ``websocket.accept`` is a valid refusal; sending before accepting,
accepting twice and sends after the close are mistakes, and so is the
denial response extension, which this checker does not offer. Malformed
messages are judged by :mod:`.messages`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gateway_lab.check.asgi.base import ASGI_VERSION, ClientDisconnected, Connection
from gateway_lab.check.asgi.messages import ws_accept_problems, ws_close_problems, ws_send_problems
from gateway_lab.events.flow import Event, Flow
from gateway_lab.interface.environ import make_http_scope
from gateway_lab.protocol import asgi as order

__all__ = ["WebSocketConnection"]


class WebSocketConnection(Connection):
    """A WebSocket client that connects, says "hello" once accepted, then leaves."""

    scope_type = "websocket"

    def __init__(self, flow: Flow, number: int, state: dict[str, Any], linger: float = 0.3) -> None:
        super().__init__(flow, number, "WEBSOCKET /ws")
        self.state = state
        self.linger = linger
        self.step = 0
        self.saw_connect = False
        self.accepted = False  # the client's view: the handshake was answered with 101

    @property
    def closed(self) -> bool:
        """The app closed the WebSocket (or refused it)."""
        return self.order in order.FINAL["websocket"]

    def scope(self) -> dict[str, Any]:
        scope = make_http_scope(
            "GET",
            "/ws",
            [
                ("Host", "127.0.0.1"),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Version", "13"),
            ],
        )
        for key in ("method",):
            scope.pop(key, None)
        scope.update(
            {
                "type": "websocket",
                "scheme": "ws",
                "subprotocols": [],
                "asgi": dict(ASGI_VERSION),
                "state": dict(self.state),
                "extensions": {},
            }
        )
        return scope

    async def next_message(self) -> dict[str, Any]:
        if self.step == 3:  # the disconnect was given: a real server would wait for good
            self.find("asgi.receive-after-disconnect")
            raise ClientDisconnected("receive() after websocket.disconnect")
        if self.step == 0:
            self.step = 1
            self.saw_connect = True
            return {"type": "websocket.connect"}
        while self.step == 1 and not (self.gone or self.closed or self.accepted):
            self.wakeup.clear()
            await self.wakeup.wait()
        if self.step == 1 and self.accepted and not (self.gone or self.closed):
            self.step = 2
            return {"type": "websocket.receive", "text": "hello"}
        self.gone = True
        self.step = 3
        return {"type": "websocket.disconnect", "code": 1000, "reason": ""}

    def judge_send(self, kind: str, message: Mapping[str, Any], event: Event) -> None:
        broken = self.follow(message, event)
        if broken is not None and broken.rule != "asgi.ws-send-before-accept":
            return  # after the close, accepted twice, unknown: nothing more to judge in it
        if kind == "websocket.accept":
            self.problems(ws_accept_problems(message, []), event)
            self.accepted = True
            self.wakeup.set()
            asyncio.get_running_loop().call_later(self.linger, self.leave)
        elif kind == "websocket.send":
            self.problems(ws_send_problems(message), event)
        elif kind == "websocket.close":
            self.problems(ws_close_problems(message), event)
            self.wakeup.set()

    def finished(self, outcome: str) -> None:
        self.leave()
        if "send" in self.judge_awaits():
            return  # what did arrive is not the conversation the app meant to have
        unanswered = order.ending("websocket", self.order)
        # An app that answered as HTTP (self.ignored) got scope-type-ignored, once.
        ended_otherwise = self.sent_any or self.confused or self.ignored
        if outcome != "return" or not self.saw_connect or ended_otherwise:
            return
        if unanswered is not None:
            self.violated(unanswered)
