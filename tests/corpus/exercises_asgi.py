"""Learners' answers to the ASGI-side exercises, wrong and valid, with what each must get.

Each :func:`answer` marks an app with its exercise, whether it must pass, and
words its feedback must contain (``says``) or must not (``never``): the
cause named in plain words, never an HTTP outcome for a WebSocket.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["ANSWERS", "answer"]

ANSWERS: list[Any] = []


def answer(
    exercise: str, passes: bool, *says: str, never: tuple[str, ...] = ()
) -> Callable[[Any], Any]:
    """Mark an answer to ``exercise``: its verdict and the words its feedback must hold."""

    def mark(app: Any) -> Any:
        app.exercise, app.passes, app.says, app.never = exercise, passes, says, never
        ANSWERS.append(app)
        return app

    return mark


SSE = "asgi-sse-until-disconnect"
WS = "asgi-ws-numbered-echo"
OFFLOAD = "asgi-no-blocking"
EVENT_STREAM = [(b"content-type", b"text/event-stream")]


# -- lesson 07: tick until the client leaves ------------------------------------------------
def _ticker(event: Callable[[int], bytes], pause: float = 0.05) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError(scope["type"])
        left = asyncio.Event()

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            left.set()

        task = asyncio.create_task(listen())
        await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM})
        number = 0
        while not left.is_set():
            number += 1
            await send({"type": "http.response.body", "body": event(number), "more_body": True})
            await asyncio.sleep(pause)
        task.cancel()

    return app


sse_with_id = answer(SSE, True, "well-formed events")(
    _ticker(lambda n: f"id: {n}\ndata: tick {n}\n\n".encode())
)
# No space after the colon: the same event (a client drops one space there, none needed).
sse_crlf_and_event = answer(SSE, True, "well-formed events", "'tick 1', 'tick 2'")(
    _ticker(lambda n: f"event: tick\r\ndata:tick {n}\r\n\r\n".encode())
)
sse_comment_and_retry = answer(SSE, True, "noticed the client leaving")(
    _ticker(lambda n: f": keep-alive\nretry: 1000\ndata: tick {n}\n\n".encode())
)
# A learner walk: the wrong text passed as "3 well-formed events"; so did counting from 0
# and "tick1"; no pause at all (asyncio.sleep(0)) and a long one passed "one by one".
WANTS_TICKS = "the events' data should be 'tick 1', 'tick 2', 'tick 3'"
sse_wrong_text = answer(SSE, False, WANTS_TICKS, "got 'banana', 'banana'")(
    _ticker(lambda n: b"data: banana\n\n")
)
sse_counts_from_zero = answer(SSE, False, WANTS_TICKS, "got 'tick 0', 'tick 1'")(
    _ticker(lambda n: f"data: tick {n - 1}\n\n".encode())
)
sse_no_space_in_the_text = answer(SSE, False, WANTS_TICKS, "got 'tick1', 'tick2'")(
    _ticker(lambda n: f"data:tick{n}\n\n".encode())
)
sse_no_pause = answer(SSE, False, "no real pause", "await asyncio.sleep(0.05)", "does not wait")(
    _ticker(lambda n: f"data: tick {n}\n\n".encode(), pause=0)
)
sse_long_pause = answer(SSE, False, "apart); the task asks for one every 0.05 s")(
    _ticker(lambda n: f"data: tick {n}\n\n".encode(), pause=0.5)
)
sse_one_event_a_tenth = answer(SSE, True, "events arrived one by one")(
    _ticker(lambda n: f"id: {n}\ndata: tick {n}\n\n".encode(), pause=0.1)
)
sse_no_blank_line = answer(SSE, False, "does not end with a blank line")(
    _ticker(lambda n: f"data: tick {n}\n".encode())
)
sse_plain_text = answer(SSE, False, "no event has a data field")(
    _ticker(lambda n: f"tick {n}\n\n".encode())
)


async def sse_wrong_type(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(1, 100):
        await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": True})
        await asyncio.sleep(0.02)


answer(SSE, False, "content-type should be text/event-stream", "kept streaming to nobody")(
    sse_wrong_type
)


async def sse_awaits_receive_in_loop(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM})
    while True:
        await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": True})
        if (await receive())["type"] == "http.disconnect":
            return


answer(SSE, False, "Is the loop awaiting receive()")(sse_awaits_receive_in_loop)


async def sse_time_sleep(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM})
    for _ in range(6):
        await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": True})
        time.sleep(0.05)
    await send({"type": "http.response.body", "body": b""})


answer(SSE, False, "asgi.blocking-call", "time.sleep")(sse_time_sleep)


async def sse_ends_itself(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM})
    for n in range(3):
        more = n < 2
        await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": more})


answer(SSE, False, "ended the stream itself")(sse_ends_itself)


# A listener that does a single `await receive()` takes the request's own 'http.request'
# for the client leaving: the stream stops at once. The cause is named, not a stall.
FIRST_IS_REQUEST = "The first message receive() gives is 'http.request' (the request body)"
UNTIL_DISCONNECT = "keep receiving until a message of type 'http.disconnect' arrives"
NOT_THE_CAUSE = ("Is the loop awaiting receive()", "asgi.response-incomplete", "it is empty")


def _ticker_with(listen: Callable[[Any, asyncio.Event], Any], end: bool = False) -> Any:
    """A ticker whose listener task is ``listen(receive, left)``; ``end``: more_body=False
    once the loop stops (harmless after the client left)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError(scope["type"])
        left = asyncio.Event()
        task = asyncio.create_task(listen(receive, left))
        await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM})
        number = 0
        while not left.is_set():
            number += 1
            body = f"data: tick {number}\n\n".encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})
            await asyncio.sleep(0.05)
        if end:
            await send({"type": "http.response.body", "body": b""})
        task.cancel()

    return app


