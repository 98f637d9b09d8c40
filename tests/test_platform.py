"""gateway_lab in the browser edition (Pyodide), played on CPython by flipping the platform flag.

Theory of operation: Pyodide's two differences that matter here are "no
threads" and "nothing can listen or start a process". Each test sets the
``IN_BROWSER`` flag where a module reads it (they import it by name), makes
``threading.Thread.start`` fail the way Pyodide does, and stands in for
``pyodide.ffi.run_sync`` with ``asyncio.run`` (what it does for a plain
function: run the coroutine to the end). The real thing runs in
tests/test_lite.py, in Chromium.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

import gateway_lab as gl
from gateway_lab import platform
from gateway_lab.check.asgi import driver as asgi_driver
from gateway_lab.check.wsgi import driver as wsgi_driver
from gateway_lab.errors import GatewayLabError, NotInBrowserError
from gateway_lab.views import widgets


def _no_threads(self: threading.Thread) -> None:
    raise RuntimeError("can't start new thread")


def _run_sync(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPython dressed as Pyodide: the flag set everywhere it is read, and no threads."""
    import gateway_lab.cgi.run as cgi_run
    import gateway_lab.check.looplag as looplag
    import gateway_lab.exercises.runner as runner
    import gateway_lab.labs.load as load
    import gateway_lab.serving.registry as registry
    import gateway_lab.serving.wsclient as wsclient
    import gateway_lab.views.lab as lab

    monkeypatch.setattr(platform, "IN_BROWSER", True)
    for module in (asgi_driver, wsgi_driver, looplag, widgets, lab, runner):
        monkeypatch.setattr(module, "IN_BROWSER", True)
    for module in (asgi_driver, lab, runner):
        monkeypatch.setattr(module, "run_here", _run_sync)
    for module in (registry, wsclient, cgi_run, load):
        monkeypatch.setattr(module, "require_os", platform.require_os)
    monkeypatch.setattr(threading.Thread, "start", _no_threads)


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"Hello"]


def returns_str(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return "Hello"


async def asgi_hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hi"})


async def body_first(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.body", "body": b"hi"})


def _findings(report: gl.Report) -> list[tuple[str, str]]:
    return sorted((item.severity, item.rule) for item in report.findings)


def test_the_flag_is_the_platform() -> None:
    import sys

    assert platform.IN_BROWSER == (sys.platform == "emscripten")
    assert platform.can_wait()


@pytest.mark.parametrize("app", [hello, returns_str])
def test_check_wsgi_runs_on_the_calling_thread(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _findings(gl.check_wsgi(app))
    monkeypatch.setattr(wsgi_driver, "IN_BROWSER", True)
    monkeypatch.setattr(threading.Thread, "start", _no_threads)
    assert _findings(gl.check_wsgi(app)) == expected


def test_check_asgi_runs_on_the_loop(browser: None) -> None:
    assert gl.check_asgi(asgi_hello).ok
    report = gl.check_asgi(body_first)
    assert not report.ok and report.errors, report.findings


def test_check_asgi_same_findings_as_with_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {app.__name__: _findings(gl.check_asgi(app)) for app in (asgi_hello, body_first)}
    monkeypatch.setattr(asgi_driver, "IN_BROWSER", True)
    monkeypatch.setattr(asgi_driver, "run_here", _run_sync)
    import gateway_lab.check.looplag as looplag

    monkeypatch.setattr(looplag, "IN_BROWSER", True)
    monkeypatch.setattr(threading.Thread, "start", _no_threads)
    found = {app.__name__: _findings(gl.check_asgi(app)) for app in (asgi_hello, body_first)}
    assert found == expected


def test_a_report_is_awaitable() -> None:
    async def main() -> gl.Report:
        return await gl.check_asgi(asgi_hello)

    report = asyncio.run(main())
    assert isinstance(report, gl.Report) and report.ok


@pytest.mark.parametrize(
    ("call", "needs"),
    [
        (lambda: gl.serve_wsgi(hello), "listening socket"),
        (lambda: gl.serve_asgi(asgi_hello), "listening socket"),
        (lambda: gl.serve_cgi("."), "listening socket"),
        (lambda: gl.run_cgi("hello.py"), "new process"),
        (lambda: gl.ws_connect("ws://127.0.0.1:1/"), "socket"),
        (lambda: gl.drive_load("http://127.0.0.1:1/", 1), "server"),
    ],
    ids=["serve_wsgi", "serve_asgi", "serve_cgi", "run_cgi", "ws_connect", "drive_load"],
)
def test_what_needs_the_os_says_so(call: Any, needs: str, browser: None) -> None:
    with pytest.raises(NotInBrowserError) as caught:
        call()
    message = str(caught.value)
    assert isinstance(caught.value, GatewayLabError)
    assert needs in message and "browser" in message and "Binder" in message


def test_widgets_redraw_at_once(browser: None) -> None:
    drawn: list[int] = []
    batcher = widgets.Batcher(lambda: drawn.append(1), interval=10.0)
    batcher.poke()
    batcher.poke()
    assert drawn == [1, 1] and batcher.runs == 2


def test_run_here_on_cpython() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert platform.run_here(answer()) == 42


def test_run_here_in_a_browser_that_cannot_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "IN_BROWSER", True)  # and no pyodide module: cannot wait

    async def answer() -> int:
        return 42

    with pytest.raises(NotInBrowserError, match="pause"):
        platform.run_here(answer())
