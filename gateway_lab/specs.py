"""Every spec address the package links to, and the protocol facts several modules share.

Theory of operation: plain constants, nothing to run. A message that cites a
spec ends with ``See {specs.X}``, where ``X`` names the most specific anchor the
spec offers (a section title as the PEP renderer or Sphinx turns it into an
id); the comment beside each constant names the section, so a reader can
check a link without opening it. Facts that used to be copied into several
modules (the hop-by-hop header names, the header-name token) live here once,
with the spec that defines them, and so does the one small function over
them (:func:`reason_phrase`). Importing this module imports nothing else,
so any module may use it without cost or import cycles.

>>> PEP3333_START_RESPONSE
'https://peps.python.org/pep-3333/#the-start-response-callable'
>>> "transfer-encoding" in HOP_BY_HOP_HEADERS
True
>>> rfc3875_section("4.1.5")
'https://www.rfc-editor.org/rfc/rfc3875#section-4.1.5'
"""

from __future__ import annotations

# --- PEP 594: removing dead batteries from the standard library ------------
# "cgi": deprecated in Python 3.11, removed in 3.13.
PEP594_CGI = "https://peps.python.org/pep-0594/#cgi"

# --- PEP 3333: the Python Web Server Gateway Interface v1.0.1 ---------------
PEP3333 = "https://peps.python.org/pep-3333/"
# "The Application/Framework Side": an app is a callable taking (environ, start_response).
PEP3333_APP_SIDE = PEP3333 + "#the-application-framework-side"
# "The Server/Gateway Side": how a server calls the app and sends what it returns.
PEP3333_SERVER_SIDE = PEP3333 + "#the-server-gateway-side"
# "Specification Details": the iterable, close(), when the headers are sent.
PEP3333_DETAILS = PEP3333 + "#specification-details"
# "environ Variables": the CGI meta-variables and the wsgi.* keys.
PEP3333_ENVIRON = PEP3333 + "#environ-variables"
# "Input and Error Streams": wsgi.input and wsgi.errors.
PEP3333_STREAMS = PEP3333 + "#input-and-error-streams"
# "The start_response() Callable": status, headers, exc_info, no hop-by-hop headers.
PEP3333_START_RESPONSE = PEP3333 + "#the-start-response-callable"
# "The write() Callable": the imperative write() start_response returns.
PEP3333_WRITE = PEP3333 + "#the-write-callable"
# "Buffering and Streaming": a server sends each non-empty block without buffering.
PEP3333_BUFFERING = PEP3333 + "#buffering-and-streaming"
# "Unicode Issues": native strings for headers, bytes for bodies.
PEP3333_UNICODE = PEP3333 + "#unicode-issues"
# "Error Handling": start_response again with exc_info after a failure.
PEP3333_ERROR_HANDLING = PEP3333 + "#error-handling"
# "Optional Platform-Specific File Handling": wsgi.file_wrapper.
PEP3333_FILE_WRAPPER = PEP3333 + "#optional-platform-specific-file-handling"

