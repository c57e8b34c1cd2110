"""API keys: hashed at rest, per tenant with a type, scopes enforced, revocation immediate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.auth import KeyStore, Principal, Scope, TenantType, require_scope
from services.errors import UserError
from services.settings import load_settings


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.json")


def test_keys_are_stored_hashed_and_authenticate(store: KeyStore) -> None:
    record, clear = store.create("mrsk", [Scope.INGEST], tenant_type=TenantType.GRID, now_ms=1)
    text = store.path.read_text()
    assert clear not in text and clear.split("_")[2] not in text
    assert json.loads(text)["tenants"] == {"mrsk": "grid"}
    assert store.path.stat().st_mode & 0o777 == 0o600
    principal = KeyStore(store.path).authenticate(clear)  # a second reader of the same file
    assert principal.tenant == "mrsk" and principal.tenant_type is TenantType.GRID
    assert principal.allows(Scope.INGEST) and not principal.allows(Scope.READ)
    assert principal.key_id == record.key_id


def test_tenant_type_rules(store: KeyStore) -> None:
    with pytest.raises(UserError, match="is new"):
        store.create("tgc", [Scope.READ], tenant_type=None, now_ms=1)
    store.create("tgc", [Scope.READ], tenant_type=TenantType.HEAT, now_ms=1)
    store.create("tgc", [Scope.ADMIN], tenant_type=None, now_ms=2)  # known tenant: type kept
    with pytest.raises(UserError, match="of type heat"):
        store.create("tgc", [Scope.READ], tenant_type=TenantType.RETAIL, now_ms=3)
    assert store.tenants() == {"tgc": TenantType.HEAT}


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda k: k + "x", "unknown API key"),
        (lambda k: "sk-123", "malformed"),
        (lambda k: "kk_000000000000_" + k.split("_")[2], "unknown API key"),
    ],
)
def test_wrong_keys_are_refused(store: KeyStore, mangle: object, message: str) -> None:
    _, clear = store.create("mrsk", [Scope.INGEST], tenant_type=TenantType.GRID, now_ms=1)
    with pytest.raises(Exception, match=message):
        store.authenticate(mangle(clear))  # type: ignore[operator]


def test_revocation_reaches_a_running_reader(store: KeyStore) -> None:
    record, clear = store.create("mrsk", [Scope.INGEST], tenant_type=TenantType.GRID, now_ms=1)
    reader = KeyStore(store.path)
    reader.authenticate(clear)
    KeyStore(store.path).revoke(record.key_id, now_ms=5)  # e.g. the CLI, another process
    with pytest.raises(Exception, match="revoked"):
        reader.authenticate(clear)
    with pytest.raises(UserError, match="no API key"):
        store.revoke("nope", now_ms=6)


def test_require_scope_dependency(tmp_path: Path) -> None:
    app = FastAPI()
    app.state.settings = load_settings(data_dir=tmp_path)
    store = KeyStore(tmp_path / "keys.json")

    @app.get("/report")
    def report(p: Annotated[Principal, Depends(require_scope(Scope.READ))]) -> dict[str, str]:
        return {"tenant": p.tenant, "type": p.tenant_type.value}

    _, reader = store.create("sbyt", [Scope.READ], tenant_type=TenantType.RETAIL, now_ms=1)
    _, ingester = store.create("sbyt", [Scope.INGEST], tenant_type=None, now_ms=1)
    _, admin = store.create("sbyt", [Scope.ADMIN], tenant_type=None, now_ms=1)
    client = TestClient(app)
    assert client.get("/report", headers={"X-API-Key": reader}).json() == {
        "tenant": "sbyt",
        "type": "retail",
    }
    assert client.get("/report", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    denied = client.get("/report", headers={"X-API-Key": ingester})
    assert denied.status_code == 403 and "lacks scope 'read'" in denied.json()["detail"]
    missing = client.get("/report")
    assert missing.status_code == 401 and "missing API key" in missing.json()["detail"]
    assert missing.headers["WWW-Authenticate"] == "Bearer"
