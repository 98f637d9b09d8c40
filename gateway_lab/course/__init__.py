"""The course's own exercises, one module per lesson, listed here by hand.

Theory of operation: each lesson module defines its exercises as data and
registers them (``register``) when imported. :func:`exercise` (``gl.exercise``)
lives here, so asking for an exercise has imported every lesson below, in
lesson order, and nothing is found by scanning folders. The exercise
framework never imports the course: the course depends on the framework,
not the other way round.

=================  ======  ====================================================
module             lesson  exercises
=================  ======  ====================================================
``cgi``            01      ``cgi-form``
``wsgi``           02      ``wsgi-hello-name``, ``wsgi-json-echo``
``wsgi_server``    03      the server's respond step
``middleware``     04      Basic auth, a cookie counter
``why_async``      05      predict the thread count
``asgi``           06      echo the body, stream a count, a lifespan counter
``realtime``       07      unblock an app, SSE until the client leaves, a
                           numbered WebSocket echo
``bridges``        08      an ASGI-to-WSGI bridge
``labs``           09      the ASGI guestbook
=================  ======  ====================================================
"""

from __future__ import annotations

from gateway_lab.course import (
    asgi,
    bridges,
    cgi,
    labs,
    middleware,
    realtime,
    why_async,
    wsgi,
    wsgi_server,
)
from gateway_lab.exercises.framework import ExerciseLike, registered

LESSONS = {
    "01-cgi": cgi,
    "02-wsgi": wsgi,
    "03-wsgi-server": wsgi_server,
    "04-wsgi-middleware": middleware,
    "05-why-async": why_async,
    "06-asgi": asgi,
    "07-asgi-realtime": realtime,
    "08-bridges-and-servers": bridges,
    "09-labs": labs,
}

__all__ = ["LESSONS", "exercise"]


def exercise(name: str) -> ExerciseLike:
    """The course exercise called ``name``: ``check = gl.exercise("wsgi-hello-name")``.

    >>> exercise("wsgi-hello-name")
    <Exercise 'wsgi-hello-name' (wsgi, 7 cases)>
    """
    return registered(name)
