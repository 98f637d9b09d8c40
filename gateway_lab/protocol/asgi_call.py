"""Call an ASGI app directly: no socket, no thread, no server, and bounded.

Theory of operation: ``call_asgi`` builds an ``http`` scope, gives the app a
``receive`` that delivers the body in one ``http.request`` message (then
waits, and reports ``http.disconnect`` once the response is complete), and a
``send`` that collects ``http.response.start`` and ``http.response.body``
messages. The order of those messages is judged by the shared tables of
:mod:`gateway_lab.protocol.asgi`, so a mistake reads here as it does in the
servers and the checker. Under a running event loop (a notebook cell) it
returns an awaitable: ``resp = await gl.call_asgi(app)``. With no loop
running (a plain script) it runs the app to completion itself. Both paths
run on the calling thread, so they also work where threads are not allowed
(JupyterLite).

Two bounds keep a runaway app from wedging or filling the kernel, and
either one raises :class:`~gateway_lab.errors.CallLimitExceeded` saying
which bound was hit, how much had arrived, and how to raise it:

* ``timeout`` (seconds, default 5): checked by the loop while the app
  awaits, by ``send``/``receive`` on every call (an app that streams
  forever never lets the loop run), and, on the main thread, by a
  ``SIGALRM`` interval timer that raises inside the app when it blocks the
  loop (``time.sleep``, a busy loop). Where signals are unavailable (not the
  main thread, Windows, JupyterLite) a blocking app overruns the limit by
  as long as it blocks.
* ``max_body`` (bytes, default 8 MiB): the response body kept in memory.

The learner's own exception propagates unchanged (its traceback points at
their line). Breaches of the protocol raise :class:`ProtocolError` with a
sentence saying what to change.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from gateway_lab import specs
from gateway_lab.errors import CallLimitExceeded, ProtocolError
from gateway_lab.interface.appkind import ensure_asgi_app
from gateway_lab.interface.environ import HeadersLike, make_http_scope
from gateway_lab.interface.response import Response
from gateway_lab.protocol.asgi import FINAL, INITIAL, ending, message_key, step
from gateway_lab.protocol.response_fields import field_problem
from gateway_lab.types import ASGIApp, Message

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_TIMEOUT",
    "PendingCall",
    "ProtocolError",
    "acall_asgi",
    "call_asgi",
]

DEFAULT_TIMEOUT = 5.0  # seconds
DEFAULT_MAX_BODY = 8 * 1024 * 1024  # bytes of response body
_RECHECK = 0.05  # seconds: the alarm fired outside the app; look again this soon
_GRACE = 0.05  # seconds past the deadline before the alarm interrupts a blocking app


class _Overrun(BaseException):
    """Raised inside an app that blocks the loop past the deadline (not an Exception,
    so the app's own ``except Exception`` cannot swallow it)."""


class _Exit(Exception):
    """Carries an app's ``SystemExit`` / ``KeyboardInterrupt`` out of its task: raised
    as themselves inside a task, asyncio re-raises them out of the event loop (in a
    notebook, the kernel's)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


async def _contained(awaitable: Awaitable[None]) -> None:
    try:
        await awaitable
    except (SystemExit, KeyboardInterrupt) as exc:
        raise _Exit(exc) from None


def _size(count: float) -> str:
    if count >= 1 << 20:
        return f"{count / (1 << 20):.1f} MiB"
    return f"{count:.0f} bytes"


class _Call:
    """One in-process call: the ``receive`` and ``send`` the app is given, and its bounds."""

    def __init__(self, body: bytes, timeout: float, max_body: int) -> None:
        self.body = body
        self.timeout = timeout
        self.max_body = max_body
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.state = INITIAL["http"]
        self.delivered = False
        self.done = asyncio.Event()
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit_hit: CallLimitExceeded | None = None
        self.blocked = False  # the alarm had to stop the app
        self.sends = 0  # send(...) calls the app made
        self.sends_run = 0  # ... and those it awaited (a forgotten await never runs)

    # -- the bounds ------------------------------------------------------------------------
    def over_time(self) -> CallLimitExceeded:
        took = time.monotonic() - self.started
        if self.blocked:
            why = (
                "It blocked the event loop (a time.sleep(), a loop that never awaits, a "
                "blocking library call), so the call interrupted it."
            )
        elif self.state in ("started", "streaming"):
            why = f"It was still sending its body ({_size(self.size)} so far)."
        elif self.delivered:
            why = (
                "Is it awaiting receive() again after the body arrived, or sleeping? (A "
                "plain call ends when the app returns.)"
            )
        else:
            why = "It never called receive() or send()."
        self.limit_hit = CallLimitExceeded(
            f"The app did not finish within {self.timeout:g} s (timeout={self.timeout:g}); "
            f"the call stopped it after {took:.1f} s. {why} If it really needs longer, "
            f"raise the limit: gl.call_asgi(app, timeout={max(10, 4 * self.timeout):g}).",
            "timeout",
            self.timeout,
            took,
        )
        return self.limit_hit

    def over_size(self) -> CallLimitExceeded:
        self.limit_hit = CallLimitExceeded(
            f"The app's response body passed the call's cap of {_size(self.max_body)} "
            f"(max_body={self.max_body}): {_size(self.size)} had arrived when the call "
            f"stopped it. An app that streams forever never ends on its own; if the body "
            f"is meant to be this big, raise the cap: "
            f"gl.call_asgi(app, max_body={4 * self.max_body}).",
            "max_body",
            self.max_body,
            self.size,
        )
        return self.limit_hit

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise self.limit_hit or self.over_time()

    # -- what the app calls ----------------------------------------------------------------
    async def receive(self) -> Message:
        self.check_time()
        if not self.delivered:
            self.delivered = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.done.wait()
        return {"type": "http.disconnect"}

    def send(self, message: Message) -> Awaitable[None]:
        self.sends += 1  # counted when called: a send(...) not awaited never runs below
        return self.deliver(message)

    def unawaited(self) -> str:
        """The sentence for send(...) calls the app never awaited ("" if none)."""
        missed = self.sends - self.sends_run
        if missed <= 0:
            return ""
        times = "once" if missed == 1 else f"{missed} times"
        return (
            f"The app called send(...) without `await` ({times}): a call that is not "
            "awaited only makes a coroutine, so that message was never sent. Write "
            "`await send({...})` for every message."
        )

    async def deliver(self, message: Message) -> None:
        self.sends_run += 1
        self.check_time()
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ProtocolError(
                "send() takes a dict with a 'type' key, such as {'type': "
                f"'http.response.start', 'status': 200}}, not {message!r:.60}. "
                f"See {specs.ASGI_EVENTS}"
            )
        key = message_key(message)
        following, problem = step("http", self.state, key)
        if problem:
            raise ProtocolError(" ".join(filter(None, [self.unawaited(), problem])))
        if key == "http.response.start":
            self.start(message)
        else:
            self.add_body(message)
        self.state = following
        if self.state in FINAL["http"]:
            self.done.set()
        else:
            await asyncio.sleep(0)  # a real server yields while the socket drains; so do we

    def start(self, message: Message) -> None:
        problem = field_problem(message)
        if problem:
            raise ProtocolError(problem)
        self.status = message["status"]
        for name, value in message.get("headers", []):
            self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def add_body(self, message: Message) -> None:
        problem = field_problem(message)
        if problem:
            raise ProtocolError(problem)
        data = message.get("body", b"")
        self.size += len(data)
        if self.size > self.max_body:
            raise self.over_size()
        self.chunks.append(data)

    # -- running the app -------------------------------------------------------------------
    async def run(self, app: ASGIApp, scope: dict[str, Any]) -> Response:
        task = asyncio.ensure_future(_contained(app(scope, self.receive, self.send)))
        try:
            with _interrupt_when_blocked(task, self.deadline, self):
                await asyncio.wait({task}, timeout=max(0.0, self.deadline - time.monotonic()))
        finally:
            if not task.done():
                task.cancel()  # the loop timed out while the app awaited something
        if not task.done():
            await asyncio.wait({task}, timeout=0.5)  # let it run its finally blocks
            raise self.limit_hit or self.over_time()
        if task.cancelled():
            raise self.limit_hit or self.over_time()
        failure = task.exception()
        if self.limit_hit is not None:
            raise self.limit_hit from None  # whatever the app made of it, this is why
        if isinstance(failure, _Overrun):
            raise self.over_time() from None
        if isinstance(failure, _Exit):
            raise failure.original  # the learner's SystemExit, raised here, not in the loop
        if failure is not None:
            raise failure
        return self.response()

    def response(self) -> Response:
        wrong = ending("http", self.state)
        if wrong is not None:
            raise ProtocolError(" ".join(filter(None, [self.unawaited(), wrong.sentence()])))
        assert self.status is not None
        return Response(self.status, self.headers, b"".join(self.chunks))


@contextmanager
def _interrupt_when_blocked(
    task: asyncio.Future[Any], deadline: float, call: _Call
) -> Iterator[None]:
    """On the main thread, raise :class:`_Overrun` inside ``task`` if it blocks past ``deadline``.

    A ``SIGALRM`` handler runs between two bytecodes of whatever the main
    thread is doing. It raises only when that is the app's own task (so it can
    never land in the kernel's code); otherwise it looks again shortly. A
    timer someone else had set (a test runner's) is kept: its handler runs
    when it is due, and what is left of it is set again afterwards.
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield  # no signals here: the loop's timeout and send/receive's checks only
        return
    previous = signal.getsignal(signal.SIGALRM)
    their_delay, their_interval = signal.getitimer(signal.ITIMER_REAL)
    theirs = [time.monotonic() + their_delay] if their_delay > 0 else []  # still due
    ours = deadline + _GRACE  # the loop's own timeout, when it can run, comes first

    def arm(now: float) -> None:
        due = min([ours, *theirs])
        signal.setitimer(signal.ITIMER_REAL, max(due - now, 0.001))

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if theirs and now >= theirs[0]:
            theirs.clear()
            if callable(previous):
                previous(signum, frame)  # their timer (it may raise, as a test runner's does)
        try:
            current = asyncio.current_task()
        except RuntimeError:
            current = None
        if now >= ours and current is task and not task.done():
            call.blocked = True
            raise _Overrun()
        if task.done():
            return
        if now < ours:
            arm(now)
        else:
            signal.setitimer(signal.ITIMER_REAL, _RECHECK)

    signal.signal(signal.SIGALRM, on_alarm)
    try:
        arm(time.monotonic())
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if theirs:  # give them back what is left of their timer
            left = max(theirs[0] - time.monotonic(), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, their_interval)


async def acall_asgi(
    app: ASGIApp,
    method: str = "GET",
    path: str = "/",
    headers: HeadersLike = None,
    body: bytes = b"",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = DEFAULT_MAX_BODY,
) -> Response:
    """Call an ASGI app in-process on the running loop (``await`` it)."""
    ensure_asgi_app(app, "call_asgi")
    scope = make_http_scope(method, path, headers)
    return await _Call(body, timeout, max_body).run(app, scope)


class PendingCall:
    """An ASGI call waiting to be awaited (returned inside a running loop)."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Response]], description: str) -> None:
        self._make = make
        self._description = description

    def __await__(self) -> Generator[Any, None, Response]:
        return self._make().__await__()

    def __repr__(self) -> str:
        return (
            f"<not run yet: {self._description}. In a notebook, write "
            f"`await gl.call_asgi(...)` to run it and get the response.>"
        )


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def call_asgi(
    app: ASGIApp,
    method: str = "GET",
    path: str = "/",
    headers: HeadersLike = None,
    body: bytes = b"",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = DEFAULT_MAX_BODY,
) -> Response | PendingCall:
    """Call an ASGI app in-process.

    In a notebook (an event loop is running): ``resp = await gl.call_asgi(app)``.
    In a plain script: ``resp = gl.call_asgi(app)`` runs it and returns the
    :class:`Response`. ``timeout`` (seconds) and ``max_body`` (bytes) bound
    the call; passing either raises :class:`~gateway_lab.errors.CallLimitExceeded`.
    """
    ensure_asgi_app(app, "call_asgi")

    def make() -> Coroutine[Any, Any, Response]:
        return acall_asgi(app, method, path, headers, body, timeout=timeout, max_body=max_body)

    if _loop_running():
        return PendingCall(make, f"{method} {path} on {getattr(app, '__name__', app)!r}")
    return asyncio.run(make())
