"""Builds the FastAPI app from settings. Each feature contributes a router module that exposes
``router`` (an APIRouter); they are listed in ROUTERS and included here, nothing else."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from services.api.lifespan import warehouse_lifespan
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
    "services.appeals.router",  # /v1/reports/appeals, /v1/appeals, remediation, categories
    "services.appeals.remediation_api",  # POST /v1/remediation
    "services.staffing.router",  # /v1/staffing/plan, /api/staffing/plan (the board's)
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        title="Kontakt",
        description="Customer-contact SLA platform for energy utilities.",
        version="0.1.0",
        lifespan=warehouse_lifespan,  # app.state.warehouse (+ the sink when chdb is embedded)
    )
    app.state.settings = settings
    app.add_middleware(IngestMetricsMiddleware)
    for module_path in ROUTERS:
        module = importlib.import_module(module_path)
        app.include_router(module.router)
    return app
