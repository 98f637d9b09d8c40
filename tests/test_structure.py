"""The package's shape, enforced on every run (issue 11's structural targets).

Each test states one rule, measures it over every module under
``gateway_lab/`` and, when the rule is broken, names every place that breaks
it, so a failure says what to move or rename:

- **no import cycles** among gateway_lab modules, counting every import the
  source contains: top-level, inside functions, and under ``TYPE_CHECKING``
  (a cycle hidden from the interpreter is still a knot for the reader);
- **at most three modules over 400 lines**;
- **no flat family**: three or more sibling modules (or subpackages) in one
  folder sharing a prefix before their first ``_`` or a suffix after their
  last ``_`` (``cgi``, ``cgi_run``, ``cgi_parse``) want to be a subpackage;
- **no colliding names**: one public class per name in the whole package,
  and no module next to its plural (``rule`` and ``rules``);
- **every exception in errors.py, under GatewayLabError** (see
  :func:`test_every_exception_lives_in_errors_under_gateway_lab_error` for the
  one exception to the rule: private helpers that never escape their module);
- **a light import**: ``import gateway_lab`` in a fresh interpreter loads no
  third-party library and is quicker than ``import json``, best of several
  runs side by side (the package imports its modules lazily);
- **shared facts in one place**: spec links in code (not docstrings) and the
  hop-by-hop header list live only in ``gateway_lab/specs.py``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gateway_lab"

LONG_MODULE_LINES = 400
MAX_LONG_MODULES = 3
FAMILY_SIZE = 3
IMPORT_RUNS = 7


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = package_modules()


# -- import cycles -------------------------------------------------------------------


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def imported_modules(name: str, source: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """(gateway_lab module, line) for every import in ``source``, wherever it sits."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "gateway_lab":
                    yield _deepest_module(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                source = _resolve_relative(name, is_package, node.level, node.module)
            else:
                source = node.module or ""
            if source.split(".")[0] != "gateway_lab":
                continue
            for alias in node.names:
                # ``from gateway_lab.x import y``: y is a module, or a name in x.
                candidate = f"{source}.{alias.name}"
                yield (candidate if candidate in MODULES else _deepest_module(source)), node.lineno


def _deepest_module(dotted: str) -> str:
    parts = dotted.split(".")
    while parts and ".".join(parts) not in MODULES:
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {name: {} for name in MODULES}
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        for target, line in imported_modules(name, source, path.name == "__init__.py"):
            if target and target != name:
                graph[name].setdefault(target, line)
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def a_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> list[str]:
    """One concrete loop through ``component``, as a path that returns to its start."""
    members = set(component)
    start = component[0]
    path = [start]
    seen = {start}
    node = start
    while True:
        nexts = sorted(t for t in graph[node] if t in members)
        back = start if start in nexts and len(path) > 1 else None
        if back:
            return [*path, start]
        step = next((t for t in nexts if t not in seen), None)
        if step is None:  # dead end inside the component: close the loop where it can
            target = nexts[0]
            return [*path[path.index(target) :], target] if target in path else [*path, target]
        path.append(step)
        seen.add(step)
        node = step


def describe_cycle(graph: dict[str, dict[str, int]], loop: list[str]) -> str:
    hops = [f"{a} imports {b} (line {graph[a][b]})" for a, b in zip(loop, loop[1:], strict=False)]
    return "; ".join(hops)


def test_the_graph_sees_every_kind_of_import():
    """The parser finds imports in functions, under TYPE_CHECKING, and relative ones."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import gateway_lab.errors\n"
        "if TYPE_CHECKING:\n"
        "    from gateway_lab.types import WSGIApp\n"
        "def later():\n"
        "    from gateway_lab import specs\n"
        "    from ..interface import response\n"
    )
    found = {t for t, _ in imported_modules("gateway_lab.serving.example", source, False)}
    assert found == {
        "gateway_lab.errors",
        "gateway_lab.types",
        "gateway_lab.specs",
        "gateway_lab.interface.response",
    }


def test_cycle_finder_finds_a_known_cycle():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert a_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycles():
    graph = import_graph()
    cycles = strongly_connected(graph)
    report = [
        f"{', '.join(component)}: {describe_cycle(graph, a_cycle(graph, component))}"
        for component in cycles
    ]
    assert not report, "import cycles among gateway_lab modules:\n" + "\n".join(report)


# -- long modules ----------------------------------------------------------------------


def test_at_most_three_long_modules():
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in MODULES.values()
    }
    long = sorted(((n, p) for p, n in lengths.items() if n > LONG_MODULE_LINES), reverse=True)
    shown = ", ".join(f"{path} ({lines})" for lines, path in long)
    assert len(long) <= MAX_LONG_MODULES, (
        f"{len(long)} modules are over {LONG_MODULE_LINES} lines (at most "
        f"{MAX_LONG_MODULES} may be): {shown}"
    )


# -- flat families -----------------------------------------------------------------------


def families(names: list[str]) -> dict[str, list[str]]:
    """Groups of sibling names sharing a prefix before '_' or a suffix after '_'.

    A name without '_' joins the family it names: ``cgi`` is in the ``cgi_``
    family, ``guard`` in the ``_guard`` one.
    """
    groups: dict[str, set[str]] = defaultdict(set)
    for name in names:
        stem = name.strip("_")
        if "_" not in stem:
            continue
        groups[stem.split("_")[0] + "_*"].add(name)
        groups["*_" + stem.split("_")[-1]].add(name)
    for name in names:
        if "_" not in name.strip("_"):
            for key in (name + "_*", "*_" + name):
                if key in groups:
                    groups[key].add(name)
    return {key: sorted(members) for key, members in groups.items()}


def test_families_are_recognised():
    found = families(["cgi", "cgi_run", "cgi_parse", "wsgi_guard", "asgi_guard", "log"])
    assert found["cgi_*"] == ["cgi", "cgi_parse", "cgi_run"]
    assert found["*_guard"] == ["asgi_guard", "wsgi_guard"]


def test_no_flat_family_of_three_siblings():
    flat = []
    for folder in sorted({p.parent for p in MODULES.values()}):
        names = [p.stem for p in folder.glob("*.py") if p.name != "__init__.py"]
        names += [d.name for d in folder.iterdir() if (d / "__init__.py").is_file()]
        for key, members in sorted(families(names).items()):
            if len(members) >= FAMILY_SIZE:
                flat.append(f"{folder.relative_to(ROOT)}/: {key} = {', '.join(members)}")
    assert not flat, "flat families (make each a subpackage):\n" + "\n".join(flat)


# -- names that collide ----------------------------------------------------------------------


def test_no_two_modules_define_a_public_class_of_the_same_name():
    """``Probe`` or ``HTTPConnection`` must mean one thing in the whole package.

    Private classes (``_Server`` in each engine adapter) may repeat: no other
    module can import them, so a reader never has to tell two of them apart.
    """
    homes: dict[str, list[str]] = defaultdict(list)
    for name, path in MODULES.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                homes[node.name].append(name)
    twice = {cls: where for cls, where in sorted(homes.items()) if len(where) > 1}
    assert not twice, "public classes defined in more than one module: " + "; ".join(
        f"{cls} in {', '.join(where)}" for cls, where in twice.items()
    )


def test_no_module_sits_next_to_its_plural():
    """``rule.py`` beside ``rules.py`` makes a reader guess which one holds what."""
    pairs = []
    for folder in sorted({p.parent for p in MODULES.values()}):
        names = {p.stem for p in folder.glob("*.py")}
        names |= {d.name for d in folder.iterdir() if (d / "__init__.py").is_file()}
        pairs += [
            f"{folder.relative_to(ROOT)}/: {n}, {n}s" for n in sorted(names) if n + "s" in names
        ]
    assert not pairs, "modules next to their plural: " + "; ".join(pairs)


# -- exceptions ----------------------------------------------------------------------------


def defined_exceptions() -> Iterator[tuple[str, type[BaseException]]]:
    """(module, class) for every exception class defined at the top of a gateway_lab module."""
    for name in MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                yield name, value


def handled_in(path: Path, class_name: str) -> bool:
    """Does ``path`` handle ``class_name`` itself: an ``except`` or an ``isinstance`` naming it?"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            caught = node.type
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and len(node.args) == 2
        ):
            caught = node.args[1]
        else:
            continue
        if class_name in {n.id for n in ast.walk(caught) if isinstance(n, ast.Name)}:
            return True
    return False


