"""The ipywidgets 8 faces of the views: inspector, live flow diagram, request lab.

Theory of operation: each widget is a ``VBox`` whose pictures are ``HTML``
widgets filled from the pure functions in ``inspector`` and ``flow``. Each
also carries its picture as ``text/html`` in its mime bundle (ipywidgets
itself only sends ``text/plain`` and the widget-view type), so where no
widget manager runs (GitHub, nbviewer, an exported page) the same picture
shows instead of "Loading widget...".

Live flows: :class:`FlowView` subscribes to its :class:`Flow`. The listener
runs on whatever thread recorded the event, so it only marks the view dirty
and, if no redraw is pending, starts one timer; the redraw happens at most
once per ``interval`` (100 ms), whatever the event rate. A fast stream thus
costs a few widget messages per second, never one per event. Redraws show
one page (``page_size`` events), so a 10,000-event flow stays light.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from gateway_lab.events.flow import Event, Flow
from gateway_lab.platform import IN_BROWSER
from gateway_lab.views.flow import flow_html, page_html, select_events
from gateway_lab.views.html import box, esc
from gateway_lab.views.inspector import diff_html, path_story_html, request_html
from gateway_lab.views.lab import LabResult, parse_headers, send_request

__all__ = ["Batcher", "FlowView", "HTMLView", "RequestLab"]

PAGE_SIZE = 100
ALL = -1  # the connection picker's "all connections" (Dropdown cannot show None)
INTERVAL = 0.1


class _HTMLFallback:
    """Adds ``text/html`` to a widget's mime bundle: the picture without a frontend."""

    def to_html(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if data is None:
            return None
        data["text/html"] = self.to_html()
        return data


class HTMLView(_HTMLFallback, widgets.VBox):
    """A fixed picture (inspector, diff, path story) as a widget with an HTML fallback."""

    def __init__(self, html: str, description: str) -> None:
        self.picture = widgets.HTML(value=html)
        self.description = description
        super().__init__(children=[self.picture])

    def to_html(self) -> str:
        return str(self.picture.value)

    def __repr__(self) -> str:
        return f"<{self.description}>"


class Batcher:
    """Call ``action`` at most once per ``interval`` seconds after any ``poke``."""

    def __init__(self, action: Callable[[], None], interval: float = INTERVAL) -> None:
        self.action = action
        self.interval = interval
        self.runs = 0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def poke(self) -> None:
        if IN_BROWSER:  # no timer thread there: redraw at once
            self.runs += 1
            self.action()
            return
        with self._lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self.interval, self._run)
            self._timer.daemon = True
            self._timer.start()

    def _run(self) -> None:
        with self._lock:
            self._timer = None
        self.runs += 1
        self.action()

    def flush(self) -> None:
        """Run now if a run is pending (tests, and when a view is closed)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self.runs += 1
            self.action()

    def cancel(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


class FlowView(_HTMLFallback, widgets.VBox):
    """A flow as a sequence diagram, one page at a time, following new events live."""

    def __init__(
        self,
        flow: Flow,
        connection: int | None = None,
        *,
        page_size: int = PAGE_SIZE,
        live: bool = True,
        interval: float = INTERVAL,
    ) -> None:
        self.flow = flow
        self.page_size = page_size
        self.start = 0
        self.connection = widgets.Dropdown(description="connection", layout={"width": "360px"})
        self.connection.options = [("all connections", ALL)]
        self.first = widgets.Button(
            icon="fast-backward", tooltip="first page", layout={"width": "40px"}
        )
        self.previous = widgets.Button(
            icon="step-backward", tooltip="previous page", layout={"width": "40px"}
        )
        self.next = widgets.Button(
            icon="step-forward", tooltip="next page", layout={"width": "40px"}
        )
        self.last = widgets.Button(
            icon="fast-forward", tooltip="last page", layout={"width": "40px"}
        )
        self.position = widgets.Label()
        self.follow = widgets.Checkbox(value=live, description="follow new events", indent=False)
        self.diagram = widgets.HTML(layout={"max_height": "640px", "overflow": "auto"})
        self.first.on_click(lambda _: self.go(0))
        self.previous.on_click(lambda _: self.go(self.start - self.page_size))
        self.next.on_click(lambda _: self.go(self.start + self.page_size))
        self.last.on_click(lambda _: self.go(self._last_start()))
        self._refresh_options()
        self.connection.value = ALL if connection is None else connection
        self.connection.observe(lambda _: self.go(0), names="value")
        self.follow.observe(self._follow_changed, names="value")
        controls = widgets.HBox(
            [
                self.connection,
                self.first,
                self.previous,
                self.next,
                self.last,
                self.position,
                self.follow,
            ],
            layout={"flex_flow": "row wrap"},  # a narrow output wraps, never clips
        )
        super().__init__(children=[controls, self.diagram])
        self.batcher = Batcher(self.refresh, interval)
        self._live = live
        if live:
            flow.subscribe(self._on_event)
        if self.follow.value:
            self.start = self._last_start()
        self.refresh()

    # ---------------------------------------------------------------- state
    @property
    def selected(self) -> int | None:
        """The connection shown, or None for all of them."""
        value = self.connection.value
        return None if value == ALL else value

    def _events(self) -> list[Event]:
        return select_events(self.flow, self.selected)

    def _last_start(self) -> int:
        count = len(self._events())
        return max(0, (count - 1) // self.page_size * self.page_size) if count else 0

    def _refresh_options(self) -> None:
        options: list[tuple[str, int]] = [("all connections", ALL)]
        for number in self.flow.connections():
            first = next((e for e in self.flow.events if e.connection == number), None)
            label = first.payload.get("summary", first.kind) if first else ""
            options.append((f"#{number} {label}"[:60], number))
        if [o[1] for o in options] != [o[1] for o in self.connection.options]:
            value = self.connection.value
            self.connection.options = options
            self.connection.value = value if value in [o[1] for o in options] else ALL

    def go(self, start: int) -> None:
        """Show the page starting at event ``start`` (clamped to the flow)."""
        self.start = min(max(0, start), self._last_start())
        if start < self._last_start():
            self.follow.value = False
        self.refresh()

    def _follow_changed(self, change: dict[str, Any]) -> None:
        if change["new"]:  # following again: jump to the newest events
            self.refresh()

    def refresh(self) -> None:
        self._refresh_options()
        if self.follow.value:
            self.start = self._last_start()
        total = len(self._events())
        end = min(self.start + self.page_size, total)
        self.position.value = f"events {self.start + 1 if total else 0:,}-{end:,} of {total:,}"
        self.first.disabled = self.previous.disabled = self.start == 0
        self.next.disabled = self.last.disabled = end >= total
        self.connection.layout.display = None if len(self.flow.connections()) > 1 else "none"
        self.diagram.value = page_html(self.flow, self.selected, self.start, self.page_size)

    def _on_event(self, event: Event) -> None:
        self.batcher.poke()

    def close(self) -> None:
        self.flow.unsubscribe(self._on_event)
        self.batcher.cancel()
        super().close()

    def to_html(self) -> str:
        return flow_html(self.flow, self.selected)

    def __repr__(self) -> str:
        return f"<FlowView {self.flow.title!r}: {len(self.flow)} events>"


class RequestLab(_HTMLFallback, widgets.VBox):
    """A small form that sends a request to an app or URL and shows what happened."""

    METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

    def __init__(self, target: Any, method: str = "GET", path: str = "/") -> None:
        self.target = target
        self.method = widgets.Dropdown(options=self.METHODS, value=method, description="method")
        self.path = widgets.Text(value=path, description="path")
        self.query = widgets.Text(description="query", placeholder="a=1&b=2")
        self.headers = widgets.Textarea(
            description="headers", placeholder="Accept: text/plain", layout={"height": "60px"}
        )
        self.body = widgets.Textarea(description="body", layout={"height": "60px"})
        self.send_button = widgets.Button(
            description="Send", button_style="primary", icon="paper-plane"
        )
        self.send_button.on_click(lambda _: self.send())
        self.status = widgets.HTML()
        self.response_view = widgets.HTML()
        self.request_view = widgets.HTML()
        self.flow_view = widgets.HTML()
        self.tabs = widgets.Tab(
            children=[self.response_view, self.request_view, self.flow_view],
            titles=("response", "environ / scope", "flow"),
        )
        self.last: LabResult | None = None
        form = widgets.VBox(
            [
                widgets.HBox([self.method, self.path, self.query]),
                widgets.HBox([self.headers, self.body]),
                widgets.HBox([self.send_button, self.status]),
            ]
        )
        super().__init__(children=[form, self.tabs])
        self.status.value = esc(f"target: {_describe_target(target)}")

    def send(self) -> LabResult:
        """Send the request in the form (the Send button calls this)."""
        try:
            headers = parse_headers(self.headers.value)
        except ValueError as exc:
            self.status.value = f'<span style="color:#c33">{esc(exc)}</span>'
            raise
        result = send_request(
            self.target,
            self.method.value,
            self.path.value,
            self.query.value,
            headers,
            self.body.value.encode("utf-8"),
        )
        self.last = result
        if result.response is not None:
            self.response_view.value = box(result.response._repr_html_(), "response")
            self.status.value = esc(f"{result.response.status_line}")
        else:
            self.response_view.value = box(f"<pre>{esc(result.error)}</pre>", "no response")
            self.status.value = f'<span style="color:#c33">{esc(result.error)}</span>'
        self.request_view.value = (
            request_html(result.flow)
            if result.request_kind
            else box(
                "<i>The app ran behind a server that does not record; serve "
                "record_wsgi(app)[0] or record_asgi(app)[0] to see its environ or "
                "scope.</i>"
            )
        )
        self.flow_view.value = flow_html(result.flow)
        return result

    def to_html(self) -> str:
        form = box(
            esc(
                f"request lab for {_describe_target(self.target)}: "
                f"{self.method.value} {self.path.value}"
            ),
            "request lab",
        )
        if self.last is None:
            return form + box("<i>No request sent yet.</i>")
        shown = (self.response_view.value, self.request_view.value, self.flow_view.value)
        return form + "".join(str(part) for part in shown)

    def __repr__(self) -> str:
        return f"<RequestLab for {_describe_target(self.target)}>"


def _describe_target(target: Any) -> str:
    if isinstance(target, str):
        return target
    if hasattr(target, "url"):
        return f"server {getattr(target, 'name', '')} at {target.url}"
    return f"app {getattr(target, '__name__', type(target).__name__)}"


def environ_view(item: Any, connection: int | None = None) -> HTMLView:
    return HTMLView(request_html(item, connection), "environ / scope inspector")


def diff_view(a: Any, b: Any, labels: tuple[str, str]) -> HTMLView:
    return HTMLView(diff_html(a, b, labels), "environ diff")


def path_story_view(path: str) -> HTMLView:
    return HTMLView(path_story_html(path), f"path story for {path!r}")
