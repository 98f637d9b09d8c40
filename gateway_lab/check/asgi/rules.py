"""The ASGI rules (HTTP, WebSocket, lifespan, and the event loop).

Theory of operation: data only, one :class:`~.rule.Rule` per mistake: any
scope (message shape, scope types), HTTP (order, status, headers, bodies,
more_body on both sides), WebSocket (accept before send, frame shape),
lifespan (the replies), and blocking the event loop. ``{name}`` fields are
filled in by the drivers.
"""

from __future__ import annotations

from gateway_lab.check.rule import ASGI, RFC9110, Rule

__all__ = ["ASGI_RULES"]

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
        "asgi.unknown-message",
        "error",
        "The app sent a message of type {value} in a {scope} scope; {expected}",
        "Check the spelling of 'type' and the order of the messages.",
        ASGI + "www.html",
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
    Rule(
        "asgi.send-after-complete",
        "error",
        "The app sent {value} after the {what} was complete. Nothing can follow the last message.",
        "{hint}",
        ASGI + "www.html",
    ),
    # -- ASGI: HTTP ------------------------------------------------------------------
    Rule(
        "asgi.body-before-start",
        "error",
        "The app sent 'http.response.body' before 'http.response.start', so there is no "
        "status line to put in front of the body.",
        "Send {{'type': 'http.response.start', 'status': 200, 'headers': [...]}} first.",
        ASGI + "www.html#response-start-send-event",
    ),
    Rule(
        "asgi.start-twice",
        "error",
        "The app sent 'http.response.start' twice. A response has one status line.",
        "Send the start message once, then the body.",
        ASGI + "www.html#response-start-send-event",
    ),
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
        "asgi.no-response",
        "error",
        "The app returned without sending 'http.response.start', so the client gets no "
        "answer (servers send a 500).",
        "Send 'http.response.start' then 'http.response.body' before returning.",
        ASGI + "www.html#response-start-send-event",
    ),
    Rule(
        "asgi.response-incomplete",
        "error",
        "The app returned while the response was still open: {detail}",
        "Finish with a body message whose 'more_body' is False (the default).",
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
    Rule(
        "asgi.ws-send-before-accept",
        "error",
        "The app sent {value} before 'websocket.accept'. Until the app accepts, the "
        "handshake is not finished and there is no WebSocket to send on.",
        "Send {{'type': 'websocket.accept'}} first (or 'websocket.close' to refuse).",
        ASGI + "www.html#accept-send-event",
    ),
    Rule(
        "asgi.ws-accept-twice",
        "error",
        "The app sent 'websocket.accept' twice.",
        "Accept once.",
        ASGI + "www.html#accept-send-event",
    ),
    Rule("asgi.ws-message-form", "error", "{detail}", "{hint}", ASGI + "www.html#send-send-event"),
    Rule(
        "asgi.ws-no-handshake",
        "error",
        "The app received 'websocket.connect' and returned without accepting or "
        "closing, so the client's handshake is left unanswered (servers send 403).",
        "Send {{'type': 'websocket.accept'}}, or {{'type': 'websocket.close'}} to refuse.",
        ASGI + "www.html#accept-send-event",
    ),
    # -- ASGI: lifespan --------------------------------------------------------------
    Rule(
        "asgi.lifespan-bad-reply",
        "error",
        "In answer to {event}, the app sent {value}; {expected}",
        "Reply with {{'type': '{reply}'}} (or '{failed}' with a 'message').",
        ASGI + "lifespan.html",
    ),
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
