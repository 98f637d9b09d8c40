"""The message-flow diagram: a flow of events drawn as a sequence diagram in HTML.

Theory of operation: one column per lane (client, server, each middleware
layer, app; or client, gateway, script for CGI), one row per event, an arrow
from the sender's column to the receiver's, labelled with the event's kind
and summary. Clicking a label opens the payload (``<details>``). The left
column gives the time since the flow began and the gap since the previous
event.

When a flow holds several connections (concurrent requests), a small
timeline shows how they overlap, and each connection gets its own diagram.
Big flows are summarised: the first and last ``head`` / ``tail`` events are
drawn and a row says how many are left out, so 10,000 events cost no more
than 200. :func:`page_html` draws any slice, for the widget's pager.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..events import Event, Flow
from .html import box, esc, format_payload

__all__ = ["HEAD", "MAX_CONNECTIONS", "TAIL", "flow_html", "page_html", "select_events"]

HEAD = 100  # events drawn from the start of a long flow
TAIL = 100  # and from its end
MAX_CONNECTIONS = 20  # diagrams drawn at most; the widget can pick any one
LANE_WIDTH = 170
TIME_WIDTH = 92
LABEL_CAP = 56

KIND_COLOURS = {
    "environ": "#2b6cb0",
    "scope": "#2b6cb0",
    "environment": "#2b6cb0",
    "request": "#2b6cb0",
    "start_response": "#2f855a",
    "response": "#2f855a",
    "send": "#2f855a",
    "receive": "#c05621",
    "stdin": "#c05621",
    "body": "#4a5568",
    "write": "#4a5568",
    "stdout": "#4a5568",
    "close": "#6b46c1",
    "return": "#6b46c1",
    "exit": "#6b46c1",
    "spawn": "#6b46c1",
    "exception": "#c53030",
    "stderr": "#c53030",
}

LIFELINE = "background:linear-gradient(#c8c8c8,#c8c8c8) no-repeat center/1px 100%"


class _Gap:
    """A marker row: ``count`` events are not drawn here."""

    def __init__(self, count: int) -> None:
        self.count = count


def select_events(flow: Flow, connection: int | None = None) -> list[Event]:
    events = list(flow.events)
    if connection is None:
        return events
    return [e for e in events if e.connection == connection]


def ordered_lanes(flow: Flow, events: Sequence[Event] | None = None) -> list[str]:
    """The flow's lanes (client first), keeping only those these events use."""
    lanes = list(flow.lanes)
    if "client" in lanes:
        lanes.remove("client")
        lanes.insert(0, "client")
    if events is not None:
        used = {lane for e in events for lane in (e.source, e.target)}
        lanes = [lane for lane in lanes if lane in used] + sorted(used - set(lanes))
    return lanes


def _label(event: Event) -> str:
    detail = event.payload.get("summary")
    if detail is None:
        detail = event.payload.get("type") or ""
    text = f"{event.kind} {detail}".strip()
    return text if len(text) <= LABEL_CAP else text[: LABEL_CAP - 1] + "…"


def _arrow_row(event: Event, lanes: list[str], previous_t: float | None) -> str:
    index = {lane: i for i, lane in enumerate(lanes)}
    src, dst = index.get(event.source, 0), index.get(event.target, 0)
    low, high = min(src, dst), max(src, dst)
    span = high - low + 1
    colour = KIND_COLOURS.get(event.kind, "#2d3748")
    gap = "" if previous_t is None else f"+{(event.t - previous_t) * 1000:.2f}"
    cells = [
        f'<td style="text-align:right;padding:0 6px;color:#666;white-space:nowrap">'
        f'{event.t * 1000:.2f} ms<br><span style="font-size:10px">{gap}</span></td>'
    ]
    cells.extend(f'<td style="{LIFELINE}"></td>' for _ in range(low))
    pointing_right = dst >= src
    head = "&#9654;" if pointing_right else "&#9664;"
    side = "right" if pointing_right else "left"
    half = 50 / span
    payload = esc(format_payload(event.payload)) or "(no payload)"
    cells.append(
        f'<td colspan="{span}" style="padding:2px 0">'
        f'<div style="margin:0 {half:.2f}%;border-bottom:2px solid {colour};position:relative;'
        f'text-align:center;color:{colour}">'
        f'<details><summary style="cursor:pointer">{esc(_label(event))}</summary>'
        f'<pre style="text-align:left;white-space:pre-wrap;max-height:300px;overflow:auto;'
        f'margin:2px;padding:4px;background:#f7f7f7;color:#222">{payload}</pre></details>'
        f'<span style="position:absolute;{side}:-7px;bottom:-8px;font-size:11px">{head}</span>'
        f"</div></td>"
    )
    cells.extend(f'<td style="{LIFELINE}"></td>' for _ in range(len(lanes) - high - 1))
    return f"<tr>{''.join(cells)}</tr>"


