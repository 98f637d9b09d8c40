"""The server's side of the lifespan scope (the ASGI lifespan spec).

Theory of operation: ``receive`` gives ``lifespan.startup`` at once and
``lifespan.shutdown`` only when the driver asks for it, after the requests.
Each must be answered with its own ``.complete`` or ``.failed`` message:
the ``"lifespan"`` table of :mod:`gateway_lab.protocol.asgi` says which
reply fits (``self.order``: idle, starting, serving, stopping, stopped or
failed). An app that raises or returns before answering anything does not
support lifespan, which is allowed (the driver notes it as information).

The requests get a copy of ``self.state``, the dict the scope carried: an
app that rebinds ``scope["state"]`` to a dict of its own at startup loses
what it puts there (``asgi.lifespan-state-replaced``; ``self.given`` keeps
the scope the app was handed, to compare).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gateway_lab.check.asgi.base import ASGI_VERSION, Connection
from gateway_lab.check.asgi.messages import lifespan_reply_problems
from gateway_lab.check.explain import short
from gateway_lab.events.flow import Event, Flow
from gateway_lab.events.payloads import replaced_state
from gateway_lab.protocol import asgi as order

__all__ = ["LifespanConnection"]


class LifespanConnection(Connection):
    """The lifespan scope: startup now, shutdown when the battery is done."""

    scope_type = "lifespan"

    def __init__(self, flow: Flow, number: int) -> None:
        super().__init__(flow, number, "lifespan startup")
        self.state: dict[str, Any] = {}
        self.shutdown_requested = False
        self.replied = asyncio.Event()
        self.given: dict[str, Any] = {}

    def scope(self) -> dict[str, Any]:
        self.given = {"type": "lifespan", "asgi": dict(ASGI_VERSION), "state": self.state}
        return self.given

    @property
    def startup_failed(self) -> bool:
        return self.order == "failed"

    async def next_message(self) -> dict[str, Any]:
        if self.order == "idle":
            self.order, _ = order.step("lifespan", self.order, "lifespan.startup")
            return {"type": "lifespan.startup"}
        while not self.shutdown_requested:
            self.wakeup.clear()
            await self.wakeup.wait()
        if self.order not in order.FINAL["lifespan"]:
            self.order, _ = order.step("lifespan", self.order, "lifespan.shutdown")
            self.label = "lifespan shutdown"
            return {"type": "lifespan.shutdown"}
        await asyncio.Event().wait()  # nothing follows the shutdown
        raise AssertionError("unreachable")

    def request_shutdown(self) -> None:
        self.shutdown_requested = True
        self.label = "lifespan shutdown"
        self.replied.clear()
        self.wakeup.set()

    def judge_send(self, kind: str, message: Mapping[str, Any], event: Event) -> None:
        if self.follow(message, event) is not None:
            self.confused = True  # the driver stops waiting for a reply that will not come
            return
        self.problems(lifespan_reply_problems(kind, message), event)
        mine = self.given.get("state", self.state)
        if kind == "lifespan.startup.complete" and mine is not self.state:
            shown = event.payload["state_replaced"] = replaced_state(mine)  # as the recorder does
            self.find("asgi.lifespan-state-replaced", [event], value=shown)
        if kind == "lifespan.startup.failed":
            self.find(
                "asgi.lifespan-startup-failed", [event], value=short(message.get("message", ""))
            )
        self.replied.set()
