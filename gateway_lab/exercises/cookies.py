"""Cookies in middleware exercises: a tiny browser cookie jar, and feedback on Set-Cookie.

Theory of operation: a counter or a session middleware is judged over several
requests, so the check plays a browser that keeps cookies. :func:`set_cookies`
parses each ``Set-Cookie`` header of a response (a malformed one is skipped,
as browsers do); :func:`jar_update` keeps name -> value pairs for the next
request's ``Cookie`` header, and drops a cookie whose ``Max-Age`` is 0 or
less, or whose ``Expires`` date is past, as a browser does at once (RFC 6265
section 5.2.2 and 5.2.1; ``Max-Age`` wins when both are there, section 5.3).
:func:`cookie_lines` is the feedback on one response: the cookie set to the
right value, with ``Path=/`` (without it the browser keeps the cookie only
under the current folder, RFC 6265 section 5.1.4), kept by a browser on
plain http (no ``Domain`` of another host: :func:`refused_by_browser`; a
``Secure`` one works on loopback, with a warning: :func:`secure_over_http`)
and not expired, or what
is missing, including a near-miss header name, and a ``Set-Cookie`` that went
with an earlier ``start_response`` call the app's own call replaced.

>>> cookie_lines(Response(200, [("Set-Cookie", "visits=1; Path=/")]), "GET /", "visits", "1")
[('✓', 'GET /: sets the cookie visits=1')]
>>> jar = {}
>>> jar_update(jar, Response(200, [("Set-Cookie", "visits=2")]))
>>> jar
{'visits': '2'}
>>> jar_update(jar, Response(200, [("Set-Cookie", "visits=3; Max-Age=0")]))
>>> jar
{}
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, Morsel, SimpleCookie

from gateway_lab import specs
from gateway_lab.interface.environ import SERVER_NAME
from gateway_lab.interface.response import Response

__all__ = [
    "cookie_lines",
    "expired",
    "jar_update",
    "refused_by_browser",
    "secure_over_http",
    "set_cookies",
]


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


def expired(morsel: Morsel[str]) -> str:
    """Why a browser deletes this cookie as soon as it arrives (``"Max-Age=0"``), or ``""``.

    RFC 6265 section 5.2.2: a ``Max-Age`` that is not an integer is ignored,
    and "If delta-seconds is less than or equal to zero (0), let expiry-time
    be the earliest representable date and time."; an ``Expires`` date that
    cannot be read is ignored (section 5.2.1).
    """
    max_age = str(morsel["max-age"]).strip()
    if re.fullmatch(r"-?\d+", max_age):
        return f"Max-Age={max_age}" if int(max_age) <= 0 else ""
    expires = str(morsel["expires"]).strip()
    if not expires:
        return ""
    try:
        when = parsedate_to_datetime(expires)
    except (TypeError, ValueError, IndexError):
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return f"Expires={expires}, a date in the past" if when <= datetime.now(timezone.utc) else ""


def _domain_matches(host: str, domain: str) -> bool:
    """RFC 6265 section 5.1.3: the same string, or a name that ends in "." + domain."""
    host, domain = host.lower(), domain.lower().lstrip(".")
    if host == domain:
        return True
    return host.endswith("." + domain) and not _is_address(host)


def _is_address(host: str) -> bool:
    """An IP address, which matches a Domain only when it is the same string."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def refused_by_browser(morsel: Morsel[str], host: str = SERVER_NAME) -> str:
    """Why a browser on ``http://{host}`` ignores this cookie, or ``""``.

    A ``Domain`` that ``host`` does not domain-match makes the browser ignore
    the cookie (RFC 6265 section 5.3, step 6).
    """
    domain = str(morsel["domain"]).strip()
    if domain and not _domain_matches(host, domain):
        return (
            f"the cookie has Domain={domain}, but it came from {host}, so a browser "
            'ignores it: "If the canonicalized request-host does not domain-match the '
            'domain-attribute: Ignore the cookie entirely and abort these steps." What to '
            "change: leave out Domain (the cookie then goes back to the host that set it). "
            f"See {specs.RFC6265_STORAGE}"
        )
    return ""


