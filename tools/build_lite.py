"""Build the JupyterLite edition of the course (``_site/``) from PyPI and npm packages only.

Run: ``python tools/build_lite.py`` (``--help`` for the options), from the
course's environment (``requirements.txt`` installed): the recorded cells are
run on that environment's kernel.

Theory of operation: a JupyterLite site is static files; Python runs in the
browser tab (Pyodide, CPython compiled to WebAssembly, in a web worker). The
build makes that site from pinned packages, with nothing fetched at page load
from anywhere but the site itself:

1. **Tools.** A virtual environment of the build's own (in the cache, one per
   hash of ``lite/requirements.txt``) gets ``jupyterlite-core``, the Pyodide
   kernel and the widgets' front-end, so the course's environment is never
   changed.
2. **Pyodide's core** comes from the npm ``pyodide`` package (``npm pack``,
   version in ``lite/package.json``), unpacked to ``static/pyodide/`` of the
   staging folder, which makes the build write a local ``pyodideUrl``.
3. **The kernel's start-up wheels** (``lite/kernel-wheels.txt``: micropip,
   IPython and its dependencies, at the versions of Pyodide's lock) are
   downloaded from PyPI into the same folder; ``pyodide-lock.json`` is
   rewritten to name exactly those files (``file_name``, ``sha256``) and
   pruned of every package the site does not ship. The lock's ``markupsafe``
   is a wasm build; a pure-Python wheel is built from its sdist instead.
4. **Our wheels**: ``lite/site-wheels.txt`` (comm, ipywidgets, werkzeug,
   httpx, ...), the ``gateway_lab`` wheel built from this checkout and the
   kernel's own ``widgetsnbextension`` stand-in go to the same folder, each
   with a lock entry made from its metadata (dependencies whose markers hold
   in the browser: no uvicorn, no psutil), so ``%pip install gateway_lab``
   loads it all from the lock in one go. ``disablePyPIFallback`` forbids
   piplite to fall back to the internet for anything else.
5. **Lessons**: :mod:`lite_notebooks` makes each Lite lesson from
   ``notebooks/`` (cells tagged ``lite-recorded`` are replaced by a note and
   the output recorded from a real run made now on a CPython kernel).
6. ``jupyter lite build`` into ``_site/``, after deleting any earlier output
   and ``.jupyterlite.doit.db`` (a rebuild into old output silently drops
   ``pyodideUrl``). Then :func:`verify_site` fails the build if a built
   configuration names a URL outside the site, if the local Pyodide or the
   PyPI switch-off is missing, or if a file the lock names is not there.

Downloads, the tools' environment and the recorded runs are cached (``--cache``,
default ``$XDG_CACHE_HOME/gateway-lab-lite``), keyed by the pins and by the
notebooks' and package's contents, so a rebuild with nothing changed takes
seconds of packaging rather than minutes of downloads and runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lite_notebooks  # noqa: E402
from lite_wheels import (  # noqa: E402
    BuildError,
    canonical,
    default_cache,
    digest,
    download_wheels,
    kernel_shim,
    package_wheel,
    pins,
    pure_wheel_from_sdist,
    rewrite_lock,
    run,
)

ROOT = Path(__file__).resolve().parent.parent
LITE = ROOT / "lite"
SITE = ROOT / "_site"
KERNEL_SETTINGS = "@jupyterlite/pyodide-kernel-extension:kernel"
PYODIDE_URL = "./static/pyodide/pyodide.mjs"
SOURCE_BUILT = "markupsafe"  # the one kernel wheel built from its sdist
URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)

__all__ = ["build", "main", "outside_urls", "verify_site"]


# -- 1. the build's tools --------------------------------------------------------------


def tools_venv(cache: Path) -> Path:
    """A virtual environment with lite/requirements.txt installed (made once per pin set)."""
    requirements = LITE / "requirements.txt"
    home = cache / f"tools-{digest(requirements.read_bytes())}"
    python = home / "bin" / "python"
    if (home / "ready").exists() and python.exists():
        return home
    for stale in cache.glob("tools-*"):
        shutil.rmtree(stale, ignore_errors=True)
    venv.create(home, with_pip=True)
    run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)])
    (home / "ready").write_text("ok\n")
    return home


# -- 2. Pyodide's core from npm --------------------------------------------------------


def pyodide_version() -> str:
    return json.loads((LITE / "package.json").read_text())["dependencies"]["pyodide"]


def pyodide_core(cache: Path) -> Path:
    """The npm package's tarball (``npm pack`` checks the registry's integrity hash)."""
    version = pyodide_version()
    tarball = cache / "npm" / f"pyodide-{version}.tgz"
    if tarball.exists():
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm is missing: install Node.js and npm (Debian: apt-get install -y nodejs npm)"
        )
    tarball.parent.mkdir(parents=True, exist_ok=True)
    run([npm, "pack", f"pyodide@{version}", "--pack-destination", str(tarball.parent)])
    if not tarball.exists():
        raise BuildError(f"npm pack did not write {tarball.name}")
    return tarball


def unpack_core(tarball: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = Path(member.name)
            if not member.isfile() or name.parts[0] != "package" or len(name.parts) != 2:
                continue
            if name.suffix == ".map" or name.name.endswith((".d.ts", ".html")):
                continue
            source = archive.extractfile(member)
            assert source is not None
            (target / name.name).write_bytes(source.read())


# -- 3. and 4. wheels from PyPI, ours from this checkout -------------------------------


# -- 6. build and verify ---------------------------------------------------------------


def lite_config() -> dict[str, Any]:
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "gateway-lab in your browser",
            # window.jupyterapp: what the browser test (and a curious learner) reads the page with
            "exposeAppInBrowser": True,
            "litePluginSettings": {KERNEL_SETTINGS: {"disablePyPIFallback": True}},
        },
    }


OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def outside_urls(value: Any, where: str = "") -> list[str]:
    """Every string in a JSON value that is an absolute URL (``scheme://`` or ``//host``)."""
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in outside_urls(item, f"{where}/{key}")]
    if isinstance(value, list):
        return [hit for i, item in enumerate(value) for hit in outside_urls(item, f"{where}/{i}")]
    if isinstance(value, str) and URL.match(value.strip()):
        return [f"{where}: {value}"]
    return []


