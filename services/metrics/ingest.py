"""Metrics of the ingest API: requests and their durations per route (an ASGI middleware, so
every answer is counted, 4xx and 503 included), events produced, failed publishes, 503s."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram

REQUESTS = Counter("kontakt_ingest_requests_total", "Ingest HTTP requests answered.",
                   ["route", "status"])
DURATION = Histogram("kontakt_ingest_request_duration_seconds",
                     "Time to answer an ingest HTTP request (s).", ["route"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
PRODUCED = Counter("kontakt_ingest_events_produced_total",
                   "Events produced to Kafka and acknowledged.", ["topic"])
PUBLISH_FAILURES = Counter("kontakt_ingest_publish_failures_total",
                           "Publishes Kafka did not acknowledge (failed or uncertain).")
UNAVAILABLE = Counter("kontakt_ingest_unavailable_total",
                      "Ingest requests answered 503 (Kafka unavailable or slow).")

PREFIX = "/ingest"


class IngestMetricsMiddleware:
    """Counts and times every HTTP request under /ingest by its route template (an unknown
    path is counted as ``unmatched``, so a scan cannot create a series per URL)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(name, str(status[0])).inc()
            DURATION.labels(name).observe(time.perf_counter() - started)
            if status[0] == 503:
                UNAVAILABLE.inc()
