"""A JupyterHub on one machine for trying the course with several learners (and for the tests).

Theory of operation: JupyterHub reads this file (``jupyterhub -f
tools/jupyterhub_config.py``, from the repository's root, after ``python -m
pip install -r requirements.txt``, which installs JupyterHub, and ``npm ci
--prefix tools/hub-proxy``, which installs its proxy). Everything listens on
127.0.0.1 only; open http://127.0.0.1:8000/ and log in with any name and any
password.

* The proxy: JupyterHub's own ``configurable-http-proxy`` (Node.js), the
  version pinned in ``tools/hub-proxy/package-lock.json``; without that
  folder's ``node_modules``, the one on ``PATH`` (``npm install -g
  configurable-http-proxy``, as JupyterHub's documentation says).

* ``DummyAuthenticator``: any name, any password. For a trial on your own
  machine only, never on a network.
* ``SimpleLocalProcessSpawner``: each learner's JupyterLab runs as a process
  of the user who started the hub, with ``HOME`` in ``homes/<name>`` of the
  state folder. It separates the learners' *browsers* (each server admits
  only its owner, through the hub's OAuth, and jupyter-server-proxy behind it
  admits only what the server admits), but not their *kernels*: every
  kernel shares the machine's files and one loopback interface, so a
  learner's code can reach another learner's app at 127.0.0.1:PORT.
  docs/instructors.md says what isolates them (one pod per learner).
* Before a learner's first start, ``pre_spawn_hook`` copies the course's
  ``notebooks/`` into their home; JupyterLab opens lesson 00.
* The hub's state (its SQLite database, cookie secret, the proxy's pid file,
  the learners' homes) goes into ``GATEWAY_LAB_HUB_DIR`` (default:
  ``hub-trial/`` in the current folder); delete that folder to start afresh.

Environment settings (all optional): ``GATEWAY_LAB_HUB_DIR``,
``GATEWAY_LAB_HUB_PORT`` (8000: where browsers go), ``GATEWAY_LAB_HUB_API_PORT``
(8081: the hub itself), ``GATEWAY_LAB_PROXY_API_PORT`` (8001: the proxy's REST
API). tests/test_hub.py runs this file with free ports and a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

# JupyterHub defines get_config when it reads this file
c = get_config()  # type: ignore[name-defined]  # noqa: F821

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("GATEWAY_LAB_HUB_DIR", "hub-trial")).resolve()
HOMES = STATE / "homes"
BIN = Path(sys.executable).parent  # jupyterhub-singleuser lives beside Python
PROXY = ROOT / "tools" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
MARKER = "GATEWAY_LAB_HUB_TEST"  # set by the tests: every process of theirs carries it
GENERATED = ("cgi-bin-lab", ".ipynb_checkpoints", "__pycache__")


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


STATE.mkdir(parents=True, exist_ok=True)
c.JupyterHub.bind_url = f"http://127.0.0.1:{_port('GATEWAY_LAB_HUB_PORT', 8000)}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{_port('GATEWAY_LAB_HUB_API_PORT', 8081)}"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_port('GATEWAY_LAB_PROXY_API_PORT', 8001)}"
c.ConfigurableHTTPProxy.command = [
    str(PROXY) if PROXY.exists() else shutil.which("configurable-http-proxy") or str(PROXY)
]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(HOMES / "{username}")
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
# window.jupyterapp lets the browser tests read JupyterLab's model; root needs --allow-root
c.Spawner.args = ["--LabApp.expose_app_in_browser=True"]
if hasattr(os, "geteuid") and os.geteuid() == 0:
    c.Spawner.args.append("--allow-root")
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab/tree/notebooks/00-start-here.ipynb"
c.Spawner.start_timeout = 120  # generous: many learners may start together
c.Spawner.http_timeout = 120


def _lab_dir(part: str) -> Any:
    def where(spawner: Any) -> str:
        return str(HOMES / spawner.user.name / ".jupyter" / "lab" / part)

    return where


c.Spawner.environment = {
    "JUPYTERLAB_SETTINGS_DIR": _lab_dir("user-settings"),
    "JUPYTERLAB_WORKSPACES_DIR": _lab_dir("workspaces"),
}
if MARKER in os.environ:
    c.Spawner.environment[MARKER] = os.environ[MARKER]


def copy_the_course(spawner: Any) -> None:
    """Give a learner their own copy of notebooks/ the first time their server starts."""
    target = Path(spawner.home_dir) / "notebooks"
    if not target.exists():
        shutil.copytree(ROOT / "notebooks", target, ignore=shutil.ignore_patterns(*GENERATED))


c.Spawner.pre_spawn_hook = copy_the_course
