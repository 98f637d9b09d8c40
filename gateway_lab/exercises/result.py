"""The outcome of checking an exercise, and the sentences it is made of.

Theory of operation: an :class:`ExerciseResult` holds ``passed`` and the lines
the learner reads, each a mark (✓, ✗, ! for a warning, i for a note) and one
sentence (a failing headline counts the ✓ and ✗ rows as checks and names the
warnings apart; notes are not counted); ``unfinished`` replaces them all with
one sentence saying what to do next when the answer is not ready to be judged.
It prints as plain text (``check()`` prints it) and draws itself as HTML in a
notebook, once. A failing result is shown with what to fix first: the
checker's errors (a row that starts with its rule id, usually the cause of the
rest), then the other ✗ rows, then the warnings, then the ✓ rows folded one
per request (:func:`~gateway_lab.exercises.compact.compact_lines`); ``lines``
keeps the order the checks ran in. :func:`not_callable_sentence` is the
sentence for an answer that cannot be called at all, the most common
unfinished answer.

>>> print(ExerciseResult("hello", False, [("✓", "status 200"), ("✗", "body is empty")]))
✗ hello: not yet (1 of 2 checks to fix)
  ✗ body is empty
  ✓ status 200
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from gateway_lab.check.explain import short
from gateway_lab.check.report import Report
from gateway_lab.exercises.compact import compact_lines

__all__ = ["ExerciseResult", "not_callable_sentence"]

# A row the checker wrote: it starts with a rule id, "wsgi.body-not-bytes on GET /: ...".
_RULE_ROW = re.compile(r"(app|wsgi|asgi|cgi|check)\.[a-z0-9-]+( on |: )")


def not_callable_sentence(answer: object, wanted: str) -> str:
    """What to say when a check gets something that cannot be called."""
    if isinstance(answer, str):
        name = answer.strip()
        shown = f"without quotes: {name}" if name.isidentifier() else "its name, without quotes"
        return (
            f"This check needs {wanted} itself, but you passed the text {short(answer)}; "
            f"pass the function itself, {shown}"
        )
    what = type(answer).__name__
    article = "an" if what[:1].lower() in "aeiou" else "a"
    return (
        f"This check needs {wanted} itself, but got {article} {what} ({short(answer)}). "
        "Pass the function's name without parentheses."
    )


@dataclass
class ExerciseResult:
    """The outcome of one check: ``passed``, and the lines shown to the learner."""

    name: str
    passed: bool
    lines: list[tuple[str, str]] = field(default_factory=list)  # (mark, sentence)
    unfinished: str = ""
    report: Report | None = None
    printed: bool = False  # check() already printed it: a notebook need not show it again
    note: str = ""  # why the count is what it is (a check that stopped early), for the headline

    @property
    def headline(self) -> str:
        if self.unfinished:
            return f"… {self.name}: not finished yet"
        if self.passed:
            return f"✓ {self.name}: passed, well done!"
        marks = [mark for mark, _ in self.lines]
        failed, warned = marks.count("✗"), marks.count("!")
        checks = failed + marks.count("✓")
        extra = f", and {warned} warning{'s' if warned != 1 else ''} (!) to read" if warned else ""
        note = f"; {self.note}" if self.note else ""
        return f"✗ {self.name}: not yet ({failed} of {checks} checks to fix{extra}{note})"

    def shown(self) -> list[tuple[str, str]]:
        """The rows in the order a learner reads them: what to fix first (see above)."""
        if self.passed:
            return self.lines
        first = [r for r in self.lines if r[0] == "✗" and _RULE_ROW.match(r[1])]
        fixes = [r for r in self.lines if r[0] == "✗" and r not in first]
        warnings = [r for r in self.lines if r[0] not in "✗✓"]
        fine = compact_lines([r for r in self.lines if r[0] == "✓"])
        return first + fixes + warnings + fine

    def __str__(self) -> str:
        if self.unfinished:
            return f"{self.headline}\n  {self.unfinished}"
        body = [f"  {mark} {text}" for mark, text in self.shown()]
        return "\n".join([self.headline, *body])

    def __repr__(self) -> str:
        return f"<ExerciseResult {self.name}: {'passed' if self.passed else 'not yet'}>"

    def _ipython_display_(self) -> None:
        if self.printed:
            return
        from IPython.display import HTML, display

        display(HTML(self._repr_html_()))

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.passed else ("#555" if self.unfinished else "#b00020")
        items = "".join(f"<li>{mark} {html.escape(t)}</li>" for mark, t in self.shown())
        extra = f"<div>{html.escape(self.unfinished)}</div>" if self.unfinished else ""
        return (
            f"<div><b style='color:{colour}'>{html.escape(self.headline)}</b>{extra}"
            f"<ul style='list-style:none;padding-left:1em'>{items}</ul></div>"
        )
