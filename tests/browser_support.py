"""JupyterLab + headless Chromium plumbing shared by the browser tests.

Theory of operation: a browser test needs three things, each of which must
leave nothing behind on the machine.

1. **A JupyterLab server** (:func:`jupyterlab_server`): started as a child
   process on 127.0.0.1 with a random token, a free port, a temporary
   ``HOME`` (JupyterLab and Chromium both write under it), ``--allow-root``,
   and a root folder chosen by the caller (a temporary copy of the notebooks,
   so that executing them never writes into the repository). Two user
   settings matter: ``windowingMode: none`` draws every cell even when it is
   off screen (so the checks see every output) and no news or update checks
   (no network). ``JUPYTERHUB_SERVICE_PREFIX`` is removed from its
   environment: under a hub the course's links become proxy paths, which is
   tested on purpose, not by accident.
2. **A browser** (:func:`chromium`): Debian's Chromium driven by the Python
   ``playwright`` package through ``executable_path`` (``playwright install``
   is never needed, so this works offline).
3. **Driving a notebook** (:func:`open_notebook`, :func:`run_all`,
   :func:`wait_until_run`, :func:`cell_errors`, :func:`wait_for_widgets`):
   JupyterLab exposes its application object as ``window.jupyterapp``
   (``--LabApp.expose_app_in_browser``); the page is read through it, not
   through fragile CSS, wherever the model says more than the DOM.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "JupyterLab",
    "cell_errors",
    "error_tracebacks",
    "chromium",
    "free_port",
    "jupyterlab_server",
    "notebook_text",
    "open_notebook",
    "open_notebook_in_place",
    "run_all",
    "shut_down_kernels",
    "wait_for_widgets",
    "wait_until_run",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 40.0


class BrowserTestError(AssertionError):
    """Something in the browser or in JupyterLab did not happen in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class JupyterLab:
    """A running JupyterLab: where it listens and how to get in."""

    base: str  # http://127.0.0.1:PORT
    port: int
    token: str
    root: Path
    log: Path

    def url(self, path: str) -> str:
        """``path`` (for example ``lab/tree/x.ipynb``) with the token appended."""
        separator = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{separator}token={self.token}"

    def notebook_url(self, name: str) -> str:
        """The URL that opens notebook ``name`` (relative to the root) on its own."""
        return self.url(f"lab/tree/{quote(name)}?reset")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _write_settings(home: Path) -> Path:
    settings = home / ".jupyter" / "lab" / "user-settings"
    lab = settings / "@jupyterlab"
    (lab / "notebook-extension").mkdir(parents=True)
    # draw every cell, even off screen, so that the checks see them all
    (lab / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    (lab / "apputils-extension").mkdir(parents=True)
    (lab / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    return settings


@contextlib.contextmanager
def jupyterlab_server(root: Path, scratch: Path) -> Iterator[JupyterLab]:
    """Run JupyterLab on 127.0.0.1 serving ``root``; ``scratch`` holds HOME and the log.

    Stops the server (and, through it, every kernel it started) on exit.
    """
    home = scratch / "home"
    settings = _write_settings(home)
    token = secrets.token_hex(16)
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    for name in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "JUPYTERHUB_SERVICE_PREFIX",
    ):
        env.pop(name, None)
    log_path = scratch / "jupyterlab.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
            f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
            "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )  # fmt: skip
    lab = JupyterLab(f"http://127.0.0.1:{port}", port, token, root, log_path)
    try:
        _wait_for_status(process, lab)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def _wait_for_status(process: subprocess.Popen[bytes], lab: JupyterLab) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise BrowserTestError(f"JupyterLab exited early:\n{lab.tail()}")
        try:
            answer = httpx.get(f"{lab.base}/api/status", params={"token": lab.token}, timeout=1)
            if answer.is_success:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise BrowserTestError(f"JupyterLab did not start:\n{lab.tail()}")
        time.sleep(0.2)


def shut_down_kernels(lab: JupyterLab) -> None:
    """Shut down every kernel session (between notebooks: each starts fresh)."""
    params = {"token": lab.token}
    with httpx.Client(base_url=lab.base, params=params, timeout=10) as client:
        for session in client.get("/api/sessions").json():
            client.delete(f"/api/sessions/{session['id']}")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright ``Browser``), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


