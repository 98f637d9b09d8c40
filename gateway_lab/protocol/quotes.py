"""The ASGI specs' own sentences that the checker's rules enforce, quoted exactly.

Theory of operation: data only. Each constant is one sentence of the ASGI
specification as the rendered page at asgi.readthedocs.io shows it (main,
www and lifespan documents; code markup dropped, words unchanged), or of the
HTTP RFCs where ASGI says nothing of its own; the anchor it lives under is
the ``specs`` constant named beside it. The rule table
(:mod:`gateway_lab.check.asgi.rules`) and the order tables
(:mod:`gateway_lab.protocol.asgi`) quote them, and ``docs/rules.md`` prints
them, so a reader can find each one at its link. The ASGI spec writes its
requirements in lower case ("must", "should"); a "must" is read as a MUST.
"""

from __future__ import annotations

__all__ = [
    "ACCEPT_NO_PROTOCOL_HEADER",
    "ASYNC_COROUTINES",
    "BODY_BYTES",
    "CLOSE_BEFORE_ACCEPT",
    "CLOSE_CODE",
    "CONNECT_ANSWER",
    "CONTENT_LENGTH",
    "CONTENT_TYPE",
    "CR_LF_NUL",
    "DISCONNECT_SEND",
    "DISCONNECT_WS",
    "EVENT_DICT",
    "EVENT_TYPES",
    "HEAD_NO_CONTENT",
    "HEADERS_FORM",
    "HEADERS_LOWER",
    "INFORMATIONAL",
    "LIFESPAN_FAILED",
    "LIFESPAN_KEY_NAMES",
    "LIFESPAN_REJECT",
    "LIFESPAN_SHUTDOWN",
    "LIFESPAN_STARTUP",
    "LIFESPAN_STATE_COPY",
    "MIDDLEWARE_COPY",
    "MORE_BODY",
    "NAMESPACED",
    "NO_CONTENT",
    "PSEUDO_HEADERS",
    "RECEIVE_AWAITABLE",
    "RECEIVE_INVALID",
    "REJECT_PROTOCOL",
    "REQUEST_MORE_BODY",
    "SEND_AWAITABLE",
    "SEND_EXACTLY_ONE",
    "SINGLE_CALLABLE",
    "START_FOLLOWED",
    "STATUS_INT",
    "COOKIE_HTTP2",
    "EXTRA_KEYS",
    "FAILED_MESSAGE",
    "TRIGGER",
]

# -- main.html ---------------------------------------------------------------------------
# specs.ASGI_MAIN + "#overview"
ASYNC_COROUTINES = (
    "ASGI applications must run as async / await compatible coroutines (i.e. "
    "asyncio-compatible) (on the main thread; they are free to use threading or other "
    "processes if they need synchronous code)."
)
# specs.ASGI_APPLICATIONS
SINGLE_CALLABLE = "ASGI applications should be a single async callable"
RECEIVE_AWAITABLE = (
    "receive: an awaitable callable that will yield a new event dictionary when one is available"
)
SEND_AWAITABLE = (
    "send: an awaitable callable taking a single event dictionary as a positional argument "
    "that will return once the send has been completed or the connection has been closed"
)
# specs.ASGI_EVENTS
EVENT_DICT = (
    "Each event is a dict with a top-level type key that contains a Unicode string of the "
    "message type."
)
EVENT_TYPES = (
    "Because these messages could be sent over a network, they need to be serializable, "
    "and so they are only allowed to contain the following types:"
)
# specs.ASGI_PROTOCOL_SPECIFICATIONS
NAMESPACED = (
    "In messages, the type should be namespaced as protocol.message_type, where the "
    "protocol matches the scope type, and message_type is defined by the protocol spec."
)
REJECT_PROTOCOL = (
    "Applications should actively reject any protocol that they do not understand with an "
    "Exception (of any type)."
)
# specs.ASGI_MAIN + "#middleware"
MIDDLEWARE_COPY = (
    "When middleware is modifying the scope, it should make a copy of the scope object "
    "before mutating it and passing it to the inner application, as changes may leak "
    "upstream otherwise."
)
# specs.ASGI_ERROR_HANDLING
RECEIVE_INVALID = (
    "If an application receives an invalid event dictionary from receive, it should raise "
    "an exception."
)
EXTRA_KEYS = (
    "In both cases, the presence of additional keys in the event dictionary should not "
    "raise an exception."
)

