"""The exercise of notebook 05 (why async): predict a server's threads with Little's law.

Theory of operation: this exercise checks a *number*, not an app. The
learner predicts how many threads a thread-per-request server will hold
while requests arrive at a steady rate λ and each one waits W seconds;
:func:`check_littles_law` compares the prediction with what a live run
measured (:class:`gateway_lab.labs.load.LoadRun`, its ``steady_threads``) and
explains the difference. A prediction within ``TOLERANCE`` of the
measurement passes (25 %: on a busy two-core machine the measurement came
out up to 29 % above λ × W, as requests wait longer than asked, so a
tighter margin would fail right answers). The tempting answer ``CLIENTS``
(the earlier burst) is therefore caught by its value, not by the margin:
with the notebook's sizes it sits inside that margin (60 clients against
λ × W = 100/s × 0.5 s = 50 by default, 100 against 40/s × 2 s = 80 with
``FULL_RUN``; ``budget.count`` scales ``CLIENTS`` and ``RATE`` alike, so a
smaller machine keeps the 1.2 ratio until the floors or a longer wait
change it). So a prediction within ``SLIP_TOLERANCE`` of ``CLIENTS`` *and*
strictly closer to it than to λ × W is that slip, whatever the margin says;
that includes the burst's measured peak (``threaded.peak_threads``, about
``CLIENTS``; a peak that came out near λ × W cannot be told from a right
answer by its value). λ × W and its roundings are never blamed: a tie (55,
halfway between 50 and 60: λ × W plus a few idle threads) is not the slip.
And the slip is named only when ``CLIENTS`` is clearly apart from λ × W: more
than ``BURST_APART`` threads *and* more than ``BURST_APART_SHARE`` (15 %) of
λ × W. Otherwise ``CLIENTS`` is itself about right, and a prediction near it
is judged by the pass margin alone: on a slow machine the sizes drop to their
floors (``CLIENTS`` = 20, λ = 40/s, W = 0.56 s, so λ × W = 22.4), and 20
(40/s × the text's 0.5 s) is a right answer there, not the burst. A wrong
prediction is named after the nearest usual slip (within
``SLIP_TOLERANCE``), each with its own explanation:

=================  ===============================================
rule               the prediction is about ...
=================  ===============================================
``burst-size``     the notebook's ``CLIENTS`` (the earlier burst) or
                   near it, nearer than to λ × W; checked first,
                   when ``clients`` is given and clearly apart
                   from λ × W
``rate-only``      λ: the arrivals per second, without W
``wait-only``      W: the wait, without λ
``divided``        λ / W (divided where it should multiply)
``every-request``  every request of the run (λ × the run's length)
``too-high``       none of those, and above the measurement
``too-low``        none of those, and below it
=================  ===============================================

An unfinished answer (``...`` or ``None``) or something that is not a
number gets a sentence saying what to write; nothing here raises on it.
The reference answer is ``notebooks/solutions/littles_law.py``.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.labs.load import LoadRun

__all__ = [
    "BURST_APART",
    "BURST_APART_SHARE",
    "NAME",
    "PredictionResult",
    "SLIP_TOLERANCE",
    "TOLERANCE",
    "check_littles_law",
    "evaluate_littles_law",
]

NAME = "Predict the threads with Little's law"
TOLERANCE = 0.25  # a pass is within 25 % of the measurement (see the module doc)
SLIP_TOLERANCE = 0.15  # a miss this close to a usual slip is named after it
BURST_APART = 2.0  # threads: CLIENTS closer than this to λ × W is a right answer too
BURST_APART_SHARE = 0.15  # and so is CLIENTS within this share of λ × W (the floor sizes)
LAW = "L = λ × W"


def _near(value: float, target: float) -> bool:
    return target > 0 and abs(value - target) <= TOLERANCE * target


def _unfinished(prediction: Any) -> str:
    if prediction is None or prediction is Ellipsis:
        shown = "None" if prediction is None else "`...`"
        return (
            f"Your prediction is still {shown}. Replace it with a number, or an expression "
            "built from the notebook's sizes, run its cell, then run this check again."
        )
    if isinstance(prediction, bool) or not isinstance(prediction, Real):
        return (
            f"The prediction should be a number of threads, such as 25 or 12.5, not a "
            f"{type(prediction).__name__} ({prediction!r:.40})."
        )
    if not math.isfinite(prediction) or prediction <= 0:
        return (
            f"The prediction should be a count of threads above zero, not {prediction!r}. "
            f"How many requests are in the server at any one moment?"
        )
    return ""


def _slip(prediction: float, rate: float, wait: float, requests: int) -> tuple[str, str]:
    """(rule, explanation) for a prediction that missed: the nearest usual slip, if any."""
    slips = {
        "rate-only": (
            rate,
            f"{prediction:g} is about λ, the requests that arrive each second. But a "
            f"request does not leave after a second: it stays W = {wait:g} s. Multiply "
            f"λ by W ({LAW}).",
        ),
        "wait-only": (
            wait,
            f"{prediction:g} is about W, the seconds each request waits. How many "
            f"requests arrive during that time? Multiply W by λ = {rate:g} per second "
            f"({LAW}).",
        ),
        "divided": (
            rate / wait,
            f"{prediction:g} is about λ / W. Check the units: requests per second "
            f"times seconds gives requests, so multiply: {LAW}.",
        ),
        "every-request": (
            requests,
            f"{prediction:g} is about every request of the run ({requests}). They do "
            f"not all overlap: each one leaves W = {wait:g} s after it arrives, so "
            f"only those that arrived in the last {wait:g} s are still inside ({LAW}).",
        ),
    }
    distance, rule = min(
        (abs(prediction - value) / value, rule) for rule, (value, _) in slips.items()
    )
    if distance <= SLIP_TOLERANCE:
        return rule, slips[rule][1]
    return (
        "other",
        f"Little's law links three figures: λ (arrivals per second), W (seconds "
        f"each request stays) and L (requests inside at once): {LAW}.",
    )


class PredictionResult(ExerciseResult):
    """An :class:`ExerciseResult` for one number: a miss has one ✗ and one hint (→)."""

    @property
    def headline(self) -> str:
        if self.passed or self.unfinished:
            return super().headline
        return f"✗ {self.name}: not yet, see the hint"


def _burst_size(prediction: float, clients: int | None, rate: float, wait: float) -> str:
    """The explanation if ``prediction`` is the earlier burst's ``clients`` or near it, else "".

    Near it means within ``SLIP_TOLERANCE`` of ``clients`` and strictly closer
    to it than to λ × W, so λ × W and its roundings are never blamed: their
    distance to λ × W is under a thread, and ``clients`` is more than
    ``BURST_APART`` threads and more than ``BURST_APART_SHARE`` of λ × W away
    from it, or not blamed at all (then ``clients`` is itself about right, and
    the pass margin alone judges a prediction near it).
    """
    right = rate * wait
    if clients is None or abs(clients - right) <= max(BURST_APART, BURST_APART_SHARE * right):
        return ""  # no burst size given, or it is itself about the right answer
    from_clients = abs(prediction - clients)
    if from_clients > SLIP_TOLERANCE * clients or from_clients >= abs(prediction - right):
        return ""
    what = "CLIENTS" if prediction == clients else f"about CLIENTS ({clients})"
    return (
        f"{prediction:g} is {what}, the size of the earlier burst, where every client "
        f"arrived at once; the peak of threads measured there is about the same. This "
        f"run is a steady stream instead: λ = {rate:g} requests arrive per second and each "
        f"stays W = {wait:g} s. How many are inside at any moment? ({LAW})"
    )


def evaluate_littles_law(
    prediction: Any, run: LoadRun, wait: float, clients: int | None = None
) -> PredictionResult:
    """Judge ``prediction`` against ``run`` (requests sent at ``run.rate``, each waiting ``wait``).

    ``clients`` is the notebook's burst size, a tempting wrong answer named
    on its own (and so is a prediction near it: see the module doc). Never
    raises on an unfinished answer; returns the result without printing.
    """
    unfinished = _unfinished(prediction)
    if unfinished:
        return PredictionResult(NAME, False, unfinished=unfinished)
    measured = run.steady_threads
    rate = run.rate or run.arrival_rate
    ratio = prediction / measured if measured > 0 else math.inf
    lines: list[tuple[str, str]] = []
    burst = _burst_size(float(prediction), clients, rate, wait)
    if burst:
        lines.append(
            (
                "✗",
                f"[burst-size] you predicted {prediction:g} threads, the server held "
                f"{measured:.0f} ({ratio:.2f} × the measurement).",
            )
        )
        lines.append(("→", burst))
        return PredictionResult(NAME, False, lines)
    if _near(prediction, measured):
        lines.append(
            (
                "✓",
                f"you predicted {prediction:g} threads; the server held {measured:.0f} "
                f"on average while the stream was steady ({ratio:.2f} × the measurement).",
            )
        )
        lines.append(
            (
                "✓",
                f"{LAW}: {rate:g} requests per second × {wait:g} s = {rate * wait:g} "
                f"requests inside at once, and a thread-per-request server needs one "
                f"thread for each.",
            )
        )
        return PredictionResult(NAME, True, lines)
    rule, explanation = _slip(float(prediction), rate, wait, len(run.timings))
    direction = "high" if prediction > measured else "low"
    if rule == "other":
        rule = f"too-{direction}"
    lines.append(
        (
            "✗",
            f"[{rule}] you predicted {prediction:g} threads, the server held "
            f"{measured:.0f} ({ratio:.2f} × the measurement: too {direction}).",
        )
    )
    lines.append(("→", explanation))
    return PredictionResult(NAME, False, lines)


def check_littles_law(
    prediction: Any, run: LoadRun, wait: float, clients: int | None = None
) -> PredictionResult:
    """Print friendly feedback on ``prediction`` and return the result (see the module doc)."""
    result = evaluate_littles_law(prediction, run, wait, clients)
    print(result)
    result.printed = True
    return result
