"""Exercise reports learners read (issue 12): a pass is brief, a failure is grouped by rule.

Theory of operation: every one of the course's fifteen exercises is checked
with its reference solution from ``notebooks/solutions/`` (loaded as the
lessons' tests load them); its passing report must fit in 12 lines of text.
A failing answer whose mistake shows on every request must name that rule
once, on one row listing the requests, in text and in HTML alike.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest

import gateway_lab as gl
from gateway_lab.course.why_async import evaluate_littles_law
from gateway_lab.exercises.result import ExerciseResult

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
# the exercise, and the name its solution file defines
SOLUTION_NAMES = {
    "asgi-echo-body": "app",
    "asgi-lifespan-counter": "counter_app",
    "asgi-no-blocking": "lookup_app",
    "asgi-sse-until-disconnect": "ticker",
    "asgi-streaming-count": "count_app",
    "asgi-to-wsgi-bridge": "asgi_to_wsgi",
    "asgi-ws-numbered-echo": "numbered_echo",
    "wsgi-auth-middleware": "basic_auth",
    "wsgi-cookie-counter": "count_visits",
    "wsgi-hello-name": "hello_name",
    "wsgi-json-echo": "json_echo",
    "wsgi-server-respond": "respond_complete",
}
EXERCISES = [*SOLUTION_NAMES, "cgi-form", "asgi-guestbook", "littles-law"]


def _cell(notebook: str, cell_id: str) -> str:
    cells = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))["cells"]
    source = next(c["source"] for c in cells if c["id"] == cell_id)
    return "".join(source) if isinstance(source, list) else source


def _littles_law() -> ExerciseResult:
    """Lesson 05's prediction, judged against a steady run built (not measured) here."""
    from gateway_lab.labs.load import LoadRun, RequestTiming, Sample

    rate, wait, duration = 100, 0.5, 1.5  # the notebook's default sizes
    namespace: dict[str, Any] = {"RATE": rate, "WAIT": wait, "DURATION": duration}
    exec((SOLUTIONS / "littles_law.py").read_text(encoding="utf-8"), namespace)
    timings = [RequestTiming(i / rate, i / rate + wait, 204) for i in range(round(rate * duration))]
    samples = [
        Sample(
            k * 0.01 + 0.005, 5 + sum(t.sent <= k * 0.01 + 0.005 < t.done for t in timings), 0, 0
        )
        for k in range(int((timings[-1].done + 0.1) / 0.01))
    ]
    run = LoadRun(timings, samples, Sample(0.0, 5, 0, 0), Sample(0.0, 5, 0, 0), rate=rate)
    return evaluate_littles_law(namespace["my_prediction"], run, wait=wait)


def _reference_result(name: str) -> ExerciseResult:
    if name == "littles-law":
        return _littles_law()
    if name == "cgi-form":
        answer: Any = (SOLUTIONS / "cgi-form.py").read_text(encoding="utf-8")
    elif name == "asgi-guestbook":
        names: dict[str, Any] = {"gl": gl}
        exec("from urllib.parse import parse_qs", names)
        exec(_cell("09-labs.ipynb", "guestbook-helpers"), names)
        exec((SOLUTIONS / "asgi_guestbook.py").read_text(encoding="utf-8"), names)
        answer = names["guestbook_asgi"]
    else:
        path = SOLUTIONS / f"{name.replace('-', '_')}.py"
        answer = runpy.run_path(str(path))[SOLUTION_NAMES[name]]
    return gl.exercise(name).evaluate(answer)


def test_the_list_covers_every_registered_exercise() -> None:
    from gateway_lab.exercises.framework import _REGISTRY

    gl.exercise("wsgi-hello-name")  # the registry fills on first use
    assert len(EXERCISES) == 15
    assert set(_REGISTRY) <= set(EXERCISES), sorted(set(_REGISTRY) - set(EXERCISES))


@pytest.mark.parametrize("name", EXERCISES)
def test_a_passing_report_fits_in_twelve_lines(name: str) -> None:
    result = _reference_result(name)
    text = str(result)
    assert result.passed, text
    assert len(text.splitlines()) <= 12, text
    assert text.splitlines()[0] == result.headline  # the one-line summary first
    assert all(mark == "✓" for mark, _ in result.lines), text  # every check named, passed


def _str_body(environ: Any, start_response: Any) -> Any:
    """The commonest lesson-02 mistake: a str body, on every request."""
    name = environ.get("QUERY_STRING", "").partition("=")[2] or "World"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"Hello, {name}!"]


def test_a_mistake_on_several_requests_is_one_row_naming_them() -> None:
    result = gl.exercise("wsgi-hello-name").evaluate(_str_body)
    text = str(result)
    assert not result.passed, text
    assert text.splitlines()[0].startswith("✗ ") and "checks to fix" in text.splitlines()[0]
    rows = [line for mark, line in result.lines if line.startswith("wsgi.body-not-bytes")]
    assert len(rows) == 1, text
    # the cause is shown first, and the rows that follow from it say so
    assert text.splitlines()[1].startswith("  ✗ wsgi.body-not-bytes on "), text
    empty = [line for mark, line in result.lines if mark == "✗" and "body is empty" in line]
    assert empty and all("because of wsgi.body-not-bytes: fix that first" in e for e in empty)
    requests = (
        [r for f in result.report.findings for r in (f.request, *f.also)] if result.report else []
    )
    assert len(requests) >= 2
    for request in requests:
        assert request in rows[0], (request, rows[0])
    assert text.count("✗ wsgi.body-not-bytes") == 1, text
    assert result._repr_html_().count("✗ wsgi.body-not-bytes") == 1  # the HTML groups alike


async def _str_echo(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    text = ""
    while True:
        message = await receive()
        text += message.get("body", b"").decode()
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": text})


def test_one_cause_on_several_requests_gets_one_hint() -> None:
    # a long and a short str body quote different values: the row still says "Send bytes" once,
    # with the hint of the request its message quotes
    result = gl.exercise("asgi-echo-body").evaluate(_str_echo)
    rows = [line for mark, line in result.lines if line.startswith("asgi.body-not-bytes")]
    assert len(rows) == 1 and rows[0].count("Send bytes") == 1, rows
