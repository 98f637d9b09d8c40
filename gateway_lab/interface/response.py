"""What came back: the status, headers and body of one response.

Theory of operation: in-process calls (``call_wsgi``, ``call_asgi``), the CGI
gateway (``run_cgi``) and the checkers all hand back the same small record,
so a lesson can compare the three interfaces field by field. Headers stay a
list of pairs in the order the app sent them (HTTP allows repeats, such as
several ``Set-Cookie``); ``header(name)`` finds one case-insensitively.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from gateway_lab import specs

__all__ = ["Response", "reason_for"]


def reason_for(status: int) -> str:
    """The standard reason phrase of ``status``, "" if it has none (``specs.reason_phrase``)."""
    return specs.reason_phrase(status)


@dataclass
class Response:
    """A response as the app produced it."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    # None: the standard phrase of ``status`` (an ASGI app sends none). call_wsgi
    # keeps a WSGI app's own phrase as it was sent, even an empty one, so a bare
    # "200" shows as "200", not as the "200 OK" a server would mend it to.
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.reason is None:
            self.reason = reason_for(self.status)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (any case), or ``default``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), default)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes shown as U+FFFD)."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def status_line(self) -> str:
        return f"{self.status} {self.reason or ''}".strip()

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 60 else self.body[:57] + b"..."
        return f"<Response {self.status_line}, {len(self.headers)} headers, body={body!r}>"

    def _repr_html_(self) -> str:
        headers = "".join(
            f"<tr><td><code>{html.escape(k)}</code></td><td><code>{html.escape(v)}</code></td></tr>"
            for k, v in self.headers
        )
        body = (
            self.text
            if len(self.body) <= 2000
            else self.body[:2000].decode("utf-8", "replace")
            + f"... ({len(self.body)} bytes in all)"
        )
        return (
            f"<div><b>{html.escape(self.status_line)}</b><table>{headers}</table>"
            f"<pre>{html.escape(body)}</pre></div>"
        )
