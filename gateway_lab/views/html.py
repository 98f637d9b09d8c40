"""Small HTML building blocks shared by every view.

Theory of operation: every view is first a function that returns an HTML
string; widgets only show such strings and swap them as things change. So
the same picture appears in JupyterLab, in an exported page, on nbviewer and
on GitHub. Styles are inline (exported pages and sanitisers keep them where
they drop ``<style>`` blocks), and every picture still reads as plain text
if styles are stripped: arrows are characters, payloads are ``<pre>`` text
inside ``<details>``.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = [
    "PAYLOAD_TEXT_CAP",
    "VALUE_CAP",
    "box",
    "esc",
    "format_bytes_note",
    "format_payload",
    "format_value",
    "keep_end",
    "link",
    "see_also",
]

VALUE_CAP = 300  # characters of one value shown in a table cell
PAYLOAD_TEXT_CAP = 6000  # characters of one payload shown when expanded
TRACEBACK_CAP = 12000  # a traceback keeps its end (the error) when cut

FONT = "font-family:var(--jp-code-font-family,monospace);font-size:12px"
# Visible in JupyterLab's widgets too, whose theme draws links as plain text.
LINK_STYLE = "color:#0b5fad;text-decoration:underline;text-underline-offset:4px"


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def link(href: str, text: str) -> str:
    """A link that opens in a new tab, underlined and coloured wherever it is shown."""
    return (
        f'<a href="{esc(href)}" target="_blank" rel="noopener" style="{LINK_STYLE}">{esc(text)}</a>'
    )


def see_also(*links: tuple[str, str]) -> str:
    """A line of its own: 'see: link · link'."""
    items = " &middot; ".join(link(href, text) for href, text in links)
    return f'<div style="margin-top:4px">see: {items}</div>'


def keep_end(text: str, cap: int = TRACEBACK_CAP) -> str:
    """``text`` cut to about ``cap`` characters, keeping its first line and its end.

    A traceback's last lines name the error; its first says what it is.
    """
    if len(text) <= cap:
        return text
    first, _, rest = text.partition("\n")
    tail = rest[len(rest) - cap :]
    frame = tail.find("\n  File ")  # start at a whole frame, or at least a whole line
    tail = tail[frame + 1 :] if frame >= 0 else tail[tail.find("\n") + 1 :]
    left_out = len(rest) - len(tail)
    return f"{first}\n  ... ({left_out:,} characters left out) ...\n{tail}"


def box(inner: str, title: str = "") -> str:
    """The outer frame of a view, with an optional title line."""
    head = f'<div style="font-weight:bold;margin-bottom:4px">{esc(title)}</div>' if title else ""
    return (
        f'<div class="gl-view" style="{FONT};line-height:1.35;max-width:100%;'
        f'overflow-x:auto">{head}{inner}</div>'
    )


def format_value(value: Any, cap: int = VALUE_CAP) -> str:
    """A value as text: str as it is, bytes and everything else via repr."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > cap:
        text = f"{text[:cap]}... ({len(text):,} characters)"
    return text


def format_bytes_note(payload: dict[str, Any]) -> str:
    """'1,048,576 bytes (first 4,096 shown)' for a keep_body payload."""
    size = payload.get("size", 0)
    if payload.get("truncated"):
        data = payload.get("body", payload.get("bytes", b""))
        kept = len(data) if isinstance(data, (bytes, bytearray)) else 0
        shown = f"first {kept:,} shown" if kept else "truncated"
        return f"{size:,} bytes ({shown})"
    return f"{size:,} bytes"


def format_payload(payload: dict[str, Any], cap: int = PAYLOAD_TEXT_CAP) -> str:
    """An event's payload as readable text lines (escaped later by the caller).

    Everything but a traceback is cut at about ``cap`` characters; a traceback
    comes last, whole, or with its first line and its end kept (``keep_end``).
    """
    lines: list[str] = []
    traceback_text = ""
    for key, value in payload.items():
        if key in ("summary", "frames"):  # frames: the traceback's, for checks; shown below
            continue
        if key in ("environ", "scope", "variables") and isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {format_value(v, 200)}" for k, v in value.items())
        elif key == "headers" and isinstance(value, list):
            # brackets around the pairs, as in the app's code: one pair is not a flat list
            lines.append("headers: [" if value else "headers: []")
            lines.extend(f"  {format_value(pair, 200)}," for pair in value)
            lines.extend(["]"] if value else [])
        elif key in ("body", "bytes") and "size" in payload:
            lines.append(f"{key}: {format_value(value, 1000)}  [{format_bytes_note(payload)}]")
        elif key in ("size", "truncated") and ("body" in payload or "bytes" in payload):
            continue
        elif key == "traceback":
            traceback_text = keep_end(str(value))
        else:
            lines.append(f"{key}: {format_value(value)}")
        if sum(len(line) for line in lines) > cap:
            lines.append(f"... (cut at {cap:,} characters)")
            break
    text = "\n".join(lines)
    if len(text) > cap + 200:
        text = text[:cap] + "..."
    if traceback_text:
        text = f"{text}\ntraceback:\n{traceback_text}" if text else traceback_text
    return text
