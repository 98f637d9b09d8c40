"""Serving from the kernel: engines in daemon threads, a guard, a log, loopback sockets.

Theory of operation: ``registry`` is the public face (``gl.serve_wsgi``,
``gl.serve_asgi``, ``gl.serve_cgi``, ``gl.servers``, ``gl.stop_all``): it
binds a socket on 127.0.0.1 itself (``loopback``), wraps the app in a guard
that keeps a broken app from breaking the server, picks an engine from
``engines`` and runs it in a daemon thread. ``log`` holds what each server
saw, so nothing is printed into the learner's cells; ``wsclient`` is a small
WebSocket client for cells that talk to a served app.
"""
