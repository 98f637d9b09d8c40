"""``check_flow``: judge a recorded conversation with the checker's own rules.

Theory of operation: ``gl.check_wsgi`` and ``gl.check_asgi`` play the server
themselves; ``check_flow`` instead reads a :class:`~gateway_lab.events.flow.Flow`
that a recorder wrote while a *real* server (werkzeug, wsgiref, uvicorn, the
mini servers) or an in-process call (``gl.call_wsgi``, ``gl.call_asgi``)
talked to the app::

    recorded, flow = gl.record_wsgi(app)      # or gl.record_asgi(app)
    srv = gl.serve_wsgi(recorded)             # ...send it some requests...
    gl.check_flow(flow)                       # the same as recorded.flow

The flow is cut into exchanges: one per connection number and per pair of
lanes (a recorded middleware stack has one exchange per layer). An exchange
that starts with an ``environ`` is judged by :mod:`.wsgi.flow`, one that
starts with a ``scope`` by :mod:`.asgi.flow`. Both use the checker's own
judging functions (``header_problems``, ``start_problems``, ...), the ASGI
order tables of :mod:`gateway_lab.protocol.asgi` and the rule catalogue of
:mod:`.rules`, so a mistake gets the same rule id and the same words as
from a live check. Nothing is run again: judging a flow is reading it.

What a recording cannot show, and so is not judged here (:data:`NOT_JUDGED`):

* ``wsgi.input-past-content-length``, ``wsgi.readline-size``: the reads go
  to the server's own ``wsgi.input``; only the checker hands the app a
  watched input that notes each ``read(n)``.
* ``wsgi.errors-not-str``, ``wsgi.stream-closed``: likewise, the streams are
  the server's.
* ``wsgi.exc-info-trapped``, ``wsgi.write-in-iterable``,
  ``wsgi.len-inaccurate``: judged by the one WSGI server side while it
  plays the server (what happened to the exception it re-raised, whether
  the body was being iterated, what len() said); a recording keeps none of
  it. (An ``exc_info`` of ``(None, None, None)`` *is* recorded, so
  ``wsgi.exc-info-outside-handler`` is judged.)
* ``wsgi.environ-key-missing``: needs the environ the app was given beside
  the KeyError it raised; only the checker builds both.
* ``app.timeout``: a recording has no deadline; an app still running is
  simply not finished yet (its exchange is judged for what it did so far).
* ``asgi.send-not-awaited``, ``asgi.receive-not-awaited``: a call that was
  never awaited never reaches the recorder's ``send`` or ``receive``; only
  the checker's own callables can notice they were called. (They record an
  ``unawaited`` event; in a flow that has one, what the call's absence
  caused, such as an unfinished response, is not blamed, as in the check.)
* ``asgi.blocking-call``: needs the checker's loop-lag monitor, running
  beside the app on the same event loop.
* ``asgi.receive-after-body``: needs a client that keeps waiting for the
  answer; a real client's disconnect ends the wait differently per server.
* ``asgi.receive-after-disconnect``: a receive() after the disconnect waits
  forever on a real server (uvicorn), so the recording never shows it; only
  the checker's own receive() answers the call and can notice it.
* ``asgi.body-partly-read``: needs the number of pieces the server *meant*
  to send; the recording only has those the app asked for.
* ``wsgi.head-length-zero``, ``wsgi.head-length-differs``,
  ``asgi.head-length-zero``, ``asgi.head-length-differs``: they
  compare a HEAD with the GET of the same page just before it, with nothing
  between them that could change the page; only the checker, which sends
  both, knows that pairing. A recording of a real server's traffic does not.
* ``check.failed``, ``app.not-callable``, ``app.wrong-kind``: about the
  check itself and the object given to it, not about a conversation.

Exchanges with events over the flow's per-connection cap are judged on what
was kept, without the rules that add up the whole body; exchanges whose
start was dropped (the oldest events of a very long flow) are not judged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from gateway_lab.check.asgi.flow import connection_label, judge_asgi_connections
from gateway_lab.check.report import Finding, Report
from gateway_lab.check.rules import RULES
from gateway_lab.check.wsgi.flow import judge_wsgi_request
from gateway_lab.events.flow import Event, Flow
from gateway_lab.events.kinds import ENVIRON, SCOPE

__all__ = ["JUDGED", "NOT_JUDGED", "check_flow", "exchanges"]

_NOT_JUDGED = frozenset(
    {
        "wsgi.input-past-content-length",
        "wsgi.readline-size",
        "wsgi.errors-not-str",
        "wsgi.stream-closed",
        "wsgi.exc-info-trapped",
        "wsgi.write-in-iterable",
        "wsgi.len-inaccurate",
        "wsgi.environ-key-missing",
        "app.timeout",
        "asgi.send-not-awaited",
        "asgi.receive-not-awaited",
        "asgi.blocking-call",
        "asgi.receive-after-body",
        "asgi.receive-after-disconnect",
        "asgi.body-partly-read",
        "wsgi.head-length-zero",
        "wsgi.head-length-differs",
        "asgi.head-length-zero",
        "asgi.head-length-differs",
        "check.failed",
        "app.not-callable",
        "app.wrong-kind",
    }
)
NOT_JUDGED = _NOT_JUDGED & frozenset(RULES)  # (those the catalogue has today)
# Every other rule of the catalogue can be judged from a recording.
JUDGED = frozenset(RULES) - NOT_JUDGED


def exchanges(flow: Flow) -> list[tuple[Event, list[Event]]]:
    """Each exchange of ``flow``: its ``environ`` / ``scope`` event and all its events.

    An exchange is a connection number and a pair of lanes (the server's and
    the app's, or two layers of a recorded middleware stack), in the order
    the exchanges began.
    """
    found: list[tuple[Event, list[Event]]] = []
    open_: dict[tuple[int, frozenset[str]], list[Event]] = {}
    for event in flow.events:
        lanes = frozenset((event.source, event.target))
        key = (event.connection, lanes)
        if event.kind in (ENVIRON, SCOPE):
            open_[key] = [event]
            found.append((event, open_[key]))
        elif key in open_:
            open_[key].append(event)
    return found


def _judge_wsgi(start: Event, events: Sequence[Event], complete: bool) -> list[Finding]:
    label = str(start.payload.get("summary", "")) or "a request"
    return judge_wsgi_request(events, _with_layer(label, start), complete)


def _judge_asgi(flow: Flow, found: list[tuple[Event, list[Event]]]) -> list[Finding]:
    """The ASGI exchanges, layer by layer, each layer judged as one battery."""
    layers: dict[str, list[tuple[Event, list[Event]]]] = {}
    for start, events in found:
        if start.kind == SCOPE:
            layers.setdefault(start.target, []).append((start, events))
    findings: list[Finding] = []
    for lane, exchanges_ in layers.items():
        judged = judge_asgi_connections(
            [(events, flow.complete(start.connection)) for start, events in exchanges_]
        )
        if lane != "app":
            for item in judged:
                item.request = _with_layer(item.request, exchanges_[0][0])
        findings.extend(judged)
    return findings


def _with_layer(label: str, start: Event) -> str:
    return label if start.target == "app" else f"{label} ({start.target} layer)"


def check_flow(flow: Flow) -> Report:
    """Judge every exchange a recorder wrote into ``flow``; the same findings as a live check.

    >>> import gateway_lab as gl
    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Length", "50")])
    ...     return [b"Hello"]
    >>> recorded, flow = gl.record_wsgi(app)
    >>> _ = gl.call_wsgi(recorded)
    >>> sorted(gl.check_flow(flow).rules())
    ['wsgi.content-length-mismatch', 'wsgi.no-content-type']
    """
    started = time.perf_counter()
    found = exchanges(flow)
    report = Report(f"check_flow({flow.title or 'flow'})", [])
    report.flow = flow
    findings: list[Finding] = []
    for start, events in found:
        report.requests.append(_label_of(start))
        if start.kind == ENVIRON:
            findings.extend(_judge_wsgi(start, events, flow.complete(start.connection)))
    findings.extend(_judge_asgi(flow, found))
    report.requests = list(dict.fromkeys(report.requests))
    for item in findings:
        report.add(item)
    report.seconds = time.perf_counter() - started
    return report


def _label_of(start: Event) -> str:
    if start.kind == ENVIRON:
        return _with_layer(str(start.payload.get("summary", "")), start)
    scope = start.payload.get("scope")
    return _with_layer(connection_label(scope if isinstance(scope, dict) else {}), start)
