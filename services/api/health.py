"""GET /health: whether Kafka and ClickHouse are reachable right now, checked truthfully."""

from __future__ import annotations

import asyncio
import socket

from fastapi import APIRouter, Request, Response

from services.localkafka import answers_metadata

router = APIRouter(tags=["health"])


def tcp_reachable(bootstrap: str, timeout_s: float = 1.0) -> bool:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
                return True
        except OSError:
            continue
    return False


@router.get("/health")
async def health(request: Request, response: Response) -> dict[str, object]:
    settings = request.app.state.settings
    loop = asyncio.get_running_loop()
    # A quick TCP probe first, so a dead broker is reported at once rather than after the
    # metadata request's timeout.
    kafka_ok = await loop.run_in_executor(
        None,
        lambda: tcp_reachable(settings.kafka_bootstrap)
        and answers_metadata(settings.kafka_bootstrap),
    )
    warehouse = getattr(request.app.state, "warehouse", None)
    if warehouse is None:
        clickhouse_ok = False
    else:
        clickhouse_ok = await loop.run_in_executor(None, warehouse.ping)
    ok = kafka_ok and clickhouse_ok
    response.status_code = 200 if ok else 503
    return {
        "status": "ok" if ok else "degraded",
        "kafka": "up" if kafka_ok else "down",
        "clickhouse": "up" if clickhouse_ok else "down",
    }
