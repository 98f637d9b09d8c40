"""The WSGI rules (PEP 3333): what a WSGI application can get wrong, sentence by sentence.

Theory of operation: data only. The rule table is PEP 3333 read as a list
of requirements on applications: every MUST, MUST NOT, SHOULD and SHOULD NOT
that an app can break is a :class:`~gateway_lab.check.ruletypes.Rule` here, with
the PEP's own sentence quoted in ``sentence`` and the anchored link to it;
every one that no check from outside the app can see is an
:class:`~gateway_lab.check.ruletypes.Unchecked` line in :data:`WSGI_UNCHECKED`
(kept in :mod:`.unchecked`), saying why. A MUST is an ``error``, a SHOULD a ``warning``; a rule that
departs from that says why in ``severity_why``. ``docs/rules.md`` is
generated from this table (``tools/rules_doc.py``).

The mistakes a server also refuses are not worded here: their message, hint
and spec link come from :data:`gateway_lab.protocol.wsgi.SENTENCES`, the one
wording every server side uses, so ``check_wsgi`` and a 500 from the mini
server say the same thing; only the severity and the quoted sentence are the
checker's. The rules after them are the checker's alone: judgements of the
response as a whole and of how the app uses its streams, which no server
refuses. Messages say what the app did and why that is wrong; hints say what
to change; ``{name}`` fields are filled in by the driver.
"""

from __future__ import annotations

from gateway_lab import specs
from gateway_lab.check.ruletypes import Rule
from gateway_lab.check.wsgi.unchecked import WSGI_UNCHECKED
from gateway_lab.protocol.wsgi import SENTENCES

__all__ = ["BIG_HEAD_BODY", "QUOTES", "WSGI_RULES", "WSGI_UNCHECKED"]

# A body sent in answer to HEAD is dropped by every server: worth a note
# (wsgi.body-on-head) only when building it was real work, not on every app.
BIG_HEAD_BODY = 64 * 1024

# -- PEP 3333's own sentences (quoted from the PEP's text) -------------------------
_ITERABLE = (
    "When called by the server, the application object must return an iterable yielding "
    "zero or more bytestrings."
)
_START_FIRST = (
    "(Note: the application must invoke the start_response() callable before the "
    "iterable yields its first body bytestring, so that the server can send the headers "
    "before any body content."
)
_STATUS = (
    "That is, it is a string consisting of a Status-Code and a Reason-Phrase, in that "
    "order and separated by a single space, with no surrounding whitespace or other "
    "characters."
)
_BYTESTRINGS = (
    'For values referred to in this specification as "bytestrings" (i.e., values read '
    "from wsgi.input, passed to write() or yielded by the application), the value must "
    "be of type bytes under Python 3, and str in earlier versions of Python."
)
_STRINGS = (
    'Again, all objects referred to in this specification as "strings" must be of type '
    "str or StringType, and must not be of type unicode or UnicodeType."
)
_LATIN1 = (
    "It is a fatal error for an application to supply strings containing any other "
    "Unicode character or code point."
)
_CLOSE = (
    "If the iterable returned by the application has a close() method, the server or "
    "gateway must call that method upon completion of the current request, whether the "
    "request was completed normally, or terminated early due to an application error "
    "during iteration or an early disconnect of the browser."
)
_PAST_LENGTH = (
    "The application should not attempt to read more data than is specified by the "
    "CONTENT_LENGTH variable."
)

_DEFINED = (
    "The sentence defines the thing itself, with no MUST needed: a value of another "
    "form is not a WSGI {what}, and servers refuse it or send something else."
)