def verify_site(site: Path) -> dict[str, Any]:
    """Fail unless the built site is self-contained; returns the main kernel settings."""
    configs = [*site.rglob("jupyter-lite.json"), *site.rglob("overrides.json")]
    if not configs:
        raise BuildError(f"no jupyter-lite.json in {site}")
    problems = [
        f"{path.relative_to(site)}{hit}"
        for path in configs
        for hit in outside_urls(json.loads(path.read_text()))
    ]
    if problems:
        raise BuildError(
            "the built configuration names URLs outside the site:\n" + "\n".join(problems)
        )
    data = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = data.get("litePluginSettings", {}).get(KERNEL_SETTINGS, {})
    if kernel.get("pyodideUrl") != PYODIDE_URL:
        raise BuildError(
            f"the site's pyodideUrl is {kernel.get('pyodideUrl')!r}, not {PYODIDE_URL}"
        )
    if kernel.get("disablePyPIFallback") is not True:
        raise BuildError("disablePyPIFallback is not set: piplite could go to the internet")
    pyodide = site / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    absent = [
        e["file_name"] for e in lock["packages"].values() if not (pyodide / e["file_name"]).exists()
    ]
    if absent:
        raise BuildError(f"the lock names files the site does not have: {absent}")
    if "gateway-lab" not in lock["packages"]:
        raise BuildError("the site's pyodide-lock.json does not list gateway-lab")
    return kernel


def folder_size(folder: Path) -> tuple[int, int]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files), len(files)


def build(
    output: Path = SITE,
    cache: Path | None = None,
    record: bool = True,
    notebooks: Path = ROOT / "notebooks",
) -> dict[str, Any]:
    """Build the site into ``output``; returns figures (seconds, bytes, files, lessons)."""
    started = time.monotonic()
    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(output, ignore_errors=True)
    for stale in (ROOT / ".jupyterlite.doit.db", output.parent / ".jupyterlite.doit.db"):
        stale.unlink(missing_ok=True)
    tools = tools_venv(cache)
    python = tools / "bin" / "python"
    with tempfile.TemporaryDirectory(prefix="gateway-lab-lite-") as scratch:
        lite_dir = Path(scratch) / "lite"
        pyodide = lite_dir / "static" / "pyodide"
        unpack_core(pyodide_core(cache), pyodide)
        lock = json.loads((pyodide / "pyodide-lock.json").read_text())
        python_version = ".".join(lock["info"]["python"].split(".")[:2])
        kernel_pins = pins(LITE / "kernel-wheels.txt")
        binary = [pin for pin in kernel_pins if canonical(pin) != SOURCE_BUILT]
        kernel_wheels = download_wheels(python, binary, cache / "wheels", python_version)
        kernel_wheels += [
            pure_wheel_from_sdist(python, pin, cache)
            for pin in kernel_pins
            if canonical(pin) == SOURCE_BUILT
        ]
        ours = download_wheels(
            python, pins(LITE / "site-wheels.txt"), cache / "wheels", python_version
        )
        ours += [package_wheel(python, Path(scratch)), kernel_shim(tools, "widgetsnbextension")]
        for wheel in kernel_wheels + ours:
            shutil.copy2(wheel, pyodide / wheel.name)
        rewrite_lock(pyodide / "pyodide-lock.json", kernel_wheels, ours)
        (lite_dir / "jupyter-lite.json").write_text(json.dumps(lite_config(), indent=1))
        (lite_dir / "overrides.json").write_text(json.dumps(OVERRIDES, indent=1))
        contents = lite_dir / "contents"
        lessons = lite_notebooks.build_contents(
            notebooks, contents, cache / "recorded", ROOT / "gateway_lab", record_runs=record
        )
        run(
            [str(tools / "bin" / "jupyter"), "lite", "build", "--no-sourcemaps",
             "--lite-dir", str(lite_dir), "--contents", str(contents),
             "--settings-overrides", str(lite_dir / "overrides.json"),
             "--output-dir", str(output)],
            cwd=lite_dir,
            env={**os.environ, "PATH": f"{tools / 'bin'}{os.pathsep}{os.environ['PATH']}"},
        )  # fmt: skip
    verify_site(output)
    size, files = folder_size(output)
    return {
        "seconds": round(time.monotonic() - started, 1),
        "bytes": size,
        "files": files,
        "lessons": lessons,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=SITE, help="the site folder (deleted first)")
    parser.add_argument("--cache", type=Path, default=None, help="downloads and recorded runs")
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="do not run the notebooks: recorded cells say so instead of showing output",
    )
    parser.add_argument(
        "--notebooks", type=Path, default=ROOT / "notebooks", help="the source lessons"
    )
    args = parser.parse_args(argv)
    try:
        figures = build(
            args.output.resolve(), args.cache, not args.no_record, args.notebooks.resolve()
        )
    except (BuildError, lite_notebooks.RecordingError) as exc:
        print(f"build_lite: {exc}", file=sys.stderr)
        return 1
    print(
        f"built {args.output} in {figures['seconds']} s: {figures['bytes'] / 1e6:.1f} MB "
        f"in {figures['files']} files; lessons: {', '.join(figures['lessons'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
