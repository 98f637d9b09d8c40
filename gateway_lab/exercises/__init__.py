"""The exercise framework: an exercise is data, checked with ``gl.exercise(name)``.

Theory of operation: ``framework`` holds :class:`Exercise` and :class:`Case`
(requests and what each response must show, judged with the checker), the
registry and ``exercise(name)``. Kinds that need more than one request and a
response build on it: ``cgi`` (a script run as CGI), ``server`` (a part of a
WSGI server), ``middleware`` (a layer around an app), ``stream`` and
``websocket`` (a conversation over time, both run by ``runner``). The
course's own exercises are in :mod:`gateway_lab.course`.
"""

from __future__ import annotations

from gateway_lab.exercises.framework import Case, Exercise, ExerciseResult, exercise, register

__all__ = ["Case", "Exercise", "ExerciseResult", "exercise", "register"]