KERNEL_IDLE_JS = """(path) => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.context || !panel.sessionContext) return false;
  if (path && panel.context.path !== path) return false;
  const session = panel.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle');
}"""

CELL_STATE_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    cells.push({index: index,
                empty: cell.model.sharedModel.getSource().trim() === '',
                tags: cell.model.getMetadata('tags') || [],
                count: cell.model.executionCount,
                outputs: cell.model.outputs.toJSON().map(o => ({
                  type: o.output_type, ename: o.ename || '', evalue: o.evalue || '',
                  traceback: (o.traceback || []).join('\\n')}))});
  });
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {status: kernel ? kernel.status : 'none', cells: cells};
}"""


def open_notebook(page: Any, url: str, path: str | None = None, timeout: float = START_TIMEOUT):
    """Load JupyterLab at ``url`` and wait until the notebook's kernel is idle."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(KERNEL_IDLE_JS, arg=path, timeout=timeout * 1000)


OPEN_IN_PLACE_JS = """async (path) => {
  const app = window.jupyterapp;
  for (const widget of Array.from(app.shell.widgets('main'))) {
    if (widget.context) widget.context.model.dirty = false;  // closed without asking
    widget.dispose();
  }
  await app.commands.execute('docmanager:open', {path: path, factory: 'Notebook'});
}"""


def open_notebook_in_place(page: Any, path: str, timeout: float = START_TIMEOUT) -> None:
    """In an already loaded JupyterLab: close every document, open ``path``, wait for its kernel.

    Much quicker than loading JupyterLab again for each notebook.
    """
    page.evaluate(OPEN_IN_PLACE_JS, path)
    page.wait_for_function(KERNEL_IDLE_JS, arg=path, timeout=timeout * 1000)


def run_all(page: Any) -> None:
    """JupyterLab's own "Run All" command (Run > Run All Cells)."""
    page.evaluate("() => window.jupyterapp.commands.execute('runmenu:run-all')")


def _expected(cell: dict) -> bool:
    return not cell["empty"]


def wait_until_run(page: Any, timeout: float) -> dict:
    """Wait until every code cell ran (or one errored: Run All stops there).

    Returns the cell state (see :data:`CELL_STATE_JS`); raises
    :class:`BrowserTestError` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate(CELL_STATE_JS)
        if state and state["status"] == "idle":
            cells = [cell for cell in state["cells"] if _expected(cell)]
            finished = all(cell["count"] for cell in cells)
            stopped = bool(cell_errors(state))
            if finished or stopped:
                return state
        page.wait_for_timeout(250)
    raise BrowserTestError(f"the notebook did not finish running in {timeout} s: {state}")


def unrun_cells(state: dict) -> list[int]:
    """Indexes (in the notebook, counting every cell) of code cells that never ran."""
    return [cell["index"] for cell in state["cells"] if _expected(cell) and not cell["count"]]


def cell_errors(state: dict) -> list[str]:
    """One line per error output of a cell not tagged ``raises-exception``."""
    return [
        f"cell {cell['index']}: {output['ename']}: {output['evalue']}"
        for cell in state["cells"]
        if "raises-exception" not in cell["tags"]
        for output in cell["outputs"]
        if output["type"] == "error"
    ]


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_tracebacks(state: dict, lines: int = 12) -> str:
    """The last ``lines`` lines of each error's traceback, without terminal colours."""
    return "\n".join(
        "\n".join(ANSI.sub("", output.get("traceback", "")).splitlines()[-lines:])
        for cell in state["cells"]
        for output in cell["outputs"]
        if output["type"] == "error"
    )


def notebook_text(page: Any) -> str:
    return page.locator(".jp-Notebook").inner_text()


def wait_for_widgets(page: Any, timeout: float = 15.0, require_widgets: bool = False) -> None:
    """Give widgets time to draw: returns once no "Loading widget..." is left (or at timeout).

    With ``require_widgets`` it also waits for at least one drawn widget.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drawn = not require_widgets or page.locator(".jupyter-widgets").count() > 0
        if drawn and "Loading widget..." not in notebook_text(page):
            return
        page.wait_for_timeout(250)
