"""One request of a middleware exercise: a :class:`Step`, the known inner app, and its lines.

Theory of operation: a middleware exercise (:mod:`.middleware`) checks a
learner's layer around an app of its own, :func:`inner_app`, one
:class:`Step` at a time. A step is a :class:`Case` plus what only a
middleware exercise can ask:

* ``inner_called``: must the request reach the inner app? (an authentication
  middleware must turn a stranger away *before* the inner app runs);
* ``hides``: text of the inner app's page that must not leak into the answer;
* ``cookie``: a ``Set-Cookie`` header that must set this name and value, with
  ``Path=/``, and not expire at once;
* ``send_cookies``: send back, in a ``Cookie`` header, what earlier steps'
  ``Set-Cookie`` headers set (a tiny browser cookie jar), so a counter can be
  followed over several requests;
* ``keeps_headers``: the header the middleware adds (``"Set-Cookie"``): the
  inner app's own headers (it marks its pages with ``X-Inner: yes``) must
  come back next to it; a middleware that passes on only its own header is
  told exactly that, instead of hearing that a Content-Type is missing;
* ``body_hint``: (text, advice): when the body shows that text, the failed
  body check says what to change (``Hello, stranger`` means the inner app
  never saw ``REMOTE_USER``);
* ``if_raised``: what to change when the middleware raised on this request
  instead of answering (``users[user]`` on a user who is not there);
* ``header_form``: (header, regular expression, what to change): on an
  answer with the case's status, the header must match, in full
  (``WWW-Authenticate`` must name the Basic scheme);
* ``header_details``: further (regular expression, what to change) pairs the
  same header must match too, once it has the form: only the first one it
  misses is reported, so a header with another scheme hears about the
  scheme, one with no realm about the realm, and one with an unquoted realm
  about the quotes, each once;
* ``if_no_header``: what to change when that header is not there at all;
* ``if_let_in``: what to change when a request this step must turn away got
  in (its status check failed with a status below 400: a request under
  another scheme than Basic was answered 200); added to that status line
  only, so a middleware that turned it away but called the inner app first
  hears about that, not this;
* ``if_refused``: the same, but only when the inner app did not run on a
  step that must reach it (a Basic request with the scheme in lower case was
  turned away); a step that reached the app and failed for another reason
  (no ``REMOTE_USER``) does not get it.

:func:`step_lines` and :func:`said_per_step` turn what came back into those
lines; the exercise says a line of the second kind (the header's form, the
cookie) that repeats on several steps once, on the first, naming the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway_lab.events.kinds import START_RESPONSE
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.cookies import cookie_lines
from gateway_lab.interface.response import Response
from gateway_lab.types import Environ, StartResponse, WSGIApp

__all__ = [
    "Render",
    "Step",
    "dropped_headers",
    "header_form_line",
    "inner_app",
    "said_per_step",
    "step_lines",
    "with_advice",
]


@dataclass(frozen=True)
class Step:
    """One request of a middleware exercise: a :class:`Case` and the extras."""

    case: Case
    inner_called: bool | None = None
    hides: str = ""
    cookie: tuple[str, str] | None = None
    send_cookies: bool = False
    keeps_headers: str = ""
    body_hint: tuple[str, str] | None = None
    if_raised: str = ""
    header_form: tuple[str, str, str] | None = None
    header_details: tuple[tuple[str, str], ...] = ()
    if_no_header: str = ""
    if_let_in: str = ""
    if_refused: str = ""


Render = Callable[[Environ], str]


def inner_app(render: Render, calls: list[str]) -> WSGIApp:
    """A small known app to wrap: notes each call, ``/missing`` is a 404."""

    def inner(environ: Environ, start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        calls.append(path)
        if path == "/missing":
            body = b"No page here."
            start_response(
                "404 Not Found",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "13")],
            )
            return [body]
        body = render(environ).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("X-Inner", "yes"),
            ],
        )
        return [body]

    inner.__name__ = "inner_app"
    return inner


def dropped_headers(step: Step, response: Response | None, inner_ran: bool) -> bool:
    """Did the inner app's page come back without the inner app's own headers?"""
    return (
        bool(step.keeps_headers)
        and inner_ran
        and response is not None
        and response.status == 200
        and response.header("X-Inner") is None
    )


def with_advice(
    lines: list[tuple[str, str]], advice: str, start: str = ""
) -> list[tuple[str, str]]:
    """``lines`` with ``advice`` added to the first ✗ line that starts with ``start``.

    No such line, or no advice: unchanged.
    """
    if not advice:
        return lines
    for index, (mark, text) in enumerate(lines):
        if mark == "✗" and text.startswith(start):
            said = f"{text.rstrip('.')}. What to change: {advice}"
            return [*lines[:index], (mark, said), *lines[index + 1 :]]
    return lines


def header_form_line(response: Response, label: str, step: Step) -> tuple[str, str] | None:
    """The line on ``step.header_form`` for an answer with the step's status (else None).

    ✓ when the header matches every pattern in full, otherwise ✗ with the
    advice of the first pattern it misses (or ``if_no_header`` when it is
    not there at all).
    """
    wanted_status = step.case.status
    if step.header_form is None or wanted_status not in (None, response.status):
        return None
    name, pattern, advice = step.header_form
    value = response.header(name)
    if value is None and step.if_no_header:
        return (
            "✗",
            f"{label}: the {response.status} came back without a {name} header. "
            f"{step.if_no_header}",
        )
    for form, said in ((pattern, advice), *step.header_details):
        if value is None or not re.fullmatch(form, value.strip(), re.IGNORECASE):
            got = "no such header" if value is None else repr(f"{name}: {value}")
            return ("✗", f"{label}: {name} is not of the right form (got {got}). {said}")
    return ("✓", f"{label}: {name}: {value}")


def _started_with(flow: Any) -> list[list[tuple[str, str]]]:
    """The headers of each start_response call the server saw, in order."""
    return [
        list(event.payload.get("headers", [])) for event in flow if event.kind == START_RESPONSE
    ]


def step_lines(
    step: Step, label: str, response: Response | None, inner_ran: bool
) -> list[tuple[str, str]]:
    """What only a middleware step checks: did the inner app run, did its page leak."""
    lines: list[tuple[str, str]] = []
    if step.inner_called is True:
        lines.append(
            ("✓", f"{label}: the inner app ran")
            if inner_ran
            else ("✗", f"{label}: the inner app never ran; call app(environ, start_response)")
        )
    elif step.inner_called is False:
        lines.append(
            ("✓", f"{label}: the inner app was not called")
            if not inner_ran
            else (
                "✗",
                f"{label}: the inner app was called; decide first, and call it only "
                "for a request that may see its page",
            )
        )
    if step.hides and response is not None and step.hides in response.text:
        lines.append(
            (
                "✗",
                f"{label}: the body shows the inner app's page ({step.hides!r}); answer "
                "with your own short body instead",
            )
        )
    return lines


def said_per_step(
    step: Step, label: str, response: Response | None, flow: Any = ()
) -> list[tuple[str, str]]:
    """The lines that may say the same on every step: the header's form and the cookie.

    The exercise says such a ✗ line once, on the first step it came up on.
    """
    lines: list[tuple[str, str]] = []
    if response is not None:
        form = header_form_line(response, label, step)
        lines += [form] if form is not None else []
    if step.cookie is not None:
        started = _started_with(flow)
        lines += cookie_lines(response, label, *step.cookie, replaced=started[:-1])
    return lines