# --- ASGI specification ------------------------------------------------------
ASGI_SPECS = "https://asgi.readthedocs.io/en/latest/specs/"
# "ASGI (Asynchronous Server Gateway Interface) Specification", the main document.
ASGI_MAIN = ASGI_SPECS + "main.html"
# main: "Applications": async def app(scope, receive, send).
ASGI_APPLICATIONS = ASGI_MAIN + "#applications"
# main: "Connection Scope": the scope dict and its "type".
ASGI_CONNECTION_SCOPE = ASGI_MAIN + "#connection-scope"
# main: "Events": messages are dicts with a "type" key.
ASGI_EVENTS = ASGI_MAIN + "#events"
# main: "Extensions": scope["extensions"].
ASGI_EXTENSIONS = ASGI_MAIN + "#extensions"
# main: "Protocol Specifications": "Applications should actively reject any protocol that
# they do not understand with an Exception (of any type)."
ASGI_PROTOCOL_SPECIFICATIONS = ASGI_MAIN + "#protocol-specifications"
# main: "Error Handling": servers "must terminate the application instance and its
# associated connection" when an error bubbles up out of it.
ASGI_ERROR_HANDLING = ASGI_MAIN + "#error-handling"
# "HTTP & WebSocket ASGI Message Format", the www document.
ASGI_WWW = ASGI_SPECS + "www.html"
# www: "HTTP": the HTTP protocol as ASGI messages.
ASGI_HTTP = ASGI_WWW + "#http"
# www: "HTTP Connection Scope".
ASGI_HTTP_SCOPE = ASGI_WWW + "#http-connection-scope"
# www: "Request - receive event" (http.request, body and more_body).
ASGI_HTTP_REQUEST = ASGI_WWW + "#request-receive-event"
# www: "Response Start - send event" (http.response.start, status and headers).
ASGI_HTTP_RESPONSE_START = ASGI_WWW + "#response-start-send-event"
# www: "Response Body - send event" (http.response.body, body and more_body).
ASGI_HTTP_RESPONSE_BODY = ASGI_WWW + "#response-body-send-event"
# www: "Disconnect - receive event" (http.disconnect).
ASGI_HTTP_DISCONNECT = ASGI_WWW + "#disconnect-receive-event"
# www: "WebSocket": the WebSocket protocol as ASGI messages.
ASGI_WEBSOCKET = ASGI_WWW + "#websocket"
# www: "WebSocket Connection Scope".
ASGI_WEBSOCKET_SCOPE = ASGI_WWW + "#websocket-connection-scope"
# www: "Accept - send event" (websocket.accept).
ASGI_WEBSOCKET_ACCEPT = ASGI_WWW + "#accept-send-event"
# www: "Send - send event" (websocket.send, bytes or text).
ASGI_WEBSOCKET_SEND = ASGI_WWW + "#send-send-event"
# www: "Close - send event" (websocket.close, before accept it refuses).
ASGI_WEBSOCKET_CLOSE = ASGI_WWW + "#close-send-event"
# "Lifespan Protocol".
ASGI_LIFESPAN = ASGI_SPECS + "lifespan.html"
# lifespan: "Scope".
ASGI_LIFESPAN_SCOPE = ASGI_LIFESPAN + "#scope"
# lifespan: "Lifespan State" (scope["state"]).
ASGI_LIFESPAN_STATE = ASGI_LIFESPAN + "#lifespan-state"
# lifespan: "Startup Failed - send event".
ASGI_LIFESPAN_STARTUP_FAILED = ASGI_LIFESPAN + "#startup-failed-send-event"
# lifespan: "Startup Complete - send event".
ASGI_LIFESPAN_STARTUP_COMPLETE = ASGI_LIFESPAN + "#startup-complete-send-event"
# lifespan: "Shutdown Complete - send event".
ASGI_LIFESPAN_SHUTDOWN_COMPLETE = ASGI_LIFESPAN + "#shutdown-complete-send-event"
# "ASGI Extensions", the extensions document.
ASGI_EXTENSIONS_DOC = "https://asgi.readthedocs.io/en/latest/extensions.html"
# extensions: "WebSocket Denial Response" (websocket.http.response.start and .body).
ASGI_WEBSOCKET_DENIAL = ASGI_EXTENSIONS_DOC + "#websocket-denial-response"
# extensions: "HTTP Trailers" (http.response.trailers).
ASGI_HTTP_TRAILERS = ASGI_EXTENSIONS_DOC + "#http-trailers"
# extensions: "HTTP/2 Server Push" (http.response.push).
ASGI_HTTP_PUSH = ASGI_EXTENSIONS_DOC + "#http-2-server-push"
# extensions: "Zero Copy Send" (http.response.zerocopysend).
ASGI_ZERO_COPY_SEND = ASGI_EXTENSIONS_DOC + "#zero-copy-send"
# extensions: "Path Send" (http.response.pathsend).
ASGI_PATH_SEND = ASGI_EXTENSIONS_DOC + "#path-send"
# extensions: "Early Hints" (http.response.early_hint).
ASGI_EARLY_HINTS = ASGI_EXTENSIONS_DOC + "#early-hints"
# extensions: "Debug" (http.response.debug).
ASGI_DEBUG = ASGI_EXTENSIONS_DOC + "#debug"

# --- RFC 3875: The Common Gateway Interface (CGI) Version 1.1 ----------------
RFC3875 = "https://www.rfc-editor.org/rfc/rfc3875"
# 4.1.5 "PATH_INFO".
RFC3875_PATH_INFO = RFC3875 + "#section-4.1.5"
# 4.2 "Request Message-Body": read exactly CONTENT_LENGTH bytes of stdin.
RFC3875_REQUEST_BODY = RFC3875 + "#section-4.2"
# 6 "CGI Response": header fields, a blank line, the body.
RFC3875_RESPONSE = RFC3875 + "#section-6"
# 6.3.1 "Content-Type".
RFC3875_CONTENT_TYPE = RFC3875 + "#section-6.3.1"


def rfc3875_section(section: str) -> str:
    """The address of one numbered section of RFC 3875, such as ``"4.1.5"``."""
    return f"{RFC3875}#section-{section}"


