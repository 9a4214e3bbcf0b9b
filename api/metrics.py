"""Counts and times each HTTP request for the metrics, labelled by its method, its route
template (`/v1/accounts/{volunteer_id}`, never the path it was called with, which would make a
series per volunteer) and its status. RequestContext calls it once a request is answered.

It runs on the event loop for every request: each set of labels is bound to its series once,
and a request only adds to that series's counts, in memory, with no lock (timebank.metrics:
RequestSeries); a thread adds them to the metrics."""

from typing import Any

from starlette.types import Scope

from timebank.metrics import Metrics, RequestSeries

UNMATCHED = "unmatched"  # the route of every request no route matched: one series, not a path
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
NONE: dict[Any, Any] = {}  # what a lookup falls back to: never written


class RequestMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self._counts = metrics.requests()
        # route template -> method -> status -> series: no key to build for each request
        self._series: dict[str, dict[str, dict[int | None, RequestSeries]]] = {}
        self._templates: dict[object, str] = {}

    def __call__(self, scope: Scope, status: int | None, seconds: float) -> None:
        route = scope.get("route")
        template = route.path if route is not None else self._template(scope)
        method = scope["method"]
        if method not in METHODS:
            method = OTHER  # any token is a method to some servers: keep the labels bounded
        series = self._series.get(template, NONE).get(method, NONE).get(status)
        if series is None:
            series = self._bind(method, template, status)
        series(seconds)

    def _bind(self, method: str, template: str, status: int | None) -> RequestSeries:
        # An application that returned no answer is answered 500 by the server.
        series = self._counts.series(method, template, str(status or 500))
        self._series.setdefault(template, {}).setdefault(method, {})[status] = series
        return series

    def _template(self, scope: Scope) -> str:
        """The template of a route FastAPI does not name in the scope (its own pages: /docs,
        /openapi.json), found by the endpoint that served it; else UNMATCHED."""
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        template = self._templates.get(endpoint)
        if template is None:
            paths = (
                getattr(r, "path", None)
                for r in scope["app"].routes
                if getattr(r, "endpoint", None) is endpoint
            )
            template = self._templates[endpoint] = next(paths, None) or UNMATCHED
        return template
