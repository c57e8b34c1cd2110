"""The API process's lifespan: open the one Warehouse (app.state.warehouse) at start-up and,
with an embedded chdb warehouse, run the sink beside the query routers in a background thread
-- chdb locks its directory to one process, so the process that serves queries must also be
the one that writes. With a clickhouse:// server the sink runs as its own `kontakt sink`.

It also writes the local operator token (services/api/local_token.py) by which `kontakt sql`,
`kontakt appeals link` and `kontakt backfill` reach this process's warehouse while it runs.

A test may put its own warehouse on app.state before start-up; it is then used and not closed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

log = logging.getLogger(__name__)


@asynccontextmanager
async def warehouse_lifespan(app: FastAPI) -> AsyncIterator[None]:
    from services.api.local_token import remove_token, write_token
    from services.sink.service import SinkThread, is_embedded, sink_config
    from services.warehouse import open_warehouse

    settings = app.state.settings
    app.state.local_token = write_token(settings.data_dir)
    owned = getattr(app.state, "warehouse", None) is None
    if owned:
        app.state.warehouse = open_warehouse(settings)
    sink: SinkThread | None = None
    if owned and settings.sink_in_api and is_embedded(settings):
        sink = SinkThread(app.state.warehouse, sink_config(settings)).start()
        log.info("sink: running inside the API process (embedded chdb warehouse)")
    app.state.sink = sink
    try:
        yield
    finally:
        remove_token(settings.data_dir, app.state.local_token)
        if sink is not None:
            sink.stop()
        if owned:
            app.state.warehouse.close()
            app.state.warehouse = None
