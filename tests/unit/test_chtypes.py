"""ClickHouse type names -> Python values (results) and Arrow arrays (inserts), chdb side."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa

from services.adapters.chtypes import CHType, from_json, parse_type, to_arrow_column


def test_parse_nested_types() -> None:
    assert parse_type("Map(String, Array(Nullable(UInt8)))") == CHType(
        "Map", ("String", "Array(Nullable(UInt8))")
    )
    assert parse_type("DateTime64(3, 'Europe/Moscow')") == CHType(
        "DateTime64", ("3", "'Europe/Moscow'")
    )
    assert parse_type("String") == CHType("String")


def test_json_cells_become_driver_shaped_values() -> None:
    assert from_json("UInt64", "18446744073709551615") == 2**64 - 1
    assert from_json("Nullable(Decimal(18, 2))", "1.25") == Decimal("1.25")
    assert from_json("Nullable(String)", None) is None
    assert from_json("LowCardinality(String)", "tver") == "tver"
    assert from_json("Date", "2026-02-28") == date(2026, 2, 28)
    assert from_json("DateTime64(3, 'UTC')", "2026-01-01 00:00:00.250") == datetime(
        2026, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC
    )
    moscow = from_json("DateTime('Europe/Moscow')", "2026-01-01 03:00:00")
    assert moscow == datetime(2026, 1, 1, tzinfo=UTC)
    assert moscow.tzinfo == ZoneInfo("Europe/Moscow")
    assert from_json("Map(String, UInt8)", {"a": 1}) == {"a": 1}
    assert from_json("Tuple(a UInt8, b String)", {"a": 1, "b": "x"}) == (1, "x")
    assert from_json("Array(Nullable(Int32))", [1, None]) == [1, None]


def test_arrow_columns_follow_the_declared_type() -> None:
    ints = to_arrow_column("DateTime64(3, 'UTC')", [1_767_225_600_250])
    assert ints.type == pa.timestamp("ms", tz="UTC")
    assert ints[0].as_py() == datetime(2026, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC)
    maps = to_arrow_column("Map(String, String)", [{"a": "b", "c": "d"}, None, {}])
    assert maps.to_pylist() == [[("a", "b"), ("c", "d")], [], []]
    assert to_arrow_column("Nullable(String)", [None, None]).type == pa.string()
    assert to_arrow_column("Decimal(9, 2)", [Decimal("1.50")]).to_pylist() == ["1.50"]
