"""The JupyterLite edition's wheels: from PyPI, from sdists, from this checkout; all locked.

Theory of operation: Pyodide installs packages named in its ``pyodide-lock.json``
from files next to it, checking each file's sha256. The npm ``pyodide``
package ships that lock but none of the wheels it names. So the build
downloads pure-Python wheels from PyPI at exactly the lock's versions
(:func:`download_wheels`, for Pyodide's Python version), builds a pure
wheel where the lock names a wasm one (:func:`pure_wheel_from_sdist`), builds
``gateway_lab`` from a copy of this checkout (:func:`package_wheel`), and
:func:`rewrite_lock` then makes the lock name exactly the shipped files: the
lock's own entries get the new ``file_name`` and ``sha256``, our wheels get
entries made from their metadata (:func:`lock_entry`: only the
dependencies whose PEP 508 markers hold in the browser), and everything
else is dropped, so nothing the site lacks can be asked for. Downloads are
kept in the build's cache, keyed by the pins.
"""

from __future__ import annotations

import email.message
import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_FILES = ("pyproject.toml", "README.md")

__all__ = [
    "BuildError",
    "canonical",
    "default_cache",
    "digest",
    "run",
    "browser_environment",
    "download_wheels",
    "kernel_shim",
    "lock_entry",
    "package_wheel",
    "pins",
    "pure_wheel_from_sdist",
    "rewrite_lock",
    "sha256",
]


class BuildError(RuntimeError):
    """The site could not be built, or was built wrong; the message says which step."""


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gateway-lab-lite"


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, text=True, capture_output=True, **kwargs)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(command[:4])} ... failed:\n{done.stdout}\n{done.stderr}")
    return done


def digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def pins(path: Path) -> list[str]:
    """The requirement lines of a pins file (comments and blank lines left out)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def canonical(pin: str) -> str:
    return re.sub(r"[-_.]+", "-", pin.split("==", 1)[0]).lower()


def download_wheels(
    python: Path, requirements: list[str], folder: Path, python_version: str
) -> list[Path]:
    """Pure-Python wheels for Pyodide's Python, exactly the pinned versions, no dependencies."""
    key = digest("\n".join([python_version, *requirements]).encode())
    stamp = folder / f"stamp-{key}"
    if not stamp.exists():
        folder.mkdir(parents=True, exist_ok=True)
        run([str(python), "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
              "--python-version", python_version, "-d", str(folder), *requirements])  # fmt: skip
        stamp.write_text("\n".join(requirements) + "\n")
    wheels = []
    for pin in requirements:
        name, version = canonical(pin), pin.split("==", 1)[1]
        found = [
            wheel
            for wheel in folder.glob("*.whl")
            if canonical(wheel.name.split("-")[0]) == name and wheel.name.split("-")[1] == version
        ]
        if len(found) != 1:
            raise BuildError(f"expected one wheel for {pin} in the cache, found {found}")
        wheels.append(found[0])
    return wheels


