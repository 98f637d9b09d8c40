"""Offload exercises: a slow synchronous function, run off the event loop, proven to have run.

Theory of operation: an :class:`OffloadExercise` is the generic
:class:`~.framework.Exercise` (its cases are requests and what the answers
must show; ``check_asgi`` with a ``blocking_ms`` threshold catches a loop
that still stalls) plus proof that the app's ``function`` (say
``slow_lookup``) did the work:

* While the check runs, every call of the function is counted (its code is
  swapped for code that counts and forwards, and put back afterwards, so a
  call through ``functools.partial`` or a default argument counts too:
  :func:`_counting`). An answer that skips the function, say
  ``word.upper()``, is named.
* A call in another process (a ``ProcessPoolExecutor``) cannot be counted:
  the child has its own copy of the counter. So the app's code is read as
  well (:func:`~gateway_lab.exercises.reach.reachable`: its own code,
  nested functions, and the plain functions it names, two calls deep): an
  app that names the function and hands work to a process pool, and whose
  answers are right while the loop stayed free, passes, and is told why its
  calls were not counted.
* The checker's ``asgi.blocking-call`` finding, when the stall is inside the
  function itself, gets this exercise's advice instead of the general one
  ("use the async version"): the function must not change, so run it in a
  thread; and an ``async def`` wrapper around it is named, since wrapping a
  call in ``async def`` does not stop it blocking.
* Two slips of the fix get a line of their own, quoting the call the app
  made: ``asyncio.to_thread(slow_lookup(word))`` or
  ``loop.run_in_executor(None, slow_lookup(word))`` (a call where the
  function belongs: a ``TypeError`` "... is not callable"), and a missing
  ``await`` (a coroutine from ``to_thread``, or a ``Future`` from
  ``run_in_executor``, where the text should be; Python's own "never
  awaited" warning is silenced, since the row says it).
* A stall on ``pool.submit(...).result()`` is told that the function did run
  in a thread but ``.result()`` waited for it on the loop, and how to await
  the future instead.

A pass says what the exercise is about: the loop never stalled for more than
:data:`BLOCKING_MS` while the slow function ran.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import re
import types
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from gateway_lab.check.report import Report
from gateway_lab.check.validate import check_asgi
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.framework import Exercise
from gateway_lab.exercises.reach import reachable
from gateway_lab.types import AnyApp

__all__ = ["BLOCKING_MS", "OffloadExercise"]

BLOCKING_MS = 50.0  # a stall longer than this, inside the app's code, is blocking
_HOOK = "__gateway_lab_counted__"  # the global a counting function's code calls
_FORWARD = compile(f"def forward(*args, **kwargs):\n    return {_HOOK}(args, kwargs)\n", "", "exec")
# The blocking line the finding quotes waits on a pool's future: `pool.submit(f, x).result()`.
_WAITS_ON_RESULT = re.compile(r"`[^`]*\.result\(\s*\)[^`]*`")
_HANDS_OFF = ("to_thread", "run_in_executor", "submit")  # names of a hand-off to a pool


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


def _stands_for(function: object, value: object) -> bool:
    """Does ``value`` (something the app's code reaches) stand for ``function``?"""
    return value is function or (isinstance(value, functools.partial) and value.func is function)


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
        self._mentions = False  # the last app's code names the function
        self._process_pool = False  # ... and hands work to a process pool

    def _run(self, app: AnyApp) -> Report:
        with warnings.catch_warnings():
            # A coroutine from to_thread the answer forgot to await: a row names it, so
            # Python's own "was never awaited" warning would only repeat it, later.
            warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
            report = self._counted_run(app)
            gc.collect()  # that coroutine goes now, while the warning is ignored
        return report

    def _counted_run(self, app: AnyApp) -> Report:
        self._calls, self._mentions, self._process_pool = None, False, False
        namespace = getattr(app, "__globals__", None)
        original = namespace.get(self.function) if isinstance(namespace, dict) else None
        if not callable(original):
            return self._checked(app)
        calls: list[object] = []
        with _counting(original, calls) as counted:
            namespace[self.function] = counted  # type: ignore[index]
            try:
                report = self._checked(app)
            finally:
                if namespace.get(self.function) is counted:  # type: ignore[union-attr]
                    namespace[self.function] = original  # type: ignore[index]
                self._calls = len(calls)
        self._read(app, original, report)
        return report

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

    def _read(self, app: AnyApp, function: object, report: Report) -> None:
        """What the app's code says: does it name the function, use a process pool, wrap
        the function in ``async def``? The blocking finding gets this exercise's advice."""
        name = self.function
        reached = reachable(app)
        names = {n for code, _ in reached for n in code.co_names}
        values = [v for _, found in reached for v in found]
        self._mentions = name in names or any(_stands_for(function, v) for v in values)
        self._process_pool = "ProcessPoolExecutor" in names or any(
            isinstance(v, ProcessPoolExecutor) for v in values
        )
        wrappers = [  # an async def, not the app itself, that calls the function directly
            code.co_name
            for code, _ in reached[1:]
            if code.co_flags & inspect.CO_COROUTINE
            and name in code.co_names
            and not set(_HANDS_OFF) & set(code.co_names)
        ]
        for item in report.findings:
            if item.rule == "asgi.blocking-call" and _WAITS_ON_RESULT.search(item.message):
                item.hint = (
                    f"{name} does run in the pool's thread, but `.result()` waits for its "
                    "answer on the event loop, so the loop is held just the same. Await the "
                    f"future instead: answer = await asyncio.wrap_future(pool.submit({name}, "
                    f"word)), or answer = await loop.run_in_executor(pool, {name}, word)."
                )
                continue
            if item.rule != "asgi.blocking-call" or f"in {name}()" not in item.message:
                continue
            fix = f"answer = await asyncio.to_thread({name}, word)"
            if wrappers:
                item.hint = (
                    f"Wrapping the call in `async def {wrappers[0]}()` does not stop it "
                    f"blocking: an async def function runs on the event loop like the app "
                    f"itself, so {name}() still holds the loop. Run {name} in a thread "
                    f"instead: {fix}."
                )
            else:
                item.hint = (
                    f"Leave {name} as it is (it stands for a library call you cannot "
                    f"change) and run it in a thread where the app calls it: {fix} (or "
                    f"answer = await loop.run_in_executor(None, {name}, word))."
                )

    def _extra_lines(self, report: Report) -> list[tuple[str, str]]:
        raised = [f.message for f in report.findings if f.rule == "app.raised"]
        name = self.function
        lines: list[tuple[str, str]] = []
        early = next((m for m in raised if "TypeError" in m and "not callable" in m), None)
        if early is not None and ("to_thread" in early or "run_in_executor" in early):
            pool = re.search(r"run_in_executor\(\s*([^,()]+?)\s*,", early)
            if pool is not None:
                wrote = f"loop.run_in_executor({pool[1]}, {name}(word))"
                right = f"loop.run_in_executor({pool[1]}, {name}, word)"
                hands = "the pool"
            else:
                wrote, right = (
                    f"asyncio.to_thread({name}(word))",
                    f"asyncio.to_thread({name}, word)",
                )
                hands = "to_thread"
            lines.append(
                (
                    "✗",
                    f"{wrote} calls {name} right away, on the event loop, and hands its "
                    f"result to {hands}. Pass the function and its arguments: {right}",
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
                    "then used it where the answer's text should be (hence the app.raised "
                    "error above). "
                    f"Write answer = await asyncio.to_thread({name}, word) (or "
                    f"answer = await loop.run_in_executor(None, {name}, word))",
                )
            )
        answered = any(response is not None for response in report.responses)
        blocked = "asgi.blocking-call" in report.rules()
        elsewhere = self._calls == 0 and self._mentions and self._process_pool
        if elsewhere and answered and not blocked and not raised:
            lines.append(
                (
                    "✓",
                    f"the event loop stayed free: {name} ran in another process (a "
                    "ProcessPoolExecutor), where this check cannot count its calls; the "
                    f"answers came back and the loop never stalled for more than "
                    f"{BLOCKING_MS:g} ms",
                )
            )
        elif self._calls == 0 and answered and not forgot_await and not elsewhere:
            fix = f"run in a thread (await asyncio.to_thread({name}, word))"
            lines.append(
                (
                    "✗",
                    f"the check saw no call of {name} (if the app hands it to another "
                    f"process, this check cannot see it there): the answer must come from "
                    f"{name}(word), {fix}"
                    if self._mentions
                    else f"the app never called {name}: the answer must come from "
                    f"{name}(word), {fix}, not from code that stands in for it",
                )
            )
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
