"""The WSGI side of the checker: play the server for a WSGI app and judge it.

Theory of operation: ``driver`` is the server for one request at a time,
with watched ``wsgi.input`` / ``wsgi.errors`` streams (``input``), the
status and header judgements (``headers``) and the catalogue of WSGI
findings (``rules``).
"""
