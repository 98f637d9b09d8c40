"""The message-flow diagram: a flow of events drawn as a sequence diagram in HTML.

Theory of operation: one column per lane (client, server, each middleware
layer, app; or client, gateway, script for CGI), one row per event, an arrow
from the sender's column to the receiver's, labelled with the event's kind
and summary, drawn in the kind's colour (colours and meanings come from the
event vocabulary, :mod:`gateway_lab.events.kinds`). The left column gives
the time since the flow began and the gap since the previous event.

Each row is a ``<details>`` element whose ``<summary>`` *is* the arrow row (a
small CSS grid with the same fixed columns as the lane headers), so clicking
an arrow opens its details in a panel below it that spans the whole diagram:
who sent what to whom in one plain sentence, then the payload (a traceback
whole, or with its end kept). No JavaScript; without styles the rows still
read as text.

Lanes get narrower as there are more of them (six fit in about 900 px) and
shrink further when the output is narrower still (a side panel open); past
that the diagram scrolls sideways inside its own box, and its lane headers
stay at the top while it scrolls down.

When a flow holds several connections (concurrent requests), a small
timeline shows how they overlap, and each connection gets its own diagram.
Big flows are summarised: the first and last ``head`` / ``tail`` events are
drawn and a row says how many are left out, so 10,000 events cost no more
than 200. :func:`page_html` draws any slice, for the widget's pager.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway_lab.events.flow import Event, Flow
from gateway_lab.events.kinds import REQUEST, REQUEST_KINDS, RETURN, colour, meaning
from gateway_lab.views.html import box, esc, format_payload

__all__ = [
    "HEAD",
    "MAX_CONNECTIONS",
    "TAIL",
    "arrow_label",
    "describe_event",
    "flow_html",
    "lane_width",
    "page_html",
    "select_events",
]

HEAD = 100  # events drawn from the start of a long flow
TAIL = 100  # and from its end
MAX_CONNECTIONS = 20  # diagrams drawn at most; the widget can pick any one
TIME_WIDTH = 84
LANE_MAX = 170  # px per lane when there are few lanes
LANE_MIN = 100  # px per lane when there are many (before the output is too narrow)
LANE_SQUEEZED = 88  # px per lane in a narrow output (a side panel open); then it scrolls
FIT_WIDTH = 900  # lanes shrink so that a diagram fits this width (six lanes do)
CHAR_WIDTH = 7.3  # px of one character at the views' 12 px monospace
LABEL_CAP = 56

_ROLES = ("app", "server", "client", "gateway", "script")
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


def lane_width(lanes: int) -> int:
    """Pixels per lane: narrower as lanes are added, so that six fit in FIT_WIDTH."""
    fitting = (FIT_WIDTH - TIME_WIDTH) // max(lanes, 1)
    return max(LANE_MIN, min(LANE_MAX, fitting))


def arrow_label(event: Event) -> str:
    """The words on an arrow: its kind and summary ('return list', not 'return returned')."""
    detail = event.payload.get("summary")
    if detail is None:
        detail = event.payload.get("type") or ""
    detail = str(detail).strip()
    if event.kind == RETURN:
        # "returned X" from a checker reads "return returned X": say it once
        first, _, rest = detail.partition(" ")
        if first == "returned":
            detail = rest.strip()
        if detail in ("None", "NoneType"):
            detail = ""
    return f"{event.kind} {detail}".strip()


def _who(lane: str) -> str:
    """'the app', 'the server'; a middleware's lane is 'the auth layer'."""
    return f"the {lane}" if lane in _ROLES else f"the {lane} layer"


def describe_event(event: Event) -> str:
    """One sentence on what an event means: 'the app returned a list.'"""
    template = meaning(event.kind)
    if template is None:
        template = "{source} -> {target}: " + event.kind.replace("{", "{{").replace("}", "}}") + "."
    returned = event.payload.get("type")
    what = ""
    if isinstance(returned, str) and returned not in ("", "NoneType"):
        what = f" {'an' if returned[0].lower() in 'aeiou' else 'a'} {returned}"
    sentence = template.format(source=_who(event.source), target=_who(event.target), what=what)
    return sentence[0].upper() + sentence[1:]


def _columns(lanes: int, width: int) -> str:
    """The grid every row shares: time, the lanes (shrinking to fit), then a filler.

    Lanes are ``width`` px when there is room and no less than LANE_SQUEEZED px;
    the filler column takes what is left, so the panels below the arrows span
    the whole output while the lanes keep their size.
    """
    squeezed = min(LANE_SQUEEZED, width)
    return (
        f"display:grid;grid-template-columns:{TIME_WIDTH}px "
        f"repeat({lanes},minmax({squeezed}px,{width}px)) minmax(0,1fr)"
    )


