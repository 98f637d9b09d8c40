"""docs/rules.md is generated from the rule data, and it is up to date.

Theory of operation: ``tools/rules_doc.py`` renders the rule table from
``gateway_lab.check.rules``; these tests render it again and compare, and
check that every WSGI rule quotes its spec sentence with an anchored link.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from gateway_lab.check.rules import RULES, UNCHECKED

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("rules_doc", ROOT / "tools" / "rules_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["rules_doc"] = module
    spec.loader.exec_module(module)
    return module


def test_docs_rules_md_is_what_the_rule_data_gives() -> None:
    tool = _tool()
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == tool.render(), (
        "docs/rules.md is stale: run python tools/rules_doc.py"
    )


def test_every_rule_of_the_catalogue_has_a_section() -> None:
    text = _tool().render()
    for rule_id in RULES:
        assert f"### `{rule_id}` (" in text, rule_id


def test_every_wsgi_rule_quotes_its_sentence_at_an_anchor() -> None:
    for rule in RULES.values():
        if not rule.id.startswith("wsgi."):
            continue
        assert rule.sentence, f"{rule.id} quotes no spec sentence"
        assert "#" in rule.spec, f"{rule.id} links no anchor: {rule.spec}"
        if rule.severity in ("error", "warning") and not rule.severity_why:
            keywords = ("must", "fatal error") if rule.severity == "error" else ("should",)
            assert any(k in rule.sentence.lower() for k in keywords), (rule.id, rule.sentence)
    for item in UNCHECKED["wsgi"]:
        assert "#" in item.spec and item.why


def test_the_doc_names_the_tests_of_a_rule() -> None:
    tool = _tool()
    fires, near = tool.corpus_marks()
    assert "tests/corpus/wsgi_wrong.py::status_without_reason" in fires["wsgi.status-no-reason"]
    assert "tests/corpus/wsgi_valid.py::status_own_reason" in near["wsgi.status-no-reason"]
