"""Notebook 05 (why async): its Little's law exercise, its solution and its shape."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from gateway_lab.course.why_async import check_littles_law, evaluate_littles_law
from gateway_lab.labs.load import LoadRun, RequestTiming, Sample

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK = NOTEBOOKS / "05-why-async.ipynb"
SOLUTION = NOTEBOOKS / "solutions" / "littles_law.py"

RATE, WAIT, DURATION, CLIENTS = 100, 0.5, 1.5, 60  # the notebook's default sizes


def measured_run(rate: float = RATE, wait: float = WAIT, duration: float = DURATION) -> LoadRun:
    """What a thread-per-request server shows under a steady stream (built, not measured)."""
    count = round(rate * duration)
    timings = [RequestTiming(i / rate, i / rate + wait, 204) for i in range(count)]
    samples = []
    for k in range(int((timings[-1].done + 0.1) / 0.01)):
        at = k * 0.01 + 0.005
        inside = sum(1 for t in timings if t.sent <= at < t.done)
        samples.append(Sample(at, 5 + inside, 0, 0))
    baseline = Sample(0.0, 5, 0, 0)
    return LoadRun(timings, samples, baseline, baseline, rate=rate)


def solution_prediction(**sizes: float) -> object:
    namespace = {"RATE": RATE, "WAIT": WAIT, "DURATION": DURATION, **sizes}
    exec(SOLUTION.read_text(encoding="utf-8"), namespace)
    return namespace["my_prediction"]


def test_the_reference_solution_passes():
    result = evaluate_littles_law(solution_prediction(), measured_run(), wait=WAIT)
    assert result.passed, str(result)
    assert all(mark == "✓" for mark, _ in result.lines)
    assert "L = λ × W" in str(result)


def test_the_reference_solution_passes_the_full_run_sizes_too():
    sizes = {"RATE": 40, "WAIT": 2.0, "DURATION": 6.0}
    run = measured_run(rate=40, wait=2.0, duration=6.0)
    assert evaluate_littles_law(solution_prediction(**sizes), run, wait=2.0).passed


@pytest.mark.parametrize(
    ("prediction", "rule"),
    [
        (RATE, "rate-only"),
        (WAIT, "wait-only"),
        (RATE / WAIT, "divided"),
        (RATE * DURATION, "every-request"),
        (1000, "too-high"),
        (10, "too-low"),
    ],
)
def test_typical_wrong_answers_get_their_own_explanation(prediction, rule):
    result = evaluate_littles_law(prediction, measured_run(), wait=WAIT)
    assert not result.passed
    assert not result.unfinished
    assert result.lines[0][0] == "✗"
    assert f"[{rule}]" in result.lines[0][1]
    assert "L = λ × W" in result.lines[1][1]


@pytest.mark.parametrize(
    ("prediction", "words"),
    [
        (..., "still `...`"),
        (None, "still None"),
        ("50", "number of threads"),
        (True, "number of threads"),
        (-3, "above zero"),
        (math.nan, "above zero"),
    ],
)
def test_unfinished_or_odd_answers_are_explained_not_raised(prediction, words):
    result = evaluate_littles_law(prediction, measured_run(), wait=WAIT)
    assert not result.passed
    assert words in result.unfinished
    assert "not finished" in result.headline


def test_close_enough_is_a_pass_both_sides():
    run = measured_run()
    assert evaluate_littles_law(45, run, wait=WAIT).passed
    assert evaluate_littles_law(56.0, run, wait=WAIT).passed


def test_the_unfinished_message_suggests_no_particular_expression():
    text = evaluate_littles_law(..., measured_run(), wait=WAIT).unfinished
    assert "RATE *" not in text and "WAIT" not in text


def test_the_burst_size_is_named_as_its_own_slip():
    result = evaluate_littles_law(CLIENTS, measured_run(), wait=WAIT, clients=CLIENTS)
    assert not result.passed
    assert "[burst-size]" in result.lines[0][1]
    assert "CLIENTS" in result.lines[1][1] and "L = λ × W" in result.lines[1][1]
    # the right answer is never mistaken for the burst size
    assert evaluate_littles_law(RATE * WAIT, measured_run(), wait=WAIT, clients=CLIENTS).passed


def test_the_burst_size_is_not_blamed_when_it_is_also_the_right_answer():
    right = round(RATE * WAIT)
    assert evaluate_littles_law(right, measured_run(), wait=WAIT, clients=right).passed


def test_the_check_prints_its_feedback(capsys):
    result = check_littles_law(..., measured_run(), wait=WAIT)
    printed = capsys.readouterr().out
    assert "not finished yet" in printed
    assert result.printed


def notebook_cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def test_the_notebook_is_committed_clean_and_well_formed():
    cells = notebook_cells()
    ids = [cell.get("id") for cell in cells]
    assert all(ids) and len(set(ids)) == len(ids)
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["id"]
    first, last = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
    assert "What you will learn" in first and "Time:" in first
    assert "gl.stop_all()" in last
    text = "".join("".join(cell["source"]) for cell in cells)
    assert "%load solutions/littles_law.py" in text
    assert "https://peps.python.org/pep-3333/" in text
    assert "https://asgi.readthedocs.io/en/latest/specs/main.html" in text


def test_the_notebook_scaffold_is_unfinished_and_its_check_uses_this_module():
    sources = {cell["id"]: "".join(cell["source"]) for cell in notebook_cells()}
    assert "my_prediction = ..." in sources["exercise"]
    assert "check_littles_law(my_prediction" in sources["exercise-check"]
    assert "clients=CLIENTS" in sources["exercise-check"]


# -- issue 12: a corpus of predictions as learners write them ---------------------------------
PREDICTIONS = [
    # (prediction, passes, words the feedback must hold)
    (RATE * WAIT, True, "L = λ × W"),
    (round(RATE * WAIT * 1.1), True, "you predicted 55 threads"),  # a rounded estimate
    (RATE * WAIT + 5, True, "on average while the stream was steady"),  # + the idle threads
    (50.0, True, "100 requests per second × 0.5 s"),
    (RATE, False, "[rate-only]"),
    (WAIT, False, "[wait-only]"),
    (RATE / WAIT, False, "[divided]"),
    (RATE * DURATION, False, "[every-request]"),
    (CLIENTS, False, "[burst-size]"),
    (500, False, "[too-high]"),
    (2, False, "[too-low]"),
]


@pytest.mark.parametrize(("prediction", "passes", "words"), PREDICTIONS)
def test_prediction_corpus_gets_its_verdict_and_words(prediction, passes, words):
    result = evaluate_littles_law(prediction, measured_run(), WAIT, clients=CLIENTS)
    assert result.passed is passes, str(result)
    assert words in str(result), str(result)
    if passes:
        assert len(str(result).splitlines()) <= 12