async def _listen_once(receive: Any, left: asyncio.Event) -> None:
    await receive()  # the request body, not the client leaving
    left.set()


async def _listen_once_checked(receive: Any, left: asyncio.Event) -> None:
    if (await receive())["type"] == "http.disconnect":  # it is 'http.request': never set
        left.set()


async def _listen_until_disconnect(receive: Any, left: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    left.set()


async def _listen_after_the_body(receive: Any, left: asyncio.Event) -> None:
    message = await receive()
    while message.get("more_body"):
        message = await receive()
    await receive()  # after the body, the next message is the client leaving
    left.set()


sse_single_receive = answer(SSE, False, FIRST_IS_REQUEST, UNTIL_DISCONNECT, never=NOT_THE_CAUSE)(
    _ticker_with(_listen_once)
)
sse_single_receive_then_ends = answer(
    SSE, False, FIRST_IS_REQUEST, "ended the stream before the client left", never=NOT_THE_CAUSE
)(_ticker_with(_listen_once, end=True))
sse_single_receive_checked = answer(
    SSE, False, "kept streaming to nobody", "receive() gave it only 'http.request'"
)(_ticker_with(_listen_once_checked))
sse_reads_the_body_then_waits = answer(SSE, True, "noticed the client leaving")(
    _ticker_with(_listen_after_the_body)
)
sse_ends_after_disconnect = answer(SSE, True, "noticed the client leaving")(
    _ticker_with(_listen_until_disconnect, end=True)
)


async def sse_inline_first_message(scope: Any, receive: Any, send: Any) -> None:
    """No task: one receive() before each event, taken as 'the client left' if it came."""
    await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM})
    number = 0
    while True:
        number += 1
        await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": True})
        if await receive():  # 'http.request' comes at once: the loop stops after one event
            return
        await asyncio.sleep(0.05)


answer(SSE, False, FIRST_IS_REQUEST, "returned before the client left", never=NOT_THE_CAUSE)(
    sse_inline_first_message
)


async def sse_stops_by_itself_while_listening(scope: Any, receive: Any, send: Any) -> None:
    """A right listener, but the loop stops after two events: not the http.request mix-up."""
    left = asyncio.Event()
    task = asyncio.create_task(_listen_until_disconnect(receive, left))
    await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM})
    for number in (1, 2):
        body = f"data: {number}\n\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await asyncio.sleep(0.05)
    task.cancel()


answer(
    SSE,
    False,
    "only 2 event(s) arrived: the app returned before the client left",
    never=("'http.request' (the request body)", "Is the loop awaiting receive()"),
)(sse_stops_by_itself_while_listening)


# -- lesson 07: a numbered echo over a WebSocket ---------------------------------------------
async def ws_reference_shape(scope: Any, receive: Any, send: Any) -> None:
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            if message.get("text") == "bye":
                await send({"type": "websocket.send", "text": "goodbye"})
                await send({"type": "websocket.close", "code": 1000})
                return
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {message.get('text')}"})
        else:
            return


answer(WS, True, "closed the WebSocket (code 1000)")(ws_reference_shape)


