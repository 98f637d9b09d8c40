"""How an ASGI app's call ended badly, in words that fit the scope: raised, or rejected.

Theory of operation: when an app raises, what the client sees depends on
the scope and on how far the conversation got, so :func:`raised` words the
``app.raised`` finding for that place (an HTTP request not yet answered gets
a 500; an accepted WebSocket is closed with code 1011, never "a 500"; the
lifespan scope carries on without lifespan) and names the last message the
app received, since that is usually what it could not handle
(``websocket.disconnect`` in a loop that expects ``text``). It links the
ASGI spec's "Error Handling", not PEP 3333.

:class:`Rejections` gathers the scopes an app turned away *before sending
anything*: by raising (what the spec asks: "Applications should actively
reject any protocol that they do not understand with an Exception (of any
type)", main.html, Protocol Specifications) or by returning. It is never an
error when the app serves some other scope type. A rejection by raising is
silent, since there is nothing to tell, unless the rejected type is HTTP
(then the report says that only the other types were checked); a return is
one note for the whole report, because the spec asks for an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway_lab import specs
from gateway_lab.check.asgi.base import Connection
from gateway_lab.check.explain import describe_exception, short
from gateway_lab.check.report import Finding
from gateway_lab.check.rules import finding

__all__ = ["REJECT_SENTENCE", "Rejections", "consequence", "lifespan_crash", "raised"]

REJECT_SENTENCE = (
    "Applications should actively reject any protocol that they do not understand with an "
    "Exception (of any type)."
)
RAISE_HINT = (
    "Reject the scope types you do not serve by raising, e.g. "
    "`raise RuntimeError(f\"unsupported scope type {scope['type']!r}\")`."
)


def consequence(conn: Connection) -> str:
    """What a server does when the app raises in ``conn``'s scope, at this point."""
    state = conn.order
    if conn.scope_type == "websocket":
        if state == "connecting":
            return (
                "The handshake was not answered yet, so a server refuses the WebSocket "
                "(uvicorn answers the handshake with an HTTP 500, the browser sees it fail)."
            )
        if state == "open":
            return (
                "The WebSocket was open, so a server closes it with code 1011 (internal "
                "error) and the client's onclose sees that code."
            )
        return "The WebSocket was already closed; a server only logs the traceback."
    if conn.scope_type == "lifespan":
        return (
            "A server logs the traceback and carries on without lifespan, so whatever "
            "startup was meant to prepare is missing."
        )
    if state == "before-start":
        return "A server would answer '500 Internal Server Error' to this request."
    if state == "complete":
        return "The response was already complete; a server only logs the traceback."
    return (
        "The response had already started, so a server can only cut the connection: "
        "the client gets a truncated response."
    )


def _received(message: Mapping[str, Any] | None) -> str:
    if message is None:
        return ""
    shown = {k: v for k, v in message.items() if k != "body" or v}
    return f" The last message it received was {short(shown, 120)}."


def raised(conn: Connection, exc: BaseException) -> Finding | None:
    """The ``app.raised`` finding on ``conn``, worded for its scope and its state."""
    item = conn.find("app.raised", exc=describe_exception(exc))
    if item is not None:
        item.message += _received(conn.last_received)
        item.hint = f"Fix the exception at the line named above. {consequence(conn)}"
        item.spec = specs.ASGI_ERROR_HANDLING
    return item


def lifespan_crash(exc: BaseException) -> str:
    """The note's sentence for a lifespan scope that raised after 'lifespan.startup'."""
    return (
        f"During the lifespan startup it raised {describe_exception(exc)}: a server then "
        f'"must continue but not send any lifespan events", so whatever the startup was '
        "to prepare is missing. If the startup failed on purpose, send "
        "{'type': 'lifespan.startup.failed', 'message': ...} instead."
    )


@dataclass
class Rejections:
    """The scopes an app rejected before sending anything, and what it did serve."""

    rejected: list[tuple[Connection, str, bool]] = field(default_factory=list)
    served: set[str] = field(default_factory=set)
    details: list[str] = field(default_factory=list)  # sentences worth a note of their own

    def add(self, conn: Connection, how: str, by_raising: bool, detail: str = "") -> None:
        self.rejected.append((conn, how, by_raising))
        if detail:
            self.details.append(detail)

    def saw(self, conn: Connection) -> None:
        """Note a finished connection: served if the app sent anything in it."""
        if conn.sent_any and not conn.ignored:
            self.served.add(conn.scope_type)

    def settle(self, findings: list[Finding], http_count: int) -> list[Finding]:
        """``findings`` with the rejections judged: errors of a refused HTTP scope become
        one note when the app serves another type; returns become one note."""
        http = [c for c, _, _ in self.rejected if c.scope_type == "http"]
        others = self.served - {"http"}
        all_http = bool(http) and len(http) == http_count and "http" not in self.served
        if any(f.rule == "asgi.lifespan-state-replaced" for f in findings):
            all_http = False  # requests that fail on the lost state: errors, not a refusal
        if all_http and others:
            gone = {id(f) for c in http for f in c.findings}
            findings = [f for f in findings if id(f) not in gone]
        elif http:
            return findings  # an HTTP app that fails some requests: those are errors
        shown = [
            (c, how, by_raising)
            for c, how, by_raising in self.rejected
            if c.scope_type != "http" or (all_http and others)
        ]
        returns = [c.scope_type for c, _, by_raising in shown if not by_raising]
        if not returns and not self.details and not (all_http and others):
            return findings  # rejected by raising, as the spec asks: nothing to tell
        kinds = list(dict.fromkeys(c.scope_type for c, _, _ in shown))
        by_how: dict[str, list[str]] = {}
        for c, how, _ in shown:
            kinds_here = by_how.setdefault(how, [])
            kinds_here += [] if c.scope_type in kinds_here else [c.scope_type]
        hows = "; ".join(f"{how} for {' and '.join(k)}" for how, k in by_how.items())
        scopes = f"{' and '.join(kinds)} scope{'s' if len(kinds) > 1 else ''}"
        message = f"The app does not serve the {scopes}: {hows}."
        if all_http and others:
            message += (
                f" So only its {' and '.join(sorted(others))} side was checked: fine for an "
                "app that serves only that."
            )
        hint = ""
        message += "".join(f" {detail}" for detail in self.details)
        if returns:
            message += (
                " A return is tolerated, but the ASGI spec asks for an exception: "
                f'"{REJECT_SENTENCE}" A return can make a server think the app supports '
                "the scope."
            )
            hint = RAISE_HINT
        note = finding("asgi.unsupported-scope", shown[0][0].label, scope=kinds[0], how="")
        note.message, note.hint, note.spec = message, hint, specs.ASGI_PROTOCOL_SPECIFICATIONS
        note.also = list(dict.fromkeys(c.label for c, _, _ in shown[1:]))
        return [*findings, note]
