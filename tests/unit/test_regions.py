"""The one region table (streams/sla/regions.py): ids, names in both languages, zones, and the
views derived from it."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from streams.sla.regions import (
    DEFAULT_TIMEZONE,
    MRSK_CENTER_REGIONS,
    REGION_TIMEZONES,
    REGIONS,
    REGIONS_BY_ID,
    Region,
    is_known_region,
    region_name,
    region_names,
    timezone_for,
)

CYRILLIC = re.compile(r"^[А-ЯЁ][А-Яа-яЁё -]+$")


def test_ids_are_unique_lower_case_ascii() -> None:
    ids = [r.id for r in REGIONS]
    assert len(ids) == len(set(ids)) == len(REGIONS_BY_ID) == 25
    assert all(re.fullmatch(r"[a-z][a-z_]*", i) for i in ids)


def test_every_zone_is_a_valid_iana_zone() -> None:
    for r in REGIONS:
        assert ZoneInfo(r.timezone).key == r.timezone, r.id
    ZoneInfo(DEFAULT_TIMEZONE)


def test_names_are_non_empty_in_both_languages() -> None:
    for r in REGIONS:
        assert CYRILLIC.match(r.name_ru), r
        assert r.name_en.strip() and r.name_en.isascii(), r
        assert r.name("ru") == r.name_ru and r.name("en") == r.name_en
    assert len({r.name_ru for r in REGIONS}) == len(REGIONS)
    assert len({r.name_en for r in REGIONS}) == len(REGIONS)


def test_region_is_a_frozen_value() -> None:
    tver = REGIONS_BY_ID["tver"]
    assert tver == Region("tver", "Тверская область", "Tver Oblast", "Europe/Moscow", True)
    with pytest.raises(AttributeError):
        tver.name_ru = "x"  # type: ignore[misc]


@pytest.mark.parametrize(("region", "ru", "en"), [
    ("kursk", "Курская область", "Kursk Oblast"),
    ("tver", "Тверская область", "Tver Oblast"),
    ("orel", "Орловская область", "Oryol Oblast"),
    ("moscow", "Москва", "Moscow"),
    ("moscow_oblast", "Московская область", "Moscow Oblast"),
    ("saint_petersburg", "Санкт-Петербург", "Saint Petersburg"),
    ("udmurtia", "Удмуртская Республика", "Udmurt Republic"),
    ("yekaterinburg", "Свердловская область", "Sverdlovsk Oblast"),
    ("perm", "Пермский край", "Perm Krai"),
    ("vladivostok", "Приморский край", "Primorsky Krai"),
])
def test_known_names(region: str, ru: str, en: str) -> None:
    assert region_name(region) == region_name(region, "ru") == ru
    assert region_name(region, "en") == en


def test_unknown_region_shows_its_id() -> None:
    assert region_name("atlantis") == region_name("atlantis", "en") == "atlantis"
    assert region_name("") == ""
    assert not is_known_region("atlantis") and is_known_region("kursk")


def test_derived_views_agree_with_the_table() -> None:
    assert len(MRSK_CENTER_REGIONS) == 11
    assert MRSK_CENTER_REGIONS[0] == "belgorod" and MRSK_CENTER_REGIONS[-1] == "yaroslavl"
    assert set(MRSK_CENTER_REGIONS) == {r.id for r in REGIONS if r.mrsk_center}
    assert dict(REGION_TIMEZONES) == {r.id: r.timezone for r in REGIONS}
    assert all(timezone_for(r.id) == r.timezone for r in REGIONS)
    assert timezone_for("atlantis") == DEFAULT_TIMEZONE
    names = region_names()
    assert list(names) == [r.id for r in REGIONS]
    assert names["tver"] == {"ru": "Тверская область", "en": "Tver Oblast"}
    with pytest.raises(TypeError):
        REGION_TIMEZONES["atlantis"] = "UTC"  # type: ignore[index]
