"""The course's own figures: how long each notebook runs, how much memory its kernel needs.

Run: ``python benchmarks/course.py`` (``--help`` for the options).

Theory of operation: each ``notebooks/*.ipynb`` is executed headless, one
after the other, the way nbval and a learner's "Run All" do: a fresh kernel
(nbclient, the ``python3`` kernel of the interpreter running this script)
working in a temporary copy of ``notebooks/``, so nothing is written into the
repository. While the cells run, a thread samples the kernel process's
resident memory (psutil) every 20 ms and keeps the peak; CGI scripts and
other children the kernel starts are sampled too and reported apart. When the
last cell has run, the CPU time of the kernel's process tree is read: the
kernel's own user + system seconds since it started (its start-up included),
the seconds of every child it has already waited for (the kernel's
``children_user``/``children_system``: a CGI script that ended, a server
process that was stopped), and the seconds of the descendants still alive.
CPU seconds, unlike wall time, hardly change when other programs share the
machine, which is why benchmarks/sizing.py sizes a hub from them.

Printed, from one run on this machine:

1. per notebook: kernel start time, time to run all cells, the total, the
   kernel's peak RSS, the peak of kernel plus children, the CPU seconds of
   the kernel's process tree, and pass/fail (the first cell that raised, if
   any);
2. ``import gateway_lab`` in a fresh interpreter (median of 5);
3. the installed size of the environment's site-packages (``--venv PATH``
   measures a given virtual environment instead of the current one);
4. the targets from the issue: the whole course in <= 120 s on 2 cores, no
   kernel above 400 MB. ``--check`` exits 1 when a target is missed or a
   notebook fails. ``--json FILE`` also writes every figure as JSON (the
   Binder dry run and docs/instructors.md read it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
COURSE_TARGET_S = 120.0
KERNEL_TARGET_MB = 400.0
SAMPLE_EVERY_S = 0.02
GENERATED = ("cgi-bin-lab", ".ipynb_checkpoints", "__pycache__")
MB = 1024 * 1024

__all__ = [
    "GENERATED",
    "NotebookFigures",
    "PeakMemory",
    "import_time",
    "installed_size",
    "run_notebook",
    "tree_cpu_seconds",
]


@dataclass
class NotebookFigures:
    """What one headless run of one notebook measured."""

    name: str
    kernel_start_s: float = 0.0
    cells_s: float = 0.0
    total_s: float = 0.0
    kernel_peak_mb: float = 0.0
    with_children_peak_mb: float = 0.0
    cpu_s: float = 0.0  # kernel + its descendants, user + system, start-up included
    ok: bool = False
    problem: str = ""


def tree_cpu_seconds(process: psutil.Process) -> float:
    """User + system seconds of ``process``, its reaped children, and its live descendants."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.Error:
            continue  # ended between the listing and the reading: its parent counts it
        total += times.user + times.system + times.children_user + times.children_system
    return total


class PeakMemory:
    """Samples a process's RSS (and its children's) in a thread; keeps the peaks.

    On exit it also reads the CPU seconds of the process tree (``cpu_s``).
    """

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self.peak_with_children = 0
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                own = self.process.memory_info().rss
            except psutil.Error:
                return
            children = 0
            for child in self.process.children(recursive=True):
                try:
                    children += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, own)
            self.peak_with_children = max(self.peak_with_children, own + children)
            self._stop.wait(SAMPLE_EVERY_S)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.cpu_s = tree_cpu_seconds(self.process)
        except psutil.Error:
            self.cpu_s = 0.0  # the kernel died: no figure


def kernel_environment(home: Path | None = None) -> dict[str, str]:
    """The kernel's environment: as on a laptop (no hub prefix), optionally a scratch HOME."""
    env = dict(os.environ)
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
    if home is not None:
        env["HOME"] = str(home)
    return env


def run_notebook(path: Path, workdir: Path, timeout: float = 300.0) -> NotebookFigures:
    """Execute ``path`` (a copy of it, in ``workdir``) in a fresh kernel, measuring it."""
    figures = NotebookFigures(path.name)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    started = time.perf_counter()
    try:
        with client.setup_kernel(env=kernel_environment(), cwd=str(workdir)):
            ready = time.perf_counter()
            figures.kernel_start_s = ready - started
            with PeakMemory(client.km.provisioner.pid) as memory:
                try:
                    for index, cell in enumerate(notebook.cells):
                        client.execute_cell(cell, index)
                    figures.ok = True
                except CellExecutionError as exc:
                    figures.problem = _first_line_of(exc, index)
                finally:
                    figures.cells_s = time.perf_counter() - ready
            figures.kernel_peak_mb = memory.peak / MB
            figures.cpu_s = memory.cpu_s
            figures.with_children_peak_mb = memory.peak_with_children / MB
    except Exception as exc:  # the kernel died or did not start: a failure, reported
        figures.ok = False
        figures.problem = figures.problem or f"{type(exc).__name__}: {exc}"[:200]
    figures.total_s = time.perf_counter() - started
    return figures


def _first_line_of(exc: CellExecutionError, index: int) -> str:
    ename = getattr(exc, "ename", "") or "error"
    evalue = str(getattr(exc, "evalue", "")).splitlines()
    return f"cell {index}: {ename}: {evalue[0] if evalue else ''}"[:200]


