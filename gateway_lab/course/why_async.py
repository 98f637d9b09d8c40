"""The exercise of notebook 05 (why async): predict a server's threads with Little's law.

Theory of operation: this exercise checks a *number*, not an app. The
learner predicts how many threads a thread-per-request server will hold
while requests arrive at a steady rate λ and each one waits W seconds;
:func:`check_littles_law` compares the prediction with what a live run
measured (:class:`gateway_lab.labs.load.LoadRun`) and explains the
difference. Any real number is a prediction (an int, a float, a
``Fraction``, a ``Decimal``, numpy's scalars; not a bool): it is judged as a
float.

**The pass band** (:func:`pass_band`) is drawn around what is known and
what was measured, never around one figure alone. Its top is the highest
of λ × W (the law, with the notebook's sizes), the run's own λ × W (its
arrival rate times its mean wait), the mean count of threads while the
stream was steady, each with ``ROOM`` (10 %: the lesson says a pool needs
room above L), and the run's peak count of threads with ``PEAK_ROOM`` (5 %:
the server really held that many at once, and the check prints it). Its
bottom is ``LOW_MARGIN`` (20 %) under the lower of λ × W and the mean (20
for λ × W = 22.4 at the floor sizes, the text's 0.5 s where the wait was
stretched to 0.56 s, is 11 % under). Requests wait a little longer than
asked, so the measurement usually comes out above λ × W (up to 29 % on a
busy two-core machine), and so does the peak: a band centred on the mean
alone failed right answers at its top, such as 38 for a run that held 35
on average and 41 at its busiest. **A prediction inside the band passes,
whatever it is near.**

The tempting answer ``CLIENTS`` (the earlier burst) is 1.2 × λ × W with the
notebook's sizes (60 clients against 100/s × 0.5 s = 50; 100 against 40/s ×
2 s = 80 with ``FULL_RUN``; ``budget.count`` scales both alike). It is named
(``burst-size``) only outside the band: when it is within ``SLIP_TOLERANCE``
of ``CLIENTS``, strictly closer to it than to λ × W (so a tie, 55 between
50 and 60, is not the slip), and ``CLIENTS`` is clearly apart from λ × W
(more than ``BURST_APART`` threads and more than ``BURST_APART_SHARE`` of
λ × W; otherwise, as at the floor sizes, ``CLIENTS`` is itself about
right). When a run's peak came up to ``CLIENTS``, ``CLIENTS`` is inside the
band and passes: by its value it cannot be told from the count the server
really held. Outside the band, a prediction is named after the nearest
usual slip (within ``SLIP_TOLERANCE``), each with its own explanation:

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
``duration``       λ × W × DURATION or λ × W / DURATION (the run's
                   length, which is not part of the law)
``too-high``       none of those, and above the band
``too-low``        none of those, and below it
=================  ===============================================

An unfinished answer (``...`` or ``None``) or something that is not a
number gets a sentence saying what to write; nothing here raises on it.
The reference answer is ``notebooks/solutions/littles_law.py``.
"""

from __future__ import annotations

import math
from decimal import Decimal
from numbers import Real
from typing import Any

from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.labs.load import LoadRun

__all__ = [
    "BURST_APART",
    "BURST_APART_SHARE",
    "LOW_MARGIN",
    "NAME",
    "PEAK_ROOM",
    "ROOM",
    "PredictionResult",
    "SLIP_TOLERANCE",
    "check_littles_law",
    "evaluate_littles_law",
    "pass_band",
]

NAME = "Predict the threads with Little's law"
ROOM = 0.10  # the band's top: this much over λ × W and the mean (see the module doc)
PEAK_ROOM = 0.05  # ... and this much over the peak the run measured
LOW_MARGIN = 0.20  # the band's bottom: this much under λ × W or the mean, the lower
SLIP_TOLERANCE = 0.15  # a miss this close to a usual slip is named after it
BURST_APART = 2.0  # threads: CLIENTS closer than this to λ × W is a right answer too
BURST_APART_SHARE = 0.15  # and so is CLIENTS within this share of λ × W (the floor sizes)
LAW = "L = λ × W"


