"""The ASGI side of the checker: play the server, message by message, and judge.

Theory of operation: ``driver`` runs a battery of connections against an ASGI
app; ``base`` is one connection's ``receive`` / ``send`` pair that records
every call as an event; ``http``, ``websocket`` and ``lifespan`` know each
scope type's message order; ``messages`` judges one message's shape;
``rules`` is the catalogue of ASGI findings.
"""
