"""The whole course in a real browser: every notebook run in JupyterLab by headless Chromium.

One JupyterLab for the module (a temporary copy of notebooks/, so running
the lessons never writes into the repository), one Chromium, then for each
notebooks/*.ipynb that exists: open it, "Run All", wait for the kernel, and
fail if

* a cell raised (the first error stops Run All; the message names the cell),
* a widget says "Error displaying widget" or still says "Loading widget...",
* an IFrame in an output did not load its app: the browser showed an error
  page, the app answered 4xx/5xx, or the page came back empty.

Each notebook's kernel is shut down before the next opens. Screenshots of
every notebook, page by page, go to test-artifacts/course/<notebook>/ for a
human to read. A last test reaches apps served from Python through
jupyter-server-proxy's ``/proxy/<port>/`` path, the way Binder and
JupyterHub learners reach theirs: an HTTP page and a websocket.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    CHROMIUM,
    JupyterLab,
    cell_errors,
    chromium,
    error_tracebacks,
    jupyterlab_server,
    notebook_text,
    open_notebook_in_place,
    run_all,
    shut_down_kernels,
    unrun_cells,
    wait_for_widgets,
    wait_until_run,
)

import gateway_lab as gl
from gateway_lab.serving.loopback import browser_url_for

ROOT = Path(__file__).parent.parent
# Every lesson runs headless under nbval in tests/test_notebooks_busy.py; here JupyterLab runs
# the lessons whose widgets, IFrames and links only a browser shows (GATEWAY_LAB_ALL_IN_LAB=1:
# every lesson).
IN_LAB = {"00-start-here", "02-wsgi", "06-asgi", "07-asgi-realtime"}
NOTEBOOKS = sorted(
    path
    for path in (ROOT / "notebooks").glob("*.ipynb")
    if os.environ.get("GATEWAY_LAB_ALL_IN_LAB") == "1" or path.stem in IN_LAB
)
ARTIFACTS = ROOT / "test-artifacts" / "course"
RUN_TIMEOUT = 150.0  # one notebook; the budget is 5 minutes for all
VIEWPORT = {"width": 1280, "height": 1600}
MAX_SHOTS = 40  # screenshots per notebook, one per screenful
GENERATED = ("cgi-bin-lab", ".ipynb_checkpoints", "__pycache__")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
)


@pytest.fixture(scope="module")
def course_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """JupyterLab serving a temporary copy of notebooks/ (solutions, scripts and all)."""
    pytest.importorskip("playwright.sync_api")
    scratch = tmp_path_factory.mktemp("course-browser")
    root = scratch / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(*GENERATED))
    with jupyterlab_server(root, scratch) as lab:
        yield lab


@pytest.fixture(scope="module")
def browser(course_lab: JupyterLab) -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def lab_page(browser: Any, course_lab: JupyterLab) -> Iterator[Any]:
    """One page with JupyterLab loaded, reused by every notebook (loading it costs seconds)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(course_lab.url("lab?reset"), wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell")
        page.wait_for_function(
            "() => window.jupyterapp.serviceManager.isReady"
            " && document.querySelector('.jp-LabShell')"
        )
        yield page
    finally:
        context.close()


@pytest.fixture
def page(lab_page: Any, course_lab: JupyterLab) -> Iterator[Any]:
    """The JupyterLab page; afterwards every kernel is shut down (the next one starts clean)."""
    try:
        yield lab_page
    finally:
        shut_down_kernels(course_lab)


class FrameResponses:
    """The HTTP status of every document loaded into an IFrame, by URL."""

    def __init__(self, page: Any) -> None:
        self.status: dict[str, int] = {}
        self._page = page
        self._main = page.main_frame
        page.on("response", self._seen)

    def close(self) -> None:
        self._page.remove_listener("response", self._seen)

    def _seen(self, response: Any) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame != self._main:
            self.status[response.url] = response.status


@pytest.fixture
def frames(page: Any) -> Iterator[FrameResponses]:
    recorder = FrameResponses(page)
    try:
        yield recorder
    finally:
        recorder.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(notebook: Path, page: Any, frames: FrameResponses) -> None:
    shots = ARTIFACTS / notebook.stem
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    started = time.monotonic()
    open_notebook_in_place(page, notebook.name)
    opened = time.monotonic()
    run_all(page)
    try:
        state = wait_until_run(page, RUN_TIMEOUT)
    except AssertionError as exc:
        _screenshots(page, shots)
        pytest.fail(f"{notebook.name}: {exc}")
    wait_for_widgets(page)
    problems = cell_errors(state)
    if not problems and unrun_cells(state):
        problems.append(f"code cells that never ran: {unrun_cells(state)}")
    text = notebook_text(page)
    for message in ("Error displaying widget", "Loading widget..."):
        if message in text:
            problems.append(f"{text.count(message)} widget(s) show {message!r}")
    problems += _iframe_problems(page, frames)
    checked = time.monotonic()
    _screenshots(page, shots)
    (shots / "timing.txt").write_text(
        f"{notebook.name}: opened in {opened - started:.1f} s, ran and checked in "
        f"{checked - opened:.1f} s, screenshots {time.monotonic() - checked:.1f} s\n"
    )
    if problems:
        (shots / "problems.txt").write_text("\n".join(problems) + "\n" + error_tracebacks(state))
    assert not problems, (
        f"{notebook.name} in JupyterLab:\n  "
        + "\n  ".join(problems)
        + "\n"
        + error_tracebacks(state)
    )


def _iframe_problems(page: Any, frames: FrameResponses) -> list[str]:
    """Every IFrame in an output must show a document its app served (not an error page)."""
    problems = []
    iframes = page.locator(".jp-OutputArea-output iframe")
    for index in range(iframes.count()):
        element = iframes.nth(index)
        src = element.get_attribute("src") or ""
        frame = element.element_handle().content_frame()
        if frame is None:
            problems.append(f"IFrame {src!r} has no document")
            continue
        try:
            frame.wait_for_load_state("load", timeout=10_000)
        except Exception:
            problems.append(f"IFrame {src!r} did not finish loading in 10 s")
            continue
        status = frames.status.get(frame.url)
        body = frame.evaluate("() => document.body ? document.body.innerText.trim() : ''")
        if frame.url.startswith("chrome-error:") or status is None:
            problems.append(f"IFrame {src!r} shows the browser's error page (no answer)")
        elif status >= 400:
            problems.append(f"IFrame {src!r} got HTTP {status}: {body[:120]!r}")
        elif not body:
            problems.append(f"IFrame {src!r} loaded an empty page")
    return problems


SCROLLER_JS = """(step) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const scroller = panel.node.querySelector('.jp-WindowedPanel-outer') || panel.content.node;
  if (step === null) return scroller.scrollHeight;
  scroller.scrollTop = step;
  return scroller.scrollTop;
}"""


def _screenshots(page: Any, folder: Path) -> None:
    """One PNG per screenful of the notebook, top to bottom."""
    height = page.evaluate(SCROLLER_JS, None)
    step = VIEWPORT["height"] - 200
    for number, top in enumerate(range(0, max(height, 1), step)):
        if number >= MAX_SHOTS:
            break
        page.evaluate(SCROLLER_JS, top)
        page.wait_for_timeout(50)
        page.screenshot(path=str(folder / f"page-{number + 1:02d}.png"))


# -- apps behind jupyter-server-proxy ---------------------------------------------------


def _wsgi_app(environ: dict, start_response: Any) -> list[bytes]:
    body = f"WSGI app here: PATH_INFO={environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


async def _asgi_app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        message = await receive()
        if message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": f"echo: {message.get('text')}"})
            await send({"type": "websocket.close", "code": 1000})
    else:
        body = f"ASGI app here: path={scope['path']}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def proxied_apps() -> Iterator[tuple[gl.Server, gl.Server]]:
    wsgi = gl.serve_wsgi(_wsgi_app, name="course-browser-proxy-wsgi")
    asgi = gl.serve_asgi(_asgi_app, name="course-browser-proxy-asgi")
    try:
        yield wsgi, asgi
    finally:
        wsgi.stop()
        asgi.stop()


WEBSOCKET_JS = """(url) => new Promise((resolve) => {
  const socket = new WebSocket(url);
  socket.onopen = () => socket.send('hello');
  socket.onmessage = (event) => resolve(event.data);
  socket.onerror = () => resolve('websocket error');
  setTimeout(() => resolve('websocket timeout'), 10000);
})"""


@pytest.fixture
def plain_page(browser: Any) -> Iterator[Any]:
    """A page of its own (the JupyterLab page stays on JupyterLab)."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def test_served_apps_through_jupyter_server_proxy(
    course_lab: JupyterLab, plain_page: Any, proxied_apps: tuple[gl.Server, gl.Server]
) -> None:
    """The browser reaches in-kernel-style servers at /proxy/<port>/, prefix stripped."""
    page = plain_page
    wsgi, asgi = proxied_apps
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    hub_link = browser_url_for(wsgi.port, {"JUPYTERHUB_SERVICE_PREFIX": "/"})
    assert hub_link == f"/proxy/{wsgi.port}/"  # what srv.browser_url says under a hub
    answer = page.goto(course_lab.url(f"{hub_link}lesson"))
    assert answer is not None and answer.status == 200, answer and answer.text()
    assert page.locator("body").inner_text() == "WSGI app here: PATH_INFO=/lesson"
    page.screenshot(path=str(ARTIFACTS / "proxy-wsgi.png"))

    answer = page.goto(course_lab.url(f"proxy/{asgi.port}/stream"))
    assert answer is not None and answer.status == 200, answer and answer.text()
    assert page.locator("body").inner_text() == "ASGI app here: path=/stream"
    ws_url = course_lab.base.replace("http://", "ws://") + f"/proxy/{asgi.port}/ws"
    assert page.evaluate(WEBSOCKET_JS, ws_url) == "echo: hello"
    assert [record.status for record in wsgi.requests] == [200]
    assert all(record.status in (200, 101, None) for record in asgi.requests)


# -- the checks above can fail ------------------------------------------------------------

BROKEN_CELLS = [
    # an IFrame whose server is gone: the browser shows its own error page
    "import gateway_lab as gl\n"
    "from IPython.display import IFrame\n"
    "def app(environ, start_response):\n"
    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
    "    return [b'fine']\n"
    "gone = gl.serve_wsgi(app, name='gone')\n"
    "url = gone.browser_url\n"
    "gone.stop()\n"
    "IFrame(url, width='100%', height=60)",
    # an IFrame whose app fails: a 500 page
    "def broken(environ, start_response):\n"
    "    raise RuntimeError('boom')\n"
    "failing = gl.serve_wsgi(broken, name='failing')\n"
    "IFrame(failing.browser_url, width='100%', height=60)",
    "1 / 0",
    "print('never reached')",
]


def test_the_checks_catch_a_broken_notebook(
    course_lab: JupyterLab, page: Any, frames: FrameResponses
) -> None:
    """A notebook with a dead IFrame, a failing IFrame and an error is reported as such."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in BROKEN_CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    name = "zz-broken-on-purpose.ipynb"
    nbformat.write(notebook, course_lab.root / name)
    open_notebook_in_place(page, name)
    run_all(page)
    state = wait_until_run(page, RUN_TIMEOUT)
    problems = _iframe_problems(page, frames)
    assert cell_errors(state) == ["cell 2: ZeroDivisionError: division by zero"]
    assert unrun_cells(state) == [3]
    assert len(problems) == 2, problems
    assert "error page" in problems[0]
    assert "HTTP 500" in problems[1]
