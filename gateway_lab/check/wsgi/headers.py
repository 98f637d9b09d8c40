"""Judging a WSGI status line and header list, in the checker's rule ids.

Theory of operation: the judgement is not written here. It lives once, in
the package's one WSGI server side (:func:`gateway_lab.protocol.head.status_problems`
and :func:`~gateway_lab.protocol.head.header_problems`: pure functions from
what the app passed to ``start_response`` to a list of problems), so a
server refuses exactly what the checker reports. This module only names each
problem by its rule id, ``wsgi.<key>``, for the parts of the checker that
judge a recorded flow.

>>> status_problems("OK 200")
[('wsgi.status-form', {'value': "'OK 200'"})]
"""

from __future__ import annotations

from typing import Any

from gateway_lab import specs
from gateway_lab.protocol import head as protocol
from gateway_lab.protocol.bodies import Problem
from gateway_lab.protocol.head import parse_status

__all__ = ["HOP_BY_HOP", "Problem", "header_problems", "parse_status", "status_problems"]

HOP_BY_HOP = specs.HOP_BY_HOP_HEADERS


def _ids(problems: list[Problem]) -> list[Problem]:
    return [(f"wsgi.{key}", details) for key, details in problems]


def status_problems(status: Any) -> list[Problem]:
    """What is wrong with a status, as (rule id, details) pairs."""
    return _ids(protocol.status_problems(status))


def header_problems(headers: Any) -> tuple[list[Problem], list[tuple[str, str]]]:
    """What is wrong with a header list, as (rule id, details), and the readable pairs."""
    problems, pairs = protocol.header_problems(headers)
    return _ids(problems), pairs
