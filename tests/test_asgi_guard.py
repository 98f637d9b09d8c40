"""The ASGI guard with no server at all: a fake ``send`` plays the engine.

It steps the shared order tables (and words mistakes as they do), lets an
extension the server offers through, raises ``ClientDisconnected`` once the
server's request cycle says its client left (uvicorn only drops the sends),
and turns ``SystemExit`` / ``KeyboardInterrupt`` into a 500.
"""

from __future__ import annotations

import asyncio

import pytest

from gateway_lab.errors import ClientDisconnected, ProtocolError
from gateway_lab.protocol.asgi import step
from gateway_lab.serving.asgi_guard import ASGIGuard
from gateway_lab.serving.log import ServerLog

SCOPE = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}


class FakeCycle:
    """Stands in for a server's request cycle: its bound ``send`` is what apps get."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.disconnected = False

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    async def receive(self) -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}


def run(app, scope=SCOPE) -> tuple[FakeCycle, ServerLog]:
    cycle, log = FakeCycle(), ServerLog("guard")
    asyncio.run(ASGIGuard(app, log)(dict(scope), cycle.receive, cycle.send))
    return cycle, log


def test_an_order_mistake_is_a_500_worded_by_the_table():
    async def app(scope, receive, send):
        await send({"type": "http.response.body", "body": b"first"})

    cycle, log = run(app)
    assert [m.get("status") for m in cycle.sent if m["type"] == "http.response.start"] == [500]
    sentence = step("http", "before-start", "http.response.body")[1]
    assert sentence and any(sentence in e.summary for e in log.errors)


@pytest.mark.parametrize(
    ("start", "body", "words"),
    [
        (
            {"status": 200, "headers": [(b"content-type", b"text/plain")]},
            "text",
            "'body' must be bytes",
        ),
        ({"status": 200, "headers": [("content-type", "text/plain")]}, b"x", "must be bytes"),
        ({"status": "200 OK", "headers": []}, b"x", "'status' must be an int"),
    ],
)
def test_a_wrong_field_never_reaches_the_engine(start, body, words):
    """uvicorn would fail inside h11 ("sequence item 1: expected a bytes-like object")."""

    async def app(scope, receive, send):
        await send({"type": "http.response.start", **start})
        await send({"type": "http.response.body", "body": body})

    cycle, log = FakeCycle(), ServerLog("guard")
    try:
        asyncio.run(ASGIGuard(app, log)(dict(SCOPE), cycle.receive, cycle.send))
    except ProtocolError as exc:  # after the head: re-raised, so the server cuts the body
        assert words in str(exc)
        assert cycle.sent and cycle.sent[0]["type"] == "http.response.start"
    else:  # before the head: a 500 that names the mistake
        assert [m.get("status") for m in cycle.sent][:1] == [500], cycle.sent
        assert any(words in e.summary and "ProtocolError" in e.summary for e in log.errors)
    assert all(isinstance(m.get("body", b""), bytes) for m in cycle.sent), cycle.sent


def test_an_extension_the_server_offers_passes_through():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": "/tmp/x"})

    cycle, log = run(app, {**SCOPE, "extensions": {"http.response.pathsend": {}}})
    assert [m["type"] for m in cycle.sent] == ["http.response.start", "http.response.pathsend"]
    assert not log.errors


def test_send_raises_once_the_server_says_the_client_left():
    seen: list[BaseException] = []
    cycle = FakeCycle()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for n in range(1000):
                if n == 3:
                    cycle.disconnected = True  # as uvicorn's connection_lost does
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
        except OSError as exc:
            seen.append(exc)
            raise

    log = ServerLog("guard")
    asyncio.run(ASGIGuard(app, log)(dict(SCOPE), cycle.receive, cycle.send))
    assert seen and isinstance(seen[0], ClientDisconnected)
    assert len(cycle.sent) == 4  # the start and three bodies; nothing after the client left
    assert [r.error for r in log.requests] == ["client disconnected"] and not log.errors


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_systemexit_is_a_500_not_the_end_of_the_server(exc_type):
    async def app(scope, receive, send):
        raise exc_type("from the app")

    cycle, log = run(app)
    assert cycle.sent[0]["status"] == 500
    assert any(exc_type.__name__ in e.summary for e in log.errors)


def test_systemexit_after_the_head_is_reraised_as_an_ordinary_error():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise SystemExit("mid-response")

    with pytest.raises(RuntimeError, match="SystemExit: mid-response"):
        run(app)


def test_an_app_that_returns_without_a_whole_response_is_logged_as_an_error():
    # uvicorn answers such an app with a 500 (or cuts it short) by itself, and our log
    # said "0 errors": the guard now names what is missing, once.
    async def forgot_await(scope, receive, send):
        coroutine = send({"type": "http.response.start", "status": 200, "headers": []})
        coroutine.close()  # what a missing await amounts to (closed: no warning)

    async def start_only(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def whole(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hi"})

    for app, words in [
        (forgot_await, "without sending 'http.response.start'"),
        (start_only, "still open"),
    ]:
        _, log = run(app)
        assert len(log.errors) == 1 and words in log.errors[0].summary, log.errors
        assert log.requests[-1].error, log.requests
    _, log = run(whole)
    assert not log.errors
