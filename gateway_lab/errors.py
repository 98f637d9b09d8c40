"""The errors gateway_lab raises at a learner, worded for a learner.

Theory of operation: every mistake we can recognise
(a port in use, an object that is not an app, the wrong kind of app, an
unknown engine) raises a subclass of :class:`GatewayLabError`. Its message
says what happened and what to change, in that order. The subclasses also
derive from the built-in exception a Python programmer would expect
(``ValueError``, ``TypeError``, ``OSError``), so ``except TypeError`` still
works.

Raising never kills the kernel: these are ordinary exceptions that end the
cell, nothing more. Jupyter shows the message; the traceback below it is
shortened by ``_render_traceback_`` so the advice is what the eye lands on.
"""

from __future__ import annotations

from gateway_lab import specs

__all__ = [
    "AppFailure",
    "CGIFolderError",
    "CGIOutputError",
    "CallLimitExceeded",
    "ClientDisconnected",
    "ConnectionAborted",
    "GatewayLabError",
    "LifespanProtocolError",
    "LifespanStartupFailed",
    "NotAnAppError",
    "NotInBrowserError",
    "PortInUseError",
    "ProtocolError",
    "RequestBodyTooLarge",
    "ScriptNotFoundError",
    "ScriptOutsideFolderError",
    "ServerStartError",
    "UnknownEngineError",
    "WSGIBodyTypeError",
    "WebSocketClosed",
    "WebSocketRefused",
    "WrongInterfaceError",
]


class GatewayLabError(Exception):
    """Base class: a problem the learner can fix, explained in plain words."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing the full traceback.
        return [f"{type(self).__name__}: {self}"]


class PortInUseError(GatewayLabError, OSError):
    """The port asked for is already taken."""

    def __init__(self, message: str, port: int, holder: str | None = None) -> None:
        super().__init__(message)
        self.port = port
        self.holder = holder

    def __str__(self) -> str:  # OSError would otherwise format its args
        return str(self.args[0])


class NotAnAppError(GatewayLabError, TypeError):
    """The object passed is not callable, so it cannot be an app."""


class NotInBrowserError(GatewayLabError, RuntimeError):
    """In the browser edition (Pyodide): this needs what a browser tab cannot give Python."""

    def __init__(self, what: str, needs: str, where: str) -> None:
        self.what = what
        self.needs = needs
        super().__init__(
            f"{what} needs {needs}, which Python in a browser tab does not have "
            f"(this is the course's browser edition). Run this part of the lesson on {where}."
        )


class WrongInterfaceError(GatewayLabError, TypeError):
    """A WSGI app was given where an ASGI app was expected, or the reverse."""


class UnknownEngineError(GatewayLabError, ValueError):
    """The engine name is not one we know."""


class ServerStartError(GatewayLabError, RuntimeError):
    """The server did not come up (for example an ASGI lifespan startup failed)."""


class CGIOutputError(GatewayLabError, ValueError):
    """The script's output is not a CGI response; the message says why."""


class CGIFolderError(GatewayLabError, FileNotFoundError):
    """The folder of CGI scripts does not exist or is not a folder."""

    def __str__(self) -> str:
        return str(self.args[0])


class ScriptNotFoundError(GatewayLabError, FileNotFoundError):
    """No script of that name in the folder."""

    def __str__(self) -> str:
        return str(self.args[0])


class ScriptOutsideFolderError(GatewayLabError, PermissionError):
    """The name would lead outside the folder (``..``, absolute, symlink escape)."""

    def __str__(self) -> str:
        return str(self.args[0])


class WSGIBodyTypeError(GatewayLabError, TypeError):
    """The app's body is not an iterable of bytes; the message says what to do."""


class LifespanStartupFailed(GatewayLabError, RuntimeError):
    """The app answered ``lifespan.startup.failed``: the server must not start."""


class LifespanProtocolError(GatewayLabError, RuntimeError):
    """The app sent a lifespan message the server was not waiting for."""


class RequestBodyTooLarge(GatewayLabError, ValueError):
    """Raised by ``wsgi.input`` when a chunked body grows past the server's limit."""


class ClientDisconnected(GatewayLabError, OSError):
    """``send`` was called after the client closed the connection."""


class ConnectionAborted(GatewayLabError, ConnectionError):
    """A server gave up on one connection (the message says why); it closes it and logs that."""


class ProtocolError(GatewayLabError, RuntimeError):
    """The app broke the gateway protocol; the message says how."""


class CallLimitExceeded(ProtocolError):
    """An in-process call hit a bound: ``bound`` is "timeout" or "max_body"; see the message."""

    def __init__(self, message: str, bound: str, limit: float, arrived: float) -> None:
        super().__init__(message)
        self.bound = bound  # the keyword argument that raises it
        self.limit = limit  # its value in this call (seconds or bytes)
        self.arrived = arrived  # seconds taken, or body bytes received, when the call stopped


class AppFailure(GatewayLabError):
    """The error the checker's apps raise on purpose (so it is easy to recognise)."""


class WebSocketRefused(GatewayLabError, ConnectionError):
    """The server answered the handshake with an HTTP status instead of 101."""

    def __init__(self, status: int, body: bytes = b"") -> None:
        self.status = status
        self.body = body
        super().__init__(
            f"The server refused the WebSocket handshake with HTTP {status} instead of "
            f"101 Switching Protocols. An ASGI app refuses by sending 'websocket.close' "
            f"before 'websocket.accept' (servers answer 403), or by returning without "
            f"accepting. See {specs.RFC6455_SERVER_HANDSHAKE}"
        )


class WebSocketClosed(GatewayLabError, ConnectionError):
    """The WebSocket is closed; ``code`` and ``reason`` say how it ended."""

    def __init__(
        self, code: int | None, reason: str = "", by: str = "server", action: str = "sent"
    ) -> None:
        self.code = code
        self.reason = reason
        self.by = by
        why = f" (code {code}{', ' + repr(reason) if reason else ''})" if code else ""
        super().__init__(
            f"The WebSocket was closed by the {by}{why}; nothing more can be {action}."
        )
