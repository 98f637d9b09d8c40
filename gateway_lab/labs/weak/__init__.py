"""Handlers and servers that are unsafe ON PURPOSE, each next to its fix.

Theory of operation: the security lab reproduces four classic attacks on
127.0.0.1, then shows the fix. Each weak piece makes exactly one mistake,
named in its docstring with the fix beside it; nothing here is meant to be
copied into a real program. One module per attack:

=====================  ===============================  =========================
attack (module)        weak piece (the mistake)         fixed piece
=====================  ===============================  =========================
CRLF response          :func:`lang_header_app` (a       :func:`lang_header_app_fixed`
splitting              query value into a header) on    and any server that
(``splitting``)        :class:`NaiveHTTPServer` (writes  validates header values
                       headers unchecked)
log injection          :class:`NaiveAccessLog` (the     :class:`SafeAccessLog`
(``logs``)             path written verbatim)
path traversal         :func:`naive_static_app`         :func:`safe_static_app`
(``traversal``)        (``os.path.join`` with the URL)
request smuggling      :class:`NaiveFront` (frames by   ``NaiveFront(strict=True)``
(``smuggling``)        Content-Length only) before       (400 when a request has
                       :class:`NaiveBackend` (prefers   both)
                       Transfer-Encoding)
=====================  ===============================  =========================

The raw-socket servers share ``rawserver``: a listening socket on 127.0.0.1
(``serving.loopback.bind_loopback``), one daemon thread that serves one
connection at a time (so every run is deterministic), short timeouts on
every socket, bounded line lengths and header counts, and ``stop()``.
"""

from __future__ import annotations

from gateway_lab.labs.weak.logs import NaiveAccessLog, SafeAccessLog, log_line_naive, log_line_safe
from gateway_lab.labs.weak.smuggling import NaiveBackend, NaiveFront, smuggling_request
from gateway_lab.labs.weak.splitting import (
    NaiveHTTPServer,
    lang_header_app,
    lang_header_app_fixed,
)
from gateway_lab.labs.weak.traversal import naive_static_app, safe_static_app

__all__ = [
    "NaiveAccessLog",
    "NaiveBackend",
    "NaiveFront",
    "NaiveHTTPServer",
    "SafeAccessLog",
    "lang_header_app",
    "lang_header_app_fixed",
    "log_line_naive",
    "log_line_safe",
    "naive_static_app",
    "safe_static_app",
    "smuggling_request",
]
