"""Stream-until-disconnect exercises: an endless stream that must stop when the client leaves.

Theory of operation: a server-sent-events ticker has no natural end; it
must keep sending until the client hangs up, and then stop. Telling a good
one from a bad one needs a client that leaves in the middle, so a
:class:`StreamUntilDisconnectExercise` plays a :class:`LeavingClient`: the
checker's own :class:`~gateway_lab.check.asgi.http.HTTPRequestConnection` (so every protocol
mistake is judged by the same rules as ``gl.check_asgi``) for one
``GET /``, whose client reads ``leave_after`` body messages and then hangs
up. From then on the app's ``receive()`` gives ``http.disconnect``, and its
sends are still accepted and counted, as uvicorn does, silently.

The connection runs with :func:`~.connection_runner.run_connection` (a
fresh event loop in a worker thread, bounded by the exercise's
``timeout``), and the judge reads what it saw, in order:

* the response started, with ``content-type: text/event-stream``;
* the body is a well-formed event stream, in any form the HTML standard's
  grammar allows (:func:`sse_events`: ``id:``, ``event:``, ``retry:`` and
  comment lines, CRLF, CR or LF line ends, a space after the colon or not),
  made of complete events at least one of which carries ``data``;
* given ``data`` (a format such as ``"tick {}"``), the events carry the text
  the task asks, in order, counting from 1 (as a client reads it: with or
  without the space after ``data:``, with ``id:`` or ``event:`` lines or
  without);
* ``leave_after`` events arrived one by one; given ``pause``, the first
  ``leave_after`` of them were spread out in time, first to last, over at
  least three quarters of the pauses asked (a busy machine only makes
  pauses longer, so that bound never fails a right answer) and at most
  eight times them (a generous bound: ``asyncio.sleep(0.6)`` in place of
  ``0.05`` is named). Fewer events means the app stopped
  before the client left, and how it stopped names the cause: one that
  stalls with a ``receive()`` pending is awaiting it in its loop; one that
  returned, or ended the stream itself (``more_body=False``), after
  ``receive()`` had given it only ``http.request`` (and with no
  ``receive()`` still waiting) took the request's own body message for the
  client leaving, as a listener that does a single ``await receive()``
  does; one that ends the stream itself is named too;
* after the client left the app stopped: it did not keep streaming to
  nobody until the deadline, nor send more than two events first;
* it never blocked the event loop: the connection runs with a
  ``blocking_ms`` threshold below the ticker's pause, so a ``time.sleep``
  in place of ``await asyncio.sleep`` is caught (``asgi.blocking-call``).

The checker's ``asgi.receive-after-body`` finding is left out once the
response has started: in a stream that runs until the client leaves,
awaiting ``receive()`` after the body is exactly right (in a separate
task); the ✗ line about events that did not arrive names the real mistake,
a loop that awaits it between events. So is ``asgi.response-incomplete``:
here it only comes from an app that returned before the client left, and
its advice (end with ``more_body=False``) is what a ticker must not do; the
✗ line about the events says why the stream stopped. An empty body gets no
line about the event-stream format either: "only 0 event(s)" says it.

Feedback is an :class:`~.exercises.ExerciseResult` (✓ / ✗ lines, then the
checker's own findings; after ``asgi.send-not-awaited`` only the ✓ lines are
kept, since the events that never came are its consequence); the notebook's
scaffold, an app that still raises ``NotImplementedError``, gets a sentence
instead.

ASGI spec: https://asgi.readthedocs.io/en/latest/specs/www.html#disconnect-receive-event
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

from gateway_lab.check.asgi.http import HTTPRequestConnection
from gateway_lab.check.battery import Probe
from gateway_lab.check.report import Finding
from gateway_lab.events.flow import CHECK_PER_CONNECTION, Event, Flow
from gateway_lab.events.kinds import CLIENT_LEFT
from gateway_lab.exercises.framework import Exercise
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.exercises.runner import (
    NOT_IMPLEMENTED,
    finding_lines,
    run_connection,
    still_not_implemented,
)
from gateway_lab.exercises.sse import judge_data, judge_pace, sse_events
from gateway_lab.types import ASGIApp

__all__ = ["LeavingClient", "StreamUntilDisconnectExercise"]


class LeavingClient(HTTPRequestConnection):
    """A GET whose client reads ``leave_after`` body messages, then hangs up.

    After that the app's ``receive`` returns ``http.disconnect``; its sends
    are still accepted and counted (as uvicorn does, silently), so an app
    that never listens keeps streaming until the check's timeout.
    """

    def __init__(self, flow: Flow, number: int, leave_after: int) -> None:
        super().__init__(flow, number, Probe("GET", "/", label_override="GET / (stream)"), {})
        self.leave_after = leave_after
        self.messages = 0
        self.sent_at: list[float] = []  # when the app sent each body message before leaving
        self.sent_after_leaving = 0
        self.received: list[str] = []  # the type of each message receive() gave the app
        self.receive_pending = False  # a receive() was waiting when the app stopped

    async def take(self) -> dict[str, Any]:
        message = await super().take()
        self.received.append(str(message.get("type")))
        return message

    def only_the_request(self) -> bool:
        """receive() gave the app its request body ('http.request') and nothing more, and
        no receive() was waiting for the next message when the app stopped."""
        return set(self.received) == {"http.request"} and not self.receive_pending

    def judge_send(self, kind: str, message: Mapping[str, Any], event: Event) -> None:
        if self.gone:
            self.sent_after_leaving += kind == "http.response.body"
            return
        super().judge_send(kind, message, event)
        if kind == "http.response.body" and message.get("body"):
            self.messages += 1
            self.sent_at.append(time.perf_counter())
            if self.messages >= self.leave_after and not self.complete:
                self.event("server", CLIENT_LEFT, {"summary": "the client hung up"})
                self.leave()

    def finished(self, outcome: str) -> None:
        self.receive_pending = self.waiting_after_body  # before leaving changes anything
        if self.gone and outcome == "return":
            return  # the client hung up: a response left open is the right thing here
        super().finished(outcome)


class StreamUntilDisconnectExercise(Exercise):
    """An endless event stream that must stop when the client leaves.

    ``data`` is the text the task asks of event *n*, a format such as ``"tick {}"``
    (events count from 1); ``pause`` the seconds it asks between events. Either may be
    left empty (``""``, ``0``): not checked.
    """

    def __init__(
        self,
        name: str,
        *,
        title: str = "",
        leave_after: int = 3,
        blocking_ms: float = 30.0,
        data: str = "",
        pause: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, kind="asgi", cases=[], title=title, **kwargs)
        self.leave_after = leave_after
        self.blocking_ms = blocking_ms  # below the exercise's pause between events
        self.data = data
        self.pause = pause

    def evaluate(self, app: object) -> ExerciseResult:
        unfinished = self._unfinished(app)
        if unfinished:
            return ExerciseResult(self.title, False, unfinished=unfinished)
        conn = LeavingClient(
            Flow(self.title, per_connection=CHECK_PER_CONNECTION), 1, self.leave_after
        )
        answer = cast(ASGIApp, app)  # _unfinished saw an async callable
        outcome = run_connection(answer, conn, self.timeout, blocking_ms=self.blocking_ms)
        if still_not_implemented(conn):
            return ExerciseResult(self.title, False, unfinished=NOT_IMPLEMENTED)
        judged = _judge_stream(self, conn, outcome)
        found = finding_lines(_relevant_findings(conn))
        if any(item.rule == "asgi.send-not-awaited" for item in conn.findings):
            # Events that never came are its consequence: the cause first, and alone.
            judged = [(ok, text) for ok, text in judged if ok]
        lines = [("✓" if ok else "✗", text) for ok, text in judged] + found
        return ExerciseResult(self.title, all(m != "✗" for m, _ in lines), lines)


_CONTRADICTED = ("asgi.receive-after-body", "asgi.response-incomplete")


def _relevant_findings(conn: LeavingClient) -> list[Finding]:
    """The checker's findings, without those that contradict this exercise (see the module doc)."""
    started = conn.response() is not None
    return [f for f in conn.findings if not (started and f.rule in _CONTRADICTED)]


