"""One client connection of the mini WSGI server, as h11 events over a blocking socket.

Theory of operation: the WSGI server (:mod:`gateway_lab.mini.wsgi`) never
touches bytes. A :class:`Channel` sits between it and the socket with an
``h11.Connection`` in the middle: :meth:`~Channel.next_event` receives bytes
until h11 can hand back an event (``Request``, ``Data``, ``EndOfMessage``),
within the idle timeout; :meth:`~Channel.queue` and :meth:`~Channel.send` turn
the server's events back into bytes. Everything HTTP/1.1 asks of the framing
is h11's work; what is left here is what a *server* must decide:

* **the request body**, pulled piece by piece only when the app reads
  ``wsgi.input`` (:meth:`~Channel.pull_body`), sending ``100 Continue`` first
  if the client waits for it, and counted against ``max_body_bytes``. How it
  ended is kept: whole, too large, malformed (broken chunked framing, or the
  client closed mid-body) or unfinished (the client fell silent);
* **refusals** (:meth:`~Channel.refuse`): a short explained response with
  ``Connection: close``, if a response can still start;
* **the polite close** (:meth:`~Channel.close`): stop sending, let the
  client's last bytes drain, then close, so the kernel does not answer unread
  bytes with a reset that could destroy our last response before it is read.

The socket may be any connected stream socket (a TCP connection, or one end
of ``socket.socketpair()`` in the byte-level tests).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import h11

from gateway_lab.errors import ConnectionAborted, RequestBodyTooLarge
from gateway_lab.mini.limits import Limits, reason_phrase, refusal_body
from gateway_lab.serving.log import ServerLog

__all__ = ["READ_SIZE", "Channel"]

READ_SIZE = 64 * 1024


class Channel:
    """h11 between a server and one client socket: events in, events out."""

    def __init__(
        self,
        sock: socket.socket,
        limits: Limits,
        log: ServerLog,
        on_close: Callable[[socket.socket], None] | None = None,
    ) -> None:
        self.sock = sock
        self.limits = limits
        self.log = log
        self.on_close = on_close
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_header_bytes)
        self.label = "a request"
        self.method = ""
        self._outgoing = bytearray()
        self.new_body()

    def new_body(self) -> None:
        """Forget the last request's body: a new request begins."""
        self.body_ended = self.body_too_large = False
        self.body_malformed = self.body_unfinished = False
        self.body_received = 0

    @property
    def body_broken(self) -> bool:
        """The body did not arrive whole (malformed, or unfinished)."""
        return self.body_malformed or self.body_unfinished

    # -- bytes in and out ------------------------------------------------------
    def next_event(self, deadline: float) -> Any:
        """The next h11 event, receiving bytes as needed until ``deadline``."""
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the client was silent for too long")
            self.sock.settimeout(remaining)
            self.h11.receive_data(self.sock.recv(READ_SIZE))

    def queue(self, event: Any) -> None:
        """Turn an event into bytes, to go out with the next send()."""
        self._outgoing += self.h11.send(event) or b""

    def send(self, event: Any) -> None:
        """Turn an event into bytes and send all that is queued (ConnectionAborted: client gone)."""
        self.queue(event)
        if self._outgoing:
            try:
                self.sock.settimeout(self.limits.idle_timeout)
                self.sock.sendall(self._outgoing)
            except OSError as exc:
                raise ConnectionAborted(f"the client went away ({type(exc).__name__})") from None
            finally:
                self._outgoing.clear()

    def refuse(self, status: int, explanation: str, body: bytes | None = None) -> None:
        """Answer with a short error response and Connection: close, if we still can."""
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = refusal_body(status, explanation) if body is None else body
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self._outgoing.clear()
        try:
            reason = reason_phrase(status).encode("ascii")
            self.queue(h11.Response(status_code=status, headers=headers, reason=reason))
            if self.method != "HEAD":
                self.queue(h11.Data(data=body))
            self.send(h11.EndOfMessage())
        except (h11.LocalProtocolError, ConnectionAborted):
            pass
        self.log.message(f"answered {status} to {self.label}: {explanation.splitlines()[0]}")

    # -- the request body, for wsgi.input ----------------------------------------
    def pull_body(self) -> bytes:
        """The next piece of the request body, or b'' once it ended (or broke)."""
        if self.body_ended:
            return b""
        try:
            if self.h11.they_are_waiting_for_100_continue:
                self.send(
                    h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
                )
            while True:
                event = self.next_event(time.monotonic() + self.limits.idle_timeout)
                if type(event) is h11.Data:
                    self.body_received += len(event.data)
                    if self.body_received > self.limits.max_body_bytes:
                        self.body_ended = self.body_too_large = True
                        raise RequestBodyTooLarge(
                            f"The request body is over {self.limits.max_body_bytes} bytes, "
                            f"the limit of this server; the client gets 413."
                        )
                    if event.data:
                        return bytes(event.data)
                else:  # EndOfMessage (or, on a broken connection, anything else)
                    self.body_ended = True
                    self.body_unfinished = type(event) is not h11.EndOfMessage
                    return b""
        except h11.RemoteProtocolError as exc:
            self.body_ended = self.body_malformed = True
            self.log.message(f"the body of {self.label} is malformed: {exc}")
            return b""
        except (OSError, ConnectionAborted) as exc:
            self.body_ended = self.body_unfinished = True
            self.log.message(f"the body of {self.label} never finished: {exc}")
            return b""

    def holding_back_body(self) -> bool:
        """True if the client still waits for '100 Continue' that will never come."""
        return self.h11.they_are_waiting_for_100_continue and not self.body_ended

    def refuse_if_body_broken(self) -> None:
        """Never answer a request whose body was malformed or unfinished as if it were whole."""
        if self.body_too_large:
            self.refuse(413, "The request body is larger than this server accepts.")
            raise ConnectionAborted("refused a request body over the size limit (413)")
        if self.body_malformed:
            self.refuse(400, "The request body is not valid HTTP/1.1 framing.")
            raise ConnectionAborted("refused a request with a malformed body (400)")
        if self.body_unfinished:
            self.refuse(400, "The request body never finished: the client stopped sending it.")
            raise ConnectionAborted("refused a request whose body never finished (400)")

    # -- the end -----------------------------------------------------------------
    def close(self) -> None:
        """Close politely: stop sending, let the client's last bytes drain, then close."""
        if self.h11.their_state is h11.MUST_CLOSE and not self.h11.trailing_data[0]:
            # The client said "Connection: close" and its request was read to the end:
            # nothing of it is left unread, so a plain close sends FIN, never a reset.
            self._release()
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(0.2)
            for _ in range(16):  # at most 1 MiB and about 0.2 s per read
                if not self.sock.recv(READ_SIZE):
                    break
        except OSError:
            pass
        finally:
            self._release()

    def _release(self) -> None:
        if self.on_close is not None:
            self.on_close(self.sock)
        else:
            self.sock.close()
