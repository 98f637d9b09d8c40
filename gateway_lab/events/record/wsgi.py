"""The WSGI recorder: middleware that writes down one request at a time (PEP 3333).

Theory of operation: towards the app the recorder is the server, towards the
server it is the app, and everything passes through *unchanged*: the same
environ, the server's own ``start_response`` called with exactly the
arguments the app gave (so a wrong call fails with the server's own
message), the real ``write`` (wrapped only to take a note), the same list
body (so ``len()`` still works), a str, bytes, None or non-iterable body
handed on as it is (the server names that mistake), ``close()`` forwarded,
exceptions re-raised as they came. Events, in the order they happen::

    server -> app     environ          environ_payload(environ)
    app -> server     start_response   start_response_payload(args, kwargs)
    app -> server     write            body_payload(data)
    app -> server     return           return_payload(result)
    app -> server     body             body_payload(chunk)     (one per chunk)
    server -> app     close            {} (+ "cut": True if the server stopped early)
    app -> server     exception        exception_payload(...)  (+ "during": "close")

A list or tuple body is complete when returned, so its chunks are noted at
once; any other iterable is noted chunk by chunk as the server pulls it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from gateway_lab.events.kinds import BODY, CLOSE, ENVIRON, RETURN, START_RESPONSE, WRITE
from gateway_lab.events.payloads import (
    body_payload,
    environ_payload,
    return_payload,
    start_response_payload,
)
from gateway_lab.events.record.base import (
    Recorder,
    ServerRaised,
    Sinks,
    active,
    emit,
    enter,
    record_exception,
)
from gateway_lab.types import Environ, StartResponse

__all__ = ["WSGIRecorder"]


class _RecordedBody:
    """The app's iterable, passed through chunk by chunk, with notes taken."""

    __slots__ = (
        "_iterable",
        "_iterator",
        "_sinks",
        "_lane",
        "_server_lane",
        "_closed",
        "_raised",
        "_ended",
    )

    def __init__(
        self,
        iterable: Iterable[bytes],
        sinks: Sinks,
        lane: str,
        server_lane: str,
        raised: ServerRaised,
    ) -> None:
        self._iterable = iterable
        self._iterator: Iterator[bytes] | None = None
        self._sinks = sinks
        self._lane = lane
        self._server_lane = server_lane
        self._closed = False
        self._raised = raised
        self._ended = False  # the iterable was exhausted, or raised

    def __iter__(self) -> _RecordedBody:
        return self

    def __next__(self) -> bytes:
        # Inner recorders reached while we pull (a middleware that is a
        # generator) must see this layer as their server, as during the call.
        token = active.set((self._sinks, self._lane))
        try:
            if self._iterator is None:
                self._iterator = iter(self._iterable)
            chunk = next(self._iterator)
        except StopIteration:
            self._ended = True
            raise
        except BaseException as exc:
            self._ended = True
            record_exception(self._sinks, self._lane, self._server_lane, self._raised, exc)
            raise
        finally:
            active.reset(token)
        emit(self._sinks, self._lane, self._server_lane, BODY, body_payload(chunk))
        return chunk

    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]  # TypeError, as without us

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            # "cut": the server stopped pulling before the end (it gave up on the body)
            emit(self._sinks, self._server_lane, self._lane, CLOSE, {} if self._ended else _CUT)
        close = getattr(self._iterable, "close", None)
        if close is not None:
            token = active.set((self._sinks, self._lane))
            try:
                close()
            except BaseException as exc:
                record_exception(
                    self._sinks, self._lane, self._server_lane, self._raised, exc, during="close"
                )
                raise
            finally:
                active.reset(token)


_CUT = {"cut": True, "summary": "before the body's end"}


def _iterable(result: Any) -> bool:
    if result is None or isinstance(result, (str, bytes, bytearray)):
        return False
    return hasattr(result, "__iter__") or hasattr(result, "__getitem__")


class WSGIRecorder(Recorder):
    """WSGI middleware that records each request into :attr:`flow`."""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        sinks, server_lane = enter(self.flow, self.server_lane)
        lane = self.lane
        raised = ServerRaised()
        emit(sinks, server_lane, lane, ENVIRON, environ_payload(environ))

        def recording_start_response(*args: Any, **kwargs: Any) -> Any:
            emit(sinks, lane, server_lane, START_RESPONSE, start_response_payload(args, kwargs))
            try:
                write = start_response(*args, **kwargs)
            except BaseException as exc:
                exc_info = args[2] if len(args) > 2 else kwargs.get("exc_info")
                reraised = isinstance(exc_info, tuple) and len(exc_info) == 3 and exc is exc_info[1]
                if not reraised:  # PEP 3333's re-raise of exc_info is the app's own exception
                    raised.note(exc, "start_response")
                raise

            def recording_write(data: bytes) -> Any:
                emit(sinks, lane, server_lane, WRITE, body_payload(data))
                try:
                    return write(data)
                except BaseException as exc:
                    raised.note(exc, "write")
                    raise

            return recording_write

        token = active.set((sinks, lane))
        try:
            result: Iterable[bytes] = self.app(environ, recording_start_response)
        except BaseException as exc:
            record_exception(sinks, lane, server_lane, raised, exc)
            raise
        finally:
            active.reset(token)
        emit(sinks, lane, server_lane, RETURN, return_payload(result))
        if isinstance(result, (list, tuple)):
            # Already complete: note its chunks now and hand over the very same object.
            for chunk in result:
                emit(sinks, lane, server_lane, BODY, body_payload(chunk))
            return result
        if not _iterable(result):
            return result  # a mistake the server (or guard) will name; pass it on
        return _RecordedBody(result, sinks, lane, server_lane, raised)
