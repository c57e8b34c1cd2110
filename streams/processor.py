"""The worker's logic for the contacts of its partitions, with no faust import.

``ContactProcessor`` is what the Faust agents and timers call. Per contact it keeps the table
value (the folded state plus the signatures of what was already emitted), asks the SLA core for
outcomes and the next instant of change, and returns what to emit. It also owns the deadline
heap (streams.timers), the per-partition live metrics (streams.live_metrics) and the new phone
contacts per tenant, region and minute for the storm rule (streams.storm). No SLA arithmetic here.

Time: events carry their own ``occurred_at``; ``now`` is the wall clock passed in by the faust
edge, because a breach must be noticed when nothing arrives. Open clocks are judged at
``judged_at`` -- the partition's read watermark capped by ``now`` (streams.watermarks) -- minus
the contact's allowed lateness, so no warning or breach is raised for an instant whose events may
still be unread; the events already folded count whatever their instant (evaluate's
``events_until``). Without ``judged_at`` (tests, tools) clocks are judged at ``now``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.events import Channel, ContactEvent, EventType, Kind
from schemas.units import MINUTE_MS
from streams import emissions
from streams.live_metrics import LiveMetrics, MetricsConfig, facts_of
from streams.sla.clock import Outcome, Status, evaluate_next
from streams.sla.policy import Policy
from streams.sla.state import ContactState, fold, state_from_dict, state_to_dict
from streams.sla.versions import Rules, rules_of
from streams.step_log import Kept, as_kept, kept_record, resent, seal
from streams.timers import DeadlineHeap

#: Allowed lateness per (tenant, channel) in ms; "*" as the tenant matches every tenant.
Lateness = Mapping[tuple[str, str], int]

#: Steps remembered per contact, to re-send what a re-delivered offset emitted (see on_event).
STEP_LOG = 8
#: Decoded contacts kept by default (services.settings' worker_cache_contacts has the same
#: default; a test pins them together). Measured (bench/faust_levers.py --compare-env): 200,000,
#: 20,000 and 0 ran the worker at 162, 154 and 142 CPU us per event -- a table read and decode
#: costs no more than keeping the LRU -- while each cached contact held ~2.2 KB: at 1M open
#: contacts 756 bytes per contact with 200,000 cached, 442 with 20,000 (bench/memory.py shape).
CACHE_CONTACTS = 20_000
#: Contacts whose live figures wait for the next snapshot, at most: beyond it they are brought
#: up to date at once. The waiting list holds each contact's state and outcomes; unbounded, a
#: backlog read between two snapshots kept every state it touched alive (bench/memory.py: 1,413
#: against 621 bytes per uncached contact when snapshots came every 20,000 events).
METRICS_DUE_MAX = 10_000


@dataclass(slots=True)
class Entry:
    """One contact as the worker holds it between events.

    ``steps`` lists, for the last input offsets applied, the records they emitted:
    [offset, alerts, outcomes], each record kept as it was sent (``Kept``: its Avro bytes as
    base64 text, so the table value stays JSON). ``pending`` holds what the timer emitted
    since the contact's last event; it is written to the table with the timer's emission
    (before its records are sent, streams.agents.commit), re-sent after a recovery, and joins
    the next event's step.
    ``unwritten``: the timer changed the entry and the table does not have it yet (never
    encoded). ``judged``: the latest instant its open clocks were judged at; a later judgement
    never goes back before it (after a restart the partition's read watermark is unknown for a
    while, but what was judged then stays judged).
    ``appeal``: (a state, the fingerprint of the own appeal it makes) -- kept in memory only
    (never in the table value), by the agent that emits a customer-less contact's appeal from
    its state (streams.appeal_links.route), so the next event need not work the earlier
    appeal out again; trusted only while ``state`` is that very state.
    """

    state: ContactState
    signatures: dict[str, emissions.Signature]
    partition: int
    steps: list[list[Any]] = field(default_factory=list)
    pending: tuple[tuple[Kept, ...], tuple[Kept, ...]] = ((), ())
    judged: int = 0
    unwritten: bool = False
    appeal: tuple[ContactState, str] | None = None

    @property
    def dirty(self) -> bool:
        """Changed by the timer and not in the table yet: must not be evicted or retired."""
        return self.unwritten


@dataclass(slots=True)
class StormCounts:
    """New phone contacts per (tenant, region, minute): [all, outage]."""

    pending: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)

    def add(self, tenant: str, region: str, instant: int, outage: bool) -> None:
        counts = self.pending.setdefault((tenant, region, instant - instant % MINUTE_MS), [0, 0])
        counts[0] += 1
        counts[1] += int(outage)

    def drain(self) -> list[dict[str, Any]]:
        out = [
            {"tenant": tenant, "region": region, "minute": minute, "total": c[0],
             "outage": c[1]}
            for (tenant, region, minute), c in sorted(self.pending.items())
        ]
        self.pending.clear()
        return out


def encode_value(entry: Entry) -> bytes:
    """Table value: the folded state, the emitted signatures, the partition, the step log, the
    judgement and (only when there are any) the timer's records since the last event."""
    doc = {
        "s": state_to_dict(entry.state), "e": entry.signatures, "p": entry.partition,
        "l": entry.steps, "j": entry.judged,
    }
    if entry.pending[0] or entry.pending[1]:
        doc["q"] = entry.pending
    return orjson.dumps(doc)


