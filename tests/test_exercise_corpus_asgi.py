"""Every answer of the ASGI exercise corpus gets its verdict and the words it must get."""

from __future__ import annotations

from typing import Any

import pytest

import gateway_lab as gl
from tests.corpus import exercises_asgi, exercises_asgi_more  # noqa: F401 (registers)


def _name(app: Any) -> str:
    return str(getattr(app, "__name__", type(app).__name__))


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
@pytest.mark.parametrize("app", exercises_asgi.ANSWERS, ids=_name)
def test_answer_gets_its_verdict_and_words(app: Any) -> None:
    # an answer that needs a resource (a process pool) starts it first and stops it after
    getattr(app, "prepare", lambda: None)()
    try:
        result = gl.exercise(app.exercise).evaluate(app)
    finally:
        getattr(app, "finish", lambda: None)()
    text = str(result)
    assert result.passed is app.passes, text
    for words in app.says:
        assert words in text, (words, text)
    for words in app.never:
        assert words not in text, (words, text)
    if result.passed:
        assert len(text.splitlines()) <= 12, text


def test_each_exercise_has_six_wrong_and_three_valid_answers() -> None:
    by_name: dict[str, list[bool]] = {}
    for app in exercises_asgi.ANSWERS:
        by_name.setdefault(app.exercise, []).append(app.passes)
    for name, verdicts in by_name.items():
        assert verdicts.count(False) >= 6 and verdicts.count(True) >= 3, name
