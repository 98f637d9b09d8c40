"""The ASGI rules (HTTP, WebSocket, lifespan, and the event loop).

Theory of operation: data only, one :class:`~.rule.Rule` per mistake: any
scope (message shape, scope types), HTTP (status, headers, bodies, more_body
on both sides), WebSocket (frame shape), lifespan, and blocking the event
loop. ``{name}`` fields are filled in by the drivers. The mistakes of
*order* (a body before the start, a send after the close, a wrong lifespan
reply...) are not written here: their wording lives beside the transition
tables in :mod:`gateway_lab.protocol.asgi`, which every server side of the
package follows, and :data:`ORDER_RULES` lists them in the catalogue from
there (a finding takes the exact sentence of the table it broke).
"""

from __future__ import annotations

from gateway_lab.check.rule import ASGI, RFC9110, Rule
from gateway_lab.protocol.asgi import VIOLATIONS

__all__ = ["ASGI_RULES", "ORDER_RULES"]


def _template(text: str) -> str:
    """A table sentence as a rule template: its braces literal, except ``{value}``."""
    return text.replace("{", "{{").replace("}", "}}").replace("{{value}}", "{value}")


_FIRST: dict[str, Rule] = {}
for _v in VIOLATIONS:  # the first table's wording stands for a shared id (HTTP's)
    _FIRST.setdefault(
        _v.rule, Rule(_v.rule, "error", _template(_v.what), _template(_v.fix), _v.spec)
    )
ORDER_RULES = list(_FIRST.values())

