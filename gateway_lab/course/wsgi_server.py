"""Notebook 03's exercise: the server's half of PEP 3333, written by the learner.

Theory of operation: in ``03-wsgi-server`` the learner writes
``respond(app, environ, send_head, send_body)``, the part of a WSGI server
that calls the app and sends what it produces. The answer is checked by a
:class:`~gateway_lab.exercises.server.ServerPartExercise` (no socket: recording
stand-ins for the connection, a deadline per case). This module is the
lesson's data: nine small apps, each paired with what a correct server does
with it (:data:`CASES`), and the registered exercise.

* ``wsgi-server-respond``: a list body, an empty body, ``start_response``
  called lazily inside a generator, ``write()``, ``exc_info`` before the
  head went out (twice: before returning, after an empty chunk) and after
  it, a second ``start_response`` without ``exc_info``, and a client that
  hangs up in the middle of the body.

Feedback names the cause, not the symptom, and only once: when ``respond``
raised serving a case, that error is the case's row (with ``close()``), not
also the head, status and body it then never sent. The two apps that replace their
status with ``exc_info`` say which step they are at (``closes.step``), so a
judge knows *when* the head went out: sent by ``start_response`` itself (a
server that does not wait for the body) or for an empty chunk (one that
does not skip ``b""``); either way the later ``exc_info`` found the head
already sent, and the feedback says which mistake it was. The app that fails
after the body started names its step too, so a ``respond`` that swallowed
the error its ``start_response`` rightly re-raised is told so. Its
generator bodies also say whether the server asked for the next chunk
before sending the last one (a server that holds the body back until the
app is done, against PEP 3333's "must not delay the transmission of any
block"), and, when the client hangs up, whether it stopped asking for
chunks once a send failed (one that catches the send error keeps running
the app for nobody, for ever on an endless stream).

The reference solution is ``notebooks/solutions/wsgi_server_respond.py``.

PEP 3333: https://peps.python.org/pep-3333/#the-start-response-callable
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from gateway_lab import specs
from gateway_lab.exercises.framework import register
from gateway_lab.exercises.server import (
    AppFailure,
    CloseCounter,
    ClosingIterator,
    ClosingList,
    Expectation,
    Run,
    ServerCase,
    ServerPartExercise,
    run_case,
)
from gateway_lab.exercises.server_judges import (
    HEAD_FOR_AN_EMPTY_CHUNK,
    IN_START_RESPONSE,
    WRITE_HEAD_FIRST,
    after_error,
    body_is,
    closed,
    expect,
    head_sent_by_start_response,
    head_sent_once,
    held_back,
    no_error,
    replace_refused,
    reraise_hint,
    sent_by_start_response,
    stopped_when_the_client_left,
)
from gateway_lab.types import Environ, StartResponse, WSGIApp

__all__ = [
    "CASES",
    "RESPOND",
    "AppFailure",
    "ClosingIterator",
    "ClosingList",
    "Run",
    "ServerCase",
    "ServerPartExercise",
    "run_case",
]

# -- the apps, and what a correct server does with each ------------------

TEXT = [("Content-Type", "text/plain")]


def _list_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", TEXT)
        return ClosingList([b"Hello, ", b"list"], closes)

    return app


def _judge_list(run: Run) -> list[Expectation]:
    if run.raised is not None:
        return after_error(run)
    return [
        *head_sent_once(run, "200 OK"),
        body_is(run, b"Hello, list"),
        closed(run, "after the last chunk"),
    ]


def _empty_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("204 No Content", [])
        return ClosingList([], closes)

    return app


def _judge_empty(run: Run) -> list[Expectation]:
    if run.raised is not None:
        return after_error(run)
    results = []
    results.append(
        expect(
            len(run.heads) == 1 and run.status == "204 No Content",
            "an empty body still gets its head",
            (
                f"with an empty body the head must still go out (once the body is done); "
                f"got {len(run.heads)} head(s). After the loop, send the head if it has "
                f"not been sent yet."
            ),
        )
    )
    results.append(closed(run, "for an empty body too"))
    return results


def _lazy_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def steps() -> Iterator[bytes]:
            start_response("200 OK", TEXT)  # runs on the first next(), not before
            yield b""
            yield b"lazy"

        return ClosingIterator(steps(), closes)

    return app


def _judge_lazy(run: Run) -> list[Expectation]:
    if run.raised is not None:
        results = after_error(run)
    else:
        results = [
            *head_sent_once(run, "200 OK"),
            body_is(run, b"lazy"),
            closed(run, "after the last chunk"),
        ]
    if run.heads and run.heads[0][1] is None:
        results.append(
            (
                False,
                "the head was sent before the app called start_response (status None). A "
                "generator app calls start_response only when you iterate it: send the "
                "head at the first non-empty chunk, not right after app() returns.",
            )
        )
    return results


def _write_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", TEXT)
        if not callable(write):
            raise TypeError(
                f"start_response returned {write!r}; PEP 3333 says it returns the "
                f"write(data) callable"
            )
        write(b"Hello, ")
        write(b"write")
        return ClosingList([b"!"], closes)

    return app


def _judge_write(run: Run) -> list[Expectation]:
    if isinstance(run.raised, TypeError) and "returns the write" in str(run.raised):
        return [
            (
                False,
                f"start_response should return a write(data) function; it returned "
                f"something else. Define write(data) (send the head if needed, then the "
                f"data) and `return write` at the end of start_response. See {specs.PEP3333_WRITE}",
            )
        ]
    if run.raised is not None:
        return no_error(run)
    wrote_first = run.events[:1] == [("body", b"Hello, ")]  # write()'s bytes before any head
    return [
        *head_sent_once(run, "200 OK", body_first_hint=WRITE_HEAD_FIRST if wrote_first else ""),
        expect(
            run.body == b"Hello, write!",
            "write() output came first, then the returned body: b'Hello, write!'",
            (
                f"the body should be b'Hello, write!' (what write() sent, then the "
                f"returned list), got {run.body!r}."
            ),
        ),
    ]


IN_LATE_EXC_INFO = "start_response(..., exc_info)"  # still so once respond is back: it raised


def _replace_before_body_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        closes.step = IN_START_RESPONSE
        start_response("200 OK", TEXT)
        closes.step = "exc_info"
        try:
            raise AppFailure("the database is down")
        except AppFailure:
            start_response("500 Internal Server Error", TEXT, sys.exc_info())
            return ClosingList([b"sorry"], closes)

    return app


def _judge_replace(run: Run, what: str) -> list[Expectation]:
    if sent_by_start_response(run) and run.status == "200 OK":
        return [
            head_sent_by_start_response(
                "the app then called start_response(..., exc_info) to replace its 200"
            )
        ]  # the cause alone: the status and body rows would only repeat it
    if run.raised is not None:  # the cause alone: nothing was sent because of it
        return [replace_refused(run, what)]
    return [*head_sent_once(run, "500 Internal Server Error"), body_is(run, b"sorry")]


def _empty_chunk_first_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def steps() -> Iterator[bytes]:
            closes.step = IN_START_RESPONSE
            start_response("200 OK", TEXT)
            closes.step = "empty chunk"
            yield b""  # an empty chunk sends nothing, not even the head
            closes.step = "exc_info"
            try:
                raise AppFailure("the template is missing")
            except AppFailure:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            yield b"sorry"

        return ClosingIterator(steps(), closes)

    return app


def _judge_after_empty_chunk(run: Run) -> list[Expectation]:
    """The head must wait past the empty chunk; if it did not, that is the cause to name.

    Two servers send the head too early here: one whose start_response sends
    it, and one that sends it for the empty chunk. ``run.head_steps`` says which.
    """
    first = run.heads[0][1] if run.heads else None
    if first == "200 OK" and sent_by_start_response(run):
        return [
            head_sent_by_start_response(
                "the app, after an empty chunk, called start_response(..., exc_info)"
            ),
            closed(run, "even though the app failed"),
        ]
    if first == "200 OK":  # the head went out for the empty chunk, before the app changed its mind
        return [(False, HEAD_FOR_AN_EMPTY_CHUNK), closed(run, "even though the app failed")]
    return _judge_replace(run, "Only an empty chunk came before the error")


def _too_late_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def steps() -> Iterator[bytes]:
            start_response("200 OK", TEXT)
            yield b"part"
            try:
                raise AppFailure("failed in the middle of the body")
            except AppFailure:
                closes.step = IN_LATE_EXC_INFO
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
                closes.step = "exc_info returned"  # start_response did not raise
            yield b"never"

        return ClosingIterator(steps(), closes)

    return app


def _judge_too_late(run: Run) -> list[Expectation]:
    held = held_back(
        run,
        f"nothing went out until the app had finished, and its late 500 replaced a 200 "
        f"whose b'part' it had already yielded (the client got {run.status!r} and "
        f"{run.body!r})",
    )
    if held:  # the cause alone: the re-raise, status and body rows would only repeat it
        return [*held, closed(run, "even though the app failed")]
    hint = reraise_hint(run, reraised_inside=run.closes.step == IN_LATE_EXC_INFO)
    return [
        expect(
            isinstance(run.raised, AppFailure),
            "the app's own error came back out of respond (the server can now abort)",
            f"{hint} See {specs.PEP3333_ERROR_HANDLING}",
        ),
        *head_sent_once(run, "200 OK"),
        body_is(run, b"part"),
        closed(run, "even though the app failed"),
    ]


def _twice_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", TEXT)
        start_response("404 Not Found", TEXT)  # a bug: no exc_info
        return ClosingList([b"which status?"], closes)

    return app


def _judge_twice(run: Run) -> list[Expectation]:
    refused = run.raised is not None or str(run.status or "").startswith("5")
    return [
        expect(
            refused,
            "a second start_response() without exc_info was refused with an error",
            (
                "a second call of start_response() without exc_info is an error in the "
                "app; the server should raise (for example RuntimeError) instead of "
                f"quietly taking the new status. See {specs.PEP3333_START_RESPONSE}"
            ),
        )
    ]


def _hang_up_app(closes: CloseCounter) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def steps() -> Iterator[bytes]:
            start_response("200 OK", TEXT)
            for number in range(1000):
                yield f"chunk {number}\n".encode()

        return ClosingIterator(steps(), closes)

    return app


def _judge_hang_up(run: Run) -> list[Expectation]:
    held = held_back(
        run,
        f"the app made its whole body ({run.closes.pulls} chunks) before the first byte went "
        f"out; an endless stream would never send anything",
    )
    return [
        *(held or stopped_when_the_client_left(run)),
        closed(run, "after the client hung up (send_body raised BrokenPipeError)"),
    ]


CASES = [
    ServerCase("a list body", _list_app, _judge_list),
    ServerCase("an empty body", _empty_app, _judge_empty),
    ServerCase("start_response inside a generator", _lazy_app, _judge_lazy),
    ServerCase("write()", _write_app, _judge_write),
    ServerCase(
        "exc_info before the body",
        _replace_before_body_app,
        lambda run: _judge_replace(run, "The app replaced its 200 before returning"),
    ),
    ServerCase("exc_info after an empty chunk", _empty_chunk_first_app, _judge_after_empty_chunk),
    ServerCase("exc_info after the body started", _too_late_app, _judge_too_late),
    ServerCase("start_response twice", _twice_app, _judge_twice),
    ServerCase("the client hangs up", _hang_up_app, _judge_hang_up, client_hangs_up=True),
]


RESPOND = register(
    ServerPartExercise(
        "wsgi-server-respond",
        title="The server's half of WSGI: respond()",
        server_cases=CASES,
    )
)