# The sentence each rule enforces, by the key of its SENTENCES entry or its rule id.
QUOTES = {
    "body-is-none": _ITERABLE,
    "body-is-str": _ITERABLE,
    "body-is-bytes": _ITERABLE,
    "body-not-iterable": _ITERABLE,
    "body-not-bytes": _BYTESTRINGS,
    "no-start-response": _START_FIRST,
    "body-before-start-response": _START_FIRST,
    "start-response-twice": (
        "More precisely, it is a fatal error to call start_response without the exc_info "
        "argument if start_response has already been called within the current invocation "
        "of the application."
    ),
    "start-response-args": (
        "For the sake of illustration, we have named these arguments status, "
        "response_headers, and exc_info, but they are not required to have these names, "
        "and the application must invoke the start_response callable using positional "
        "arguments (e.g. start_response(status, response_headers))."
    ),
    "exc-info-form": "The exc_info argument, if supplied, must be a Python sys.exc_info() tuple.",
    "exc-info-outside-handler": (
        "This argument should be supplied by the application only if start_response is "
        "being called by an error handler."
    ),
    "exc-info-trapped": (
        "The application must not trap any exceptions raised by start_response, if it "
        "called start_response with exc_info."
    ),
    "status-not-str": _STATUS,
    "status-form": _STATUS,
    "status-no-reason": _STATUS,
    "status-control": (
        "The string must not contain control characters, and must not be terminated with "
        "a carriage return, linefeed, or combination thereof."
    ),
    "status-informational": (
        "Servers and gateways that implement HTTP 1.1 must provide transparent support for "
        'HTTP 1.1\'s "expect/continue" mechanism.'
    ),
    "status-not-latin1": _LATIN1,
    "headers-not-list": (
        "It must be a Python list; i.e. type(response_headers) is ListType, and the server "
        "may change its contents in any way it desires."
    ),
    "header-not-tuple": (
        "The response_headers argument is a list of (header_name, header_value) tuples."
    ),
    "header-not-str": _STRINGS,
    "header-not-latin1": _LATIN1,
    "header-crlf": (
        "Each header_value must not include any control characters, including carriage "
        "returns or linefeeds, either embedded or at the end."
    ),
    "header-name-invalid": (
        "Each header_name must be a valid HTTP header field-name (as defined by RFC 2616, "
        "Section 4.2), without a trailing colon or other punctuation."
    ),
    "header-status": 'The status parameter is a status string of the form "999 Message here"',
    "hop-by-hop-header": (
        'WSGI applications must not generate any "hop-by-hop" headers, attempt to use HTTP '
        "features that would require them to generate such headers, or rely on the content "
        'of any incoming "hop-by-hop" headers in the environ dictionary.'
    ),
    "write-not-bytes": _BYTESTRINGS,
    "write-before-start-response": (
        "The write() callable is returned by the start_response() callable, and it accepts "
        "a single parameter: a bytestring to be written as part of the HTTP response body, "
        "that is treated exactly as though it had been yielded by the output iterable."
    ),
    "write-after-close": _CLOSE,
    "write-in-iterable": (
        "Applications must not invoke write() from within their return iterable, and "
        "therefore any bytestrings yielded by the iterable are transmitted after all "
        "bytestrings passed to write() have been sent to the client."
    ),
    "len-inaccurate": (
        "That is, if the iterable returned by the application provides a working __len__() "
        "method, it must return an accurate result."
    ),
}

