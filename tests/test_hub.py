"""A classroom on a real JupyterHub: three learners run lesson 00 and reach only their own apps.

Theory of operation: the module starts one JupyterHub on 127.0.0.1, the
trial hub docs/instructors.md describes (tools/jupyterhub_config.py:
``DummyAuthenticator``, ``SimpleLocalProcessSpawner``; tests/hub_support.py
gives it free ports and a temporary folder, and stops all of it at the end)
and one headless Chromium with a browser context (its own cookie jar) per
learner. The three learners work *at once*: every step below is started on
all three pages before the test waits for any of them, so their single-user
servers and kernels run side by side on the machine.

1. Each learner logs in through the hub's login form; the hub copies the
   course into their home, spawns their JupyterLab and opens lesson 00.
2. Each runs every cell of the lesson but the last (which stops every
   server) with JupyterLab's "Run All Above"; the lesson's two IFrames must
   show the apps' own bodies, served through ``/user/<name>/proxy/<port>/``:
   the path ``srv.browser_url`` gives under a hub. Then the last cell runs,
   and no cell may have raised.
3. Each then serves an app of their own from a new cell (an HTML page that
   talks back to the app over a WebSocket) and shows it in an IFrame; the
   test opens the same ``browser_url`` in a new tab too, and sends a
   WebSocket message through the hub's proxy.
4. Isolation: each learner tries the next one's app link, in their browser
   (page and WebSocket) and with their cookies from Python. The owner's
   single-user server (jupyter-server-proxy behind the hub's OAuth) must
   refuse: a redirect to the hub, which answers 403; the owner's page never
   arrives, and the owner's app sees no request at all.
5. What a local spawner cannot isolate, pinned down so that the guide's
   warning stays true: from their own *kernel*, a learner reaches another
   learner's app at ``127.0.0.1:PORT`` (one loopback interface for all).

The proxy is JupyterHub's own ``configurable-http-proxy`` (Node.js) from
npm, 4.6.3 as pinned by tools/hub-proxy/package-lock.json and installed from
it by ``npm ci`` (tests/hub_support.py), not the Python port on PyPI
(``configurable-http-proxy`` 0.4.0). The port was tried first and is the
easier install (one more pin for pip), but it is not the same proxy under
load: it buffers each response whole (the hub's spawn-progress stream
reaches the browser only at its end), gives up on an answer after tornado's
default 20 s, and forwards at most 10 requests at a time (tornado's
``AsyncHTTPClient`` default); in one run of six, one of the three learners
was left on "Your server is starting up" for good. The Node.js proxy streams,
has no such caps, and is the proxy Zero to JupyterHub runs in production;
the 4.6 series also runs on Debian's own Node.js 18. Who may reach which
server is decided by the hub's OAuth and each single-user server either way,
not by the proxy, which only forwards.

Screenshots and figures (time to spawn, each single-user server's memory)
go to test-artifacts/hub/.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from browser_support import (
    CELL_STATE_JS,
    CHROMIUM,
    KERNEL_IDLE_JS,
    cell_errors,
    chromium,
    error_tracebacks,
    unrun_cells,
    wait_until_run,
)
from hub_support import Hub, jupyterhub, marked_processes
from test_course_browser import WEBSOCKET_JS, FrameResponses

ROOT = Path(__file__).resolve().parent.parent
LESSON = "notebooks/00-start-here.ipynb"  # in each learner's home, as the hub copies it
LEARNERS = ("ada", "ben", "cleo")
ARTIFACTS = ROOT / "test-artifacts" / "hub"
SPAWN_TIMEOUT = 150.0  # three JupyterLabs starting at once on two busy cores
RUN_TIMEOUT = 120.0
LESSON_BODIES = ["Hello world from WSGI!", "Hello world from ASGI!"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
    pytest.mark.timeout(600),
]

# The learner's own cell: an app whose page opens a WebSocket back to it.
OWN_APP_CELL = '''\
OWNER, SECRET = {owner!r}, {secret!r}
PAGE = f"""<!doctype html><title>{{OWNER}}'s app</title>
<p id="owner">app of {{OWNER}}: {{SECRET}}</p><p id="echo">waiting</p>
<script>
const socket = new WebSocket(location.href.replace(/^http/, "ws") + "ws");
const echo = document.getElementById("echo");
socket.onopen = () => socket.send("hello");
socket.onmessage = (event) => {{{{ echo.textContent = event.data; }}}};
socket.onerror = () => {{{{ echo.textContent = "websocket error"; }}}};
</script>""".encode()

async def own_app(scope, receive, send):
    if scope["type"] == "http":
        await send({{"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]}})
        await send({{"type": "http.response.body", "body": PAGE}})
    elif scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({{"type": "websocket.accept"}})
        while (message := await receive())["type"] == "websocket.receive":
            text = f"{{OWNER}} echoes {{message['text']}}"
            await send({{"type": "websocket.send", "text": text}})

own_server = gl.serve_asgi(own_app, name="own-app")
IFrame(own_server.browser_url, width="100%", height=90)
'''

RUN_JS = """([command, index]) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index < 0 ? panel.content.widgets.length + index : index;
  window.jupyterapp.commands.execute(command);  // not awaited: the learners run at once
}"""

APPEND_CELL_JS = """(source) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const notebook = panel.content.model.sharedModel;
  notebook.insertCell(notebook.cells.length, {cell_type: 'code', source: source});
  return panel.content.widgets.length - 1;
}"""

KERNEL_JS = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: code, store_history: false});
  let text = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
    if (msg.header.msg_type === 'error') text += `${msg.content.ename}: ${msg.content.evalue}`;
  };
  await future.done;
  return text;
}"""


