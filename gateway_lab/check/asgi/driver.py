"""Run the ASGI battery on a fresh event loop in a worker thread.

Theory of operation: a notebook cell already runs inside an event loop, so
``asyncio.run`` is not allowed there, and awaiting the app on the kernel's
own loop would let a blocking app freeze the kernel. So the battery gets a
loop of its own, in a daemon thread, and the caller just waits for it: a
plain function, the same in a script and in a notebook.

The battery, in the order a server would do it: the lifespan startup, each
HTTP request, a WebSocket connection, the lifespan shutdown. Each app call
gets ``timeout`` seconds (``asyncio.wait`` then cancel: an app that swallows
the cancellation is left behind, not waited for). A :class:`LagMonitor`
ticks alongside, so an app that blocks the loop is caught in the act. If
the loop itself stops answering (``time.sleep(3600)`` in the app), the
waiting thread gives up after the same timeout and reports what it saw.

Scopes the app does not support are fine: an app may reject any scope type
before sending anything, by raising (what the spec asks) or returning, and
whichever types it serves that is never an error (:mod:`.outcomes` judges
them once the battery is over: a return is one note, a raise is silent).
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from typing import Any

from gateway_lab import specs
from gateway_lab.check.asgi.base import ClientDisconnected, Connection
from gateway_lab.check.asgi.http import HTTPRequestConnection
from gateway_lab.check.asgi.lifespan import LifespanConnection
from gateway_lab.check.asgi.outcomes import Rejections, lifespan_crash, raised
from gateway_lab.check.asgi.websocket import WebSocketConnection
from gateway_lab.check.battery import Probe
from gateway_lab.check.explain import describe_exception, short
from gateway_lab.check.looplag import LagMonitor
from gateway_lab.check.report import Finding
from gateway_lab.check.rules import finding
from gateway_lab.events.flow import Flow
from gateway_lab.events.kinds import EXCEPTION, RETURN, SCOPE, TIMEOUT
from gateway_lab.events.payloads import copy_value, exception_payload, return_payload, scope_payload
from gateway_lab.events.record.base import learner_traceback
from gateway_lab.interface.response import Response
from gateway_lab.platform import IN_BROWSER, run_here

__all__ = ["run_asgi_battery"]


class _Battery:
    def __init__(
        self,
        app: Any,
        probes: list[Probe],
        flow: Flow,
        timeout: float,
        lifespan: bool,
        websocket: bool,
        lag: LagMonitor,
    ) -> None:
        self.app = app
        self.probes = probes
        self.flow = flow
        self.timeout = timeout
        self.lifespan = lifespan
        self.websocket = websocket
        self.lag = lag
        self.findings: list[Finding] = []
        self.progress: queue.Queue[str] = queue.Queue()
        self.current: Connection | None = None
        self.not_awaitable = False
        self.responses: list[Response | None] = [None] * len(probes)
        self.rejections = Rejections()

    # -- one app call ------------------------------------------------------------------
    async def call(self, conn: Connection) -> None:
        scope = conn.scope()
        conn.event("server", SCOPE, scope_payload(scope))
        app: Any = self.app  # anything a learner passes; inspect below narrows nothing
        try:
            if isinstance(app, type):  # ASGI 2 style: app(scope) -> instance
                instance: Any = app(scope)
                result = instance(conn.receive, conn.send)
            else:
                result = app(scope, conn.receive, conn.send)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            self.failed(conn, exc)
            return
        if not inspect.isawaitable(result):
            payload = return_payload(result, asgi=True)
            payload.update(awaitable=False, value=copy_value(result))
            conn.event("app", RETURN, payload)
            if not self.not_awaitable:
                self.findings.append(finding("asgi.not-awaitable", conn.label, value=short(result)))
            self.not_awaitable = True
            return
        await self.await_app(conn, result)

    async def await_app(self, conn: Connection, awaitable: Any) -> None:
        task = asyncio.ensure_future(_contained(awaitable))
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if not done:
            task.cancel()
            conn.event("server", TIMEOUT, {"summary": f"gave up after {self.timeout:g} s"})
            conn.finished("timeout")
            if not conn.noted & {"asgi.receive-after-body", "asgi.lifespan-no-reply"}:
                conn.find("app.timeout", timeout=self.timeout, detail=_hang_detail(conn))
            return
        exc = task.exception()
        if isinstance(exc, _AppExit):
            exc = exc.original  # SystemExit / KeyboardInterrupt: the app's, like any other
        if exc is None or isinstance(exc, ClientDisconnected):
            conn.event("app", RETURN, return_payload(task.result() if exc is None else None, True))
            conn.outcome = "return"
            conn.finished("return")
        else:
            self.failed(conn, exc)

    def failed(self, conn: Connection, exc: BaseException) -> None:
        conn.event("app", EXCEPTION, exception_payload(exc, learner_traceback(exc)))
        conn.outcome = "exception"
        conn.finished("exception")
        if not (conn.sent_any or conn.ignored or conn.received_any):  # turned away at once
            self.rejections.add(conn, f"it raised {type(exc).__name__}", by_raising=True)
            if conn.scope_type != "http":
                return
        elif conn.scope_type == "lifespan" and not conn.sent_any:  # the spec's other way
            how = f"it raised {type(exc).__name__} during startup"
            self.rejections.add(conn, how, by_raising=True, detail=lifespan_crash(exc))
            return
        if not conn.ignored:
            raised(conn, exc)

    # -- the battery -------------------------------------------------------------------
    async def run(self) -> None:
        self.lag.start()
        ticker = asyncio.ensure_future(self.lag.ticker())
        try:
            life = await self.startup() if self.lifespan else None
            state = life.state if life else {}
            number = 2
            conns: list[Connection] = [
                HTTPRequestConnection(self.flow, n, p, state)
                for n, p in enumerate(self.probes, number)
            ]
            if self.websocket:
                conns.append(WebSocketConnection(self.flow, number + len(conns), state))
            for conn in conns:
                if self.not_awaitable:
                    break
                self.lag.watch(conn.label)
                await self.call(conn)
                self.lag.watch(None)
                self.findings.extend(conn.findings)
                self.rejections.saw(conn)
                if _returned_at_once(conn):
                    self.rejections.add(conn, "it returned at once", by_raising=False)
                if isinstance(conn, HTTPRequestConnection):
                    self.responses[conn.number - number] = conn.response()
                self.progress.put(conn.label)
            if life is not None:
                await self.shutdown(life)
            http_count = sum(isinstance(c, HTTPRequestConnection) for c in conns)
            self.findings = self.rejections.settle(self.findings, http_count)
        finally:
            self.lag.watch(None)
            ticker.cancel()
            self.lag.stop()

    async def startup(self) -> LifespanConnection | None:
        life = LifespanConnection(self.flow, 1)
        task = asyncio.ensure_future(self.call(life))
        replied = asyncio.ensure_future(life.replied.wait())
        done, _ = await asyncio.wait(
            {task, replied}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
        )
        self.progress.put(life.label)
        if replied in done:
            self.findings.extend(life.findings)
            life.findings.clear()
            life.task = task  # type: ignore[attr-defined]
            self.rejections.saw(life)
            return None if life.startup_failed or life.confused else life
        replied.cancel()
        if task in done:
            if not life.findings and not life.noted and life.outcome == "return":
                how = "it returned without replying" if life.received_any else "it returned at once"
                if life.received_any:
                    life.find(
                        "asgi.lifespan-no-reply",
                        event="'lifespan.startup'",
                        how="returned",
                        reply="lifespan.startup.complete",
                    )
                elif life.outcome == "return":
                    self.rejections.add(life, how, by_raising=False)
        else:
            task.cancel()
            if life.received_any and not life.ignored and not life.confused:
                life.find(
                    "asgi.lifespan-no-reply",
                    event="'lifespan.startup'",
                    how=f"waited {self.timeout:g} s",
                    reply="lifespan.startup.complete",
                )
            elif not life.ignored and not life.confused:
                life.find(
                    "app.timeout",
                    timeout=self.timeout,
                    detail="It never replied to the lifespan startup.",
                )
        self.findings.extend(life.findings)
        return None

    async def shutdown(self, life: LifespanConnection) -> None:
        task: asyncio.Future[Any] = life.task  # type: ignore[attr-defined]
        life.request_shutdown()
        replied = asyncio.ensure_future(life.replied.wait())
        done, _ = await asyncio.wait(
            {task, replied}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if replied in done:
            await asyncio.wait({task}, timeout=min(0.5, self.timeout))
        else:
            replied.cancel()
            if not life.noted:
                how = "returned" if task in done else f"waited {self.timeout:g} s"
                if task not in done or life.order == "stopping":
                    life.find(
                        "asgi.lifespan-no-reply",
                        event="'lifespan.shutdown'",
                        how=how,
                        reply="lifespan.shutdown.complete",
                    )
        if not task.done():
            task.cancel()
        self.findings.extend(life.findings)
        self.progress.put(life.label)


class _AppExit(Exception):
    """An app's ``SystemExit`` or ``KeyboardInterrupt``, carried as an ordinary exception.

    Raised as themselves inside a task, asyncio would re-raise them out of the
    loop, ending the whole battery (and printing "Task exception was never
    retrieved"); an app that raises them has simply failed, as with any other.
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


async def _contained(awaitable: Any) -> Any:
    try:
        return await awaitable
    except (SystemExit, KeyboardInterrupt) as exc:
        raise _AppExit(exc) from None


def _returned_at_once(conn: Connection) -> bool:
    """Did the app return without sending anything (and, on a WebSocket, reading)?"""
    if conn.outcome != "return" or conn.sent_any or conn.ignored:
        return False
    return isinstance(conn, HTTPRequestConnection) or not conn.received_any


def _hang_detail(conn: Connection) -> str:
    if isinstance(conn, HTTPRequestConnection):
        if conn.start_event is None:
            return "It had not sent 'http.response.start' yet."
        return f"It had sent {conn.body_size} body bytes, and more_body was still True."
    if isinstance(conn, WebSocketConnection):
        return "The WebSocket stayed open although the client had left."
    return ""


def _run_loop(battery: _Battery) -> None:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(battery.run())
    except BaseException as exc:  # noqa: BLE001 - our own failure, reported below
        battery.findings.append(finding("check.failed", exc=describe_exception(exc)))
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=0.5))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            battery.progress.put("")


