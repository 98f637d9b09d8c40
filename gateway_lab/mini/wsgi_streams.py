"""The two streams in every WSGI environ: ``wsgi.input`` and ``wsgi.errors``.

Theory of operation: PEP 3333 gives the app the request body as a file-like
object with four ways to read it (``read(size)``, ``readline()``,
``readlines()`` and iteration) and gives it somewhere to write error text.

``InputStream`` does not hold the body: it *pulls* it, one piece at a time,
from a function the server gives it (``pull()`` returns the next piece, or
``b""`` once the body ended). So a body is read from the socket when the
app reads it, and the server can answer ``Expect: 100-continue`` at the
moment of the first read. What the app leaves unread the server pulls in
just before the response head goes out (``preload``, kept for any later
read and bounded by the server's ``max_body_bytes``), because only a body
read to its end shows whether it was whole: a request whose body is broken
is refused, never answered as if it were complete. Because ``pull()`` stops
at the body's end, a read can never swallow the next request on a
kept-alive connection, and ``read()`` with no size is safe
(``wsgi.input_terminated`` is True).

``ErrorStream`` is a text stream whose every write lands in the server's log,
never on the notebook's stderr.

PEP 3333: https://peps.python.org/pep-3333/#input-and-error-streams
"""

from __future__ import annotations

from collections.abc import Callable

from gateway_lab.errors import RequestBodyTooLarge
from gateway_lab.serving.log import LogStream

__all__ = ["ErrorStream", "InputStream", "RequestBodyTooLarge"]


# ``wsgi.errors``: a text stream whose every write lands in the server log.
ErrorStream = LogStream


class InputStream:
    """``wsgi.input``: the request body, pulled from the connection as the app reads.

    ``pull()`` returns the next piece of the body, or ``b""`` once it ended.
    Reading never goes past the body, so the next request on a kept-alive
    connection stays intact.
    """

    def __init__(self, pull: Callable[[], bytes]) -> None:
        self._pull = pull
        self._buffer = bytearray()
        self._ended = False

    def _fill(self) -> bool:
        """Append one more piece of the body to the buffer; False at the end."""
        if self._ended:
            return False
        piece = self._pull()
        if not piece:
            self._ended = True
            return False
        self._buffer += piece
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def preload(self) -> None:
        """Pull the rest of the body into the buffer now; later reads still get all of it.

        The server calls this just before the response head goes out, so a
        body that turns out broken is refused instead of answered as if whole.
        """
        while self._fill():
            pass

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                end = newline + 1
                break
            if (size is not None and 0 <= size <= len(self._buffer)) or not self._fill():
                end = len(self._buffer)
                break
        if size is not None and size >= 0:
            end = min(end, size)
        return self._take(end)

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines, total = [], 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> InputStream:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line
