"""ClickHouse type names -> Python and Arrow values, for the embedded (chdb) backend.

Why this exists: chdb's Arrow output turns ``DateTime`` into a bare UInt32 and its DB-API cursor
returns naive datetimes, so results are read as JSONCompact (which names every column's type)
and converted here; inserts build an Arrow schema from the table's declared column types so
pyarrow never has to guess (an all-NULL column, an int meant as a DateTime64, a dict meant as
a Map). The Python shapes match what clickhouse-driver returns for the server backend:
int, float, Decimal, bool, str, date, timezone-aware datetime, list, tuple, dict, None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

_WRAPPERS = ("Nullable", "LowCardinality", "SimpleAggregateFunction")


@dataclass(frozen=True)
class CHType:
    name: str
    args: tuple[str, ...] = ()


@lru_cache(maxsize=1024)
def parse_type(text: str) -> CHType:
    """'Map(String, Array(Nullable(UInt8)))' -> CHType('Map', ('String', 'Array(...)'))."""
    text = text.strip()
    open_at = text.find("(")
    if open_at < 0 or not text.endswith(")"):
        return CHType(text)
    name, inner = text[:open_at].strip(), text[open_at + 1 : -1]
    return CHType(name, tuple(part.strip() for part in split_top_level(inner)))


def split_top_level(text: str) -> list[str]:
    """Split on the commas outside parentheses and quotes (type arguments, engine arguments);
    the parts as written, unstripped."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _unwrap(t: CHType) -> CHType:
    while t.name in _WRAPPERS:
        t = parse_type(t.args[-1])
    return t


def _timezone_arg(t: CHType, session_tz: str) -> str:
    quoted = [a for a in t.args if a.startswith("'")]
    return quoted[0].strip("'") if quoted else session_tz


def from_json(type_text: str, value: Any, session_tz: str = "UTC") -> Any:
    """One JSONCompact cell -> the Python value clickhouse-driver would give for that type."""
    if value is None:
        return None
    t = _unwrap(parse_type(type_text))
    name = t.name
    if name.startswith(("Int", "UInt")):
        return int(value)
    if name.startswith(("Float", "BFloat")):
        return float(value)
    if name.startswith("Decimal"):
        return Decimal(str(value))
    if name == "Bool":
        return bool(value)
    if name in ("Date", "Date32"):
        return date.fromisoformat(value)
    if name in ("DateTime", "DateTime64"):
        zone = ZoneInfo(_timezone_arg(t, session_tz))
        return datetime.fromisoformat(value).replace(tzinfo=zone)
    if name == "Array":
        return [from_json(t.args[0], v, session_tz) for v in value]
    if name == "Tuple":
        types = [
            a.split(" ", 1)[-1] if " " in a and "(" not in a.split(" ", 1)[0] else a for a in t.args
        ]
        items = value.values() if isinstance(value, dict) else value
        return tuple(from_json(tt, v, session_tz) for tt, v in zip(types, items, strict=False))
    if name == "Map":
        return {
            from_json(t.args[0], k, session_tz): from_json(t.args[1], v, session_tz)
            for k, v in value.items()
        }
    return value  # String, FixedString, UUID, Enum*, IPv4/6: already the text form


def arrow_type(type_text: str) -> pa.DataType:
    """Arrow type to send for a ClickHouse column; unknown types go as strings."""
    t = _unwrap(parse_type(type_text))
    name = t.name
    simple: dict[str, pa.DataType] = {
        "Int8": pa.int8(),
        "Int16": pa.int16(),
        "Int32": pa.int32(),
        "Int64": pa.int64(),
        "UInt8": pa.uint8(),
        "UInt16": pa.uint16(),
        "UInt32": pa.uint32(),
        "UInt64": pa.uint64(),
        "Float32": pa.float32(),
        "Float64": pa.float64(),
        "Bool": pa.bool_(),
        "Date": pa.date32(),
        "Date32": pa.date32(),
    }
    if name in simple:
        return simple[name]
    if name == "DateTime":
        return pa.timestamp("s", tz="UTC")
    if name == "DateTime64":
        precision = int(t.args[0]) if t.args else 3
        unit = {0: "s", 3: "ms", 6: "us", 9: "ns"}.get(precision, "us")
        return pa.timestamp(unit, tz="UTC")
    if name == "Array":
        return pa.list_(arrow_type(t.args[0]))
    if name == "Map":
        return pa.map_(arrow_type(t.args[0]), arrow_type(t.args[1]))
    return pa.string()


def to_arrow_column(type_text: str, values: list[Any]) -> pa.Array:
    """A column of Python values -> an Arrow array of the column's type.

    Plain ints for a DateTime64(3) column are taken as epoch milliseconds (the event
    vocabulary's unit); ints for DateTime are epoch seconds; Decimals go as strings.
    """
    target = arrow_type(type_text)
    name = _unwrap(parse_type(type_text)).name
    if name.startswith("Decimal") or (pa.types.is_string(target) and name != "String"):
        values = [None if v is None else str(v) for v in values]
    if isinstance(target, pa.MapType):
        return _map_array(target, values)
    return pa.array(values, type=target)


def _map_array(target: pa.MapType, values: list[Any]) -> pa.Array:
    """dicts -> MapArray from flat keys/items and offsets: ~8x faster than pa.array(dicts).
    ClickHouse maps are never NULL, so None becomes an empty map."""
    offsets, keys, items = [0], [], []
    for value in values:
        if value:
            keys.extend(value.keys())
            items.extend(value.values())
        offsets.append(len(keys))
    return pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()),
        pa.array(keys, target.key_type),
        pa.array(items, target.item_type),
    )