def import_time(python: str = sys.executable, repeat: int = 5) -> float:
    """Median seconds for ``import gateway_lab`` in a fresh interpreter."""
    code = (
        "import time; started = time.perf_counter(); import gateway_lab; "
        "print(time.perf_counter() - started)"
    )
    samples = [
        float(
            subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
        )
        for _ in range(repeat)
    ]
    return statistics.median(samples)


def site_packages(venv: Path | None = None) -> list[Path]:
    """The site-packages folder(s) of ``venv``, or of the running environment."""
    if venv is not None:
        found = sorted(venv.glob("lib/python3*/site-packages")) + sorted(
            venv.glob("lib64/python3*/site-packages")
        )
        if not found:
            raise SystemExit(f"No lib/python3*/site-packages inside {venv}: is it a venv?")
        return list(dict.fromkeys(path.resolve() for path in found))
    paths = {Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"])}
    return sorted(path.resolve() for path in paths if path.is_dir())


def installed_size(folders: list[Path]) -> int:
    """Bytes of every regular file under ``folders`` (symlinks not followed)."""
    total = 0
    for folder in folders:
        for directory, _, files in os.walk(folder):
            for name in files:
                try:
                    stat = os.lstat(os.path.join(directory, name))
                except OSError:
                    continue
                if not os.path.islink(os.path.join(directory, name)):
                    total += stat.st_size
    return total


def run_course(notebooks: list[Path], timeout: float) -> list[NotebookFigures]:
    """Every notebook, one after the other, each in a fresh kernel and a fresh copy."""
    results = []
    with tempfile.TemporaryDirectory(prefix="gateway-lab-course-") as scratch:
        for path in notebooks:
            workdir = Path(scratch) / path.stem
            shutil.copytree(path.parent, workdir, ignore=shutil.ignore_patterns(*GENERATED))
            figures = run_notebook(workdir / path.name, workdir, timeout)
            results.append(figures)
            status = "ok" if figures.ok else f"FAILED ({figures.problem})"
            print(f"  {path.name}: {figures.total_s:.1f} s, {status}", flush=True)
    return results


def print_table(results: list[NotebookFigures]) -> None:
    print()
    print(
        f"{'notebook':34} {'kernel start':>12} {'cells':>8} {'total':>8} "
        f"{'kernel peak':>12} {'+children':>10} {'CPU':>7}  result"
    )
    for r in results:
        print(
            f"{r.name:34} {r.kernel_start_s:10.1f} s {r.cells_s:6.1f} s {r.total_s:6.1f} s "
            f"{r.kernel_peak_mb:9.0f} MB {r.with_children_peak_mb:7.0f} MB {r.cpu_s:5.1f} s  "
            f"{'pass' if r.ok else 'FAIL: ' + r.problem}"
        )
    total = sum(r.total_s for r in results)
    print(f"{'whole course':34} {'':>12} {'':>8} {total:6.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--venv", type=Path, help="measure this virtual environment's size")
    parser.add_argument("--timeout", type=float, default=300.0, help="per cell, seconds")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these notebooks (file names)"
    )
    args = parser.parse_args()

    notebooks = sorted(args.notebooks.glob("*.ipynb"))
    if args.only:
        missing = sorted(set(args.only) - {path.name for path in notebooks})
        if missing:
            raise SystemExit(f"No such notebooks in {args.notebooks}: {missing}")
        notebooks = [path for path in notebooks if path.name in args.only]
    if not notebooks:
        raise SystemExit(f"No notebooks (*.ipynb) in {args.notebooks}")
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} cores; {len(notebooks)} notebooks")
    results = run_course(notebooks, args.timeout)
    print_table(results)

    seconds = import_time()
    folders = site_packages(args.venv)
    size = installed_size(folders)
    total = sum(r.total_s for r in results)
    heaviest = max(results, key=lambda r: r.kernel_peak_mb)
    print()
    print(f"import gateway_lab (fresh interpreter, median of 5): {seconds * 1000:.0f} ms")
    where = f"the venv at {args.venv}" if args.venv else "this environment"
    print(f"installed size, site-packages of {where}: {size / MB:.0f} MB")
    course_ok = total <= COURSE_TARGET_S
    memory_ok = heaviest.kernel_peak_mb <= KERNEL_TARGET_MB
    all_ok = all(r.ok for r in results)
    print()
    print(
        f"target: whole course <= {COURSE_TARGET_S:.0f} s: {total:.1f} s "
        f"({'met' if course_ok else 'MISSED'})"
    )
    print(
        f"target: no kernel above {KERNEL_TARGET_MB:.0f} MB: highest "
        f"{heaviest.kernel_peak_mb:.0f} MB in {heaviest.name} ({'met' if memory_ok else 'MISSED'})"
    )
    print(f"notebooks passing: {sum(r.ok for r in results)} of {len(results)}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "python": sys.version.split()[0],
                    "cores": os.cpu_count(),
                    "notebooks": [asdict(r) for r in results],
                    "course_total_s": total,
                    "import_gateway_lab_s": seconds,
                    "site_packages_bytes": size,
                },
                indent=2,
            )
        )
    return 0 if (all_ok and course_ok and memory_ok) or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