def secure_over_http(morsel: Morsel[str]) -> str:
    """A warning for a ``Secure`` cookie set over plain http, or ``""``.

    RFC 6265 section 5.4 sends it back only over a protocol the browser
    deems secure. Browsers count loopback (127.0.0.1, localhost) as secure,
    so here it works; on a site served over plain http it would not.
    """
    if not morsel["secure"]:
        return ""
    return (
        "the cookie has Secure. It works here because browsers treat 127.0.0.1 as a "
        "secure origin, but RFC 6265 sends a cookie back only if \"the request-uri's "
        'scheme must denote a "secure" protocol (as defined by the user agent)", so on a '
        "site served over plain http it never comes back and the count restarts. Keep "
        f"Secure for https sites. See {specs.RFC6265_COOKIE_HEADER}"
    )


def _near_miss(headers: list[tuple[str, str]], wanted: str) -> str | None:
    names = [name for name, _ in headers if name.lower() != wanted.lower()]
    close = difflib.get_close_matches(wanted.lower(), [n.lower() for n in names], 1, 0.75)
    if not close:
        return None
    return next(n for n in names if n.lower() == close[0])


def _morsel_lines(label: str, name: str, value: str, morsel: Morsel[str]) -> list[tuple[str, str]]:
    lines = [
        (
            ("✓", f"{label}: sets the cookie {name}={value}")
            if morsel.value == value
            else ("✗", f"{label}: should set {name}={value}, got {name}={morsel.value}")
        )
    ]
    if morsel["path"] != "/":
        got, change, where = (
            (f"Path={morsel['path']}", "change it to Path=/", "under that path")
            if morsel["path"]
            else ("no Path", "add '; Path=/'", "under the current folder")
        )
        lines.append(
            (
                "✗",
                f"{label}: the cookie has {got}; {change}. Without Path=/ the browser sends "
                f"the cookie back only for pages {where}, so the count restarts elsewhere. "
                f"See {specs.RFC6265_PATH_MATCH}",
            )
        )
    refused = refused_by_browser(morsel)
    if refused:
        lines.append(("✗", f"{label}: {refused}"))
    warned = secure_over_http(morsel)
    if warned:
        lines.append(("!", f"{label}: {warned}"))
    why = expired(morsel)
    if why:
        drop, says, section = (
            (
                "Max-Age",
                '"If delta-seconds is less than or equal to zero (0), let expiry-time be the '
                'earliest representable date and time."',
                "5.2.2",
            )
            if why.startswith("Max-Age")
            else (
                "Expires",
                '"The user agent MUST evict all expired cookies from the cookie store if, at '
                'any time, an expired cookie exists in the cookie store."',
                "5.3",
            )
        )
        lines.append(
            (
                "✗",
                f"{label}: the cookie has {why}, so the browser deletes it as soon as it "
                "arrives and sends nothing back next time: the count is lost. RFC 6265 says "
                f"{says} What to change: leave out {drop} (the cookie then lasts until the "
                "browser closes), or give a lifetime in the future, such as Max-Age=31536000 "
                f"for a year. See {specs.RFC6265}#section-{section}",
            )
        )
    return lines


def cookie_lines(
    response: Response | None,
    label: str,
    name: str,
    value: str,
    replaced: list[list[tuple[str, str]]] | None = None,
) -> list[tuple[str, str]]:
    """The feedback on the cookie ``name`` that ``response`` must set to ``value``.

    ``replaced``: the headers of earlier ``start_response`` calls of the same
    request, which a later call replaced (a middleware that called it and
    then passed it on to the app).
    """
    if response is None:
        return []
    headers = response.headers
    for jar in set_cookies(headers):
        if name in jar:
            return _morsel_lines(label, name, value, jar[name])
    if any(_cookie_values(call, name) for call in replaced or []):
        return [
            (
                "✗",
                f"{label}: your middleware's own start_response call carried the Set-Cookie "
                f"for {name!r}, but the app then called start_response again with its own "
                "headers, which have no Set-Cookie (see wsgi.start-response-twice: a real "
                "server refuses that second call). What to change: do not call "
                "start_response yourself; give the app a start_response of your own that "
                "adds the Set-Cookie to the app's headers and calls the server's.",
            )
        ]
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


def _cookie_values(headers: list[tuple[str, str]], name: str) -> list[str]:
    """The Set-Cookie values among ``headers`` that set ``name``."""
    values = []
    for header, value in headers:
        for jar in set_cookies([(header, value)]):
            if name in jar:
                values.append(value)
    return values


def jar_update(jar: dict[str, str], response: Response | None) -> None:
    if response is not None:
        for cookie in set_cookies(response.headers):
            for key, morsel in cookie.items():
                if refused_by_browser(morsel):
                    continue  # a browser never stores it
                if expired(morsel):
                    jar.pop(key, None)
                else:
                    jar[key] = morsel.value
