"""Views: draw environs, scopes and message flows, as widgets and as plain HTML.

Theory of operation: every picture is made twice over from the same data.
The ``*_html`` functions (``inspector``, ``flow``) return HTML strings and
need nothing but the standard library; the ``show_*`` functions wrap those
pictures in ipywidgets 8 (imported only when first called, so ``import
gateway_lab`` stays fast) and add live updates, paging and forms. A widget
also carries its picture as ``text/html``, so an exported notebook shows it.

>>> import gateway_lab as gl
>>> app, flow = gl.record_wsgi(lambda environ, start_response: (
...     start_response("200 OK", []), [b"hi"])[1])
>>> _ = gl.call_wsgi(app, path="/café")
>>> "PATH_INFO" in gl.environ_html(flow)
True
"""

from __future__ import annotations

from typing import Any

from gateway_lab.events.flow import Flow
from gateway_lab.views.flow import flow_html
from gateway_lab.views.inspector import diff_html, path_story_html, request_html

__all__ = [
    "diff_environ",
    "environ_html",
    "flow_html",
    "path_story",
    "request_lab",
    "show_environ",
    "show_flow",
]


def environ_html(item: Any, connection: int | None = None) -> str:
    """HTML of an environ, a scope, or the first one recorded in a flow."""
    return request_html(item, connection)


def show_environ(item: Any, connection: int | None = None) -> Any:
    """Inspect a WSGI environ, ASGI scope or CGI environment, grouped and explained.

    ``item`` may be the mapping itself, a recorded :class:`Flow` (its first
    request, or the one on ``connection``) or an :class:`Event`.
    """
    from gateway_lab.views.widgets import environ_view

    return environ_view(item, connection)


def diff_environ(a: Any, b: Any, labels: tuple[str, str] = ("request A", "request B")) -> Any:
    """Two environs (or scopes, or flows) side by side: the differences first."""
    from gateway_lab.views.widgets import diff_view

    return diff_view(a, b, labels)


def path_story(path: str = "/café") -> Any:
    """How a non-ASCII path looks on the wire, in a WSGI environ and in an ASGI scope."""
    from gateway_lab.views.widgets import path_story_view

    return path_story_view(path)


def show_flow(
    flow: Flow, connection: int | None = None, *, page_size: int = 100, live: bool = True
) -> Any:
    """Draw a recorded flow as a sequence diagram that follows new events live."""
    if not isinstance(flow, Flow):
        raise TypeError(
            f"show_flow takes a Flow (the second thing record_wsgi / record_asgi "
            f"return, or result.flow from run_cgi), not a {type(flow).__name__}."
        )
    from gateway_lab.views.widgets import FlowView

    return FlowView(flow, connection, page_size=page_size, live=live)


def request_lab(target: Any, method: str = "GET", path: str = "/") -> Any:
    """A form that sends requests to an app (in-process) or a URL / server and
    shows the response, the environ or scope, and the flow together."""
    from gateway_lab.views.widgets import RequestLab

    return RequestLab(target, method, path)


# for completeness: the pure-HTML pictures under their own names
diff_environ_html = diff_html
path_story_html = path_story_html
