"""``wsgi.input`` for the checker: a body that arrives in pieces and is watched.

Theory of operation: a real server hands the app a stream over the socket.
That stream has no end-of-file mark: a read that asks for more bytes than
``CONTENT_LENGTH`` waits for bytes the client will never send, and the
request hangs (PEP 3333, "Input and Error Streams"). This stream answers
like a well-behaved server (it stops at the end of the body, so the check
never hangs) but it *notes* every call, so the checker can say "you asked
for 8192 bytes when 30 were left". Reads return exactly what was asked, up
to the end of the body, as a buffered socket file would. ``read()``,
``read(-1)`` and ``read(None)`` all ask for everything up to end-of-file
(a size of None); ``readline()`` is noted as a line read, which goes past
the body only when no newline is left in it. Closing either stream is
noted too: the streams belong to the server.

It offers what PEP 3333 lists (``read``, ``readline``, ``readlines``,
``__iter__``) and ``readinto`` (werkzeug's ``LimitedStream`` uses it).

``wsgi.errors`` is the other stream: a *text* stream (PEP 3333), so the
checker's version notes a write of bytes instead of failing on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["WatchedErrors", "WatchedInput"]

# note(call, asked, left, got, past): called after each read; ``past`` is True
# when, on a socket, the read would have waited for bytes after the body.
Note = Callable[[str, "int | None", int, int, bool], None]


def _noop() -> None:
    pass


class WatchedInput:
    """A byte stream over ``body`` that reports every read to ``note``."""

    def __init__(self, body: bytes, note: Note, closed: Callable[[], None] = _noop) -> None:
        self._body = body
        self._pos = 0
        self._note = note
        self._closed = closed

    @property
    def left(self) -> int:
        return len(self._body) - self._pos

    def _take(self, size: int | None) -> bytes:
        end = len(self._body) if size is None or size < 0 else self._pos + size
        data = self._body[self._pos : end]
        self._pos += len(data)
        return data

    def read(self, size: int | None = -1, *extra: Any) -> bytes:
        left = self.left
        asked = None if size is None or (isinstance(size, int) and size < 0) else int(size)
        data = self._take(asked)
        call = f"read({size!r})" if size is not None and asked is None else "read()"
        past = asked is None or asked > left
        self._note(call if asked is None else f"read({asked})", asked, left, len(data), past)
        return data

    def readinto(self, buffer: Any) -> int:
        left = self.left
        view = memoryview(buffer).cast("B")
        data = self._take(len(view))
        view[: len(data)] = data
        self._note(f"readinto({len(view)})", len(view), left, len(data), len(view) > left)
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        left = self.left
        newline = self._body.find(b"\n", self._pos)
        end = len(self._body) if newline < 0 else newline + 1
        asked = None if size is None or size < 0 else int(size)
        if asked is not None:
            end = min(end, self._pos + asked)
        data = self._body[self._pos : end]
        self._pos += len(data)
        ended = data.endswith(b"\n") or (asked is not None and len(data) == asked)
        call = "readline()" if asked is None else f"readline({asked})"
        # a line that ended (a newline, or the size reached) did not ask past the body
        self._note(call, asked, left, len(data), not ended)
        return data

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines = []
        total = 0
        while self.left:
            line = self.readline()
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while self.left:
            yield self.readline()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._closed()


class WatchedErrors:
    """``wsgi.errors``: keeps the text, reports anything written that is not a str."""

    def __init__(
        self, note_wrong: Callable[[Any], None], closed: Callable[[], None] = _noop
    ) -> None:
        self.text: list[str] = []
        self._note_wrong = note_wrong
        self._closed = closed

    def write(self, data: Any) -> int:
        if not isinstance(data, str):
            self._note_wrong(data)
            data = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        self.text.append(data)
        return len(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._closed()
