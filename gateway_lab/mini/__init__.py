"""Small teaching servers: the server side of WSGI and ASGI, each readable in one sitting.

Theory of operation: both servers leave HTTP/1.1 itself (framing, chunked
bodies, keep-alive, ``100 Continue``) to h11 and keep only the gateway
interface in view. ``wsgi`` runs one thread per connection and calls a WSGI
app (PEP 3333); ``asgi`` runs one asyncio protocol per connection and one
task per request or websocket, and talks to an ASGI app in messages. Both
put the same limits on clients (``_limits``).
Serve with ``gl.serve_wsgi(app, engine="mini")`` or
``gl.serve_asgi(app, engine="mini")``.
"""
