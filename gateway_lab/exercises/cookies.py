"""Cookies in middleware exercises: a tiny browser cookie jar, and feedback on Set-Cookie.

Theory of operation: a counter or a session middleware is judged over several
requests, so the check plays a browser that keeps cookies. :func:`set_cookies`
parses each ``Set-Cookie`` header of a response (a malformed one is skipped,
as browsers do); :func:`jar_update` keeps name -> value pairs for the next
request's ``Cookie`` header; :func:`cookie_lines` is the feedback on one
response: the cookie set to the right value, with ``Path=/`` (without it
the browser keeps the cookie only under the current folder, RFC 6265
section 5.1.4), or what is missing, including a near-miss header name.

>>> cookie_lines(Response(200, [("Set-Cookie", "visits=1; Path=/")]), "GET /", "visits", "1")
[('✓', 'GET /: sets the cookie visits=1')]
>>> jar = {}
>>> jar_update(jar, Response(200, [("Set-Cookie", "visits=2")]))
>>> jar
{'visits': '2'}
"""

from __future__ import annotations

import difflib
from http.cookies import CookieError, SimpleCookie

from gateway_lab import specs
from gateway_lab.interface.response import Response

__all__ = ["cookie_lines", "jar_update", "set_cookies"]


def set_cookies(headers: list[tuple[str, str]]) -> list[SimpleCookie]:
    cookies = []
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value)
            except CookieError:
                continue
            cookies.append(jar)
    return cookies


def _near_miss(headers: list[tuple[str, str]], wanted: str) -> str | None:
    names = [name for name, _ in headers if name.lower() != wanted.lower()]
    close = difflib.get_close_matches(wanted.lower(), [n.lower() for n in names], 1, 0.75)
    if not close:
        return None
    return next(n for n in names if n.lower() == close[0])


def cookie_lines(
    response: Response | None, label: str, name: str, value: str
) -> list[tuple[str, str]]:
    if response is None:
        return []
    headers = response.headers
    for jar in set_cookies(headers):
        if name in jar:
            morsel = jar[name]
            lines = [
                (
                    ("✓", f"{label}: sets the cookie {name}={value}")
                    if morsel.value == value
                    else ("✗", f"{label}: should set {name}={value}, got {name}={morsel.value}")
                )
            ]
            if morsel["path"] != "/":
                got = f"Path={morsel['path']}" if morsel["path"] else "no Path"
                lines.append(
                    (
                        "✗",
                        f"{label}: the cookie has {got}; add '; Path=/'. Without it the "
                        "browser keeps the cookie only for pages under the current "
                        f"folder, so the count restarts elsewhere. See {specs.RFC6265_PATH_MATCH}",
                    )
                )
            return lines
    typo = _near_miss(headers, "Set-Cookie")
    if typo:
        return [
            (
                "✗",
                f"{label}: no Set-Cookie header came back, but there is a {typo!r} header: "
                "check the spelling, the name must be exactly Set-Cookie (any case).",
            )
        ]
    return [
        (
            "✗",
            f"{label}: no Set-Cookie header setting {name!r}; add "
            f"('Set-Cookie', '{name}={value}; Path=/') to the headers you pass on.",
        )
    ]


def jar_update(jar: dict[str, str], response: Response | None) -> None:
    if response is not None:
        for cookie in set_cookies(response.headers):
            jar.update({key: morsel.value for key, morsel in cookie.items()})
