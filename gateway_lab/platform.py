"""Where gateway_lab runs: a Python with an operating system, or a browser tab.

Theory of operation: the course's browser edition (JupyterLite) runs this
same package in Pyodide, CPython compiled to WebAssembly, inside a web
worker. Everything that happens in-process works there unchanged: calling a
WSGI or ASGI app with no socket, recording it, drawing it, checking it. What
a browser tab does not give Python is an operating system's services:

* **no listening sockets** (nothing can serve, not even on loopback), so
  ``serve_wsgi`` / ``serve_asgi`` / ``serve_cgi``, ``ws_connect`` and the
  load labs cannot work;
* **no processes**, so ``run_cgi`` cannot start a script;
* **no threads** (``RuntimeError: can't start new thread``), so the parts
  that used a worker thread do their work on the calling thread instead:
  the WSGI check calls the app directly (no timeout: an app that loops
  forever freezes the tab's kernel), the ASGI check runs its battery on the
  page's own event loop (no blocking-call watchdog: nothing can look at a
  loop that is stuck), and the live views redraw at once instead of from a
  redraw timer.

One flag, :data:`IN_BROWSER` (``sys.platform == "emscripten"``), is all the
package asks. Code that cannot work there calls :func:`require_os` first,
which raises one clear :class:`~gateway_lab.errors.NotInBrowserError`
saying why and where the lesson runs for real, instead of an
``AttributeError`` from deep in the socket module.

A plain function that must wait for a coroutine (``check_asgi``, the ASGI
exercises, the request lab) uses :func:`run_here`: on CPython it is only
called with no loop running in this thread; in the browser it pauses the
calling Python code while the page's event loop runs the coroutine
(``pyodide.ffi.run_sync``, which needs the browser's JavaScript Promise
Integration, as in current Chromium). A report is also awaitable, so
``await gl.check_asgi(app)`` works everywhere.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from gateway_lab.errors import NotInBrowserError

__all__ = ["IN_BROWSER", "WHERE_FOR_REAL", "can_wait", "require_os", "run_here"]

IN_BROWSER = sys.platform == "emscripten"
WHERE_FOR_REAL = (
    "Binder, or your own laptop with `python -m pip install -r requirements.txt` "
    "(see the course's README)"
)

T = TypeVar("T")


def require_os(what: str, needs: str) -> None:
    """In the browser, raise :class:`NotInBrowserError`: ``what`` needs ``needs``.

    ``needs`` is a short phrase such as "a listening socket" or "a new process".
    """
    if IN_BROWSER:
        raise NotInBrowserError(what, needs, WHERE_FOR_REAL)


def can_wait() -> bool:
    """Can a plain function wait for a coroutine here? (Always on CPython.)"""
    if not IN_BROWSER:
        return True
    try:
        from pyodide.ffi import can_run_sync  # type: ignore[import-not-found]
    except ImportError:
        return False
    return bool(can_run_sync())


def run_here(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end from a plain function and return its result.

    On CPython: a fresh event loop (``asyncio.run``). In the browser: the
    page's own loop runs it while this call waits (``pyodide.ffi.run_sync``).
    """
    if not IN_BROWSER:
        return asyncio.run(coroutine)
    if not can_wait():
        coroutine.close()
        raise NotInBrowserError(
            "waiting for the app from a plain function",
            "a browser that lets Python pause (JavaScript Promise Integration)",
            f"a current Chromium-based browser, or {WHERE_FOR_REAL}",
        )
    from pyodide.ffi import run_sync

    result: T = run_sync(coroutine)
    return result