def _diagram(rows: Sequence[Event | _Gap], lanes: list[str], title: str) -> str:
    width = TIME_WIDTH + LANE_WIDTH * max(len(lanes), 1)
    head = "".join(
        f'<th style="text-align:center;padding:2px"><span style="border:1px solid #888;'
        f'border-radius:3px;padding:1px 6px;background:#fafafa">{esc(lane)}</span></th>'
        for lane in lanes
    )
    parts = [
        f'<div style="margin:6px 0"><div style="font-weight:bold">{esc(title)}</div>'
        f'<table style="border-collapse:collapse;table-layout:fixed;width:{width}px">'
        f'<colgroup><col style="width:{TIME_WIDTH}px">'
        + f'<col style="width:{LANE_WIDTH}px">' * len(lanes)
        + f'</colgroup><tr><th style="text-align:right;padding:0 6px">time</th>{head}</tr>'
    ]
    previous: float | None = None
    for row in rows:
        if isinstance(row, _Gap):
            parts.append(
                f'<tr><td colspan="{len(lanes) + 1}" style="text-align:center;padding:4px;'
                f'background:#f3f3f3;color:#555">&hellip; {row.count:,} events not shown '
                f"(page through them in the widget, or pick a connection) &hellip;</td></tr>"
            )
            previous = None
        else:
            parts.append(_arrow_row(row, lanes, previous))
            previous = row.t
    parts.append("</table></div>")
    return "".join(parts)


def _summarised(events: list[Event], head: int, tail: int) -> list[Event | _Gap]:
    if len(events) <= head + tail:
        return list(events)
    return [*events[:head], _Gap(len(events) - head - tail), *events[len(events) - tail :]]


def connection_label(events: Sequence[Event]) -> str:
    for event in events:
        if event.kind in ("environ", "scope", "request", "environment"):
            summary = event.payload.get("summary")
            if summary:
                return str(summary)
    return events[0].kind if events else ""


def _overview(groups: dict[int, list[Event]]) -> str:
    """One bar per connection on a shared time axis: who overlapped whom."""
    starts = [g[0].t for g in groups.values()]
    ends = [g[-1].t for g in groups.values()]
    t0, total = min(starts), max(max(ends) - min(starts), 1e-9)
    rows = []
    for number, events in list(groups.items())[:MAX_CONNECTIONS]:
        left = (events[0].t - t0) / total * 100
        width = max((events[-1].t - events[0].t) / total * 100, 0.6)
        rows.append(
            f'<tr><td style="padding:0 6px;white-space:nowrap">#{number} '
            f"{esc(connection_label(events))[:40]}</td>"
            f'<td style="width:70%"><div style="position:relative;height:10px;background:#f1f1f1">'
            f'<div style="position:absolute;left:{left:.2f}%;width:{width:.2f}%;height:10px;'
            f'background:#2b6cb0" title="{(events[-1].t - events[0].t) * 1000:.2f} ms"></div>'
            f'</div></td><td style="padding:0 6px;color:#666">'
            f"{(events[-1].t - events[0].t) * 1000:.2f} ms</td></tr>"
        )
    return (
        f'<div style="font-weight:bold">{len(groups)} connections over '
        f'{total * 1000:.2f} ms</div><table style="width:100%">{"".join(rows)}</table>'
    )


def _render(flow: Flow, events: list[Event], head: int, tail: int, note: str) -> str:
    if not events:
        return box("<i>No events yet.</i>", flow.title or "flow")
    groups: dict[int, list[Event]] = {}
    for event in events:
        groups.setdefault(event.connection, []).append(event)
    title = f"{flow.title or 'flow'}: {len(flow):,} events{note}"
    if len(groups) == 1:
        ((number, group),) = groups.items()
        label = f"connection #{number}: {connection_label(group)}" if number else ""
        return box(
            _diagram(_summarised(group, head, tail), ordered_lanes(flow, group), label), title
        )
    parts = [_overview(groups)]
    per_connection_head = max(head // min(len(groups), MAX_CONNECTIONS), 5)
    for number, group in list(groups.items())[:MAX_CONNECTIONS]:
        label = f"connection #{number}: {connection_label(group)}"
        rows = _summarised(group, per_connection_head, min(tail, per_connection_head))
        parts.append(_diagram(rows, ordered_lanes(flow, group), label))
    if len(groups) > MAX_CONNECTIONS:
        parts.append(
            f"<div><i>&hellip; {len(groups) - MAX_CONNECTIONS:,} more connections; pick one "
            f"with <code>show_flow(flow, connection=N)</code>.</i></div>"
        )
    return box("".join(parts), title)


def flow_html(
    flow: Flow, connection: int | None = None, *, head: int = HEAD, tail: int = TAIL
) -> str:
    """The whole flow (or one connection) as HTML, long flows summarised."""
    events = select_events(flow, connection)
    note = f", connection #{connection}" if connection is not None else ""
    return _render(flow, events, head, tail, note)


def page_html(flow: Flow, connection: int | None, start: int, size: int) -> str:
    """Events ``start`` to ``start + size`` of the flow (or of one connection)."""
    events = select_events(flow, connection)[start : start + size]
    note = f", events {start + 1:,}-{start + len(events):,}" if events else ""
    return _render(flow, events, size, size, note)


def describe(flow: Flow) -> dict[str, Any]:
    return {"events": len(flow), "lanes": list(flow.lanes), "connections": flow.connections()}
