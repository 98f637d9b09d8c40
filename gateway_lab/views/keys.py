"""One line about each environ and scope key, with the spec section that defines it.

Theory of operation: a table of data, nothing else. ``explain_environ_key``
and ``explain_scope_key`` look a key up and say which group it belongs to
(so the inspector can draw CGI meta-variables, HTTP headers, ``wsgi.*`` keys
and server extras apart), what it means in one plain sentence, and where the
spec says so. Unknown keys still get a group and a sentence.
"""

from __future__ import annotations

from typing import NamedTuple

# The most specific anchors the specs offer live in gateway_lab/specs.py.
from gateway_lab.specs import (
    ASGI_APPLICATIONS,
    ASGI_CONNECTION_SCOPE,
    ASGI_EXTENSIONS,
    ASGI_HTTP_SCOPE,
    ASGI_LIFESPAN_SCOPE,
    ASGI_LIFESPAN_STATE,
    ASGI_WEBSOCKET_SCOPE,
    PEP3333_ENVIRON,
    PEP3333_FILE_WRAPPER,
    PEP3333_STREAMS,
    rfc3875_section,
)

__all__ = [
    "ENVIRON_GROUPS",
    "SCOPE_GROUPS",
    "KeyInfo",
    "explain_environ_key",
    "explain_scope_key",
]

SCOPE_SECTIONS = {
    "http": ASGI_HTTP_SCOPE,
    "websocket": ASGI_WEBSOCKET_SCOPE,
    "lifespan": ASGI_LIFESPAN_SCOPE,
}

CGI = "CGI meta-variables"
HEADERS = "HTTP request headers"
WSGI = "wsgi.* keys"
EXTRAS = "server extras"
ENVIRON_GROUPS = (CGI, HEADERS, WSGI, EXTRAS)

SCOPE = "scope keys"
SCOPE_EXTRAS = "server extras"
SCOPE_GROUPS = (SCOPE, SCOPE_EXTRAS)


class KeyInfo(NamedTuple):
    group: str
    text: str
    link: str


def _rfc(section: str) -> str:
    return rfc3875_section(section)


_CGI_KEYS: dict[str, tuple[str, str]] = {
    "AUTH_TYPE": ("How the user was authenticated, if the server did it (e.g. Basic).", "4.1.1"),
    "CONTENT_LENGTH": ("Size of the request body in bytes; empty or absent if none.", "4.1.2"),
    "CONTENT_TYPE": ("Media type of the request body, from the Content-Type header.", "4.1.3"),
    "GATEWAY_INTERFACE": ("Which gateway dialect is spoken: CGI/1.1.", "4.1.4"),
    "PATH_INFO": (
        "The path after the script's own location, percent-decoded (in WSGI: decoded "
        "bytes shown as latin-1 text).",
        "4.1.5",
    ),
    "PATH_TRANSLATED": ("PATH_INFO mapped onto the server's file system.", "4.1.6"),
    "QUERY_STRING": ("Everything after '?' in the URL, still percent-encoded.", "4.1.7"),
    "REMOTE_ADDR": ("IP address of the client that connected.", "4.1.8"),
    "REMOTE_HOST": ("Host name of the client, if the server looked it up.", "4.1.9"),
    "REMOTE_IDENT": ("Identity reported by the client's ident service (rarely set).", "4.1.10"),
    "REMOTE_USER": ("The authenticated user name, if any.", "4.1.11"),
    "REQUEST_METHOD": ("The HTTP method: GET, POST, HEAD...", "4.1.12"),
    "SCRIPT_NAME": (
        "The part of the path that led to this app (its mount point); '' at the root.",
        "4.1.13",
    ),
    "SERVER_NAME": ("The host name (or address) the request was sent to.", "4.1.14"),
    "SERVER_PORT": ("The port the request arrived on, as a string.", "4.1.15"),
    "SERVER_PROTOCOL": ("The HTTP version the client spoke, e.g. HTTP/1.1.", "4.1.16"),
    "SERVER_SOFTWARE": ("Name and version of the server software.", "4.1.17"),
}

# The same keys as a CGI script sees them (no mount point, no latin-1 text): RFC 3875's
# own meaning, for an environment with no wsgi.* keys.
_CGI_ONLY: dict[str, str] = {
    "SCRIPT_NAME": "The part of the URL path that names this script, such as /env.py.",
    "PATH_INFO": "The path after the script's name in the URL, percent-decoded; '' if none.",
}

_WSGI_KEYS: dict[str, str] = {
    "wsgi.version": "The WSGI version as a tuple: (1, 0).",
    "wsgi.url_scheme": "'http' or 'https': the scheme the client used.",
    "wsgi.input": "A file-like object to read the request body from (read CONTENT_LENGTH bytes).",
    "wsgi.errors": "A text stream for error output; the server decides where it goes.",
    "wsgi.multithread": "True if other threads may call the app at the same time.",
    "wsgi.multiprocess": "True if other processes may run the app at the same time.",
    "wsgi.run_once": "True if the app will be called once in this process (CGI-like).",
    "wsgi.file_wrapper": "Optional: wraps a file so the server can send it efficiently.",
    "wsgi.input_terminated": "Optional extension: wsgi.input ends at the body's end.",
}

