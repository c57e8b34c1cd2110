"""Is this data directory's API running, and how do `kontakt` commands reach it?

The API is running when ``kontakt up`` recorded its pid (data_dir/run/api.pid) and that
process lives, and it wrote its local operator token (services/api/local_token.py). Commands
that need the warehouse (`kontakt sql`, `appeals link`, `backfill`) then send their work to
it at KONTAKT_API_HOST:KONTAKT_API_PORT instead of opening chdb themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from services.api.local_token import read_token
from services.errors import UserError
from services.local.supervisor import ProcessSupervisor
from services.settings import Settings


@dataclass(frozen=True, slots=True)
class RunningApi:
    base_url: str
    token: str


def running_api(settings: Settings) -> RunningApi | None:
    if ProcessSupervisor(settings.data_dir).pid("api") is None:
        return None
    token = read_token(settings.data_dir)
    if token is None:
        return None
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::", "") else settings.api_host
    return RunningApi(f"http://{host}:{settings.api_port}", token)


def post(api: RunningApi, path: str, body: dict[str, Any], *, key: str | None = None,
         timeout_s: float | None = None) -> httpx.Response:
    """POST ``body`` as JSON; a 4xx/5xx becomes a UserError with the API's message."""
    try:
        response = httpx.post(api.base_url + path, json=body, timeout=timeout_s,
                              headers={"Authorization": f"Bearer {key or api.token}"})
    except httpx.TransportError as exc:
        raise UserError(f"the running API at {api.base_url} did not answer: {exc}") from None
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise UserError(f"the API refused it (HTTP {response.status_code}): {detail}")
    return response