def _judge_stream(
    exercise: StreamUntilDisconnectExercise, conn: LeavingClient, outcome: str
) -> list[tuple[bool, str]]:
    response = conn.response()
    if response is None:
        return [(False, "no response started: send 'http.response.start' first")]
    results: list[tuple[bool, str]] = []
    kind = response.header("content-type") or ""
    results.append(
        (
            "text/event-stream" in kind,
            f"content-type: {kind}"
            if "text/event-stream" in kind
            else f"content-type should be text/event-stream, got {kind!r}",
        )
    )
    events, problem = sse_events(response.body)
    good = problem == ""
    if response.body:  # nothing at all: the line about the events below says so
        count = f"{len(events)} well-formed event{'s' if len(events) != 1 else ''}"
        results.append(
            (
                good,
                f"{count} (data lines, each event ended by a blank line)"
                if good
                else f"the body is not a well-formed event stream: {problem}. "
                "Each event is one or more lines such as b'data: tick 1\\n' (id:, event:, "
                "retry: and ': comment' lines may come too), then a blank line b'\\n'",
            )
        )
    if good and exercise.data:
        results.append(judge_data(exercise.data, events))
    wanted = exercise.leave_after
    if conn.messages < wanted:
        results.append((False, _stopped_early(exercise, conn, outcome)))
        return results
    if conn.complete:
        results.append(
            (
                False,
                f"the app ended the stream itself (more_body=False) after {conn.messages} "
                "events; a ticker keeps going (more_body=True) until the client leaves",
            )
        )
        return results
    unit = "events" if good else "body messages"  # a browser takes no events from them
    results.append(judge_pace(exercise.pause, conn.sent_at[:wanted], unit))
    if outcome in ("timeout", "stuck"):
        once = (
            " (receive() gave it only 'http.request', the request body: the client leaving "
            "is a later message, so keep receiving until one of type 'http.disconnect' arrives)"
            if conn.only_the_request()
            else ""
        )
        results.append(
            (
                False,
                f"the app kept streaming to nobody: {conn.sent_after_leaving} more events "
                f"after the client left, and it was still going after {exercise.timeout:g} s. "
                f"Listen for {{'type': 'http.disconnect'}} and stop when it comes{once}",
            )
        )
    elif conn.sent_after_leaving > 2:
        results.append(
            (
                False,
                f"the app sent {conn.sent_after_leaving} events after the client left before "
                "it stopped; stop as soon as receive() gives {'type': 'http.disconnect'}",
            )
        )
    else:
        results.append((True, "noticed the client leaving and stopped"))
    if not any(f.rule == "asgi.blocking-call" for f in conn.findings):
        results.append(
            (True, f"the event loop stayed free (no stall over {exercise.blocking_ms:g} ms)")
        )
    return results


