"""What the simulated utility looks like: tenants, channels' load profiles, mixes, staffing.

Numbers are plausible rather than measured: a grid company gets outage calls, a retail
supplier billing questions, a heat supplier heating complaints. Profiles are relative weights
over the local hour (24 values) and weekday (7 values); a non-working day by the production
calendar is treated like a Sunday.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random
from types import MappingProxyType

from schemas.events import Channel, CustomerCategory, Kind
from schemas.units import DAY_MS, HOUR_MS, MINUTE_MS
from streams.sla.regions import MRSK_CENTER_REGIONS


def _norm(weights: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(weights)
    return tuple(w / total for w in weights)


@dataclass(frozen=True, slots=True)
class ChannelProfile:
    """Shape of one channel's load: share of a day's contacts per local hour, weekday factor."""

    hourly: tuple[float, ...]  # 24 weights, normalised to sum 1
    weekday: tuple[float, ...]  # 7 factors, Monday first, mean about 1
    office_hours_only: bool = False  # arrivals only while the office is open (working days)


PROFILES: Mapping[Channel, ChannelProfile] = MappingProxyType(
    {
        # Calls peak on weekday mornings (9-11), a second smaller hump after lunch.
        Channel.PHONE: ChannelProfile(
            _norm(
                (1, 1, 1, 1, 1, 2, 4, 9, 16, 20, 19, 16, 12, 13, 14, 12, 10, 9, 7, 5, 4, 3, 2, 1)
            ),
            (1.35, 1.15, 1.05, 1.0, 0.95, 0.6, 0.5),
        ),
        # Email arrives all day long, a little more in office hours, weekends quieter.
        Channel.EMAIL: ChannelProfile(
            _norm((2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 7, 7, 8, 8, 7, 6, 6, 6, 5, 5, 4, 3)),
            (1.2, 1.1, 1.05, 1.0, 1.0, 0.7, 0.6),
        ),
        # Web forms and the personal account: evenings at home.
        Channel.WEB: ChannelProfile(
            _norm((2, 1, 1, 1, 1, 1, 2, 4, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 10, 10, 8, 6, 4)),
            (1.1, 1.05, 1.0, 1.0, 0.95, 0.9, 0.9),
        ),
        # Messengers: daytime and evening, weekends close to weekdays.
        Channel.MESSENGER: ChannelProfile(
            _norm((1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 8, 6, 4, 2)),
            (1.05, 1.0, 1.0, 1.0, 1.0, 0.95, 0.95),
        ),
        # Offices: opening hours 8-17 local on working days; busiest late morning.
        Channel.IN_PERSON: ChannelProfile(
            _norm((0, 0, 0, 0, 0, 0, 0, 0, 6, 10, 12, 11, 8, 9, 10, 9, 7, 0, 0, 0, 0, 0, 0, 0)),
            (1.3, 1.1, 1.0, 1.0, 0.9, 0.0, 0.0),
            office_hours_only=True,
        ),
        # Paper mail is delivered and opened in office hours.
        Channel.POST: ChannelProfile(
            _norm((0, 0, 0, 0, 0, 0, 0, 0, 0, 30, 30, 20, 10, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
            (1.2, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0),
            office_hours_only=True,
        ),
    }
)

OFFICE_OPEN_HOUR = 8.0
OFFICE_CLOSE_HOUR = 17.0
DAY_SHIFT = (8.0, 20.0)  # call centre and call-back desk day shift, every day

DEFAULT_CATEGORY_SHARES: Mapping[CustomerCategory, float] = MappingProxyType(
    {
        CustomerCategory.STANDARD: 0.86,
        CustomerCategory.DISABLED: 0.05,
        CustomerCategory.VETERAN: 0.05,
        CustomerCategory.VULNERABLE: 0.04,
    }
)

TOPICS: Mapping[Kind, tuple[str, ...]] = MappingProxyType(
    {
        Kind.INQUIRY: ("billing", "tariff", "meter_reading", "personal_account"),
        Kind.COMPLAINT: ("billing_error", "voltage_quality", "staff_conduct", "repair_delay"),
        Kind.OUTAGE: ("no_power", "partial_outage", "planned_outage", "no_heating"),
        Kind.SERVICE_REQUEST: ("meter_replacement", "reconnection", "documents"),
        Kind.CONNECTION: ("new_connection", "capacity_increase", "connection_status"),
    }
)

KindMix = Mapping[Kind, float]


def _mix(
    inquiry: float, complaint: float, outage: float, service: float, connection: float
) -> KindMix:
    return MappingProxyType(
        {
            Kind.INQUIRY: inquiry,
            Kind.COMPLAINT: complaint,
            Kind.OUTAGE: outage,
            Kind.SERVICE_REQUEST: service,
            Kind.CONNECTION: connection,
        }
    )


@dataclass(frozen=True, slots=True)
class TenantSpec:
    """One utility: its regions, contacts per region per average day on each channel, mixes."""

    name: str
    business: str  # grid | retail | heat
    regions: tuple[str, ...]
    daily_volume: Mapping[Channel, float]
    phone_mix: KindMix
    written_mix: KindMix  # email, web, messenger, post
    office_mix: KindMix
    region_weight: Mapping[str, float] = field(default_factory=dict)

    def volume(self, region: str, channel: Channel) -> float:
        return self.daily_volume.get(channel, 0.0) * self.region_weight.get(region, 1.0)


_BIG_REGIONS = {"voronezh": 1.5, "belgorod": 1.3, "yaroslavl": 1.1, "kostroma": 0.6, "orel": 0.7}

TENANTS: Mapping[str, TenantSpec] = MappingProxyType(
    {
        "mrsk-center": TenantSpec(
            name="mrsk-center",
            business="grid",
            regions=MRSK_CENTER_REGIONS,
            daily_volume={
                Channel.PHONE: 260,
                Channel.EMAIL: 35,
                Channel.WEB: 30,
                Channel.MESSENGER: 20,
                Channel.IN_PERSON: 35,
                Channel.POST: 6,
            },
            phone_mix=_mix(0.40, 0.06, 0.30, 0.12, 0.12),
            written_mix=_mix(0.35, 0.15, 0.05, 0.20, 0.25),
            office_mix=_mix(0.35, 0.08, 0.02, 0.25, 0.30),
            region_weight=_BIG_REGIONS,
        ),
        "energosbyt": TenantSpec(
            name="energosbyt",
            business="retail",
            regions=("belgorod", "voronezh", "kursk", "lipetsk"),
            daily_volume={
                Channel.PHONE: 380,
                Channel.EMAIL: 60,
                Channel.WEB: 70,
                Channel.MESSENGER: 45,
                Channel.IN_PERSON: 60,
                Channel.POST: 8,
            },
            phone_mix=_mix(0.70, 0.08, 0.04, 0.18, 0.0),
            written_mix=_mix(0.55, 0.20, 0.02, 0.23, 0.0),
            office_mix=_mix(0.60, 0.10, 0.0, 0.30, 0.0),
            region_weight=_BIG_REGIONS,
        ),
        "teploset": TenantSpec(
            name="teploset",
            business="heat",
            regions=("yaroslavl", "tver"),
            daily_volume={
                Channel.PHONE: 150,
                Channel.EMAIL: 15,
                Channel.WEB: 15,
                Channel.MESSENGER: 10,
                Channel.IN_PERSON: 15,
                Channel.POST: 4,
            },
            phone_mix=_mix(0.45, 0.10, 0.30, 0.10, 0.05),
            written_mix=_mix(0.45, 0.25, 0.05, 0.15, 0.10),
            office_mix=_mix(0.50, 0.10, 0.0, 0.25, 0.15),
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Storm:
    """An outage storm: a region's phone arrivals multiplied by ``factor`` for a while.

    The multiplied base is the larger of the hour's rate and the average daytime rate: a
    blackout at 3 a.m. still brings a daytime-sized wave of calls onto the thin night shift.
    """

    region: str
    start_ms: int
    duration_ms: int = HOUR_MS
    factor: float = 5.0

    def covers(self, t: int) -> bool:
        return self.start_ms <= t < self.start_ms + self.duration_ms


@dataclass(frozen=True, slots=True)
class Timing:
    """Durations (seconds unless named otherwise); medians of lognormals, sigma shared."""

    ivr_s: tuple[float, float] = (10.0, 40.0)  # uniform, IVR menu before the queue
    phone_handle_s: float = 200.0
    phone_patience_s: float = 75.0
    office_handle_s: float = 720.0
    office_patience_s: float = 2700.0
    desk_handle_s: float = 240.0  # register + classify + assign one written contact
    callback_handle_s: float = 420.0
    email_work_h: float = 6.0  # working hours to answer an email/web/messenger contact
    written_work_h: float = 80.0  # working hours to answer a letter or a complaint
    customer_reply_h: float = 40.0  # calendar hours a paused contact waits for the customer
    sigma: float = 0.6


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Probabilities of the branches of a contact's life."""

    callback: float = 0.12  # an answered call that needs a call-back
    redial: float = 0.45  # an abandoned caller who calls again within minutes
    repeat: float = 0.10  # a new contact by a recent customer about the same matter
    related: float = 0.6  # share of repeats that name the earlier contact (related_to)
    pause: float = 0.12  # a written contact paused to wait for the customer
    close_lag_h: float = 2.0  # mean calendar hours between resolved and closed


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that determines the output; the same config always yields the same bytes."""

    seed: int
    start_ms: int
    days: float
    tenants: tuple[str, ...] = tuple(TENANTS)
    agents_per_queue: int | None = None  # phone agents per queue; None = Erlang C staffing
    office_windows: int | None = None  # per office; None = staffing from the load
    clerks: int | None = None  # back-office desk per tenant x region; None = from the load
    storms: tuple[Storm, ...] = ()
    category_shares: Mapping[CustomerCategory, float] = field(
        default_factory=lambda: DEFAULT_CATEGORY_SHARES
    )
    load_factor: float = 1.0  # multiplies every volume (scale tests down, demos up)
    timing: Timing = Timing()
    behaviour: Behaviour = Behaviour()

    @property
    def end_ms(self) -> int:
        return self.start_ms + round(self.days * DAY_MS)

    def tenant_specs(self) -> tuple[TenantSpec, ...]:
        unknown = [t for t in self.tenants if t not in TENANTS]
        if unknown:
            raise ValueError(f"unknown tenant(s) {unknown}; known: {', '.join(TENANTS)}")
        return tuple(TENANTS[t] for t in self.tenants)


def random_storms(
    seed: int, regions: tuple[str, ...], start_ms: int, end_ms: int, count: int
) -> tuple[Storm, ...]:
    """``count`` storms at seeded random regions and instants (factor 3-6, 1 hour each)."""
    rng = Random(f"storms:{seed}")
    storms = []
    for _ in range(count):
        region = rng.choice(regions)
        at = rng.randrange(start_ms, max(start_ms + 1, end_ms - HOUR_MS))
        storms.append(Storm(region, at - at % MINUTE_MS, factor=round(rng.uniform(3.0, 6.0), 1)))
    return tuple(sorted(storms, key=lambda s: s.start_ms))
