"""The views in a real browser: JupyterLab + headless Chromium run a notebook of every view.

The test starts JupyterLab on 127.0.0.1 (a random token, a temporary HOME,
a temporary copy of tests/notebooks/views.ipynb), opens the notebook in
Debian's Chromium through Playwright, runs all cells with JupyterLab's own
"Run All" command, waits for the kernel, and fails if a cell errored, a
widget says "Error displaying widget" or stays "Loading widget...".
Screenshots go to test-artifacts/browser/ for a human to look at.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NOTEBOOK = Path(__file__).parent / "notebooks" / "views.ipynb"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "browser"
START_TIMEOUT = 40.0
RUN_TIMEOUT = 45.0

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on loopback, serving a copy of the fixture notebook."""
    home = tmp_path / "home"
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / "views.ipynb")
    # draw every cell, even off screen, so that the checks below see them all
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    token = secrets.token_hex(16)
    port = _free_port()
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTERLAB_SETTINGS_DIR": str(settings.parent),
    }
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env.pop(name, None)
    log = (tmp_path / "jupyterlab.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
            f"--ServerApp.token={token}", f"--ServerApp.root_dir={notebooks}",
            "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=notebooks,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited early:\n{_tail(tmp_path / 'jupyterlab.log')}")
            try:
                if httpx.get(f"{base}/api/status", params={"token": token}, timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{_tail(tmp_path / 'jupyterlab.log')}")
            time.sleep(0.2)
        yield f"{base}/lab/tree/views.ipynb?token={token}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


CELL_STATE_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const cells = [];
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') continue;
    cells.push({count: cell.model.executionCount,
                outputs: cell.model.outputs.toJSON().map(o => ({
                  type: o.output_type, ename: o.ename || '', evalue: o.evalue || ''}))});
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {status: kernel ? kernel.status : 'none', cells: cells};
}"""


def test_every_view_renders_in_jupyterlab(jupyterlab):
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(jupyterlab, wait_until="domcontentloaded")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                ".status === 'idle'",
                timeout=START_TIMEOUT * 1000,
            )
            page.evaluate("() => window.jupyterapp.commands.execute('runmenu:run-all')")
            state = _wait_until_run(page)
            errors = _cell_errors(state)
            if errors:
                page.screenshot(path=str(ARTIFACTS / "cell-error.png"))
                pytest.fail(f"cells raised errors: {errors}")
            _wait_for_widgets(page)
            clicked = _use_the_request_lab(page)
            page.screenshot(path=str(ARTIFACTS / "notebook-top.png"))
            outputs = page.locator(".jp-Cell-outputArea")
            for index in range(outputs.count()):
                area = outputs.nth(index)
                if area.locator(".jupyter-widgets").count():
                    area.screenshot(path=str(ARTIFACTS / f"cell-{index:02d}.png"))
            text = page.locator(".jp-Notebook").inner_text()
        finally:
            browser.close()
    assert all(cell["count"] for cell in state["cells"]), "some cells did not run"
    assert "Error displaying widget" not in text
    assert "Loading widget..." not in text
    assert "PATH_INFO" in text and "raw_path" in text  # inspectors drew their tables
    assert "WSGI environ" in text and "ASGI scope (http)" in text
    assert "connection #4" in text  # one diagram per concurrent connection
    assert "websocket.accept" in text
    assert "events 1,901-2,000 of 2,000" in text  # the live view followed the stream
    assert clicked, "the request lab did not answer a click on Send"
    assert "GATEWAY_INTERFACE" in text and "spawn pid" in text  # a real CGI run


def _cell_errors(state: dict) -> list[str]:
    return [
        f"code cell {n}: {o['ename']}: {o['evalue']}"
        for n, cell in enumerate(state["cells"])
        for o in cell["outputs"]
        if o["type"] == "error"
    ]


def _wait_until_run(page) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate(CELL_STATE_JS)
        if state and state["status"] == "idle":
            cells = state["cells"]
            finished = all(cell["count"] for cell in cells)
            stopped = any(o["type"] == "error" for cell in cells for o in cell["outputs"])
            if finished or stopped:  # Run All stops at the first error
                return state
        page.wait_for_timeout(250)
    page.screenshot(path=str(ARTIFACTS / "timeout.png"))
    pytest.fail(f"the notebook did not finish running in {RUN_TIMEOUT} s: {state}")


def _use_the_request_lab(page) -> bool:
    """Type a path into the lab's form, click Send, and wait for the answer."""
    lab = page.locator(".jp-Cell-outputArea").filter(has=page.get_by_role("button", name="Send"))
    lab.locator("input[type=text]").first.fill("/clicked")
    lab.get_by_role("button", name="Send").click()
    try:
        lab.get_by_text("Hello from /clicked").first.wait_for(timeout=10_000)
    except Exception:
        return False
    lab.screenshot(path=str(ARTIFACTS / "request-lab-clicked.png"))
    return True


def _wait_for_widgets(page) -> None:
    """Give widgets a moment to draw; fail below if any stays 'Loading widget...'."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        text = page.locator(".jp-Notebook").inner_text()
        if "Loading widget..." not in text and page.locator(".jupyter-widgets").count():
            return
        page.wait_for_timeout(250)
