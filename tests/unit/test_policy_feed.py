"""streams.policy_feed without a broker: records in, the worker's Rules out."""

from __future__ import annotations

import logging

import pytest

from schemas import codec
from streams.policy_feed import late_versions, merged, versions_of
from streams.sla.policy import load_policy
from streams.sla.versions import Rules, book_of, parse_version, published_record

T0 = 1_790_000_000_000
FALLBACK = load_policy("rao-ues-2007")


def v(tenant: str, n: int, at: int, preset: str = "minenergo-186") -> object:
    return parse_version({"effective_from": at, "default": {"preset": preset}}, tenant, n, "t")


def record(*history: object) -> bytes:
    return codec.encode("PolicyVersionPublished", published_record(list(history)))


def test_the_last_record_of_a_tenant_is_its_whole_history() -> None:
    a1, a2, b1 = v("a", 1, T0), v("a", 2, T0 + 10), v("b", 1, T0)
    found = versions_of([record(a1), record(b1), None, record(a1, a2)])
    assert sorted((x.tenant, x.version) for x in found) == [("a", 1), ("a", 2), ("b", 1)]


def test_an_unreadable_record_is_skipped_and_the_tenant_keeps_what_it_had(
    caplog: pytest.LogCaptureFixture,
) -> None:
    a1 = v("a", 1, T0)
    other = codec.encode("AlertAcknowledged", _sample("AlertAcknowledged"))
    with caplog.at_level(logging.WARNING, "streams.policy_feed"):
        found = versions_of([record(a1), b"garbage", other])
    assert [(x.tenant, x.version) for x in found] == [("a", 1)]
    assert len([r for r in caplog.records if "cannot be read" in r.message]) == 2


def test_merging_replaces_the_tenants_read_and_keeps_the_others() -> None:
    before = Rules(FALLBACK, book_of([v("a", 1, T0), v("b", 1, T0)]))
    after = merged(before, [v("a", 1, T0), v("a", 2, T0 + 10)])
    assert [x.version for x in after.book["a"]] == [1, 2]
    assert [x.version for x in after.book["b"]] == [1]
    assert after.fallback is FALLBACK


def test_a_version_read_after_it_took_effect_is_reported() -> None:
    before = Rules(FALLBACK, book_of([v("a", 1, T0)]))
    after = merged(before, [v("a", 1, T0), v("a", 2, T0 + 1_000), v("a", 3, T0 + 60_000)])
    assert [x.version for x in late_versions(before, after, now=T0 + 5_000)] == [2]
    assert late_versions(after, after, now=T0 + 120_000) == []


def _sample(name: str) -> dict[str, object]:
    from tests.unit.avro_samples import record_samples

    return record_samples(name, codec.default_catalog().get(name).schema)[0]
