"""The WSGI rules (PEP 3333): what a WSGI application can get wrong.

Theory of operation: data only, one :class:`~.rule.Rule` per mistake, in the
order a request meets them: the return value, ``start_response`` and its
status and headers, the response as a whole, ``write()`` and ``wsgi.input``.
Messages say what the app did and why that is wrong; hints say what to
change. ``{name}`` fields are filled in by the driver.
"""

from __future__ import annotations

from gateway_lab.check.rule import PEP, RFC9110, Rule

__all__ = ["WSGI_RULES"]

WSGI_RULES = [
    # -- WSGI: the return value ------------------------------------------------------
    Rule(
        "wsgi.body-is-none",
        "error",
        "The app returned None instead of an iterable of bytes.",
        "End the app with `return [body_bytes]` (did you forget the return statement?).",
        PEP + "#specification-details",
    ),
    Rule(
        "wsgi.body-is-str",
        "error",
        "The app returned a str ({value}). A WSGI body is an iterable of bytes; a str "
        "would be sent one character at a time, and characters are not bytes.",
        "Return a list holding bytes: `return [text.encode('utf-8')]` (text being your str).",
        PEP + "#unicode-issues",
    ),
    Rule(
        "wsgi.body-is-bytes",
        "error",
        "The app returned bytes directly ({value}). The server iterates the body, and "
        "iterating bytes in Python 3 gives integers, one per byte, which no server "
        "can send (wsgiref answers 500, werkzeug fails an assertion).",
        "Wrap the bytes in a list: `return [body]` instead of `return body`.",
        PEP + "#buffering-and-streaming",
    ),
    Rule(
        "wsgi.body-not-iterable",
        "error",
        "The app returned {value}, of type {type}, which is not iterable.",
        "Return a list of bytes, or yield bytes from a generator.",
        PEP + "#specification-details",
    ),
    Rule(
        "wsgi.body-not-bytes",
        "error",
        "The body contained a chunk of type {type} ({value}). Every chunk of a WSGI body "
        "must be bytes.",
        "{fix}",
        PEP + "#unicode-issues",
    ),
    Rule(
        "wsgi.close-raised",
        "error",
        "The body's close() method raised {exc}. The server calls close() after "
        "every request, even failed ones, and it must not fail.",
        "Make close() safe to call at any time (guard what it releases).",
        PEP + "#specification-details",
    ),
    # -- WSGI: start_response ------------------------------------------------------------
    Rule(
        "wsgi.no-start-response",
        "error",
        "The app finished without calling start_response(status, headers), so there is "
        "no status line to send.",
        "Call start_response('200 OK', [('Content-Type', 'text/plain')]) before (or while) "
        "producing the body.",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.body-before-start-response",
        "error",
        "The app produced body bytes ({value}) before calling start_response(), so the "
        "server has no status line to put in front of them.",
        "Call start_response first; a generator may call it just before its first yield.",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.start-response-twice",
        "error",
        "start_response() was called a second time ({status}) without exc_info. It is "
        "called once per request; only an error handler may call it again.",
        "Call it once; in an `except` block, pass sys.exc_info() as the third argument.",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.start-response-args",
        "error",
        "start_response() was called with {detail}; it takes (status, headers) and an "
        "optional exc_info.",
        "Call start_response('200 OK', [('Content-Type', 'text/plain')]).",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.exc-info-form",
        "error",
        "start_response() got exc_info={value}; it must be the tuple sys.exc_info() "
        "returns (or None).",
        "Pass sys.exc_info() from inside the `except` block.",
        PEP + "#error-handling",
    ),
    Rule(
        "wsgi.status-not-str",
        "error",
        "The status {value} is of type {type}; WSGI wants a str such as '200 OK'.",
        "Write the status as a string: a three-digit code, a space, a reason: '200 OK'.",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.status-form",
        "error",
        "The status {value} is not of the form '200 OK' (three digits, a space, a reason phrase).",
        "Write it as a three-digit code, a space and a reason, such as '200 OK' or "
        "'404 Not Found'.",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.status-no-reason",
        "warning",
        "The status {value} has no reason phrase.",
        "Add a space and a reason: '{code} {reason}'.",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.headers-not-list",
        "error",
        "The headers are of type {type}; WSGI wants a list of (name, value) tuples.",
        "Pass a list: [('Content-Type', 'text/plain')].",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.header-not-tuple",
        "error",
        "The header {value} is not a (name, value) tuple of two items.",
        "Write each header as a tuple of two str: ('Content-Type', 'text/plain').",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.header-not-str",
        "error",
        "The header {value} has a {part} of type {type}; header names and values are str.",
        "Write both as str, for example str(len(body)) for a Content-Length.",
        PEP + "#unicode-issues",
    ),
    Rule(
        "wsgi.header-not-latin1",
        "error",
        "The header {value} contains characters outside latin-1 ({chars}). WSGI header "
        "strings may only hold code points U+0000 to U+00FF.",
        "Encode the text for the header (for example urllib.parse.quote(...)) or move it "
        "to the body.",
        PEP + "#unicode-issues",
    ),
    Rule(
        "wsgi.header-crlf",
        "error",
        "The header {value} contains a line break or control character. That would "
        "split the header and let the text after it forge new headers or a new response.",
        "Remove '\\r', '\\n' and other control characters from header names and values.",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.header-name-invalid",
        "error",
        "The header name {value} is not a valid HTTP header name (letters, digits and "
        "'-', no spaces or ':').",
        "Use a name such as 'Content-Type' or 'X-My-Header'.",
        RFC9110 + "#section-5.1",
    ),
    Rule(
        "wsgi.header-status",
        "error",
        "The app sent a header called 'Status'. In WSGI the status goes in the first "
        "argument of start_response, never in a header (that is a CGI habit).",
        "Drop the header and pass the status as start_response's first argument.",
        PEP + "#the-start-response-callable",
    ),
    Rule(
        "wsgi.hop-by-hop-header",
        "error",
        "The app set the hop-by-hop header {value}. Hop-by-hop headers describe one "
        "connection, which belongs to the server; applications must not set them.",
        "Remove it; the server manages connections and transfer encoding itself.",
        PEP + "#other-http-features",
    ),
    Rule(
        "wsgi.no-content-type",
        "warning",
        "The response ({status}) has a body but no Content-Type header, so the browser "
        "has to guess what the bytes are.",
        "Add a header such as ('Content-Type', 'text/plain; charset=utf-8').",
        RFC9110 + "#section-8.3",
    ),
    Rule(
        "wsgi.content-length-invalid",
        "error",
        "The Content-Length header is {value}, which is not a whole number of bytes.",
        "Set it to str(len(body)) where body is the bytes you send.",
        RFC9110 + "#section-8.6",
    ),
    Rule(
        "wsgi.content-length-mismatch",
        "error",
        "The Content-Length header says {declared} bytes but the app sent {sent}. {why}",
        "Compute it from the encoded body: str(len(body_bytes)), not len() of the str.",
        PEP + "#handling-the-content-length-header",
    ),
    Rule(
        "wsgi.body-on-no-content",
        "error",
        "The response is {status}, which must not have a body, but the app sent {sent} bytes.",
        "Send an empty body (return []) with {code} responses.",
        RFC9110 + "#section-6.4.1",
    ),
    Rule(
        "wsgi.body-on-head",
        "info",
        "The app sent {sent} body bytes in answer to HEAD. A HEAD response has no body; "
        "most servers drop it (werkzeug's development server sends it anyway, then "
        "closes the connection), so it is allowed, but wasted work.",
        "If environ['REQUEST_METHOD'] == 'HEAD', send the headers and an empty body.",
        RFC9110 + "#section-9.3.2",
    ),
    # -- WSGI: write() and wsgi.input --------------------------------------------------
    Rule(
        "wsgi.write-used",
        "info",
        "The app uses the write() callable. It works, but PEP 3333 keeps it only for old "
        "frameworks.",
        "Prefer returning (or yielding) the body.",
        PEP + "#the-write-callable",
    ),
    Rule(
        "wsgi.write-not-bytes",
        "error",
        "write() was called with a value of type {type} ({value}); it takes bytes.",
        "Pass bytes: write(text.encode('utf-8')) or a b'...' literal.",
        PEP + "#the-write-callable",
    ),
    Rule(
        "wsgi.write-before-start-response",
        "error",
        "write() was called before start_response().",
        "Call start_response first; it returns the write callable.",
        PEP + "#the-write-callable",
    ),
    Rule(
        "wsgi.write-after-close",
        "error",
        "write() was called after the response was finished and closed.",
        "Produce all of the body before the app's iterable is exhausted.",
        PEP + "#the-write-callable",
    ),
    Rule(
        "wsgi.input-past-content-length",
        "error",
        "The app asked wsgi.input for {asked} bytes {situation}. On a real socket that "
        "read waits for bytes that never come, and the request hangs.",
        "Read exactly the body: "
        "`environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))`.",
        PEP + "#input-and-error-streams",
    ),
    Rule(
        "wsgi.errors-not-str",
        "error",
        "The app wrote a value of type {type} ({value}) to wsgi.errors, which is a text "
        "stream: it takes str.",
        "Write text: environ['wsgi.errors'].write('message\\n'), or use print(..., "
        "file=environ['wsgi.errors']).",
        PEP + "#input-and-error-streams",
    ),
    Rule(
        "wsgi.input-read-unbounded",
        "warning",
        "The app read wsgi.input with {call}, without a size. Many servers give the raw "
        "socket, which has no end-of-file mark, so this may never return.",
        "Read CONTENT_LENGTH bytes: "
        "`environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))`.",
        PEP + "#input-and-error-streams",
    ),
]
