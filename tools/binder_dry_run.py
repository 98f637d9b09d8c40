"""A Binder dry run: build the environment as repo2docker would, then run every notebook in it.

Run: ``python tools/binder_dry_run.py`` (``--help`` for the options).

Theory of operation: Binder builds an image with repo2docker, whose Python
build pack, given a ``binder/`` folder, reads only that folder:

1. ``binder/runtime.txt`` (``python-3.11``) picks the Python. Here: the
   running interpreter if its minor version matches, else ``python3.X`` from
   PATH, else the closest version found (and the report says so).
2. A fresh virtual environment, then ``pip install -r binder/requirements.txt``
   (pip's cache is used, so a second run is quick; ``--no-compile`` leaves the
   byte-code to the first import, which changes nothing the lessons do and
   saves compiling the whole 360 MB environment up front).
3. ``binder/postBuild`` runs from the repository's root with the new
   environment first on PATH. repo2docker works on a clone of the repository,
   and so does this script, in its way: it copies exactly the files git
   tracks (``git ls-files``), as they are in the working tree, so an edit not
   yet committed is tested but an untracked file is not (a clean clone in CI
   would not have it). Copying the working tree instead would copy build
   output, caches and, worst, a temporary folder inside the checkout, which
   would then hold the copy being made of it, over and over. (So a new file
   takes part once it is committed or staged with ``git add``.) postBuild
   builds the package in the copy, so the checkout stays untouched.

Then the proof: ``gateway_lab`` must import from the new environment's site-packages
(postBuild installed it, not an editable checkout), every module any lesson imports must
import there, and every ``notebooks/*.ipynb`` (or those named with ``--only``) is
executed in the new environment's own kernel by ``benchmarks/course.py``, which reports
per-notebook pass/fail, time and memory. The kernel gets a scratch HOME, so no kernel
spec or setting of the machine's user can leak in.

Exit status: 0 when everything passed, 1 when something failed, 3 when pip
could not reach the package registry (no network): the only case a caller
may treat as "could not check" rather than "failed".
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
NO_REGISTRY = 3
NETWORK_SIGNS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Could not fetch URL",
    "Max retries exceeded",
    "ProxyError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Connection refused",
)

__all__ = ["copy_tracked", "pick_python", "runtime_version", "tracked_files"]


def runtime_version(runtime: Path = BINDER / "runtime.txt") -> tuple[int, int]:
    """``python-3.11`` -> (3, 11)."""
    text = runtime.read_text().strip() if runtime.exists() else ""
    match = re.fullmatch(r"python-(\d+)\.(\d+)(?:\.\d+)?", text)
    if not match:
        raise SystemExit(f"binder/runtime.txt should say python-3.X, not {text!r}")
    return int(match.group(1)), int(match.group(2))


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def pick_python(wanted: tuple[int, int]) -> tuple[str, tuple[int, int], str]:
    """The interpreter to build with, its version, and a note when it is not the wanted one."""
    here = sys.version_info[:2]
    if here == wanted:
        return sys.executable, here, ""
    exact = shutil.which(f"python{wanted[0]}.{wanted[1]}")
    if exact:
        return exact, wanted, ""
    found: dict[tuple[int, int], str] = {}
    for minor in range(6, 20):
        path = shutil.which(f"python3.{minor}")
        version = _version_of(path) if path else None
        if path and version:
            found[version] = path
    found.setdefault(here, sys.executable)
    closest = min(found, key=lambda v: (abs(v[1] - wanted[1]), -v[1]))
    note = (
        f"binder/runtime.txt asks for Python {wanted[0]}.{wanted[1]}, which is not installed "
        f"here: using the closest one found, {closest[0]}.{closest[1]} ({found[closest]})."
    )
    return found[closest], closest, note


def tracked_files(root: Path = ROOT) -> list[str]:
    """Every path git tracks under ``root``, relative to it (``git ls-files``)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SystemExit(f"the dry run copies what git tracks, but git did not run: {exc}") from exc
    if listed.returncode:
        raise SystemExit(
            f"the dry run copies what git tracks, so {root} must be a git checkout: "
            f"git ls-files said {listed.stderr.decode(errors='replace').strip()!r}"
        )
    names = [name.decode("utf-8", "surrogateescape") for name in listed.stdout.split(b"\0")]
    return sorted(name for name in names if name)


def copy_tracked(root: Path, destination: Path) -> list[str]:
    """Copy the files git tracks under ``root`` into ``destination``, as they are now.

    Modes (a script's executable bit) and symbolic links (as links) are kept.
    A tracked file deleted from the working tree is skipped, as in a commit of
    the tree. ``destination`` may lie inside ``root``: nothing untracked is
    copied, so the copy never contains itself. Returns the copied paths.
    """
    copied = []
    for name in tracked_files(root):
        source = root / name
        if not os.path.lexists(source) or (source.is_dir() and not source.is_symlink()):
            continue  # deleted but not yet committed; or a submodule's folder
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()  # a copy kept from an earlier run (--workdir): replaced
        shutil.copy2(source, target, follow_symlinks=False)
        copied.append(name)
    return copied


def _run(step: str, argv: list[str], log: Path, **kwargs: object) -> tuple[int, float, str]:
    started = time.perf_counter()
    print(f"-- {step}: {' '.join(argv)}", flush=True)
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    output = done.stdout + done.stderr
    with log.open("a") as handle:
        handle.write(f"\n===== {step}: {' '.join(argv)}\n{output}")
    return done.returncode, time.perf_counter() - started, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="build here and keep it (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the report as JSON to this file")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these notebooks (file names, e.g. 00-start-here.ipynb); default: all",
    )
    args = parser.parse_args()

    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="binder-dry-run-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        return dry_run(scratch, args.json, args.only)
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


