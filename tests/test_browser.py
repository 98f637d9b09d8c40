"""The views in a real browser: JupyterLab + headless Chromium run a notebook of every view.

The test starts JupyterLab on 127.0.0.1 (a random token, a temporary HOME,
a temporary copy of tests/notebooks/views.ipynb), opens the notebook in
Debian's Chromium through Playwright, runs all cells with JupyterLab's own
"Run All" command, waits for the kernel, and fails if a cell errored, a
widget says "Error displaying widget" or stays "Loading widget...".
Screenshots go to test-artifacts/browser/ for a human to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import (
    CHROMIUM,
    JupyterLab,
    cell_errors,
    chromium,
    jupyterlab_server,
    notebook_text,
    open_notebook,
    run_all,
    wait_for_widgets,
    wait_until_run,
)

NOTEBOOK = Path(__file__).parent / "notebooks" / "views.ipynb"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "browser"
RUN_TIMEOUT = 45.0

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
)


@pytest.fixture
def jupyterlab(tmp_path) -> Iterator[JupyterLab]:
    """A JupyterLab server on loopback, serving a copy of the fixture notebook."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / "views.ipynb")
    with jupyterlab_server(notebooks, tmp_path) as lab:
        yield lab


def test_every_view_renders_in_jupyterlab(jupyterlab):
    pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_notebook(page, jupyterlab.notebook_url("views.ipynb"), "views.ipynb")
        run_all(page)
        try:
            state = wait_until_run(page, RUN_TIMEOUT)
        except AssertionError as exc:
            page.screenshot(path=str(ARTIFACTS / "timeout.png"))
            pytest.fail(str(exc))
        errors = cell_errors(state)
        if errors:
            page.screenshot(path=str(ARTIFACTS / "cell-error.png"))
            pytest.fail(f"cells raised errors: {errors}")
        wait_for_widgets(page, require_widgets=True)
        clicked = _use_the_request_lab(page)
        page.screenshot(path=str(ARTIFACTS / "notebook-top.png"))
        outputs = page.locator(".jp-Cell-outputArea")
        for index in range(outputs.count()):
            area = outputs.nth(index)
            if area.locator(".jupyter-widgets").count():
                area.screenshot(path=str(ARTIFACTS / f"cell-{index:02d}.png"))
        text = notebook_text(page)
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
