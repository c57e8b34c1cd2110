"""Region names added to report rows at the API's edge (services/labels.py)."""

from __future__ import annotations

from services.labels import name_columns, name_row, name_rows


def test_region_name_goes_right_after_region() -> None:
    assert name_columns(["channel", "region", "total"]) == [
        "channel", "region", "region_name", "total"]
    assert name_columns(["channel", "total"]) == ["channel", "total"]
    assert name_columns(["region", "region_name"]) == ["region", "region_name"]
    row = name_row({"channel": "phone", "region": "tver", "total": 3}, "ru")
    assert list(row.items()) == [("channel", "phone"), ("region", "tver"),
                                 ("region_name", "Тверская область"), ("total", 3)]


def test_languages_and_fallbacks() -> None:
    rows = [{"region": "kursk"}, {"region": "atlantis"}, {"region": ""}, {"region": None},
            {"channel": "phone"}]
    assert name_rows(rows, "en") == [
        {"region": "kursk", "region_name": "Kursk Oblast"},
        {"region": "atlantis", "region_name": "atlantis"},  # unknown: the id
        {"region": "", "region_name": ""},
        {"region": None, "region_name": None},
        {"channel": "phone"},  # nothing to name
    ]
    assert name_rows(rows[:1], "ru") == [{"region": "kursk", "region_name": "Курская область"}]
    assert rows[0] == {"region": "kursk"}  # the input rows are left alone
