"""ASGI apps with exactly one mistake each, and the rule that must name it.

All of them handle the lifespan and websocket scopes correctly (by
returning), except the apps whose mistake is about those scopes.
"""

from __future__ import annotations

import asyncio
import time

from . import collect, expect

START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain")],
}
BODY = {"type": "http.response.body", "body": b"Hello"}


async def hello(send, body=b"Hello"):
    await send(START)
    await send({"type": "http.response.body", "body": body})


@expect("asgi.body-not-bytes")
async def body_str(scope, receive, send):
    """Sends the body as a str."""
    if scope["type"] != "http":
        return
    await send(START)
    await send({"type": "http.response.body", "body": "Hello"})


@expect("asgi.status-not-int")
async def status_str(scope, receive, send):
    """Uses the WSGI status string."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": "200 OK", "headers": []})
    await send(BODY)


@expect("asgi.status-invalid")
async def status_out_of_range(scope, receive, send):
    """A status code that does not exist."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 2000, "headers": []})
    await send(BODY)


@expect("asgi.header-not-bytes")
async def headers_str(scope, receive, send):
    """Header names and values as str (the WSGI habit)."""
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [("content-type", "text/plain")]}
    )
    await send(BODY)


@expect("asgi.headers-form")
async def headers_dict(scope, receive, send):
    """Headers as a dict."""
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": {b"content-type": b"text/plain"}}
    )
    await send(BODY)


@expect("asgi.header-crlf")
async def header_crlf(scope, receive, send):
    """A header value with a line break."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"x-name", b"Ada\r\nset-cookie: evil=1")],
        }
    )
    await send(BODY)


@expect("asgi.header-name-case")
async def header_upper_case(scope, receive, send):
    """Header names not in lower case ("Header names must be lowercased")."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"Content-Type", b"text/plain")],
        }
    )
    await send(BODY)


@expect("asgi.body-before-start")
async def body_first(scope, receive, send):
    """Sends the body before the start message."""
    if scope["type"] != "http":
        return
    await send(BODY)
    await send(START)


@expect("asgi.start-twice")
async def start_twice(scope, receive, send):
    """Sends the start message twice."""
    if scope["type"] != "http":
        return
    await send(START)
    await send(START)
    await send(BODY)


@expect("asgi.send-after-complete")
async def body_after_end(scope, receive, send):
    """Sends another body message after the last one."""
    if scope["type"] != "http":
        return
    await hello(send)
    await send({"type": "http.response.body", "body": b" again"})


@expect("asgi.no-response")
async def no_response(scope, receive, send):
    """Returns without answering."""
    if scope["type"] != "http":
        return
    await receive()


@expect("asgi.response-incomplete")
async def never_finishes_body(scope, receive, send):
    """The last body message says more_body=True."""
    if scope["type"] != "http":
        return
    await send(START)
    await send({"type": "http.response.body", "body": b"Hello", "more_body": True})


@expect("asgi.response-incomplete")
async def start_only(scope, receive, send):
    """Sends the start message and returns."""
    if scope["type"] != "http":
        return
    await send(START)


@expect("asgi.body-partly-read", "warning")
async def reads_first_chunk_only(scope, receive, send):
    """Echoes the first http.request message only, ignoring more_body."""
    if scope["type"] != "http":
        return
    message = await receive()
    await hello(send, message.get("body", b""))