def _as_number(prediction: Any) -> float | None:
    """The prediction as a float, or None if it is not a real number (a bool is not)."""
    if isinstance(prediction, bool) or not isinstance(prediction, (Real, Decimal)):
        return None
    try:
        return float(prediction)
    except (OverflowError, ValueError):  # a Decimal too large, or a signalling NaN
        return math.nan


def _unfinished(prediction: Any, value: float | None) -> str:
    if prediction is None or prediction is Ellipsis:
        shown = "None" if prediction is None else "`...`"
        return (
            f"Your prediction is still {shown}. Replace it with a number, or an expression "
            "built from the notebook's sizes, run its cell, then run this check again."
        )
    if value is None:
        return (
            f"The prediction should be a number of threads, such as 25 or 12.5, not a "
            f"{type(prediction).__name__} ({prediction!r:.40})."
        )
    if not math.isfinite(value) or value <= 0:
        return (
            f"The prediction should be a count of threads above zero, not {prediction!r}. "
            f"How many requests are in the server at any one moment?"
        )
    return ""


def pass_band(run: LoadRun, wait: float) -> tuple[float, float]:
    """(lowest, highest) prediction that passes for ``run``, each request waiting ``wait``.

    From ``LOW_MARGIN`` under the lower of λ × W and the measured mean, up to
    ``ROOM`` over the highest of λ × W, the run's own λ × W and the mean, or
    ``PEAK_ROOM`` over the run's peak, whichever is higher (see the module doc).
    """
    law = (run.rate or run.arrival_rate) * wait
    measured = run.steady_threads
    lows = [figure for figure in (law, measured) if figure > 0]
    low = (1 - LOW_MARGIN) * min(lows) if lows else 0.0
    high = max(
        (1 + ROOM) * max(law, run.littles_law, measured),
        (1 + PEAK_ROOM) * run.peak_threads,
    )
    return low, high


def _slip(prediction: float, rate: float, wait: float, requests: int) -> tuple[str, str]:
    """(rule, explanation) for a prediction that missed: the nearest usual slip, if any."""
    duration = requests / rate if rate > 0 else 0.0

    def with_duration(how: str, value: float) -> tuple[str, float, str]:
        about = "is" if math.isclose(prediction, value) else "is about"
        return (
            "duration",
            value,
            f"{prediction:g} {about} λ × W {how} DURATION ({value:g}). If DURATION went "
            f"into it: DURATION ({duration:g} s) is how long the test kept sending, not "
            f"part of {LAW}: how "
            f"many requests are inside at once depends only on how fast they arrive "
            f"(λ = {rate:g} per second) and how long each stays (W = {wait:g} s). "
            f"Leave DURATION out.",
        )

    slips = [
        (
            "rate-only",
            rate,
            f"{prediction:g} is about λ, the requests that arrive each second. But a "
            f"request does not leave after a second: it stays W = {wait:g} s. Multiply "
            f"λ by W ({LAW}).",
        ),
        (
            "wait-only",
            wait,
            f"{prediction:g} is about W, the seconds each request waits. How many "
            f"requests arrive during that time? Multiply W by λ = {rate:g} per second "
            f"({LAW}).",
        ),
        (
            "divided",
            rate / wait,
            f"{prediction:g} is about λ / W. Check the units: requests per second "
            f"times seconds gives requests, so multiply: {LAW}.",
        ),
        (
            "every-request",
            requests,
            f"{prediction:g} is about every request of the run ({requests}). They do "
            f"not all overlap: each one leaves W = {wait:g} s after it arrives, so "
            f"only those that arrived in the last {wait:g} s are still inside ({LAW}).",
        ),
    ]
    if duration > 0:
        slips.append(with_duration("×", rate * wait * duration))
        slips.append(with_duration("/", rate * wait / duration))
    distance, index = min(
        (abs(prediction - value) / value, index)
        for index, (_, value, _) in enumerate(slips)
        if value > 0
    )
    if distance <= SLIP_TOLERANCE:
        rule, _, explanation = slips[index]
        return rule, explanation
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


