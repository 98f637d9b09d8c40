"""The environ / scope inspector, the side-by-side diff and the non-ASCII path story.

Theory of operation: a request reaches an app as a WSGI environ (a dict of
str, PEP 3333), as CGI meta-variables (RFC 3875) or as an ASGI scope (a dict
where bytes stay bytes). ``find_request`` accepts any of those, or a
:class:`~gateway_lab.events.flow.Flow` / :class:`~gateway_lab.events.flow.Event` and
finds the first environ, scope or CGI environment recorded in it. The
``*_html`` functions then draw a grouped table, each key with a one-line
meaning and a spec link (``keys``). When a path holds non-ASCII characters,
the inspector adds the "latin-1 story": the same URL as WSGI, ASGI and the
wire see it, and how to get the text back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote_to_bytes

from gateway_lab.events.flow import Event, Flow
from gateway_lab.events.kinds import ENVIRONMENT, REQUEST_KINDS
from gateway_lab.interface.environ import make_environ, make_http_scope
from gateway_lab.specs import PEP3333, PEP3333_UNICODE, RFC3875_PATH_INFO
from gateway_lab.views.html import box, esc, format_value, link, see_also
from gateway_lab.views.keys import (
    ENVIRON_GROUPS,
    SCOPE_GROUPS,
    SCOPE_SECTIONS,
    KeyInfo,
    explain_environ_key,
    explain_scope_key,
)

__all__ = ["diff_html", "environ_html", "find_request", "path_story_html", "scope_html"]

CELL = "padding:2px 6px;border-bottom:1px solid #e4e4e4;vertical-align:top;text-align:left"
GROUP_ROW = "background:#f0f4fa;font-weight:bold;padding:4px 6px;text-align:left"
MUTED = "color:#666"


def find_request(item: Any, connection: int | None = None) -> tuple[str, dict[str, Any]]:
    """("environ" | "scope", mapping) from an environ, scope, Event or Flow."""
    if isinstance(item, Flow):
        events = [
            e
            for e in item.events
            if e.kind in REQUEST_KINDS and (connection is None or e.connection == connection)
        ]
        if not events:
            raise ValueError(
                "This flow holds no environ, scope or CGI environment yet. Send a "
                "request through the recorded app first (record_wsgi / record_asgi)."
            )
        item = events[0]
    if isinstance(item, Event):
        payload = item.payload
        for key in ("scope", "environ", "variables", "environment"):
            if isinstance(payload.get(key), dict):
                return ("scope" if key == "scope" else "environ"), payload[key]
        if item.kind == ENVIRONMENT:  # the CGI gateway records the variables themselves
            return "environ", {k: v for k, v in payload.items() if k != "summary"}
        raise ValueError(f"The {item.kind!r} event carries no environ or scope to show.")
    if hasattr(item, "keys") and hasattr(item, "items"):
        mapping = dict(item)
        if "REQUEST_METHOD" in mapping or "wsgi.version" in mapping:
            return "environ", mapping
        if "type" in mapping:
            return "scope", mapping
        return "environ", mapping
    raise TypeError(
        f"show_environ takes a WSGI environ, an ASGI scope, a recorded Flow or "
        f"an Event, not a {type(item).__name__}. See {PEP3333}"
    )


def _row(key: str, value: Any, text: str, href: str) -> str:
    return (
        f'<tr><td style="{CELL}"><code>{link(href, key)}</code></td>'
        f'<td style="{CELL}"><code>{esc(format_value(value))}</code></td>'
        f'<td style="{CELL};{MUTED}">{esc(text)}</td></tr>'
    )


def _grouped_table(rows_by_group: dict[str, list[str]], groups: tuple[str, ...]) -> str:
    parts = ['<table style="border-collapse:collapse;width:100%">']
    for group in groups:
        rows = rows_by_group.get(group)
        if rows:
            parts.append(
                f'<tr><th colspan="3" style="{GROUP_ROW}">{esc(group)} ({len(rows)})</th></tr>'
            )
            parts.extend(rows)
    parts.append("</table>")
    return "".join(parts)


def environ_html(environ: dict[str, Any], title: str | None = None) -> str:
    """A grouped table of an environ (or CGI meta-variables), key by key."""
    is_wsgi = any(key.startswith("wsgi.") for key in environ)
    if title is None:
        title = "WSGI environ" if is_wsgi else "CGI environment (the script's os.environ)"
    rows: dict[str, list[str]] = {}
    for key in sorted(environ):
        info = explain_environ_key(key, cgi=not is_wsgi)
        rows.setdefault(info.group, []).append(_row(key, environ[key], info.text, info.link))
    story = ""
    path = environ.get("PATH_INFO")
    if isinstance(path, str) and not path.isascii():
        story = _environ_path_note(path)
    return box(_grouped_table(rows, ENVIRON_GROUPS) + story, title)


def _scope_value(key: str, value: Any) -> Any:
    if key == "headers" and isinstance(value, (list, tuple)):
        return "\n".join(repr(tuple(pair)) for pair in value) or "[]"
    return value


def scope_html(scope: dict[str, Any], title: str = "ASGI scope") -> str:
    """A table of an ASGI scope; bytes stay bytes (b'...')."""
    rows: dict[str, list[str]] = {}
    for key in scope:
        info = explain_scope_key(key, str(scope.get("type", "http")))
        value = _scope_value(key, scope[key])
        rows.setdefault(info.group, []).append(_row(key, value, info.text, info.link))
    story = ""
    path = scope.get("path")
    if isinstance(path, str) and not path.isascii():
        story = _scope_path_note(path, scope.get("raw_path"), str(scope.get("type", "http")))
    table = _grouped_table(rows, SCOPE_GROUPS).replace(
        "<code>(b", '<code style="white-space:pre">(b'
    )
    return box(table + story, f"{title} ({scope.get('type', '?')})")


def request_html(item: Any, connection: int | None = None) -> str:
    kind, mapping = find_request(item, connection)
    return scope_html(mapping) if kind == "scope" else environ_html(mapping)


def _note(text: str, *links: tuple[str, str]) -> str:
    """A yellow note: the sentence, then its spec links on a line of their own."""
    return (
        f'<div style="margin-top:6px;padding:6px;background:#fff8e0;'
        f'border-left:3px solid #e0a800">{text}{see_also(*links) if links else ""}</div>'
    )


def _environ_path_note(path: str) -> str:
    try:
        text = path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return ""
    return _note(
        f"PATH_INFO holds non-ASCII characters: <code>{esc(repr(path))}</code> is the "
        f"URL's bytes decoded as latin-1 (one character per byte), as PEP 3333 "
        f"requires. The text the user typed is "
        f"<code>environ['PATH_INFO'].encode('latin-1').decode('utf-8')</code> = "
        f"<code>{esc(repr(text))}</code>.",
        (PEP3333_UNICODE, "PEP 3333: Unicode issues"),
    )


def _scope_path_note(path: str, raw_path: Any, scope_type: str = "http") -> str:
    section = "WebSocket" if scope_type == "websocket" else "HTTP"
    return _note(
        f"path <code>{esc(repr(path))}</code> is already UTF-8 text; "
        f"raw_path <code>{esc(repr(raw_path))}</code> is the same path as it came on "
        f"the wire, still percent-encoded bytes.",
        (
            SCOPE_SECTIONS.get(scope_type, SCOPE_SECTIONS["http"]),
            f"ASGI spec: {section} connection scope",
        ),
    )


def path_story_html(path: str = "/café") -> str:
    """The same non-ASCII path as the browser, the wire, CGI/WSGI and ASGI see it."""
    target = quote(path, safe="/%")
    wire = target.encode("ascii")
    environ = make_environ("GET", target)
    scope = make_http_scope("GET", target)
    decoded = unquote_to_bytes(target)
    rows = [
        ("typed in the browser", repr(path), "what the user means: text"),
        ("on the wire (request line)", repr(wire), "UTF-8 bytes, percent-encoded: ASCII only"),
        ("percent-decoded bytes", repr(decoded), "what every gateway starts from"),
        (
            "CGI: the script's PATH_INFO",
            repr(decoded),
            "the bytes themselves (Python's os.environ decodes them with the filesystem "
            "encoding and 'surrogateescape': '/café' in a UTF-8 locale, no byte lost in any)",
        ),
        (
            "WSGI: environ['PATH_INFO']",
            repr(environ["PATH_INFO"]),
            "each byte decoded as latin-1: one character per byte, nothing lost",
        ),
        (
            "WSGI, back to text",
            repr(environ["PATH_INFO"].encode("latin-1").decode("utf-8", "replace")),
            ".encode('latin-1').decode('utf-8')",
        ),
        ("ASGI: scope['path']", repr(scope["path"]), "decoded as UTF-8: text, ready to use"),
        ("ASGI: scope['raw_path']", repr(scope["raw_path"]), "the wire bytes, untouched"),
    ]
    body = "".join(
        f'<tr><td style="{CELL}">{esc(a)}</td><td style="{CELL}"><code>{esc(b)}</code></td>'
        f'<td style="{CELL};{MUTED}">{esc(c)}</td></tr>'
        for a, b, c in rows
    )
    links = see_also(
        (PEP3333_UNICODE, "PEP 3333: Unicode issues"),
        (RFC3875_PATH_INFO, "RFC 3875 4.1.5: PATH_INFO"),
        (SCOPE_SECTIONS["http"], "ASGI spec: HTTP connection scope"),
    )
    return box(
        f'<table style="border-collapse:collapse">{body}</table>{links}',
        f"One path, three dialects: {path}",
    )


def diff_html(a: Any, b: Any, labels: tuple[str, str] = ("request A", "request B")) -> str:
    """Two environs (or scopes) side by side: what differs first, the rest folded."""
    kind_a, first = find_request(a)
    kind_b, second = find_request(b)
    scope_type = str(first.get("type", "http"))

    cgi = not any(key.startswith("wsgi.") for key in (*first, *second))

    def explain(key: str) -> KeyInfo:
        if kind_a == kind_b == "scope":
            return explain_scope_key(key, scope_type)
        return explain_environ_key(key, cgi)

    changed: list[str] = []
    same: list[str] = []
    keys = list(dict.fromkeys([*first, *second]))
    if kind_a == kind_b == "environ":
        keys.sort()
    only_a, only_b = f"only in {labels[0]}", f"only in {labels[1]}"
    colours = {"only a": "#fde8e8", "only b": "#e6f6e6", "changed": "#fff4cc"}
    for key in keys:
        in_a, in_b = key in first, key in second
        va = _scope_value(key, first.get(key)) if in_a else ""
        vb = _scope_value(key, second.get(key)) if in_b else ""
        side = "changed" if in_a and in_b else ("only a" if in_a else "only b")
        if in_a and in_b and _comparable(first[key]) == _comparable(second[key]):
            side = "same"
        status = {"only a": only_a, "only b": only_b}.get(side, side)
        info = explain(key)
        style = f"{CELL};background:{colours.get(side, 'transparent')}"
        row = (
            f'<tr><td style="{style}"><code>{link(info.link, key)}</code></td>'
            f'<td style="{style}"><code>{esc(format_value(va)) if in_a else "&mdash;"}</code></td>'
            f'<td style="{style}"><code>{esc(format_value(vb)) if in_b else "&mdash;"}</code></td>'
            f'<td style="{style};{MUTED}">{esc(status)}</td></tr>'
        )
        (same if side == "same" else changed).append(row)
    head = (
        f'<tr><th style="{GROUP_ROW}">key</th><th style="{GROUP_ROW}">{esc(labels[0])}</th>'
        f'<th style="{GROUP_ROW}">{esc(labels[1])}</th><th style="{GROUP_ROW}"></th></tr>'
    )
    differing = (
        f'<table style="border-collapse:collapse;width:100%">{head}{"".join(changed)}</table>'
    )
    if not changed:
        differing = "<div><i>No differences.</i></div>"
    folded = (
        f"<details><summary>{len(same)} keys are the same</summary>"
        f'<table style="border-collapse:collapse;width:100%">{"".join(same)}</table></details>'
        if same
        else ""
    )
    return box(differing + folded, f"{len(changed)} differences")


def _comparable(value: Any) -> Any:
    # streams (wsgi.input, wsgi.errors) differ per request by identity, not meaning
    if hasattr(value, "read") or hasattr(value, "write"):
        return type(value).__name__
    text = value if isinstance(value, str) else repr(value)
    if " at 0x" in text:
        return text.split(" at 0x")[0]
    return value
