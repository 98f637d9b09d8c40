"""The ASGI side of the checker: play the server, message by message, and judge.

Theory of operation: ``driver`` runs a battery of connections against an ASGI
app; ``base`` is one connection's ``receive`` / ``send`` pair that records
every call as an event; ``http``, ``websocket`` and ``lifespan`` know each
scope type's message order; ``messages`` judges one message's shape;
``outcomes`` words how a call ended badly (an exception, for the scope and
its state; the scope types an app rejects, never an error when it serves
others); ``rules`` is the catalogue of ASGI findings, each quoting its spec
sentence; ``flow`` judges a recorded flow with the same rules.
"""
