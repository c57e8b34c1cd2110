"""Helpers for the ingest tests on the real broker: settings on a given topic, an API key, the
API served by uvicorn in a thread (real HTTP, real concurrency), and event generators whose
personal data the tests can look for on the topic afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from schemas.events import format_timestamp
from services.api.app import create_app
from services.auth import KeyStore, Scope, TenantType
from services.settings import Settings, load_settings
from tests.fixtures.served import serve_app

TENANT = "mrsk-center"
BASE_MS = 1_795_740_000_000  # 2026-11-27T00:40:00Z, in the past for the skew check


def ingest_settings(data_dir: Path, bootstrap: str, topic: str, **overrides: Any) -> Settings:
    """Settings whose events topic is exactly ``topic`` (no prefix)."""
    return load_settings(
        data_dir=data_dir,
        kafka_bootstrap=bootstrap,
        topic_prefix="",
        events_topic=topic,
        pseudonym_key="test-pseudonym-key-0123456789",
        **overrides,
    )


def create_key(
    settings: Settings, tenant: str = TENANT, scopes: tuple[Scope, ...] = (Scope.INGEST,)
) -> str:
    store = KeyStore(settings.data_dir / "keys.json")
    known = tenant in store.tenants()
    _, key = store.create(tenant, scopes, tenant_type=None if known else TenantType.GRID, now_ms=1)
    return key


def phone(i: int) -> str:
    return f"+7 (9{i % 100:02d}) {100 + i % 900:03d}-{i % 100:02d}-{(i // 100) % 100:02d}"


def email(i: int) -> str:
    return f"client.{i}@example.ru"


def name(i: int) -> str:
    return f"Иванов{i} Пётр"


def make_events(n: int, prefix: str, start: int = 0) -> list[dict[str, Any]]:
    """Realistic events carrying personal data in `customer` and in free text."""
    types = ["received", "queued", "answered", "resolved"]
    out = []
    for i in range(start, start + n):
        out.append(
            {
                "event_id": f"{prefix}-{i}",
                "contact_id": f"{prefix}-c{i // 4}",
                "region": ["tver", "kursk", "belgorod"][i % 3],
                "channel": ["phone", "email", "web", "in_person"][(i // 4) % 4],
                "type": types[i % 4],
                "occurred_at": format_timestamp(BASE_MS + i * 1000),
                "kind": ["inquiry", "outage", "complaint"][i % 3],
                "queue": "outage-line",
                "customer": {"phone": phone(i), "email": email(i), "name": name(i)},
                "topic": f"перезвонить на {phone(i)}",
                "attributes": {"ivr": str(i % 5), "contact_email": email(i)},
            }
        )
    return out


@contextmanager
def serve(settings: Settings, app: FastAPI | None = None, lifespan: str = "off") -> Iterator[str]:
    """The app (``app``, else create_app) on a free port in a thread; yields its base URL.

    Lifespan is off by default: the warehouse and sink lifespans are not what the ingest tests
    are about; the ingest producer is closed here instead, as ingest_lifespan would. With
    ``lifespan="on"`` the app's own lifespans run (and close what they opened)."""
    app = app if app is not None else create_app(settings)
    try:
        with serve_app(app, lifespan) as url:
            yield url
    finally:
        service = getattr(app.state, "ingest", None)
        if service is not None and lifespan == "off":
            service.close()
