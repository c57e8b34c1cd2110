"""Publishing policy versions (services/policies): numbering, the document's 422 messages, lead
time and order, the concurrency check, tenant isolation, and the API over an in-memory log.
Every instant is fixed (an injected clock); nothing depends on the machine's date or zone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import format_timestamp
from services.auth import KeyStore, Scope, TenantType, key_store_path
from services.policies.log import InMemoryPolicyLog
from services.policies.publish import PolicyConflict, PolicyPublisher, next_version
from services.policies.router import router
from services.settings import load_settings
from streams.sla.policy import PolicyError
from streams.sla.versions import PolicyVersion

T0 = 1_790_000_000_000  # 2026-09-21T14:13:20Z
LEAD = 60_000
MILESTONE = {"id": "phone.answer", "channels": ["phone"], "start": "queued",
             "stop": ["answered"], "target": "40s", "warnings": [0.5]}


def doc(effective_from: Any = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"default": {"preset": "minenergo-186"}, **extra}
    if effective_from is not None:
        out["effective_from"] = effective_from
    return out


def make(history: Sequence[PolicyVersion], d: dict[str, Any], now: int = T0) -> PolicyVersion:
    return next_version(history, d, tenant="mrsk", published_by="k1", now_ms=now,
                        min_lead_ms=LEAD)


# --- the rules ------------------------------------------------------------------------------
def test_versions_are_numbered_from_one_and_stamped() -> None:
    v1 = make([], doc())
    assert (v1.version, v1.effective_from, v1.published_at, v1.published_by) == (
        1, T0 + LEAD, T0, "k1")
    v2 = make([v1], doc(format_timestamp(T0 + 3_600_000), comment="why"), now=T0 + 1)
    assert (v2.version, v2.effective_from, v2.comment) == (2, T0 + 3_600_000, "why")
    assert v2.default.version == 2


def test_omitted_effective_from_means_publish_instant_plus_lead() -> None:
    assert make([], doc(), now=T0 + 5).effective_from == T0 + 5 + LEAD


def test_lead_time_is_enforced_and_explained() -> None:
    assert make([], doc(T0 + LEAD)).effective_from == T0 + LEAD  # exactly the lead: fine
    with pytest.raises(PolicyError) as caught:
        make([], doc(format_timestamp(T0 + LEAD - 1)))
    message = str(caught.value)
    assert message.startswith("mrsk version 1.effective_from: ")
    assert "59.999 s after its publishing" in message and "at least 60 s later" in message
    assert "KONTAKT_POLICY_MIN_LEAD_S" in message and "live worker" in message
    assert "Omit effective_from" in message
    with pytest.raises(PolicyError, match="-3600 s after"):
        make([], doc(T0 - 3_600_000))


def test_versions_do_not_go_back_in_time() -> None:
    v1 = make([], doc(T0 + 7_200_000))
    assert make([v1], doc(T0 + 7_200_000)).version == 2  # an equal date replaces a pending one
    with pytest.raises(PolicyError) as caught:
        make([v1], doc(T0 + 3_600_000))
    message = str(caught.value)
    assert "mrsk version 2.effective_from" in message and "before version 1's" in message
    assert "already judged" in message


def test_a_date_ten_years_ahead_is_a_typo() -> None:
    with pytest.raises(PolicyError, match="more than ten years ahead"):
        make([], doc(T0 + 11 * 365 * 86_400_000))
    with pytest.raises(PolicyError, match="more than ten years ahead"):
        make([], doc(2**62))


@pytest.mark.parametrize(("bad", "message"), [
    ({"default": {"preset": "minenergo-186"}, "effective": 1},
     "mrsk version 1: unknown keys ['effective']"),
    ({"comment": "x"}, "mrsk version 1: missing required key 'default'"),
    (doc(effective_from="tomorrow"), "mrsk version 1.effective_from: not an RFC 3339"),
    (doc(effective_from="2026-10-01T00:00:00"), "has no offset"),
    ({"default": {"preset": "nope"}}, "mrsk version 1: default.preset: unknown preset 'nope'"),
    ({"default": {"name": "x", "milestones": [{**MILESTONE, "target": "40 parsecs"}]}},
     "default: milestones[0] (phone.answer).target: expected a duration"),
    ({"default": {"preset": "minenergo-186"}, "overrides": [{"preset": "minenergo-186"}]},
     "overrides[0]: name a region, a queue or both"),
    ({"default": {"preset": "minenergo-186"}, "overrides": {"region": "77"}},
     "mrsk version 1.overrides: expected a list"),
    ({"default": {"name": "x", "milestones": [1]}}, "mrsk version 1: malformed document"),
    (["not", "a", "table"], "mrsk version 1: expected a table"),
])
def test_bad_documents_name_the_field(bad: Any, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        make([], bad)
    assert message in str(caught.value)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
_keys = st.sampled_from(["effective_from", "comment", "default", "overrides", "preset", "name",
                         "milestones", "region", "queue", "id", "start", "stop", "target"])


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.dictionaries(_keys, _json | st.dictionaries(_keys, _json, max_size=4), max_size=5))
def test_any_json_document_is_a_version_or_a_policy_error(raw: dict[str, Any]) -> None:
    """The API's promise that bad input is a 422, never a 500."""
    with contextlib.suppress(PolicyError):
        make([], raw)


# --- the publisher: lock, log, conflict -------------------------------------------------------
class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        self.now += 1_000
        return self.now


def test_publisher_appends_to_the_tenants_history() -> None:
    log = InMemoryPolicyLog()
    pub = PolicyPublisher(log, min_lead_ms=LEAD, clock=Clock())
    pub.publish("mrsk", doc(), published_by="k1")
    pub.publish("mrsk", doc(comment="second"), published_by="k2")
    pub.publish("tgk", doc(), published_by="k3")
    assert [(v.version, v.published_by) for v in log.history("mrsk")] == [(1, "k1"), (2, "k2")]
    assert [v.version for v in log.history("tgk")] == [1]
    assert log.tenants() == ["mrsk", "tgk"]


