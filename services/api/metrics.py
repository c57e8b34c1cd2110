"""GET /metrics: this process's Prometheus metrics in the text format -- the ingest routes'
and, with an embedded warehouse, the sink thread's (services/metrics). Unauthenticated, like
/health: it carries counts and durations, no tenant's data."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import services.metrics.ingest  # noqa: F401  (defines the ingest metrics)
import services.metrics.sink  # noqa: F401  (defines the sink metrics, shown before a batch)

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
