"""One checker connection against a learner's ASGI app, on an event loop of its own.

Theory of operation: some exercises need a client that does more than send
one request and read one answer: one that hangs up in the middle of a
stream (:mod:`.stream_exercise`), one that holds a WebSocket conversation
(:mod:`.websocket_exercise`). Each plays that client with a subclass of the
checker's own :class:`~.asgi_base.Connection`, so every protocol mistake is
judged by the same rules as ``gl.check_asgi``.

:func:`run_connection` starts a fresh event loop in a daemon thread, calls
``app(scope, receive, send)`` with the connection's three parts and waits at
most ``timeout`` seconds: an app that never returns is reported, never
waited for. It answers with one word for how the app ended: ``"return"``,
``"exception"`` (an ``app.raised`` finding, worded for the scope and naming
the last message received: :func:`~gateway_lab.check.asgi.outcomes.raised`),
``"timeout"`` (the
app was cancelled) or ``"stuck"`` (the thread itself did not come back).
Given ``blocking_ms``, a :class:`~.looplag.LagMonitor` ticks on the same
loop while the app runs, and a stall longer than that, caught inside the
app's code, becomes an ``asgi.blocking-call`` finding that names the line
(as in ``gl.check_asgi``). An exercise whose app waits a few tens of
milliseconds between steps passes a threshold below that wait, so that a
``time.sleep`` in place of ``await asyncio.sleep`` is measurable.

:func:`brief` keeps a passing report short (consecutive ✓ lines about one
request become one line). The two small helpers turn what the connection saw
into feedback:
:func:`still_not_implemented` spots the notebook's scaffold (an app that
still raises ``NotImplementedError``, answered with
:data:`NOT_IMPLEMENTED`), and :func:`finding_lines` turns the checker's
errors and warnings into ✗ / ! lines of an
:class:`~.exercises.ExerciseResult`.

ASGI spec: https://asgi.readthedocs.io/en/latest/specs/
"""

from __future__ import annotations

import asyncio
import threading

from gateway_lab.check.asgi.base import Connection
from gateway_lab.check.asgi.outcomes import raised
from gateway_lab.check.explain import describe_exception
from gateway_lab.check.looplag import LagMonitor
from gateway_lab.check.report import Finding, Report
from gateway_lab.check.rules import finding
from gateway_lab.events.kinds import RETURN, SCOPE
from gateway_lab.events.payloads import return_payload, scope_payload
from gateway_lab.exercises.compact import finding_lines as grouped_lines
from gateway_lab.platform import IN_BROWSER, run_here
from gateway_lab.types import ASGIApp

__all__ = [
    "NOT_IMPLEMENTED",
    "brief",
    "finding_lines",
    "run_connection",
    "still_not_implemented",
]

NOT_IMPLEMENTED = (
    "The app still raises NotImplementedError: replace that line with your code, run "
    "the cell, then run this check again."
)


async def _talk(app: ASGIApp, conn: Connection, timeout: float, lag: LagMonitor | None) -> str:
    """Run the app against ``conn`` (with ``lag`` ticking alongside, if given)."""
    if lag is None:
        return await _call(app, conn, timeout)
    ticker = asyncio.ensure_future(lag.ticker())
    await asyncio.sleep(0)  # let the ticker note the loop's thread before the app starts
    lag.watch(conn.label)
    try:
        return await _call(app, conn, timeout)
    finally:
        lag.watch(None)
        ticker.cancel()


async def _call(app: ASGIApp, conn: Connection, timeout: float) -> str:
    """Run the app against ``conn``; 'return', 'exception' or 'timeout'."""
    scope = conn.scope()
    conn.event("server", SCOPE, scope_payload(scope))
    try:
        task = asyncio.ensure_future(app(scope, conn.receive, conn.send))
    except Exception as exc:  # raised before it became a coroutine
        raised(conn, exc)
        return "exception"
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        conn.finished("timeout")
        return "timeout"
    failure = task.exception()
    if failure is not None and not isinstance(failure, OSError):
        raised(conn, failure)
        conn.finished("exception")
        return "exception"
    conn.event("app", RETURN, return_payload(None if failure else task.result(), asgi=True))
    conn.finished("return")
    return "return"


