"""Every learner's answer of the WSGI-side corpus gets its verdict and the words it must hear.

Theory of operation: ``tests/corpus/exercises_wsgi.py`` holds, for each of
the six WSGI-side exercises (lessons 01 to 04), at least six wrong answers
written as learners write them and at least three valid variants. Each is
checked with ``gl.exercise(name).evaluate(answer)``: a wrong answer must
fail with each of its words in a ✗ line (the cause, named, and what to
change); a valid one must pass, within 12 lines, naming its words.
"""

from __future__ import annotations

from collections import Counter

import pytest
from corpus.exercises_wsgi import ANSWERS, EXERCISES, Answer

import gateway_lab as gl


def _id(item: Answer) -> str:
    return f"{item.exercise}:{item.name}"


@pytest.mark.parametrize("item", ANSWERS, ids=_id)
def test_each_answer_gets_its_verdict_and_its_words(item: Answer) -> None:
    result = gl.exercise(item.exercise).evaluate(item.answer)
    text = str(result)
    assert not result.unfinished, text
    assert result.passed is item.passes, text
    if item.passes:
        assert len(text.splitlines()) <= 12, text
        for words in item.words:
            assert words in text, (words, text)
    else:
        failed = [line for mark, line in result.lines if mark == "✗"]
        for words in item.words:
            assert any(words in line for line in failed), (words, text)


def test_every_exercise_has_six_wrong_answers_and_three_valid_ones() -> None:
    wrong = Counter(a.exercise for a in ANSWERS if not a.passes)
    valid = Counter(a.exercise for a in ANSWERS if a.passes)
    for name in EXERCISES:
        assert wrong[name] >= 6, (name, wrong[name])
        assert valid[name] >= 3, (name, valid[name])
