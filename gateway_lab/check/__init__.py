"""Check it: learner-friendly WSGI and ASGI validators and exercise checkers.

Theory of operation: ``check_wsgi(app)`` and ``check_asgi(app)`` play the
server for a battery of requests and return a :class:`Report` of
:class:`Finding` records, each naming a stable rule id from :mod:`.rules`,
what the app did, what to change and where the spec says so. Exercises
(:mod:`.exercises`) are built on the same checks plus the exercise's own
expectations.

Modules: ``report`` (Finding, Report), ``ruletypes`` / ``rules`` / ``wsgi_rules``
/ ``asgi_rules`` (the catalogue), ``battery`` (the default requests),
``wsgi_driver`` / ``wsgi_headers`` / ``wsgi_input`` (the WSGI side),
``asgi_driver`` / ``asgi_base`` / ``asgi_http`` / ``asgi_websocket`` /
``asgi_lifespan`` / ``asgi_messages`` (the ASGI side), ``looplag``
(event-loop blocking), ``explain`` (values and exceptions as text),
``checkers`` (the two checks), ``exercises`` (the exercise framework),
the kinds of exercise that need more than one request and a response
(``cgi_exercise``, ``server_exercise``, ``middleware_exercise``,
``stream_exercise`` and ``websocket_exercise``, both run by
``connection_runner``), and the
course's own exercises, one module per lesson (``course``, ``course_NN``).
"""

from __future__ import annotations

from gateway_lab.check.battery import DEFAULT_BATTERY, Probe
from gateway_lab.check.report import Finding, Report
from gateway_lab.check.rules import RULES, Rule
from gateway_lab.check.validate import check_asgi, check_wsgi

__all__ = [
    "DEFAULT_BATTERY",
    "RULES",
    "Finding",
    "Probe",
    "Report",
    "Rule",
    "check_asgi",
    "check_wsgi",
]
