"""``gl.call_asgi`` is bounded in time and in body size, and speaks the shared ASGI tables.

Issue 13 #3: an app that streams forever, or blocks the event loop, must not
wedge or fill the kernel; the error says which bound was hit, how much
arrived, and how to raise it.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import pytest

import gateway_lab as gl
from gateway_lab.errors import CallLimitExceeded, ProtocolError
from gateway_lab.protocol import asgi as table
from gateway_lab.protocol.asgi_call import DEFAULT_MAX_BODY, acall_asgi

START = {"type": "http.response.start", "status": 200, "headers": []}


async def hello(scope, receive, send):
    await send(START)
    await send({"type": "http.response.body", "body": b"hi"})


def test_a_plain_call_still_answers():
    assert gl.call_asgi(hello).text == "hi"


def test_an_app_that_blocks_the_loop_is_stopped_at_the_limit():
    async def app(scope, receive, send):
        time.sleep(3)  # blocks the loop: asyncio's own timeout cannot fire
        await hello(scope, receive, send)

    handler, (timer, _) = signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)
    began = time.monotonic()
    with pytest.raises(CallLimitExceeded, match="blocked the event loop") as caught:
        gl.call_asgi(app, timeout=0.5)
    took = time.monotonic() - began
    assert took < 2.0, took  # before: 3 s, the whole sleep
    assert caught.value.bound == "timeout" and "timeout=" in str(caught.value)
    # Our alarm is gone; whoever had a timer before (pytest-timeout) has its own back.
    assert signal.getsignal(signal.SIGALRM) is handler
    left = signal.getitimer(signal.ITIMER_REAL)[0]
    assert (left == 0) if timer == 0 else (0 < left <= timer)


def test_a_busy_loop_that_catches_exception_is_still_stopped():
    async def app(scope, receive, send):
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                sum(range(1000))
            except Exception:  # the learner's catch-all cannot swallow the limit
                pass
        await hello(scope, receive, send)

    began = time.monotonic()
    with pytest.raises(CallLimitExceeded):
        gl.call_asgi(app, timeout=0.3)
    assert time.monotonic() - began < 2.0


def test_an_app_that_streams_forever_hits_the_body_cap():
    async def app(scope, receive, send):
        await send(START)
        while True:
            await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})

    with pytest.raises(CallLimitExceeded, match="max_body=1048576") as caught:
        gl.call_asgi(app, max_body=1 << 20, timeout=30)
    assert caught.value.bound == "max_body"
    assert caught.value.arrived > 1 << 20
    assert "raise the cap" in str(caught.value) and "had arrived" in str(caught.value)


def test_an_app_that_streams_small_pieces_forever_hits_the_time_limit():
    async def app(scope, receive, send):
        await send(START)
        while True:
            await send({"type": "http.response.body", "body": b"", "more_body": True})

    began = time.monotonic()
    with pytest.raises(CallLimitExceeded, match="still sending its body"):
        gl.call_asgi(app, timeout=0.3)
    assert time.monotonic() - began < 2.0


def test_the_cap_holds_even_if_the_app_swallows_the_error():
    async def app(scope, receive, send):
        await send(START)
        try:
            await send({"type": "http.response.body", "body": b"x" * 100, "more_body": True})
        except Exception:
            pass
        await send({"type": "http.response.body", "body": b"done"})

    with pytest.raises(CallLimitExceeded):
        gl.call_asgi(app, max_body=10)


def test_default_cap_is_a_few_mib():
    assert 1 << 20 <= DEFAULT_MAX_BODY <= 64 << 20


def test_the_limit_holds_under_a_running_loop_too():
    async def app(scope, receive, send):
        time.sleep(2)
        await hello(scope, receive, send)

    async def main():
        began = time.monotonic()
        with pytest.raises(CallLimitExceeded):
            await gl.call_asgi(app, timeout=0.3)
        return time.monotonic() - began

    assert asyncio.run(main()) < 1.5


def test_off_the_main_thread_the_loop_timeout_still_works():
    async def app(scope, receive, send):
        await asyncio.sleep(5)

    result = []

    def run():
        try:
            gl.call_asgi(app, timeout=0.2)
        except CallLimitExceeded as exc:
            result.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(5)
    assert result and result[0].bound == "timeout"


def test_timeout_is_a_protocol_error_for_old_callers():
    async def app(scope, receive, send):
        await receive()
        await receive()

    with pytest.raises(ProtocolError, match="did not finish within 0.2 s"):
        gl.call_asgi(app, timeout=0.2)


@pytest.mark.parametrize(
    ("messages", "machine_state", "key"),
    [
        ([{"type": "http.response.body", "body": b"a"}], "before-start", "http.response.body"),
        ([START, START], "started", "http.response.start"),
        (
            [START, {"type": "http.response.body"}, {"type": "http.response.body"}],
            "complete",
            "http.response.body",
        ),
        ([{"type": "websocket.accept"}], "before-start", "websocket.accept"),
    ],
)
def test_order_mistakes_read_as_the_shared_table_says(messages, machine_state, key):
    async def app(scope, receive, send):
        for message in messages:
            await send(message)

    _, sentence = table.step("http", machine_state, key)
    assert sentence
    with pytest.raises(ProtocolError) as caught:
        gl.call_asgi(app)
    assert str(caught.value) == sentence


@pytest.mark.parametrize(
    "messages", [[], [START], [START, {**START, "type": "http.response.body", "more_body": True}]]
)
def test_returning_early_reads_as_the_table_ending(messages):
    async def app(scope, receive, send):
        for message in messages:
            await send(message)

    state = table.INITIAL["http"]
    for message in messages:
        state, _ = table.step("http", state, table.message_key(message))
    with pytest.raises(ProtocolError) as caught:
        gl.call_asgi(app)
    assert str(caught.value) == table.ending("http", state).sentence()


def test_acall_asgi_is_awaitable():
    assert asyncio.run(acall_asgi(hello)).text == "hi"


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_systemexit_reaches_the_caller_not_the_event_loop(exc_type):
    """Raised inside a task, it would escape the loop (in a notebook: the kernel's)."""

    async def app(scope, receive, send):
        raise exc_type("from the app")

    async def main():
        other = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.05, other.set_result, "the loop lives on")
        with pytest.raises(exc_type, match="from the app"):
            await gl.call_asgi(app)
        return await other

    assert asyncio.run(main()) == "the loop lives on"


