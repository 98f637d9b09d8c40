"""WebSocket exercises: scripted conversations with a learner's ASGI app.

Theory of operation: a :class:`WebSocketExercise` is a list of
:class:`Conversation` records: what the client says, the replies expected
after each message, and how it ends (the app closes after a given message,
with a given code, or the client just leaves). For each one it plays the
client with a :class:`ScriptedWebSocket`, a subclass of the checker's own
:class:`~.asgi_websocket.WebSocketConnection`, so every protocol mistake
(sending before accepting, a malformed frame, sending after the close) is
judged by the same rules as ``gl.check_asgi``. The client sends one text
message per ``receive()``, files everything the app sends under the
message it followed, and answers a close from the app with
``websocket.disconnect`` carrying the app's code; once it has left, each
further ``receive()`` waits :data:`AFTER_LEAVING_POLL` seconds, so an app
that keeps polling does not spin.

Each conversation runs with :func:`~.connection_runner.run_connection`, on
a fresh event loop in a worker thread, bounded by the exercise's
``timeout``: an app that never returns is reported, never waited for. The
judge compares the replies message by message (a reply numbered higher
than expected in a later conversation is named: the count must start
again on each connection; a reply missing because the app closed first is
named too, and one it sent after its close, which no client gets, is
kept in ``sent_after_close`` to say so), then checks the close and how the
app ended:
after closing it should return at once, not go back to ``receive()``
(which then gives ``websocket.disconnect``); when the client leaves, it
should return on ``websocket.disconnect`` (a ``websocket.close`` sent after
the client left is harmless: the spec makes it a no-op, so it is not a
mistake). An app that raises is told which message it got last (often
``websocket.disconnect``, in a loop that expects ``text``) and what a server
does then (an open WebSocket is closed with code 1011; there is no HTTP
status to give once it is accepted). Feedback is an
:class:`~.exercises.ExerciseResult`, one ✓ / ✗ line per expectation, each
starting with the conversation's ``says``, then the checker's own findings.

A course module writes::

    ECHO = register(WebSocketExercise("ws-echo", [
        Conversation("client says bye", ["hi", "bye"], [["hi"], ["bye"]], closes_after=1),
    ], title="An echo over a WebSocket"))

ASGI spec: https://asgi.readthedocs.io/en/latest/specs/www.html#websocket
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from gateway_lab.check.asgi.websocket import WebSocketConnection
from gateway_lab.check.explain import short
from gateway_lab.check.report import Finding
from gateway_lab.events.flow import CHECK_PER_CONNECTION, Event, Flow
from gateway_lab.exercises.framework import Exercise
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.exercises.runner import (
    NOT_IMPLEMENTED,
    finding_lines,
    run_connection,
    still_not_implemented,
)
from gateway_lab.types import ASGIApp

__all__ = [
    "AFTER_LEAVING_POLL",
    "Conversation",
    "ScriptedWebSocket",
    "WebSocketExercise",
]

AFTER_LEAVING_POLL = 0.01  # a receive() after the client left waits this long


class ScriptedWebSocket(WebSocketConnection):
    """A WebSocket client that sends ``script`` (one text message per receive), then leaves.

    Everything the app sends after message *i* is kept in ``replies[i]``
    (``replies[-1]``: before the first). If the app closes the WebSocket,
    the client answers with ``websocket.disconnect`` carrying the app's code.
    """

    def __init__(self, flow: Flow, number: int, script: list[str], leave_code: int = 1001) -> None:
        super().__init__(flow, number, {}, linger=3600.0)
        self.label = f"WEBSOCKET /ws (client says {', '.join(map(repr, script))})"
        self.script = script
        self.leave_code = leave_code
        self.delivered = 0
        self.replies: dict[int, list[str | bytes]] = {-1: []}
        self.close_code: int | None = None
        self.closed_after: int | None = None  # index of the message the close followed
        self.receives_after_leaving = 0
        self.receives_after_close = 0  # receive() calls after the app's own close
        self.closed_after_leaving = False  # a close sent after the client left: a no-op
        self.sent_after_leaving: list[str | bytes] = []  # frames sent to a client gone
        self.sent_after_close: list[str | bytes] = []  # frames the app sent after its close

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
            self.receives_after_close += self.closed
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
            data = message.get("text") if kind == "websocket.send" else None
            data = message.get("bytes") if kind == "websocket.send" and data is None else data
            if isinstance(data, (str, bytes)) and not self.gone:
                self.sent_after_close.append(data)  # too late: nothing follows the close
            return
        if kind == "websocket.send":
            data = message.get("text")
            data = message.get("bytes") if data is None else data
            if self.gone and self.receives_after_leaving:
                self.sent_after_leaving.append(data if isinstance(data, (str, bytes)) else "")
            if isinstance(data, (str, bytes)):
                self.replies[self.delivered - 1].append(data)
        elif kind == "websocket.close" and self.gone:
            self.closed_after_leaving = True  # harmless: the spec makes it a no-op
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

    def evaluate(self, app: object) -> ExerciseResult:
        unfinished = self._unfinished(app)
        if unfinished:
            return ExerciseResult(self.title, False, unfinished=unfinished)
        answer = cast(ASGIApp, app)  # _unfinished saw an async callable
        lines: list[tuple[str, str]] = []
        for number, plan in enumerate(self.conversations, 1):
            flow = Flow(self.title, per_connection=CHECK_PER_CONNECTION)
            conn = ScriptedWebSocket(flow, number, plan.script, plan.leave_code)
            outcome = run_connection(answer, conn, self.timeout)
            if still_not_implemented(conn):
                return ExerciseResult(self.title, False, unfinished=NOT_IMPLEMENTED)
            judged = _judge_conversation(plan, conn, outcome)
            found = finding_lines(conn.findings, f"{plan.says}: ")
            if any(item.rule == "asgi.send-not-awaited" for item in conn.findings):
                # The replies that never came are its consequence: the cause alone, first.
                lines += found
                found, judged = [], [(ok, text) for ok, text in judged if ok]
            for ok, text in judged:
                lines.append(("✓" if ok else "✗", f"{plan.says}: {text}"))
            lines += found
        passed = all(mark != "✗" for mark, _ in lines)
        return ExerciseResult(self.title, passed, lines)


def _counted_across_connections(wanted: list[str], got: list[str | bytes]) -> bool:
    """Is ``got`` the expected numbered reply with a higher number ("3: ping" for "1: ping")?"""
    if len(wanted) != 1 or len(got) != 1 or not isinstance(got[0], str):
        return False
    want_number, _, want_text = wanted[0].partition(": ")
    got_number, _, got_text = got[0].partition(": ")
    return (
        want_number.isdigit()
        and got_number.isdigit()
        and want_text == got_text
        and int(got_number) > int(want_number)
    )


def _shown(replies: Sequence[str | bytes]) -> str:
    if not replies:
        return "nothing"
    return ", ".join(short(r, 50) for r in replies)


def _judge_conversation(
    plan: Conversation, conn: ScriptedWebSocket, outcome: str
) -> list[tuple[bool, str]]:
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
            advice = (
                ": count per connection (a local variable in the app), not in a global; each "
                "call of the app is one connection, and this is a new one"
                if _counted_across_connections(wanted, got)
                else _closed_too_soon(conn, index, wanted, got)
            )
            results.append(
                (
                    False,
                    f"after {text!r} the reply should be {_shown(wanted)}, got {_shown(got)}"
                    f"{advice}",
                )
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
    if outcome == "exception":
        results.append(_how_it_raised(conn))
    elif outcome == "return" and (returned := _how_it_returned(conn)) is not None:
        results.append(returned)
    elif outcome in ("timeout", "stuck"):
        results.append(
            (
                False,
                "the app was still running after the client left: when receive() gives "
                "{'type': 'websocket.disconnect'}, return (break out of the loop)",
            )
        )
    return results


def _closed_too_soon(
    conn: ScriptedWebSocket, index: int, wanted: list[str], got: list[str | bytes]
) -> str:
    """Advice when the app closed after message ``index`` before sending all it should."""
    if conn.closed_after != index:
        return ""
    missing = [reply for reply in wanted if reply not in got]
    late = [reply for reply in missing if reply in conn.sent_after_close]
    send = " and ".join(f"{{'type': 'websocket.send', 'text': {r!r}}}" for r in missing)
    if late:
        return (
            f": the app sent {_shown(late)} after its websocket.close, and nothing can follow "
            f"the close (the client never gets it). Send {_shown(late)} before the close: "
            f"first {send}, then {{'type': 'websocket.close', ...}}"
        )
    if missing:
        return (
            f": the app closed the WebSocket without sending it. Send {send} first, then "
            "{'type': 'websocket.close', ...}"
        )
    return ""


def _how_it_raised(conn: ScriptedWebSocket) -> tuple[bool, str]:
    """(False, sentence) naming the message the app could not handle."""
    last = conn.last_received or {}
    kind = last.get("type")
    if kind == "websocket.disconnect":
        return (
            False,
            f"receive() gave the app {{'type': 'websocket.disconnect', 'code': "
            f"{last.get('code')}}} (the client left) and the app raised on it, as if it "
            "were a 'websocket.receive' with 'text'. Look at message['type'] first and "
            "return when it is 'websocket.disconnect'; the WebSocket is gone, so a server "
            "only logs the traceback",
        )
    what = f"after receive() gave it {short(last, 80)}" if last else "before receiving anything"
    state = "open, so a server closes it with code 1011" if conn.accepted else "not accepted yet"
    return False, f"the app raised {what}; the WebSocket was {state} (see the ✗ below)"


def _how_it_returned(conn: ScriptedWebSocket) -> tuple[bool, str] | None:
    """(passed, sentence) about an app that returned: right after its close, or on disconnect.

    None for an app that returned on its own with the client still there and
    no close sent: the rows about the close and the replies say what is missing.
    """
    if conn.sent_after_leaving:
        return (
            False,
            f"receive() gave the app {{'type': 'websocket.disconnect'}} (the client left), "
            f"and the app answered it as if it were a message: it sent "
            f"{short(conn.sent_after_leaving[0], 40)} to a client that was gone (and ended "
            "only because that send raised). Look at message['type'] first and return when "
            "it is 'websocket.disconnect'",
        )
    if conn.closed_after is None and conn.receives_after_leaving:
        return True, "the app returned when the client left (websocket.disconnect)"
    if conn.closed_after is None:  # the rows above say what it left unsaid or unclosed
        return None
    if conn.receives_after_close:
        return (
            False,
            "after sending websocket.close the app went back to receive() and returned only "
            "when that gave {'type': 'websocket.disconnect'}; the conversation is over once "
            "you close: return right after sending websocket.close",
        )
    return True, "the app returned right after closing the WebSocket"
