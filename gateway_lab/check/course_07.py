"""The exercises of notebook 07 (ASGI realtime), checked with ``gl.exercise(name)``.

Theory of operation: one exercise is plain data on the generic
:class:`~.exercises.Exercise`; two need a client that does more than send
one request and read one answer (a :class:`~.exercises.Case`): one hangs
up in the middle of a stream, one holds a WebSocket conversation. Both are
subclasses of the checker's own connections, run against the app on a
fresh event loop in a worker thread and bounded by ``timeout``: an app that
never returns is reported, never waited for.

* ``asgi-no-blocking``: a lookup app that calls a slow *synchronous*
  function, fixed so that the event loop stays free (``asyncio.to_thread``
  or ``loop.run_in_executor``). The checker's ``asgi.blocking-call`` rule
  (see :mod:`.looplag`) catches an answer that still blocks.
* ``asgi-sse-until-disconnect``: a server-sent-events ticker that runs until
  the client hangs up, and then stops. A :class:`LeavingClient` (the
  checker's HTTP connection, with a client that reads three events and
  leaves) tells an app that listens for ``http.disconnect`` from one that
  keeps streaming to nobody, or that stalls by awaiting ``receive()`` in
  its loop.
* ``asgi-ws-numbered-echo``: a WebSocket app that numbers its echoes and
  closes on "bye". :class:`WebSocketExercise` plays the client with a
  :class:`ScriptedWebSocket`, a subclass of the checker's own
  :class:`~.asgi_websocket.WebSocketConnection`, so every protocol mistake
  (sending before accepting, a malformed frame, sending after the close) is
  judged by the same rules as ``gl.check_asgi``; the script says what the
  client sends, and the replies are compared message by message. Each
  conversation runs on a fresh event loop in a worker thread, bounded by
  ``timeout``: an app that never returns is reported, never waited for.

Reference solutions: ``notebooks/solutions/asgi_no_blocking.py``,
``asgi_sse_until_disconnect.py`` and ``asgi_ws_numbered_echo.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..events import Event, Flow
from .asgi_base import Connection
from .asgi_http import HTTPConnection
from .asgi_websocket import WebSocketConnection
from .battery import Probe
from .exercises import Case, Exercise, ExerciseResult, register
from .explain import describe_exception, short
from .report import Finding
from .rules import finding

__all__ = [
    "ASGI_NO_BLOCKING",
    "ASGI_SSE_UNTIL_DISCONNECT",
    "ASGI_WS_NUMBERED_ECHO",
    "Conversation",
    "ScriptedWebSocket",
    "LeavingClient",
    "StreamUntilDisconnectExercise",
    "WebSocketExercise",
]

ASGI_WS = "https://asgi.readthedocs.io/en/latest/specs/www.html#websocket"
AFTER_LEAVING_POLL = 0.01  # a receive() after the client left waits this long


# -- running one connection against the app, on a loop of its own -------------------


async def _talk(app: Any, conn: Connection, timeout: float) -> str:
    """Run the app against ``conn``; 'return', 'exception' or 'timeout'."""
    conn.event("server", "scope", {"type": conn.scope_type, "summary": conn.label})
    try:
        task = asyncio.ensure_future(app(conn.scope(), conn.receive, conn.send))
    except Exception as exc:  # raised before it became a coroutine
        conn.find("app.raised", exc=describe_exception(exc))
        return "exception"
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        conn.finished("timeout")
        return "timeout"
    exc = task.exception()
    if exc is not None and not isinstance(exc, OSError):
        conn.find("app.raised", exc=describe_exception(exc))
        conn.finished("exception")
        return "exception"
    conn.event("app", "return", {"summary": "returned"})
    conn.finished("return")
    return "return"


def _run_in_thread(app: Any, conn: Connection, timeout: float) -> str:
    outcome: list[str] = []

    def work() -> None:
        loop = asyncio.new_event_loop()
        try:
            outcome.append(loop.run_until_complete(_talk(app, conn, timeout)))
        except BaseException as exc:  # noqa: BLE001 - our own failure, reported
            conn.findings.append(finding("check.failed", exc=describe_exception(exc)))
        finally:
            loop.close()

    worker = threading.Thread(target=work, name="gateway-lab-ws-exercise", daemon=True)
    worker.start()
    worker.join(timeout + 1.0)
    return outcome[0] if outcome else "stuck"


NOT_IMPLEMENTED = (
    "The app still raises NotImplementedError: replace that line with your code, run "
    "the cell, then run this check again."
)


def _not_implemented(conn: Connection) -> bool:
    return any(f.rule == "app.raised" and "NotImplementedError" in f.message for f in conn.findings)


def _finding_lines(findings: list[Finding], prefix: str = "") -> list[tuple[str, str]]:
    """The checker's findings (errors and warnings) as feedback lines."""
    return [
        (
            "!" if item.severity == "warning" else "✗",
            f"{prefix}{item.rule}: {item.message} What to change: {item.hint}",
        )
        for item in findings
        if item.severity != "info"
    ]


