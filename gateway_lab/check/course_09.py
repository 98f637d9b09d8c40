"""The exercise of notebook 09 (labs), checked with ``gl.exercise("asgi-guestbook")``.

Theory of operation: the capstone writes one small app three ways (CGI, WSGI,
ASGI); the learner writes the ASGI one. The exercise is data (see
:mod:`.exercises`): a sequence of requests against the *same* app, in order,
so that a message posted by one case shows in the next, and what each
response must contain. The app keeps its messages in a list of its own; the
checks only ask that the posted messages *appear*, so running the check
twice (more messages in the list) still passes.

* ``asgi-guestbook``: ``GET /`` answers the page (``guestbook_page``), a
  ``POST /`` whose form body has a ``message`` adds it (HTML-escaped, body
  possibly in several ``http.request`` messages) and answers the page, an
  empty message is a 400, any other method a 405 with ``Allow: GET, POST``.

The reference solution is ``notebooks/solutions/asgi_guestbook.py``.
"""

from __future__ import annotations

from .exercises import Case, Exercise, register

__all__ = ["ASGI_GUESTBOOK"]

ASGI_GUESTBOOK = register(
    Exercise(
        "asgi-guestbook",
        kind="asgi",
        title="The guestbook (ASGI)",
        cases=[
            Case(
                "GET /",
                contains="<h1>Guestbook</h1>",
                headers_expected={"Content-Type": "text/html"},
                says="the page",
            ),
            Case(
                "POST /",
                body=(b"message=Hello", b"+from+the+checker"),
                headers=(("Content-Type", "application/x-www-form-urlencoded"),),
                contains="<li>Hello from the checker</li>",
                says="a message whose body comes in two http.request messages",
            ),
            Case(
                "POST /",
                body=b"message=%3Cb%3Ebold%3C%2Fb%3E",
                headers=(("Content-Type", "application/x-www-form-urlencoded"),),
                contains="<li>&lt;b&gt;bold&lt;/b&gt;</li>",
                says="HTML in a message is escaped",
            ),
            Case(
                "GET /",
                contains=("<li>Hello from the checker</li>", "<li>&lt;b&gt;bold&lt;/b&gt;</li>"),
                says="the messages stay",
            ),
            Case(
                "POST /",
                body=b"message=",
                headers=(("Content-Type", "application/x-www-form-urlencoded"),),
                status=400,
                says="an empty message is refused",
            ),
            Case(
                "DELETE /",
                status=405,
                headers_expected={"Allow": "GET"},
                says="other methods are not allowed",
            ),
        ],
    )
)
