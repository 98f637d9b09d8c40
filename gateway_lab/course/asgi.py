"""The exercises of notebook 06 (ASGI), checked with ``gl.exercise(name)``.

Theory of operation: an exercise is data (see :mod:`.exercises`): requests
and what each response must show. Two things in this lesson are not visible
in the finished response, so this module adds them:

* *how* the body was sent. An :class:`ASGICase` can also read the messages
  the checker recorded for its request and count the ``http.response.body``
  messages that carried bytes, up to the one that ended the response (what
  an app sends after that never reaches the client): a streamed answer
  sends one line per message, so a right body must come in as many
  messages as it has lines, and a wrong one is only judged on how it was
  streamed (the body row already says what is wrong with it).
* the *lifespan* cycle. An :class:`ASGIExercise` can run the checker with
  the lifespan startup and shutdown around its requests (the base exercise
  leaves lifespan out) and expect both to be answered and the lifespan call
  to return after the shutdown (:mod:`.asgi_lifespan`), and can run the
  whole battery a second time, as a restarted server would, to tell state
  kept in ``scope["state"]`` from state kept in a global variable.

When every request raised before sending anything while the app did serve
the lifespan scope, ``check_asgi`` takes it for an app that does not serve
HTTP and keeps one note instead of the errors; these exercises put the
``app.raised`` findings back (:func:`.asgi_lifespan.restore_raised`).

A body that is not bytes is named once, by ``asgi.body-not-bytes``; a case
that expects an empty body does not tick ``body is b''`` for a str ``''``.

* ``asgi-streaming-count``: ``GET /?n=5`` streams ``b"1\\n2\\n3\\n4\\n5\\n"``,
  one line per ``http.response.body`` message with ``more_body=True``, and
  ends the response with ``more_body=False``; no ``n`` means 3.
* ``asgi-lifespan-counter``: lifespan startup puts a counter in the state;
  each request answers with its own number (``b"1"``, ``b"2"``, ...); the
  shutdown is answered with ``lifespan.shutdown.complete``.
* ``asgi-echo-body``: each POST is answered with its own body, however many
  ``http.request`` messages it came in. A :class:`ReadBodyExercise`: when a
  body came back wrong and the app never called ``receive()`` for that
  request (a loop ``while more_body:`` that starts with ``more_body = False``
  never runs), the line says so. Its run offers a lifespan and a WebSocket
  scope too, as ``gl.check_asgi`` does, so an app that answers them as HTTP
  gets lesson 06's ``asgi.scope-type-ignored`` warning (a "!" row: the
  task does not ask for more, and servers cope).

The reference solutions are ``notebooks/solutions/asgi_streaming_count.py``
(``count_app``) and ``notebooks/solutions/asgi_lifespan_counter.py``
(``counter_app``), named like the notebook's scaffolds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway_lab.check.report import Report
from gateway_lab.check.validate import check_asgi
from gateway_lab.course.asgi_lifespan import (
    http_connections,
    lifespan_lines,
    restore_raised,
    started,
)
from gateway_lab.events.flow import Event
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.framework import Exercise, _no_response, register
from gateway_lab.types import AnyApp

__all__ = [
    "ASGICase",
    "ASGIExercise",
    "ASGI_ECHO_BODY",
    "ASGI_LIFESPAN_COUNTER",
    "ASGI_STREAMING_COUNT",
    "ReadBodyExercise",
]

_STREAM_ADVICE = (
    "Send each line in its own {'type': 'http.response.body', 'body': ..., "
    "'more_body': True} as soon as it is ready, then end with more_body=False"
)

_ZERO_BYTES = (
    "bytes(n) makes n zero bytes (bytes(3) == b'\\x00\\x00\\x00'), not the digits of n: "
    "write str(n).encode() (or f'{n}'.encode()) to get b'3'"
)


@dataclass(frozen=True)
class ASGICase(Case):
    """A :class:`Case` with two more things to say.

    ``messages``: the body must arrive in this many ``http.response.body``
    messages that carry bytes, one per line (0: not checked). A final empty
    message is allowed and not counted, and messages sent after the one that
    ended the response are not counted either: the client never got them.
    ``advice``: a sentence added to each failed expectation about the
    response, when the app did answer with a number (the advice is about a
    wrong count, not about a missing or malformed body).
    """

    messages: int = 0
    advice: str = ""

    def expectations(self, response: Any, advise: bool = True) -> list[tuple[bool, str]]:
        results = super().expectations(response)
        if advise and response is not None and response.body.strip().isdigit():
            return self._advised(results)
        if response is not None and response.body and not response.body.strip(b"\0"):
            # bytes(3) is b'\x00\x00\x00': three zero bytes, not the digit
            results = [(ok, text if ok else f"{text}. {_ZERO_BYTES}") for ok, text in results]
        return results

    def flow_expectations(self, events: list[Event], response: Any) -> list[tuple[bool, str]]:
        """(passed, sentence) about the messages the app sent for ``response``.

        Only a right body is judged (a wrong one has its own row, and how its
        lines were sent says nothing about the right ones): it must have come
        in ``messages`` messages.
        """
        wanted = self.equals.encode() if isinstance(self.equals, str) else self.equals
        if not self.messages or response is None or response.body != wanted:
            return []
        sent = _delivered(events)
        if len(sent) == self.messages:
            return [(True, f"the body came in {_messages(len(sent))}, one per line")]
        return [
            (
                False,
                f"the body should come in {_messages(self.messages)}, one per line, but "
                f"it came in {_messages(len(sent))}. {_STREAM_ADVICE}",
            )
        ]

    def _advised(self, results: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
        if not self.advice:
            return results
        return [(ok, text if ok else f"{text}. {self.advice}") for ok, text in results]


def _delivered(events: list[Event]) -> list[Event]:
    """The body messages with bytes (or a str) up to the one that ended the response."""
    sent = []
    for e in events:
        if e.kind != "send" or e.payload.get("type") != "http.response.body":
            continue
        if e.payload.get("size", 0) > 0 or e.payload.get("body"):  # str bodies count too
            sent.append(e)
        if not e.payload.get("more_body", False):
            break  # the response is complete: the client gets nothing after this one
    return sent


def _messages(count: int) -> str:
    return f"{count} 'http.response.body' message{'' if count == 1 else 's'}"


class ASGIExercise(Exercise):
    """An ASGI exercise that may include lifespan and judge the recorded messages.

    ``lifespan``: run the lifespan startup before the requests and the
    shutdown after them; the app must answer ``lifespan.startup.complete``,
    then ``lifespan.shutdown.complete``.
    ``restart``: run everything a second time (a fresh server) and expect
    the same answers; the sentence is shown when they differ.
    """

    def __init__(
        self,
        name: str,
        cases: list[Case],
        *,
        title: str = "",
        lifespan: bool = False,
        restart: str = "",
        timeout: float = 2.0,
    ) -> None:
        super().__init__(name, "asgi", cases, title=title, timeout=timeout)
        self.lifespan = lifespan
        self.restart = restart

    def _run(self, app: AnyApp) -> Report:
        probes = [case.probe() for case in self.cases]
        report = check_asgi(
            app, probes, timeout=self.timeout, lifespan=self.lifespan, websocket=False
        )
        restore_raised(report, [probe.label for probe in probes])
        if self.lifespan and not started(report):
            # No server would have sent these requests: their errors (a KeyError on the
            # empty state...) are consequences, and the lifespan line names the cause.
            report.findings = [
                f
                for f in report.findings
                if f.rule != "app.raised" or "NotImplementedError" in f.message  # the scaffold
            ]
        # the scope['state'] row says what this warning says, with what to write instead
        report.findings = [f for f in report.findings if f.rule != "asgi.lifespan-state-replaced"]
        _merge(report, "asgi.body-not-bytes")
        return report

    def _extra_lines(self, report: Report) -> list[tuple[str, str]]:
        return lifespan_lines(report) if self.lifespan else []

    def _final_lines(self, app: AnyApp, lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if not self.restart or any(mark == "✗" for mark, _ in lines):
            return []
        again = self._case_lines(self._run(app))
        if all(mark == "✓" for mark, _ in again):
            return [("✓", "after a restart (a new lifespan startup) it starts afresh")]
        wrong = next(text for mark, text in again if mark != "✓")
        return [("✗", f"after a restart, {wrong}. {self.restart}")]

    def _case_lines(self, report: Report) -> list[tuple[str, str]]:
        if self.lifespan and not started(report):
            return []  # not served before the startup completes: the lifespan line says so
        lines: list[tuple[str, str]] = []
        connections = http_connections(report)
        connections += [[]] * (len(self.cases) - len(connections))
        # a body that is not bytes is the cause; advice about the count would mislead,
        # and so would "got b''" (the server dropped the str): the finding says it once
        advise = "asgi.body-not-bytes" not in report.rules()
        for case, response, events in zip(self.cases, report.responses, connections, strict=True):
            about = f" ({case.says})" if case.says else ""
            label = case.probe().label
            if response is None:  # name the findings that say why, as Exercise does
                checks = [(False, _no_response(report, label))]
            elif isinstance(case, ASGICase):
                checks = case.expectations(response, advise=advise)
                checks += case.flow_expectations(events, response) if advise else []
            else:
                checks = case.expectations(response)
            if not advise:
                checks = [(ok, t) for ok, t in checks if ok or not t.startswith("body should")]
            for ok, text in checks:
                lines.append(("✓" if ok else "✗", f"{label}{about}: {text}"))
        return _str_bodies(_advice_once(lines, _ZERO_BYTES), report, self.cases)


def _advice_once(lines: list[tuple[str, str]], advice: str) -> list[tuple[str, str]]:
    """``lines`` with ``advice`` kept on the first row that has it only."""
    seen = False
    kept = []
    for mark, text in lines:
        if advice in text:
            if seen:
                text = text.replace(f". {advice}", "")
            seen = True
        kept.append((mark, text))
    return kept


def _str_bodies(
    lines: list[tuple[str, str]], report: Report, cases: list[Case]
) -> list[tuple[str, str]]:
    """``lines``, with a ✓ ``body is ...`` turned ✗ on a request whose body was a str.

    The server drops a str body, so a str ``''`` comes back as ``b''``: right
    by luck, and still the mistake ``asgi.body-not-bytes`` names.
    """
    named = {
        r for f in report.findings if f.rule == "asgi.body-not-bytes" for r in (f.request, *f.also)
    }
    prefixes = [
        f"{case.probe().label}{f' ({case.says})' if case.says else ''}: body is "
        for case in cases
        if case.probe().label in named
    ]
    judged = []
    for mark, text in lines:
        prefix = next((p for p in prefixes if text.startswith(p)), None)
        if mark == "✓" and prefix is not None:
            mark, text = (
                "✗",
                (
                    f"{prefix[: -len('body is ')]}body should be {text[len(prefix) :]} as bytes, "
                    "but the app sent a str (see asgi.body-not-bytes)"
                ),
            )
        judged.append((mark, text))
    return judged


def _merge(report: Report, rule: str) -> None:
    """One finding for ``rule`` however many requests showed it, counting every message."""
    found = [f for f in report.findings if f.rule == rule]
    if len(found) < 2:
        return
    first = found[0]
    total = sum(1 + _more(f.message) for f in found)
    base = first.message.split(" The same in ")[0]
    first.message = f"{base} It sent {total} messages like this in all."
    first.also = list(dict.fromkeys(f.request for f in found[1:] if f.request != first.request))
    report.findings = [f for f in report.findings if f.rule != rule or f is first]


def _more(message: str) -> int:
    """The N of "The same in N more message(s)." in a finding's message (0 if none)."""
    _, _, tail = message.partition(" The same in ")
    count = tail.split(" ", 1)[0]
    return int(count) if count.isdigit() else 0