@expect("asgi.receive-after-body", timeout=0.3)
async def waits_for_more(scope, receive, send):
    """Loops on receive() until disconnect before answering."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
    await hello(send, body)


@expect("asgi.send-not-awaited")
async def send_not_awaited(scope, receive, send):
    """Calls send(...) without await: nothing is sent (the echo exercise's classic)."""
    if scope["type"] != "http":
        return
    send(START)
    send(BODY)


@expect("asgi.send-not-awaited")
async def body_send_not_awaited(scope, receive, send):
    """Awaits the start, forgets the await on the body."""
    if scope["type"] != "http":
        return
    await send(START)
    send(BODY)


@expect("asgi.send-not-awaited", timeout=0.3)
async def send_not_awaited_then_waits(scope, receive, send):
    """Forgets the await, then waits for the client to leave (which needs an answer)."""
    if scope["type"] != "http":
        return
    send(START)
    send(BODY)
    while (await receive())["type"] != "http.disconnect":
        pass


@expect("asgi.send-not-awaited")
async def websocket_send_not_awaited(scope, receive, send):
    """A WebSocket echo that forgets the await on its replies: the client hears nothing."""
    if scope["type"] != "websocket":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        send({"type": "websocket.send", "text": message.get("text") or ""})


@expect("asgi.receive-not-awaited")
async def receive_not_awaited(scope, receive, send):
    """Calls receive() without await and uses the coroutine as the message."""
    if scope["type"] != "http":
        return
    message = receive()
    await hello(send, message["body"])


@expect("asgi.message-not-dict")
async def sends_tuple(scope, receive, send):
    """Sends a tuple instead of a dict."""
    if scope["type"] != "http":
        return
    await send(("http.response.start", 200))


@expect("asgi.unknown-message")
async def misspelt_type(scope, receive, send):
    """A misspelt message type."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.begin", "status": 200, "headers": []})


@expect("asgi.content-length-mismatch")
async def wrong_length(scope, receive, send):
    """Declares a content-length that does not match the body."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"50")],
        }
    )
    await send(BODY)


@expect("asgi.body-on-no-content")
async def body_on_204(scope, receive, send):
    """A 204 with a body."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send(BODY)


@expect("asgi.body-on-head", "info")
async def body_on_head(scope, receive, send):
    """Sends a large body on HEAD too (building it was real work: a note)."""
    if scope["type"] != "http":
        return
    await hello(send, b"x" * 70_000)


@expect("app.raised")
async def raises(scope, receive, send):
    """Fails with a KeyError on every request."""
    if scope["type"] != "http":
        return
    await hello(send, scope["headers"]["host"])


@expect("asgi.blocking-call")
async def sleeps_blocking(scope, receive, send):
    """Calls time.sleep in an async app."""
    if scope["type"] != "http":
        return
    time.sleep(0.12)
    await hello(send)


@expect("asgi.blocking-call")
async def busy_loop(scope, receive, send):
    """Computes for a while without awaiting (CPU-bound work on the loop)."""
    if scope["type"] != "http":
        return
    end = time.perf_counter() + 0.12
    total = 0
    while time.perf_counter() < end:
        total += 1
    await hello(send)


@expect("asgi.not-awaitable")
def not_async(scope, receive, send):
    """A plain function with the ASGI signature."""
    return None


@expect("asgi.scope-type-ignored", "warning")
async def ignores_scope_type(scope, receive, send):
    """Answers every scope as if it were HTTP (lifespan and websocket too)."""
    await hello(send)


@expect("asgi.scope-type-ignored", "warning")
async def echo_ignores_scope_type(scope, receive, send):
    """Lesson 06's echo with no look at scope['type']: it reads the first message
    of every scope (a websocket.connect too) as a body; one warning, no error."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


# -- WebSocket ---------------------------------------------------------------------------
async def _http_or(scope, send):
    if scope["type"] == "http":
        await hello(send)
        return True
    return scope["type"] != "websocket"


@expect("asgi.ws-send-before-accept")
async def ws_send_first(scope, receive, send):
    """Sends on the WebSocket before accepting it."""
    if await _http_or(scope, send):
        return
    await receive()
    await send({"type": "websocket.send", "text": "hi"})
    await send({"type": "websocket.close"})


@expect("asgi.ws-accept-twice")
async def ws_accept_twice(scope, receive, send):
    """Accepts twice."""
    if await _http_or(scope, send):
        return
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close"})


@expect("asgi.ws-close-code")
async def ws_close_code_reserved(scope, receive, send):
    """Closes with 1006 ("abnormal closure"), a code only for an endpoint's own use."""
    if await _http_or(scope, send):
        return
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1006})


@expect("asgi.ws-message-form")
async def ws_text_and_bytes(scope, receive, send):
    """A websocket.send carrying both text and bytes."""
    if await _http_or(scope, send):
        return
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "hi", "bytes": b"hi"})
    await send({"type": "websocket.close"})


