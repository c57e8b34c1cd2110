"""Tenants and their API keys, and the FastAPI dependency "require scope X".

Keys look like ``kk_<key id>_<secret>``; only the SHA-256 of the whole key is stored (the
secret has 192 random bits, so a slow hash would add nothing but latency). The store is a JSON
file under data_dir (keys.json, mode 0600) written atomically by the CLI; the API re-reads it
when it changes, so ``kontakt keys revoke`` takes effect on a running API at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.errors import UserError
from services.logs import bind_request


class Scope(StrEnum):
    INGEST = "ingest"
    READ = "read"
    # The board's region-wide storm view: outage storms of every tenant of a region, not only
    # the key's own (docs/board.md). Other tenants' call counts, so never part of read.
    REGION_STORMS = "region-storms"
    ADMIN = "admin"  # implies every other scope but SQL_ALL
    # POST /v1/sql over every tenant's rows (an operator's analyst); never implied by admin,
    # which a tenant's own key may hold (docs/analytics.md, "Ad-hoc SQL").
    SQL_ALL = "sql-all"


class TenantType(StrEnum):
    GRID = "grid"  # сетевая компания
    RETAIL = "retail"  # энергосбыт
    HEAT = "heat"  # теплоснабжение


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: str
    tenant: str
    scopes: tuple[str, ...]
    sha256: str
    created_at: int  # epoch ms
    label: str = ""
    revoked_at: int | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key, its tenant (and the tenant's type) and its scopes."""

    key_id: str
    tenant: str
    tenant_type: TenantType
    scopes: frozenset[str]

    def allows(self, scope: Scope) -> bool:
        if scope is Scope.SQL_ALL:
            return scope.value in self.scopes
        return scope.value in self.scopes or Scope.ADMIN.value in self.scopes


class AuthError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        self.status_code = status_code
        super().__init__(message)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """keys.json: {"tenants": {name: type}, "keys": [KeyRecord...]}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._tenants: dict[str, TenantType] = {}
        self._keys: dict[str, KeyRecord] = {}

    # --- reading ---------------------------------------------------------------------------
    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._tenants, self._keys = None, {}, {}
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        self._tenants = {name: TenantType(t) for name, t in raw.get("tenants", {}).items()}
        self._keys = {
            k["key_id"]: KeyRecord(**{**k, "scopes": tuple(k["scopes"])}) for k in raw["keys"]
        }
        self._stamp = stamp

    def tenants(self) -> dict[str, TenantType]:
        with self._lock:
            self._refresh()
            return dict(self._tenants)

    def keys(self) -> list[KeyRecord]:
        with self._lock:
            self._refresh()
            return sorted(self._keys.values(), key=lambda k: (k.tenant, k.created_at))

    def authenticate(self, key: str) -> Principal:
        """The principal of a presented key, or AuthError(401) saying what is wrong."""
        parts = key.split("_")
        if len(parts) != 3 or parts[0] != "kk":
            raise AuthError(401, "malformed API key: expected kk_<id>_<secret>")
        with self._lock:
            self._refresh()
            record = self._keys.get(parts[1])
            tenant_type = self._tenants.get(record.tenant) if record else None
        if record is None or not hmac.compare_digest(record.sha256, _hash(key)):
            raise AuthError(401, "unknown API key")
        if record.revoked_at is not None:
            raise AuthError(401, f"API key {record.key_id} has been revoked")
        return Principal(
            key_id=record.key_id,
            tenant=record.tenant,
            tenant_type=tenant_type or TenantType.GRID,
            scopes=frozenset(record.scopes),
        )

    # --- writing (CLI) -----------------------------------------------------------------------
    def create(
        self,
        tenant: str,
        scopes: Iterable[Scope],
        *,
        tenant_type: TenantType | None,
        now_ms: int,
        label: str = "",
    ) -> tuple[KeyRecord, str]:
        """Add a key (and the tenant on first use); returns the record and the clear key,
        which is shown once and never stored."""
        with self._lock:
            self._refresh()
            known = self._tenants.get(tenant)
            if known is None and tenant_type is None:
                raise UserError(
                    f"tenant {tenant!r} is new: give its type with --type grid|retail|heat"
                )
            if known is not None and tenant_type is not None and tenant_type != known:
                raise UserError(f"tenant {tenant!r} is of type {known}, not {tenant_type}")
            key_id = secrets.token_hex(6)
            clear = f"kk_{key_id}_{secrets.token_urlsafe(24).replace('_', '-')}"
            record = KeyRecord(
                key_id=key_id,
                tenant=tenant,
                scopes=tuple(sorted({s.value for s in scopes})),
                sha256=_hash(clear),
                created_at=now_ms,
                label=label,
            )
            tenants = {**self._tenants, tenant: known or tenant_type or TenantType.GRID}
            self._write(tenants, {**self._keys, key_id: record})
        return record, clear

    def revoke(self, key_id: str, *, now_ms: int) -> KeyRecord:
        with self._lock:
            self._refresh()
            record = self._keys.get(key_id)
            if record is None:
                raise UserError(f"no API key with id {key_id!r}; see `kontakt keys list`")
            if record.revoked_at is None:
                record = replace(record, revoked_at=now_ms)
                self._write(self._tenants, {**self._keys, key_id: record})
        return record

    def _write(self, tenants: dict[str, TenantType], keys: dict[str, KeyRecord]) -> None:
        body: dict[str, Any] = {
            "tenants": {name: t.value for name, t in sorted(tenants.items())},
            "keys": [{**asdict(k), "scopes": list(k.scopes)} for k in keys.values()],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keys-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        self._stamp = None  # re-read on next use


def key_store_path(data_dir: Path) -> Path:
    return data_dir / "keys.json"


def get_key_store(request: Request) -> KeyStore:
    """One KeyStore per app, created on first use from the app's settings."""
    store = getattr(request.app.state, "key_store", None)
    if store is None:
        store = KeyStore(key_store_path(request.app.state.settings.data_dir))
        request.app.state.key_store = store
    return store


_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer kk_<id>_<secret>")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="kk_<id>_<secret>")


def _local_operator(request: Request, key: str) -> Principal | None:
    """The principal of the API's local operator token (services/api/local_token.py)."""
    token = getattr(request.app.state, "local_token", None)
    if not token or not hmac.compare_digest(token.encode(), key.encode()):
        return None
    return Principal(key_id="local", tenant="", tenant_type=TenantType.GRID,
                     scopes=frozenset({Scope.ADMIN.value, Scope.SQL_ALL.value}))


def require_scope(scope: Scope) -> Callable[..., Principal]:
    """FastAPI dependency factory: the caller's Principal, or 401/403 with a precise reason."""

    def dependency(
        request: Request,
        store: Annotated[KeyStore, Depends(get_key_store)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
        header_key: Annotated[str | None, Security(_api_key)] = None,
    ) -> Principal:
        key = header_key or (bearer.credentials if bearer else None)
        challenge = {"WWW-Authenticate": "Bearer"}
        if not key:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                headers=challenge,
            )
        try:
            principal = _local_operator(request, key) or store.authenticate(key)
        except AuthError as exc:
            raise HTTPException(exc.status_code, str(exc), headers=challenge) from None
        if not principal.allows(scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"API key {principal.key_id} lacks scope {scope.value!r} "
                f"(has: {', '.join(sorted(principal.scopes))})",
            )
        bind_request(tenant=principal.tenant)
        return principal

    return dependency
