"""The ASGI requirements on apps that no check from outside the app can see.

Theory of operation: each is a line of data, the spec's own sentence, its
link, and why the checker cannot judge it (it concerns middleware, or what
the app does inside itself). ``docs/rules.md`` prints them beside the rules,
so the rule table accounts for every sentence of the spec it walks.
"""

from __future__ import annotations

from gateway_lab import specs
from gateway_lab.check.ruletypes import Unchecked
from gateway_lab.protocol import quotes as q

__all__ = ["ASGI_UNCHECKED"]

ASGI_UNCHECKED = [
    Unchecked(
        q.MIDDLEWARE_COPY,
        specs.ASGI_MAIN + "#middleware",
        "Concerns middleware passing the scope down; the checker sees one app, and an app "
        "changing its own scope harms nobody.",
    ),
    Unchecked(
        q.RECEIVE_INVALID,
        specs.ASGI_ERROR_HANDLING,
        "The checker plays a correct server and never hands the app an invalid event.",
    ),
    Unchecked(
        q.EXTRA_KEYS,
        specs.ASGI_ERROR_HANDLING,
        "Covered by app.raised only if a server sends extra keys; the battery's events "
        "carry the spec's keys, as today's servers do.",
    ),
    Unchecked(
        q.COOKIE_HTTP2,
        specs.ASGI_HTTP,
        "The battery speaks HTTP/1.1 and sends no cookies; how an app parses Cookie "
        "headers happens inside it.",
    ),
    Unchecked(
        q.TRIGGER,
        specs.ASGI_HTTP_REQUEST,
        "What the app runs before its first receive() leaves no message behind.",
    ),
    Unchecked(
        q.DISCONNECT_SEND,
        specs.ASGI_HTTP_DISCONNECT,
        "The battery's client never leaves in the middle of a response; the exercises "
        "asgi-sse-until-disconnect and asgi-ws-numbered-echo check it with a client that "
        "does.",
    ),
    Unchecked(
        q.LIFESPAN_KEY_NAMES,
        specs.ASGI_LIFESPAN_STATE,
        "Naming is a convention between frameworks; no key name is wrong on its own.",
    ),
    Unchecked(
        q.LIFESPAN_REJECT,
        specs.ASGI_LIFESPAN_SCOPE,
        "A requirement on servers (the checker follows it: an app that raises for the "
        "lifespan scope gets no lifespan events and no error).",
    ),
]