_STATE_ADVICE = (
    "Each request gets a shallow copy of scope['state'], so `state['count'] += 1` on an "
    "int is lost when the request ends: store a mutable object at startup (a dict such "
    "as {'count': 0}, or a list) and change what is inside it"
)

ASGI_STREAMING_COUNT = register(
    ASGIExercise(
        "asgi-streaming-count",
        title="Stream a count (ASGI)",
        cases=[
            ASGICase(
                "GET /?n=5",
                equals=b"1\n2\n3\n4\n5\n",
                messages=5,
                says="five lines",
                headers_expected={"Content-Type": "text/plain"},
            ),
            ASGICase("GET /?n=1", equals=b"1\n", messages=1, says="one line"),
            ASGICase("GET /", equals=b"1\n2\n3\n", messages=3, says="no n: count to 3"),
        ],
    )
)

ASGI_LIFESPAN_COUNTER = register(
    ASGIExercise(
        "asgi-lifespan-counter",
        title="Count requests in lifespan state (ASGI)",
        lifespan=True,
        restart=(
            "Keep the counter in the state that 'lifespan.startup' sets up "
            "(scope['state']), not in a global variable, so that each server run "
            "starts from 1"
        ),
        cases=[
            ASGICase("GET /", equals=b"1", says="the first request"),
            ASGICase("GET /", equals=b"2", says="the second request", advice=_STATE_ADVICE),
            ASGICase("GET /hello", equals=b"3", says="every path counts", advice=_STATE_ADVICE),
        ],
    )
)


