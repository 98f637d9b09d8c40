"""How big a hub a class needs: the whole course run by N simulated learners at once.

Run: ``python benchmarks/sizing.py`` (3 learners), ``--learners 10`` for more,
``--json FILE`` to keep every figure, ``--help`` for the rest.

Theory of operation: a class that follows its instructor runs the same
lesson at the same time, so the script walks the course lesson by lesson and,
for each lesson, starts N *learners* together: N worker processes (this script
with ``--worker``), each running the lesson headless in a fresh kernel of its
own, in a fresh copy of ``notebooks/`` of its own, exactly as
``benchmarks/course.py`` runs one notebook (it is reused: nbclient, a
``python3`` kernel, a sampler thread). The next lesson starts when all N are
done. A worker measures, through psutil, over the kernel's process tree (the
kernel plus the processes its labs start: CGI scripts, gunicorn and its
workers, the lab servers):

* **CPU seconds**: user + system time of the kernel from its start, of the
  children it already reaped, and of the descendants still alive at the end
  (``course.tree_cpu_seconds``). Unlike wall time, CPU seconds barely move
  when the machine is shared with other work, or with the other simulated
  learners; that is the figure to size cores from.
* **Peak memory**: the highest resident memory of that tree, sampled every
  20 ms while the cells run.

Printed: per lesson, the mean and the highest CPU seconds per learner, the
peak memory per learner (the highest of the N), the wall time of the N
learners together and whether every run passed; then the course's total
(CPU seconds added up, memory at the heaviest lesson) and a sizing sketch
(:func:`sizing_table`) for 20, 50 and 100 learners. Not measured here: the
learner's JupyterLab server (about 156 MB in tests/test_hub.py's figures)
and the hub itself, which ``--server-mb`` adds to the memory estimate.
Wall-time figures are only informative on a machine shared with other work.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from course import GENERATED, ROOT, NotebookFigures, run_notebook  # noqa: E402

__all__ = ["LessonFigures", "run_lesson", "sizing_table"]

CLASS_SIZES = (20, 50, 100)
SAME_LAB_SHARE = 0.5  # of the class, starting the same lesson's cells ...
SAME_LAB_WINDOW_S = 60.0  # ... within one minute (a class following its instructor)
SERVER_MB = 160.0  # a learner's JupyterLab server: about 156 MB in tests/test_hub.py
SPARE_KERNELS = 1  # a finished notebook whose kernel the learner left running
HUB_CORES, HUB_GB = 1.0, 1.0  # the hub, its proxy and the operating system


@dataclass
class LessonFigures:
    """One lesson, run by N learners at once."""

    name: str
    learners: int
    cpu_mean_s: float
    cpu_max_s: float
    peak_mb: float  # the highest of the N learners' peaks
    steady_mb: float  # the highest kernel-only peak (what a left-open kernel keeps)
    wall_s: float
    passed: int


def run_lesson(notebook: Path, learners: int, scratch: Path, timeout: float) -> LessonFigures:
    """Start ``learners`` workers on ``notebook`` together; wait for all; gather their figures."""
    workers = []
    for number in range(learners):
        workdir = scratch / f"learner-{number + 1}" / notebook.stem
        shutil.copytree(notebook.parent, workdir, ignore=shutil.ignore_patterns(*GENERATED))
        result = workdir / "figures.json"
        command = [sys.executable, __file__, "--worker", str(workdir / notebook.name)]
        command += ["--result", str(result), "--timeout", str(timeout)]
        log = (workdir / "worker.log").open("wb")  # the kernel's chatter; shown on failure
        process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        workers.append((process, result))
    started = time.perf_counter()
    runs = []
    for process, result in workers:
        process.wait()
        if result.exists():
            runs.append(NotebookFigures(**json.loads(result.read_text())))
        else:
            tail = (result.parent / "worker.log").read_text(errors="replace")[-2000:]
            problem = f"worker exit {process.returncode}: {tail}"
            runs.append(NotebookFigures(notebook.name, problem=problem))
    wall = time.perf_counter() - started
    for run in runs:
        if not run.ok:
            print(f"  FAILED {notebook.name}: {run.problem}", flush=True)
    cpu = [run.cpu_s for run in runs]
    return LessonFigures(
        name=notebook.name,
        learners=learners,
        cpu_mean_s=statistics.mean(cpu),
        cpu_max_s=max(cpu),
        peak_mb=max(run.with_children_peak_mb for run in runs),
        steady_mb=max(run.kernel_peak_mb for run in runs),
        wall_s=wall,
        passed=sum(run.ok for run in runs),
    )


def worker(notebook: Path, result: Path, timeout: float) -> int:
    """One simulated learner: run ``notebook`` in a fresh kernel, write its figures."""
    figures = run_notebook(notebook, notebook.parent, timeout)
    result.write_text(json.dumps(asdict(figures)))
    return 0 if figures.ok else 1


@dataclass
class Sizing:
    """Cores and memory for one class size (see :func:`sizing_table`)."""

    learners: int
    cores: float
    memory_gb: float


def sizing_table(
    lessons: list[LessonFigures],
    sizes: tuple[int, ...] = CLASS_SIZES,
    server_mb: float = SERVER_MB,
) -> list[Sizing]:
    """Cores and GB for each class size, from the heaviest lesson.

    Assumption: ``SAME_LAB_SHARE`` of the class starts the same lesson's
    cells within ``SAME_LAB_WINDOW_S``; the cores needed are the CPU seconds
    they ask for divided by that window, plus ``HUB_CORES``. Memory: every
    learner at the heaviest lesson's peak at once (the worst case), plus
    their JupyterLab server and ``SPARE_KERNELS`` left-open kernels, plus
    ``HUB_GB``.
    """
    heaviest_cpu = max(lesson.cpu_max_s for lesson in lessons)
    peak_mb = max(lesson.peak_mb for lesson in lessons)
    spare_mb = max(lesson.steady_mb for lesson in lessons) * SPARE_KERNELS
    table = []
    for size in sizes:
        at_once = math.ceil(size * SAME_LAB_SHARE)
        cores = HUB_CORES + at_once * heaviest_cpu / SAME_LAB_WINDOW_S
        memory = HUB_GB + size * (peak_mb + server_mb + spare_mb) / 1024
        table.append(Sizing(size, cores, memory))
    return table


def print_report(lessons: list[LessonFigures], server_mb: float) -> None:
    learners = lessons[0].learners
    print()
    print(f"{learners} learner(s) at once; per learner: CPU seconds (mean, max), peak memory")
    print(f"{'lesson':34} {'CPU mean':>9} {'CPU max':>8} {'peak MB':>8} {'wall (all)':>11}  passed")
    for lesson in lessons:
        print(
            f"{lesson.name:34} {lesson.cpu_mean_s:7.1f} s {lesson.cpu_max_s:6.1f} s "
            f"{lesson.peak_mb:8.0f} {lesson.wall_s:9.1f} s  {lesson.passed}/{lesson.learners}"
        )
    total_cpu = sum(lesson.cpu_mean_s for lesson in lessons)
    peak = max(lessons, key=lambda lesson: lesson.peak_mb)
    print(
        f"{'whole course':34} {total_cpu:7.1f} s {sum(x.cpu_max_s for x in lessons):6.1f} s "
        f"{peak.peak_mb:8.0f} {sum(x.wall_s for x in lessons):9.1f} s  (memory: {peak.name})"
    )
    print()
    print(
        f"Sizing ({SAME_LAB_SHARE:.0%} of the class starts the same lesson within "
        f"{SAME_LAB_WINDOW_S:.0f} s; each learner: heaviest peak + a {server_mb:.0f} MB "
        f"JupyterLab server + {SPARE_KERNELS} left-open kernel; hub: {HUB_CORES:.0f} core, "
        f"{HUB_GB:.0f} GB)"
    )
    for row in sizing_table(lessons, server_mb=server_mb):
        print(f"  {row.learners:4d} learners: {row.cores:5.1f} cores, {row.memory_gb:5.1f} GB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=3, help="learners at once (default 3)")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--only", default="", help="run only the lessons whose name has this")
    parser.add_argument("--timeout", type=float, default=300.0, help="per cell, seconds")
    parser.add_argument("--server-mb", type=float, default=SERVER_MB)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.result, args.timeout)
    if not 1 <= args.learners <= 200:
        raise SystemExit("--learners must be between 1 and 200")
    notebooks = [p for p in sorted(args.notebooks.glob("*.ipynb")) if args.only in p.name]
    if not notebooks:
        raise SystemExit(f"No notebooks (*.ipynb) in {args.notebooks} matching {args.only!r}")
    print(
        f"Python {sys.version.split()[0]} on {os.cpu_count()} cores; {len(notebooks)} lessons, "
        f"{args.learners} learner(s) at once"
    )
    lessons = []
    with tempfile.TemporaryDirectory(prefix="gateway-lab-sizing-") as scratch:
        for notebook in notebooks:
            lesson = run_lesson(notebook, args.learners, Path(scratch), args.timeout)
            lessons.append(lesson)
            print(f"  {lesson.name}: {lesson.wall_s:.1f} s, {lesson.passed}/{args.learners} passed")
    print_report(lessons, args.server_mb)
    if args.json:
        sizing = sizing_table(lessons, server_mb=args.server_mb)
        args.json.write_text(
            json.dumps(
                {
                    "cores": os.cpu_count(),
                    "learners": args.learners,
                    "lessons": [asdict(lesson) for lesson in lessons],
                    "sizing": [asdict(row) for row in sizing],
                },
                indent=1,
            )
            + "\n"
        )
    return 0 if all(lesson.passed == lesson.learners for lesson in lessons) else 1


if __name__ == "__main__":
    sys.exit(main())
