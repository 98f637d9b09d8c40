"""A serve loop for socketserver-based engines that stops the moment it is asked.

Theory of operation: ``socketserver.BaseServer.serve_forever`` wakes every
``poll_interval`` seconds to look at its shutdown flag, so stopping takes up to
that long (0.5 s by default) and ``shutdown()`` blocks until it notices. Here
the loop waits on two things at once with a selector: the listening socket
(a client is connecting) and one end of a socket pair (we are asked to stop).
``request_stop`` writes a byte to the other end, and the loop ends at once.

Both werkzeug's and wsgiref's servers derive from ``socketserver``, so one
mixin serves both. Handler threads (werkzeug) are daemons and are not joined
on close (``block_on_close = False``): a request stuck in the app cannot make
stopping hang.
"""

from __future__ import annotations

import selectors
import socket
from typing import Any

__all__ = ["PromptStopMixin"]


class PromptStopMixin:
    """Mix into a socketserver class, first in the bases."""

    block_on_close = False
    daemon_threads = True

    def prompt_stop_setup(self) -> None:
        self._stop_r, self._stop_w = socket.socketpair()
        self._stopping = False

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        server: Any = self
        with selectors.DefaultSelector() as selector:
            selector.register(server.socket, selectors.EVENT_READ, "accept")
            selector.register(self._stop_r, selectors.EVENT_READ, "stop")
            while not self._stopping:
                try:
                    ready = selector.select(poll_interval)
                except (OSError, ValueError):
                    break  # socket closed under us: we are being stopped
                if self._stopping:
                    break
                if any(key.data == "accept" for key, _ in ready):
                    server._handle_request_noblock()
                server.service_actions()

    def request_stop(self) -> None:
        self._stopping = True
        try:
            self._stop_w.send(b"x")
        except OSError:
            pass

    def close_stop_pair(self) -> None:
        self._stop_r.close()
        self._stop_w.close()
