"""Cases that say what to change, not only what came back (lesson 02's exercises use them).

Theory of operation: a :class:`~gateway_lab.exercises.case.Case` compares a
response with what it expects and says what differs. The cases here add
the *why*, where a lesson knows the usual causes:

* :class:`AdvisedCase`: the body read in the charset its Content-Type
  declares; ``exactly`` a text the body must be (a trailing newline
  allowed), and a ✗ row that names any extra text around it; ``advice``,
  sentences added to the first failed body row when a pattern shows in
  the body (a name still percent-encoded, mojibake); ``no_response``, the
  sentence for a request that got no response or the wrong status;
  ``counts_bytes``, a Content-Length that counts characters named as such;
  ``label``, a request's own name when two would otherwise share one
  (``POST /`` with no body, and with an empty Content-Length).
* :class:`JSONCase`: a body compared as JSON, so any spacing passes; what
  a wrong ``"size"`` counted (characters, or a new encoding).
* :class:`LessonExercise`: an :class:`~gateway_lab.exercises.framework.Exercise`
  that adds the ``no_response`` sentences, groups the checker's findings
  one row per rule, and fails the rules a task forbids even when the
  checker only warns (``strict``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from gateway_lab.check.battery import Probe
from gateway_lab.check.report import Report
from gateway_lab.exercises.case import Case, header_row, in_its_charset, multibyte_characters
from gateway_lab.exercises.compact import compact_lines, regroup_findings
from gateway_lab.exercises.framework import Exercise
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.interface.response import Response

__all__ = ["AdvisedCase", "JSONCase", "LessonExercise"]


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _body_shown(response: Response) -> str:
    """The body as a client reads it: its text when it decodes, else its bytes."""
    try:
        return _shown(response.body.decode("utf-8"))
    except UnicodeDecodeError:
        return _shown(response.body)


@dataclass(frozen=True)
class AdvisedCase(Case):
    """A :class:`Case` that says what to change, not only what came back.

    ``exactly``: the text the body must be, in its charset, with at most a
    trailing newline after it; ``no_response``: the sentence for when the
    app gave no response to this request (it raised) or a response with the
    wrong status; ``advice``: (pattern, sentence) pairs, the sentences added
    to the first failed *body* row when the regular expression is found in
    the body; ``counts_bytes``: a Content-Length (if any) must count bytes,
    and one that counts characters gets a ✗ row saying so; ``label``: the
    request's name in the feedback (its method and target when empty).
    """

    exactly: str | None = None
    no_response: str = ""
    advice: tuple[tuple[str, str], ...] = ()
    counts_bytes: bool = False
    label: str = ""

    def probe(self) -> Probe:
        probe = super().probe()
        return replace(probe, label_override=self.label) if self.label else probe

    def expectations(self, response: Response | None) -> list[tuple[bool, str]]:
        if response is None:
            return super().expectations(response)
        readable = in_its_charset(response)
        results = super().expectations(readable)
        if self.exactly is not None:
            at = next((i for i, (_, text) in enumerate(results) if text.startswith("header")), None)
            results.insert(len(results) if at is None else at, _exact_row(self.exactly, readable))
        if self.no_response and self.status is not None and response.status != self.status:
            results = [
                (ok, text if ok or not text.startswith("status") else f"{text}. {self.no_response}")
                for ok, text in results
            ]
        said = " ".join(
            words for pattern, words in self.advice if re.search(pattern, readable.text)
        )
        failed = [i for i, (ok, text) in enumerate(results) if not ok and text.startswith("body ")]
        if said and failed:  # on the first failed body row only ("body should be ...")
            results[failed[0]] = (False, f"{results[failed[0]][1]}: {said}")
        if self.counts_bytes:
            results += _length_in_bytes(response)
        return results


def _exact_row(wanted: str, response: Response) -> tuple[bool, str]:
    """✓ when the body is ``wanted`` (a trailing newline allowed); ✗ naming what differs."""
    text = response.text
    if text in (wanted, wanted + "\n", wanted + "\r\n"):
        return (True, f"body is {wanted!r}")
    said = f"body should be exactly {wanted!r}"
    if not response.body:
        return (False, f"{said}, but the body is empty")
    before, found, after = text.partition(wanted)
    after = after.removesuffix("\n").removesuffix("\r")
    if not found or "\ufffd" in text:
        return (False, f"{said}, got {_body_shown(response)}")
    extra = " and ".join(
        f"{part!r} {where} it" for part, where in ((before, "before"), (after, "after")) if part
    )
    return (
        False,
        f"{said}, got {_body_shown(response)}: that text is there, but so is {extra}. "
        f"Send only {wanted!r} (a newline after it is fine)",
    )


def _length_in_bytes(response: Response) -> list[tuple[bool, str]]:
    """✓ for a Content-Length that counts bytes, ✗ for one that counts characters.

    No row otherwise: ``wsgi.content-length-mismatch`` says what is wrong with another number.
    """
    value, readable = (
        (response.header("Content-Length") or "").strip(),
        in_its_charset(response),
    )
    size, text = len(response.body), readable.text
    if value == str(size):
        return [(True, header_row("Content-Length", value))]
    if not value or value != str(len(text)):
        return []
    wide = f" ({multibyte_characters(text)} in UTF-8)" if readable is response else ""
    return [
        (
            False,
            f"Content-Length is {value}, the number of characters in {_shown(text, 40)}, but "
            f"Content-Length counts bytes: the body is {size} bytes{wide}. Count the bytes "
            "after encoding: body = text.encode('utf-8'), then ('Content-Length', "
            "str(len(body))) (mistake 8 in section 8: a Content-Length that lies)",
        )
    ]


class LessonExercise(Exercise):
    """An :class:`Exercise` whose rows say what to change, and that fails ``strict`` rules."""

    def __init__(self, *args: Any, strict: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.strict = strict

    def _case_lines(self, report: Report) -> list[tuple[str, str]]:
        lines = super()._case_lines(report)
        responses = list(report.responses) + [None] * len(self.cases)
        for case, response in zip(self.cases, responses, strict=False):
            if response is not None or not isinstance(case, AdvisedCase) or not case.no_response:
                continue
            about = f" ({case.says})" if case.says else ""
            prefix = f"{case.probe().label}{about}: "
            lines = [
                (mark, f"{text} {case.no_response}" if text.startswith(prefix) else text)
                for mark, text in lines
            ]
        return lines

    def evaluate(self, app: object) -> ExerciseResult:
        result = super().evaluate(app)
        if result.unfinished:
            return result
        lines = result.lines
        if result.report is not None:
            lines = regroup_findings(lines, result.report)
        lines = [
            ("✗" if mark == "!" and text.split(" ", 1)[0] in self.strict else mark, text)
            for mark, text in lines
        ]
        passed = all(mark != "✗" for mark, _ in lines)
        shown = compact_lines(lines) if passed else lines
        return ExerciseResult(result.name, passed, shown, report=result.report)


@dataclass(frozen=True)
class JSONCase(Case):
    """A :class:`Case` whose body must decode to ``json_equals``.

    ``needs_length``: the response must carry a Content-Length header.
    """

    json_equals: Any = None
    needs_length: bool = False

    def expectations(self, response: Response | None) -> list[tuple[bool, str]]:
        results = super().expectations(response)
        if response is None:
            return results
        if self.needs_length:
            value = response.header("Content-Length")
            results.append(
                (
                    value is not None,
                    header_row("Content-Length", value)
                    if value is not None
                    else "header Content-Length is missing: add "
                    "('Content-Length', str(len(body))) to the header list",
                )
            )
        if self.json_equals is not None:
            results.append(self._json_expectation(response.body))
        return results

    def _json_expectation(self, body: bytes) -> tuple[bool, str]:
        wanted = _shown(self.json_equals)
        if not body:
            return (False, f"body should be the JSON {wanted}, but the body is empty")
        try:
            got = json.loads(body)
        except ValueError:
            return (
                False,
                f"body should be the JSON {wanted}, but it is not valid JSON: "
                f"{_shown(body)} (build it with json.dumps(...).encode('utf-8'))",
            )
        if got == self.json_equals:
            return (True, f"body is the JSON {wanted}")
        return (False, f"body should be the JSON {wanted}, got {_shown(got)}{self._size(got)}")

    def _size(self, got: Any) -> str:
        """What a wrong ``"size"`` counted, when it alone is wrong ("" otherwise)."""
        wanted = self.json_equals
        if not (isinstance(got, dict) and isinstance(wanted, dict) and "size" in wanted):
            return ""
        if {**got, "size": 0} != {**wanted, "size": 0} or got.get("size") == wanted["size"]:
            return ""
        size, parsed = got.get("size"), {k: v for k, v in wanted.items() if k != "size"}
        text = b"".join((self.body,) if isinstance(self.body, bytes) else self.body).decode()
        said = (
            f": size should be {wanted['size']}, the number of bytes of the request body as it "
            "came in (int(environ['CONTENT_LENGTH']), or len() of the bytes read from wsgi.input)"
        )
        if size == len(text):
            return (
                f"{said}; {size} is the number of characters of the body, but "
                f"{multibyte_characters(text)} in UTF-8: count the bytes, before decoding"
            )
        spacings: list[dict[str, Any]] = [{}, {"separators": (",", ":")}, {"indent": 2}]
        encoded = [json.dumps(parsed, ensure_ascii=a, **s) for a in (True, False) for s in spacings]
        if size in {n for e in encoded for n in (len(e), len(e.encode()))}:
            return (
                f"{said}; {size} is the length of the object encoded again with json.dumps, "
                "whose spacing differs from the body the client sent: count the bytes that "
                "came in, not a new encoding"
            )
        return said
