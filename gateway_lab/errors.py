"""The errors gateway_lab raises at a learner, worded for a learner.

Theory of operation: every mistake we can recognise before a server starts
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

__all__ = [
    "GatewayLabError",
    "NotAnAppError",
    "PortInUseError",
    "ServerStartError",
    "UnknownEngineError",
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


class WrongInterfaceError(GatewayLabError, TypeError):
    """A WSGI app was given where an ASGI app was expected, or the reverse."""


class UnknownEngineError(GatewayLabError, ValueError):
    """The engine name is not one we know."""


class ServerStartError(GatewayLabError, RuntimeError):
    """The server did not come up (for example an ASGI lifespan startup failed)."""
