"""The small ASGI apps that notebook 08's bridge exercise carries across a learner's bridge.

Theory of operation: each app shows one thing an ASGI-to-WSGI bridge must
carry across (see :mod:`gateway_lab.course.bridges`, which judges them), and
each notes what it saw in a module-level list that the exercise clears
before and reads after every app, because a bridge runs the app where the
check cannot look: inside its own ``asyncio.run``.

* :data:`RUNS`: every app notes its name when it starts, so a bridge that
  called the app but never ran the coroutine can be told so;
* :data:`CUT_SHORT`: the apps that read the request body note it when
  ``receive()`` gives anything but ``http.request`` before the message with
  ``more_body`` False (an ``http.disconnect`` right away for a GET, or after
  a first message marked ``more_body=True``). A real app stops there
  (Starlette's ``await request.body()`` raises ``ClientDisconnect``); these
  carry on with what they got, so that the rest of the bridge can still be
  judged, and the exercise fails on the note;
* :data:`AFTER_RESPONSE`: what ``disconnect_app`` got from ``receive()``
  once its response was sent.

The end of the module holds the feedback line that judges each note
(:func:`never_ran`, :func:`cut_short_line`, :func:`disconnect_line`), and
:func:`evaluate_watching`, which runs a bridged app's check while watching
for Python's "coroutine ... was never awaited" warning about the app.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

from gateway_lab import specs
from gateway_lab.exercises.framework import Exercise
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.protocol import quotes
from gateway_lab.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "AFTER_RESPONSE",
    "AFTER_RESPONSE_WAIT",
    "CUT_SHORT",
    "RUNS",
    "cut_short_line",
    "disconnect_app",
    "disconnect_line",
    "echo_app",
    "evaluate_watching",
    "hello_app",
    "never_ran",
    "not_found_app",
    "streamed_app",
]

RUNS: list[str] = []  # the name of each app, as it starts
CUT_SHORT: list[tuple[str, str]] = []  # ("METHOD /path", what receive() gave) for a body cut short
AFTER_RESPONSE: list[str] = []  # what receive() gave disconnect_app after its response
AFTER_RESPONSE_WAIT = 0.5  # seconds disconnect_app waits on that receive()

_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


def _shown(message: object) -> str:
    """A received message as the feedback shows it: its type, body and more_body."""
    if not isinstance(message, dict):
        return repr(message)
    keys = ("type", "body", "more_body")
    return repr({key: message[key] for key in keys if key in message})


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    """The request body, up to the http.request whose more_body is False.

    Anything else before that message is noted in :data:`CUT_SHORT` (with
    everything received so far), and the body read until then is returned.
    """
    body, got = b"", []
    while True:
        message = await receive()
        got.append(_shown(message))
        if not isinstance(message, dict) or message.get("type") != "http.request":
            CUT_SHORT.append((f"{scope.get('method')} {scope.get('path')}", ", then ".join(got)))
            return body
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def hello_app(scope: Scope, receive: Receive, send: Send) -> None:
    """200, a Content-Type, and a body that names the path."""
    RUNS.append("hello_app")
    if scope["type"] != "http":
        return
    body = f"Hello from ASGI at {scope['path']}!".encode()
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    await send({"type": "http.response.body", "body": body})


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the request body, however many messages it came in."""
    RUNS.append("echo_app")
    if scope["type"] != "http":
        return
    body = await _read_body(scope, receive)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def not_found_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A 404 with a header of its own."""
    RUNS.append("not_found_app")
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"x-reason", b"no such page"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"Nothing here."})


async def streamed_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A body in three messages: more_body=True, True, then False."""
    RUNS.append("streamed_app")
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    for piece in (b"one, ", b"two, "):
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"three", "more_body": False})