# --- RFC 9110: HTTP Semantics ------------------------------------------------
RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110"
# 5.1 "Field Names".
RFC9110_FIELD_NAMES = RFC9110 + "#section-5.1"
# 5.3 "Field Order": a field that is not a list is sent once.
RFC9110_FIELD_ORDER = RFC9110 + "#section-5.3"
# 5.6.2 "Tokens": the characters a header name may use.
RFC9110_TOKENS = RFC9110 + "#section-5.6.2"
# 6.4.1 "Content Semantics": responses that have no content (1xx, 204, 304).
RFC9110_CONTENT = RFC9110 + "#section-6.4.1"
# 7.6.1 "Connection": hop-by-hop fields.
RFC9110_CONNECTION = RFC9110 + "#section-7.6.1"
# 8.3 "Content-Type".
RFC9110_CONTENT_TYPE = RFC9110 + "#section-8.3"
# 8.6 "Content-Length".
RFC9110_CONTENT_LENGTH = RFC9110 + "#section-8.6"
# 9.3.2 "HEAD".
RFC9110_HEAD = RFC9110 + "#section-9.3.2"
# 15.2 "Informational 1xx": an interim response, never the final one.
RFC9110_INFORMATIONAL = RFC9110 + "#section-15.2"
# 15.6.6 "505 HTTP Version Not Supported".
RFC9110_VERSION_NOT_SUPPORTED = RFC9110 + "#section-15.6.6"

# Response fields whose RFC 9110 grammar has no list alternative (no "#"), so
# that section 5.3 allows one field line of each, with the section defining it.
# (Content-Length is one too; two that differ are its own rule.)
SINGLETON_FIELDS = {
    "content-type": "8.3",
    "content-length": "8.6",
    "content-location": "8.7",
    "last-modified": "8.8.2",
    "etag": "8.8.3",
    "date": "6.6.1",
    "location": "10.2.2",
    "retry-after": "10.2.3",
    "content-range": "14.4",
}

# --- RFC 9112: HTTP/1.1 -------------------------------------------------------
RFC9112 = "https://www.rfc-editor.org/rfc/rfc9112"
# 6.3 "Message Body Length": Content-Length and Transfer-Encoding together.
RFC9112_BODY_LENGTH = RFC9112 + "#section-6.3"
# 7.1 "Chunked Transfer Coding".
RFC9112_CHUNKED = RFC9112 + "#section-7.1"
# 9.3 "Persistence": keep-alive and Connection: close.
RFC9112_PERSISTENCE = RFC9112 + "#section-9.3"

# --- RFC 6455: The WebSocket Protocol ---------------------------------------
RFC6455 = "https://www.rfc-editor.org/rfc/rfc6455"
# 4.2.2 "Sending the Server's Opening Handshake": 101, or an HTTP error to refuse.
RFC6455_SERVER_HANDSHAKE = RFC6455 + "#section-4.2.2"
# 7.4.1 "Defined Status Codes": close codes such as 1000 and 1006.
RFC6455_CLOSE_CODES = RFC6455 + "#section-7.4.1"

# --- RFC 7617: The 'Basic' HTTP Authentication Scheme -------------------------
RFC7617 = "https://www.rfc-editor.org/rfc/rfc7617"
# 2 "The 'Basic' Authentication Scheme": the challenge, its required realm.
RFC7617_BASIC = RFC7617 + "#section-2"

# --- RFC 6265: HTTP State Management Mechanism (cookies) -----------------------
RFC6265 = "https://www.rfc-editor.org/rfc/rfc6265"
# 5.1.4 "Paths and Path-Match".
RFC6265_PATH_MATCH = RFC6265 + "#section-5.1.4"
# 5.3 "Storage Model": step 6, a Domain the request host does not domain-match.
RFC6265_STORAGE = RFC6265 + "#section-5.3"
# 5.4 "The Cookie Header": which stored cookies go back (Secure: over https only).
RFC6265_COOKIE_HEADER = RFC6265 + "#section-5.4"

# --- Python documentation ----------------------------------------------------
# asyncio "Developing with asyncio": "Running Blocking Code".
ASYNCIO_BLOCKING = "https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code"

# --- Shared protocol facts ---------------------------------------------------
# Hop-by-hop headers describe one connection, which belongs to the server:
# PEP 3333 (start_response) forbids apps to send them. The RFC 2616 13.5.1 list
# that wsgiref.util.is_hop_by_hop uses, plus RFC 9110's "trailer" spelling and
# the non-standard "proxy-connection" browsers once sent (RFC 9110 7.6.1).
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)


def reason_phrase(status: int, default: str = "") -> str:
    """The reason phrase RFC 9110 section 15 gives ``status`` (``default`` if it gives none).

    >>> reason_phrase(404), reason_phrase(299), reason_phrase(299, "Error")
    ('Not Found', '', 'Error')
    """
    from http import HTTPStatus  # imported on use: this module imports nothing at load

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return default


# RFC 9110 5.6.2: a header name is a "token" of these characters (a regex
# character class, repeated at least once; anchor it as you need).
TOKEN_PATTERN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
