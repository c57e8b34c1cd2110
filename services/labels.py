"""Names for people, added to rows at the API's edge (reports, CSV exports, the board).

Data keeps ids (events, ClickHouse rows and API filters say ``kursk``); a row that has a
``region`` column gets a ``region_name`` column right after it ("Курская область", or
"Kursk Oblast" with ``lang=en``), in JSON and in CSV alike. Names come from
streams/sla/regions.py; a region missing there shows as its id. No SQL changes: the names are
looked up in Python on at most ``query_max_rows`` rows (a dict lookup each).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Query

from streams.sla.regions import Lang, region_name

#: The ``lang`` query parameter of every report with a region column (422 for anything else).
LangParam = Annotated[Lang, Query(description="Language of region_name: ru (default) or en")]


def name_columns(columns: list[str]) -> list[str]:
    """``columns`` with ``region_name`` after ``region`` (unchanged when there is none)."""
    if "region" not in columns or "region_name" in columns:
        return columns
    at = columns.index("region") + 1
    return [*columns[:at], "region_name", *columns[at:]]


def name_row(row: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """``row`` with ``region_name`` after its ``region`` (a new dict; as is without one)."""
    if "region" not in row:
        return row
    out: dict[str, Any] = {}
    for key, value in row.items():
        out[key] = value
        if key == "region":
            out["region_name"] = region_name(value, lang) if isinstance(value, str) else value
    return out


def name_rows(rows: Iterable[dict[str, Any]], lang: Lang) -> list[dict[str, Any]]:
    return [name_row(r, lang) for r in rows]
