"""What a WSGI app can do wrong, in words: the sentences every server side says.

Theory of operation: data only. :data:`SENTENCES` maps the key of each
mistake of the protocol (``"start-response-twice"``) to a
:class:`~gateway_lab.protocol.bodies.Sentence`: what the app did, what to
change, and the PEP 3333 section that says so, written once. The one WSGI
server side (:mod:`gateway_lab.protocol.wsgi`) names a problem by its key;
``call_wsgi`` and the servers raise or answer 500 with the sentence, and the
checker's rules ``wsgi.<key>`` take their message and hint from it, so the
same mistake reads the same everywhere. The body's own mistakes are in
:data:`~gateway_lab.protocol.bodies.BODY_SENTENCES`, included here.
"""

from __future__ import annotations

from gateway_lab import specs
from gateway_lab.protocol.bodies import BODY_SENTENCES, Sentence

__all__ = ["SENTENCES"]

_START = specs.PEP3333_START_RESPONSE
SENTENCES: dict[str, Sentence] = {
    **BODY_SENTENCES,
    "no-start-response": Sentence(
        "The app returned without calling start_response(status, headers), so there is "
        "no status line to send.",
        "Call start_response('200 OK', [('Content-Type', 'text/plain')]) before (or while) "
        "producing the body.",
        specs.PEP3333_DETAILS,
    ),
    "body-before-start-response": Sentence(
        "The app produced body bytes ({value}) before calling start_response(), so the "
        "server has no status line to put in front of them.",
        "Call start_response first; a generator may call it just before its first yield.",
        specs.PEP3333_DETAILS,
    ),
    "start-response-twice": Sentence(
        "start_response() was called a second time without exc_info (this time with "
        "{status}). It is called once per request; only an error handler may call it again.",
        "Call it once; in an `except` block, pass sys.exc_info() as the third argument.",
        _START,
    ),
    "start-response-args": Sentence(
        "start_response() was called with {detail}; it takes (status, headers) and an "
        "optional exc_info, all positional.",
        "Call start_response('200 OK', [('Content-Type', 'text/plain')]), without "
        "keywords such as status=... or headers=...",
        specs.PEP3333_DETAILS,
    ),
    "exc-info-form": Sentence(
        "start_response() got exc_info={value}; it must be the tuple sys.exc_info() "
        "returns (or None).",
        "Pass sys.exc_info() from inside the `except` block.",
        _START,
    ),
    "exc-info-outside-handler": Sentence(
        "start_response() got exc_info=(None, None, None): sys.exc_info() was called "
        "where no exception was being handled, so there is no error to report.",
        "Pass sys.exc_info() only from the `except` block that caught an error; a normal "
        "response calls start_response(status, headers) with two arguments.",
        _START,
    ),
    "exc-info-trapped": Sentence(
        "The head had already gone out, so start_response(..., exc_info) re-raised the "
        "app's exception ({exc}), and the app caught it and carried on.",
        "Let that exception propagate: do not put start_response(..., sys.exc_info()) "
        "inside a try/except of its own; the server then ends the response.",
        _START,
    ),
    "status-not-str": Sentence(
        "The status {value} is of type {type}; WSGI wants a str such as '200 OK'.",
        "Write the status as a string: a three-digit code, a space, a reason: '200 OK'.",
        _START,
    ),
    "status-form": Sentence(
        "The status {value} is not of the form '200 OK' (three digits from 100 to 599, "
        "a space, a reason phrase).",
        "Write it as a three-digit code, a space and a reason, such as '200 OK' or "
        "'404 Not Found'.",
        _START,
    ),
    "status-control": Sentence(
        "The status {value} contains a control character (a line break, a tab...). A "
        "status line ends at the first line break, so the rest would forge headers.",
        "Write the status as '200 OK': a three-digit code, one space, a reason.",
        _START,
    ),
    "status-informational": Sentence(
        "The status {value} is informational (1xx): it announces a response, it is not "
        "one, and a WSGI app cannot send it (the server sends '100 Continue' by itself).",
        "Send a final status, such as '200 OK'.",
        _START,
    ),
    "status-not-latin1": Sentence(
        "The status {value} has characters outside latin-1 ({chars}); a status line is "
        "bytes on the wire.",
        "Use the standard reason phrase, such as '200 OK'.",
        specs.PEP3333_UNICODE,
    ),
    "status-no-reason": Sentence(
        "The status {value} has no reason phrase. A WSGI status is a code, one space "
        "and a reason; servers differ in what they make of a bare code.",
        "Add a space and a reason: '{code} {reason}'.",
        _START,
    ),
    "headers-not-list": Sentence(
        "The headers are of type {type}; WSGI wants a list of (name, value) tuples.",
        "Pass a list: [('Content-Type', 'text/plain')].",
        _START,
    ),
    "header-not-tuple": Sentence(
        "The header {value} is not a (name, value) tuple of two items.",
        "Write each header as a tuple of two str: ('Content-Type', 'text/plain').",
        _START,
    ),
    "header-not-str": Sentence(
        "The header {value} has a {part} of type {type}; header names and values are str.",
        "Write both as str, for example str(len(body)) for a Content-Length.",
        specs.PEP3333_UNICODE,
    ),
    "header-not-latin1": Sentence(
        "The header {value} contains characters outside latin-1 ({chars}). WSGI header "
        "strings may only hold code points U+0000 to U+00FF.",
        "Encode the text for the header (for example urllib.parse.quote(...)) or move it "
        "to the body.",
        specs.PEP3333_UNICODE,
    ),
    "header-crlf": Sentence(
        "The header {value} contains a line break or control character. That would "
        "split the header and let the text after it forge new headers or a new response.",
        "Remove '\\r', '\\n' and other control characters from header names and values.",
        _START,
    ),
    "header-name-invalid": Sentence(
        "The header name {value} is not a valid HTTP header name (letters, digits and "
        "'-', no spaces or ':').",
        "Use a name such as 'Content-Type' or 'X-My-Header'.",
        _START,
    ),
    "header-status": Sentence(
        "The app sent a header called 'Status'. In WSGI the status goes in the first "
        "argument of start_response, never in a header (that is a CGI habit).",
        "Drop the header and pass the status as start_response's first argument.",
        _START,
    ),
    "hop-by-hop-header": Sentence(
        "The app set the hop-by-hop header {value}. Hop-by-hop headers describe one "
        "connection, which belongs to the server; applications must not set them.",
        "Remove it; the server manages connections and transfer encoding itself.",
        specs.PEP3333 + "#other-http-features",
    ),
    "write-not-bytes": Sentence(
        "write() was called with a value of type {type} ({value}); it takes bytes.",
        "Pass bytes: write(text.encode('utf-8')) or a b'...' literal.",
        specs.PEP3333_WRITE,
    ),
    "write-before-start-response": Sentence(
        "write() was called before start_response().",
        "Call start_response first; it returns the write callable.",
        specs.PEP3333_WRITE,
    ),
    "write-after-close": Sentence(
        "write() was called after the response was finished and closed.",
        "Produce all of the body before the app's iterable is exhausted.",
        specs.PEP3333_DETAILS,
    ),
    "write-in-iterable": Sentence(
        "write() was called from inside the returned iterable, while the server was iterating it.",
        "Yield the bytes instead of passing them to write(); write() belongs to the app "
        "call itself, before it returns.",
        specs.PEP3333_WRITE,
    ),
    "len-inaccurate": Sentence(
        "len() of the returned iterable says {declared}, but iterating it gave {got} "
        "byte strings. A server may trust len() (with one item it sets Content-Length "
        "from it), so it must be exact.",
        "Make __len__ return the number of byte strings __iter__ yields, or drop __len__.",
        specs.PEP3333_DETAILS,
    ),
}
