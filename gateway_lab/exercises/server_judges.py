"""The lines of feedback a server-part exercise gives: one :class:`Run` in, lines out.

Theory of operation: a :class:`~gateway_lab.exercises.server.ServerCase`'s
judge turns what the learner's ``respond`` did (a
:class:`~gateway_lab.exercises.server.Run`) into :data:`Expectation` rows,
``(passed, sentence)``, with the helpers here: :func:`expect` for one row,
:func:`head_sent_once`, :func:`no_error`, :func:`body_is` and :func:`closed`
for what every response needs, :func:`reraise_hint` for an ``exc_info`` that
came too late, :func:`held_back` for a server that keeps the body back
until the app is done, and :func:`stopped_when_the_client_left` for one that
goes on running the app after a send failed. Each sentence names the
cause and what to change, not only the symptom; a judge that knows more
about its case (``course.wsgi_server``) passes it in.

PEP 3333: https://peps.python.org/pep-3333/#the-start-response-callable
"""

from __future__ import annotations

from gateway_lab import specs
from gateway_lab.exercises.server import Expectation, Run

__all__ = [
    "HEAD_FOR_AN_EMPTY_CHUNK",
    "IN_START_RESPONSE",
    "SWALLOWED",
    "WRITE_HEAD_FIRST",
    "after_error",
    "body_is",
    "closed",
    "expect",
    "head_sent_by_start_response",
    "head_sent_once",
    "held_back",
    "no_error",
    "replace_refused",
    "reraise_hint",
    "sent_by_start_response",
    "stopped_when_the_client_left",
]

# The step an app is at while it calls start_response("200 OK", ...): a head
# recorded at this step was sent by the learner's start_response itself.
IN_START_RESPONSE = "start_response"

# Causes a respond() case can name reliably (see course.wsgi_server).
WRITE_HEAD_FIRST = (
    "write() must send the head first, if it has not gone out yet (the same flag the "
    "loop uses), then its data."
)
SWALLOWED = (
    "respond caught the app's error and returned normally: do not catch it around the "
    "loop; let it out after the finally (which still calls close())."
)
HEAD_FOR_AN_EMPTY_CHUNK = (
    "your server sent the head for an empty chunk: status '200 OK' went out when the app "
    "yielded b'', so when the app then called start_response(..., exc_info) to replace it "
    "with a 500, the head was already out and could not be replaced. An empty chunk of the "
    'body sends nothing, not even the head (PEP 3333: the head goes out "only after the '
    'first iteration of the application return value that yields a non-empty bytestring"): '
    f"skip it (if chunk: ...). See {specs.PEP3333_START_RESPONSE}"
)


def expect(ok: bool, good: str, bad: str) -> Expectation:
    """``(ok, good)`` when ``ok``, else ``(ok, bad)``: one line of feedback."""
    return (ok, good if ok else bad)


def head_sent_once(run: Run, status: str, body_first_hint: str = "") -> list[Expectation]:
    """The head went out exactly once, before any body bytes, with ``status``.

    ``body_first_hint``: what to change when body bytes went out before the
    head (a judge that knows which code sent them), instead of the flag advice.
    """
    heads = run.heads
    body_first = bool(run.events) and run.events[0][0] != "head"
    advice = "Keep a flag such as head_sent, and send the head only when it is False."
    if body_first and body_first_hint:
        advice = body_first_hint
    results = [
        expect(
            len(heads) == 1 and not body_first,
            "the head was sent once, before the body",
            (
                f"the head should be sent exactly once, before any body bytes; it was sent "
                f"{len(heads)} time(s){' after body bytes' if body_first else ''}. {advice}"
            ),
        )
    ]
    results.append(
        expect(
            run.status == status,
            f"status {status!r}",
            f"the status sent should be {status!r}, got {run.status!r}.",
        )
    )
    return results


def reraise_hint(run: Run, reraised_inside: bool) -> str:
    """What to change when the app's error, after the head went out, did not leave respond.

    ``reraised_inside``: the app's ``start_response(..., exc_info)`` call raised
    (the app's step says so). With nothing out of ``respond``, ``respond``
    itself caught the error (:data:`SWALLOWED`); with another error out of it,
    that call raised its own error instead of the app's.
    """
    raised = run.raised
    if raised is None and reraised_inside:
        return SWALLOWED
    if raised is None:
        return (
            "after the head went out, start_response(..., exc_info) must re-raise the "
            "app's error (raise exc_info[1].with_traceback(exc_info[2])), so that the "
            "server cuts the connection instead of finishing a response that lies; "
            "respond returned normally."
        )
    who = "your start_response" if reraised_inside else "respond"
    return (
        "after the head went out, start_response(..., exc_info) must raise, and this "
        "exercise asks for the app's own error, as PEP 3333 recommends (\"should re-raise "
        'using the exc_info tuple"): raise exc_info[1].with_traceback(exc_info[2]), so '
        "that the server's log (and any middleware) gets the app's own exception and "
        f"traceback; {who} raised {type(raised).__name__}: {raised} instead."
    )