class RacingLog(InMemoryPolicyLog):
    """Another replica publishes its version N+1 between our read and our write."""

    def history(self, tenant: str) -> list[PolicyVersion]:
        seen = super().history(tenant)
        if not getattr(self, "raced", False):
            self.raced = True
            rival = make(seen, doc(), now=T0)
            super().publish([*seen, replace(rival, published_by="them")])
        return seen


def test_a_concurrent_writer_that_came_first_keeps_its_version() -> None:
    log = RacingLog()
    pub = PolicyPublisher(log, min_lead_ms=LEAD, clock=Clock())
    with pytest.raises(PolicyConflict, match="version 1 by 'them'"):
        pub.publish("mrsk", doc(), published_by="us")
    assert [v.published_by for v in log.history("mrsk")] == ["them"]
    assert pub.publish("mrsk", doc(), published_by="us").version == 2  # on top, once re-read


# --- the API ----------------------------------------------------------------------------------
Api = tuple[TestClient, dict[str, dict[str, str]], InMemoryPolicyLog]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    store = KeyStore(key_store_path(tmp_path))
    keys = {}
    for name, tenant, scopes in (("admin", "mrsk", [Scope.ADMIN]), ("other", "tgk", [Scope.ADMIN]),
                                 ("read", "mrsk", [Scope.READ]),
                                 ("operator", "ops", [Scope.ADMIN, Scope.SQL_ALL])):
        _, keys[name] = store.create(tenant, scopes, tenant_type=TenantType.GRID, now_ms=1)
    app = FastAPI()
    app.state.settings = load_settings(data_dir=tmp_path)
    log = InMemoryPolicyLog()
    app.state.policy_publisher = PolicyPublisher(log, min_lead_ms=LEAD, clock=Clock())
    app.include_router(router)
    with TestClient(app) as client:
        yield client, {n: {"Authorization": f"Bearer {k}"} for n, k in keys.items()}, log


def test_put_get_and_show(api: Api) -> None:
    client, keys, _ = api
    r = client.put("/v1/admin/policies/mrsk", json=doc(comment="first"), headers=keys["admin"])
    assert r.status_code == 201, r.text
    body = r.json()
    key_id = keys["admin"]["Authorization"].split("_")[1]
    assert body["version"] == 1 and body["published_by"] == key_id
    assert body["published_at"] == format_timestamp(T0 + 1_000)
    assert body["effective_from"] == format_timestamp(T0 + 1_000 + LEAD)
    assert body["document"]["default"]["name"] == "minenergo-186"  # the preset, resolved
    r2 = client.put("/v1/admin/policies/mrsk", json=body["document"] | {
        "effective_from": format_timestamp(T0 + 86_400_000)}, headers=keys["admin"])
    assert r2.status_code == 201 and r2.json()["version"] == 2
    listed = client.get("/v1/admin/policies/mrsk", headers=keys["admin"]).json()
    assert listed["latest"] == 2 and listed["current"] is None  # the clock is before both
    assert [v["version"] for v in listed["versions"]] == [1, 2]
    assert "document" not in listed["versions"][0]
    one = client.get("/v1/admin/policies/mrsk/versions/1", headers=keys["admin"]).json()
    assert one == body
    assert client.get("/v1/admin/policies/mrsk/versions/3",
                      headers=keys["admin"]).status_code == 404
    missing = client.get("/v1/admin/policies/nobody", headers=keys["operator"])
    assert missing.status_code == 404 and "KONTAKT_SLA_POLICY" in missing.text


def test_422_carries_the_policy_error(
        api: Api) -> None:
    client, keys, log = api
    r = client.put("/v1/admin/policies/mrsk", json=doc(format_timestamp(T0)),
                   headers=keys["admin"])
    assert r.status_code == 422
    assert r.json()["detail"].startswith("mrsk version 1.effective_from: ")
    r = client.put("/v1/admin/policies/mrsk", json={"default": {"preset": "x"}},
                   headers=keys["admin"])
    assert r.status_code == 422 and "default.preset: unknown preset 'x'" in r.json()["detail"]
    assert log.tenants() == []


def test_tenant_isolation(api: Api) -> None:
    client, keys, log = api
    assert client.put("/v1/admin/policies/mrsk", json=doc(),
                      headers=keys["admin"]).status_code == 201
    for method, path in (("PUT", "/v1/admin/policies/mrsk"), ("GET", "/v1/admin/policies/mrsk"),
                         ("GET", "/v1/admin/policies/mrsk/versions/1")):
        r = client.request(method, path, json=doc(), headers=keys["other"])
        assert r.status_code == 403, (method, path)
        assert "tenant 'tgk' only, not 'mrsk'" in r.json()["detail"]
    assert client.get("/v1/admin/policies/mrsk", headers=keys["read"]).status_code == 403
    assert client.get("/v1/admin/policies/mrsk").status_code == 401
    # an operator's key (sql-all) manages every tenant
    r = client.put("/v1/admin/policies/mrsk", json=doc(), headers=keys["operator"])
    assert r.status_code == 201 and r.json()["version"] == 2
    assert [v.version for v in log.history("mrsk")] == [1, 2]


def test_503_when_the_log_is_down(
        api: Api) -> None:
    client, keys, log = api
    log.down = True
    for method in ("PUT", "GET"):
        r = client.request(method, "/v1/admin/policies/mrsk", json=doc(), headers=keys["admin"])
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert "policy log is unavailable" in r.json()["detail"]