def imported_elsewhere(owner: str, class_name: str) -> list[str]:
    users = []
    for name, path in MODULES.items():
        if name == owner:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and any(a.name == class_name for a in node.names):
                users.append(name)
    return users


def test_every_exception_lives_in_errors_under_gateway_lab_error():
    """Every exception class lives in ``gateway_lab.errors`` and derives from GatewayLabError.

    The rule's one exception: a *private* helper exception (its name starts
    with ``_``) may live in the module that uses it, if it never escapes:
    that module handles it itself (an ``except`` or an ``isinstance`` naming
    it), it is not in the
    module's ``__all__``, and no other module imports it. A learner then never
    sees it, so ``except gl.GatewayLabError`` misses nothing a learner can get.
    """
    from gateway_lab.errors import GatewayLabError

    problems = []
    for module, cls in defined_exceptions():
        where = f"{module}.{cls.__name__}"
        if module == "gateway_lab.errors":
            if cls is not GatewayLabError and not issubclass(cls, GatewayLabError):
                problems.append(f"{where} does not derive from GatewayLabError")
            continue
        if not cls.__name__.startswith("_"):
            problems.append(f"{where} is public: move it to gateway_lab/errors.py")
            continue
        exported = getattr(importlib.import_module(module), "__all__", ())
        users = imported_elsewhere(module, cls.__name__)
        if cls.__name__ in exported or users or not handled_in(MODULES[module], cls.__name__):
            problems.append(
                f"{where} is private but escapes its module (exported, imported by "
                f"{', '.join(users) or 'no module'}, or never caught there)"
            )
    assert not problems, "exceptions outside the rule:\n" + "\n".join(problems)


