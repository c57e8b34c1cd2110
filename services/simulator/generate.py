"""The event stream: contacts arrive hour by hour, live their lives through the agent pools,
and their events come out in (occurred_at, contact, step) order.

Why hour by hour: every contact arriving (joining its queue, or received) at or after the end
of the current hour has all its events at or after that instant minus MAX_LEAD_MS, so every
pending event before that is final and can be yielded. Memory holds one hour of arrivals plus
the open tails of earlier contacts.
Events after the end of the simulated range are dropped: those contacts are still open "now".
"""

from __future__ import annotations

import hmac
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from hashlib import sha256
from heapq import heappop, heappush

from schemas.events import Channel, ContactEvent, CustomerCategory, Kind
from schemas.units import HOUR_MS
from services.simulator import lifecycle
from services.simulator.calendar import utc_hour_floor
from services.simulator.lifecycle import MAX_LEAD_MS, Step
from services.simulator.model import TOPICS, SimConfig, Storm
from services.simulator.world import Stream, build_streams, hourly_rate, poisson_times

CUSTOMERS_PER_SITE = 200_000
REPEAT_WINDOW_MS = 14 * 24 * HOUR_MS
RECENT_KEPT = 500
STORM_OUTAGE_SHARE = 0.85


@dataclass(frozen=True, slots=True)
class Prior:
    """An earlier contact a new one follows up (a redial or a repeat about the same matter)."""

    at: int
    contact_id: str
    customer_ref: str
    kind: Kind
    topic: str


class _Customers:
    """Pseudonymous customers: ref = keyed HMAC of (tenant, index) shaped like the ingest
    API's pseudonyms; the category comes from the same digest, so a customer keeps one
    category across all their contacts."""

    def __init__(self, seed: int, shares: Mapping[CustomerCategory, float]) -> None:
        self.key = f"kontakt-sim-{seed}".encode()
        total = sum(shares.values())
        cumulative, acc = [], 0.0
        for category, share in shares.items():
            acc += share / total
            cumulative.append((acc, category))
        self.cumulative = cumulative
        self.categories: dict[str, CustomerCategory] = {}

    def new(self, tenant: str, index: int) -> str:
        digest = hmac.new(self.key, f"{tenant}:{index}".encode(), sha256).hexdigest()
        ref = f"cr_{digest[:24]}"  # the ingest API's pseudonym format (cr_ + 24 hex)
        u = int(digest[24:32], 16) / 2**32
        self.categories[ref] = next(
            (c for bound, c in self.cumulative if u < bound), self.cumulative[-1][1]
        )
        return ref


def _mix_draw(rng_value: float, mix: Mapping[Kind, float]) -> Kind:
    total = sum(mix.values())
    acc = 0.0
    for kind, share in mix.items():
        acc += share / total
        if rng_value < acc:
            return kind
    return next(iter(mix))


