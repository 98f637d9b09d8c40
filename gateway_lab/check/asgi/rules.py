"""The ASGI rules (HTTP, WebSocket, lifespan, and the event loop), sentence by sentence.

Theory of operation: data only, one :class:`~gateway_lab.check.ruletypes.Rule` per
mistake, each quoting the spec sentence it enforces (``sentence``, from
:mod:`gateway_lab.protocol.quotes`) and linking its anchor: any scope
(message shape, allowed value types, scope types), HTTP (status, headers,
bodies, more_body on both sides), WebSocket (frame shape), lifespan, and
blocking the event loop. A "must" of the spec is an ``error``, a "should" a
``warning``; a rule that departs from that says why in ``severity_why``.
``{name}`` fields are filled in by the drivers. The mistakes of *order* (a
body before the start, a send after the close, a wrong lifespan reply...)
are not worded here: their wording lives beside the transition tables in
:mod:`gateway_lab.protocol.asgi`, which every server side of the package
follows, and :data:`ORDER_RULES` lists them in the catalogue from there (a
finding takes the exact sentence of the table it broke), with the quotes of
:data:`ORDER_QUOTES`. :data:`ASGI_UNCHECKED` lists the requirements on apps
that no check from outside the app can see, and why.
"""

from __future__ import annotations

from dataclasses import replace

from gateway_lab import specs
from gateway_lab.check.asgi.unchecked import ASGI_UNCHECKED
from gateway_lab.check.ruletypes import Rule
from gateway_lab.protocol import extensions
from gateway_lab.protocol import quotes as q
from gateway_lab.protocol.asgi import VIOLATIONS

__all__ = ["ASGI_RULES", "ASGI_UNCHECKED", "ORDER_QUOTES", "ORDER_RULES"]

_EXTENSION_USE = (
    "If an application sees this it then knows it can send the custom event (say, of type "
    "http.fullflush) via the send callable."
)
# The sentence each order rule enforces, and why its severity is what it is, by rule id.
ORDER_QUOTES: dict[str, tuple[str, str]] = {
    "asgi.body-before-start": (q.START_FOLLOWED, ""),
    "asgi.start-twice": (
        q.START_FOLLOWED,
        "The spec has one start per response; a server raises from send on a second one.",
    ),
    "asgi.send-after-complete": (
        q.MORE_BODY,
        "The spec says such messages are ignored, but servers raise from send (uvicorn: "
        "'Unexpected ASGI message ... after response already completed'), so the app's "
        "call ends in an exception.",
    ),
    "asgi.unknown-message": (
        q.NAMESPACED,
        "A type the server does not know makes it raise from send: a broken conversation.",
    ),
    "asgi.no-response": (q.START_FOLLOWED, ""),
    "asgi.response-incomplete": (q.START_FOLLOWED, ""),
    "asgi.ws-send-before-accept": (q.CONNECT_ANSWER, ""),
    "asgi.ws-accept-twice": (
        q.CONNECT_ANSWER,
        "The handshake is answered once; servers raise from send on a second accept.",
    ),
    "asgi.ws-deny-after-accept": (
        q.CONNECT_ANSWER,
        "The denial response can only answer the handshake; servers raise from send.",
    ),
    "asgi.ws-no-handshake": (q.CONNECT_ANSWER, ""),
    "asgi.lifespan-bad-reply": (q.LIFESPAN_STARTUP, ""),
    "asgi.lifespan-no-reply": (q.LIFESPAN_STARTUP, ""),
    "asgi.extension-not-offered": (
        _EXTENSION_USE,
        "Sending an extension's message the scope does not offer makes a server raise.",
    ),
}


def _template(text: str) -> str:
    """A table sentence as a rule template: its braces literal, except ``{value}``."""
    return text.replace("{", "{{").replace("}", "}}").replace("{{value}}", "{value}")


_FIRST: dict[str, Rule] = {}
for _v in (
    *VIOLATIONS,
    *extensions.VIOLATIONS,
):  # the first table's wording stands for a shared id (HTTP's)
    _quote, _why = ORDER_QUOTES.get(_v.rule, ("", ""))
    _FIRST.setdefault(
        _v.rule,
        Rule(_v.rule, "error", _template(_v.what), _template(_v.fix), _v.spec, _quote, _why),
    )
