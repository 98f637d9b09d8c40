"""More learners' answers: lessons 05, 06, 08 and 09's ASGI-side exercises.

Same marks as :mod:`.exercises_asgi` (:func:`~.exercises_asgi.answer`): the
exercise, the verdict, words the feedback must hold and words it must not.
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from .exercises_asgi import ANSWERS, answer

ECHO = "asgi-echo-body"
COUNT = "asgi-streaming-count"
COUNTER = "asgi-lifespan-counter"
TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


async def _body(receive: Any) -> bytes:
    data, more = b"", True
    while more:
        message = await receive()
        data += message.get("body", b"")
        more = message.get("more_body", False)
    return data


# -- lesson 06: echo the body -----------------------------------------------------------------
async def echo_loop(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    body = await _body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": body})


answer(ECHO, True, "a body in three messages")(echo_loop)


class EchoClass:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"".join(parts)})


answer(ECHO, True, "an empty body")(EchoClass())


async def _starlette_echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(await request.body())


answer(ECHO, True, "a body in one message")(
    Starlette(routes=[Route("/", _starlette_echo, methods=["POST"])])
)


async def echo_first_message_only(scope: Any, receive: Any, send: Any) -> None:
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": message["body"]})


answer(ECHO, False, "asgi.body-partly-read", "more_body")(echo_first_message_only)


async def echo_str_body(scope: Any, receive: Any, send: Any) -> None:
    body = await _body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": body.decode()})


answer(ECHO, False, "asgi.body-not-bytes")(echo_str_body)


async def echo_reads_forever(scope: Any, receive: Any, send: Any) -> None:
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"".join(parts)})


answer(ECHO, False, "asgi.receive-after-body")(echo_reads_forever)


async def echo_no_start(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.body", "body": await _body(receive)})


answer(ECHO, False, "asgi.body-before-start")(echo_no_start)


async def echo_str_headers(scope: Any, receive: Any, send: Any) -> None:
    body = await _body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": [("a", "b")]})
    await send({"type": "http.response.body", "body": body})


answer(ECHO, False, "asgi.header-not-bytes")(echo_str_headers)


async def echo_never_finished(scope: Any, receive: Any, send: Any) -> None:
    body = await _body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": body, "more_body": True})


answer(ECHO, False, "asgi.response-incomplete")(echo_never_finished)


async def echo_loop_never_runs(scope: Any, receive: Any, send: Any) -> None:
    body, more_body = b"", False  # the loop below never runs: receive() is never called
    while more_body:
        message = await receive()
        body += message.get("body", b"")
        more_body = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": body})


answer(ECHO, False, "got b''. receive() was never called", "more_body = True")(echo_loop_never_runs)


async def echo_walrus(scope: Any, receive: Any, send: Any) -> None:
    """Reads at least once, then while more_body: another shape of the same right loop."""
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    body = (message := await receive()).get("body", b"")
    while message.get("more_body"):
        body += (message := await receive()).get("body", b"")
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": body})


answer(ECHO, True, "a body in three messages", never=("never called",))(echo_walrus)


async def echo_any_scope(scope: Any, receive: Any, send: Any) -> None:
    """The scaffold's scope-type check deleted: lifespan and WebSocket get an HTTP answer."""
    body = await _body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": body})


answer(ECHO, True, "! asgi.scope-type-ignored", "lifespan", "WEBSOCKET")(echo_any_scope)


async def echo_decoded(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    body = await _body(receive)
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": body.decode()})


answer(
    ECHO,
    False,
    "asgi.body-not-bytes",
    "(an empty body): body should be b'' as bytes, but the app sent a str",
    never=("body is b''",),
)(echo_decoded)


# -- lesson 06: stream a count ----------------------------------------------------------------
def _n(scope: Any) -> int:
    query = scope["query_string"].decode()
    return int(query.partition("=")[2]) if query.startswith("n=") else 3


async def count_stream(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(scope["type"])
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(1, _n(scope) + 1):
        body = f"{number}\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


answer(COUNT, True, "five lines")(count_stream)


async def count_last_without_empty(scope: Any, receive: Any, send: Any) -> None:
    """The last line itself ends the response: a different but legal wire form."""
    n = _n(scope)
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(1, n + 1):
        last = number == n
        body = f"{number}\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": not last})


answer(COUNT, True, "one line")(count_last_without_empty)


async def _starlette_lines(request: Request) -> StreamingResponse:
    n = int(request.query_params.get("n", "3"))

    async def lines() -> Any:
        for number in range(1, n + 1):
            yield f"{number}\n"

    return StreamingResponse(lines(), media_type="text/plain")


