"""Region ids and their IANA time zones.

Working-hours calendars count local time, so every region a tenant serves needs a zone. The
region id is the lower-case ASCII name used in events (``ContactEvent.region``). The simulator
and the ClickHouse helpers import this table, so ids here are part of the shared vocabulary:
add, never rename.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: The 11 regions of MRSK Center (IDGC of Centre), the press release's own list.
MRSK_CENTER_REGIONS: Final[tuple[str, ...]] = (
    "belgorod",
    "bryansk",
    "voronezh",
    "kostroma",
    "kursk",
    "lipetsk",
    "orel",
    "smolensk",
    "tambov",
    "tver",
    "yaroslavl",
)

_OTHER_REGIONS: Final[dict[str, str]] = {
    "moscow": "Europe/Moscow",
    "moscow_oblast": "Europe/Moscow",
    "saint_petersburg": "Europe/Moscow",
    "nizhny_novgorod": "Europe/Moscow",
    "kaliningrad": "Europe/Kaliningrad",
    "samara": "Europe/Samara",
    "udmurtia": "Europe/Samara",
    "yekaterinburg": "Asia/Yekaterinburg",
    "perm": "Asia/Yekaterinburg",
    "omsk": "Asia/Omsk",
    "novosibirsk": "Asia/Novosibirsk",
    "krasnoyarsk": "Asia/Krasnoyarsk",
    "irkutsk": "Asia/Irkutsk",
    "vladivostok": "Asia/Vladivostok",
}

#: region id -> IANA time-zone name (read-only).
REGION_TIMEZONES: Final = MappingProxyType(
    {**{region: "Europe/Moscow" for region in MRSK_CENTER_REGIONS}, **_OTHER_REGIONS}
)

#: Zone assumed for a region missing from the table (the standard's home zone).
DEFAULT_TIMEZONE: Final[str] = "Europe/Moscow"


def timezone_for(region: str) -> str:
    """IANA zone of ``region``; unknown regions fall back to Moscow time rather than failing,
    because a misspelt region must not stop the clocks (the 24x7 calendars ignore zones anyway).
    """
    return REGION_TIMEZONES.get(region, DEFAULT_TIMEZONE)


def is_known_region(region: str) -> bool:
    """True when ``region`` has an explicit zone (callers may report unknown ones)."""
    return region in REGION_TIMEZONES
