"""Write ``docs/rules.md``, the rule table of the checker, from the rule data.

Run: ``python tools/rules_doc.py`` (writes the file) or ``python tools/rules_doc.py
--check`` (exits 1 if the file is not what the data gives; the test suite runs this).

Theory of operation: the rule table *is* data, in
:data:`gateway_lab.check.rules.RULES` (each :class:`~gateway_lab.check.ruletypes.Rule`
with its id, severity, the spec's own sentence and an anchored link) and
:data:`gateway_lab.check.rules.UNCHECKED` (the requirements no check from
outside an app can see, with the reason). This script only lays it out, one
section per rule, WSGI and ASGI alike, in catalogue order, so the document
can never disagree with what the checker does.

Beside each rule it names the tests that prove it, found by the rule id in
the tests themselves, never listed by hand:

* **fires on**: the corpus apps (``tests/corpus/*.py``) marked
  ``@expect("<rule id>", ...)``, each a wrong app the checker must flag;
* **near miss**: the valid corpus apps marked ``@near("<rule id>", ...)``,
  each as close to the mistake as a valid app gets, which must not get it;
* **tests**: the test functions of ``tests/test_check_*.py`` whose source
  names the rule id.

The corpus and tests are read with :mod:`ast` (nothing is imported or run),
so generating the document is quick and has no side effects.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout: import this checkout's package
    sys.path.insert(0, str(ROOT))

from gateway_lab.check.rules import RULES, UNCHECKED  # noqa: E402, I001
from gateway_lab.check.ruletypes import Rule, Unchecked  # noqa: E402

OUTPUT = ROOT / "docs" / "rules.md"
_KEYWORDS = {"error": "a MUST or MUST NOT", "warning": "a SHOULD or SHOULD NOT"}
_FAMILIES = (
    ("app.", "Any app", ""),
    ("check.", "The check itself", ""),
    ("wsgi.", "WSGI (PEP 3333)", "wsgi"),
    ("asgi.", "ASGI (HTTP, WebSocket, lifespan)", "asgi"),
)


def _string_args(call: ast.Call) -> list[str]:
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def corpus_marks() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Rule id -> the corpus apps that must get it, and -> the near misses that must not."""
    fires: dict[str, list[str]] = defaultdict(list)
    near: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "tests" / "corpus").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT).as_posix()
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                # ``name = expect("rule")(make_app(...))``: a mark applied by a call
                marker, target = node.value.func, node.targets[0]
                if isinstance(marker, ast.Call) and isinstance(target, ast.Name):
                    _mark(marker, f"{where}::{target.id}", fires, near)
                continue
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call):
                    _mark(deco, f"{where}::{node.name}", fires, near)
    return fires, near


def _mark(
    call: ast.Call, name: str, fires: dict[str, list[str]], near: dict[str, list[str]]
) -> None:
    """Note what an ``expect(...)`` or ``near(...)`` call says about the app ``name``."""
    if not isinstance(call.func, ast.Name):
        return
    names = _string_args(call)
    if call.func.id == "expect" and names:
        fires[names[0]].append(name)
    elif call.func.id == "near":
        for rule in names:
            near[rule].append(name)


def test_mentions(rule_ids: set[str]) -> dict[str, list[str]]:
    """Rule id -> the tests of ``tests/test_check_*.py`` whose source names it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "tests").glob("test_check_*.py")):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if not node.name.startswith("test_"):
                continue
            source = ast.get_source_segment(text, node) or ""
            for rule in rule_ids:
                if f'"{rule}"' in source or f"'{rule}'" in source:
                    found[rule].append(f"{where}::{node.name}")
    return found


def _tests_line(label: str, items: list[str]) -> list[str]:
    if not items:
        return []
    shown = ", ".join(f"`{item}`" for item in items)
    return [f"- {label}: {shown}"]


def rule_section(rule: Rule, fires: list[str], near: list[str], tests: list[str]) -> list[str]:
    lines = [f"### `{rule.id}` ({rule.severity})", ""]
    if rule.sentence:
        lines += [f"> {rule.sentence}", ""]
    elif rule.severity_why:
        lines += ["No spec sentence: the rule is the checker's own (see why below).", ""]
    else:
        lines += ["No spec sentence: a finding about the check itself, not about the app.", ""]
    if rule.spec:
        lines.append(f"- Spec: <{rule.spec}>")
    if rule.severity_why:
        lines.append(f"- Why {rule.severity}: {rule.severity_why}")
    elif rule.severity in _KEYWORDS and rule.sentence:
        lines.append(f"- Severity: {rule.severity}, as for {_KEYWORDS[rule.severity]}.")
    # the hint's template, its fields shown as <name> (filled in per case)
    hint = re.sub(r"\{(\w+)[^{}]*\}", r"<\1>", rule.hint)
    hint = hint.replace("{{", "{").replace("}}", "}")  # the template's literal braces
    if hint.strip() and hint.strip() != "<hint>":
        lines.append(f"- What to change: {hint}")
    lines += _tests_line("Fires on", fires)
    lines += _tests_line("Near miss (must not fire)", near)
    lines += _tests_line("Tests", tests)
    if not (fires or near or tests):
        lines.append("- Tests: none name this rule yet.")
    return [*lines, ""]


def unchecked_section(items: list[Unchecked]) -> list[str]:
    if not items:
        return []
    lines = [
        "#### Requirements no check from outside the app can see",
        "",
    ]
    for item in items:
        lines += [f"> {item.sentence}", "", f"- Spec: <{item.spec}>", f"- Why: {item.why}", ""]
    return lines


def render() -> str:
    fires, near = corpus_marks()
    mentions = test_mentions(set(RULES))
    counts = {s: sum(r.severity == s for r in RULES.values()) for s in ("error", "warning", "info")}
    lines = [
        "# The checker's rules",
        "",
        "Generated by `tools/rules_doc.py` from the rule data "
        "(`gateway_lab/check/rules.py` and the `rules.py` of `check/wsgi/` and "
        "`check/asgi/`); do not edit by hand: change the data and run "
        "`python tools/rules_doc.py`.",
        "",
        f"{len(RULES)} rules: {counts['error']} errors, {counts['warning']} warnings, "
        f"{counts['info']} notes. A MUST or MUST NOT of the spec is an error, a SHOULD "
        "or SHOULD NOT a warning; a rule whose severity departs from that says why. "
        "Each rule quotes the spec's own sentence and links its section, and names the "
        "tests that prove it fires (a wrong app of `tests/corpus`) and that its valid "
        "near miss does not.",
        "",
    ]
    for prefix, title, kind in _FAMILIES:
        rules = [r for r in RULES.values() if r.id.startswith(prefix)]
        if not rules and not (kind and UNCHECKED.get(kind)):
            continue
        lines += [f"## {title}", ""]
        for rule in rules:
            lines += rule_section(
                rule, fires.get(rule.id, []), near.get(rule.id, []), mentions.get(rule.id, [])
            )
        if kind:
            lines += unchecked_section(UNCHECKED.get(kind, []))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/rules.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print("docs/rules.md is out of date: run python tools/rules_doc.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(RULES)} rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