@dataclass
class Learner:
    """One learner: their browser context, their JupyterLab page, and what it showed."""

    name: str
    secret: str
    context: Any
    page: Any
    frames: FrameResponses
    lesson_state: dict = field(default_factory=dict)
    lesson_iframes: list[tuple[str, int | None, str]] = field(default_factory=list)
    own_iframe: tuple[str, str, str] = ("", "", "")
    app_url: str = ""  # own_server.browser_url, a path under the hub
    app_port: int = 0

    def kernel(self, code: str) -> str:
        """Run ``code`` in this learner's kernel (as if typed in a cell); its printed text."""
        return str(self.page.evaluate(KERNEL_JS, code))


@dataclass
class Classroom:
    hub: Hub
    learners: list[Learner]
    figures: dict[str, float]


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    """Three learners logged in, lesson 00 run, each serving their own app (see the docstring)."""
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterhub", reason="requirements.txt installs JupyterHub for this test")
    scratch = tmp_path_factory.mktemp("hub")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    try:
        with (
            pytest.MonkeyPatch.context() as env,
            jupyterhub(scratch, LEARNERS) as hub,
        ):
            (scratch / "browser-home").mkdir()
            env.setenv("HOME", str(scratch / "browser-home"))  # Chromium writes under HOME
            with chromium() as browser:
                learners = []
                try:
                    for name in LEARNERS:
                        context = browser.new_context(viewport={"width": 1280, "height": 1000})
                        page = context.new_page()
                        learner = Learner(
                            name, secrets.token_hex(8), context, page, FrameResponses(page)
                        )
                        learners.append(learner)
                    figures = _teach(hub, learners)
                    yield Classroom(hub, learners, figures)
                finally:
                    for learner in learners:
                        learner.context.close()
    finally:  # the hub's log, for a human reading a failure
        if (scratch / "jupyterhub.log").exists():
            shutil.copy(scratch / "jupyterhub.log", ARTIFACTS / "jupyterhub.log")