_NEVER_RECEIVED = (
    "receive() was never called, so the app never read the request body: call "
    "`await receive()` at least once, and again while the message says more_body=True "
    "(a loop `while more_body:` must start with more_body = True, or it never runs)"
)


class ReadBodyExercise(Exercise):
    """An exercise whose answer must read the request body with ``receive()``.

    A wrong body on a request for which the flow shows no ``receive()`` at
    all (not even one left un-awaited: the checker names that one) gets the
    reason added to its line. The verdict is the base exercise's. The run
    also offers a lifespan and a WebSocket scope, as ``gl.check_asgi`` does.
    """

    def _run(self, app: AnyApp) -> Report:
        probes = [case.probe() for case in self.cases]
        report = check_asgi(app, probes, timeout=self.timeout, lifespan=True, websocket=True)
        restore_raised(report, [probe.label for probe in probes])
        return report

    def _case_lines(self, report: Report) -> list[tuple[str, str]]:
        lines = _str_bodies(super()._case_lines(report), report, self.cases)
        unread = set()
        for case, events in zip(self.cases, http_connections(report), strict=False):
            if not case.probe().body:
                continue  # an empty body needs no receive() to come back right
            if any(e.kind == "receive" for e in events):
                continue
            if any(e.kind == "unawaited" and e.payload.get("call") == "receive" for e in events):
                continue
            about = f" ({case.says})" if case.says else ""
            unread.add(f"{case.probe().label}{about}: body should")
        return [
            (mark, f"{text}. {_NEVER_RECEIVED}")
            if mark == "✗" and any(text.startswith(prefix) for prefix in unread)
            else (mark, text)
            for mark, text in lines
        ]


ASGI_ECHO_BODY = register(
    ReadBodyExercise(
        "asgi-echo-body",
        kind="asgi",
        title="Echo the body (ASGI)",
        cases=[
            Case(
                "POST /",
                body=(b"first part, ", b"second part, ", b"last part"),
                equals=b"first part, second part, last part",
                says="a body in three messages",
            ),
            Case("POST /", body=b"just one", equals=b"just one", says="a body in one message"),
            Case("POST /", equals=b"", says="an empty body"),
        ],
    )
)
