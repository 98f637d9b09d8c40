"""The project's trial JupyterHub, started on 127.0.0.1 for a test, and a way to stop all of it.

Theory of operation: :func:`jupyterhub` starts ``python -m jupyterhub -f
tools/jupyterhub_config.py`` (the hub docs/instructors.md tells instructors to
try: ``DummyAuthenticator``, ``SimpleLocalProcessSpawner``, JupyterHub's
Node.js proxy; that file explains each setting) as a child process in a
session (process group) of its own, with the environment settings that file
reads:

* **The proxy** comes from the project's own files: :func:`install_proxy`
  runs ``npm ci --prefix tools/hub-proxy`` (the pinned version, from its
  package-lock.json) when ``node_modules`` is not there yet; .ci/run installs
  Node.js and npm when a machine has none.

* **Ports**: the public port (the proxy, where browsers go), the hub's own
  port and the proxy's REST API are free ports on 127.0.0.1 picked here; the
  spawner picks the single-user servers' ports itself, on 127.0.0.1 too.
* **State**: the hub's SQLite database, cookie secret, the proxy's pid file,
  the hub's log, a ``HOME`` for the hub, and one home folder per learner all
  live in the test's temporary folder. Each learner's home gets JupyterLab
  settings that draw every cell and never fetch news (browser_support's)
  before they log in; the hub copies the course into it at their first start.
* **Stopping, whatever happens**: every process the hub starts inherits one
  marker variable in its environment (the proxy inherits the hub's
  environment; the single-user servers get it through ``Spawner.environment``;
  kernels inherit their server's). On exit the hub is asked to stop (SIGTERM:
  it stops the servers and the proxy itself), then every process still
  carrying the marker has its process group killed, so nothing outlives the
  test, even if the hub crashed and left orphans.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from browser_support import _write_settings, free_port

__all__ = ["Hub", "HubTestError", "install_proxy", "jupyterhub", "marked_processes"]

MARKER = "GATEWAY_LAB_HUB_TEST"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class HubTestError(AssertionError):
    """The hub did not start, or did not answer in time."""


@dataclass(frozen=True)
class Hub:
    """A running hub: where browsers go, where its files are, and its marker."""

    base: str  # http://127.0.0.1:PORT, the proxy's public address
    scratch: Path
    homes: Path
    log: Path
    marker: str

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "jupyterhub_config.py"
PROXY_DIR = ROOT / "tools" / "hub-proxy"
PROXY = PROXY_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
NPM_TIMEOUT = 300.0


def install_proxy() -> Path:
    """The proxy's command, installed with ``npm ci`` from tools/hub-proxy if needed."""
    if PROXY.exists():
        return PROXY
    npm = shutil.which("npm")
    if npm is None:
        raise HubTestError(
            "JupyterHub's proxy needs Node.js and npm (Debian: apt-get install nodejs npm), "
            "then: npm ci --prefix tools/hub-proxy"
        )
    done = subprocess.run(
        [npm, "ci", "--prefix", str(PROXY_DIR), "--no-audit", "--no-fund"],
        capture_output=True, text=True, timeout=NPM_TIMEOUT,
    )  # fmt: skip
    if done.returncode != 0 or not PROXY.exists():
        raise HubTestError(f"npm ci --prefix tools/hub-proxy failed:\n{done.stdout}{done.stderr}")
    return PROXY


@contextlib.contextmanager
def jupyterhub(scratch: Path, learners: Iterable[str]) -> Iterator[Hub]:
    """Run the project's trial hub (tools/jupyterhub_config.py) on free ports, state in ``scratch``.

    Each learner's home gets browser_support's JupyterLab settings before they
    log in (the hub copies the course into it at their first start). Stops the
    hub and every process it started on exit (see the module's docstring).
    """
    install_proxy()
    homes = scratch / "homes"
    for name in learners:
        _write_settings(homes / name)
    marker = secrets.token_hex(8)
    public = free_port()
    (scratch / "hub-home").mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    env.pop("CONFIGPROXY_AUTH_TOKEN", None)
    env.update(
        {
            "HOME": str(scratch / "hub-home"),
            MARKER: marker,
            "GATEWAY_LAB_HUB_DIR": str(scratch),
            "GATEWAY_LAB_HUB_PORT": str(public),
            "GATEWAY_LAB_HUB_API_PORT": str(free_port()),
            "GATEWAY_LAB_PROXY_API_PORT": str(free_port()),
        }
    )
    log_path = scratch / "jupyterhub.log"
    hub = Hub(f"http://127.0.0.1:{public}", scratch, homes, log_path, marker)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=scratch,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait_until_up(process, hub)
            yield hub
        finally:
            _stop(process, marker)


def _wait_until_up(process: subprocess.Popen[bytes], hub: Hub) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise HubTestError(f"JupyterHub exited early:\n{hub.tail()}")
        try:
            if httpx.get(f"{hub.base}/hub/api", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise HubTestError(f"JupyterHub did not answer in {START_TIMEOUT:.0f} s:\n{hub.tail()}")
        time.sleep(0.25)


def marked_processes(marker: str) -> list[psutil.Process]:
    """Every live process whose environment carries this hub's marker."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARKER) == marker:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def _stop(process: subprocess.Popen[bytes], marker: str) -> None:
    """SIGTERM to the hub (it cleans up its servers and proxy), then kill what is left."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    own_group = os.getpgrp()
    for _ in range(3):
        leftovers = marked_processes(marker)
        if process.poll() is None:
            leftovers.append(psutil.Process(process.pid))
        if not leftovers:
            break
        groups = {_group_of(leftover) for leftover in leftovers}
        for group in groups:
            if group is not None and group != own_group:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)
        for leftover in leftovers:
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        psutil.wait_procs(leftovers, timeout=5)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


def _group_of(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except (ProcessLookupError, PermissionError):
        return None
