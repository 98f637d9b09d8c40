"""Server-sent events as a client reads them: the stream's grammar, the data, the pace.

Theory of operation: a server-sent-events exercise judges the bytes an app
streamed the way a browser's ``EventSource`` reads them. :func:`sse_events`
parses a body by the HTML standard's grammar (9.2.5 Parsing an event
stream) into events, field name to value, and says what is wrong with it
(no blank line at the end, no ``data`` at all). :func:`judge_data` compares
the events' data with the text a task asks of event 1, 2, 3, ... (as a
client reads it: one space after the colon is dropped, so ``data:tick 1``
is ``tick 1``, and several ``data`` lines join with a newline).
:func:`judge_pace` reads the times the app sent its first events: spread
over less than three quarters of the pauses asked is no real pause (a
machine under load only ever makes pauses longer, so this never fails a
right answer), and over eight times them is another pause than the task's.
Each judge answers ``(passed, sentence)``; the sentence says what was
measured and what to change.
"""

from __future__ import annotations

import re

from gateway_lab.check.explain import short

__all__ = ["judge_data", "judge_pace", "sse_events"]


_LINE_END = re.compile(rb"\r\n|\r|\n")


def sse_events(body: bytes) -> tuple[list[dict[bytes, bytes]], str]:
    """The events of an event stream (field name -> value, comments left out) and what is
    wrong with it ("" if nothing), by the HTML standard's grammar (9.2.5 Parsing an event
    stream)::

        stream        = [ bom ] *event
        event         = *( comment / field ) end-of-line
        comment       = colon *any-char end-of-line
        field         = 1*name-char [ colon [ space ] *any-char ] end-of-line
        end-of-line   = ( cr lf / cr / lf )

    The stream must end on an event's blank line: a client only dispatches an
    event once its blank line has arrived.

    >>> sse_events(b"id: 1\\ndata: tick\\n\\n:keep-alive\\n\\ndata:x\\r\\n\\r\\n")
    ([{b'id': b'1', b'data': b'tick'}, {b'data': b'x'}], '')
    """
    text = body.removeprefix("\ufeff".encode())
    if not text:
        return [], "it is empty"
    lines = _LINE_END.split(text)
    if lines[-1] != b"" or len(lines) < 3 or lines[-2] != b"":
        return _parsed(lines[:-1]), f"it does not end with a blank line, got {short(body[-40:])}"
    events = _parsed(lines[:-2])
    if not any(b"data" in fields for fields in events):
        names = sorted({name for fields in events for name in fields})
        return events, f"no event has a data field (the field names were {short(names, 60)})"
    return events, ""


def _parsed(lines: list[bytes]) -> list[dict[bytes, bytes]]:
    events: list[dict[bytes, bytes]] = []
    fields: dict[bytes, bytes] = {}
    for line in [*lines, b""]:
        if not line:
            if fields:
                events.append(fields)
            fields = {}
        elif not line.startswith(b":"):
            name, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if name == b"data" and name in fields:  # several data lines: joined by a newline
                value = fields[name] + b"\n" + value
            fields[name] = value
    return events


def judge_data(data: str, events: list[dict[bytes, bytes]]) -> tuple[bool, str]:
    """Do the events carry the data the task asks, ``data.format(1)``, ``data.format(2)``, ...?

    The comparison is of the data as a client reads it, so ``data:tick 1`` (no space after
    the colon) is ``tick 1`` too; ``id:`` and ``event:`` lines may come with it.

    >>> judge_data("tick {}", sse_events(b"id: 1\\ndata:tick 1\\n\\ndata: tick 2\\n\\n")[0])
    (True, "the events' data: 'tick 1', 'tick 2'")
    >>> judge_data("tick {}", sse_events(b"data: tick 0\\n\\n")[0])[1][:52]
    "the events' data should be 'tick 1', 'tick 2', 'tick"
    """
    got = [fields[b"data"].decode("utf-8", "replace") for fields in events if b"data" in fields]
    wanted = [data.format(number) for number in range(1, len(got) + 1)]
    shown = ", ".join(short(text) for text in got[:3])
    if got == wanted:
        return True, f"the events' data: {shown}"
    asked = ", ".join(short(data.format(number)) for number in (1, 2, 3))
    return (
        False,
        f"the events' data should be {asked}, ... (counting from 1); got {shown}. Send "
        f"b'data: {data.format(1)}\\n\\n' for the first event, b'data: {data.format(2)}\\n\\n' "
        "for the second, and so on",
    )


# The spread of the first events, against the pauses asked: under 3/4 of them is no real
# pause (a machine under load only ever makes pauses longer); over 8 times as long is
# another pause than the task's (a generous bound a busy machine does not reach).
_FASTEST, _SLOWEST = 0.75, 8.0


def judge_pace(pause: float, sent_at: list[float], unit: str = "events") -> tuple[bool, str]:
    """Did the first events come one every ``pause`` seconds, roughly (not all at once)?

    ``unit`` names what was counted: "body messages" for a body that is not a
    well-formed event stream, whose messages a browser would not take as events.
    """
    count = len(sent_at)
    if not pause or count < 2:
        return True, f"{count} {unit} arrived one by one, then the client left"
    gaps = count - 1
    spread = sent_at[-1] - sent_at[0]
    asked = f"one every {pause:g} s"
    fix = f"await asyncio.sleep({pause:g}) after each event"
    if spread < _FASTEST * gaps * pause:
        zero = (
            " (asyncio.sleep(0) lets other tasks run, but does not wait)" if spread < 0.01 else ""
        )
        return (
            False,
            f"the first {count} {unit} came within {spread * 1000:.0f} ms, first to last: "
            f"no real pause between them; the task asks for {asked}: {fix}{zero}",
        )
    apart = spread / gaps
    if spread > _SLOWEST * gaps * pause:
        return (
            False,
            f"the first {count} {unit} took {spread:.2f} s, first to last (about {apart:.2f} s "
            f"apart); the task asks for {asked}: {fix}",
        )
    return (
        True,
        f"{count} {unit} arrived one by one, about {apart * 1000:.0f} ms apart, then the "
        "client left",
    )
