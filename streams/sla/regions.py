"""Regions: ids, the names people read (Russian and English) and their IANA time zones.

Working-hours calendars count local time, so every region a tenant serves needs a zone; shift
leads and report readers want "Курская область", not ``kursk``. Both come from the one table
below, :data:`REGIONS`; every other name in this module is derived from it.

The region id is the lower-case ASCII name used in events (``ContactEvent.region``), ClickHouse
rows and API filters. The simulator, the ClickHouse helpers (services/migrate.py builds the
``timezone`` DEFAULT from :data:`REGION_TIMEZONES`) and the API import this table, so ids here
are part of the shared vocabulary: add, never rename. Names are display text only and may be
corrected freely.

Each id stands for a federal subject of Russia (a region, not a city). Most ids are the
subject's own stem (``kursk`` = Курская область); ``moscow`` and ``saint_petersburg`` are the
federal cities, ``moscow_oblast`` the oblast around Moscow; ``yekaterinburg`` and
``vladivostok`` are named after the capital of a subject whose name differs (Свердловская
область, Приморский край). Russian names are the official ones of the Constitution (art. 65)
("Москва" without "город"); English names follow common usage (Oblast, Krai, Republic).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

#: Languages region names exist in; the API's ``lang`` parameter takes these.
Lang = Literal["ru", "en"]
LANGS: Final[tuple[Lang, ...]] = ("ru", "en")


@dataclass(frozen=True, slots=True)
class Region:
    """One region: its id in data, its names for people, and its IANA zone."""

    id: str
    name_ru: str
    name_en: str
    timezone: str
    #: one of the 11 regions of MRSK Center (IDGC of Centre)
    mrsk_center: bool = False

    def name(self, lang: Lang = "ru") -> str:
        return self.name_en if lang == "en" else self.name_ru


_MSK = "Europe/Moscow"

#: Every known region. The 11 MRSK Center regions come first, in the press release's order.
REGIONS: Final[tuple[Region, ...]] = (
    Region("belgorod", "Белгородская область", "Belgorod Oblast", _MSK, True),
    Region("bryansk", "Брянская область", "Bryansk Oblast", _MSK, True),
    Region("voronezh", "Воронежская область", "Voronezh Oblast", _MSK, True),
    Region("kostroma", "Костромская область", "Kostroma Oblast", _MSK, True),
    Region("kursk", "Курская область", "Kursk Oblast", _MSK, True),
    Region("lipetsk", "Липецкая область", "Lipetsk Oblast", _MSK, True),
    Region("orel", "Орловская область", "Oryol Oblast", _MSK, True),
    Region("smolensk", "Смоленская область", "Smolensk Oblast", _MSK, True),
    Region("tambov", "Тамбовская область", "Tambov Oblast", _MSK, True),
    Region("tver", "Тверская область", "Tver Oblast", _MSK, True),
    Region("yaroslavl", "Ярославская область", "Yaroslavl Oblast", _MSK, True),
    Region("moscow", "Москва", "Moscow", _MSK),
    Region("moscow_oblast", "Московская область", "Moscow Oblast", _MSK),
    Region("saint_petersburg", "Санкт-Петербург", "Saint Petersburg", _MSK),
    Region("nizhny_novgorod", "Нижегородская область", "Nizhny Novgorod Oblast", _MSK),
    Region("kaliningrad", "Калининградская область", "Kaliningrad Oblast",
           "Europe/Kaliningrad"),
    Region("samara", "Самарская область", "Samara Oblast", "Europe/Samara"),
    Region("udmurtia", "Удмуртская Республика", "Udmurt Republic", "Europe/Samara"),
    Region("yekaterinburg", "Свердловская область", "Sverdlovsk Oblast", "Asia/Yekaterinburg"),
    Region("perm", "Пермский край", "Perm Krai", "Asia/Yekaterinburg"),
    Region("omsk", "Омская область", "Omsk Oblast", "Asia/Omsk"),
    Region("novosibirsk", "Новосибирская область", "Novosibirsk Oblast", "Asia/Novosibirsk"),
    Region("krasnoyarsk", "Красноярский край", "Krasnoyarsk Krai", "Asia/Krasnoyarsk"),
    Region("irkutsk", "Иркутская область", "Irkutsk Oblast", "Asia/Irkutsk"),
    Region("vladivostok", "Приморский край", "Primorsky Krai", "Asia/Vladivostok"),
)

#: region id -> Region (read-only).
REGIONS_BY_ID: Final = MappingProxyType({r.id: r for r in REGIONS})

#: The 11 regions of MRSK Center (IDGC of Centre), the press release's own list.
MRSK_CENTER_REGIONS: Final[tuple[str, ...]] = tuple(r.id for r in REGIONS if r.mrsk_center)

#: region id -> IANA time-zone name (read-only).
REGION_TIMEZONES: Final = MappingProxyType({r.id: r.timezone for r in REGIONS})

#: Zone assumed for a region missing from the table (the standard's home zone).
DEFAULT_TIMEZONE: Final[str] = _MSK


def timezone_for(region: str) -> str:
    """IANA zone of ``region``; unknown regions fall back to Moscow time rather than failing,
    because a misspelt region must not stop the clocks (the 24x7 calendars ignore zones anyway).
    """
    return REGION_TIMEZONES.get(region, DEFAULT_TIMEZONE)


def is_known_region(region: str) -> bool:
    """True when ``region`` is in the table (callers may report unknown ones)."""
    return region in REGIONS_BY_ID


def region_name(region_id: str, lang: Lang = "ru") -> str:
    """The name people read for ``region_id`` in ``lang`` (Russian unless "en"); an unknown
    region shows as its id, so a region missing from the table is visible, never blank."""
    region = REGIONS_BY_ID.get(region_id)
    return region.name(lang) if region is not None else region_id


def region_names() -> dict[str, dict[str, str]]:
    """``{id: {"ru": ..., "en": ...}}`` for every region: the board page's lookup table."""
    return {r.id: {lang: r.name(lang) for lang in LANGS} for r in REGIONS}
