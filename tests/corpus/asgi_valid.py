"""Valid but unusual ASGI apps: none of them may get an error finding."""

from __future__ import annotations

import asyncio
import time

from . import collect, expect, near

TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


@near(
    "asgi.content-length-invalid",
    "asgi.content-length-mismatch",
    "asgi.head-length-zero",
    "asgi.head-length-differs",
)
async def hello(scope, receive, send):
    """The usual hello: checks the scope type, HEAD-aware."""
    assert scope["type"] == "http"
    body = b"" if scope["method"] == "HEAD" else b"Hello"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": TEXT + [(b"content-length", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@near("asgi.header-repeated")
async def two_cookies_and_list_fields(scope, receive, send):
    """Two set-cookie lines, and list fields (vary, cache-control) sent on two lines each."""
    if scope["type"] != "http":
        return
    headers = TEXT + [
        (b"set-cookie", b"a=1; Path=/"),
        (b"set-cookie", b"b=2; Path=/"),
        (b"vary", b"accept-encoding"),
        (b"vary", b"cookie"),
        (b"cache-control", b"no-cache"),
        (b"cache-control", b"private"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"Hello"})


@expect(None)
async def returns_for_other_scopes(scope, receive, send):
    """Returns quietly for scopes it does not handle."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"Hello"})


@expect(None)
async def raises_for_other_scopes(scope, receive, send):
    """Raises NotImplementedError for scopes it does not handle (as the spec asks)."""
    if scope["type"] != "http":
        raise NotImplementedError(f"unsupported scope {scope['type']!r}")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body"})


@expect(None)
async def echo(scope, receive, send):
    """Reads every http.request message, then echoes the body."""
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": TEXT + [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


@expect(None)
async def streamed(scope, receive, send):
    """Streams the answer in several body messages, pausing between them."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(5):
        await asyncio.sleep(0.001)
        await send(
            {"type": "http.response.body", "body": f"{number}\n".encode(), "more_body": True}
        )
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@expect(None)
async def streams_and_listens(scope, receive, send):
    """Streams while a second task listens for http.disconnect (starlette's way)."""
    if scope["type"] != "http":
        return

    async def listen():
        while (await receive())["type"] != "http.disconnect":
            pass

    listener = asyncio.ensure_future(listen())
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"a", "more_body": True})
    await send({"type": "http.response.body", "body": b"b"})
    await listener


@expect(None)
async def slow_but_async(scope, receive, send):
    """Waits with asyncio.sleep and runs a blocking call in a thread."""
    if scope["type"] != "http":
        return
    await asyncio.sleep(0.06)
    await asyncio.to_thread(time.sleep, 0.06)
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"done"})


@near("asgi.ws-close-code")
async def websocket_closes_with_own_code(scope, receive, send):
    """Closes with 4000, a code for applications, and a reason (1011 would do too)."""
    if scope["type"] != "websocket":
        raise RuntimeError(scope["type"])
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 4000, "reason": "done for today"})


@expect(None)
async def websocket_echo(scope, receive, send):
    """A WebSocket echo: accepts, echoes each message, stops at disconnect."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"WebSocket only"})
        return
    if scope["type"] != "websocket":
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text") or ""})
        else:
            break


@expect(None)
async def websocket_denied(scope, receive, send):
    """Refuses every WebSocket with websocket.close before accepting."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.close", "code": 1008})
        return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"Hello"})


@expect(None)
async def websocket_push(scope, receive, send):
    """Accepts, then pushes messages without reading until the client leaves."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"Hello"})
        return
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        await send({"type": "websocket.send", "text": "tick"})
        await asyncio.sleep(0.02)


@near("asgi.lifespan-state-replaced")
@expect(None)
async def with_lifespan(scope, receive, send):
    """Full lifespan support, sharing state with requests."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["greeting"] = b"Hello from startup"
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        body = scope["state"]["greeting"]
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": body})


class Asgi2Style:
    """An ASGI 2 'double callable' class: instantiated with the scope."""

    def __init__(self, scope):
        self.scope = scope

    async def __call__(self, receive, send):
        if self.scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"Hello"})


asgi2_style = expect(None)(Asgi2Style)


@expect(None)
async def ignores_body(scope, receive, send):
    """Never reads the request body (allowed)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"I did not read it"})


@expect(None)
async def sends_through_tasks(scope, receive, send):
    """Awaits its calls the roundabout ways: gather, a task, wait_for (all fine)."""
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await asyncio.wait_for(receive(), timeout=5)
        body, more = body + message.get("body", b""), message.get("more_body", False)
    (_,) = await asyncio.gather(
        send({"type": "http.response.start", "status": 200, "headers": TEXT})
    )
    await asyncio.create_task(send({"type": "http.response.body", "body": body}))


@expect(None)
async def websocket_only_raises(scope, receive, send):
    """Serves only WebSocket, and raises for http and lifespan, as the spec asks."""
    if scope["type"] != "websocket":
        raise ValueError(f"unsupported scope type {scope['type']!r}")
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        await send({"type": "websocket.send", "text": "ok"})


@expect(None)
async def websocket_only_returns(scope, receive, send):
    """Serves only WebSocket, and returns (before sending anything) for the others."""
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


@expect(None)
async def lifespan_and_websocket(scope, receive, send):
    """Lifespan and WebSocket, no HTTP: raises for http after looking at the scope."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] != "websocket":
        raise RuntimeError("no HTTP here")
    await receive()
    await send({"type": "websocket.close"})


@expect(None)
async def near_misses(scope, receive, send):
    """Close to a rule each, never over: tuples in headers, big ints, a bool more_body,
    a header value with ':' in it, an empty body without content-type, a str in an
    extra key."""
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    headers = [(b"x-note", b"a:b"), (b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers, "n": 2**62})
    await send({"type": "http.response.body", "body": b"1", "more_body": True, "x": [1.5]})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@expect(None)
async def empty_body_no_content_type(scope, receive, send):
    """A 204 and an empty 200 need no content-type: no content, nothing to type."""
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    status = 204 if scope["method"] == "POST" else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body"})


@expect(None)
async def websocket_subprotocol_key(scope, receive, send):
    """Accepts a WebSocket with extra lower-case headers (and no subprotocol header)."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept", "headers": [(b"x-served-by", b"me")]})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"ok"})


@near("asgi.receive-after-disconnect", "asgi.status-informational")
async def ws_close_then_collect_the_disconnect(scope, receive, send):
    """Closes, then reads once more to collect the disconnect, and returns; HTTP gets 200."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await send({"type": "websocket.close", "code": 1000})
        message = await receive()
        assert message["type"] == "websocket.disconnect", message
        return
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"ok"})


@near("asgi.extension-not-offered")
async def trailers_only_when_offered(scope, receive, send):
    """Sends HTTP trailers only where scope['extensions'] offers them, a plain body elsewhere."""
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    trailers = "http.response.trailers" in (scope.get("extensions") or {})
    await send(
        {"type": "http.response.start", "status": 200, "headers": TEXT, "trailers": trailers}
    )
    await send({"type": "http.response.body", "body": b"ok"})
    if trailers:
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})


APPS = collect(globals())
