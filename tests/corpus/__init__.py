"""A corpus of small apps for the checkers: wrong ones (one mistake each) and valid ones.

Each app carries, through :func:`expect`, the rule the checker must report
(``None`` for a valid app, which must get no error finding), the severity,
and whether ``wsgiref.validate.validator`` is able to notice the same
mistake (for the side-by-side test).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["expect", "collect"]


def expect(
    rule: str | None, severity: str = "error", *, wsgiref: bool = True, timeout: float = 2.0
) -> Callable[[Any], Any]:
    """Mark an app with what the checker must say about it."""

    def mark(app: Any) -> Any:
        app.expected_rule = rule
        app.expected_severity = severity
        app.wsgiref_notices = wsgiref
        app.check_timeout = timeout
        return app

    return mark


def near(*rules: str) -> Any:
    """Mark a valid app as the near miss of ``rules``: it must get none of them."""

    def mark(app: Any) -> Any:
        app.near_miss_of = rules
        return expect(None)(app)

    return mark


def collect(namespace: dict[str, Any]) -> list[Any]:
    """The marked apps of a module, in the order they were written."""
    apps: list[Any] = []
    for value in namespace.values():
        if hasattr(value, "expected_rule") and all(value is not a for a in apps):
            apps.append(value)
    return apps