START = {"type": "http.response.start", "status": 200, "headers": []}


async def _no_await_at_all(scope, receive, send):
    send(START)
    send({"type": "http.response.body", "body": b"hi"})


async def _start_not_awaited(scope, receive, send):
    send(START)
    await send({"type": "http.response.body", "body": b"hi"})


async def _body_not_awaited(scope, receive, send):
    await send(START)
    send({"type": "http.response.body", "body": b"hi"})


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
@pytest.mark.parametrize(
    ("app", "times", "then"),
    [
        (_no_await_at_all, "2 times", "returned without sending 'http.response.start'"),
        (_start_not_awaited, "once", "'http.response.body' before 'http.response.start'"),
        (_body_not_awaited, "once", "still open"),
    ],
)
def test_a_forgotten_await_on_send_is_named_before_its_effect(app, times, then):
    with pytest.raises(ProtocolError) as caught:
        gl.call_asgi(app)
    text = str(caught.value)
    assert text.startswith(f"The app called send(...) without `await` ({times})"), text
    assert "`await send({...})`" in text and then in text, text


def test_an_awaited_send_gets_no_await_sentence():
    async def returns_early(scope, receive, send):
        await send(START)

    with pytest.raises(ProtocolError) as caught:
        gl.call_asgi(returns_early)
    assert "without `await`" not in str(caught.value)
