"""The requests a check sends when the learner names none: the default battery.

Theory of operation: one :class:`Probe` describes one request in terms both
drivers understand: method, target, headers and the body *as it arrives*, in
pieces. The WSGI driver serves the pieces through ``wsgi.input``; the ASGI
driver sends one ``http.request`` message per piece (``more_body=True`` on
all but the last). The default battery is small on purpose (every common
mistake shows on a GET, a HEAD or a POST whose body comes in three parts);
rules that need more look at these same exchanges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEFAULT_BATTERY", "Probe"]


@dataclass(frozen=True)
class Probe:
    """One request: ``Probe("POST", "/", chunks=(b"a=1", b"&b=2"))``."""

    method: str = "GET"
    target: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    chunks: tuple[bytes, ...] = ()
    label_override: str = field(default="", compare=False)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def label(self) -> str:
        if self.label_override:
            return self.label_override
        text = f"{self.method} {self.target}"
        if len(self.chunks) > 1:
            text += f" (body in {len(self.chunks)} chunks)"
        elif self.body:
            text += f" ({len(self.body)}-byte body)"
        return text

    def all_headers(self) -> list[tuple[str, str]]:
        """The request headers as a client sends them (Host, Content-Length...)."""
        names = {name.lower() for name, _ in self.headers}
        extra = [("Host", "127.0.0.1"), ("User-Agent", "gateway-lab-check")]
        headers = [(n, v) for n, v in extra if n.lower() not in names] + list(self.headers)
        if self.body and "content-length" not in names:
            headers.append(("Content-Length", str(len(self.body))))
        return headers


_FORM = (b"name=Ada&", b"message=Hello", b"+there")

DEFAULT_BATTERY: tuple[Probe, ...] = (
    Probe("GET", "/", (("Accept", "text/html,*/*"),)),
    Probe("HEAD", "/"),
    Probe(
        "POST",
        "/",
        (("Content-Type", "application/x-www-form-urlencoded"),),
        _FORM,
    ),
)
