"""What lesson 06's exercises read in a report's flow: its requests and its lifespan.

Theory of operation: :func:`~gateway_lab.check.validate.check_asgi` records
every connection it plays in one flow. The lesson's exercises
(:mod:`gateway_lab.course.asgi`) split that flow per connection here:
:func:`http_connections` gives each HTTP request's events in the order the
requests were sent, :func:`lifespan_events` the lifespan call's.

:func:`lifespan_lines` turns the lifespan call into the rows of the
lifespan counter: the startup answered (or why not: never received, or a
reply the checker's ``asgi.lifespan-bad-reply`` already names), the state
set up in ``scope["state"]`` (or replaced by a dict of the app's own, which
the requests never see: ``asgi.lifespan-state-replaced``), the shutdown
answered, and the call ended after it. An app that sends ``lifespan.shutdown.complete`` and loops on
``receive()`` again never returns: the server has sent its last message,
so that call waits for nothing.

:func:`restore_raised` puts ``app.raised`` findings back where
``check_asgi`` kept a single ``asgi.unsupported-scope`` note instead (it
takes an app whose every request raised, while it did serve lifespan, for
one that does not serve HTTP); these exercises are about HTTP, so the
learner sees the exception and its line.
"""

from __future__ import annotations

from gateway_lab import specs
from gateway_lab.check.report import Report
from gateway_lab.check.rules import finding
from gateway_lab.check.wsgi.flow import describe_recorded_exception
from gateway_lab.events.flow import Event

__all__ = [
    "http_connections",
    "lifespan_events",
    "lifespan_lines",
    "requests_raised",
    "restore_raised",
    "started",
]


def http_connections(report: Report) -> list[list[Event]]:
    """The events of each HTTP request of ``report``, in the order they were sent."""
    numbers = sorted(
        {e.connection for e in report.flow if e.kind == "scope" and e.payload.get("type") == "http"}
    )
    return [[e for e in report.flow if e.connection == n] for n in numbers]


def lifespan_events(report: Report) -> list[Event]:
    """The events of the lifespan connection of ``report`` (none if it had none)."""
    numbers = {
        e.connection
        for e in report.flow
        if e.kind == "scope" and e.payload.get("type") == "lifespan"
    }
    return [e for e in report.flow if e.connection in numbers]


def restore_raised(report: Report, labels: list[str]) -> None:
    """``app.raised`` again for each request that raised, where check_asgi kept a note.

    ``labels`` are the requests' labels, in the order they were sent. Nothing
    changes unless the report has an ``asgi.unsupported-scope`` note naming
    one of them (the checker took the app for one that does not serve HTTP).
    A request whose flow shows a call the app never awaited is left alone:
    the checker names that call, not the exception it caused.
    """
    mine = set(labels)
    notes = [
        f
        for f in report.findings
        if f.rule == "asgi.unsupported-scope" and mine & {f.request, *f.also}
    ]
    if not notes:
        return
    shown = {r for f in report.findings if f.rule == "app.raised" for r in (f.request, *f.also)}
    restored = False
    for label, events in zip(labels, http_connections(report), strict=False):
        failure = next((e for e in events if e.kind == "exception"), None)
        if failure is None or label in shown or any(e.kind == "unawaited" for e in events):
            continue
        if failure.payload.get("from_server"):
            continue  # the server raised into the app: not the app's own mistake
        item = finding(
            "app.raised", label, [failure], exc=describe_recorded_exception(dict(failure.payload))
        )
        item.spec = specs.ASGI_ERROR_HANDLING
        report.add(item)
        restored = True
    if restored:  # the errors say it now; "fine for an app that serves only that" is not
        report.findings = [f for f in report.findings if f not in notes]


def requests_raised(report: Report, name: str) -> bool:
    """Did an HTTP request of ``report`` raise an exception of type ``name``?"""
    return any(
        e.kind == "exception" and e.payload.get("type") == name
        for events in http_connections(report)
        for e in events
    )


def _has(events: list[Event], kind: str, message_type: str) -> bool:
    return any(e.kind == kind and e.payload.get("type") == message_type for e in events)


def started(report: Report) -> bool:
    """Did the app answer the lifespan startup with 'lifespan.startup.complete'?"""
    return _has(lifespan_events(report), "send", "lifespan.startup.complete")


def _state_used(report: Report) -> bool:
    """Did the lifespan startup put anything in scope['state'] (seen in the requests' scopes)?"""
    scopes = [
        e.payload.get("scope", {})
        for e in report.flow
        if e.kind == "scope" and e.payload.get("type") == "http"
    ]
    return any(str(scope.get("state", "{}")) not in ("{}", "") for scope in scopes)


