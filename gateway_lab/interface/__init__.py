"""The interface itself: one request in three dialects, the response, the kind of app.

Theory of operation: CGI, WSGI and ASGI describe the same HTTP request in
three shapes (meta-variables, an ``environ`` dict, an ASGI ``scope``).
``environ`` builds all three from one method, path, headers and body, so a
lesson can put them side by side; ``response`` is the one answer type every
in-process call and check returns; ``appkind`` tells a WSGI callable from an
ASGI one (and a mistake from either) before anything runs.
"""