def notebook_imports(notebooks: Path) -> list[str]:
    """The top-level modules the lessons' code cells import (``import x.y`` gives ``x``)."""
    names: set[str] = set()
    for path in sorted(notebooks.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            if source.startswith("%%"):
                continue  # a cell magic: %%writefile writes a file, it imports nothing here
            lines = [
                line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
            ]
            try:
                tree = ast.parse("\n".join(lines))
            except SyntaxError:
                continue  # a cell that shows broken code on purpose
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return sorted(names)


def dry_run(scratch: Path, report_path: Path | None, only: list[str] | None = None) -> int:
    log = scratch / "build.log"
    report: dict[str, object] = {"steps": {}}
    steps: dict[str, float] = report["steps"]  # type: ignore[assignment]

    def finish(status: int, verdict: str) -> int:
        report["verdict"] = verdict
        report["status"] = status
        print(f"\nBinder dry run: {verdict}")
        if report_path:
            report_path.write_text(json.dumps(report, indent=2))
        return status

    wanted = runtime_version()
    python, version, note = pick_python(wanted)
    report.update(runtime=f"{wanted[0]}.{wanted[1]}", python=f"{version[0]}.{version[1]}")
    report["python_note"] = note
    print(f"runtime.txt: Python {wanted[0]}.{wanted[1]}; building with {python}")
    if note:
        print(note)

    repo = scratch / "repo"
    copied = copy_tracked(ROOT, repo)
    report["files_copied"] = len(copied)
    print(f"copied the {len(copied)} files git tracks into {repo}")
    venv = scratch / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    venv_python = str(venv / "bin" / "python")

    code, seconds, output = _run("venv", [python, "-m", "venv", str(venv)], log)
    steps["venv_s"] = seconds
    if code:
        return finish(1, f"FAILED: could not create a virtual environment:\n{output[-2000:]}")

    requirements = repo / "binder" / "requirements.txt"
    code, seconds, output = _run(
        "pip install -r binder/requirements.txt",
        [venv_python, "-m", "pip", "install", "-q", "--no-compile", "-r", str(requirements)],
        log,
        env=env,
        cwd=repo,
    )
    steps["pip_install_s"] = seconds
    if code:
        if any(sign in output for sign in NETWORK_SIGNS):
            return finish(
                NO_REGISTRY, f"SKIPPED: pip could not reach the registry:\n{output[-800:]}"
            )
        return finish(1, f"FAILED: pip install -r binder/requirements.txt:\n{output[-3000:]}")

    post_build = repo / "binder" / "postBuild"
    if post_build.exists():
        argv = [str(post_build)] if os.access(post_build, os.X_OK) else ["bash", str(post_build)]
        code, seconds, output = _run("binder/postBuild", argv, log, env=env, cwd=repo)
        steps["post_build_s"] = seconds
        if code:
            return finish(1, f"FAILED: binder/postBuild:\n{output[-3000:]}")

    where = subprocess.run(
        [venv_python, "-c", "import gateway_lab; print(gateway_lab.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=scratch,
    )
    location = where.stdout.strip()
    report["gateway_lab_from"] = location
    if where.returncode or not location.startswith(str(venv)):
        return finish(
            1,
            "FAILED: after postBuild, gateway_lab does not import from the new environment "
            f"(got {location or where.stderr.strip()[-500:]!r})",
        )

    home = scratch / "home"
    home.mkdir()
    kernel_env = {**env, "HOME": str(home), "JUPYTER_PLATFORM_DIRS": "1"}
    for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        kernel_env.pop(name, None)
    # Every module any lesson imports must import in Binder's environment, even
    # when only some lessons are run below (a missing pin shows here first).
    modules = notebook_imports(repo / "notebooks")
    probe = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    missing = [
        name
        for name in modules
        if subprocess.run(
            [venv_python, "-c", probe, name], env=kernel_env, cwd=scratch, capture_output=True
        ).returncode
    ]
    report["lesson_imports"] = modules
    if missing:
        return finish(1, f"FAILED: lessons import modules Binder's environment lacks: {missing}")
    print(f"-- the {len(modules)} modules the lessons import all import here")
    figures_path = scratch / "course.json"
    started = time.perf_counter()
    print(
        f"-- {', '.join(only) if only else 'every notebook'}, in the new environment's kernel:",
        flush=True,
    )
    course = subprocess.run(
        [
            venv_python,
            str(repo / "benchmarks" / "course.py"),
            "--notebooks",
            str(repo / "notebooks"),
            "--venv",
            str(venv),
            "--json",
            str(figures_path),
            *(["--only", *only] if only else []),
        ],
        env=kernel_env,
        cwd=repo,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    steps["notebooks_s"] = time.perf_counter() - started
    print(course.stdout)
    if not figures_path.exists():
        return finish(1, f"FAILED: benchmarks/course.py did not finish:\n{course.stdout[-3000:]}")
    figures = json.loads(figures_path.read_text())
    report["course"] = figures
    failed = [n["name"] for n in figures["notebooks"] if not n["ok"]]
    print(
        "build: "
        + ", ".join(f"{name[:-2]} {value:.1f} s" for name, value in steps.items())
        + f"; site-packages {figures['site_packages_bytes'] / 2**20:.0f} MB"
    )
    if failed:
        return finish(1, f"FAILED: notebooks that failed in the Binder environment: {failed}")
    return finish(0, f"all {len(figures['notebooks'])} notebooks passed")


if __name__ == "__main__":
    sys.exit(main())