# One rule for every extension (the denial response, trailers, path send...): its table
# entry speaks of them all and links the main spec's section its sentence is from.
_FIRST["asgi.extension-not-offered"] = replace(
    _FIRST["asgi.extension-not-offered"],
    message="The app sent {value}, a message of an extension this server does not offer "
    "(scope['extensions'] has no key for it).",
    hint="Look in scope.get('extensions', {{}}) for the extension before sending its messages.",
    spec=specs.ASGI_EXTENSIONS,
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
        specs.ASGI_APPLICATIONS,
        q.SINGLE_CALLABLE,
        "A server awaits what the app returns; anything else fails at once (a SHOULD in "
        "the text, but the legacy two-callable style is the only alternative).",
    ),
    Rule(
        "asgi.send-not-awaited",
        "error",
        "The app called send({value}) without `await`{others}. Calling send(...) only "
        "creates a coroutine, which does nothing until it is awaited, so the message was "
        'never sent (a real server logs "RuntimeWarning: coroutine ... was never awaited").',
        "send(...) returns a coroutine: write `await send(...)`.",
        specs.ASGI_APPLICATIONS,
        q.SEND_AWAITABLE,
        "The message is never sent: the client gets nothing.",
    ),
    Rule(
        "asgi.receive-not-awaited",
        "error",
        "The app called receive() without `await`{others}, so it got a coroutine, not a "
        "message: calling receive() only creates a coroutine, which does nothing until it "
        'is awaited (a real server logs "RuntimeWarning: coroutine ... was never awaited").',
        "receive() returns a coroutine: write `message = await receive()`.",
        specs.ASGI_APPLICATIONS,
        q.RECEIVE_AWAITABLE,
        "The app works with a coroutine instead of the message.",
    ),
    Rule(
        "asgi.message-not-dict",
        "error",
        "send() got {value}; every ASGI message is a dict with a 'type' key.",
        "Send a dict such as {{'type': 'http.response.start', 'status': 200, 'headers': []}}.",
        specs.ASGI_EVENTS,
        q.EVENT_DICT,
        "Servers raise from send on anything else.",
    ),
    Rule(
        "asgi.message-value-type",
        "error",
        "The message's {key} holds {value}, which no ASGI message may carry: messages "
        "hold only bytes, str, int (64-bit), float (no NaN or infinity), list, dict with "
        "str keys, bool and None.",
        "Convert it first: str(...) for an object, a list for a set, a str key for a dict.",
        specs.ASGI_EVENTS,
        q.EVENT_TYPES,
        'The list is a requirement ("only allowed"), so a value outside it is an error; '
        "tuples pass although the spec asks for lists, since every server accepts them.",
    ),
    Rule(
        "asgi.scope-type-ignored",
        "warning",
        "Given a {scope} scope, the app sent {value} as if it were an HTTP request. An "
        "app should look at scope['type'] and reject the types it does not handle by "
        "raising an exception.",
        "Start the app with `if scope['type'] != 'http': raise RuntimeError(scope['type'])`, "
        "or serve that scope type too.",
        specs.ASGI_PROTOCOL_SPECIFICATIONS,
        q.NAMESPACED,
    ),
    Rule(
        "asgi.unsupported-scope",
        "info",
        "The app does not serve the {scope} scope ({how}). The ASGI spec asks an app to "
        "reject a scope type it does not understand by raising an exception.",
        "",
        specs.ASGI_PROTOCOL_SPECIFICATIONS,
        q.REJECT_PROTOCOL,
        "A SHOULD, but an app that serves only some scope types is valid: a note, shown "
        "only when the app returned instead of raising, or does not serve HTTP at all.",
    ),
    # -- ASGI: HTTP ------------------------------------------------------------------
    Rule(
        "asgi.status-not-int",
        "error",
        "The status is {value}, of type {type}; ASGI wants an int such as 200.",
        "Write 'status': 200 (a number, no reason phrase).",
        specs.ASGI_HTTP_RESPONSE_START,
        q.STATUS_INT,
    ),
    Rule(
        "asgi.status-invalid",
        "error",
        "The status {value} is not an HTTP status code (100 to 599).",
        "Use a code such as 200, 404 or 500.",
        specs.ASGI_HTTP_RESPONSE_START,
        q.STATUS_INT,
    ),
    Rule(
        "asgi.status-informational",
        "error",
        "The status {value} is informational (1xx): it announces a response, it is not "
        "one. An app cannot send it as its answer (a server sends '100 Continue' itself).",
        "Send a final status, such as 200.",
        specs.RFC9110_INFORMATIONAL,
        q.INFORMATIONAL,
        "The response is left without its final status; servers raise from send (h11 "
        "takes a status of 200 or more for a response).",
    ),
    Rule(
        "asgi.headers-form",
        "error",
        "The headers {value} are not a list of [name, value] pairs.",
        "Write 'headers': [(b'content-type', b'text/plain')].",
        specs.ASGI_HTTP_RESPONSE_START,
        q.HEADERS_FORM,
    ),
    Rule(
        "asgi.header-not-bytes",
        "error",
        "The header {value} has a {part} of type {type}; ASGI header names and values are bytes.",
        "Write them as bytes: {fix}.",
        specs.ASGI_HTTP_RESPONSE_START,
        q.HEADERS_FORM,
    ),
    Rule(
        "asgi.header-crlf",
        "error",
        "The header {value} contains a line break or control character, which would "
        "split the header and let the rest forge new headers.",
        "Remove b'\\r', b'\\n' and other control bytes from header names and values.",
        specs.RFC9110 + "#section-5.5",
        q.CR_LF_NUL,
    ),
    Rule(
        "asgi.header-name-case",
        "error",
        'The header name {value} is not lower-case; the ASGI spec says "Header names must '
        'be lowercased" (many servers lower-case it for you, but not all).',
        "Write header names in lower case: b'content-type'.",
        specs.ASGI_HTTP_RESPONSE_START,
        q.HEADERS_LOWER,
    ),
    Rule(
        "asgi.pseudo-header",
        "error",
        "The app sent the pseudo-header {value}; names starting with ':' belong to "
        "HTTP/2 and HTTP/3 framing, which the server writes, not the app.",
        "Remove it: the status goes in 'status', the rest is the server's.",
        specs.ASGI_HTTP_RESPONSE_START,
        q.PSEUDO_HEADERS,
    ),
    Rule(
        "asgi.body-not-bytes",
        "error",
        "The 'body' of {where} is of type {type} ({value}); ASGI bodies are bytes.",
        "Send bytes: {fix}.",
        specs.ASGI_HTTP_RESPONSE_BODY,
        q.BODY_BYTES,
    ),
    Rule(
        "asgi.more-body-not-bool",
        "warning",
        "The 'more_body' of {where} is {value}, not True or False; servers only look at "
        "whether it is truthy, so 0 or '' ends the response and 'no' does not.",
        "Write 'more_body': True (more to come) or False (the last part).",
        specs.ASGI_HTTP_RESPONSE_BODY,
        q.MORE_BODY,
        "The spec gives the type, not a MUST; servers take its truth value, so it works "
        "by accident.",
    ),
    Rule(
        "asgi.body-partly-read",
        "warning",
        "The request body arrived in {total} 'http.request' messages, but the app read "
        "only {read} and answered, so it worked with part of the body (fine if it "
        "meant to refuse the request early; a bug if it used the body).",
        "Keep calling receive() while message.get('more_body') is True and join the 'body' parts.",
        specs.ASGI_HTTP_REQUEST,
        q.REQUEST_MORE_BODY,
    ),
    Rule(
        "asgi.receive-after-body",
        "error",
        "The app waited on receive() after the whole body had arrived (the last "
        "message had more_body=False), before it answered. The next message only comes "
        "when the client leaves, and the client is waiting for the answer.",
        "Stop reading when more_body is False, then send the response.",
        specs.ASGI_HTTP_REQUEST,
        q.REQUEST_MORE_BODY,
        "A SHOULD, but the app and the client then wait for each other: the request hangs.",
    ),
    Rule(
        "asgi.content-length-invalid",
        "error",
        "The content-length header is {value}, which is not one whole number of bytes.",
        "Send one content-length, str(len(body)).encode(), where body is the bytes you send.",
        specs.RFC9110_CONTENT_LENGTH,
        "Content-Length = 1*DIGIT",
        "A value that is not digits, or two that differ, cannot be read as the body's "
        "length; clients reject the response.",
    ),
    Rule(
        "asgi.content-length-mismatch",
        "error",
        "The content-length header says {declared} bytes but the app sent {sent}. {why}",
        "Compute it from the bytes you send: str(len(body)).encode().",
        specs.RFC9112_BODY_LENGTH,
        q.CONTENT_LENGTH,
        "The client reads exactly that many bytes: the response is cut or never ends.",
    ),
    Rule(
        "asgi.body-on-no-content",
        "error",
        "The response is {status}, which must not have a body, but the app sent {sent} bytes.",
        "Send an empty body with {status} responses.",
        specs.RFC9110_CONTENT,
        q.NO_CONTENT,
    ),
    Rule(
        "asgi.body-on-head",
        "info",
        "The app sent {sent} body bytes in answer to HEAD, only for the server to drop "
        "them: a HEAD response has no body.",
        "If scope['method'] == 'HEAD', send the start message and an empty body.",
        specs.RFC9110_HEAD,
        q.HEAD_NO_CONTENT,
        "The MUST is the server's, and servers drop the body; the note is shown only when "
        "the body is large enough for building it to be real wasted work.",
    ),
    Rule(
        "asgi.no-content-type",
        "warning",
        "The response ({status}) has a body but no content-type header, so the browser "
        "has to guess what the bytes are.",
        "Add a header such as (b'content-type', b'text/plain; charset=utf-8').",
        specs.RFC9110_CONTENT_TYPE,
        q.CONTENT_TYPE,
    ),
    # -- ASGI: WebSocket -------------------------------------------------------------
    Rule(
        "asgi.ws-message-form",
        "error",
        "{detail}",
        "{hint}",
        specs.ASGI_WEBSOCKET_SEND,
        q.SEND_EXACTLY_ONE,
    ),
    Rule(
        "asgi.ws-close-code",
        "error",
        "'websocket.close' had code {value}, one of the codes RFC 6455 keeps for an "
        "endpoint's own use, never to be sent in a Close frame (1005: no code was sent; "
        "1006: the connection broke; 1015: the TLS handshake failed). A browser that "
        "receives it fails the connection instead of closing cleanly.",
        "Send 1000 for a normal close, 1011 for a server error, or a code of your own "
        "from 4000 to 4999.",
        specs.RFC6455_CLOSE_CODES,
        q.CLOSE_CODE_RESERVED,
    ),
    Rule(
        "asgi.receive-after-disconnect",
        "error",
        "The app called receive() again after it had received 'websocket.disconnect'. "
        "The connection is over and nothing more will come: a server then waits forever "
        "(uvicorn), or answers with the disconnect again, and a loop that does not stop "
        "on it never ends.",
        "Return (or break out of the loop) when a message of type 'websocket.disconnect' arrives.",
        specs.ASGI_WEBSOCKET,
        q.DISCONNECT_WS,
        "No sentence forbids the call, but the app never returns: it holds its task, and "
        "its memory, for every client that ever left.",
    ),
    # -- ASGI: lifespan --------------------------------------------------------------
    Rule(
        "asgi.lifespan-no-reply",
        "error",
        "The app received {event} and {how} without replying, so a server would wait (or give up).",
        "After doing the work, send {{'type': '{reply}'}}.",
        specs.ASGI_LIFESPAN,
        q.LIFESPAN_STARTUP,
    ),
    Rule(
        "asgi.lifespan-startup-failed",
        "warning",
        "The app answered the lifespan startup with 'lifespan.startup.failed' "
        "({value}); a server would refuse to start.",
        "Fix what startup needs, or reply 'lifespan.startup.complete'.",
        specs.ASGI_LIFESPAN_STARTUP_FAILED,
        q.LIFESPAN_FAILED,
        "Allowed by the spec, but no request would be served: worth a warning.",
    ),
    Rule(
        "asgi.lifespan-state-replaced",
        "warning",
        "The lifespan startup replaced scope['state'] with a new {value}; the server "
        "copies the dict it gave into each request's scope, so the requests never see "
        "what the startup put in the new one.",
        "Fill the dict the server gave: scope['state']['counter'] = ..., not "
        "scope['state'] = {{...}}.",
        specs.ASGI_LIFESPAN_STATE,
        q.LIFESPAN_STATE_COPY,
        "No sentence forbids rebinding the key, but the server copies only its own "
        "namespace: the state is lost, worth a warning.",
    ),
    Rule(
        "asgi.lifespan-message-not-str",
        "error",
        "The 'message' of {kind} is {value}; it is the text a server prints, a str.",
        "Write 'message': str(exc) (or leave it out).",
        specs.ASGI_LIFESPAN_STARTUP_FAILED,
        q.FAILED_MESSAGE,
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
        specs.ASGI_MAIN + "#overview",
        q.ASYNC_COROUTINES,
        "Measured, not seen in a message: a stall longer than the threshold (50 ms by "
        "default) inside the app's own code.",
    ),
]
