"""Loopback sockets and the URLs a learner's browser can open.

Theory of operation: every server in gateway_lab listens on a socket made
here, never one the engine makes for itself. That gives one place to enforce
"127.0.0.1 only", one place to turn "address already in use" into advice, and
one socket recipe that is fast everywhere: ``IPPROTO_TCP`` named explicitly
(otherwise asyncio does not set ``TCP_NODELAY`` and each keep-alive request
waits ~40 ms for a delayed ACK) and ``SO_REUSEADDR`` (so a server re-started
by re-running a cell can take its old port back at once).

The browser URL: on a laptop the browser and the kernel share a loopback, so
``http://127.0.0.1:PORT/`` opens. Under JupyterHub or Binder the browser is
elsewhere; jupyter-server-proxy forwards ``{JUPYTERHUB_SERVICE_PREFIX}proxy/
PORT/`` to the kernel's port, stripping the prefix, so apps see ``/``.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Mapping

from gateway_lab.errors import PortInUseError

__all__ = ["LOOPBACK", "bind_loopback", "browser_url_for"]

LOOPBACK = "127.0.0.1"


def bind_loopback(
    port: int = 0,
    holder_of: Callable[[int], str | None] | None = None,
    backlog: int = 128,
) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:port (port 0 picks a free one)."""
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise PortInUseError(
            f"port must be a whole number from 0 to 65535 (0 picks a free port), not {port!r}.",
            port=-1,
        )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise _port_in_use(port, exc, holder_of) from None
        raise
    return sock


def _port_in_use(
    port: int, exc: OSError, holder_of: Callable[[int], str | None] | None
) -> PortInUseError:
    holder = holder_of(port) if holder_of else None
    if exc.errno == errno.EACCES:
        return PortInUseError(
            f"Port {port} needs special permission (ports below 1024 are reserved). "
            f"Use port=0 to get a free port, or a port above 1024.",
            port=port,
        )
    if holder:
        return PortInUseError(
            f"Port {port} is already used by the gateway-lab server {holder!r} "
            f"in this kernel. Stop it with gl.servers()[{holder!r}].stop(), start "
            f"yours with name={holder!r} to replace it, or use port=0 for a free port.",
            port=port,
            holder=holder,
        )
    return PortInUseError(
        f"Port {port} is already in use by another program (not a gateway-lab "
        f"server in this kernel). Use port=0 to get a free port, or pick another.",
        port=port,
    )


def browser_url_for(port: int, environ: Mapping[str, str] | None = None) -> str:
    """The URL at which the learner's browser reaches a server on ``port``."""
    env = os.environ if environ is None else environ
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "").strip()
    if not prefix:
        return f"http://{LOOPBACK}:{port}/"
    if not prefix.endswith("/"):
        prefix += "/"
    if not prefix.startswith("/") and "://" not in prefix:
        prefix = "/" + prefix
    return f"{prefix}proxy/{port}/"