ASGI_RULES = [
    # -- ASGI: any scope -------------------------------------------------------------
    Rule(
        "asgi.not-awaitable",
        "error",
        "Calling the app returned {value}, not an awaitable. An ASGI app is an `async "
        "def` function (a coroutine function).",
        "Write `async def app(scope, receive, send):`.",
        ASGI + "main.html#applications",
    ),
    Rule(
        "asgi.send-not-awaited",
        "error",
        "The app called send({value}) without `await`{others}. Calling send(...) only "
        "creates a coroutine, which does nothing until it is awaited, so the message was "
        'never sent (a real server logs "RuntimeWarning: coroutine ... was never awaited").',
        "send(...) returns a coroutine: write `await send(...)`.",
        ASGI + "main.html#applications",
    ),
    Rule(
        "asgi.receive-not-awaited",
        "error",
        "The app called receive() without `await`{others}, so it got a coroutine, not a "
        "message: calling receive() only creates a coroutine, which does nothing until it "
        'is awaited (a real server logs "RuntimeWarning: coroutine ... was never awaited").',
        "receive() returns a coroutine: write `message = await receive()`.",
        ASGI + "main.html#applications",
    ),
    Rule(
        "asgi.message-not-dict",
        "error",
        "send() got {value}; every ASGI message is a dict with a 'type' key.",
        "Send a dict such as {{'type': 'http.response.start', 'status': 200, 'headers': []}}.",
        ASGI + "main.html#events",
    ),
    Rule(
        "asgi.scope-type-ignored",
        "warning",
        "Given a {scope} scope, the app sent {value} as if it were an HTTP request. An "
        "app should look at scope['type'] and raise (or return) for types it does not "
        "handle.",
        "Start the app with `if scope['type'] != 'http': return` (or raise), or handle "
        "'{scope}' too.",
        ASGI + "main.html#applications",
    ),
    Rule(
        "asgi.unsupported-scope",
        "info",
        "The app does not handle the {scope} scope ({how}). That is fine if it is meant "
        "to serve HTTP only.",
        "",
        ASGI + "main.html#applications",
    ),
    # -- ASGI: HTTP ------------------------------------------------------------------
    Rule(
        "asgi.status-not-int",
        "error",
        "The status is {value}, of type {type}; ASGI wants an int such as 200.",
        "Write 'status': 200 (a number, no reason phrase).",
        ASGI + "www.html#response-start-send-event",
    ),
    Rule(
        "asgi.status-invalid",
        "error",
        "The status {value} is not an HTTP status code (100 to 599).",
        "Use a code such as 200, 404 or 500.",
        ASGI + "www.html#response-start-send-event",
    ),
    Rule(
        "asgi.headers-form",
        "error",
        "The headers {value} are not a list of [name, value] pairs.",
        "Write 'headers': [(b'content-type', b'text/plain')].",
        ASGI + "www.html#response-start-send-event",
    ),
    Rule(
        "asgi.header-not-bytes",
        "error",
        "The header {value} has a {part} of type {type}; ASGI header names and values are bytes.",
        "Write them as b'...' literals or with .encode('latin-1').",
        ASGI + "www.html#response-start-send-event",
    ),
    Rule(
        "asgi.header-crlf",
        "error",
        "The header {value} contains a line break or control character, which would "
        "split the header and let the rest forge new headers.",
        "Remove b'\\r', b'\\n' and other control bytes from header names and values.",
        ASGI + "www.html#response-start-send-event",
    ),
    Rule(
        "asgi.header-name-case",
        "warning",
        "The header name {value} is not lower-case. The ASGI spec asks for lower-case "
        "names; servers usually cope.",
        "Write header names in lower case: b'content-type'.",
        ASGI + "www.html#response-start-send-event",
    ),
    Rule(
        "asgi.body-not-bytes",
        "error",
        "The 'body' of {where} is of type {type} ({value}); ASGI bodies are bytes.",
        "Send bytes: {fix}.",
        ASGI + "www.html#response-body-send-event",
    ),
    Rule(
        "asgi.body-partly-read",
        "warning",
        "The request body arrived in {total} 'http.request' messages, but the app read "
        "only {read} and answered, so it worked with part of the body (fine if it "
        "meant to refuse the request early; a bug if it used the body).",
        "Keep calling receive() while message.get('more_body') is True and join the 'body' parts.",
        ASGI + "www.html#request-receive-event",
    ),
    Rule(
        "asgi.receive-after-body",
        "error",
        "The app waited on receive() after the whole body had arrived (the last "
        "message had more_body=False), before it answered. The next message only comes "
        "when the client leaves, and the client is waiting for the answer.",
        "Stop reading when more_body is False, then send the response.",
        ASGI + "www.html#request-receive-event",
    ),
    Rule(
        "asgi.content-length-mismatch",
        "error",
        "The content-length header says {declared} bytes but the app sent {sent}. {why}",
        "Compute it from the bytes you send: str(len(body)).encode().",
        RFC9110 + "#section-8.6",
    ),
    Rule(
        "asgi.body-on-no-content",
        "error",
        "The response is {status}, which must not have a body, but the app sent {sent} bytes.",
        "Send an empty body with {status} responses.",
        RFC9110 + "#section-6.4.1",
    ),
    Rule(
        "asgi.body-on-head",
        "info",
        "The app sent {sent} body bytes in answer to HEAD. A HEAD response has no body; "
        "servers drop it, so this is allowed, only wasted work.",
        "If scope['method'] == 'HEAD', send the start message and an empty body.",
        RFC9110 + "#section-9.3.2",
    ),
    # -- ASGI: WebSocket -------------------------------------------------------------
    Rule("asgi.ws-message-form", "error", "{detail}", "{hint}", ASGI + "www.html#send-send-event"),
    # -- ASGI: lifespan --------------------------------------------------------------
    Rule(
        "asgi.lifespan-no-reply",
        "error",
        "The app received {event} and {how} without replying, so a server would wait (or give up).",
        "After doing the work, send {{'type': '{reply}'}}.",
        ASGI + "lifespan.html",
    ),
    Rule(
        "asgi.lifespan-startup-failed",
        "warning",
        "The app answered the lifespan startup with 'lifespan.startup.failed' "
        "({value}); a server would refuse to start.",
        "Fix what startup needs, or reply 'lifespan.startup.complete'.",
        ASGI + "lifespan.html#startup-failed-send-event",
    ),
    *[rule for rule in ORDER_RULES if rule.id != "asgi.lifespan-no-reply"],
    # -- ASGI: the event loop --------------------------------------------------------
    Rule(
        "asgi.blocking-call",
        "error",
        "The app blocked the event loop for {lag_ms:.0f} ms {where}. While it blocks, "
        "no other request, WebSocket or task on this server can run.",
        "Use the async version (`await asyncio.sleep(...)`, an async client), or move the "
        "blocking call to a thread: `await asyncio.to_thread(func, ...)` or "
        "`loop.run_in_executor(None, func)`.",
        "https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code",
    ),
]