async def disconnect_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers, then calls receive() once more: it must give 'http.disconnect'."""
    RUNS.append("disconnect_app")
    if scope["type"] != "http":
        return
    await _read_body(scope, receive)
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    await send({"type": "http.response.body", "body": b"done"})
    try:
        message = await asyncio.wait_for(receive(), AFTER_RESPONSE_WAIT)
    except asyncio.TimeoutError:
        AFTER_RESPONSE.append(
            f"nothing: receive() had not returned after {AFTER_RESPONSE_WAIT:g} s"
        )
    except Exception as exc:  # noqa: BLE001 - the bridge's receive failed: that is the finding
        AFTER_RESPONSE.append(f"an exception: receive() raised {type(exc).__name__}: {exc}")
    else:
        AFTER_RESPONSE.append(
            repr(message.get("type")) if isinstance(message, dict) else repr(message)
        )


# -- the line that judges each note ---------------------------------------------------


def disconnect_line() -> tuple[str, str] | None:
    """The ✓ / ✗ line about what receive() gave disconnect_app after its response.

    None when the app never got that far (the rows above say why). A bridge
    that hands the response over before the app has finished (one with a loop
    in a thread of its own) gets the app's wait to finish first.
    """
    deadline = time.monotonic() + AFTER_RESPONSE_WAIT + 0.5
    while not AFTER_RESPONSE and "disconnect_app" in RUNS and time.monotonic() < deadline:
        time.sleep(0.01)
    if not AFTER_RESPONSE:
        return None
    got = AFTER_RESPONSE[-1]
    if got == "'http.disconnect'":
        return "✓", "[disconnect] after the response, receive() gave {'type': 'http.disconnect'}"
    return (
        "✗",
        f"[disconnect] after the response, the app called receive() again and got {got}. "
        "Once the body has been given, the bridge's receive() must return "
        "{'type': 'http.disconnect'} (a streaming or long-polling app waits for it to "
        f"stop). See {specs.ASGI_HTTP_DISCONNECT}",
    )


def cut_short_line(label: str) -> tuple[str, str]:
    """The ✗ line for an app whose body read met something before more_body False."""
    where = ", ".join(dict.fromkeys(request for request, _ in CUT_SHORT))
    first_request, arrived = CUT_SHORT[0]
    on = f" (on {first_request})" if len(CUT_SHORT) > 1 else ""
    return (
        "✗",
        f"[{label}] the request body never ended on {where}: reading it, the app got "
        f"{arrived} from receive(){on}, and no http.request with more_body False. To an "
        "ASGI app that means the client left before its request was complete, so a real "
        "app stops there (Starlette's await request.body() raises ClientDisconnect, and "
        "the request fails with a 500); this one carried on. What to change (step 2): the "
        "first receive() must give the whole body in one {'type': 'http.request', "
        "'body': body, 'more_body': False}, with b'' as the body when there is none (a "
        "GET), and {'type': 'http.disconnect'} only after that. The spec, of more_body: "
        f'"{quotes.REQUEST_MORE_BODY}" See {specs.ASGI_HTTP_REQUEST}',
    )


def never_ran(app: ASGIApp) -> str:
    """The one ✗ line for a bridge that made the app's coroutine but did not run it."""
    name = getattr(app, "__name__", "asgi_app")
    return (
        "The bridge called the ASGI app but never ran it: asgi_app(scope, receive, send) "
        f"only makes a coroutine (Python warned: coroutine '{name}' was never awaited), so "
        "the app sent nothing and there was no response to hand to start_response. What to "
        "change (step 4): run the coroutine to its end with "
        "asyncio.run(asgi_app(scope_from(environ), receive, send)), then build the WSGI "
        "response from the messages send() kept."
    )


def evaluate_watching(inner: Exercise, wrapped: Any, app: ASGIApp) -> tuple[ExerciseResult, bool]:
    """``inner.evaluate(wrapped)``, and whether Python warned that ``app`` was never awaited.

    Other warnings raised meanwhile are passed on as they came.
    """
    never = f"coroutine '{getattr(app, '__qualname__', '')}' was never awaited"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        result = inner.evaluate(wrapped)
    seen = False
    for warning in caught:
        if never in str(warning.message):
            seen = True
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return result, seen
