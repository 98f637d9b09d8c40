"""The engines a learner can pick, by name, loaded only when first used.

Theory of operation: importing werkzeug or uvicorn costs tens of
milliseconds, and ``import gateway_lab`` must stay fast, so the table below
holds import paths, not classes. ``runner_class`` imports the one asked for.
"""

from __future__ import annotations

import importlib

from gateway_lab.errors import UnknownEngineError
from gateway_lab.serving.engines.base import EngineRunner

__all__ = ["ASGI_ENGINES", "WSGI_ENGINES", "runner_class"]

WSGI_ENGINES = {
    "werkzeug": "gateway_lab.serving.engines.werkzeug:WerkzeugRunner",
    "wsgiref": "gateway_lab.serving.engines.wsgiref:WSGIRefRunner",
    "mini": "gateway_lab.mini.wsgi:MiniWSGIRunner",
}
ASGI_ENGINES = {
    "uvicorn": "gateway_lab.serving.engines.uvicorn:UvicornRunner",
    "mini": "gateway_lab.mini.asgi:MiniASGIRunner",
}


def runner_class(interface: str, engine: str) -> type[EngineRunner]:
    table = WSGI_ENGINES if interface == "wsgi" else ASGI_ENGINES
    if not isinstance(engine, str) or engine not in table:
        known = ", ".join(repr(name) for name in table)
        other = ASGI_ENGINES if interface == "wsgi" else WSGI_ENGINES
        hint = ""
        if isinstance(engine, str) and engine in other:
            right = "serve_asgi" if interface == "wsgi" else "serve_wsgi"
            kind = "ASGI" if interface == "wsgi" else "WSGI"
            hint = f" {engine!r} serves {kind} apps: use gl.{right}."
        raise UnknownEngineError(
            f"There is no {interface.upper()} engine called {engine!r}. "
            f"Choose one of {known}.{hint}"
        )
    module_name, _, class_name = table[engine].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
