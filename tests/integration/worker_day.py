"""A small deterministic simulated day for the worker tests: every channel, several regions,
breaches of every milestone, pauses, abandons (short and long), call-backs, complaints,
still-waiting calls, then duplicated and out-of-order delivery.

Also the test policy: the milestones of both presets (RAO UES 2007 + Minenergo 186) in one file,
so one day exercises every clock kind.
"""

from __future__ import annotations

import random
from pathlib import Path

from schemas.events import Channel, ContactEvent, EventType, Kind
from schemas.units import DAY_MS, HOUR_MS, MINUTE_MS
from streams.sla.presets import __file__ as _presets_init

MIN, HOUR, DAY = MINUTE_MS, HOUR_MS, DAY_MS
REGIONS = ("kursk", "tver", "yaroslavl", "vladivostok")
TENANTS = ("mrsk-center", "rosseti-volga")


def write_combined_policy(path: Path) -> Path:
    presets = Path(_presets_init).parent
    parts = ['name = "worker-test"\ndescription = "both presets"\n']
    for preset in ("rao-ues-2007.toml", "minenergo-186.toml"):
        text = (presets / preset).read_text(encoding="utf-8")
        parts.append(text[text.index("[[milestones]]") :])
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _phone(rng: random.Random, start: int) -> list[tuple[EventType, int]]:
    steps = [(EventType.QUEUED, start)]
    roll = rng.random()
    if roll < 0.45:
        steps.append((EventType.ANSWERED, start + rng.randint(2_000, 80_000)))
    elif roll < 0.65:
        steps.append((EventType.ABANDONED, start + rng.randint(1_000, 90_000)))
    elif roll < 0.85:
        ask = start + rng.randint(30_000, 60_000)
        steps += [(EventType.ABANDONED, ask), (EventType.CALLBACK_REQUESTED, ask + 1)]
        if rng.random() < 0.8:
            steps.append((EventType.CALLBACK_COMPLETED, ask + rng.randint(10 * MIN, 6 * HOUR)))
    # else: never answered -> breached by the time anyone looks
    return steps


def _written(rng: random.Random, start: int, email: bool) -> list[tuple[EventType, int]]:
    steps = [(EventType.RECEIVED, start)]
    t = start
    if email or rng.random() < 0.5:
        for etype in (EventType.REGISTERED, EventType.CLASSIFIED, EventType.ASSIGNED):
            t += rng.randint(10 * MIN, 10 * HOUR)
            steps.append((etype, t))
    if rng.random() < 0.3:
        t += rng.randint(HOUR, 5 * HOUR)
        steps.append((EventType.PAUSED, t))
        t += rng.randint(HOUR, 10 * HOUR)
        steps.append((EventType.RESUMED, t))
    roll = rng.random()
    if roll < 0.5:
        steps.append((EventType.RESPONDED, t + rng.randint(HOUR, 30 * HOUR)))
    elif roll < 0.65:
        steps.append((EventType.CLOSED, t + rng.randint(MIN, 5 * HOUR)))
    return steps


def _office(rng: random.Random, start: int) -> list[tuple[EventType, int]]:
    steps = [(EventType.QUEUED, start)]
    if rng.random() < 0.8:
        steps.append((EventType.ANSWERED, start + rng.randint(MIN, 50 * MIN)))
    else:
        steps.append((EventType.ABANDONED, start + rng.randint(MIN, 45 * MIN)))
    return steps


def simulated_day(day_start: int, contacts: int = 400, seed: int = 7) -> list[ContactEvent]:
    """Events of ``contacts`` contacts arriving during the day starting at ``day_start``, in
    delivery order: roughly by time, with 10% of contacts shuffled and 5% events duplicated."""
    rng = random.Random(seed)
    channels = [Channel.PHONE] * 5 + [
        Channel.EMAIL,
        Channel.WEB,
        Channel.POST,
        Channel.IN_PERSON,
        Channel.MESSENGER,
    ]
    events: list[ContactEvent] = []
    for n in range(contacts):
        channel = rng.choice(channels)
        start = day_start + rng.randint(0, DAY - HOUR)
        kind = rng.choice([Kind.INQUIRY, Kind.INQUIRY, Kind.OUTAGE, Kind.COMPLAINT])
        if channel in (Channel.PHONE, Channel.MESSENGER):
            steps = _phone(rng, start)
        elif channel is Channel.IN_PERSON:
            steps = _office(rng, start)
        else:
            steps = _written(rng, start, channel is Channel.EMAIL)
        if kind is Kind.COMPLAINT and channel is not Channel.PHONE and rng.random() < 0.5:
            steps = [s for s in steps if s[0] is not EventType.REGISTERED]
        contact = f"c{n:05d}"
        region = REGIONS[n % len(REGIONS)]
        office = f"{region}-office-{n % 2}" if channel is Channel.IN_PERSON else None
        for i, (etype, at) in enumerate(steps):
            events.append(
                ContactEvent(
                    event_id=f"{contact}-{i}",
                    contact_id=contact,
                    tenant=TENANTS[n % 2],
                    region=region,
                    channel=channel,
                    type=etype,
                    occurred_at=at,
                    kind=kind,
                    office=office,
                )
            )
    events.sort(key=lambda e: (e.occurred_at, e.event_id))
    shuffled = {e.contact_id for e in events if rng.random() < 0.1}
    delivered: list[ContactEvent] = []
    for e in events:
        delivered.append(e)
        if rng.random() < 0.05:
            delivered.append(e)  # redelivery
    late = [
        e
        for e in delivered
        if e.contact_id in shuffled
        and e.type is not EventType.QUEUED
        and e.type is not EventType.RECEIVED
    ]
    rest = [e for e in delivered if e not in late]
    return rest + list(reversed(late))  # out of order: later events of some contacts first...
