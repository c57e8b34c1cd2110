"""GET /health and /health/ready: the API's backends, checked truthfully, and the workers' state.

- ``/health`` (liveness): 200 while this API and its backends (Kafka, ClickHouse) answer, 503
  when one is down. It also shows the worker component (services.readiness), which does not
  change its code: a restarting worker does not make the API unhealthy.
- ``/health/ready`` (readiness): 200 only when everything is ready -- the backends up and every
  worker holding its partitions with its deadline timer running; 503 while a worker is still
  starting (joining its group, recovering), stalled or missing. `kontakt up` waits on it.

Both return the same body: ``status`` ok|starting|degraded, ``components`` (api, worker), and
``kafka`` / ``clickhouse`` as before.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from fastapi import APIRouter, Request, Response

from services import readiness
from services.local.kafka import answers_metadata

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


def worker_component(settings: Any, now: float) -> dict[str, Any]:
    """The workers' reports in the data dir (shared with them by `kontakt up`, or by a volume
    in docker-compose.yml)."""
    beats = readiness.read_beats(readiness.status_dir(settings.data_dir))
    current = readiness.current(beats, now, socket.gethostname())
    return readiness.worker_health(current, now, settings.worker_processes)


async def _report(request: Request) -> tuple[bool, dict[str, Any]]:
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
    api_ok = kafka_ok and clickhouse_ok
    kafka, clickhouse = ("up" if kafka_ok else "down"), ("up" if clickhouse_ok else "down")
    worker = worker_component(settings, time.time())
    return api_ok, {
        "status": readiness.overall(api_ok, worker["status"]),
        "kafka": kafka,
        "clickhouse": clickhouse,
        "components": {
            "api": {"status": "ok" if api_ok else "degraded", "kafka": kafka,
                    "clickhouse": clickhouse},
            "worker": worker,
        },
    }


@router.get("/health")
async def health(request: Request, response: Response) -> dict[str, Any]:
    api_ok, body = await _report(request)
    response.status_code = 200 if api_ok else 503
    return body


@router.get("/health/ready")
async def ready(request: Request, response: Response) -> dict[str, Any]:
    _, body = await _report(request)
    response.status_code = 200 if body["status"] == "ok" else 503
    return body
