"""The WSGI side of the checker: play the server for a WSGI app and judge it.

Theory of operation: ``driver`` is the server for one request at a time,
built on the package's one WSGI server side
(:class:`gateway_lab.protocol.wsgi.WSGIExchange`), with watched
``wsgi.input`` / ``wsgi.errors`` streams (``input``); ``headers`` names the
shared status and header judgements by rule id; ``rules`` is the catalogue
of WSGI findings (PEP 3333 sentence by sentence), whose protocol mistakes
take their words from :data:`gateway_lab.protocol.wsgi.SENTENCES`, and
``unchecked`` lists the PEP's requirements no outside check can see;
``flow`` judges a recorded flow with the same rules.
"""