# -- asgi-no-blocking ------------------------------------------------------------------

ASGI_NO_BLOCKING = register(
    Exercise(
        "asgi-no-blocking",
        kind="asgi",
        title="Keep the event loop free (ASGI)",
        cases=[
            Case("GET /?word=ada", contains="ADA", says="the word, looked up"),
            Case("GET /?word=loop", contains="LOOP", says="another word"),
        ],
    )
)


# -- asgi-sse-until-disconnect: a client that reads a few events, then leaves ----------


class LeavingClient(HTTPConnection):
    """A GET whose client reads ``leave_after`` body messages, then hangs up.

    After that the app's ``receive`` returns ``http.disconnect``; its sends
    are still accepted and counted (as uvicorn does, silently), so an app
    that never listens keeps streaming until the check's timeout.
    """

    def __init__(self, flow: Flow, number: int, leave_after: int) -> None:
        super().__init__(flow, number, Probe("GET", "/", label_override="GET / (stream)"), {})
        self.leave_after = leave_after
        self.messages = 0
        self.sent_after_leaving = 0

    def judge_send(self, kind: str, message: Mapping[str, Any], event: Event) -> None:
        if self.gone:
            self.sent_after_leaving += kind == "http.response.body"
            return
        super().judge_send(kind, message, event)
        if kind == "http.response.body" and message.get("body"):
            self.messages += 1
            if self.messages >= self.leave_after and not self.complete:
                self.event("server", "client left", {"summary": "the client hung up"})
                self.leave()

    def finished(self, outcome: str) -> None:
        if self.gone and outcome == "return":
            return  # the client hung up: a response left open is the right thing here
        super().finished(outcome)