class WsEchoClass:
    """A class instance, the counter on the connection's own object."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            raise RuntimeError(scope["type"])
        await self.talk(receive, send, 0)

    async def talk(self, receive: Any, send: Any, count: int) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            text = message["text"]
            if text == "bye":
                await send({"type": "websocket.send", "text": "goodbye"})
                return await send({"type": "websocket.close"})
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {text}"})


answer(WS, True, "'ping' -> '1: ping'")(WsEchoClass())


async def ws_closes_after_client_left(scope: Any, receive: Any, send: Any) -> None:
    """Sends websocket.close on disconnect too: a no-op, not a mistake."""
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            await send({"type": "websocket.close", "code": 1000})
            return
        if message["text"] == "bye":
            await send({"type": "websocket.send", "text": "goodbye"})
            await send({"type": "websocket.close", "code": 1000})
            return
        count += 1
        await send({"type": "websocket.send", "text": f"{count}: {message['text']}"})


answer(WS, True, "returned", never=("more to say",))(ws_closes_after_client_left)


async def ws_keyerror_on_disconnect(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while True:
        message = await receive()
        text = message["text"]
        if text == "bye":
            await send({"type": "websocket.send", "text": "goodbye"})
            await send({"type": "websocket.close", "code": 1000})
            return
        count += 1
        await send({"type": "websocket.send", "text": f"{count}: {text}"})


answer(WS, False, "websocket.disconnect", "KeyError", never=("500", "Internal Server Error"))(
    ws_keyerror_on_disconnect
)


async def ws_global_count(scope: Any, receive: Any, send: Any) -> None:
    global WS_COUNT
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        if message["text"] == "bye":
            await send({"type": "websocket.send", "text": "goodbye"})
            await send({"type": "websocket.close"})
            return
        WS_COUNT += 1
        await send({"type": "websocket.send", "text": f"{WS_COUNT}: {message['text']}"})


WS_COUNT = 0
answer(WS, False, "count per connection")(ws_global_count)


async def ws_no_accept(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.send", "text": "hi"})


answer(WS, False, "before 'websocket.accept'", never=("500",))(ws_no_accept)


async def ws_no_close_on_bye(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while (message := await receive())["type"] == "websocket.receive":
        count += 1
        await send({"type": "websocket.send", "text": f"{count}: {message['text']}"})


answer(WS, False, "the reply should be 'goodbye'", "should close the WebSocket")(ws_no_close_on_bye)


def _ws_bye(on_bye: Callable[[Any], Any]) -> Any:
    """A numbered echo whose answer to 'bye' is ``on_bye(send)``."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            raise RuntimeError(scope["type"])
        await receive()
        await send({"type": "websocket.accept"})
        count = 0
        while (message := await receive())["type"] == "websocket.receive":
            if message["text"] == "bye":
                return await on_bye(send)
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {message['text']}"})

    return app


async def _close_then_goodbye(send: Any) -> None:
    await send({"type": "websocket.close", "code": 1000})
    await send({"type": "websocket.send", "text": "goodbye"})


async def _close_only(send: Any) -> None:
    await send({"type": "websocket.close", "code": 1000})


# A learner walk: the close before the goodbye was told "got nothing", not why.
ws_close_before_goodbye = answer(
    WS, False, "sent 'goodbye' after its websocket.close", "Send 'goodbye' before the close"
)(_ws_bye(_close_then_goodbye))
ws_close_without_goodbye = answer(
    WS, False, "closed the WebSocket without sending it", "'text': 'goodbye'} first"
)(_ws_bye(_close_only))