def _stopped_early(
    exercise: StreamUntilDisconnectExercise, conn: LeavingClient, outcome: str
) -> str:
    """Why fewer than ``leave_after`` events came: the client never left, the app stopped."""
    arrived = f"only {conn.messages} event(s) arrived"
    wanted = f"the client waited for {exercise.leave_after}"
    stopped = outcome == "return" or conn.complete  # it ended by itself, not stalled
    if stopped and conn.only_the_request():
        how = "ended the stream" if conn.complete else "returned"
        return (
            f"{arrived}: the app {how} before the client left ({wanted}), after receive() had "
            "given it only {'type': 'http.request', ...}. The first message receive() gives "
            "is 'http.request' (the request body), not the client leaving: the listener must "
            "keep receiving until a message of type 'http.disconnect' arrives, e.g. "
            "`while (await receive())['type'] != 'http.disconnect': pass`, and only then "
            "set the event"
        )
    if conn.complete:
        return (
            f"{arrived}: the app ended the stream itself (more_body=False) before the client "
            f"left ({wanted}); a ticker keeps going (more_body=True) until the client leaves"
        )
    if outcome == "return":
        return (
            f"{arrived}: the app returned before the client left ({wanted}). A ticker keeps "
            "sending until receive() gives {'type': 'http.disconnect'}"
        )
    if outcome == "exception":
        return f"{arrived}: the app raised an exception before the client left ({wanted})"
    if conn.receive_pending or (outcome == "stuck" and conn.waiting_after_body):
        return (  # a stall in receive() (stuck: the app's thread never came back, no snapshot)
            f"{arrived} before the app stopped sending; {wanted}. Is the loop awaiting "
            "receive()? That waits until the client leaves: listen for 'http.disconnect' in "
            "a separate task"
        )
    return (
        f"{arrived} before the app stopped sending; {wanted}, and the app was still running "
        f"after {exercise.timeout:g} s without sending more. A ticker sends an event, pauses "
        "briefly (await asyncio.sleep(0.05)), and repeats until the client leaves"
    )
