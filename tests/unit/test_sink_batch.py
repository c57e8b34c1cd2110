"""The sink's pure parts: batching limits, commit offsets, and record -> row mapping."""

from __future__ import annotations

import pytest

from schemas.codec import DecodeError, default_catalog, encode
from schemas.events import parse_timestamp
from services.sink.batch import Batch, BatchLimits, transpose
from services.sink.rows import MAPPERS, TABLE_COLUMNS, record_rows
from tests.unit.avro_samples import PUBLISHED_AT, record_samples

LIMITS = BatchLimits(max_rows=3, max_age_s=1.0)


def test_empty_batch_is_never_due() -> None:
    assert not Batch().due(now=1e9, limits=LIMITS)


def test_due_by_size_or_by_age() -> None:
    batch = Batch()
    batch.add("t", 0, 10, [("events", (1,)), ("events", (2,))], now=100.0)
    assert not batch.due(100.5, LIMITS)
    assert batch.due(101.0, LIMITS)  # age limit
    batch.add("t", 0, 11, [("events", (3,))], now=100.6)
    assert batch.due(100.6, LIMITS)  # size limit


def test_commit_offsets_are_next_to_read_per_partition_including_undecodable() -> None:
    batch = Batch()
    batch.add("t", 0, 5, [("events", (1,))], now=0)
    batch.add("t", 1, 7, [("events", (2,))], now=0)
    batch.add_undecodable("t", 0, 6, now=0)
    batch.add("u", 0, 0, [], now=0)
    assert batch.commit_offsets() == {("t", 0): 7, ("t", 1): 8, ("u", 0): 1}
    assert (batch.records, batch.undecodable, batch.row_count) == (4, 1, 2)


def test_transpose() -> None:
    assert transpose([(1, "a"), (2, "b")], 2) == [[1, 2], ["a", "b"]]
    assert transpose([], 3) == [[], [], []]


# Records that never go to the warehouse (none today); any other catalogued record must map.
NOT_WAREHOUSED: frozenset[str] = frozenset()


@pytest.mark.parametrize("name", default_catalog().names())
def test_every_catalogued_record_maps_to_full_rows(name: str) -> None:
    if name in NOT_WAREHOUSED:
        pytest.skip(f"{name} is not stored in the warehouse")
    assert name in MAPPERS, f"the sink has no table for {name}: add a mapper in rows.py"
    schema = default_catalog().get(name).schema
    for datum in record_samples(name, schema):
        rows = record_rows(encode(name, datum))
        assert rows
        for table, row in rows:
            assert len(row) == len(TABLE_COLUMNS[table])


@pytest.mark.parametrize("value", [None, b"", b"garbage", b"\xc3\x01" + b"\x00" * 8 + b"x"])
def test_undecodable_values_raise_decode_error(value: bytes | None) -> None:
    with pytest.raises(DecodeError):
        record_rows(value)


def test_storm_rows_carry_the_tenant_and_v1_storms_have_none() -> None:
    storm = {"alert_id": "s1", "tenant": "mrsk", "region": "tver", "scope": "outage",
             "window_start": 1_790_000_000_000, "window_end": 1_790_000_600_000, "count": 90,
             "baseline": 10.0, "threshold": 30.0, "local_hour": 9,
             "raised_at": 1_790_000_600_000}
    columns = TABLE_COLUMNS["alerts"]
    [(table, row)] = record_rows(encode("OutageStormSuspected", storm))
    assert table == "alerts"
    assert dict(zip(columns, row, strict=True))["tenant"] == "mrsk"
    v1 = {k: v for k, v in storm.items() if k != "tenant"}
    [(_, row)] = record_rows(encode("OutageStormSuspected", v1, version=1))
    assert dict(zip(columns, row, strict=True))["tenant"] == ""


def retraction(**extra: object) -> dict[str, object]:
    datum: dict[str, object] = {
        "retraction_id": "r1", "alert_id": "c1|phone.answer|breached", "contact_id": "c1",
        "milestone": "phone.answer", "status": "met",
        "reason": "answered at 12:00:35 read after the breach was raised",
        "started_at": 1_790_000_000_000, "due_at": 1_790_000_040_000,
        "stopped_at": 1_790_000_035_000, "elapsed_ms": 35_000, "target_ms": 40_000,
        "retracted_at": 1_790_000_100_000, "tenant": "mrsk", "region": "tver",
        "channel": "phone", "contact_kind": "inquiry", "customer_category": "veteran",
        "office": None,
    }
    datum.update(extra)
    return datum