class StreamUntilDisconnectExercise(Exercise):
    """An endless event stream that must stop when the client leaves."""

    def __init__(self, name: str, *, title: str = "", leave_after: int = 3, **kwargs: Any):
        super().__init__(name, kind="asgi", cases=[], title=title, **kwargs)
        self.leave_after = leave_after

    def evaluate(self, app: Any) -> ExerciseResult:
        unfinished = self._unfinished(app)
        if unfinished:
            return ExerciseResult(self.title, False, unfinished=unfinished)
        conn = LeavingClient(Flow(self.title), 1, self.leave_after)
        outcome = _run_in_thread(app, conn, self.timeout)
        if _not_implemented(conn):
            return ExerciseResult(self.title, False, unfinished=NOT_IMPLEMENTED)
        lines = [("✓" if ok else "✗", text) for ok, text in _judge_stream(self, conn, outcome)]
        lines += _finding_lines(conn.findings)
        return ExerciseResult(self.title, all(m != "✗" for m, _ in lines), lines)


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
    events = [e for e in response.body.split(b"\n\n") if e]
    good = bool(events) and response.body.endswith(b"\n\n")
    good = good and all(e.startswith(b"data: ") for e in events)
    results.append(
        (
            good,
            f"{len(events)} well-formed events ('data: ...' and a blank line)"
            if good
            else f"each event should be b'data: ...\\n\\n' (a data line and a blank line), "
            f"got {short(response.body, 60)}",
        )
    )
    wanted = exercise.leave_after
    if conn.messages < wanted:
        results.append(
            (
                False,
                f"only {conn.messages} event(s) arrived before the app stopped sending; the "
                f"client waited for {wanted}. Is the loop awaiting receive()? That waits until "
                "the client leaves: listen for 'http.disconnect' in a separate task",
            )
        )
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
    results.append((True, f"{wanted} events arrived one by one, then the client left"))
    if outcome in ("timeout", "stuck"):
        results.append(
            (
                False,
                f"the app kept streaming to nobody: {conn.sent_after_leaving} more events "
                f"after the client left, and it was still going after {exercise.timeout:g} s. "
                "Listen for {'type': 'http.disconnect'} and stop when it comes",
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
    return results


ASGI_SSE_UNTIL_DISCONNECT = register(
    StreamUntilDisconnectExercise(
        "asgi-sse-until-disconnect",
        title="Tick until the client leaves (ASGI)",
        leave_after=3,
    )
)


# -- asgi-ws-numbered-echo: a scripted WebSocket client ----------------------------------


class ScriptedWebSocket(WebSocketConnection):
    """A WebSocket client that sends ``script`` (one text message per receive), then leaves.

    Everything the app sends after message *i* is kept in ``replies[i]``
    (``replies[-1]``: before the first). If the app closes the WebSocket,
    the client answers with ``websocket.disconnect`` carrying the app's code.
    """

    def __init__(self, flow: Flow, number: int, script: list[str], leave_code: int = 1001):
        super().__init__(flow, number, {}, linger=3600.0)
        self.label = f"WEBSOCKET /ws (client says {', '.join(map(repr, script))})"
        self.script = script
        self.leave_code = leave_code
        self.delivered = 0
        self.replies: dict[int, list[str | bytes]] = {-1: []}
        self.close_code: int | None = None
        self.closed_after: int | None = None  # index of the message the close followed
        self.receives_after_leaving = 0

    async def next_message(self) -> dict[str, Any]:
        if self.step == 0:
            self.step = 1
            self.saw_connect = True
            return {"type": "websocket.connect"}
        if not self.accepted and not self.closed:
            # The spec lets an app wait for the next message before accepting;
            # a client never sends before the handshake is done, so we leave.
            self.gone = True
        if self.gone or self.closed:
            self.receives_after_leaving += 1
            if self.receives_after_leaving > 1:
                await asyncio.sleep(AFTER_LEAVING_POLL)
            self.gone = True
            code = self.close_code if self.closed and self.close_code else self.leave_code
            return {"type": "websocket.disconnect", "code": code, "reason": ""}
        if self.delivered < len(self.script):
            text = self.script[self.delivered]
            self.replies[self.delivered] = []
            self.delivered += 1
            return {"type": "websocket.receive", "text": text}
        self.gone = True
        self.receives_after_leaving = 1
        return {"type": "websocket.disconnect", "code": self.leave_code, "reason": ""}

    def judge_send(self, kind: str, message: Mapping[str, Any], event: Event) -> None:
        was_closed = self.closed
        super().judge_send(kind, message, event)
        if was_closed:
            return
        if kind == "websocket.send":
            data = message.get("text")
            data = message.get("bytes") if data is None else data
            if isinstance(data, (str, bytes)):
                self.replies[self.delivered - 1].append(data)
        elif kind == "websocket.close":
            code = message.get("code", 1000)
            self.close_code = code if isinstance(code, int) else None
            self.closed_after = self.delivered - 1


@dataclass
class Conversation:
    """What the client says, what it expects back, and how it ends."""

    says: str
    script: list[str]
    expected: list[list[str]]  # the replies expected after each message
    closes_after: int | None = None  # index of the message after which the app must close
    close_code: int = 1000
    leave_code: int = 1001
    outcome: str = ""
    findings: list[Finding] = field(default_factory=list)


class WebSocketExercise(Exercise):
    """An exercise made of WebSocket conversations (see :class:`Conversation`)."""

    def __init__(
        self, name: str, conversations: list[Conversation], *, title: str = "", timeout: float = 2.0
    ) -> None:
        super().__init__(name, kind="asgi", cases=[], title=title, timeout=timeout)
        self.conversations = conversations

    def __repr__(self) -> str:
        return f"<WebSocketExercise {self.name!r} ({len(self.conversations)} conversations)>"

    def evaluate(self, app: Any) -> ExerciseResult:
        unfinished = self._unfinished(app)
        if unfinished:
            return ExerciseResult(self.title, False, unfinished=unfinished)
        lines: list[tuple[str, str]] = []
        for number, plan in enumerate(self.conversations, 1):
            conn = ScriptedWebSocket(Flow(self.title), number, plan.script, plan.leave_code)
            outcome = _run_in_thread(app, conn, self.timeout)
            if _not_implemented(conn):
                return ExerciseResult(self.title, False, unfinished=NOT_IMPLEMENTED)
            for ok, text in _judge(plan, conn, outcome):
                lines.append(("✓" if ok else "✗", f"{plan.says}: {text}"))
            lines += _finding_lines(conn.findings, f"{plan.says}: ")
        passed = all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(self.title, passed, lines)


def _shown(replies: list[str | bytes]) -> str:
    if not replies:
        return "nothing"
    return ", ".join(short(r, 50) for r in replies)


def _judge(plan: Conversation, conn: ScriptedWebSocket, outcome: str) -> list[tuple[bool, str]]:
    """(passed, sentence) for each thing the conversation expects."""
    results: list[tuple[bool, str]] = []
    if not conn.accepted:
        results.append(
            (
                False,
                "the app never accepted the connection: after 'websocket.connect', send "
                "{'type': 'websocket.accept'}",
            )
        )
        return results
    results.append((True, "accepted the connection"))
    if conn.replies[-1]:
        results.append(
            (
                False,
                f"the app sent {_shown(conn.replies[-1])} before the client said anything; "
                "reply only to the client's messages",
            )
        )
    for index, text in enumerate(plan.script):
        if index >= conn.delivered:
            results.append((False, f"the app stopped listening before the client sent {text!r}"))
            break
        wanted, got = plan.expected[index], conn.replies.get(index, [])
        if got == wanted:
            results.append((True, f"{text!r} -> {_shown(got)}"))
        elif [r for r in got if isinstance(r, bytes)]:
            results.append(
                (
                    False,
                    f"after {text!r} the app sent bytes {_shown(got)}; send text "
                    "frames: {'type': 'websocket.send', 'text': ...}",
                )
            )
        else:
            results.append(
                (False, f"after {text!r} the reply should be {_shown(wanted)}, got {_shown(got)}")
            )
    if plan.closes_after is not None:
        said = plan.script[plan.closes_after]
        if conn.closed_after == plan.closes_after and conn.close_code == plan.close_code:
            results.append((True, f"closed the WebSocket (code {plan.close_code}) after {said!r}"))
        elif conn.closed_after is None:
            results.append(
                (
                    False,
                    f"after {said!r} the app should close the WebSocket: send "
                    f"{{'type': 'websocket.close', 'code': {plan.close_code}}}",
                )
            )
        else:
            results.append(
                (
                    False,
                    f"the app closed with code {conn.close_code} after "
                    f"{plan.script[conn.closed_after]!r}; close with code "
                    f"{plan.close_code} after {said!r}",
                )
            )
    elif conn.closed_after is not None:
        results.append(
            (
                False,
                f"the app closed the WebSocket after {plan.script[conn.closed_after]!r}, "
                "but the client had more to say",
            )
        )
    if outcome == "return":
        results.append((True, "the app returned when the conversation was over"))
    elif outcome in ("timeout", "stuck"):
        results.append(
            (
                False,
                "the app was still running after the client left: when receive() gives "
                "{'type': 'websocket.disconnect'}, return (break out of the loop)",
            )
        )
    return results


ASGI_WS_NUMBERED_ECHO = register(
    WebSocketExercise(
        "asgi-ws-numbered-echo",
        title="A numbered echo over a WebSocket (ASGI)",
        conversations=[
            Conversation(
                "client says bye",
                ["hello", "héllo wörld", "bye"],
                [["1: hello"], ["2: héllo wörld"], ["goodbye"]],
                closes_after=2,
            ),
            Conversation(
                "client just leaves",
                ["ping"],
                [["1: ping"]],
                leave_code=1001,
            ),
        ],
    )
)