def pure_wheel_from_sdist(python: Path, pin: str, cache: Path) -> Path:
    """A py3-none-any wheel of a package whose C extension is optional (markupsafe)."""
    name, version = canonical(pin), pin.split("==", 1)[1]
    folder = cache / "sdist-wheels"
    found = list(folder.glob(f"{name}-{version}-py3-none-any.whl"))
    if found:
        return found[0]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        run([str(python), "-m", "pip", "download", "-q", "--no-deps", "--no-binary=:all:",
              "-d", str(work), pin])  # fmt: skip
        (sdist,) = work.glob("*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(work, filter="data")
        (tree,) = (path for path in work.iterdir() if path.is_dir())
        # setup.py only adds the optional C speedups; without it setuptools builds a pure wheel
        (tree / "setup.py").write_text("from setuptools import setup\n\nsetup()\n")
        folder.mkdir(parents=True, exist_ok=True)
        run([str(python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder), str(tree)])
    found = list(folder.glob(f"{name}-{version}-py3-none-any.whl"))
    if len(found) != 1:
        raise BuildError(f"building {pin} from its sdist gave {list(folder.iterdir())}")
    return found[0]


def package_wheel(python: Path, target: Path) -> Path:
    """The gateway_lab wheel, built from a copy of the checkout (the tree is not written to)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "src"
        shutil.copytree(
            ROOT / "gateway_lab",
            copy / "gateway_lab",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        for name in PACKAGE_FILES:
            shutil.copy2(ROOT / name, copy / name)
        run([str(python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(target), str(copy)])
    (wheel,) = target.glob("gateway_lab-*.whl")
    return wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def _top_level(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = {
            n.split("/")[0]
            for n in archive.namelist()
            if not n.split("/")[0].endswith((".dist-info", ".data"))
        }
    return sorted(n.removesuffix(".py") for n in names if n.endswith(".py") or "." not in n)


def lock_entry(wheel: Path, environment: dict[str, str]) -> dict[str, Any]:
    """A pyodide-lock.json entry for a pure-Python wheel: its dependencies from its metadata.

    Dependencies are those whose markers hold in the browser (``environment``), extras left out.
    """
    from packaging.requirements import Requirement

    meta = _metadata(wheel)
    depends = []
    for line in meta.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({**environment, "extra": ""}):
            depends.append(canonical(requirement.name))
    return {
        "name": meta["Name"],
        "version": meta["Version"],
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": sha256(wheel),
        "package_type": "package",
        "imports": _top_level(wheel),
        "depends": sorted(set(depends)),
        "unvendored_tests": False,
    }


def browser_environment(lock: dict[str, Any]) -> dict[str, str]:
    """PEP 508 marker values for Pyodide's Python (from the lock's ``info``)."""
    full = lock["info"]["python"]
    return {
        "sys_platform": "emscripten",
        "platform_system": "Emscripten",
        "os_name": "posix",
        "platform_machine": "wasm32",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": ".".join(full.split(".")[:2]),
        "python_full_version": full,
    }


def rewrite_lock(lock_path: Path, wheels: list[Path], ours: list[Path]) -> list[str]:
    """Point the lock at the shipped wheels, add ``ours``, drop every package not shipped.

    ``wheels`` replace the lock's own entries (same versions); ``ours`` get new
    entries (:func:`lock_entry`), so that ``%pip install gateway_lab`` loads
    everything from the lock in one go. Returns the names kept. Fails if a
    kept package depends on one not shipped.
    """
    lock = json.loads(lock_path.read_text())
    by_name = {canonical(name): name for name in lock["packages"]}
    kept: dict[str, Any] = {}
    for wheel in wheels:
        key = by_name.get(canonical(wheel.name.split("-")[0]))
        if key is None:
            raise BuildError(f"{wheel.name}: Pyodide's lock has no such package")
        entry = dict(lock["packages"][key])
        version = wheel.name.split("-")[1]
        if entry["version"] != version:
            raise BuildError(f"{wheel.name}: the lock pins {key} {entry['version']}")
        entry.update(file_name=wheel.name, sha256=sha256(wheel))
        kept[key] = entry
    environment = browser_environment(lock)
    for wheel in ours:
        entry = lock_entry(wheel, environment)
        key = canonical(entry["name"])
        if key in kept:
            raise BuildError(f"{wheel.name}: the lock already ships {key}")
        kept[key] = entry
        by_name[key] = key
    for key, entry in kept.items():
        missing = [dep for dep in entry["depends"] if by_name.get(canonical(dep)) not in kept]
        if missing:
            raise BuildError(f"the lock's {key} needs {missing}, which the site does not ship")
    lock["packages"] = dict(sorted(kept.items()))
    lock_path.write_text(json.dumps(lock, indent=1) + "\n")
    return sorted(kept)


def kernel_shim(tools: Path, name: str) -> Path:
    """A wheel bundled with the Pyodide kernel (its widgetsnbextension stand-in, for ipywidgets)."""
    shims = tools / "share" / "jupyter" / "labextensions" / "@jupyterlite"
    found = sorted(shims.glob(f"pyodide-kernel-extension/static/pypi/{name}-4.*-py3-none-any.whl"))
    if not found:
        raise BuildError(f"the Pyodide kernel bundles no {name} 4 wheel")
    return found[-1]
