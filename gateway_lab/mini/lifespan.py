"""The ASGI lifespan scope: the app's chance to set up before the first request.

Theory of operation (spec: https://asgi.readthedocs.io/en/latest/specs/lifespan.html):
before the server accepts any connection it calls the app *once* with
``{"type": "lifespan", "state": {}}`` and keeps that call running for the
server's whole life. The conversation is four messages long::

    server -> app   {"type": "lifespan.startup"}
    app -> server   {"type": "lifespan.startup.complete"}     (or ...startup.failed)
        ... the server serves requests; each scope gets a copy of "state" ...
    server -> app   {"type": "lifespan.shutdown"}
    app -> server   {"type": "lifespan.shutdown.complete"}    (or ...shutdown.failed)

Three endings of the startup step, as the spec (and uvicorn's "auto" mode) has them:

* ``startup.complete``: serve, and give every request a copy of ``state``;
* ``startup.failed``: refuse to start; the app's ``message`` becomes the error
  the learner sees;
* the app raises (or returns) before answering: it does not do lifespan,
  which is allowed. Note it in the log and serve on, without ``state``.

The app's call runs as a task. Two queues carry the messages: ``inbox``
(what ``receive`` hands the app) and ``replies`` (what the app sent, plus an
"ended" note when its call is over), so the server simply awaits the next
reply after each message it puts in. Which reply is allowed when is the
``"lifespan"`` table of :mod:`gateway_lab.protocol.asgi` (``self.order``);
any other raises :class:`~gateway_lab.errors.LifespanProtocolError` with
the table's sentence, inside the app's ``send``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway_lab import specs
from gateway_lab.errors import LifespanProtocolError, LifespanStartupFailed
from gateway_lab.protocol import asgi as order
from gateway_lab.serving.log import ServerLog
from gateway_lab.types import ASGIApp, Message

__all__ = ["Lifespan", "LifespanStartupFailed"]

LIFESPAN_SPEC = specs.ASGI_LIFESPAN
_ENDED = {"type": "ended"}  # our own note: the app's lifespan call is over


class Lifespan:
    """Run the app's lifespan scope: ``await startup()``, later ``await shutdown()``."""

    def __init__(self, app: ASGIApp, log: ServerLog) -> None:
        self.app = app
        self.log = log
        self.state: dict[str, Any] = {}
        self.supported = False  # True once the app answered startup.complete
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._replies: asyncio.Queue[Message] = asyncio.Queue()
        self.order = order.INITIAL["lifespan"]  # the conversation so far, in the table
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        """Tell the app the server is starting; raise LifespanStartupFailed if it says no."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        reply = await self._ask("startup")
        if reply["type"] == "lifespan.startup.complete":
            self.supported = True
        elif reply["type"] == "lifespan.startup.failed":
            said = reply.get("message", "") or "(no message)"
            raise LifespanStartupFailed(
                f"The app's lifespan startup failed, so the mini server did not start. "
                f"The app said: {said}. Look at how the app handles 'lifespan.startup' "
                f"(it sent 'lifespan.startup.failed'). See {LIFESPAN_SPEC}"
            )

    async def shutdown(self, timeout: float) -> None:
        """Tell the app the server is stopping; wait at most ``timeout`` seconds."""
        if not self.supported or self._task is None or self._task.done():
            return
        try:
            reply = await asyncio.wait_for(self._ask("shutdown"), timeout)
        except asyncio.TimeoutError:
            self.log.message(
                f"lifespan: the app did not answer 'lifespan.shutdown' within {timeout} s; "
                "its lifespan task was cancelled"
            )
            return
        if reply["type"] == "lifespan.shutdown.failed":
            self.log.error(
                f"the app's lifespan shutdown failed: {reply.get('message', '')}",
                where="lifespan",
            )

    async def cancel(self) -> None:
        """End the app's lifespan call if it is still running."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)

    async def _ask(self, step: str) -> Message:
        self.order, _ = order.step("lifespan", self.order, f"lifespan.{step}")
        self._inbox.put_nowait({"type": f"lifespan.{step}"})
        return await self._replies.get()

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._receive, self._send)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:  # never the server's end
            if self.supported:
                self.log.error(
                    f"the app's lifespan call raised {type(exc).__name__}: {exc}",
                    exc=exc,
                    where="lifespan",
                )
            else:
                self.log.message(
                    f"lifespan: the app raised {type(exc).__name__}: {exc} on the "
                    "'lifespan' scope, so it does not support lifespan; serving without it"
                )
                if isinstance(exc, LifespanProtocolError):
                    self.log.error(str(exc), exc=exc, where="lifespan")
        else:
            if not self.supported:
                self.log.message(
                    "lifespan: the app returned without answering 'lifespan.startup'; "
                    "serving without lifespan"
                )
        finally:
            self._replies.put_nowait(_ENDED)

    async def _receive(self) -> Message:
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        if not isinstance(message, dict):
            raise LifespanProtocolError(
                f"send() takes a dict with a 'type' key, not {message!r:.60}. See {LIFESPAN_SPEC}"
            )
        following, problem = order.step("lifespan", self.order, order.message_key(message))
        if problem is not None:
            raise LifespanProtocolError(problem)
        self.order = following
        self._replies.put_nowait(message)