def _burst_size(prediction: float, clients: int | None, run: LoadRun, wait: float) -> str:
    """The explanation if ``prediction`` is the earlier burst's ``clients`` or near it, else "".

    Asked only for a prediction outside the pass band. Near it means within
    ``SLIP_TOLERANCE`` of ``clients`` and strictly closer to it than to
    λ × W, and ``clients`` is more than ``BURST_APART`` threads and more than
    ``BURST_APART_SHARE`` of λ × W away from it (else ``clients`` is itself
    about right, and the band alone judges a prediction near it).
    """
    rate = run.rate or run.arrival_rate
    right = rate * wait
    if clients is None or abs(clients - right) <= max(BURST_APART, BURST_APART_SHARE * right):
        return ""  # no burst size given, or it is itself about the right answer
    from_clients = abs(prediction - clients)
    if from_clients > SLIP_TOLERANCE * clients or from_clients >= abs(prediction - right):
        return ""
    what = "CLIENTS" if prediction == clients else f"about CLIENTS ({clients})"
    return (
        f"{prediction:g} is {what}, the size of the earlier burst (and about the peak of "
        f"threads measured there). If that is where it came from: in that burst every "
        f"client arrived at once. This run is a steady stream instead: λ = {rate:g} "
        f"requests arrive per second and each stays W = {wait:g} s "
        f"({run.mean_latency:.2f} s measured). How many are inside at any moment? ({LAW})"
    )


def _held(run: LoadRun, prediction: float) -> str:
    """What the server held, in words: its mean in the steady stream and its peak."""
    measured = run.steady_threads
    ratio = f"{prediction / measured:.2f}" if measured > 0 else "∞"
    return (
        f"the server held {measured:.0f} on average while the stream was steady and "
        f"{run.peak_threads} at its busiest ({ratio} × the mean"
    )


def evaluate_littles_law(
    prediction: Any, run: LoadRun, wait: float, clients: int | None = None
) -> PredictionResult:
    """Judge ``prediction`` against ``run`` (requests sent at ``run.rate``, each waiting ``wait``).

    ``clients`` is the notebook's burst size, a tempting wrong answer named
    on its own outside the pass band (see the module doc). Never raises on
    an unfinished answer; returns the result without printing.
    """
    value = _as_number(prediction)
    unfinished = _unfinished(prediction, value)
    if unfinished or value is None:
        return PredictionResult(NAME, False, unfinished=unfinished)
    rate = run.rate or run.arrival_rate
    low, high = pass_band(run, wait)
    lines: list[tuple[str, str]] = []
    if low <= value <= high:
        busiest = value > (1 + ROOM) * max(rate * wait, run.littles_law, run.steady_threads)
        note = "; that is about the busiest count, and L = λ × W is the mean" if busiest else ""
        lines.append(("✓", f"you predicted {value:g} threads; {_held(run, value)}{note})."))
        lines.append(
            (
                "✓",
                f"{LAW}: {rate:g} requests per second × {wait:g} s = {rate * wait:g} "
                f"requests inside at once, and a thread-per-request server needs one "
                f"thread for each.",
            )
        )
        return PredictionResult(NAME, True, lines)
    direction = "high" if value > high else "low"
    burst = _burst_size(value, clients, run, wait)
    if burst:
        rule, explanation = "burst-size", burst
    else:
        rule, explanation = _slip(value, rate, wait, len(run.timings))
        if rule == "other":
            rule = f"too-{direction}"
    lines.append(
        (
            "✗",
            f"[{rule}] you predicted {value:g} threads; {_held(run, value)}: too {direction}).",
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
