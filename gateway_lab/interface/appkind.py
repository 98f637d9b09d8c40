"""Tell a WSGI app from an ASGI app before serving it, and say so kindly.

Theory of operation: a WSGI application is any callable that accepts two
positional arguments ``(environ, start_response)`` (PEP 3333); an ASGI 3
application is an awaitable callable of ``(scope, receive, send)``. Python
cannot prove either from the outside, so we look for *clear* signs of the
wrong interface and otherwise trust the learner:

* not callable at all: refuse, and guess why (a called function's result?);
* ``async def`` given to a WSGI server: refuse, it looks like ASGI;
* a plain function that takes exactly two arguments given to an ASGI server:
  refuse, it looks like WSGI;
* a callable whose signature cannot take the arguments the interface passes:
  refuse, naming the count it takes.

Anything we cannot inspect (a builtin, a C extension, an odd ``__call__``) is
given the benefit of the doubt, so frameworks' apps and ASGI 2 style classes
always pass.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from gateway_lab import specs
from gateway_lab.errors import NotAnAppError, WrongInterfaceError

__all__ = ["ensure_asgi_app", "ensure_wsgi_app", "looks_async"]


def _describe(obj: object) -> str:
    text = repr(obj)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"a {type(obj).__name__} ({text})"


def looks_async(app: object) -> bool:
    """True if calling ``app`` clearly gives a coroutine (``async def``)."""
    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(type(app), "__call__", None)  # noqa: B004 - we want the method
    return not inspect.isclass(app) and inspect.iscoroutinefunction(call)


def _accepts(app: Callable[..., object], count: int) -> bool | None:
    """Can ``app`` be called with ``count`` positional arguments? None: unknown."""
    try:
        # A decorator's wrapper is what gets called; don't follow __wrapped__
        # (werkzeug's @Request.application wraps a one-argument function).
        signature = inspect.signature(app, follow_wrapped=False)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


def _name(app: object) -> str:
    return getattr(app, "__name__", None) or type(app).__name__


def _not_callable(app: object, wanted: str, signature: str) -> NotAnAppError:
    hint = ""
    if isinstance(app, (list, tuple, bytes, str, dict)) or inspect.isgenerator(app):
        hint = (
            " It looks like the *result* of calling an app: pass the function "
            "itself, without parentheses (serve_…(app), not serve_…(app(...)))."
        )
    elif inspect.iscoroutine(app):
        hint = (
            " It is a coroutine object, the result of calling an async function:"
            " pass the function itself, without parentheses."
        )
    return NotAnAppError(
        f"{wanted} needs a callable {signature}, but got {_describe(app)}, "
        f"which cannot be called.{hint}"
    )


def ensure_wsgi_app(app: object, who: str = "serve_wsgi") -> None:
    """Raise a friendly error unless ``app`` could be a WSGI application."""
    if not callable(app):
        raise _not_callable(app, who, "app(environ, start_response)")
    name = _name(app)
    if looks_async(app):
        raise WrongInterfaceError(
            f"{name!r} is an `async def` function, so it looks like an ASGI app "
            f"(scope, receive, send), not a WSGI app. Serve it with "
            f"gl.serve_asgi({name}), or write it as a plain "
            f"`def {name}(environ, start_response):`. See {specs.PEP3333_APP_SIDE}"
        )
    accepts_two = _accepts(app, 2)
    if accepts_two is False:
        three = _accepts(app, 3)
        extra = (
            " It takes three, like an ASGI app (scope, receive, send): an ASGI "
            f"app must be `async def` and served with gl.serve_asgi({name})."
            if three
            else ""
        )
        raise WrongInterfaceError(
            f"A WSGI app is called with two arguments, (environ, start_response), "
            f"but {name!r} cannot take two.{extra} See {specs.PEP3333_APP_SIDE}"
        )


def ensure_asgi_app(app: object, who: str = "serve_asgi") -> None:
    """Raise a friendly error unless ``app`` could be an ASGI application."""
    if not callable(app):
        raise _not_callable(app, who, "`async def app(scope, receive, send)`")
    name = _name(app)
    if inspect.isclass(app):
        return  # ASGI 2 style "double callable" classes are still accepted
    is_async = looks_async(app)
    accepts_three = _accepts(app, 3)
    accepts_two = _accepts(app, 2)
    if not is_async and accepts_two and accepts_three is False:
        raise WrongInterfaceError(
            f"{name!r} takes two arguments, like a WSGI app (environ, "
            f"start_response), not an ASGI app (scope, receive, send). Serve it "
            f"with gl.serve_wsgi({name}), or rewrite it as "
            f"`async def {name}(scope, receive, send):`. See {specs.ASGI_APPLICATIONS}"
        )
    if accepts_three is False:
        raise WrongInterfaceError(
            f"An ASGI app is called with three arguments, (scope, receive, send), "
            f"but {name!r} cannot take three. See {specs.ASGI_APPLICATIONS}"
        )