# -- www.html ----------------------------------------------------------------------------
# specs.ASGI_HTTP
COOKIE_HTTP2 = (
    "For ASGI applications that support HTTP/2, care should be taken to handle the special "
    "case for Cookie noted above."
)
# specs.ASGI_HTTP_REQUEST
TRIGGER = (
    "Most of the request information is in the connection scope; the body message serves "
    "as a way to stream large incoming HTTP bodies in chunks, and as a trigger to actually "
    "run request code (as you should not trigger on a connection opening alone)."
)
REQUEST_MORE_BODY = (
    "If True, the consuming application should wait until it gets a chunk with this set to "
    "False. If False, the request is complete and should be processed."
)
# specs.ASGI_HTTP_RESPONSE_START
START_FOLLOWED = (
    "Sent by the application to start sending a response to the client. Needs to be "
    "followed by at least one response content message."
)
STATUS_INT = "status (int) -- HTTP status code."
HEADERS_FORM = (
    "headers (Iterable[[byte string, byte string]]) -- An iterable of [name, value] "
    "two-item iterables, where name is the header name, and value is the header value."
)
HEADERS_LOWER = "Header names must be lowercased."
PSEUDO_HEADERS = "Pseudo headers (present in HTTP/2 and HTTP/3) must not be present."
# specs.ASGI_HTTP_RESPONSE_BODY
BODY_BYTES = "body (byte string) -- HTTP body content."
MORE_BODY = (
    "more_body (bool) -- Signifies if there is additional content to come (as part of a "
    "Response Body message). If False, and the server is not expecting Response Trailers "
    "response will be taken as complete and closed, and any further messages on the "
    "channel will be ignored."
)
# specs.ASGI_HTTP_DISCONNECT (and the WebSocket's Disconnect event)
DISCONNECT_SEND = (
    "Once you have received this event, you should expect future calls to send() to raise "
    "an exception, as described above."
)
# specs.ASGI_WEBSOCKET: "Disconnect - receive event" of the WebSocket part
DISCONNECT_WS = (
    "Sent to the application when either connection to the client is lost, either from "
    "the client closing the connection, the server closing the connection, or loss of "
    "the socket."
)
# specs.RFC9110_INFORMATIONAL
INFORMATIONAL = (
    "The 1xx (Informational) class of status code indicates an interim response for "
    "communicating connection status or request progress prior to completing the "
    "requested action and sending a final response."
)
# specs.ASGI_WWW + "#connect-receive-event"
CONNECT_ANSWER = (
    "This message must be responded to with either an Accept message or a Close message "
    "before the socket will pass websocket.receive messages."
)
# specs.ASGI_WEBSOCKET_ACCEPT
ACCEPT_NO_PROTOCOL_HEADER = (
    "Must not include a header named sec-websocket-protocol; use the subprotocol key instead."
)
# specs.ASGI_WEBSOCKET_SEND
SEND_EXACTLY_ONE = "Exactly one of bytes or text must be non-None."
# specs.RFC6455_CLOSE_CODES (1006 and 1015 have the same sentence)
CLOSE_CODE_RESERVED = (
    "1005 is a reserved value and MUST NOT be set as a status code in a Close control "
    "frame by an endpoint."
)
# specs.ASGI_WEBSOCKET_CLOSE
CLOSE_BEFORE_ACCEPT = (
    "If this is sent before the socket is accepted, the server must close the connection "
    "with a HTTP 403 error code (Forbidden), and not complete the WebSocket handshake"
)
CLOSE_CODE = "code (int) -- The WebSocket close code, as per the WebSocket spec."

# -- lifespan.html -----------------------------------------------------------------------
# specs.ASGI_LIFESPAN_SCOPE
LIFESPAN_REJECT = (
    "If an exception is raised when calling the application callable with a "
    "lifespan.startup message or a scope with type lifespan, the server must continue but "
    "not send any lifespan events."
)
LIFESPAN_FAILED = (
    "If you want to log an error that occurs during lifespan startup and prevent the "
    "server from starting, then send back lifespan.startup.failed instead."
)
# specs.ASGI_LIFESPAN_STATE
LIFESPAN_STATE_COPY = (
    "The server will ensure that a *shallow copy* of the namespace is passed into each "
    "subsequent request/response call into the application."
)
LIFESPAN_KEY_NAMES = (
    "Nonetheless applications should be cooperative by properly naming their keys such "
    "that they will not collide with other frameworks or middleware."
)
# specs.ASGI_LIFESPAN_STARTUP_FAILED
FAILED_MESSAGE = 'message (Unicode string) -- Optional; if missing defaults to "".'
# specs.ASGI_LIFESPAN_STARTUP_COMPLETE
LIFESPAN_STARTUP = (
    "Sent by the application when it has completed its startup. A server must wait for "
    "this message before it starts processing connections."
)
# specs.ASGI_LIFESPAN_SHUTDOWN_COMPLETE
LIFESPAN_SHUTDOWN = (
    "Sent by the application when it has completed its cleanup. A server must wait for "
    "this message before terminating."
)

# -- the HTTP RFCs, where ASGI says nothing of its own ------------------------------------
# specs.RFC9110 + "#section-5.5"
CR_LF_NUL = (
    "Field values containing CR, LF, or NUL characters are invalid and dangerous, due to "
    "the varying ways that implementations might parse and interpret those characters; a "
    "recipient of CR, LF, or NUL within a field value MUST either reject the message or "
    "replace each of those characters with SP before further processing or forwarding of "
    "that message."
)
# specs.RFC9112_BODY_LENGTH
CONTENT_LENGTH = (
    "If a valid Content-Length header field is present without Transfer-Encoding, its "
    "decimal value defines the expected message body length in octets."
)
# specs.RFC9110_CONTENT
NO_CONTENT = (
    "All 1xx (Informational), 204 (No Content), and 304 (Not Modified) responses do not "
    "include content."
)
# specs.RFC9110_HEAD
HEAD_NO_CONTENT = (
    "The HEAD method is identical to GET except that the server MUST NOT send content in "
    "the response."
)
# specs.RFC9110_CONTENT_TYPE
CONTENT_TYPE = (
    "A sender that generates a message containing content SHOULD generate a Content-Type "
    "header field in that message unless the intended media type of the enclosed "
    "representation is unknown to the sender."
)
