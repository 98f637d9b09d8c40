"""The exercise framework: an exercise is data, checked with ``gl.exercise(name)``.

Theory of operation: ``framework`` holds :class:`Exercise` (run the cases
through the checker, turn the report into feedback) and the registry
(``gl.exercise(name)`` is :func:`gateway_lab.course.exercise`); ``case``
holds :class:`Case` (one request and what its response must show) and
``result`` the :class:`ExerciseResult` the learner reads. Kinds that need
more than one request and a response build on it: ``cgi`` (a script run as
CGI, with ``scripts`` turning an answer into a runnable script and ``stdin``
checking how it reads its body), ``server`` (a part of a WSGI server),
``middleware`` (a layer around an app, with ``cookies`` for a tiny cookie
jar), ``stream`` and ``websocket`` (a conversation over time, both run by
``runner``). The course's own exercises are in :mod:`gateway_lab.course`.
"""

from __future__ import annotations

from gateway_lab.exercises.case import Case
from gateway_lab.exercises.framework import Exercise, register
from gateway_lab.exercises.result import ExerciseResult

__all__ = ["Case", "Exercise", "ExerciseResult", "register"]
