"""gateway_lab.interface.appkind: telling WSGI from ASGI apps, without false alarms."""

from __future__ import annotations

import functools

import pytest

from gateway_lab.errors import NotAnAppError, WrongInterfaceError
from gateway_lab.interface.appkind import ensure_asgi_app, ensure_wsgi_app, looks_async


def wsgi(environ, start_response):
    return []


async def asgi(scope, receive, send):
    pass


class WSGIClass:
    """PEP 3333 allows a class: calling it with (environ, start_response) is the app."""

    def __init__(self, environ, start_response):
        pass

    def __iter__(self):
        return iter([])


class ASGIInstance:
    async def __call__(self, scope, receive, send):
        pass


class ASGI2Class:
    def __init__(self, scope):
        pass

    async def __call__(self, receive, send):
        pass


class WSGIInstance:
    def __call__(self, environ, start_response):
        return []


def test_valid_apps_pass():
    for app in (wsgi, WSGIClass, WSGIInstance(), functools.partial(wsgi), print):
        ensure_wsgi_app(app)
    for app in (asgi, ASGIInstance(), ASGI2Class, functools.partial(asgi), print):
        ensure_asgi_app(app)


def test_sync_three_argument_callable_may_still_be_asgi():
    # Middleware often returns the wrapped app's coroutine from a plain def.
    def passthrough(scope, receive, send):
        return asgi(scope, receive, send)

    ensure_asgi_app(passthrough)


def test_looks_async():
    assert looks_async(asgi) and looks_async(ASGIInstance())
    assert not looks_async(wsgi) and not looks_async(ASGI2Class)


def test_flask_app_is_recognised_as_wsgi():
    flask = pytest.importorskip("flask")
    app = flask.Flask("demo")
    ensure_wsgi_app(app)
    with pytest.raises(WrongInterfaceError, match="WSGI"):
        ensure_asgi_app(app)


def test_coroutine_object_explains_the_parentheses():
    coroutine = asgi(None, None, None)
    try:
        with pytest.raises(NotAnAppError, match="without parentheses"):
            ensure_asgi_app(coroutine)
    finally:
        coroutine.close()


def test_wrong_argument_counts():
    with pytest.raises(WrongInterfaceError, match="cannot take two"):
        ensure_wsgi_app(lambda environ: [])
    with pytest.raises(WrongInterfaceError, match="cannot take three"):

        async def one(scope):
            pass

        ensure_asgi_app(one)


def test_werkzeug_request_application_is_a_wsgi_app():
    from werkzeug.wrappers import Request, Response

    @Request.application
    def app(request):
        return Response("hi")

    ensure_wsgi_app(app)
