"""The requirements of PEP 3333 on applications that no check from outside the app can see.

Theory of operation: data only, the other half of the rule table of
:mod:`.rules`. Each :class:`~gateway_lab.check.ruletypes.Unchecked` quotes the
PEP's sentence, links its section and says why the checker cannot judge it
from the conversation (or which rule covers it after all), so
``docs/rules.md`` lists every MUST and SHOULD of PEP 3333 that concerns
applications, checked or not.
"""

from __future__ import annotations

from gateway_lab import specs
from gateway_lab.check.ruletypes import Unchecked

__all__ = ["WSGI_UNCHECKED"]

WSGI_UNCHECKED = [
    Unchecked(
        "Application objects must be able to be invoked more than once, as virtually all "
        "servers/gateways (other than CGI) will make such repeated requests.",
        specs.PEP3333_APP_SIDE,
        "Covered by app.raised: the checker calls the app once per request, so an app "
        "that fails on a later call fails on that request.",
    ),
    Unchecked(
        "Conversely, a server, gateway, or application that is invoking a callable must "
        "not have any dependency on what kind of callable was provided to it.",
        specs.PEP3333 + "#specification-overview",
        "Concerns middleware calling an inner app; the checker only sees the outer "
        "callable, and introspection leaves no trace in the conversation.",
    ),
    Unchecked(
        "(In other words, applications should perform their own buffering.",
        specs.PEP3333_DETAILS,
        "Every chunk size is legal; whether many small chunks were a choice (streaming) "
        "or an accident cannot be seen from outside.",
    ),
    Unchecked(
        "Applications returning a generator or other custom iterator should not assume "
        "the entire iterator will be consumed, as it may be closed early by the server.",
        specs.PEP3333_DETAILS,
        "What an app fails to release when closed early (a file, a lock) is inside the "
        "app; the conversation looks the same either way.",
    ),
    Unchecked(
        "Applications conforming to this specification must not use any other methods or "
        "attributes of the input or errors objects.",
        specs.PEP3333_STREAMS,
        "A method the server lacks fails with AttributeError (app.raised). The checker's "
        "streams also offer readinto() and readable(), which werkzeug uses, so using them "
        "is not flagged; closing a stream is (wsgi.stream-closed).",
    ),
    Unchecked(
        "They must call flush() if they need to ensure that output has in fact been written.",
        specs.PEP3333_STREAMS,
        "Whether the app needed its log output written at a given moment is its intent, "
        "which the conversation does not show.",
    ),
    Unchecked(
        "(Note: applications and middleware must not apply any kind of Transfer-Encoding "
        'to their output, such as chunking or gzipping; as "hop-by-hop" operations, these '
        "encodings are the province of the actual web server/gateway.",
        specs.PEP3333 + "#handling-the-content-length-header",
        "Covered by wsgi.hop-by-hop-header when the app says so in a header; a body "
        "chunked by hand without the header cannot be told apart from content.",
    ),
    Unchecked(
        "Similarly, a server may re-encode or transport-encode an application's response, "
        "but the application should use a suitable content encoding on its own, and must "
        "not apply a transport encoding.",
        specs.PEP3333 + "#other-http-features",
        "As above: a transport encoding shows only through its header (hop-by-hop-header).",
    ),
    Unchecked(
        "However, it is not required to do this, and the application should perform its "
        "own cache validation if it wants to support that feature, since the "
        "server/gateway is not required to do such validation.",
        specs.PEP3333 + "#other-http-features",
        "A feature an app may choose not to offer; not offering it is not a mistake.",
    ),
    Unchecked(
        "In order to better support asynchronous applications and servers, middleware "
        "components must not block iteration waiting for multiple values from an "
        "application iterable.",
        specs.PEP3333 + "#middleware-handling-of-block-boundaries",
        "Needs an inner app to count what it yields; the checker only sees the outer "
        "callable. Lesson 04's middleware exercises check it with an inner app of their own.",
    ),
    Unchecked(
        "Applications should try to keep such required variables to a minimum, since not "
        "all servers will support easy configuration of them.",
        specs.PEP3333 + "#application-configuration",
        "How many configuration variables an app needs is a design choice, not visible "
        "in a request.",
    ),
    Unchecked(
        "In general, applications should try to trap their own, internal errors, and "
        "display a helpful message in the browser.",
        specs.PEP3333_ERROR_HANDLING,
        "Covered by app.raised, an error, not a warning: an exception that leaves the "
        "app means the client gets the server's 500 or a cut connection.",
    ),
    Unchecked(
        "Always provide exc_info when beginning an error response",
        specs.PEP3333_ERROR_HANDLING,
        "Which response is an error response is the app's intent: a 500 sent without "
        "exc_info before any body looks the same as a planned one.",
    ),
]
