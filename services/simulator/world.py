"""Builds the simulated world for a config: one Site (agent pools) per tenant x region and one
arrival stream per tenant x region x channel, each with its own seeded random generators.

Per-stream generators (``Random("<seed>:<purpose>:<tenant>:<region>:<channel>")``, string
seeds hash with SHA-512, independent of PYTHONHASHSEED) keep streams independent: adding a
storm or a tenant does not reshuffle the other streams' arrivals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from schemas.events import Channel
from schemas.units import HOUR_MS
from services.simulator.calendar import RegionClock, Schedule
from services.simulator.lifecycle import Life, Site
from services.simulator.model import (
    DAY_SHIFT,
    OFFICE_CLOSE_HOUR,
    OFFICE_OPEN_HOUR,
    PROFILES,
    SimConfig,
    TenantSpec,
)
from services.simulator.queueing import AgentPool, agents_for
from streams.sla.regions import timezone_for

PHONE_TARGET_S = 40.0
OFFICE_TARGET_S = 1800.0
PEAK_MARGIN = 1.15  # staff for a bit above the average daytime load; peaks still overflow
WRITTEN = (Channel.EMAIL, Channel.WEB, Channel.MESSENGER, Channel.POST)


@dataclass(slots=True)
class Stream:
    """Arrivals of one tenant x region x channel and the generators that drive them."""

    spec: TenantSpec
    region: str
    channel: Channel
    daily_volume: float
    daytime_rate: float  # mean arrivals per hour, weekdays 8-20 local (storm base)
    clock: RegionClock
    site: Site
    arrivals: Random
    storm: Random
    life: Life


def _daytime_rate(volume: float, channel: Channel, first: float, last: float) -> float:
    """Mean arrivals per hour on a weekday between local hours [first, last)."""
    profile = PROFILES[channel]
    weekday = sum(profile.weekday[:5]) / 5
    hours = range(int(first), int(last))
    return volume * weekday * sum(profile.hourly[h] for h in hours) / len(hours)


def _phone_pool(name: str, agents: int, day_shift: Schedule) -> AgentPool:
    """A 24/7 line: a quarter of the agents (at least one) around the clock, the rest on the
    day shift, so nights are thinly staffed as in a real call centre."""
    core = max(1, math.ceil(agents / 4))
    return AgentPool(name, [None] * core + [day_shift] * (agents - core))


def build_site(config: SimConfig, spec: TenantSpec, region: str, clock: RegionClock) -> Site:
    tm, load = config.timing, config.load_factor
    day_shift = clock.schedule(*DAY_SHIFT, working_days_only=False)
    office_hours = clock.schedule(OFFICE_OPEN_HOUR, OFFICE_CLOSE_HOUR + 1, working_days_only=True)
    desk_hours = clock.schedule(OFFICE_OPEN_HOUR, OFFICE_CLOSE_HOUR, working_days_only=True)
    phone_rate = _daytime_rate(spec.volume(region, Channel.PHONE) * load, Channel.PHONE, *DAY_SHIFT)
    phone_agents = config.agents_per_queue or agents_for(
        phone_rate * PEAK_MARGIN, tm.phone_handle_s * 1.2, PHONE_TARGET_S
    )
    office_rate = _daytime_rate(
        spec.volume(region, Channel.IN_PERSON) * load, Channel.IN_PERSON, 8, 17
    )
    windows = config.office_windows or agents_for(
        office_rate * PEAK_MARGIN, tm.office_handle_s * 1.2, OFFICE_TARGET_S
    )
    written_per_day = sum(spec.volume(region, c) for c in WRITTEN) * load * 7 / 5
    desk_rate = written_per_day / (OFFICE_CLOSE_HOUR - OFFICE_OPEN_HOUR)
    clerks = config.clerks or agents_for(desk_rate, tm.desk_handle_s * 1.2, 3600.0)
    callback_rate = phone_rate * config.behaviour.callback
    callback_agents = agents_for(callback_rate, tm.callback_handle_s * 1.2, 3600.0)
    prefix = f"{spec.name}.{region}"
    return Site(
        tenant=spec.name,
        region=region,
        phone=_phone_pool(f"{prefix}.phone", phone_agents, day_shift),
        office=AgentPool(f"{prefix}.office", [office_hours] * windows),
        desk=AgentPool(f"{prefix}.desk", [desk_hours] * clerks),
        callback=AgentPool(f"{prefix}.callback", [day_shift] * callback_agents),
        desk_hours=desk_hours,
        office_id=f"{prefix}.office1",
    )


def build_streams(config: SimConfig) -> list[Stream]:
    """All arrival streams in a fixed order (tenant, region, channel)."""
    clocks: dict[str, RegionClock] = {}
    streams: list[Stream] = []
    for spec in config.tenant_specs():
        for region in spec.regions:
            tz = timezone_for(region)
            if tz not in clocks:
                clocks[tz] = RegionClock(tz, config.start_ms, config.end_ms)
            clock = clocks[tz]
            site = build_site(config, spec, region, clock)
            for channel in Channel:
                volume = spec.volume(region, channel) * config.load_factor
                if volume <= 0:
                    continue
                key = f"{config.seed}:{spec.name}:{region}:{channel.value}"
                streams.append(
                    Stream(
                        spec=spec,
                        region=region,
                        channel=channel,
                        daily_volume=volume,
                        daytime_rate=_daytime_rate(volume, channel, *DAY_SHIFT),
                        clock=clock,
                        site=site,
                        arrivals=Random(f"arrivals:{key}"),
                        storm=Random(f"storm:{key}"),
                        life=Life(Random(f"life:{key}"), config.timing, config.behaviour),
                    )
                )
    return streams


def hourly_rate(stream: Stream, hour_start: int) -> float:
    """Expected arrivals in the UTC hour starting at ``hour_start`` (local profile, weekday,
    production calendar: non-working weekdays look like Sundays; offices and post are shut)."""
    profile = PROFILES[stream.channel]
    local = stream.clock.local_hour(hour_start)
    if profile.office_hours_only:
        if not local.working:
            return 0.0
        day_factor = profile.weekday[local.weekday] if local.weekday < 5 else 1.0
    elif not local.working and local.weekday < 5:
        day_factor = profile.weekday[6]
    else:
        day_factor = profile.weekday[local.weekday]
    return stream.daily_volume * day_factor * profile.hourly[local.hour]


def poisson_times(rng: Random, rate_per_hour: float, start: int, end: int) -> list[int]:
    """Arrival instants of a Poisson process with a constant rate over [start, end)."""
    if rate_per_hour <= 0 or end <= start:
        return []
    mean_gap = HOUR_MS / rate_per_hour
    times = []
    t = start + rng.expovariate(1.0) * mean_gap
    while t < end:
        times.append(int(t))
        t += rng.expovariate(1.0) * mean_gap
    return times