def decode_value(raw: bytes) -> Entry:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"contacts table value is a {type(raw).__name__}: {raw!r:.200}")
    doc = orjson.loads(raw)
    pending = doc.get("q")
    steps = [[offset, [as_kept(a, True) for a in alerts], [as_kept(o, False) for o in outcomes]]
             for offset, alerts, outcomes in doc.get("l", ())]
    return Entry(state_from_dict(doc["s"]), dict(doc["e"]), int(doc["p"]), steps,
                 (tuple(as_kept(a, True) for a in pending[0]),
                  tuple(as_kept(o, False) for o in pending[1]))
                 if pending else ((), ()),
                 judged=int(doc.get("j", 0)))


class ContactProcessor:
    """Folds events, emits changed outcomes and alerts, keeps the open clocks."""

    def __init__(
        self,
        policy: Policy | Rules,
        metrics: MetricsConfig | None = None,
        cache_size: int = CACHE_CONTACTS,
        lateness: Lateness | None = None,
    ) -> None:
        #: the platform default and the tenants' versions; the policy feed replaces it live
        self.rules: Rules = rules_of(policy)
        self.lateness: Lateness = dict(lateness or {})
        self.metrics_cfg = metrics or MetricsConfig()
        self.heap = DeadlineHeap()
        self.metrics: dict[int, LiveMetrics] = {}
        self.storm = StormCounts()
        self._cache: dict[str, Entry] = {}  # insertion order = least recently used first
        self._cache_size = cache_size
        self._metrics_due: dict[str, tuple[int, ContactState, list[Outcome]]] = {}
        #: milestone -> clocks whose last emitted status is open (kept as outcomes change)
        self.open_clocks: dict[str, int] = {}
        #: entries the timer changed, to write to the table before their records are sent
        self._unwritten: dict[str, Entry] = {}
        #: contacts whose recovered table value holds timer records since their last event:
        #: they may not have reached the broker before the crash, so they are sent again,
        #: once -- by the next on_timer, or first in the emission of the contact's next event
        #: if that comes before (after it they would put an older outcome after the newer)
        self._resend: dict[str, None] = {}

    def cached(self, contact_id: str) -> Entry | None:
        """The contact's entry if the processor holds it (no table read)."""
        return self._cache.get(contact_id)

    def is_cached(self, contact_id: str) -> bool:
        """True when on_event will not need the stored table value (skip the table read)."""
        return contact_id in self._cache

    # --- events --------------------------------------------------------------------------
    def late_ms(self, state: ContactState) -> int:
        """The allowed lateness of the contact's source: judged that much later."""
        lateness = self.lateness
        if not lateness:
            return 0
        channel = state.channel.value
        found = lateness.get((state.tenant, channel))
        return lateness.get(("*", channel), 0) if found is None else found

    def on_event(
        self, stored: bytes | None, event: ContactEvent, partition: int, offset: int, now: int,
        judged_at: int | None = None,
    ) -> tuple[bytes | None, emissions.Emission]:
        """Fold ``event`` (read at input ``offset``) into the contact. Returns the new table
        value (None when nothing changed) and the records to send.

        faust is at-least-once and the table changelog may reach the broker before the records
        an event emitted: after a crash, an offset already in the table's step log is
        re-delivered, and what it emitted then is sent again (same ids) instead of nothing.
        """
        entry, emission = self.apply_event(stored, event, partition, offset, now, judged_at)
        return (None if entry is None else encode_value(entry)), emission

    def apply_event(
        self, stored: bytes | Entry | None, event: ContactEvent, partition: int, offset: int,
        now: int, judged_at: int | None = None,
    ) -> tuple[Entry | None, emissions.Emission]:
        """:meth:`on_event` without encoding the table value: the changed Entry (None when
        nothing changed). A batch folds several events of a contact and encodes its value once
        (``encode_value``), before any await lets the timer touch the entry. ``stored`` may
        be an Entry the batch changed but has not written yet."""
        entry = self._cache.get(event.contact_id)
        if entry is None and stored is not None:
            entry = stored if isinstance(stored, Entry) else decode_value(stored)
        if entry is not None:
            for index, (step_offset, alerts, outcomes) in enumerate(entry.steps):
                if step_offset == offset:
                    return None, resent(
                        alerts, [*outcomes, *_newer_revisions(entry, index, outcomes)],
                        entry.signatures)
        old_state = entry.state if entry else None
        state = fold(old_state, event)
        if entry is not None and state is old_state and not entry.dirty:
            return None, emissions.Emission(signatures=entry.signatures)
        if entry is None:
            entry = Entry(state, {}, partition)
        entry.state = state
        emission = self._evaluate(entry, now, judged_at)
        kept_alerts, kept_outcomes = seal(emission)
        pending = entry.pending
        alerts = [*pending[0], *kept_alerts]
        outcomes = [*pending[1], *kept_outcomes]
        if self._resend and event.contact_id in self._resend:  # recovered, not re-sent yet
            del self._resend[event.contact_id]
            first = resent(pending[0], pending[1], emission.signatures)
            emission = emissions.Emission(
                [*first.alerts, *emission.alerts], [*first.outcomes, *emission.outcomes],
                emission.signatures, [*first.alert_bytes, *emission.alert_bytes],
                [*first.outcome_bytes, *emission.outcome_bytes])
        entry.steps = [*entry.steps, [offset, alerts, outcomes]][-STEP_LOG:]
        entry.pending = ((), ())  # immutable: one shared empty value, not two lists per contact
        entry.unwritten = False  # the caller writes this entry (write_contacts)
        self._unwritten.pop(event.contact_id, None)
        self._remember(event.contact_id, entry)
        if old_state is None or not _offered(old_state):
            self._count_storm(state)
        return entry, emission

    def _evaluate(self, entry: Entry, now: int, judged_at: int | None) -> emissions.Emission:
        """Outcomes with open clocks judged at ``judged_at`` less the lateness (the events
        folded so far all count), the records of what changed (stamped ``now``), and the
        contact's next instant in the heap -- in judgement time: the lateness added back."""
        state = entry.state
        late = self.late_ms(state)
        judge = (now if judged_at is None else judged_at) - late
        if judge < entry.judged:
            judge = entry.judged
        entry.judged = judge
        policy = self.rules.for_state(state)
        outcomes, nxt = evaluate_next(state, policy, judge, now)
        before = entry.signatures
        emission = emissions.diff(outcomes, before, now)
        entry.signatures = emission.signatures
        if emission.outcomes:
            self._count_open(before, emission.outcomes)
        contact_id = state.contact_id
        self.heap.schedule(contact_id, None if nxt is None else nxt + late, entry.partition)
        due = self._metrics_due
        due[contact_id] = (entry.partition, state, outcomes)
        if len(due) > METRICS_DUE_MAX:
            self._update_metrics()
        return emission

    def _count_open(self, before: Mapping[str, emissions.Signature],
                    records: list[dict[str, Any]]) -> None:
        counts = self.open_clocks
        for record in records:
            milestone = record["milestone"]
            was = before.get(milestone)
            delta = (record["status"] == "open") - (was is not None and was[0] == "open")
            if delta:
                counts[milestone] = counts.get(milestone, 0) + delta

    # --- timers --------------------------------------------------------------------------
    def on_timer(
        self, now: int, lookup: Callable[[str], bytes | None],
        judged_at: Mapping[int, int] | None = None, instants: list[int] | None = None,
    ) -> list[emissions.Emission]:
        """Re-evaluate every contact whose next instant has passed -- with ``judged_at``
        (partition -> its judgement instant), passed that partition's instant, and judged at
        it; a partition missing from it is held. ``lookup`` reads the table for contacts not in
        the cache. ``instants`` gets the instant each contact was due at (DeadlineHeap).
        The entries changed are then :meth:`take_unwritten`'s, for the caller to write.
        The first call after :meth:`rebuild` also returns the recovered timer records."""
        out = self._pending_since_recovery(lookup)
        for contact_id in self.heap.pop_due(now, judged_at, instants):
            entry = self._cache.get(contact_id)
            if entry is None:
                raw = lookup(contact_id)
                if raw is None:
                    continue
                entry = decode_value(raw)
            judge = None if judged_at is None else judged_at.get(entry.partition, 0)
            emission = self._evaluate(entry, now, judge)
            if emission.changed:
                kept_alerts, kept_outcomes = seal(emission)
                pending = entry.pending
                entry.pending = ((*pending[0], *kept_alerts), (*pending[1], *kept_outcomes))
                entry.unwritten = True
                self._unwritten[contact_id] = entry
                out.append(emission)
            self._remember(contact_id, entry)
        return out

    def _pending_since_recovery(
        self, lookup: Callable[[str], bytes | None]
    ) -> list[emissions.Emission]:
        """The timer records the recovered table values held, of the contacts no event has
        been folded into since (apply_event sends them first in its emission)."""
        out: list[emissions.Emission] = []
        resend, self._resend = self._resend, {}
        for contact_id in resend:
            entry = self._cache.get(contact_id)
            if entry is None:
                raw = lookup(contact_id)
                entry = None if raw is None else decode_value(raw)
            if entry is not None and (entry.pending[0] or entry.pending[1]):
                out.append(resent(entry.pending[0], entry.pending[1], entry.signatures))
        return out

    def take_unwritten(self) -> list[tuple[str, Entry]]:
        """The entries the timer changed since the last call, marked written: the caller
        writes them to the table (encode_value) before it sends the records on_timer returned,
        so that a restarted worker knows what was raised -- a breach it cannot see in the table
        could not be retracted when the answer is read."""
        taken = list(self._unwritten.items())
        self._unwritten.clear()
        for _contact_id, entry in taken:
            entry.unwritten = False
        return taken

    # --- retention -----------------------------------------------------------------------
    def retire(self, contact_id: str, stored: bytes | None, now: int, keep_ms: int) -> int | None:
        """If the contact is finished -- no clock open, no change scheduled, nothing emitted
        that is not in the table yet, and its last event older than ``now - keep_ms`` --
        forget it and return its partition (the caller deletes it from the table); else
        None. ``stored`` is its table value; a cached entry is newer and wins."""
        entry = self._cache.get(contact_id)
        if entry is None:
            if stored is None:
                return None
            entry = decode_value(stored)
        if entry.dirty or _has_open(entry) or contact_id in self.heap:
            return None
        if entry.state.events[-1].occurred_at >= now - keep_ms:
            return None
        self._cache.pop(contact_id, None)
        self._metrics_due.pop(contact_id, None)
        return entry.partition

    # --- recovery ------------------------------------------------------------------------
    def rebuild(self, items: Iterable[tuple[bytes, bytes]], now: int) -> None:
        """Forget everything and reload the open clocks and today's figures from the table
        (after recovery or a rebalance). Contacts whose outcome changed while no worker
        watched them are scheduled at ``now`` so the next timer tick emits the change."""
        self.heap.clear()
        self.metrics.clear()
        self._cache.clear()
        self._metrics_due.clear()
        self._unwritten.clear()
        self._resend = {}
        self.open_clocks = {}
        horizon = now - self.metrics_cfg.keep_ms
        for _key, raw in items:
            entry = decode_value(raw)
            state = entry.state
            if entry.pending[0] or entry.pending[1]:
                self._resend[state.contact_id] = None
            for milestone, sig in entry.signatures.items():
                if sig[0] == Status.OPEN.value:
                    self.open_clocks[milestone] = self.open_clocks.get(milestone, 0) + 1
            if state.events[-1].occurred_at < horizon and not _has_open(entry):
                continue
            late = self.late_ms(state)
            policy = self.rules.for_state(state)
            outcomes, later = evaluate_next(state, policy, now - late, now)
            self._metrics_for(entry.partition).update(state.contact_id, _facts(state, outcomes))
            changed = emissions.diff(outcomes, entry.signatures, now).changed
            nxt = now if changed else (None if later is None else later + late)
            self.heap.schedule(state.contact_id, nxt, entry.partition)

    # --- periodic output -----------------------------------------------------------------
    def snapshots(self, now: int) -> list[dict[str, Any]]:
        """MetricsSnapshotTaken datums of every partition. The figures of contacts changed
        since the last snapshot are brought up to date here, once per contact, rather than on
        every event (a contact often gets several events between two snapshots)."""
        self._update_metrics()
        out = []
        for partition in sorted(self.metrics):
            live = self.metrics[partition]
            live.prune(now)
            out.extend(live.snapshot(now))
        return out

    def _update_metrics(self) -> None:
        """The live figures of the contacts changed since they were last brought up to date."""
        for contact_id, (partition, state, outcomes) in self._metrics_due.items():
            self._metrics_for(partition).update(contact_id, _facts(state, outcomes))
        self._metrics_due.clear()

    def _metrics_for(self, partition: int) -> LiveMetrics:
        live = self.metrics.get(partition)
        if live is None:
            live = self.metrics[partition] = LiveMetrics(partition, self.metrics_cfg)
        return live

    def _remember(self, contact_id: str, entry: Entry) -> None:
        """Keep recently touched contacts decoded (an LRU bounded by cache_size): the next
        event or timer of a contact then skips the table read and JSON decoding. Entries with
        timer emissions not yet written to the table are never evicted."""
        cache = self._cache
        cache.pop(contact_id, None)
        cache[contact_id] = entry
        if len(cache) > self._cache_size:
            oldest = [k for k, v in itertools.islice(cache.items(), self._cache_size // 10 + 1)
                      if not v.dirty]
            for key in oldest:
                del cache[key]

    def _count_storm(self, state: ContactState) -> None:
        if state.channel is Channel.PHONE and _offered(state):
            first = state.events[0]
            self.storm.add(state.tenant, state.region, first.occurred_at,
                           state.kind is Kind.OUTAGE)


def _newer_revisions(entry: Entry, index: int, outcomes: list[Kept]) -> list[Kept]:
    """The newest outcome record of each milestone in ``outcomes`` (step ``index``'s) that a
    later step or the timer's records since the last event hold. A re-delivered offset re-sends
    its step's records (same ids); without these after them, an older revision would follow
    the newer one on the outcomes topic -- a breach the timer raised before a crash or a
    rebalance would read as still open, against the topic's contract that the last record per
    (contact, milestone) is the current one. (Decodes the records: re-delivery is rare.)"""
    touched = {kept_record(o)["milestone"] for o in outcomes}
    newest: dict[str, Kept] = {}
    later = [o for _offset, _alerts, step in entry.steps[index + 1:] for o in step]
    for kept in [*later, *entry.pending[1]]:
        milestone = kept_record(kept)["milestone"]
        if milestone in touched:
            newest[milestone] = kept
    return list(newest.values())


_QUEUED, _RECEIVED = EventType.QUEUED, EventType.RECEIVED  # identity checks, run per event


def _offered(state: ContactState) -> bool:
    return any(e.type is _QUEUED or e.type is _RECEIVED for e in state.events)


def _has_open(entry: Entry) -> bool:
    return any(sig[0] == Status.OPEN.value for sig in entry.signatures.values())


def _facts(state: ContactState, outcomes: list[Outcome]) -> Any:
    breaches = (
        o.due_at for o in outcomes if o.status is Status.BREACHED and o.due_at is not None
    )
    return facts_of(state.events, breaches)
