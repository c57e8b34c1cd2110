"""Builds the FastAPI app from settings. Each feature contributes a router module that exposes
``router`` (an APIRouter); they are listed in ROUTERS and included here, nothing else."""

from __future__ import annotations

import importlib
import re

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI

from services.api.lifespan import warehouse_lifespan
from services.logs import RequestIdsMiddleware
from services.metrics.ingest import IngestMetricsMiddleware
from services.settings import Settings, load_settings

# Feature routers, by module path; each module exposes `router`.
ROUTERS: tuple[str, ...] = (
    "services.api.health",
    "services.api.metrics",  # GET /metrics (Prometheus: ingest, the embedded sink)
    "services.ingest.api",
    "services.alerts.router",  # /api/board/*, /api/alerts/*, /api/staffing
    "services.board.router",  # /board page and its login
    "services.analytics.router",  # /v1/reports/*, /v1/contacts/*/timeline, /v1/metrics/live
    "services.analytics.whatif_api",  # POST /v1/sla/whatif
    "services.analytics.sql_api",  # POST /v1/sql (analysts' ad-hoc SQL)
    "services.api.jobs",  # POST /v1/jobs/appeals-link, /v1/jobs/backfill (admin)
    "services.appeals.router",  # /v1/reports/appeals, /v1/appeals, remediation, categories
    "services.appeals.remediation_api",  # POST /v1/remediation
    "services.staffing.router",  # /v1/staffing/plan, /api/staffing/plan (the board's)
    "services.policies.router",  # /v1/admin/policies/* (tenants' SLA policy versions, admin)
)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def valid_request_id(value: str) -> bool:
    """An incoming X-Request-ID is kept when it is 1-128 characters of [A-Za-z0-9._:-]
    (anything else -- spaces, quotes, a megabyte -- is replaced, never logged)."""
    return _REQUEST_ID.fullmatch(value) is not None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        title="Kontakt",
        description="Customer-contact SLA platform for energy utilities.",
        version="0.1.0",
        lifespan=warehouse_lifespan,  # app.state.warehouse (+ the sink when chdb is embedded)
    )
    app.state.settings = settings
    # Each request's id: the caller's X-Request-ID when it is a plausible id, else a new uuid;
    # sent back in X-Request-ID and on every log line of the request (services/logs.py).
    app.add_middleware(RequestIdsMiddleware)  # the key's tenant, once authenticated
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID",
                       validator=valid_request_id)
    app.add_middleware(IngestMetricsMiddleware)
    for module_path in ROUTERS:
        module = importlib.import_module(module_path)
        app.include_router(module.router)
    return app
