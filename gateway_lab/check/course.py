"""The course's exercises, defined once and checked with ``gl.exercise(name)``.

Theory of operation: each exercise is a few lines of data (see
:mod:`.exercises`). Reference solutions live in the course's
``notebooks/solutions/`` folder, one plain ``.py`` file per exercise, named
after the exercise, so a learner can ``%load`` them.

* ``wsgi-hello-name``: a WSGI app that greets the name in the query string
  (``/?name=Ada`` -> "Hello, Ada!"), "World" when there is none, sent as
  ``text/plain``.
* ``asgi-echo-body``: an ASGI app that answers a POST with its own body,
  even when the body arrives in several ``http.request`` messages.
"""

from __future__ import annotations

from .exercises import Case, Exercise, register

__all__ = ["ASGI_ECHO_BODY", "WSGI_HELLO_NAME"]

WSGI_HELLO_NAME = register(
    Exercise(
        "wsgi-hello-name",
        kind="wsgi",
        title="Hello, name (WSGI)",
        cases=[
            Case(
                "GET /?name=Ada",
                contains="Hello, Ada",
                says="the name from the query string",
                headers_expected={"Content-Type": "text/plain"},
            ),
            Case(
                "GET /?name=Grace%20Hopper",
                contains="Hello, Grace Hopper",
                says="a percent-encoded name",
            ),
            Case("GET /", contains="Hello, World", says="no name: greet the World"),
        ],
    )
)

ASGI_ECHO_BODY = register(
    Exercise(
        "asgi-echo-body",
        kind="asgi",
        title="Echo the body (ASGI)",
        cases=[
            Case(
                "POST /",
                body=(b"first part, ", b"second part, ", b"last part"),
                equals=b"first part, second part, last part",
                says="a body in three messages",
            ),
            Case("POST /", body=b"just one", equals=b"just one", says="a body in one message"),
            Case("POST /", equals=b"", says="an empty body"),
        ],
    )
)