def test_a_retraction_is_an_alerts_row_keyed_by_the_breach_it_withdraws() -> None:
    import orjson

    datum = retraction()
    [(table, row)] = record_rows(encode("SlaAlertRetracted", datum))
    got = dict(zip(TABLE_COLUMNS["alerts"], row, strict=True))
    assert table == "alerts"
    assert (got["alert_id"], got["alert"], got["status"]) == (
        "c1|phone.answer|breached", "retracted", "met")
    assert got["at"] == datum["retracted_at"]
    assert (got["stopped_at"], got["elapsed_ms"], got["threshold"]) == (
        1_790_000_035_000, 35_000, None)
    assert (got["tenant"], got["region"], got["customer_category"]) == ("mrsk", "tver",
                                                                          "veteran")
    assert orjson.loads(got["payload"]) == datum


# --- outcomes: the policy that judged the clock -------------------------------------------------
def outcome(**extra: object) -> dict[str, object]:
    datum: dict[str, object] = {
        "outcome_id": "o1", "contact_id": "c1", "milestone": "phone.answer", "status": "met",
        "started_at": 1_790_000_000_000, "due_at": 1_790_000_040_000,
        "stopped_at": 1_790_000_035_000, "elapsed_ms": 35_000, "target_ms": 40_000,
        "warnings_crossed": [0.5], "evaluated_at": 1_790_000_035_000, "tenant": "mrsk",
        "region": "tver", "channel": "phone", "contact_kind": "inquiry",
        "customer_category": "standard", "office": None, "policy_version": 3,
        "policy": "moscow-strict",
    }
    datum.update(extra)
    return datum


def test_an_outcome_row_names_the_policy_version_and_policy_that_judged_it() -> None:
    [(table, row)] = record_rows(encode("MilestoneOutcomeEvaluated", outcome()))
    got = dict(zip(TABLE_COLUMNS["outcomes"], row, strict=True))
    assert table == "outcomes"
    assert (got["policy_version"], got["policy"]) == (3, "moscow-strict")
    v1 = {k: v for k, v in outcome().items() if k not in ("policy_version", "policy")}
    [(_, row)] = record_rows(encode("MilestoneOutcomeEvaluated", v1, version=1))
    got = dict(zip(TABLE_COLUMNS["outcomes"], row, strict=True))
    assert (got["policy_version"], got["policy"]) == (0, "")  # the platform default judged it


# --- policy versions ------------------------------------------------------------------------------
def _policy_rows(datum: dict[str, object]) -> list[dict[str, object]]:
    rows = record_rows(encode("PolicyVersionPublished", datum))
    assert {table for table, _ in rows} == {"policy_versions"}
    return [dict(zip(TABLE_COLUMNS["policy_versions"], row, strict=True)) for _, row in rows]


def test_a_policy_record_is_one_row_per_version_and_scope() -> None:
    import orjson

    from tests.unit.avro_samples import policy_histories

    _, history = policy_histories()
    rows = _policy_rows(history)
    assert [(r["policy_version"], r["scope"], r["region"], r["queue"], r["policy"])
            for r in rows] == [
        (1, "default", None, None, "minenergo-186"),
        (2, "default", None, None, "rao-ues-2007"),
        (2, "region=77", "77", None, "minenergo-186"),
        (2, "queue=vip", None, "vip", "vip-fast"),
        (2, "region=77,queue=vip", "77", "vip", "rao-ues-2007"),
    ]
    v1, v2, _, vip, _ = rows
    assert (v1["effective_from"], v2["effective_from"]) == (
        parse_timestamp("2025-12-31T21:00:00Z"), parse_timestamp("2026-03-31T21:00:00Z"))
    assert (v1["published_by"], v2["published_at"], v2["comment"]) == (
        "key-1", PUBLISHED_AT + 1, "Москва строже")
    targets = dict(zip(vip["milestones"], vip["target_ms"], strict=True))  # type: ignore[call-overload]
    assert targets["phone.answer"] == 20_000 and targets["email.dispatch"] == 86_400_000
    assert dict(zip(v1["milestones"], v1["target_ms"], strict=True))[  # type: ignore[call-overload]
        "office.wait"] == 30 * 60_000
    assert orjson.loads(str(vip["document"]))["name"] == "vip-fast"


def test_a_redelivered_history_gives_the_same_rows_again() -> None:
    """Each record re-carries every version: its rows for an old version are the ones the old
    record gave, key and content, so ReplacingMergeTree keeps one."""
    from tests.unit.avro_samples import policy_histories

    first, second = policy_histories()
    assert _policy_rows(first) == _policy_rows(second)[:1]


def test_a_policy_document_the_core_cannot_read_is_undecodable() -> None:
    from tests.unit.avro_samples import policy_histories

    _, history = policy_histories()
    versions = history["versions"]
    assert isinstance(versions, list)
    broken = {**history, "versions": [*versions[:-1], {**versions[-1], "document": "{"}]}
    with pytest.raises(DecodeError, match="PolicyVersionPublished"):
        record_rows(encode("PolicyVersionPublished", broken))
    unknown = {**history, "versions": [{**versions[0], "document": '{"default": {}}'}]}
    with pytest.raises(DecodeError, match="effective_from"):
        record_rows(encode("PolicyVersionPublished", unknown))