async def ws_bytes(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while (message := await receive())["type"] == "websocket.receive":
        if message["text"] == "bye":
            await send({"type": "websocket.send", "bytes": b"goodbye"})
            await send({"type": "websocket.close"})
            return
        count += 1
        await send({"type": "websocket.send", "bytes": f"{count}: {message['text']}".encode()})


answer(WS, False, "send text frames")(ws_bytes)


async def ws_ignores_disconnect(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while True:
        message = await receive()
        if message.get("text") == "bye":
            await send({"type": "websocket.send", "text": "goodbye"})
            await send({"type": "websocket.close"})
            return
        if message["type"] == "websocket.receive":
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {message['text']}"})


answer(WS, False, "still running after the client left", never=("500",))(ws_ignores_disconnect)


# -- lesson 07: keep the event loop free -----------------------------------------------------
def slow_lookup(word: str) -> str:
    time.sleep(0.12)
    return word.upper()


def _word(scope: Any) -> str:
    return scope["query_string"].decode().partition("=")[2]


async def _reply(send: Any, text: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": text.encode()})


async def offload_to_thread(scope: Any, receive: Any, send: Any) -> None:
    await _reply(send, await asyncio.to_thread(slow_lookup, _word(scope)))


answer(OFFLOAD, True, "the event loop stayed free")(offload_to_thread)


async def offload_executor(scope: Any, receive: Any, send: Any) -> None:
    loop = asyncio.get_running_loop()
    await _reply(send, await loop.run_in_executor(None, slow_lookup, _word(scope)))


answer(OFFLOAD, True, "the event loop stayed free", "ran 2 time(s)")(offload_executor)


class OffloadClass:
    """A class instance: no module globals to count, judged on its answers and the loop."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await _reply(send, await asyncio.to_thread(slow_lookup, _word(scope)))


answer(OFFLOAD, True, "the event loop stayed free")(OffloadClass())


async def offload_executor_no_await(scope: Any, receive: Any, send: Any) -> None:
    loop = asyncio.get_running_loop()
    await _reply(send, loop.run_in_executor(None, slow_lookup, _word(scope)))


answer(OFFLOAD, False, "missing await", "run_in_executor(...) returns a Future")(
    offload_executor_no_await
)


async def offload_to_thread_no_await(scope: Any, receive: Any, send: Any) -> None:
    await _reply(send, asyncio.to_thread(slow_lookup, _word(scope)))


answer(OFFLOAD, False, "missing await")(offload_to_thread_no_await)


async def offload_blocks(scope: Any, receive: Any, send: Any) -> None:
    await _reply(send, slow_lookup(_word(scope)))


answer(
    OFFLOAD,
    False,
    "asgi.blocking-call",
    "Leave slow_lookup as it is",
    "asyncio.to_thread(slow_lookup, word)",
    never=("stayed free", "Use the async version"),
)(offload_blocks)


async def offload_async_wrapper(scope: Any, receive: Any, send: Any) -> None:
    async def lookup(word: str) -> str:
        return slow_lookup(word)

    await _reply(send, await lookup(_word(scope)))


# A learner walk: the wrapper and the scaffold were told to use an async version of time.sleep
answer(
    OFFLOAD,
    False,
    "Wrapping the call in `async def lookup()` does not stop it blocking",
    never=("Use the async version",),
)(offload_async_wrapper)


# Spawned, not forked: the child imports this module afresh, as a notebook's forked child
# keeps a copy; either way its calls of slow_lookup happen where the check cannot count them.
_POOL: ProcessPoolExecutor | None = None  # the one pool, while its answer is checked


def _start_pool() -> None:
    """Start the worker before the check times anything: a fresh interpreter can take
    seconds to start on a busy machine, and the check gives each request 2 s."""
    global _POOL
    _POOL = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    _POOL.submit(abs, 0).result(timeout=120)


def _stop_pool() -> None:
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)
        _POOL = None


async def offload_process_pool(scope: Any, receive: Any, send: Any) -> None:
    loop = asyncio.get_running_loop()
    await _reply(send, await loop.run_in_executor(_POOL, slow_lookup, _word(scope)))


offload_process_pool.prepare, offload_process_pool.finish = _start_pool, _stop_pool  # type: ignore[attr-defined]


# A learner walk: rejected as "never called slow_lookup"; it ran in a child process.
answer(OFFLOAD, True, "ran in another process", never=("never called",))(offload_process_pool)


async def offload_executor_called_early(scope: Any, receive: Any, send: Any) -> None:
    loop = asyncio.get_running_loop()
    word = _word(scope)
    await _reply(send, await loop.run_in_executor(None, slow_lookup(word)))  # type: ignore[arg-type]


# A learner walk: told about asyncio.to_thread(...), a call it did not write.
answer(
    OFFLOAD,
    False,
    "loop.run_in_executor(None, slow_lookup(word)) calls slow_lookup right away",
    "Pass the function and its arguments: loop.run_in_executor(None, slow_lookup, word)",
    never=("asyncio.to_thread(slow_lookup(word))",),
)(offload_executor_called_early)


async def offload_called_early(scope: Any, receive: Any, send: Any) -> None:
    await _reply(send, await asyncio.to_thread(slow_lookup(_word(scope))))  # type: ignore[arg-type]


answer(OFFLOAD, False, "calls slow_lookup right away")(offload_called_early)


async def offload_skips_the_function(scope: Any, receive: Any, send: Any) -> None:
    await _reply(send, _word(scope).upper())


answer(OFFLOAD, False, "never called slow_lookup")(offload_skips_the_function)


async def offload_wrong_case(scope: Any, receive: Any, send: Any) -> None:
    await _reply(send, (await asyncio.to_thread(slow_lookup, _word(scope))).lower())


answer(OFFLOAD, False, "ADA")(offload_wrong_case)
