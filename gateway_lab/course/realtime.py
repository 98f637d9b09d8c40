"""The exercises of notebook 07 (ASGI realtime), checked with ``gl.exercise(name)``.

Theory of operation: this module is mostly the lesson's data. One exercise
is the generic :class:`~.exercises.Exercise` with a small addition
(:class:`OffloadExercise`, below); two need a client
that does more than send one request and read one answer, and use the
kinds of exercise built for that: a
:class:`~.stream_exercise.StreamUntilDisconnectExercise` (a client that
hangs up in the middle of a stream) and a
:class:`~.websocket_exercise.WebSocketExercise` (scripted WebSocket
conversations). Both run the app on a fresh event loop in a worker thread,
bounded by ``timeout`` (:mod:`.connection_runner`): an app that never
returns is reported, never waited for.

* ``asgi-no-blocking``: a lookup app that calls a slow *synchronous*
  function, fixed so that the event loop stays free (``asyncio.to_thread``
  or ``loop.run_in_executor``). The checker's ``asgi.blocking-call`` rule
  (see :mod:`.looplag`) catches an answer that still blocks. While the
  check runs, every call of the app's ``slow_lookup`` is counted (its code
  is swapped for code that counts and forwards, and put back afterwards, so
  a call through ``functools.partial`` or a default argument counts too), so
  an answer that skips the slow function, say ``word.upper()``, is named.
  Two slips of the fix get their own line:
  ``asyncio.to_thread(slow_lookup(word))`` (a call where the function
  belongs: a ``TypeError`` "... is not callable") and a missing ``await``
  (a coroutine from ``to_thread``, or a ``Future`` from ``run_in_executor``,
  where the text should be). A pass says what the exercise is about: the
  loop never stalled for more than :data:`BLOCKING_MS` while the slow
  function ran.
* ``asgi-sse-until-disconnect``: a server-sent-events ticker that runs until
  the client hangs up, and then stops. The client reads three events and
  leaves, which tells an app that listens for ``http.disconnect`` from one
  that keeps streaming to nobody, or that stalls by awaiting ``receive()``
  in its loop.
* ``asgi-ws-numbered-echo``: a WebSocket app that numbers its echoes and
  closes on "bye"; a second conversation checks that the count starts again
  for each connection and that the app returns when the client just leaves.

Reference solutions: ``notebooks/solutions/asgi_no_blocking.py``,
``asgi_sse_until_disconnect.py`` and ``asgi_ws_numbered_echo.py``.
"""

from __future__ import annotations

import contextlib
import functools
import types
from collections.abc import Iterator
from typing import Any

from gateway_lab.check.report import Report
from gateway_lab.check.validate import check_asgi
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.framework import Exercise, register

# Names imported ``as`` themselves are re-exports: they were defined here
# before the checkers moved to modules of their own, and stay importable.
from gateway_lab.exercises.runner import NOT_IMPLEMENTED as NOT_IMPLEMENTED
from gateway_lab.exercises.stream import LeavingClient, StreamUntilDisconnectExercise
from gateway_lab.exercises.websocket import AFTER_LEAVING_POLL as AFTER_LEAVING_POLL
from gateway_lab.exercises.websocket import (
    Conversation,
    ScriptedWebSocket,
    WebSocketExercise,
)
from gateway_lab.types import AnyApp

__all__ = [
    "ASGI_NO_BLOCKING",
    "ASGI_SSE_UNTIL_DISCONNECT",
    "ASGI_WS_NUMBERED_ECHO",
    "Conversation",
    "ScriptedWebSocket",
    "LeavingClient",
    "OffloadExercise",
    "StreamUntilDisconnectExercise",
    "WebSocketExercise",
]


BLOCKING_MS = 50.0  # a stall longer than this, inside the app's code, is blocking
_HOOK = "__gateway_lab_counted__"  # the global a counting function's code calls
_FORWARD = compile(f"def forward(*args, **kwargs):\n    return {_HOOK}(args, kwargs)\n", "", "exec")