_WSGI_LINKS = {
    "wsgi.input": PEP3333_STREAMS,
    "wsgi.errors": PEP3333_STREAMS,
    "wsgi.file_wrapper": PEP3333_FILE_WRAPPER,
}

_HEADER_TEXT = "The {name} request header. Headers become HTTP_ + upper case, '-' turned into '_'."

_OWN = ""  # the section of the scope's own type (HTTP, WebSocket or lifespan)
_SCOPE_KEYS: dict[str, tuple[str, str]] = {
    "type": ("The kind of connection: 'http', 'websocket' or 'lifespan'.", _OWN),
    "asgi": ("ASGI version info: {'version': '3.0', 'spec_version': ...}.", ASGI_APPLICATIONS),
    "http_version": ("'1.0', '1.1' or '2': the HTTP version the client spoke.", _OWN),
    "method": ("The HTTP method, upper case: GET, POST...", _OWN),
    "scheme": ("'http' or 'https' ('ws' / 'wss' for websockets).", _OWN),
    "path": ("The percent-decoded path, decoded as UTF-8 text.", _OWN),
    "raw_path": ("The path exactly as it came on the wire, as bytes (still encoded).", _OWN),
    "query_string": ("Everything after '?', as bytes, still percent-encoded.", _OWN),
    "root_path": ("Where the app is mounted (like SCRIPT_NAME); '' at the root.", _OWN),
    "headers": ("Request headers: a list of [name, value] byte pairs, names lower case.", _OWN),
    "client": ("(host, port) of the client, or None.", _OWN),
    "server": ("(host, port) the server listens on, or None.", _OWN),
    "subprotocols": ("WebSocket subprotocols the client offered.", ASGI_WEBSOCKET_SCOPE),
    "state": ("A copy of the lifespan state dict, shared from startup.", ASGI_LIFESPAN_STATE),
    "extensions": ("Optional protocol extensions the server supports.", ASGI_EXTENSIONS),
}


_OS_KEYS = {"PATH", "LANG", "LC_ALL", "HOME", "PWD", "SHLVL", "TZ"}


def explain_environ_key(key: str, cgi: bool = False) -> KeyInfo:
    """Group, one-line meaning and spec link of a WSGI environ / CGI key.

    ``cgi``: the mapping is a CGI script's environment, not a WSGI environ,
    so ``SCRIPT_NAME`` and ``PATH_INFO`` get their CGI meaning.
    """
    if key in _CGI_KEYS:
        text, section = _CGI_KEYS[key]
        return KeyInfo(CGI, _CGI_ONLY.get(key, text) if cgi else text, _rfc(section))
    if key.startswith("HTTP_"):
        name = "-".join(part.capitalize() for part in key[5:].split("_"))
        return KeyInfo(HEADERS, _HEADER_TEXT.format(name=name), _rfc("4.1.18"))
    if key in _WSGI_KEYS:
        return KeyInfo(WSGI, _WSGI_KEYS[key], _WSGI_LINKS.get(key, PEP3333_ENVIRON))
    if key.startswith("wsgi."):
        return KeyInfo(WSGI, "A wsgi.* key this server adds.", PEP3333_ENVIRON)
    if key in _OS_KEYS:
        return KeyInfo(
            EXTRAS,
            "An ordinary environment variable of the process (CGI scripts get a few, "
            "such as PATH), not part of the request.",
            _rfc("4.1"),
        )
    if "." in key:
        return KeyInfo(
            EXTRAS,
            "Added by this server or a middleware, under its own prefix, as PEP 3333 asks.",
            PEP3333_ENVIRON,
        )
    return KeyInfo(
        EXTRAS,
        "Defined by neither CGI nor WSGI: added by this server. PEP 3333 asks servers "
        "for lower-case names with their own prefix (e.g. 'werkzeug.socket').",
        PEP3333_ENVIRON,
    )


def explain_scope_key(key: str, scope_type: str = "http") -> KeyInfo:
    """Group, one-line meaning and spec link of an ASGI scope key.

    ``scope_type`` ('http', 'websocket', 'lifespan') picks the spec section
    that lists the key for that kind of scope.
    """
    own = SCOPE_SECTIONS.get(scope_type, ASGI_CONNECTION_SCOPE)
    if key in _SCOPE_KEYS:
        text, link = _SCOPE_KEYS[key]
        return KeyInfo(SCOPE, text, link or own)
    return KeyInfo(SCOPE_EXTRAS, "Added by this server or a middleware.", ASGI_EXTENSIONS)