def _shorten(text: str, chars: int) -> str:
    chars = max(chars, 8)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _arrow_row(event: Event, lanes: list[str], width: int, previous_t: float | None) -> str:
    index = {lane: i for i, lane in enumerate(lanes)}
    src, dst = index.get(event.source, 0), index.get(event.target, 0)
    low, high = min(src, dst), max(src, dst)
    shade = colour(event.kind)
    gap = "" if previous_t is None else f"+{(event.t - previous_t) * 1000:.2f}"
    pointing_right = dst >= src
    head = "&#9654;" if pointing_right else "&#9664;"
    side = "right" if pointing_right else "left"
    span = high - low + 1
    # The arrow runs from the middle of one lane to the middle of the other;
    # an event to its own lane gets a short stub. Margins in % of the lanes spanned.
    left = 50 / span
    right = 50 / span if span > 1 else 4
    arrow_share = (100 - left - right) / 100
    label = arrow_label(event)
    # the label may reach half a lane past each end of its arrow, no further
    shown = _shorten(_shorten(label, LABEL_CAP), int(span * width / CHAR_WIDTH) - 3)
    time_cell = (
        f'<span style="grid-column:1;grid-row:1;text-align:right;padding:0 6px;color:#666;'
        f'white-space:nowrap">{event.t * 1000:.2f} ms<br>'
        f'<span style="font-size:10px">{gap}</span></span>'
    )
    lifelines = "".join(
        f'<span style="grid-column:{i + 2};grid-row:1;{LIFELINE}"></span>'
        for i in range(len(lanes))
    )
    arrow = (
        f'<span style="grid-column:{low + 2}/{high + 3};grid-row:1;align-self:end;'
        f"margin:0 {right:.2f}% 6px {left:.2f}%;border-bottom:2px solid {shade};"
        f'position:relative;display:flex;justify-content:center;color:{shade}">'
        f'<span title="{esc(label)}" style="background:#fff;padding:0 3px;white-space:nowrap;'
        f"flex-shrink:0;overflow:hidden;text-overflow:ellipsis;"
        f'max-width:{100 / arrow_share:.1f}%">&#9656; {esc(shown)}</span>'
        f'<span style="position:absolute;{side}:-7px;bottom:-8px;font-size:11px">{head}</span>'
        f"</span>"
    )
    summary = (
        f'<summary style="display:block;list-style:none;cursor:pointer">'
        f'<span style="{_columns(len(lanes), width)};min-height:32px" '
        f'title="click for details">{time_cell}{lifelines}{arrow}</span></summary>'
    )
    payload = esc(format_payload(event.payload)) or "(no payload)"
    panel = (
        f'<div style="margin:2px 0 8px 8px;padding:4px 8px;border:1px solid #ddd;'
        f'border-left:4px solid {shade};background:#f7f7f7;color:#222">'
        f'<div><b style="color:{shade}">{esc(event.source)} &rarr; {esc(event.target)}: '
        f"{esc(label)}</b></div><div>{esc(describe_event(event))}</div>"
        f'<pre style="white-space:pre-wrap;overflow-wrap:anywhere;max-height:480px;'
        f'overflow:auto;margin:4px 0 0;padding:0;background:transparent">{payload}</pre>'
        f"</div>"
    )
    return f"<details>{summary}{panel}</details>"


def _lane_header(lanes: list[str], width: int) -> str:
    cells = "".join(
        f'<span style="grid-column:{i + 2};text-align:center;overflow:hidden;'
        f'text-overflow:ellipsis;white-space:nowrap;padding:2px" title="{esc(lane)}">'
        f'<span class="gl-lane" style="border:1px solid #888;border-radius:3px;padding:1px 6px;'
        f'background:#fafafa">{esc(lane)}</span></span>'
        for i, lane in enumerate(lanes)
    )
    return (
        f'<div style="{_columns(len(lanes), width)};position:sticky;top:0;z-index:1;'
        f'background:#fff;font-weight:bold;border-bottom:1px solid #eee">'
        f'<span style="grid-column:1;text-align:right;padding:2px 6px">time</span>{cells}</div>'
    )


def _diagram(rows: Sequence[Event | _Gap], lanes: list[str], title: str) -> str:
    width = lane_width(len(lanes))
    narrowest = TIME_WIDTH + min(LANE_SQUEEZED, width) * max(len(lanes), 1)
    parts = [
        f'<div style="margin:6px 0;min-width:{narrowest}px">'
        f'<div style="font-weight:bold">{esc(title)}</div>{_lane_header(lanes, width)}'
    ]
    previous: float | None = None
    for row in rows:
        if isinstance(row, _Gap):
            parts.append(
                f'<div style="text-align:center;padding:4px 0;'
                f'background:#f3f3f3;color:#555">&hellip; {row.count:,} events not shown '
                f"(page through them in the widget, or pick a connection) &hellip;</div>"
            )
            previous = None
        else:
            parts.append(_arrow_row(row, lanes, width, previous))
            previous = row.t
    parts.append("</div>")
    return "".join(parts)


def _summarised(events: list[Event], head: int, tail: int) -> list[Event | _Gap]:
    if len(events) <= head + tail:
        return list(events)
    return [*events[:head], _Gap(len(events) - head - tail), *events[len(events) - tail :]]


def connection_label(events: Sequence[Event]) -> str:
    for event in events:
        if event.kind in (*REQUEST_KINDS, REQUEST):
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
