"""The exercises of notebook 07 (ASGI realtime), checked with ``gl.exercise(name)``.

Theory of operation: this module is the lesson's data. Each exercise needs
more than the generic :class:`~.exercises.Exercise` and uses the kind of
exercise built for it: an :class:`~.exercises.offload.OffloadExercise`
(requests, plus proof that the slow function ran), a
:class:`~.exercises.stream.StreamUntilDisconnectExercise` (a client that
hangs up in the middle of a stream) and a
:class:`~.exercises.websocket.WebSocketExercise` (scripted WebSocket
conversations). The last two run the app on a fresh event loop in a worker
thread, bounded by ``timeout`` (:mod:`.exercises.runner`): an app that never
returns is reported, never waited for.

* ``asgi-no-blocking``: a lookup app that calls a slow *synchronous*
  function, fixed so that the event loop stays free (``asyncio.to_thread``
  or ``loop.run_in_executor``). The checker's ``asgi.blocking-call`` rule
  catches an answer that still blocks; every call of the app's
  ``slow_lookup`` is counted, so an answer that skips the slow function,
  say ``word.upper()``, is named; one that runs it in a process pool, where
  calls cannot be counted, passes on its answers and a free loop.
* ``asgi-sse-until-disconnect``: a server-sent-events ticker that sends
  ``data: tick 1``, ``data: tick 2``, ... one every 0.05 s until the client
  hangs up, and then stops. The client reads three events and leaves, which
  tells an app that listens for ``http.disconnect`` from one that keeps
  streaming to nobody, or that stalls by awaiting ``receive()`` in its loop;
  the events' text and their spacing in time are checked too.
* ``asgi-ws-numbered-echo``: a WebSocket app that numbers its echoes and
  closes on "bye"; a second conversation checks that the count starts again
  for each connection and that the app returns when the client just leaves.

Reference solutions: ``notebooks/solutions/asgi_no_blocking.py``,
``asgi_sse_until_disconnect.py`` and ``asgi_ws_numbered_echo.py``.
"""

from __future__ import annotations

from gateway_lab.exercises.case import Case
from gateway_lab.exercises.framework import register
from gateway_lab.exercises.offload import BLOCKING_MS as BLOCKING_MS
from gateway_lab.exercises.offload import OffloadExercise

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
        data="tick {}",
        pause=0.05,
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
