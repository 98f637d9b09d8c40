"""What every engine does: serve an app on a given socket from a daemon thread.

Theory of operation: an engine *runner* owns one server thread. The caller
hands it an app (already wrapped in a guard) and a listening loopback socket
(already bound, so "port in use" was settled before we got here). Then:

``start(timeout)``
    builds the server in the caller's thread (errors surface in the cell),
    starts a daemon thread that serves, and waits until the engine says it is
    ready. A failure in the thread (including ``SystemExit``, which uvicorn
    raises when an app's lifespan startup fails) is caught there and
    re-raised in the caller as :class:`ServerStartError`, never left to kill
    the kernel.
``stop(timeout)``
    asks the engine to stop, waits at most ``timeout`` seconds for the thread,
    and releases the socket either way. Stopping is graceful within that
    bound: a request already being answered is answered (werkzeug's handler
    threads run on; wsgiref's loop ends after its one request; the mini
    WSGI server closes idle connections at once and gives busy ones most of
    the bound, then cuts them). An app stuck in an endless loop can keep its own
    (daemon) thread busy, but it cannot keep ``stop`` waiting or keep the
    port bound. Returns True if the thread ended in time.

Subclasses fill in four small hooks: ``prepare`` (build), ``serve`` (the
blocking loop; call ``mark_ready`` once accepting), ``request_stop`` (thread
safe), and ``release`` (close what ``prepare`` opened).
"""

from __future__ import annotations

import socket
import threading
from typing import Any, ClassVar

from gateway_lab.errors import ServerStartError
from gateway_lab.serving.log import ServerLog

__all__ = ["EngineRunner"]


class EngineRunner:
    """Base class: one engine serving one app from one daemon thread."""

    engine: ClassVar[str] = "?"
    interface: ClassVar[str] = "wsgi"

    def __init__(self, app: Any, sock: socket.socket, log: ServerLog) -> None:
        self.app = app
        self.sock = sock
        self.log = log
        self.thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # -- hooks ---------------------------------------------------------
    def prepare(self) -> None:
        """Build the server object (runs in the caller's thread)."""

    def serve(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def request_stop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def release(self) -> None:
        """Close whatever prepare() opened; the socket is closed by stop()."""

    # -- lifecycle -----------------------------------------------------
    def mark_ready(self) -> None:
        self._ready.set()

    def _thread_main(self) -> None:
        try:
            self.serve()
        except BaseException as exc:  # SystemExit included: never kill the kernel
            self._failure = exc
            self.log.error(
                f"the {self.engine} server stopped with {type(exc).__name__}: {exc}",
                exc=exc,
                where="server",
            )
        finally:
            self._ready.set()

    def start(self, timeout: float = 5.0) -> None:
        self.prepare()
        self.thread = threading.Thread(
            target=self._thread_main,
            name=f"gateway-lab {self.engine} {self.log.name}",
            daemon=True,
        )
        self.thread.start()
        if not self._ready.wait(timeout) or self._failure is not None or not self.alive:
            reason = self.start_failure_reason()
            self.stop(timeout=1.0)
            raise ServerStartError(reason)

    def start_failure_reason(self) -> str:
        if self._failure is not None:
            return (
                f"The {self.engine} server could not start: "
                f"{type(self._failure).__name__}: {self._failure}. "
                f"The details are in the server log."
            )
        return f"The {self.engine} server did not become ready in time."

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self, timeout: float = 1.0) -> bool:
        try:
            self.request_stop()
        except Exception as exc:  # a half-built server: still release everything
            self.log.error(f"stopping raised {exc!r}", exc=exc, where="server")
        ended = True
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
            ended = not self.thread.is_alive()
        if not ended:
            self.log.error(
                f"the {self.engine} server thread did not end within {timeout} s "
                f"(is a request stuck in an endless loop or a blocking call?). "
                f"The port is released; the stuck thread is left to finish alone.",
                where="server",
            )
        try:
            self.release()
        finally:
            self.sock.close()
        return ended
