"""The two in-process calls, ``call_wsgi`` and ``call_asgi``, in one import.

Theory of operation: a gateway interface is just a calling convention, so
the quickest way to see it is to play the server's part with no socket and
no thread. ``wsgi_call`` does that for a WSGI app and ``asgi_call`` for an
ASGI one; this module only puts their public names side by side.
"""

from __future__ import annotations

from gateway_lab.errors import ProtocolError
from gateway_lab.protocol.asgi_call import PendingCall, acall_asgi, call_asgi
from gateway_lab.protocol.wsgi_call import call_wsgi

__all__ = ["PendingCall", "ProtocolError", "acall_asgi", "call_asgi", "call_wsgi"]