def _teach(hub: Hub, learners: list[Learner]) -> dict[str, float]:
    started = time.monotonic()
    for learner in learners:  # 1. log in; the hub spawns JupyterLab and opens the lesson
        target = f"/user/{learner.name}/lab/tree/{LESSON}"
        spawn = f"/hub/spawn/{learner.name}?next={quote(target)}"
        learner.page.goto(f"{hub.base}/hub/login?next={quote(spawn)}")
        learner.page.fill("#username_input", learner.name)
        learner.page.fill("#password_input", "any password")
        learner.page.click("#login_submit")
    for learner in learners:
        try:
            learner.page.wait_for_function(KERNEL_IDLE_JS, arg=LESSON, timeout=SPAWN_TIMEOUT * 1000)
        except Exception as exc:
            learner.page.screenshot(path=str(ARTIFACTS / f"{learner.name}-spawn.png"))
            raise AssertionError(f"{learner.name}: no JupyterLab: {exc}\n{hub.tail()}") from None
    spawned = time.monotonic()
    for learner in learners:  # 2. every cell but the last, then the last
        learner.page.evaluate(RUN_JS, ["notebook:run-all-above", -1])
    for learner in learners:
        _wait_for_cells(learner, above=-1)
        learner.lesson_iframes = _iframe_texts(learner, "body")
    for learner in learners:
        learner.page.evaluate(RUN_JS, ["notebook:run-cell", -1])
    for learner in learners:
        learner.lesson_state = state = wait_until_run(learner.page, RUN_TIMEOUT)
        learner.page.screenshot(path=str(ARTIFACTS / f"{learner.name}-lesson.png"))
        if cell_errors(state):  # nothing after this can work: say so, not something later
            raise AssertionError(f"{learner.name}: lesson 00 raised:\n{error_tracebacks(state)}")
    ran = time.monotonic()
    for learner in learners:  # 3. a new cell: the learner's own app, in an IFrame
        cell = OWN_APP_CELL.format(owner=learner.name, secret=learner.secret)
        index = learner.page.evaluate(APPEND_CELL_JS, cell)
        learner.page.evaluate(RUN_JS, ["notebook:run-cell", index])
    for learner in learners:
        state = wait_until_run(learner.page, RUN_TIMEOUT)
        assert not cell_errors(state), f"{learner.name}: {error_tracebacks(state)}"
        learner.own_iframe = _own_iframe(learner)
        where = learner.kernel("print(own_server.browser_url, own_server.port)").split()
        learner.app_url, learner.app_port = where[0], int(where[1])
        learner.page.screenshot(path=str(ARTIFACTS / f"{learner.name}-own-app.png"))
    figures = {
        "log_in_and_spawn_s": spawned - started,
        "lesson_00_s": ran - spawned,
        "own_app_s": time.monotonic() - ran,
    }
    servers = [
        p for p in marked_processes(hub.marker) if "jupyterhub-singleuser" in " ".join(p.cmdline())
    ]
    figures["singleuser_rss_mb"] = max(p.memory_info().rss for p in servers) / 2**20
    (ARTIFACTS / "figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    return figures


def _wait_for_cells(learner: Learner, above: int) -> None:
    """Wait until every code cell before index ``above`` (negative: from the end) ran."""
    deadline = time.monotonic() + RUN_TIMEOUT
    state: dict | None = None
    while time.monotonic() < deadline:
        state = learner.page.evaluate(CELL_STATE_JS)
        if state and state["status"] == "idle":
            cells = state["cells"][:above]
            if cell_errors(state) or all(cell["count"] or cell["empty"] for cell in cells):
                return
        learner.page.wait_for_timeout(250)
    raise AssertionError(f"{learner.name}: the lesson did not run in {RUN_TIMEOUT} s: {state}")


def _iframe_texts(learner: Learner, selector: str) -> list[tuple[str, int | None, str]]:
    """(src, HTTP status, text) of each IFrame in the notebook's outputs, once loaded."""
    found = []
    iframes = learner.page.locator(".jp-OutputArea-output iframe")
    for index in range(iframes.count()):
        element = iframes.nth(index)
        src = element.get_attribute("src") or ""
        frame = element.element_handle().content_frame()
        frame.wait_for_load_state("load", timeout=15_000)
        text = frame.locator(selector).first.inner_text(timeout=15_000)
        found.append((src, learner.frames.status.get(frame.url), text.strip()))
    return found


def _own_iframe(learner: Learner) -> tuple[str, str, str]:
    """(src, owner line, WebSocket echo) shown by the learner's own app's IFrame."""
    element = learner.page.locator(".jp-OutputArea-output iframe").last
    element.scroll_into_view_if_needed()
    frame = element.element_handle().content_frame()
    frame.wait_for_function(
        "() => document.getElementById('echo')?.textContent !== 'waiting'", timeout=15_000
    )
    owner = frame.locator("#owner").inner_text()
    return element.get_attribute("src") or "", owner, frame.locator("#echo").inner_text()


# -- the tests ----------------------------------------------------------------------------


def test_three_learners_run_lesson_00_through_the_hub(classroom: Classroom) -> None:
    for learner in classroom.learners:
        state = learner.lesson_state
        assert not cell_errors(state), f"{learner.name}: {error_tracebacks(state)}"
        assert not unrun_cells(state), f"{learner.name}: cells never ran: {unrun_cells(state)}"
        prefix = f"/user/{learner.name}/proxy/"
        assert [
            (src.startswith(prefix), status, text) for src, status, text in learner.lesson_iframes
        ] == [(True, 200, body) for body in LESSON_BODIES], learner.lesson_iframes


def test_each_learner_reaches_their_own_app_in_an_iframe_and_a_new_tab(
    classroom: Classroom,
) -> None:
    hub = classroom.hub
    for learner in classroom.learners:
        assert learner.app_url == f"/user/{learner.name}/proxy/{learner.app_port}/"
        assert learner.own_iframe == (
            learner.app_url,
            f"app of {learner.name}: {learner.secret}",
            f"{learner.name} echoes hello",
        )
        tab = learner.context.new_page()  # a new tab at the same link
        try:
            answer = tab.goto(hub.base + learner.app_url)
            assert answer is not None and answer.status == 200
            tab.wait_for_function("() => document.getElementById('echo').textContent !== 'waiting'")
            assert tab.locator("#echo").inner_text() == f"{learner.name} echoes hello"
            ws_url = hub.base.replace("http://", "ws://") + learner.app_url + "ws"
            assert tab.evaluate(WEBSOCKET_JS, ws_url) == f"{learner.name} echoes hello"
            tab.screenshot(path=str(ARTIFACTS / f"{learner.name}-new-tab.png"))
        finally:
            tab.close()


def _requests_seen(learner: Learner) -> int:
    return int(learner.kernel("print(len(own_server.requests))"))


def test_a_learner_cannot_open_another_learners_app(classroom: Classroom) -> None:
    hub, learners = classroom.hub, classroom.learners
    for intruder, owner in zip(learners, learners[1:] + learners[:1], strict=True):
        seen_before = _requests_seen(owner)
        link = hub.base + owner.app_url
        tab = intruder.context.new_page()
        try:
            statuses: list[tuple[int, str]] = []
            tab.on("response", lambda r, seen=statuses: seen.append((r.status, r.url)))
            answer = tab.goto(link)
            body = tab.content()
            assert answer is not None and answer.status == 403, (answer and answer.status, body)
            assert owner.secret not in body and f"app of {owner.name}" not in body
            first = next(status for status, url in statuses if url == link)
            assert first == 302  # the owner's server sends the intruder to the hub ...
            assert any(
                "/hub/api/oauth2/authorize" in url for _, url in statuses
            )  # ... which refuses
            ws_url = link.replace("http://", "ws://") + "ws"
            assert tab.evaluate(WEBSOCKET_JS, ws_url) == "websocket error"
            tab.screenshot(path=str(ARTIFACTS / f"{intruder.name}-tries-{owner.name}.png"))
        finally:
            tab.close()
        cookies = {c["name"]: c["value"] for c in intruder.context.cookies()}
        with httpx.Client(cookies=cookies, timeout=10) as client:
            direct = client.get(link)  # with the intruder's cookies, no redirect followed
            assert direct.status_code == 302, direct.text
            assert "/hub/api/oauth2/authorize" in direct.headers["location"]
            followed = client.get(link, follow_redirects=True)
            assert followed.status_code == 403
            assert owner.secret not in direct.text + followed.text
        assert httpx.get(link, timeout=10).status_code == 302  # no cookies at all
        assert _requests_seen(owner) == seen_before, "a refused request reached the owner's app"


def test_a_local_spawner_shares_one_loopback_between_learners(classroom: Classroom) -> None:
    """The limit docs/instructors.md states: kernels reach each other's ports directly."""
    ada, ben = classroom.learners[0], classroom.learners[1]
    page = ada.kernel(f"import httpx; print(httpx.get('http://127.0.0.1:{ben.app_port}/').text)")
    assert f"app of ben: {ben.secret}" in page