@expect("asgi.ws-message-form")
async def ws_text_is_bytes(scope, receive, send):
    """Sends bytes under 'text'."""
    if await _http_or(scope, send):
        return
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": b"hi"})
    await send({"type": "websocket.close"})


@expect("asgi.send-after-complete")
async def ws_send_after_close(scope, receive, send):
    """Sends after closing the WebSocket."""
    if await _http_or(scope, send):
        return
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close"})
    await send({"type": "websocket.send", "text": "bye"})


@expect("asgi.ws-no-handshake")
async def ws_no_answer(scope, receive, send):
    """Receives websocket.connect and returns without accepting or closing."""
    if await _http_or(scope, send):
        return
    await receive()


@expect("asgi.unknown-message")
async def ws_http_message(scope, receive, send):
    """Accepts, then sends an HTTP body message on the WebSocket."""
    if await _http_or(scope, send):
        return
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "http.response.body", "body": b"hi"})


@expect("asgi.send-not-awaited")
async def ws_accept_not_awaited(scope, receive, send):
    """Forgets the await on websocket.accept."""
    if await _http_or(scope, send):
        return
    await receive()
    send({"type": "websocket.accept"})


# -- lifespan ----------------------------------------------------------------------------
def _lifespan_app(handler):
    async def app(scope, receive, send):
        if scope["type"] == "http":
            await hello(send)
        elif scope["type"] == "lifespan":
            await handler(receive, send)

    app.__doc__ = handler.__doc__
    app.__name__ = app.__qualname__ = "lifespan" + handler.__name__
    return app


async def _misspelt_reply(receive, send):
    """Replies 'lifespan.startup.completed' (a typo)."""
    await receive()
    await send({"type": "lifespan.startup.completed"})


async def _no_startup_reply(receive, send):
    """Receives lifespan.startup and returns without replying."""
    await receive()


async def _startup_failed(receive, send):
    """Reports that startup failed."""
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "no database"})


async def _no_shutdown_reply(receive, send):
    """Completes startup, then returns when told to shut down, without replying."""
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()


async def _shutdown_wrong_reply(receive, send):
    """Answers the shutdown with startup.complete."""
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.startup.complete"})


async def _startup_reply_not_awaited(receive, send):
    """Forgets the await on lifespan.startup.complete, then waits for the shutdown."""
    await receive()
    send({"type": "lifespan.startup.complete"})
    await receive()


async def _shutdown_reply_not_awaited(receive, send):
    """Forgets the await on lifespan.shutdown.complete."""
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    send({"type": "lifespan.shutdown.complete"})


lifespan_misspelt = expect("asgi.lifespan-bad-reply")(_lifespan_app(_misspelt_reply))
lifespan_no_reply = expect("asgi.lifespan-no-reply")(_lifespan_app(_no_startup_reply))
lifespan_failed = expect("asgi.lifespan-startup-failed", "warning")(_lifespan_app(_startup_failed))
lifespan_no_shutdown_reply = expect("asgi.lifespan-no-reply")(_lifespan_app(_no_shutdown_reply))
lifespan_shutdown_wrong = expect("asgi.lifespan-bad-reply")(_lifespan_app(_shutdown_wrong_reply))
lifespan_startup_not_awaited = expect("asgi.send-not-awaited", timeout=0.3)(
    _lifespan_app(_startup_reply_not_awaited)
)
lifespan_shutdown_not_awaited = expect("asgi.send-not-awaited")(
    _lifespan_app(_shutdown_reply_not_awaited)
)


@expect("asgi.lifespan-state-replaced", "warning")
async def lifespan_state_replaced(scope, receive, send):
    """Rebinds scope['state'] at startup; the requests get the server's empty copy."""
    if scope["type"] == "http":
        await hello(send, repr(sorted(scope.get("state", {}))).encode())
    elif scope["type"] == "lifespan":
        await receive()
        scope["state"] = {"started": True}
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})


@expect("app.timeout", timeout=0.3)
async def sleeps_forever(scope, receive, send):
    """Awaits something that never comes."""
    if scope["type"] != "http":
        return
    await asyncio.Event().wait()


