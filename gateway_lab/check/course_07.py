"""The exercises of notebook 07 (ASGI realtime), checked with ``gl.exercise(name)``.

Theory of operation: this module is only the lesson's data. One exercise is
plain data on the generic :class:`~.exercises.Exercise`; two need a client
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
  (see :mod:`.looplag`) catches an answer that still blocks.
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

# Names imported ``as`` themselves are re-exports: they were defined here
# before the checkers moved to modules of their own, and stay importable.
from .connection_runner import NOT_IMPLEMENTED as NOT_IMPLEMENTED
from .exercises import Case, Exercise, register
from .stream_exercise import LeavingClient, StreamUntilDisconnectExercise
from .websocket_exercise import AFTER_LEAVING_POLL as AFTER_LEAVING_POLL
from .websocket_exercise import ASGI_WS as ASGI_WS
from .websocket_exercise import (
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
    "StreamUntilDisconnectExercise",
    "WebSocketExercise",
]


ASGI_NO_BLOCKING = register(
    Exercise(
        "asgi-no-blocking",
        kind="asgi",
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