def sent_by_start_response(run: Run) -> bool:
    """The first head went out while the app was inside its first start_response call."""
    return bool(run.head_steps) and run.head_steps[0] == IN_START_RESPONSE


def head_sent_by_start_response(what: str) -> Expectation:
    """The ✗ line of a server whose start_response sends the head (``what``: when it mattered)."""
    return (
        False,
        (
            "your start_response sent the head: status '200 OK' went out when the app called "
            f"start_response('200 OK', ...), so when {what}, the head was already sent and "
            "could not be replaced. start_response must only remember the status and "
            "headers; the head goes out with the first non-empty body chunk (or, for an "
            'empty body, after the loop). PEP 3333: "the start_response callable must not '
            f'actually transmit the response headers". See {specs.PEP3333_START_RESPONSE}'
        ),
    )


def replace_refused(run: Run, what: str) -> Expectation:
    """The ✗ line of a respond that raised when ``exc_info`` came before anything was sent."""
    return (
        False,
        (
            f"respond raised {type(run.raised).__name__}: {run.raised}. {what}: nothing was "
            f"sent yet, so start_response(..., exc_info) must replace the status and headers, "
            f"not raise. See {specs.PEP3333_ERROR_HANDLING}"
        ),
    )


def after_error(run: Run) -> list[Expectation]:
    """The rows of a case whose correct app made respond raise: the error is the cause.

    The head, status and body rows would only repeat it (nothing more was
    sent because respond stopped), so they are left out; close() is a check
    of its own, on every path.
    """
    return [*no_error(run), closed(run, "even though respond raised")]


def no_error(run: Run) -> list[Expectation]:
    """Nothing, or one ✗ line when ``respond`` raised serving a correct app."""
    if run.raised is None:
        return []
    error = run.raised
    return [
        (
            False,
            f"respond raised {type(error).__name__}: {error}. This app follows PEP 3333, "
            f"so a server must serve it without an error. See {specs.PEP3333_START_RESPONSE}",
        )
    ]


def body_is(run: Run, wanted: bytes) -> Expectation:
    """All the body bytes sent, joined, are ``wanted``."""
    return expect(
        run.body == wanted,
        f"body {wanted!r}",
        f"the body sent should be {wanted!r}, got {run.body!r}.",
    )


def closed(run: Run, when: str) -> Expectation:
    """The body's ``close()`` was called (``when`` says on which path, in words)."""
    return expect(
        run.closes.count >= 1,
        f"close() was called {when}",
        (
            f"the body's close() should be called {when}, but it was not. Iterate inside "
            f"try: ... finally: and call body.close() in the finally block, if the body "
            f"has one. See {specs.PEP3333_DETAILS}"
        ),
    )


def held_back(run: Run, consequence: str) -> list[Expectation]:
    """One ✗ line if the server asked for the next chunk before sending the one it had.

    PEP 3333: a server "must not delay the transmission of any block", so
    each chunk goes out before the app is asked for the next. ``consequence``: what
    holding the body back did in this case, in words (after "so").
    """
    chunk = run.closes.held_back
    if chunk is None:
        return []
    return [
        (
            False,
            (
                f"your server held the body back: it asked the app for its next chunk "
                f'before sending {chunk!r}, so {consequence}. PEP 3333: servers "must not '
                f'delay the transmission of any block". Send each non-empty chunk (the head '
                f"first) as soon as the app yields it, before asking for the next one. "
                f"See {specs.PEP3333_BUFFERING}"
            ),
        )
    ]


def stopped_when_the_client_left(run: Run) -> list[Expectation]:
    """One line: the server asked the app for at most one more chunk once a send failed.

    One more is allowed: a server may note the failure and stop at the top of
    its next turn of the loop, as the mini server's ``stopped()`` does. No
    line when no send failed (a server that held the body back is told so).
    """
    at = run.closes.pulls_at_failure
    if at is None:
        return []
    more = run.closes.pulls - at
    return [
        expect(
            more <= 1,
            "your server stopped running the app once send_body failed",
            (
                f"your server kept running the app after the client left: send_body raised "
                f"BrokenPipeError for chunk {at}, and your server then asked the app for "
                f"{more} more chunks. Let the send error end the loop (do not catch it); "
                f"close() runs in the finally block."
            ),
        )
    ]