def run_asgi_battery(
    app: Any,
    probes: list[Probe],
    flow: Flow,
    *,
    timeout: float,
    lifespan: bool = True,
    websocket: bool = True,
    lag_threshold: float = 0.05,
) -> tuple[list[Finding], list[Response | None]]:
    """Drive ``app`` through the battery; the findings (lag included) and the responses."""
    lag = LagMonitor(lag_threshold)
    battery = _Battery(app, probes, flow, timeout, lifespan, websocket, lag)
    if IN_BROWSER:  # no threads there: the battery runs on the page's event loop
        run_here(battery.run())
        return list(battery.findings) + _blocking_findings(lag), list(battery.responses)
    worker = threading.Thread(
        target=_run_loop, args=(battery,), name="gateway-lab-check-asgi", daemon=True
    )
    worker.start()
    stuck = False
    while True:
        try:
            step = battery.progress.get(timeout=timeout * 1.5 + 0.5)
        except queue.Empty:
            stuck = True
            break
        if step == "":
            break
    findings = list(battery.findings)
    if stuck:
        lag.stop()
        label = lag.label or "the app"
        findings.append(
            finding(
                "app.timeout",
                label,
                timeout=timeout,
                detail="The event loop stopped answering altogether: "
                "something in the app blocks and never returns.",
            )
        )
    else:
        worker.join(1.0)
    findings.extend(_blocking_findings(lag))
    for item in findings:
        if item.rule == "app.timeout":  # a rule of both interfaces: here, the ASGI spec's app
            item.spec = specs.ASGI_APPLICATIONS
    return findings, list(battery.responses)


def _blocking_findings(lag: LagMonitor) -> list[Finding]:
    """One finding per blocking line: the worst lag, and every request it slowed."""
    by_place: dict[str, list[Any]] = {}
    for stall in lag.blocking():
        by_place.setdefault(stall.where, []).append(stall)
    found = []
    for place, stalls in by_place.items():
        worst = max(stalls, key=lambda s: s.lag)
        item = finding("asgi.blocking-call", stalls[0].label, lag_ms=worst.lag * 1000, where=place)
        item.also = [s.label for s in stalls[1:]]
        found.append(item)
    return found