def run_connection(
    app: ASGIApp, conn: Connection, timeout: float, *, blocking_ms: float | None = None
) -> str:
    """Run ``app`` against ``conn`` on a fresh loop in a worker thread.

    Returns 'return', 'exception', 'timeout' or 'stuck'; a failure of the
    check itself becomes a ``check.failed`` finding on ``conn``. With
    ``blocking_ms``, a stall of the loop longer than that inside the app's
    code becomes an ``asgi.blocking-call`` finding on ``conn``.
    """
    outcome: list[str] = []
    lag = LagMonitor(blocking_ms / 1000) if blocking_ms else None

    def work() -> None:
        loop = asyncio.new_event_loop()
        try:
            outcome.append(loop.run_until_complete(_talk(app, conn, timeout, lag)))
        except BaseException as exc:  # noqa: BLE001 - our own failure, reported
            conn.findings.append(finding("check.failed", exc=describe_exception(exc)))
        finally:
            loop.close()

    if IN_BROWSER:  # no threads there: the page's event loop runs the app
        try:
            outcome.append(run_here(_talk(app, conn, timeout, lag)))
        except Exception as exc:  # noqa: BLE001 - our own failure, reported
            conn.findings.append(finding("check.failed", exc=describe_exception(exc)))
        if lag is not None:
            conn.findings += _blocking_findings(lag, conn.label)
        return outcome[0] if outcome else "stuck"
    worker = threading.Thread(target=work, name="gateway-lab-ws-exercise", daemon=True)
    if lag is not None:
        lag.start()
    try:
        worker.start()
        worker.join(timeout + 1.0)
    finally:
        if lag is not None:
            lag.stop()
    if lag is not None:
        conn.findings += _blocking_findings(lag, conn.label)
    return outcome[0] if outcome else "stuck"


def _blocking_findings(lag: LagMonitor, label: str) -> list[Finding]:
    """One ``asgi.blocking-call`` per blocking line the monitor caught (worst stall first)."""
    by_place: dict[str, float] = {}
    for stall in lag.blocking():
        by_place[stall.where] = max(by_place.get(stall.where, 0.0), stall.lag)
    return [
        finding("asgi.blocking-call", label, lag_ms=worst * 1000, where=place)
        for place, worst in sorted(by_place.items(), key=lambda item: -item[1])
    ]


def still_not_implemented(conn: Connection) -> bool:
    """Did the app raise ``NotImplementedError`` (the notebook's scaffold)?"""
    return any(f.rule == "app.raised" and "NotImplementedError" in f.message for f in conn.findings)


def finding_lines(findings: list[Finding], prefix: str = "") -> list[tuple[str, str]]:
    """The checker's findings (errors and warnings) as feedback lines, one per rule.

    The findings go through a :class:`Report`, so they are grouped as the
    checker's own report groups them (:meth:`Report.grouped`).
    """
    report = Report("")
    for item in findings:
        report.findings.append(item)  # as they are: add() would merge them a second time
    return [(mark, prefix + text) for mark, text in grouped_lines(report)]


def brief(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive ✓ lines about one request as one line: "[hello] GET /hello: a, b, c"."""
    merged: list[tuple[str, str]] = []
    for mark, text in lines:
        about, sep, what = text.partition("): ")
        if merged and mark == "✓" and sep and merged[-1][0] == "✓":
            last_about, last_sep, last_what = merged[-1][1].partition("): ")
            if last_sep and last_about == about:
                merged[-1] = ("✓", f"{about}): {last_what}; {what}")
                continue
        merged.append((mark, text))
    return merged
