"""The JupyterLite build's parts, without a browser: lessons, lock, configuration checks.

Theory of operation: tests/test_lite.py builds the whole site and runs it
in Chromium; these tests pin down the pieces that decide what goes into
it, on small made-up inputs, in well under a second: how a tagged cell
becomes a note and its recorded output, what the lock says about our
wheels (no uvicorn, no psutil in the browser), and that the build's last
check catches a configuration that points off the site.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import build_lite  # noqa: E402
import lite_notebooks  # noqa: E402
import lite_wheels  # noqa: E402
from lite_notebooks import TAG  # noqa: E402

OS_CALLS = re.compile(r"\bgl\.(serve_wsgi|serve_asgi|serve_cgi|run_cgi|ws_connect|drive_load)\(")


def _code(source: str, tags: list[str] | None = None, outputs: list[Any] | None = None) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": tags} if tags else {},
        "outputs": outputs or [],
        "source": source,
    }


def _notebook(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_a_tagged_cell_becomes_a_note_and_its_recorded_output() -> None:
    source = _notebook(
        {"cell_type": "markdown", "metadata": {}, "source": "# Lesson"},
        _code("import gateway_lab as gl\nimport matplotlib.pyplot as plt"),
        _code("srv = gl.serve_wsgi(app)\nprint(srv.get('/').text)", tags=[TAG]),
        _code("gl.call_wsgi(app)"),
    )
    ran = json.loads(json.dumps(source))
    ran["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "Hello\n"}]
    ran["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "live\n"}]
    lite = lite_notebooks.lite_notebook(source, ran, "lesson")
    kinds = [cell["cell_type"] for cell in lite["cells"]]
    assert kinds == ["markdown", "markdown", "code", "code", "markdown", "markdown", "code"]
    assert lite["cells"][2]["source"] == lite_notebooks.INSTALL
    assert (
        "# import matplotlib.pyplot as plt  # not in the browser edition"
        in lite["cells"][3]["source"]
    )
    note, recorded = lite["cells"][4], lite["cells"][5]
    assert "Recorded" in note["source"] and "starts or calls a server" in note["source"]
    assert "```python\nsrv = gl.serve_wsgi(app)" in note["source"]
    assert recorded["source"].startswith("**Recorded output**")
    assert "```text\nHello\n```" in recorded["source"]
    assert lite["cells"][6]["outputs"] == []  # live cells run in the browser, from scratch


def test_images_become_attachments_and_html_stays_one_block() -> None:
    outputs = [
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "x"}},
        {"output_type": "execute_result", "data": {"text/html": "<table>\n\n<tr></tr>\n</table>"}},
    ]
    body, attachments = lite_notebooks.render_outputs(outputs, "lesson-3")
    assert attachments == {"lesson-3-1.png": {"image/png": "iVBORw0KGgo="}}
    assert "![recorded output](attachment:lesson-3-1.png)" in body
    html = body.split("\n\n", 1)[1]
    assert "\n\n" not in html and html.startswith("<div>")


def test_a_recorded_iframe_is_not_kept() -> None:
    """It pointed at a server that ran when the site was built: the page would try to reach it."""
    frame = '<iframe src="http://127.0.0.1:41395/" width="100%" height="60"></iframe>'
    outputs = [{"output_type": "display_data", "data": {"text/html": frame, "text/plain": "<X>"}}]
    body, _ = lite_notebooks.render_outputs(outputs, "lesson-1")
    assert body == lite_notebooks.IFRAME_NOTE and "127.0.0.1" not in body


def test_recording_errors_count_only_in_tagged_cells() -> None:
    error = {"output_type": "error", "ename": "OSError", "evalue": "boom", "traceback": []}
    executed = _notebook(
        _code("1/0", outputs=[error]),
        _code("serve()", tags=[TAG], outputs=[error]),
        _code("raise X", tags=[TAG, "raises-exception"], outputs=[error]),
    )
    assert lite_notebooks.recorded_errors(executed) == ["cell 1: OSError: boom"]


@pytest.mark.parametrize(
    ("value", "outside"),
    [
        ("./static/pyodide/pyodide.mjs", False),
        ("../lab", False),
        ("https://cdn.jsdelivr.net/pyodide/pyodide.mjs", True),
        ("//pypi.org/simple", True),
        ("HTTP://example.org", True),
    ],
)
def test_outside_urls(value: str, outside: bool) -> None:
    assert bool(build_lite.outside_urls({"a": [{"b": value}]})) is outside


def _wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    path = folder / f"{name}-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {line}\n" for line in requires
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{name}-{version}.dist-info/METADATA", metadata)
    return path


def test_the_lock_names_our_wheels_without_uvicorn_and_psutil(tmp_path: Path) -> None:
    lock = {
        "info": {"python": "3.14.2"},
        "packages": {
            "h11": {
                "name": "h11",
                "version": "0.16.0",
                "depends": [],
                "file_name": "x",
                "sha256": "",
            },
            "numpy": {
                "name": "numpy",
                "version": "2",
                "depends": [],
                "file_name": "y",
                "sha256": "",
            },
        },
    }
    lock_path = tmp_path / "pyodide-lock.json"
    lock_path.write_text(json.dumps(lock))
    h11 = _wheel(tmp_path, "h11", "0.16.0", [])
    ours = _wheel(
        tmp_path,
        "gateway_lab",
        "0.1.0",
        [
            "h11>=0.14",
            "uvicorn>=0.30; sys_platform != 'emscripten'",
            "psutil>=5.9; sys_platform != 'emscripten'",
            "pytest; extra == 'test'",
        ],
    )
    kept = lite_wheels.rewrite_lock(lock_path, [h11], [ours])
    assert kept == ["gateway-lab", "h11"]  # numpy is not shipped: pruned
    written = json.loads(lock_path.read_text())["packages"]
    assert written["gateway-lab"]["depends"] == ["h11"]
    assert written["gateway-lab"]["imports"] == ["gateway_lab"]
    assert written["h11"]["file_name"] == h11.name
    assert written["h11"]["sha256"] == lite_wheels.sha256(h11)


def test_the_lock_refuses_a_dependency_the_site_lacks(tmp_path: Path) -> None:
    lock_path = tmp_path / "pyodide-lock.json"
    lock_path.write_text(json.dumps({"info": {"python": "3.14.2"}, "packages": {}}))
    ours = _wheel(tmp_path, "needy", "1.0", ["not-shipped>=1"])
    with pytest.raises(lite_wheels.BuildError, match="not-shipped"):
        lite_wheels.rewrite_lock(lock_path, [], [ours])


LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", LESSONS, ids=[path.stem for path in LESSONS])
def test_no_live_cell_of_a_lite_lesson_needs_the_os(path: Path) -> None:
    """Every cell that serves, runs a script or opens a socket is tagged in the source."""
    source = json.loads(path.read_text())
    lite = lite_notebooks.lite_notebook(source, None, path.stem)
    live = [
        cell["source"]
        for cell in lite["cells"]
        if cell["cell_type"] == "code" and OS_CALLS.search(cell["source"])
    ]
    assert not live, f"{path.name}: untagged cells that need the OS:\n" + "\n---\n".join(live)


def test_pins_are_exact() -> None:
    for name in ("requirements.txt", "kernel-wheels.txt", "site-wheels.txt"):
        for pin in lite_wheels.pins(build_lite.LITE / name):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", pin), f"{name}: {pin}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", build_lite.pyodide_version())