@contextlib.contextmanager
def _counting(function: Any, calls: list[object]) -> Iterator[Any]:
    """Count every call of ``function`` while the block runs; yield a callable to put in
    its place as well.

    An answer may hold the function under another name before the check starts
    (``functools.partial(slow_lookup)``, a default argument, a wrapper built once), so
    replacing the global name alone would miss those calls and call a right answer wrong.
    A plain function's own code is swapped for code that counts and forwards to a copy of
    the original, and swapped back afterwards. Anything else (a closure, a builtin, a
    callable object) is counted through the name only.
    """

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return function(*args, **kwargs)

    code = getattr(function, "__code__", None)
    if not isinstance(function, types.FunctionType) or code is None or code.co_freevars:
        yield functools.wraps(function)(counted)
        return
    copy = types.FunctionType(
        code, function.__globals__, function.__name__, function.__defaults__, None
    )
    copy.__kwdefaults__ = function.__kwdefaults__

    def hook(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        calls.append(args)
        return copy(*args, **kwargs)

    forward: dict[str, Any] = {}
    exec(_FORWARD, forward)  # noqa: S102 - our own two lines, compiled above
    function.__globals__[_HOOK] = hook
    function.__code__ = forward["forward"].__code__
    try:
        yield function  # the name keeps the function itself: it counts now
    finally:
        function.__code__ = code
        if function.__globals__.get(_HOOK) is hook:
            del function.__globals__[_HOOK]


class OffloadExercise(Exercise):
    """Run a slow synchronous function off the event loop: cases, plus proof that it ran.

    ``function`` names the app's global (``slow_lookup``) that must do the
    work; it is counted while the check runs. Apps without such a global
    (a class, a function from elsewhere) are checked on their cases alone.
    """

    def __init__(
        self,
        name: str,
        cases: list[Case],
        *,
        function: str,
        title: str = "",
        timeout: float = 2.0,
    ) -> None:
        super().__init__(name, kind="asgi", cases=cases, title=title, timeout=timeout)
        self.function = function
        self._calls: int | None = None  # how often the last check's app called it

    def _run(self, app: AnyApp) -> Report:
        self._calls = None
        namespace = getattr(app, "__globals__", None)
        original = namespace.get(self.function) if isinstance(namespace, dict) else None
        if not callable(original):
            return self._checked(app)
        calls: list[object] = []
        with _counting(original, calls) as counted:
            namespace[self.function] = counted  # type: ignore[index]
            try:
                return self._checked(app)
            finally:
                if namespace.get(self.function) is counted:  # type: ignore[union-attr]
                    namespace[self.function] = original  # type: ignore[index]
                self._calls = len(calls)

    def _checked(self, app: AnyApp) -> Report:
        probes = [case.probe() for case in self.cases]
        return check_asgi(
            app,
            probes,
            timeout=self.timeout,
            lifespan=False,
            websocket=False,
            blocking_ms=BLOCKING_MS,
        )

    def _extra_lines(self, report: Report) -> list[tuple[str, str]]:
        raised = [f.message for f in report.findings if f.rule == "app.raised"]
        name = self.function
        lines: list[tuple[str, str]] = []
        if any(
            "TypeError" in m and "not callable" in m and ("to_thread" in m or "executor" in m)
            for m in raised
        ):
            lines.append(
                (
                    "✗",
                    f"asyncio.to_thread({name}(word)) calls {name} right away, on the event "
                    f"loop, and hands its result to to_thread. Pass the function and its "
                    f"arguments: asyncio.to_thread({name}, word)",
                )
            )
        future = any("Future' object" in m for m in raised)
        forgot_await = future or any("'coroutine' object" in m for m in raised)
        if forgot_await:
            made = (
                "loop.run_in_executor(...) returns a Future"
                if future
                else "asyncio.to_thread(...) returns a coroutine"
            )
            lines.append(
                (
                    "✗",
                    f"missing await: {made}, a promise of the result, not the result; the app "
                    "then used it where the answer's text should be (hence the error below). "
                    f"Write answer = await asyncio.to_thread({name}, word) (or "
                    f"answer = await loop.run_in_executor(None, {name}, word))",
                )
            )
        answered = any(response is not None for response in report.responses)
        if self._calls == 0 and answered and not forgot_await:
            lines.append(
                (
                    "✗",
                    f"the app never called {name}: the answer must come from {name}(word), "
                    f"run in a thread (await asyncio.to_thread({name}, word)), not from code "
                    "that stands in for it",
                )
            )
        blocked = "asgi.blocking-call" in report.rules()
        if self._calls != 0 and answered and not blocked and not raised:
            ran = f"{name} ran {self._calls} time(s), and " if self._calls else ""
            lines.append(
                (
                    "✓",
                    f"the event loop stayed free: {ran}the loop never stalled for more than "
                    f"{BLOCKING_MS:g} ms while the app answered",
                )
            )
        return lines


ASGI_NO_BLOCKING = register(
    OffloadExercise(
        "asgi-no-blocking",
        function="slow_lookup",
        title="Keep the event loop free (ASGI)",
        cases=[
            Case("GET /?word=ada", contains="ADA", says="the word, looked up"),
            Case("GET /?word=loop", contains="LOOP", says="another word"),
        ],
    )
)


ASGI_SSE_UNTIL_DISCONNECT = register(
    StreamUntilDisconnectExercise(
        "asgi-sse-until-disconnect",
        title="Tick until the client leaves (ASGI)",
        leave_after=3,
    )
)


ASGI_WS_NUMBERED_ECHO = register(
    WebSocketExercise(
        "asgi-ws-numbered-echo",
        title="A numbered echo over a WebSocket (ASGI)",
        conversations=[
            Conversation(
                "client says bye",
                ["hello", "héllo wörld", "bye"],
                [["1: hello"], ["2: héllo wörld"], ["goodbye"]],
                closes_after=2,
            ),
            Conversation(
                "client just leaves",
                ["ping"],
                [["1: ping"]],
                leave_code=1001,
            ),
        ],
    )
)