def _ended_after_shutdown(events: list[Event]) -> bool:
    """Did the lifespan call end (return or raise) after it sent 'lifespan.shutdown.complete'?"""
    done = next(
        (
            i
            for i, e in enumerate(events)
            if e.kind == "send" and e.payload.get("type") == "lifespan.shutdown.complete"
        ),
        None,
    )
    return done is not None and any(e.kind in ("return", "exception") for e in events[done:])


def _startup_line(report: Report, events: list[Event]) -> tuple[str, str]:
    """The ✗ row of a startup that was never answered with 'lifespan.startup.complete'."""
    if "asgi.lifespan-bad-reply" in report.rules():
        what = "the app's reply was not 'lifespan.startup.complete' (asgi.lifespan-bad-reply says "
        what += "what it sent)"
    elif _has(events, "receive", "lifespan.startup"):
        what = "the app received 'lifespan.startup' but never answered it"
    else:
        what = "the app never received 'lifespan.startup' (it did not call receive())"
    return (
        "✗",
        f"lifespan startup: {what}. A server serves no request until it gets "
        "{'type': 'lifespan.startup.complete'}, so the requests were not judged: "
        "set up scope['state'], then send that message "
        f"(see {specs.ASGI_LIFESPAN_STARTUP_COMPLETE})",
    )


def _state_replaced(report: Report) -> bool:
    """Did the startup rebind scope['state'] (its reply is marked so in the flow)?"""
    events = lifespan_events(report)
    return any(e.kind == "send" and e.payload.get("state_replaced") for e in events)


def _state_line(report: Report) -> tuple[str, str]:
    if _state_replaced(report):
        return (
            "✗",
            "scope['state']: the startup replaced it with a dict of its own "
            "(scope['state'] = {...}), so each request got a copy of the server's empty "
            "one, and found no counter there. The server copies only the dict it put in "
            "the lifespan scope: put the counter in that one, "
            "scope['state']['counter'] = {'count': 0} "
            f"(see {specs.ASGI_LIFESPAN_STATE})",
        )
    if _state_used(report):
        return ("✓", "scope['state']: the startup put the counter there")
    if requests_raised(report, "KeyError"):
        return (
            "✗",
            "scope['state']: the lifespan startup left it empty, and the requests raised "
            "KeyError (see app.raised below). State lives in scope['state']: the server "
            "copies the lifespan scope's scope['state'] into each request's scope, and "
            "nothing else of the lifespan scope (a counter put in scope itself, such as "
            "scope['counter'], stays there). At startup, put a mutable counter in it, "
            "e.g. scope['state']['counter'] = {'count': 0}, and read it in each request "
            f"from scope['state'] (see {specs.ASGI_LIFESPAN_STATE})",
        )
    return (
        "✗",
        "scope['state']: the lifespan startup left it empty, so the counter lives "
        "somewhere else (a global variable?). The exercise is about lifespan state: "
        "at startup, put a mutable counter in it, e.g. "
        "scope['state']['counter'] = {'count': 0}, and read it in each request from "
        f"scope['state'] (see {specs.ASGI_LIFESPAN_STATE})",
    )


def _shutdown_line(events: list[Event]) -> tuple[str, str]:
    if _ended_after_shutdown(events):
        return (
            "✓",
            "lifespan shutdown: the app answered 'lifespan.shutdown.complete', then returned",
        )
    if _has(events, "send", "lifespan.shutdown.complete"):
        return (
            "✗",
            "lifespan shutdown: the app answered 'lifespan.shutdown.complete', then kept "
            "running instead of returning (a `while True:` loop goes on to `await receive()`, "
            "but the server has sent its last message): `return` right after sending "
            "'lifespan.shutdown.complete', as the lifespan "
            f"spec's own example does (see {specs.ASGI_LIFESPAN_SHUTDOWN_COMPLETE})",
        )
    if not _has(events, "receive", "lifespan.shutdown"):
        return (
            "✗",
            "lifespan shutdown: the app returned after the startup, so it never "
            "received 'lifespan.shutdown'. Keep looping on `await receive()`, and "
            "answer 'lifespan.shutdown' with {'type': 'lifespan.shutdown.complete'} "
            f"before returning (see {specs.ASGI_LIFESPAN})",
        )
    return (
        "✗",
        "lifespan shutdown: the app received 'lifespan.shutdown' but did not "
        "answer it: send {'type': 'lifespan.shutdown.complete'}, then return "
        f"(see {specs.ASGI_LIFESPAN})",
    )


def lifespan_lines(report: Report) -> list[tuple[str, str]]:
    """One row for the startup and, once that was answered, one each for the state and shutdown."""
    events = lifespan_events(report)
    if not started(report):
        return [_startup_line(report, events)]
    return [
        ("✓", "lifespan startup: the app answered 'lifespan.startup.complete'"),
        _state_line(report),
        _shutdown_line(events),
    ]