# -- import time ------------------------------------------------------------------------------


def _import_seconds(module: str = "gateway_lab", env: dict[str, str] | None = None) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return float(out.strip())


def _slowest_imports(count: int = 8) -> str:
    """The largest cumulative import times under ``import gateway_lab`` (-X importtime)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import gateway_lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _, rest = line.partition(":")
        _self, cumulative, name = (part.strip() for part in rest.split("|"))
        rows.append((int(cumulative), name))
    rows.sort(reverse=True)
    return ", ".join(f"{name} {us / 1000:.1f} ms" for us, name in rows[:count])


@pytest.mark.timeout(120)
def test_import_gateway_lab_is_quicker_than_importing_json(tmp_path: Path) -> None:
    """``import gateway_lab`` stays cheap: its parts load when first used.

    Measured side by side with ``import json`` (one of the standard library's
    small packages), alternating fresh interpreters, best of each: a ratio, so
    a busy machine slows both alike. About 0.5 ms against 3 ms here.
    """
    # Byte-code as an installed package has it (the standard library's is compiled in
    # advance): written by a first import into a cache of the test's own, even where
    # PYTHONDONTWRITEBYTECODE is set, and never into the checkout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    _import_seconds("gateway_lab", env)
    ours, json_ = [], []
    for _ in range(IMPORT_RUNS):
        ours.append(_import_seconds("gateway_lab", env))
        json_.append(_import_seconds("json", env))
    assert min(ours) < min(json_), (
        f"`import gateway_lab` took {min(ours) * 1000:.1f} ms at best of {IMPORT_RUNS} fresh "
        f"interpreters, `import json` {min(json_) * 1000:.1f} ms. Slowest: {_slowest_imports()}"
    )


def test_import_gateway_lab_loads_no_library_of_its_own():
    """No third-party library (nor asyncio) is imported until a lesson uses it."""
    code = "import sys; import gateway_lab; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    heavy = {"asyncio", "httpx", "werkzeug", "ipywidgets", "IPython", "matplotlib", "uvicorn"}
    heavy |= {"h11", "wsproto", "psutil", "a2wsgi", "jinja2"}
    assert not heavy & loaded, f"`import gateway_lab` loads {sorted(heavy & loaded)}"


# -- shared facts in one place -------------------------------------------------------------

SPEC_HOSTS = ("peps.python.org", "asgi.readthedocs.io", "rfc-editor.org", "docs.python.org")


def docstring_nodes(tree: ast.Module) -> set[int]:
    """ids of the string constants that are docstrings (module, class, function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def code_strings(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string in ``path``'s code: docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


def test_spec_links_live_in_specs_py():
    """Messages cite specs through ``gateway_lab.specs``; a docstring may link for its reader."""
    strays = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:70]}"
        for path in MODULES.values()
        if path.name != "specs.py"
        for line, text in code_strings(path)
        if any(host in text for host in SPEC_HOSTS)
    ]
    assert not strays, "spec links outside gateway_lab/specs.py:\n" + "\n".join(strays)


def test_the_hop_by_hop_list_lives_in_specs_py():
    """One list of hop-by-hop headers (``specs.HOP_BY_HOP_HEADERS``), not a copy per module."""
    copies = []
    for path in MODULES.values():
        if path.name == "specs.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Set, ast.List, ast.Tuple)):
                words = {
                    e.value.lower()
                    for e in node.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                }
                if {"keep-alive", "transfer-encoding", "upgrade"} <= words:
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not copies, "hop-by-hop header lists outside gateway_lab/specs.py: " + ", ".join(copies)
