"""Make the JupyterLite lessons from ``notebooks/``: live cells kept, the rest recorded.

Theory of operation: there is one source of lessons, ``notebooks/``. A code
cell that needs a server, a thread or a process (none of which a browser tab
can give Python) carries the cell tag :data:`TAG` in its source notebook.
For the Lite edition, :func:`lite_notebook` copies every other cell as it is
(outputs cleared: they run live in the browser) and replaces each tagged one
by two Markdown cells:

1. a note: why the cell cannot run in the browser, its code, and where it
   runs for real (Binder, a laptop);
2. the output of that very cell from a real run (:func:`record`: the whole
   source notebook executed by nbclient on a CPython kernel when the site
   is built), labelled as recorded. Text stays text, HTML stays HTML (blank
   lines inside it are kept from ending the HTML block), images become cell
   attachments.

Two more edits make the live cells runnable in Pyodide, both announced in
the notebook: a first cell ``%pip install gateway_lab`` (from the site
itself), and imports of modules the browser edition does not ship
(:data:`NOT_IN_BROWSER`, for example matplotlib) turned into comments; the
plots they draw are in recorded cells. Before the first live cell that
checks an ASGI app, a note says that the check runs on the page's event
loop there (and that ``await gl.check_asgi(app)`` works everywhere).

Recorded runs are cached by the notebook's content and the package's
source (``cache/<stem>-<hash>.ipynb``), so an unchanged lesson is not run
again on the next build.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

TAG = "lite-recorded"
NOT_IN_BROWSER = ("matplotlib", "psutil", "gunicorn", "resource")
GENERATED = ("cgi-bin-lab", ".ipynb_checkpoints", "__pycache__")
CELL_TIMEOUT = 300
RECORDING_WORKERS = 2
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BINDER_HINT = "Binder or your own laptop (see the README)"

__all__ = [
    "NOT_IN_BROWSER",
    "TAG",
    "RecordingError",
    "build_contents",
    "lite_notebook",
    "reason",
    "record",
    "recorded_errors",
]

INTRO = (
    "**Browser edition.** This copy of the lesson runs in your browser tab "
    "(JupyterLite: Python compiled to WebAssembly), with nothing to install. "
    "A browser tab gives Python no sockets, threads or processes, so the cells "
    "that start a server, a thread or a process are shown with the output they "
    "gave on a real Python when this site was built, marked **Recorded**; "
    f"to run them yourself, open the lesson on {BINDER_HINT}. "
    "Every other cell runs live. The next cell installs the course's helper "
    "package from this site (nothing is downloaded from the internet)."
)
INSTALL = "%pip install -q gateway_lab"
IFRAME_NOTE = (
    "*(Here the notebook showed the running app's page in a frame. Run the lesson live to see it.)*"
)
ASGI_NOTE = (
    "**In the browser edition**, `gl.check_asgi(...)` (and the ASGI exercises) run the "
    "app on this page's own event loop while the cell waits: a browser tab gives Python no "
    "threads. `await gl.check_asgi(app)` gives the same report and works everywhere. The "
    "check cannot catch a blocking call here, and an app that never gives the loop back "
    "freezes this tab's kernel (Kernel > Restart Kernel)."
)
ASGI_CHECK = re.compile(r"\bcheck_asgi\(|gl\.exercise\(\s*[\"']asgi-")

REASONS = (
    (
        re.compile(r"\brun_cgi\b|\bsubprocess\b|cgi_|\.cgi\b"),
        "runs a program in a new process, which a browser tab cannot start",
    ),
    (
        re.compile(r"ws_connect|websocket", re.IGNORECASE),
        "opens a WebSocket to a server, which needs sockets a browser tab does not have",
    ),
    (
        re.compile(r"\bserve_|\.get\(|\.post\(|\bhttpx\b|\bsocket\b|server"),
        "starts or calls a server, which needs sockets a browser tab does not have",
    ),
    (
        re.compile(r"drive_load|load_lab|\bthreading\b|Thread|executor"),
        "starts threads, which Python in a browser tab does not have",
    ),
    (
        re.compile(r"matplotlib|plt\."),
        "draws with matplotlib, which this browser edition does not ship",
    ),
)
FALLBACK_REASON = "needs a server, a thread or a process, which a browser tab does not have"


def reason(source: str) -> str:
    """Why a tagged cell cannot run in the browser: the first reason that fits its code."""
    return next((why for pattern, why in REASONS if pattern.search(source)), FALLBACK_REASON)


def _markdown(text: str, **extra: Any) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text, **extra}


def _code(text: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": text,
    }


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _fence(text: str, language: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _html_block(html: str) -> str:
    """HTML that Markdown keeps as one block: no blank line may end it early."""
    lines = [line if line.strip() else "<!-- -->" for line in html.strip().splitlines()]
    return "<div>\n" + "\n".join(lines) + "\n</div>"


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def render_outputs(outputs: list[dict[str, Any]], stem: str) -> tuple[str, dict[str, Any]]:
    """The outputs as Markdown, and the attachments (images) it refers to."""
    parts: list[str] = []
    attachments: dict[str, Any] = {}
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(_fence(ANSI.sub("", _joined(output.get("text", ""))), "text"))
        elif kind == "error":
            parts.append(_fence(ANSI.sub("", "\n".join(output.get("traceback", []))), "text"))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            image = next((m for m in ("image/png", "image/jpeg") if m in data), None)
            if image:
                name = f"{stem}-{len(attachments) + 1}.{image.split('/')[1]}"
                attachments[name] = {image: _joined(data[image]).replace("\n", "")}
                parts.append(f"![recorded output]({'attachment:' + name})")
            elif "image/svg+xml" in data:
                parts.append(_html_block(_joined(data["image/svg+xml"])))
            elif "text/html" in data and "<iframe" in _joined(data["text/html"]).lower():
                parts.append(IFRAME_NOTE)  # it showed a server that is long gone
            elif "text/html" in data:
                parts.append(_html_block(_joined(data["text/html"])))
            elif "text/markdown" in data:
                parts.append(_joined(data["text/markdown"]))
            elif "text/plain" in data:
                parts.append(_fence(_joined(data["text/plain"]), "text"))
    return "\n\n".join(parts), attachments


def _comment_out_imports(source: str) -> str:
    """Imports of modules the browser edition lacks become comments that say so."""
    names = "|".join(NOT_IN_BROWSER)
    pattern = re.compile(rf"^(?:%matplotlib\b.*|(?:import|from) (?:{names})\b.*)$", re.MULTILINE)

    def comment(match: re.Match[str]) -> str:
        return f"# {match.group(0)}  # not in the browser edition"

    return pattern.sub(comment, source)


def lite_notebook(
    source: dict[str, Any], recorded: dict[str, Any] | None, stem: str
) -> dict[str, Any]:
    """The Lite version of one lesson (``recorded`` is the executed source, or None)."""
    lite = copy.deepcopy(source)
    cells: list[dict[str, Any]] = []
    executed = recorded["cells"] if recorded else [None] * len(source["cells"])
    if len(executed) != len(source["cells"]):
        raise ValueError(
            f"{stem}: the recorded run has {len(executed)} cells, not {len(source['cells'])}"
        )
    installed = asgi_noted = False
    for number, (cell, ran) in enumerate(zip(source["cells"], executed, strict=True)):
        if cell["cell_type"] == "code" and not installed:
            cells += [_markdown(INTRO), _code(INSTALL)]
            installed = True
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code":
            cells.append(copy.deepcopy(cell))
        elif TAG not in tags:
            if not asgi_noted and ASGI_CHECK.search(_source(cell)):
                cells.append(_markdown(ASGI_NOTE))
                asgi_noted = True
            live = _code(_comment_out_imports(_source(cell)))
            live["metadata"] = copy.deepcopy(cell.get("metadata", {}))
            cells.append(live)
        else:
            code = _source(cell)
            cells.append(
                _markdown(
                    f"**Recorded: not run in the browser.** This cell {reason(code)}. "
                    f"Run it live on {BINDER_HINT}.\n\n" + _fence(code, "python"),
                    metadata={"tags": [TAG]},
                )
            )
            if ran is None:
                body, attachments = "*(this site was built without recording)*", dict[str, Any]()
            else:
                body, attachments = render_outputs(ran.get("outputs", []), f"{stem}-{number}")
                body = body or "*(the cell printed nothing)*"
            extra = {"attachments": attachments} if attachments else {}
            cells.append(
                _markdown(
                    "**Recorded output** (from a run on CPython when this site was built):\n\n"
                    + body,
                    metadata={"tags": [TAG]},
                    **extra,
                )
            )
    lite["cells"] = cells
    return lite


def _key(notebook: Path, package: Path) -> str:
    digest = hashlib.sha256(notebook.read_bytes())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class RecordingError(RuntimeError):
    """A cell to be recorded raised on CPython: the site would show a traceback as its output."""


def recorded_errors(executed: dict[str, Any]) -> list[str]:
    """One line per tagged cell (not also tagged ``raises-exception``) that raised."""
    return [
        f"cell {number}: {output.get('ename')}: {output.get('evalue')}"
        for number, cell in enumerate(executed["cells"])
        if cell["cell_type"] == "code"
        and TAG in cell.get("metadata", {}).get("tags", [])
        and "raises-exception" not in cell["metadata"]["tags"]
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def record(notebook: Path, cache: Path, package: Path) -> dict[str, Any]:
    """The source notebook executed top to bottom on a CPython kernel (cached).

    The cache key is the notebook's bytes and the source of ``package``.
    """
    cached = cache / f"{notebook.stem}-{_key(notebook, package)}.ipynb"
    if cached.exists():
        return json.loads(cached.read_text())
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="gateway-lab-record-") as scratch:
        work = Path(scratch) / "notebooks"
        shutil.copytree(notebook.parent, work, ignore=shutil.ignore_patterns(*GENERATED))
        node = nbformat.read(work / notebook.name, as_version=4)
        client = NotebookClient(
            node,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            allow_errors=True,  # judged below: only the recorded cells' errors matter here
            resources={"metadata": {"path": str(work)}},
        )
        # asyncio.run, not client.execute(): execute() leaves an event loop open in
        # each worker thread, and its garbage (a loop, its sockets) warns later.
        asyncio.run(client.async_execute(stderr=subprocess.DEVNULL))  # no start-up chatter
        result = json.loads(nbformat.writes(node))
    failed = recorded_errors(result)
    if failed:
        raise RecordingError(
            f"{notebook.name}: recorded cells raised on CPython:\n" + "\n".join(failed)
        )
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"{notebook.stem}-*.ipynb"):
        stale.unlink()
    cached.write_text(json.dumps(result))
    return result


def build_contents(
    notebooks: Path,
    target: Path,
    cache: Path,
    package: Path,
    record_runs: bool = True,
    workers: int = RECORDING_WORKERS,
) -> list[str]:
    """Write the Lite lessons (and the files they read) into ``target``; their names.

    The lessons with tagged cells are recorded ``workers`` at a time (each in a
    kernel and a folder of its own: they mostly wait on loopback and sleeps);
    every failure is collected before the build is stopped.
    """
    shutil.copytree(
        notebooks, target, ignore=shutil.ignore_patterns(*GENERATED, "*.ipynb"), dirs_exist_ok=True
    )
    paths = sorted(notebooks.glob("*.ipynb"))
    sources = {path: json.loads(path.read_text(encoding="utf-8")) for path in paths}
    to_record = [
        path
        for path, source in sources.items()
        if record_runs
        and any(TAG in c.get("metadata", {}).get("tags", []) for c in source["cells"])
    ]
    recorded: dict[Path, dict[str, Any]] = {}
    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        runs = {path: pool.submit(record, path, cache, package) for path in to_record}
        for path, run in runs.items():
            try:
                recorded[path] = run.result()
            except RecordingError as exc:
                failures.append(str(exc))
    if failures:
        raise RecordingError("\n".join(failures))
    for path, source in sources.items():
        lite = lite_notebook(source, recorded.get(path), path.stem)
        text = json.dumps(lite, indent=1, ensure_ascii=False) + "\n"
        (target / path.name).write_text(text, encoding="utf-8")
    return [path.stem for path in paths]