@expect("asgi.pseudo-header")
async def pseudo_header(scope, receive, send):
    """Sends an HTTP/2 pseudo-header (":status"), which must not be present."""
    if scope["type"] != "http":
        return
    await send({**START, "headers": [(b":status", b"200"), *START["headers"]]})
    await send(BODY)


@expect("asgi.message-value-type")
async def message_holds_a_set(scope, receive, send):
    """Puts a set into a message: not one of the types a message may carry."""
    if scope["type"] != "http":
        return
    await send({**START, "extra": {"a", "b"}})
    await send(BODY)


@expect("asgi.message-value-type")
async def message_holds_nan(scope, receive, send):
    """Puts NaN into a message ("no Nan or infinities")."""
    if scope["type"] != "http":
        return
    await send(START)
    await send({**BODY, "timing": float("nan")})


@expect("asgi.more-body-not-bool", "warning")
async def more_body_str(scope, receive, send):
    """more_body=0 where False is meant: it works only because servers test its truth."""
    if scope["type"] != "http":
        return
    await send(START)
    await send({"type": "http.response.body", "body": b"Hello", "more_body": 0})


@expect("asgi.no-content-type", "warning")
async def no_content_type(scope, receive, send):
    """A body with no content-type header."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send(BODY)


@expect("asgi.ws-message-form")
async def ws_accept_protocol_header(scope, receive, send):
    """Accepts with a sec-websocket-protocol header instead of the 'subprotocol' key."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept", "headers": [(b"sec-websocket-protocol", b"chat")]})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    if scope["type"] == "http":
        await hello(send)


@expect("asgi.content-length-invalid")
async def two_content_lengths(scope, receive, send):
    """Sends two content-length headers that disagree (a middleware adding its own)."""
    if scope["type"] != "http":
        return
    headers = [*START["headers"], (b"content-length", b"5"), (b"content-length", b"7")]
    await send({**START, "headers": headers})
    await send(BODY)


@expect("asgi.header-repeated")
async def two_content_types(scope, receive, send):
    """A second content-type appended after the app's own (a middleware adding one)."""
    if scope["type"] != "http":
        return
    headers = [*START["headers"], (b"content-type", b"text/html; charset=utf-8")]
    await send({**START, "headers": headers})
    await send(BODY)


@expect("asgi.header-repeated")
async def two_locations(scope, receive, send):
    """A redirect that names two places to go."""
    if scope["type"] != "http":
        return
    headers = [*START["headers"], (b"location", b"/a"), (b"location", b"/b")]
    await send({**START, "status": 302, "headers": headers})
    await send(BODY)


@expect("asgi.head-length-zero")
async def head_length_zero(scope, receive, send):
    """Leaves the body out for HEAD first, then counts it: content-length 0 on HEAD."""
    if scope["type"] != "http":
        return
    body = b"" if scope["method"] == "HEAD" else b"Hello"
    length = str(len(body)).encode()
    await send({**START, "headers": [*START["headers"], (b"content-length", length)]})
    await send({"type": "http.response.body", "body": body})


@expect("asgi.status-informational")
async def status_informational(scope, receive, send):
    """Answers with 103 Early Hints as if it were the response."""
    if scope["type"] != "http":
        return
    await send({**START, "status": 103})
    await send(BODY)


@expect("asgi.receive-after-disconnect")
async def ws_loop_ignores_disconnect(scope, receive, send):
    """An echo loop that handles connect and receive, and never stops on the disconnect."""
    if await _http_or(scope, send):
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text")})


@expect("asgi.extension-not-offered")
async def trailers_not_offered(scope, receive, send):
    """Sends HTTP trailers without looking whether the server offers that extension."""
    if scope["type"] != "http":
        return
    await send({**START, "trailers": True})
    await send(BODY)
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})


async def _failed_with_an_exception(receive, send):
    await receive()
    await send({"type": "lifespan.startup.failed", "message": ValueError("no database")})


lifespan_failed_message_not_str = expect("asgi.lifespan-message-not-str")(
    _lifespan_app(_failed_with_an_exception)
)


APPS = collect(globals())
