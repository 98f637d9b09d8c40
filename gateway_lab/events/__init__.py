"""A request's life as a list of events: the spine the whole package shares.

Theory of operation: producers (the in-process calls, the recorders, the CGI
gateway, the checker) describe what happened as :class:`~.flow.Event`
records in a :class:`~.flow.Flow`; views only draw flows and checks only read
them (``gl.check_flow``). ``flow`` is the data type and holds the caps,
``kinds`` the vocabulary (each kind's lanes, payload keys and meaning),
``payloads`` the one shape of each kind's payload, and ``record`` the
middleware that records a WSGI or ASGI exchange without changing it.
"""
