"""Notebook 07 (ASGI realtime): its exercises, right and wrong answers, and its claims.

The exercises live in ``gateway_lab.course.realtime``; the reference
solutions in ``notebooks/solutions/``. Each solution must pass, and each
typical wrong answer must get the feedback that names its mistake (asserted
on rule ids and key words, not on whole sentences).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gc
import runpy
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from corpus import exercises_asgi

import gateway_lab as gl
from gateway_lab.course.realtime import (
    ASGI_NO_BLOCKING,
    ASGI_SSE_UNTIL_DISCONNECT,
    ASGI_WS_NUMBERED_ECHO,
)
from gateway_lab.exercises.sse import judge_pace

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"


def solution(name: str, function: str) -> Any:
    return runpy.run_path(str(SOLUTIONS / f"{name}.py"))[function]


def failed_lines(result: Any) -> str:
    """The ✗ lines of a result, as one text to search."""
    return "\n".join(text for mark, text in result.lines if mark == "✗")


# -- every exercise is reachable by name -----------------------------------------------


@pytest.mark.parametrize(
    "name", ["asgi-ws-numbered-echo", "asgi-no-blocking", "asgi-sse-until-disconnect"]
)
def test_exercises_are_registered(name):
    assert gl.exercise(name).name == name


# -- asgi-ws-numbered-echo ---------------------------------------------------------------


def test_numbered_echo_solution_passes(capsys):
    result = ASGI_WS_NUMBERED_ECHO(solution("asgi_ws_numbered_echo", "numbered_echo"))
    assert result.passed, str(result)
    assert "passed" in capsys.readouterr().out


async def _unfinished_echo(scope, receive, send):
    raise NotImplementedError


async def _echo_without_accept(scope, receive, send):
    await receive()
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message["text"]})


async def _plain_echo(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message["text"]})


async def _ignores_disconnect(scope, receive, send):
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            if message["text"] == "bye":
                await send({"type": "websocket.send", "text": "goodbye"})
                await send({"type": "websocket.close", "code": 1000})
                continue
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {message['text']}"})


_shared_count = {"n": 0}


async def _global_counter(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["text"] == "bye":
            await send({"type": "websocket.send", "text": "goodbye"})
            await send({"type": "websocket.close", "code": 1000})
            return
        _shared_count["n"] += 1
        await send({"type": "websocket.send", "text": f"{_shared_count['n']}: {message['text']}"})


async def _no_close_on_bye(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["text"] == "bye":
            await send({"type": "websocket.send", "text": "goodbye"})
            continue
        count += 1
        await send({"type": "websocket.send", "text": f"{count}: {message['text']}"})


async def _bytes_replies(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        count += 1
        await send({"type": "websocket.send", "bytes": f"{count}: {message['text']}".encode()})


def test_numbered_echo_unfinished_answers_are_not_errors():
    assert ASGI_WS_NUMBERED_ECHO.evaluate(None).unfinished
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_unfinished_echo)
    assert not result.passed and "NotImplementedError" in result.unfinished

    def plain_function(scope, receive, send):
        return None

    assert "async def" in ASGI_WS_NUMBERED_ECHO.evaluate(plain_function).unfinished


def test_numbered_echo_without_accept():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_echo_without_accept)
    assert not result.passed
    assert "never accepted" in failed_lines(result)
    assert "{'type': 'websocket.accept'}" in failed_lines(result)


async def _greets_before_accept(scope, receive, send):
    await receive()
    await send({"type": "websocket.send", "text": "welcome!"})
    await send({"type": "websocket.accept"})


def test_numbered_echo_sending_before_accept():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_greets_before_accept)
    assert not result.passed
    text = failed_lines(result)
    assert "asgi.ws-send-before-accept" in text and "before the client said anything" in text


def test_numbered_echo_plain_echo_gets_numbers_and_close_named():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_plain_echo)
    text = failed_lines(result)
    assert not result.passed
    assert "'1: hello'" in text and "got 'hello'" in text
    assert "websocket.close" in text


def test_numbered_echo_that_ignores_disconnect_is_reported_not_waited_for():
    started = time.perf_counter()
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_ignores_disconnect)
    assert time.perf_counter() - started < 4 * ASGI_WS_NUMBERED_ECHO.timeout + 2
    assert not result.passed
    assert "websocket.disconnect" in failed_lines(result)
    assert "still running" in failed_lines(result)


def test_numbered_echo_counts_per_connection():
    _shared_count["n"] = 0
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_global_counter)
    assert not result.passed
    text = failed_lines(result)
    assert "client just leaves" in text and "'1: ping'" in text and "got '3: ping'" in text
    assert "count per connection" in text and "not in a global" in text


def test_numbered_echo_a_plain_wrong_number_gets_no_global_advice():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_plain_echo)
    assert "count per connection" not in failed_lines(result)


async def _loops_after_close(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["text"] == "bye":
            await send({"type": "websocket.send", "text": "goodbye"})
            await send({"type": "websocket.close", "code": 1000})
            continue  # should return here: the conversation is over
        count += 1
        await send({"type": "websocket.send", "text": f"{count}: {message['text']}"})


def test_numbered_echo_must_return_right_after_closing():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_loops_after_close)
    assert not result.passed
    text = failed_lines(result)
    assert "client says bye" in text and "went back to receive()" in text
    passed_lines = [t for mark, t in result.lines if mark == "✓"]
    assert not any("client says bye" in t and "returned" in t for t in passed_lines)
    # leaving without a close and returning on websocket.disconnect is right
    assert any("client just leaves" in t and "returned" in t for t in passed_lines)


def test_numbered_echo_solution_is_told_how_it_returned():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(solution("asgi_ws_numbered_echo", "numbered_echo"))
    text = "\n".join(t for _, t in result.lines)
    assert "returned right after closing" in text and "returned when the client left" in text


def test_numbered_echo_must_close_after_bye():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_no_close_on_bye)
    assert not result.passed
    assert "should close" in failed_lines(result)


async def _returns_after_goodbye(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["text"] == "bye":
            await send({"type": "websocket.send", "text": "goodbye"})
            return  # no close: it returns on its own, the client still there
        count += 1
        await send({"type": "websocket.send", "text": f"{count}: {message['text']}"})


def test_numbered_echo_returning_without_close_is_not_praised_for_leaving_on_disconnect():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_returns_after_goodbye)
    assert not result.passed
    assert "should close" in failed_lines(result)
    bye = [t for m, t in result.lines if t.startswith("client says bye") and m == "✓"]
    assert bye and not any("returned when the client left" in t for t in bye), result.lines


async def _sends_without_await(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["text"] == "bye":
            send({"type": "websocket.send", "text": "goodbye"})
            await send({"type": "websocket.close", "code": 1000})
            return
        count += 1
        send({"type": "websocket.send", "text": f"{count}: {message['text']}"})


def test_numbered_echo_names_a_forgotten_await_on_send_and_not_its_consequences():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_sends_without_await)
    assert not result.passed
    failed = [t for m, t in result.lines if m == "✗"]
    assert failed and all("asgi.send-not-awaited" in t for t in failed), failed
    assert "`await send(...)`" in failed[0]
    assert not any("got nothing" in t for t in failed)


def test_numbered_echo_bytes_instead_of_text():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_bytes_replies)
    assert not result.passed
    assert "'text'" in failed_lines(result) and "bytes" in failed_lines(result)


# -- asgi-no-blocking -----------------------------------------------------------------


def slow_lookup(word: str) -> str:
    time.sleep(0.2)
    return word.upper()


def _word(scope: dict[str, Any]) -> str:
    return scope["query_string"].decode().partition("=")[2] or "hello"


async def _answer(send: Any, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


async def _still_blocking(scope, receive, send):
    await _answer(send, slow_lookup(_word(scope)))


async def _async_wrapper_still_blocks(scope, receive, send):
    async def lookup(word):
        return slow_lookup(word)

    await _answer(send, await lookup(_word(scope)))


async def _to_thread_called_wrong(scope, receive, send):
    await _answer(send, await asyncio.to_thread(slow_lookup(_word(scope))))


async def _sleeps_but_skips_the_lookup(scope, receive, send):
    await asyncio.sleep(0.2)
    await _answer(send, _word(scope))


async def _run_in_executor_answer(scope, receive, send):
    loop = asyncio.get_running_loop()
    await _answer(send, await loop.run_in_executor(None, slow_lookup, _word(scope)))


def test_no_blocking_solution_passes(capsys):
    result = ASGI_NO_BLOCKING(solution("asgi_no_blocking", "lookup_app"))
    assert result.passed, str(result)
    capsys.readouterr()


def test_no_blocking_run_in_executor_also_passes():
    result = ASGI_NO_BLOCKING.evaluate(_run_in_executor_answer)
    assert result.passed, str(result)


@pytest.mark.parametrize("app", [_still_blocking, _async_wrapper_still_blocks])
def test_no_blocking_catches_blocking_answers(app):
    result = ASGI_NO_BLOCKING.evaluate(app)
    assert not result.passed
    assert "asgi.blocking-call" in failed_lines(result)
    assert "time.sleep" in failed_lines(result)  # the line is named


def test_no_blocking_to_thread_with_a_call_instead_of_a_function():
    result = ASGI_NO_BLOCKING.evaluate(_to_thread_called_wrong)
    assert not result.passed
    text = failed_lines(result)
    assert "app.raised" in text and "TypeError" in text
    assert "pass the function and its arguments" in text.lower()
    assert "asyncio.to_thread(slow_lookup, word)" in text


async def _to_thread_without_await(scope, receive, send):
    answer = asyncio.to_thread(slow_lookup, _word(scope))  # a coroutine, never awaited
    await _answer(send, answer)


def test_no_blocking_forgotten_await_is_named():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # Python's "never awaited" stays quiet
        result = ASGI_NO_BLOCKING.evaluate(_to_thread_without_await)
        passed, text = result.passed, failed_lines(result)
        del result
        gc.collect()
    assert not passed
    assert "missing await" in text and "(hence the app.raised error above)" in text
    assert "never called" not in text  # the missing await is the one mistake here
    rows = [t for m, t in ASGI_NO_BLOCKING.evaluate(_to_thread_without_await).shown()]
    assert rows[0].startswith("app.raised"), rows  # "above" is where it is shown


POOL = concurrent.futures.ThreadPoolExecutor(2)


async def _waits_on_the_pool_future(scope, receive, send):
    await _answer(send, POOL.submit(slow_lookup, _word(scope)).result())


def test_no_blocking_result_on_a_pool_future_is_told_to_await_it():
    result = ASGI_NO_BLOCKING.evaluate(_waits_on_the_pool_future)
    assert not result.passed
    text = failed_lines(result)
    assert "asgi.blocking-call" in text and "`.result()` waits for its answer" in text
    assert "asyncio.wrap_future(" in text and "move the blocking call" not in text


async def _skips_the_lookup_but_answers_right(scope, receive, send):
    await asyncio.sleep(0.2)
    await _answer(send, _word(scope).upper())


def test_no_blocking_answer_must_come_from_slow_lookup():
    original = slow_lookup
    result = ASGI_NO_BLOCKING.evaluate(_skips_the_lookup_but_answers_right)
    assert not result.passed
    assert "never called slow_lookup" in failed_lines(result)
    assert globals()["slow_lookup"] is original  # the counter was taken off again


def test_no_blocking_wrong_answer_is_named():
    result = ASGI_NO_BLOCKING.evaluate(_sleeps_but_skips_the_lookup)
    assert not result.passed
    assert "should contain 'ADA'" in failed_lines(result)
    assert "asgi.blocking-call" not in failed_lines(result)


def test_no_blocking_notebook_scaffold_is_flagged():
    """The scaffold the notebook gives (the blocking app) is what the rule catches."""
    report = gl.check_asgi(
        _still_blocking, [gl.Probe("GET", "/?word=x")], lifespan=False, websocket=False
    )
    assert "asgi.blocking-call" in report.rules("error")


# -- asgi-sse-until-disconnect -------------------------------------------------------


def test_ticker_solution_passes(capsys):
    result = ASGI_SSE_UNTIL_DISCONNECT(solution("asgi_sse_until_disconnect", "ticker"))
    assert result.passed, str(result)
    capsys.readouterr()


def _ticker(
    content_type=b"text/event-stream",
    listens=True,
    inline_receive=False,
    end_at=None,
    event_format="data: tick {}\n\n",
):
    async def app(scope, receive, send):
        left = asyncio.Event()

        async def listen():
            while (await receive())["type"] != "http.disconnect":
                pass
            left.set()

        listener = asyncio.create_task(listen()) if listens and not inline_receive else None
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type)],
            }
        )
        number = 0
        while not left.is_set():
            number += 1
            last = number == end_at
            await send(
                {
                    "type": "http.response.body",
                    "body": event_format.format(number).encode(),
                    "more_body": not last,
                }
            )
            if last:
                break
            if inline_receive and (await receive())["type"] == "http.disconnect":
                break
            await asyncio.sleep(0.05)  # the pause the task asks
        if listener is not None:
            listener.cancel()

    return app


def test_ticker_unfinished():
    async def scaffold(scope, receive, send):
        raise NotImplementedError

    assert "NotImplementedError" in ASGI_SSE_UNTIL_DISCONNECT.evaluate(scaffold).unfinished


def test_ticker_that_never_listens_streams_to_nobody():
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(_ticker(listens=False))
    assert not result.passed
    assert "streaming to nobody" in failed_lines(result)
    assert "http.disconnect" in failed_lines(result)


def test_ticker_awaiting_receive_in_the_loop_stalls():
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(_ticker(inline_receive=True))
    assert not result.passed
    assert "awaiting receive()" in failed_lines(result)
    # awaiting receive() after the body is right in this exercise (in a task):
    # the checker's generic rule against it would contradict the lesson
    assert "asgi.receive-after-body" not in failed_lines(result)


async def _ticker_that_sleeps(scope, receive, send):
    left = asyncio.Event()

    async def listen():
        while (await receive())["type"] != "http.disconnect":
            pass
        left.set()

    listener = asyncio.create_task(listen())
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    number = 0
    while not left.is_set():
        number += 1
        body = f"data: tick {number}\n\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})
        time.sleep(0.05)  # blocks the loop: should be await asyncio.sleep(0.05)
        await asyncio.sleep(0)
    listener.cancel()


@pytest.mark.parametrize(
    "app",
    [exercises_asgi.sse_single_receive, exercises_asgi.sse_single_receive_then_ends],
    ids=["returns", "ends-the-stream"],
)
def test_ticker_whose_listener_takes_the_request_for_the_disconnect(app):
    """The learners' slip (apps of the exercise corpus): the listener's single receive()."""
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(app)
    assert not result.passed and not result.unfinished
    text = failed_lines(result)
    assert "before the client left" in text
    assert "The first message receive() gives is 'http.request' (the request body)" in text
    assert "keep receiving until a message of type 'http.disconnect' arrives" in text
    # not the cause: a stall on receive(), the event-stream format, an unfinished response
    shown = str(result)
    assert "Is the loop awaiting receive()" not in shown
    assert "it is empty" not in shown and "asgi.response-incomplete" not in shown


def test_ticker_stall_on_receive_keeps_its_hint_and_names_no_request_mixup():
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(_ticker(inline_receive=True))
    text = failed_lines(result)
    assert "Is the loop awaiting receive()" in text
    assert "'http.request' (the request body)" not in text


def test_ticker_that_blocks_the_loop_is_caught():
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(_ticker_that_sleeps)
    assert not result.passed
    text = failed_lines(result)
    assert "asgi.blocking-call" in text and "time.sleep(0.05)" in text


def test_ticker_wrong_content_type():
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(_ticker(content_type=b"text/plain"))
    assert not result.passed
    assert "text/event-stream" in failed_lines(result)


def test_ticker_that_ends_by_itself():
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(_ticker(end_at=3))
    assert not result.passed
    assert "ended the stream itself" in failed_lines(result)


def test_ticker_events_without_blank_line():
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(_ticker(event_format="data: tick {}\n"))
    assert not result.passed
    assert "does not end with a blank line" in failed_lines(result)
    # a browser dispatches no event from such a body: the pace row counts messages
    passed = " ".join(t for m, t in result.lines if m == "✓")
    assert "body messages arrived one by one" in passed and "events arrived" not in passed


async def _ticker_without_await(scope, receive, send):
    left = asyncio.Event()

    async def listen():
        while (await receive())["type"] != "http.disconnect":
            pass
        left.set()

    listener = asyncio.create_task(listen())
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    number = 0
    while not left.is_set():
        number += 1
        send({"type": "http.response.body", "body": b"data: %d\n\n" % number, "more_body": True})
        await asyncio.sleep(0.05)
    await listener


def test_ticker_forgotten_await_on_send_is_the_one_row_to_fix():
    result = ASGI_SSE_UNTIL_DISCONNECT.evaluate(_ticker_without_await)
    assert not result.passed
    failed = [t for m, t in result.lines if m == "✗"]
    assert len(failed) == 1 and failed[0].startswith("asgi.send-not-awaited"), failed
    assert "awaiting receive()" not in str(result) and "stopped sending" not in str(result)


@pytest.mark.parametrize(
    ("sent_at", "passes", "words"),
    [
        ([0.0, 0.05, 0.1], True, "about 50 ms apart"),
        ([0.0, 0.3, 0.7], True, "about 350 ms apart"),  # a busy machine: pauses grow, pass
        ([0.0, 0.04, 0.08], True, "one by one"),  # about 3/4 of the pauses: still a pause
        ([0.0, 0.001, 0.002], False, "no real pause"),  # asyncio.sleep(0)
        ([0.0, 0.6, 1.2], False, "about 0.60 s apart"),  # asyncio.sleep(0.6)
    ],
)
def test_ticker_pace_is_judged_loosely(sent_at, passes, words):
    """The pace of the first events: a machine under load only makes pauses longer, so the
    lower bound never fails a right answer; the upper one is eight times the pauses."""
    passed, text = judge_pace(0.05, sent_at)
    assert passed is passes and words in text, text
    assert "0.05" in text or passed  # a ✗ says what the task asks


# -- claims of the notebook that rest on the servers' behaviour ------------------------


@pytest.mark.parametrize(("spec_version", "listens"), [("2.3", True), ("2.4", False)])
def test_starlette_streaming_response_listens_only_below_spec_2_4(spec_version, listens):
    """Cell 27: Starlette's StreamingResponse runs a disconnect listener only when the scope's
    spec_version is below 2.4 (uvicorn reports 2.3); from 2.4 it counts on send raising."""
    from starlette.responses import StreamingResponse

    received: list[str] = []

    async def receive():
        received.append("receive")
        await asyncio.sleep(10)  # the client stays: the stream ends by itself
        return {"type": "http.disconnect"}

    async def send(message):
        await asyncio.sleep(0)

    async def body():
        yield b"data: tick 1\n\n"

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": spec_version}}
    asyncio.run(StreamingResponse(body())(scope, receive, send))
    assert bool(received) is listens, received


def test_uvicorn_reports_spec_version_2_3_and_mini_2_4():
    """Cell 27's servers: the scope's asgi.spec_version each one reports."""
    seen: dict[str, str] = {}

    for engine in ("uvicorn", "mini"):

        async def app(scope, receive, send, engine=engine):
            if scope["type"] != "http":
                raise RuntimeError(scope["type"])
            seen[engine] = scope["asgi"]["spec_version"]
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        srv = gl.serve_asgi(app, name=f"nb07-spec-{engine}", engine=engine)
        try:
            httpx.get(srv.url, timeout=5)
        finally:
            srv.stop()
    assert seen == {"uvicorn": "2.3", "mini": "2.4"}


async def _stream_for_nobody(scope, receive, send, sent: list[int], errors: list[str]):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    try:
        for number in range(1, 61):
            await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": True})
            sent.append(number)
            await asyncio.sleep(0.01)
    except OSError as exc:
        errors.append(type(exc).__name__)
        return
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
def test_a_stream_that_does_not_listen_for_disconnect(engine):
    """After the client left, send raises OSError on both engines (uvicorn alone drops the
    sends in silence; the guard every served app sits behind raises, issue 13 #1)."""
    sent: list[int] = []
    errors: list[str] = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await _stream_for_nobody(scope, receive, send, sent, errors)

    srv = gl.serve_asgi(app, name=f"nb07-nobody-{engine}", engine=engine)
    try:
        with httpx.stream("GET", srv.url, timeout=5) as reply:
            for _ in reply.iter_lines():
                break
        deadline = time.perf_counter() + 3
        while time.perf_counter() < deadline and not (errors or len(sent) == 60):
            time.sleep(0.02)
    finally:
        srv.stop()
    assert errors == ["ClientDisconnected"] and len(sent) < 60


_held = functools.partial(slow_lookup)  # a reference taken before any check runs


async def _partial_made_earlier(scope, receive, send):
    await _answer(send, await asyncio.to_thread(_held, _word(scope)))


async def _default_argument(scope, receive, send, _lookup=slow_lookup):
    await _answer(send, await asyncio.to_thread(_lookup, _word(scope)))


@pytest.mark.parametrize("app", [_partial_made_earlier, _default_argument])
def test_no_blocking_counts_calls_through_a_reference_taken_earlier(app):
    code = slow_lookup.__code__
    result = ASGI_NO_BLOCKING.evaluate(app)
    assert result.passed, str(result)
    assert "slow_lookup ran" in str(result)  # the calls were seen, not just the answers
    assert slow_lookup.__code__ is code  # and the function is itself again
    assert "__gateway_lab_counted__" not in globals()


async def _echo_that_answers_the_disconnect(scope, receive, send):
    """Numbers every message without looking at its type, the disconnect included."""
    if scope["type"] != "websocket":
        raise RuntimeError(scope["type"])
    count = 0
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            continue
        count += 1
        text = message.get("text")
        await send({"type": "websocket.send", "text": f"{count}: {text}"})
        if text == "bye":
            await send({"type": "websocket.close", "code": 1000})
            return


def test_numbered_echo_that_answers_the_disconnect_is_not_said_to_return_on_it():
    result = ASGI_WS_NUMBERED_ECHO.evaluate(_echo_that_answers_the_disconnect)
    assert not result.passed
    text = str(result)
    assert "returned when the client left" not in text  # it ended on a send that raised
    assert "answered it as if it were a message" in text and "message['type']" in text
