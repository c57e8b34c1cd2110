"""The sink's pure parts: batching limits, commit offsets, and record -> row mapping."""

from __future__ import annotations

import pytest

from schemas.codec import DecodeError, default_catalog, encode
from services.sink.batch import Batch, BatchLimits, transpose
from services.sink.rows import MAPPERS, TABLE_COLUMNS, record_rows
from tests.unit.avro_samples import sample_datums

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
    for datum in sample_datums(schema):
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
