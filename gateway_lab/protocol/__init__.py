"""The server side of WSGI and ASGI, written once, and calls with no socket.

Theory of operation: every place in the package that plays the server for an
app (the in-process calls, the mini servers, the guard every served app sits
behind, and the checker) follows one statement of each protocol here, so the
same mistake gets the same sentence wherever it surfaces. ``calls`` is that
server side with no transport at all: ``gl.call_wsgi`` and ``gl.call_asgi``.
"""
