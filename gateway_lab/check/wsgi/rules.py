"""The WSGI rules (PEP 3333): what a WSGI application can get wrong.

Theory of operation: data only, one :class:`~gateway_lab.check.rule.Rule`
per mistake, in the order a request meets them: the return value,
``start_response`` and its status and headers, the response as a whole,
``write()`` and ``wsgi.input``. Messages say what the app did and why that
is wrong; hints say what to change. ``{name}`` fields are filled in by the
driver.

The mistakes a server also refuses are not worded here: their message, hint
and spec come from :data:`gateway_lab.protocol.wsgi.SENTENCES`, the one
wording every server side uses, so ``check_wsgi`` and a 500 from the mini
server say the same thing. Only their severity is the checker's own. The
rules below them are the checker's alone: judgements of the response as a
whole and of how the app reads its input, which no server refuses.
"""

from __future__ import annotations

from gateway_lab.check.rule import PEP, RFC9110, Rule
from gateway_lab.protocol.wsgi import SENTENCES

__all__ = ["WSGI_RULES"]

# The severity of each mistake a server side also names; the wording is SENTENCES'.
SHARED_SEVERITY = {
    # the return value
    "body-is-none": "error",
    "body-is-str": "error",
    "body-is-bytes": "error",
    "body-not-iterable": "error",
    "body-not-bytes": "error",
    # start_response, its status and headers
    "no-start-response": "error",
    "body-before-start-response": "error",
    "start-response-twice": "error",
    "start-response-args": "error",
    "exc-info-form": "error",
    "status-not-str": "error",
    "status-form": "error",
    "status-informational": "error",
    "status-not-latin1": "error",
    "status-no-reason": "warning",
    "headers-not-list": "error",
    "header-not-tuple": "error",
    "header-not-str": "error",
    "header-not-latin1": "error",
    "header-crlf": "error",
    "header-name-invalid": "error",
    "header-status": "error",
    "hop-by-hop-header": "error",
    # write()
    "write-not-bytes": "error",
    "write-before-start-response": "error",
    "write-after-close": "error",
}

_SHARED = [
    Rule(f"wsgi.{key}", severity, SENTENCES[key].message, SENTENCES[key].hint, SENTENCES[key].spec)
    for key, severity in SHARED_SEVERITY.items()
]

WSGI_RULES = _SHARED + [
    Rule(
        "wsgi.close-raised",
        "error",
        "The body's close() method raised {exc}. The server calls close() after "
        "every request, even failed ones, and it must not fail.",
        "Make close() safe to call at any time (guard what it releases).",
        PEP + "#specification-details",
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
    Rule(
        "wsgi.write-used",
        "info",
        "The app uses the write() callable. It works, but PEP 3333 keeps it only for old "
        "frameworks.",
        "Prefer returning (or yielding) the body.",
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