class _Run:
    """State of one generation run; ``events()`` drives it."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.streams = build_streams(config)
        self.customers = _Customers(config.seed, config.category_shares)
        self.recent: dict[str, deque[Prior]] = {}
        self.arrivals: list[tuple[int, int, int, bool, Prior | None]] = []
        self.pending: list[tuple[int, int, int, ContactEvent]] = []
        self.arrival_seq = 0
        self.contacts = 0

    def _push_arrival(self, t: int, index: int, storm: bool, prior: Prior | None) -> None:
        self.arrival_seq += 1
        heappush(self.arrivals, (t, self.arrival_seq, index, storm, prior))

    def _schedule_hour(self, hour: int) -> None:
        for index, stream in enumerate(self.streams):
            rate = hourly_rate(stream, hour)
            for t in poisson_times(stream.arrivals, rate, hour, hour + HOUR_MS):
                self._push_arrival(t, index, False, None)
            if stream.channel is Channel.PHONE:
                for storm in self.config.storms:
                    self._storm_arrivals(index, stream, storm, rate, hour)

    def _storm_arrivals(
        self, index: int, stream: Stream, storm: Storm, rate: float, hour: int
    ) -> None:
        if storm.region != stream.region:
            return
        start = max(hour, storm.start_ms)
        end = min(hour + HOUR_MS, storm.start_ms + storm.duration_ms)
        base = max(rate, stream.daytime_rate)
        for t in poisson_times(stream.storm, base * (storm.factor - 1.0), start, end):
            self._push_arrival(t, index, True, None)

    def _identity(self, stream: Stream, t: int, storm: bool, prior: Prior | None) -> Prior:
        """Who is calling about what: a redial, a repeat of a recent matter, or someone new."""
        rng = stream.life.rng
        site_key = f"{stream.spec.name}:{stream.region}"
        recent = self.recent.setdefault(site_key, deque(maxlen=RECENT_KEPT))
        if prior is None and recent and rng.random() < self.config.behaviour.repeat:
            earlier = recent[rng.randrange(len(recent))]
            if t - earlier.at <= REPEAT_WINDOW_MS:
                related = rng.random() < self.config.behaviour.related
                prior = (
                    earlier
                    if related
                    else Prior(t, "", earlier.customer_ref, earlier.kind, earlier.topic)
                )
        if prior is not None:
            return prior
        ref = self.customers.new(site_key, rng.randrange(CUSTOMERS_PER_SITE))
        if storm and rng.random() < STORM_OUTAGE_SHARE:
            kind = Kind.OUTAGE
        else:
            spec = stream.spec
            mix = {Channel.PHONE: spec.phone_mix, Channel.IN_PERSON: spec.office_mix}.get(
                stream.channel, spec.written_mix
            )
            kind = _mix_draw(rng.random(), mix)
        return Prior(t, "", ref, kind, rng.choice(TOPICS[kind]))

    def _life(self, stream: Stream, kind: Kind, t: int) -> tuple[list[Step], str, bool]:
        """(steps, queue name, abandoned) of one contact on the stream's channel."""
        site, life = stream.site, stream.life
        if stream.channel is Channel.PHONE:
            steps, abandoned = lifecycle.phone(life, site, kind, t)
            return steps, site.phone.name, abandoned
        if stream.channel is Channel.IN_PERSON:
            return lifecycle.office(life, site, kind, t), site.office.name, False
        return lifecycle.written(life, site, stream.channel, kind, t), site.desk.name, False

    def _contact(self, t: int, index: int, storm: bool, prior: Prior | None) -> None:
        stream = self.streams[index]
        who = self._identity(stream, t, storm, prior)
        steps, queue, abandoned = self._life(stream, who.kind, t)
        if steps[0][0] < self.config.start_ms:
            return  # queued just after the start but called in before it: not in the range
        self.contacts += 1
        contact_id = f"sim-{self.config.seed}-{self.contacts}"
        rng = stream.life.rng
        if abandoned and rng.random() < self.config.behaviour.redial:
            again = steps[-1][0] + round(rng.uniform(60, 1200) * 1000)
            follow = Prior(again, contact_id, who.customer_ref, who.kind, who.topic)
            self._push_arrival(again, index, storm, follow)
        self.recent[f"{stream.spec.name}:{stream.region}"].append(
            Prior(t, contact_id, who.customer_ref, who.kind, who.topic)
        )
        category = self.customers.categories[who.customer_ref]
        office = stream.site.office_id if stream.channel is Channel.IN_PERSON else None
        attributes = {"storm": stream.region} if storm else {}
        tenant, region, channel, kind = stream.spec.name, stream.region, stream.channel, who.kind
        topic, ref, related = who.topic, who.customer_ref, who.contact_id or None
        end, n = self.config.end_ms, self.contacts
        for k, (at, etype, agent) in enumerate(steps, start=1):
            if at < end:  # positional: the hot path builds ~1.3 M of these per month
                event = ContactEvent(
                    f"{contact_id}-{k:02d}", contact_id, tenant, region, channel, etype, at,
                    kind, category, office, agent, queue, topic, ref, related, attributes,
                )  # fmt: skip
                heappush(self.pending, (at, n, k, event))

    def events(self, on_hour: Callable[[int], None] | None = None) -> Iterator[ContactEvent]:
        config = self.config
        hour = utc_hour_floor(config.start_ms)
        while hour < config.end_ms:
            horizon = min(hour + HOUR_MS, config.end_ms)
            self._schedule_hour(hour)
            while self.arrivals and self.arrivals[0][0] < horizon:
                t, _, index, storm, prior = heappop(self.arrivals)
                if t >= config.start_ms:
                    self._contact(t, index, storm, prior)
            # later arrivals may still start up to MAX_LEAD_MS before their queue instant
            while self.pending and self.pending[0][0] < horizon - MAX_LEAD_MS:
                yield heappop(self.pending)[3]
            hour += HOUR_MS
            if on_hour is not None:
                on_hour(hour)
        while self.pending:
            yield heappop(self.pending)[3]


def generate(
    config: SimConfig, on_hour: Callable[[int], None] | None = None
) -> Iterator[ContactEvent]:
    """Every event of the simulated range in occurred_at order; ``on_hour(t)`` is called after
    each simulated hour (progress bars). Pure apart from that callback: no clock, no globals."""
    return _Run(config).events(on_hour)