answer(COUNT, True, "no n: count to 3")(Starlette(routes=[Route("/", _starlette_lines)]))


async def count_all_at_once(scope: Any, receive: Any, send: Any) -> None:
    body = "".join(f"{i}\n" for i in range(1, _n(scope) + 1)).encode()
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": body})


answer(COUNT, False, "one per line", "came in 1 'http.response.body' message")(count_all_at_once)


async def count_str_lines(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(1, _n(scope) + 1):
        await send({"type": "http.response.body", "body": f"{number}\n", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


answer(
    COUNT,
    False,
    "asgi.body-not-bytes",
    "It sent 9 messages like this in all",
    never=("came in 0",),
)(count_str_lines)


async def count_never_ends(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(1, _n(scope) + 1):
        await send(
            {"type": "http.response.body", "body": f"{number}\n".encode(), "more_body": True}
        )


answer(COUNT, False, "asgi.response-incomplete")(count_never_ends)


async def count_off_by_one(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(_n(scope)):
        await send(
            {"type": "http.response.body", "body": f"{number}\n".encode(), "more_body": True}
        )
    await send({"type": "http.response.body", "body": b""})


answer(COUNT, False, "body should be b'1\\n2\\n3\\n4\\n5\\n'")(count_off_by_one)


async def count_no_newlines(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(1, _n(scope) + 1):
        await send({"type": "http.response.body", "body": str(number).encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b""})


answer(COUNT, False, "body should be")(count_no_newlines)


async def count_ignores_n(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(1, 4):
        await send(
            {"type": "http.response.body", "body": f"{number}\n".encode(), "more_body": True}
        )
    await send({"type": "http.response.body", "body": b""})


answer(COUNT, False, "five lines")(count_ignores_n)


async def count_start_in_loop(scope: Any, receive: Any, send: Any) -> None:
    for number in range(1, _n(scope) + 1):
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send(
            {"type": "http.response.body", "body": f"{number}\n".encode(), "more_body": True}
        )
    await send({"type": "http.response.body", "body": b""})


answer(COUNT, False, "asgi.start-twice")(count_start_in_loop)


async def count_bytes_query(scope: Any, receive: Any, send: Any) -> None:
    """parse_qs on the bytes: its keys are b'n', so 'n' is never found and it counts to 3."""
    query = parse_qs(scope["query_string"])
    n = int(query.get("n", ["3"])[0])  # type: ignore[call-overload]
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(1, n + 1):
        body = f"{number}\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


answer(
    COUNT,
    False,
    "(one line): body should be b'1\\n', got b'1\\n2\\n3\\n'",
    never=("(one line): status 200 · the body came in", "should come in 5"),
)(count_bytes_query)


async def count_more_body_left_off(scope: Any, receive: Any, send: Any) -> None:
    """Every line ends the response: the client gets the first line only."""
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    for number in range(1, _n(scope) + 1):
        await send({"type": "http.response.body", "body": f"{number}\n".encode()})
    await send({"type": "http.response.body", "body": b""})


answer(
    COUNT,
    False,
    "asgi.send-after-complete",
    "body should be b'1\\n2\\n3\\n4\\n5\\n', got b'1\\n'",
    never=("came in 5", "came in 3"),
)(count_more_body_left_off)


# -- lesson 06: count requests in lifespan state ------------------------------------------------
def _lifespan_app(
    startup: Any, request: Any, *, complete: bool = True, encode: Any = lambda n: str(n).encode()
) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    startup(scope)
                    if complete:
                        await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "http":
            body = encode(request(scope))
            await send({"type": "http.response.start", "status": 200, "headers": TEXT})
            await send({"type": "http.response.body", "body": body})
        else:
            raise RuntimeError(scope["type"])

    return app


def _dict_start(scope: Any) -> None:
    scope["state"]["counter"] = {"count": 0}


def _dict_count(scope: Any) -> int:
    scope["state"]["counter"]["count"] += 1
    return scope["state"]["counter"]["count"]


def _list_start(scope: Any) -> None:
    scope["state"]["hits"] = []


def _list_count(scope: Any) -> int:
    scope["state"]["hits"].append(1)
    return len(scope["state"]["hits"])


answer(COUNTER, True, "scope['state']: the startup put the counter there")(
    _lifespan_app(_dict_start, _dict_count)
)
answer(COUNTER, True, "after a restart")(_lifespan_app(_list_start, _list_count))


def _counting_start(scope: Any) -> None:
    scope["state"]["numbers"] = itertools.count(1)  # a mutable object: survives the copy


answer(COUNTER, True, "scope['state']: the startup put the counter there")(
    _lifespan_app(_counting_start, lambda scope: next(scope["state"]["numbers"]))
)


def _scope_start(scope: Any) -> None:
    scope["counter"] = {"count": 0}  # the lifespan scope itself: no request sees it


def _scope_count(scope: Any) -> int:
    scope["counter"]["count"] += 1  # KeyError: each request has a scope of its own
    return int(scope["counter"]["count"])


answer(
    COUNTER,
    False,
    "app.raised",
    "KeyError: 'counter'",
    "State lives in scope['state']",
    "copies the lifespan scope's scope['state'] into each request's scope",
    never=("a global variable?", "see the rows that name the problems"),
)(_lifespan_app(_scope_start, _scope_count))


answer(
    COUNTER,
    False,
    "got b'\\x00'",
    "bytes(n) makes n zero bytes",
    "str(n).encode()",
)(_lifespan_app(_dict_start, _dict_count, encode=bytes))  # bytes(1) == b'\x00', not b'1'
counter_zero_bytes = ANSWERS[-1]


def _rebinding_start(scope: Any) -> None:
    scope["state"] = {"counter": {"count": 0}}  # a new dict: the server copies its own


counter_rebinds_state = answer(
    COUNTER,
    False,
    "the startup replaced it with a dict of its own",
    "scope['state']['counter'] = {'count': 0}",
    never=("a global variable?", "asgi.lifespan-state-replaced on"),
)(_lifespan_app(_rebinding_start, _dict_count))


class CounterClass:
    """A class instance whose counter is an object put in the state at startup."""

    class Box:
        value = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            scope["state"]["box"] = self.Box()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        box = scope["state"]["box"]
        box.value += 1
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": str(box.value).encode()})


answer(COUNTER, True, "lifespan shutdown")(CounterClass())

GLOBAL = {"count": 0}


def _global_start(scope: Any) -> None:
    GLOBAL["count"] = 0  # reset at startup: passes a restart, misses the point


def _global_count(scope: Any) -> int:
    GLOBAL["count"] += 1
    return GLOBAL["count"]


answer(COUNTER, False, "left it empty", "global variable")(
    _lifespan_app(_global_start, _global_count)
)


def _int_start(scope: Any) -> None:
    scope["state"]["count"] = 0


def _int_count(scope: Any) -> int:
    scope["state"]["count"] += 1  # lost: each request has a shallow copy
    return scope["state"]["count"]


answer(COUNTER, False, "shallow copy")(_lifespan_app(_int_start, _int_count))

answer(
    COUNTER,
    False,
    "never answered it",
    "requests were not judged",
    never=("KeyError",),
)(_lifespan_app(_dict_start, _dict_count, complete=False))


async def counter_returns_for_lifespan(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    state = scope.setdefault("state", {})
    state["count"] = state.get("count", 0) + 1
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": str(state["count"]).encode()})


answer(COUNTER, False, "lifespan startup: the app never received 'lifespan.startup'")(
    counter_returns_for_lifespan
)


async def counter_no_shutdown(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        scope["state"]["counter"] = {"count": 0}
        await send({"type": "lifespan.startup.complete"})
        return
    counter = scope["state"]["counter"]
    counter["count"] += 1
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": str(counter["count"]).encode()})


answer(COUNTER, False, "never received 'lifespan.shutdown'")(counter_no_shutdown)


async def counter_str_body(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            scope["state"]["counter"] = {"count": 0}
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": str(_dict_count(scope))})


answer(COUNTER, False, "asgi.body-not-bytes")(counter_str_body)


async def counter_no_return(scope: Any, receive: Any, send: Any) -> None:
    """No `return` after lifespan.shutdown.complete: the while True loop goes on."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["counter"] = {"count": 0}
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": str(_dict_count(scope)).encode()})
    else:
        raise RuntimeError(scope["type"])


answer(COUNTER, False, "then kept running", "`return` right after sending")(counter_no_return)


async def counter_startup_typo(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["counter"] = {"count": 0}
                await send({"type": "lifespan.startup.completed"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": str(_dict_count(scope)).encode()})


answer(
    COUNTER,
    False,
    "asgi.lifespan-bad-reply",
    "the app's reply was not 'lifespan.startup.complete'",
    never=("never answered it",),
)(counter_startup_typo)