# The severity of each mistake a server side also names (the wording is SENTENCES'),
# and why, when it is not the one the quoted sentence's MUST or SHOULD gives.
SHARED_SEVERITY: dict[str, tuple[str, str]] = {
    # the return value
    "body-is-none": ("error", ""),
    "body-is-str": ("error", ""),
    "body-is-bytes": ("error", ""),
    "body-not-iterable": ("error", ""),
    "body-not-bytes": ("error", ""),
    # start_response, its status and headers
    "no-start-response": ("error", ""),
    "body-before-start-response": ("error", ""),
    "start-response-twice": ("error", ""),
    "start-response-args": ("error", ""),
    "exc-info-form": ("error", ""),
    "exc-info-outside-handler": ("warning", ""),
    "exc-info-trapped": ("error", ""),
    "status-not-str": ("error", _DEFINED.format(what="status")),
    "status-form": ("error", _DEFINED.format(what="status")),
    "status-control": ("error", ""),
    "status-informational": (
        "error",
        "A WSGI response has one final status; the server sends '100 Continue' itself, "
        "and a 1xx given as the status leaves the client waiting for the real response.",
    ),
    "status-not-latin1": ("error", ""),
    "status-no-reason": (
        "error",
        _DEFINED.format(what="status")
        + " A bare '200' is not a code and a reason separated by a single space "
        "(wsgiref.validate rejects it).",
    ),
    "headers-not-list": ("error", ""),
    "header-not-tuple": ("error", _DEFINED.format(what="header list")),
    "header-not-str": ("error", ""),
    "header-not-latin1": ("error", ""),
    "header-crlf": ("error", ""),
    "header-name-invalid": ("error", ""),
    "header-status": (
        "error",
        "No sentence forbids a header called Status, but the status the app meant never "
        "reaches the client: it gets the status of start_response's first argument.",
    ),
    "hop-by-hop-header": ("error", ""),
    # write()
    "write-not-bytes": ("error", ""),
    "write-before-start-response": (
        "error",
        "The sentence defines write() as what start_response returns; there is no write() "
        "before it.",
    ),
    "write-after-close": (
        "error",
        "After close() the request is complete: the bytes written then never reach the client.",
    ),
    "write-in-iterable": ("error", ""),
    "len-inaccurate": ("error", ""),
}

_SHARED = [
    Rule(
        f"wsgi.{key}",
        severity,
        SENTENCES[key].message,
        SENTENCES[key].hint,
        SENTENCES[key].spec,
        QUOTES[key],
        why,
    )
    for key, (severity, why) in SHARED_SEVERITY.items()
]

_READ_EXACTLY = (
    "Read exactly the body: `environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))`."
)

WSGI_RULES = _SHARED + [
    Rule(
        "wsgi.close-raised",
        "error",
        "The body's close() method raised {exc}. The server calls close() after "
        "every request, even failed ones, and it must not fail.",
        "Make close() safe to call at any time (guard what it releases).",
        specs.PEP3333_DETAILS,
        _CLOSE,
        "A close() that raises turns a finished response into a server error (wsgiref "
        "logs it and drops the connection).",
    ),
    Rule(
        "wsgi.no-content-type",
        "warning",
        "The response ({status}) has a body but no Content-Type header, so the browser "
        "has to guess what the bytes are.",
        "Add a header such as ('Content-Type', 'text/plain; charset=utf-8').",
        specs.RFC9110_CONTENT_TYPE,
        "A sender that generates a message containing content SHOULD generate a "
        "Content-Type header field in that message unless the intended media type of the "
        "enclosed representation is unknown to the sender.",
    ),
    Rule(
        "wsgi.content-length-invalid",
        "error",
        "The Content-Length header is {value}, which is not a whole number of bytes.",
        "Set it to str(len(body)) where body is the bytes you send.",
        specs.RFC9110_CONTENT_LENGTH,
        "Content-Length = 1*DIGIT",
        "A value that is not digits cannot be parsed; clients reject the response.",
    ),
    Rule(
        "wsgi.content-length-mismatch",
        "error",
        "The Content-Length header says {declared} bytes but the app sent {sent}. {why}",
        "Compute it from the bytes you send: str(len(body_bytes)) (len() of a str counts "
        "characters, not bytes).",
        specs.PEP3333 + "#handling-the-content-length-header",
        "If the application supplies a Content-Length header, the server should not "
        "transmit more bytes to the client than the header allows, and should stop "
        "iterating over the response when enough data has been sent, or raise an error if "
        "the application tries to write() past that point.",
        "The server then cuts the extra bytes, or the client waits for the missing ones: "
        "the response is broken either way.",
    ),
    Rule(
        "wsgi.body-on-no-content",
        "error",
        "The response is {status}, which must not have a body, but the app sent {sent} bytes.",
        "Send an empty body (return []) with {code} responses.",
        specs.RFC9110_CONTENT,
        "All 1xx (Informational), 204 (No Content), and 304 (Not Modified) responses do "
        "not include content.",
        "The bytes a client does not expect after the head spoil the next response on the "
        "connection.",
    ),
    Rule(
        "wsgi.body-on-head",
        "info",
        "The app built {sent} body bytes in answer to HEAD, only for the server to drop "
        "them: a HEAD response has no body.",
        "If environ['REQUEST_METHOD'] == 'HEAD', send the headers (with the Content-Length "
        "GET would have) and skip building the body.",
        specs.RFC9110_HEAD,
        "The HEAD method is identical to GET except that the server MUST NOT send content "
        "in the response.",
        "The MUST is the server's, and every server drops the body; the note is shown "
        "only when the body is large enough for building it to be real wasted work.",
    ),
    Rule(
        "wsgi.write-used",
        "warning",
        "The app uses the write() callable. It works, but PEP 3333 keeps it only for old "
        "frameworks.",
        "Return (or yield) the body instead.",
        specs.PEP3333_WRITE,
        "New WSGI applications and frameworks should not use the write() callable if it "
        "is possible to avoid doing so.",
    ),
    Rule(
        "wsgi.input-past-content-length",
        "warning",
        "The app asked wsgi.input for {asked} {situation}. On a server that hands over the "
        "socket (wsgiref does), that read waits for bytes that never come, and the request "
        "hangs.",
        _READ_EXACTLY,
        specs.PEP3333_STREAMS,
        _PAST_LENGTH,
    ),
    Rule(
        "wsgi.readline-size",
        "warning",
        "The app called wsgi.input.{call}, with a size. PEP 3333 lets a server leave that "
        "argument out (as WSGI 1.0 servers did), and on such a server the call fails with "
        "TypeError.",
        "Read the body with read(n), n from CONTENT_LENGTH, and split it into lines yourself "
        "(body.splitlines()).",
        specs.PEP3333_STREAMS,
        'Servers should support the optional "size" argument to readline(), but as in WSGI '
        "1.0, they are allowed to omit support for it.",
        "The sentence is a SHOULD for servers, with leave to omit the argument: an app that "
        "relies on it is not portable, but works on the servers that do support it, so this "
        "is a warning, not an error.",
    ),
    Rule(
        "wsgi.stream-closed",
        "error",
        "The app closed {stream}. The stream belongs to the server, which may still need "
        "it (to read the rest of the request, or to log).",
        "Do not close wsgi.input or wsgi.errors; remove the .close() call (and do not use "
        "them in a `with` block).",
        specs.PEP3333_STREAMS,
        "In particular, applications must not attempt to close these streams, even if they "
        "possess close() methods.",
    ),
    Rule(
        "wsgi.errors-not-str",
        "error",
        "The app wrote a value of type {type} ({value}) to wsgi.errors, which is a text "
        "stream: it takes str.",
        "Write text: environ['wsgi.errors'].write('message\\n'), or use print(..., "
        "file=environ['wsgi.errors']).",
        specs.PEP3333_ENVIRON,
        'This should be a "text mode" stream; i.e., applications should use "\\n" as a '
        "line ending, and assume that it will be converted to the correct line ending by "
        "the server/gateway.",
        "wsgiref hands the app sys.stderr, where a bytes write raises TypeError: the "
        "request ends in a 500.",
    ),
    Rule(
        "wsgi.environ-key-missing",
        "warning",
        "The app failed with KeyError: {key!r}: that variable is absent from this "
        "request's environ ({why}).",
        "Use {use} and decide what the app does without it.",
        specs.PEP3333_ENVIRON,
        "Applications should check for the presence of any variables they require, and "
        "have a fallback plan in the event such a variable is absent.",
    ),
]
