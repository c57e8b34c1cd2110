"""The worker's logic without faust: events, timers, duplicates, rebuild after recovery."""

from __future__ import annotations

from schemas.events import Channel, ContactEvent, EventType
from streams.processor import ContactProcessor, decode_value, encode_value
from streams.sla.policy import load_policy
from streams.step_log import kept_record

T0 = 1_795_000_020_000


def ev(n: int, etype: EventType, offset_ms: int, contact: str = "c1") -> ContactEvent:
    return ContactEvent(f"{contact}-{n}", contact, "t", "kursk", Channel.PHONE, etype,
                        T0 + offset_ms)


def alerts(emissions: list) -> list[tuple[str, float | None]]:
    return [(a["alert"], a["threshold"]) for e in emissions for a in e.alerts]


def test_a_waiting_call_warns_then_breaches_on_the_timer_alone() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, emission = proc.on_event(None, ev(1, EventType.QUEUED, 0), 2, 0, T0 + 10)
    assert value is not None and emission.alerts == []
    fired: list = []
    for now in range(T0, T0 + 45_000, 100):  # a 100 ms timer tick
        fired.extend(proc.on_timer(now, lambda c: None))
    assert alerts(fired) == [("warning", 0.5), ("warning", 0.8), ("warning", 0.9),
                             ("breached", None)]
    breach = fired[-1].alerts[0]
    assert 40_000 < breach["raised_at"] - T0 <= 40_100
    assert proc.heap.next_instant() is None


def test_answer_in_time_stops_the_clock_and_duplicates_change_nothing() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    value, emission = proc.on_event(value, ev(2, EventType.ANSWERED, 15_000), 0, 1, T0 + 15_000)
    assert alerts([emission]) == [("met", None)]
    assert proc.heap.next_instant() is None
    again, emission = proc.on_event(value, ev(2, EventType.ANSWERED, 15_000), 0, 2, T0 + 16_000)
    assert again is None and not emission.changed


def test_late_events_give_the_same_final_outcome_as_in_order() -> None:
    events = [ev(1, EventType.QUEUED, 0), ev(2, EventType.ANSWERED, 30_000)]
    finals = []
    for order in (events, events[::-1]):
        proc = ContactProcessor(load_policy("rao-ues-2007"))
        value = None
        for offset, e in enumerate(order):
            value, _ = proc.on_event(value, e, 0, offset, T0 + 100_000)
        assert value is not None
        finals.append(decode_value(value).signatures)
    assert finals[0] == finals[1]
    assert finals[0]["phone.answer"][0] == "met"


def test_rebuild_reschedules_open_clocks_and_emits_what_changed_meanwhile() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 1, 0, T0)
    done, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0, "c2"), 1, 1, T0)
    done, _ = proc.on_event(done, ev(2, EventType.ANSWERED, 1000, "c2"), 1, 2, T0 + 1000)
    assert value is not None and done is not None
    fresh = ContactProcessor(load_policy("rao-ues-2007"))  # a restarted worker
    fresh.rebuild([(b"c1", value), (b"c2", done)], T0 + 60_000)
    assert len(fresh.heap) == 1
    fired = fresh.on_timer(T0 + 60_000, lambda c: value if c == "c1" else None)
    assert alerts(fired) == [("breached", None)]
    assert {r["partition"] for r in fresh.snapshots(T0 + 60_000)} == {1}


def test_storm_counts_new_phone_contacts_once() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    proc.on_event(value, ev(2, EventType.ANSWERED, 500), 0, 1, T0)
    assert proc.storm.drain() == [
        {"tenant": "t", "region": "kursk", "minute": T0, "total": 1, "outage": 0}
    ]
    assert proc.storm.drain() == []


def test_a_redelivered_offset_resends_what_it_emitted_before_a_crash() -> None:
    """The table changelog reached the broker but the alerts did not: the restarted worker
    gets the same offsets again and must send the same records, not nothing."""
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, first = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 10, T0 + 60_000)
    assert value is not None
    value, second = proc.on_event(value, ev(2, EventType.ANSWERED, 5_000), 0, 11, T0 + 60_000)
    assert value is not None
    restarted = ContactProcessor(load_policy("rao-ues-2007"))
    restarted.rebuild([(b"c1", value)], T0 + 70_000)
    again1 = restarted.on_event(value, ev(1, EventType.QUEUED, 0), 0, 10, T0 + 70_000)[1]
    again2 = restarted.on_event(value, ev(2, EventType.ANSWERED, 5_000), 0, 11, T0 + 70_000)[1]
    assert [a["alert_id"] for a in again1.alerts] == [a["alert_id"] for a in first.alerts]
    assert [a["alert_id"] for a in again2.alerts] == [a["alert_id"] for a in second.alerts]
    assert again2.outcomes[-1]["status"] == "met"
    # a genuine duplicate at a new offset sends nothing
    dup = restarted.on_event(value, ev(2, EventType.ANSWERED, 5_000), 0, 12, T0 + 70_000)
    assert dup[0] is None and not dup[1].changed


def test_timer_emissions_join_the_next_step() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    fired = proc.on_timer(T0 + 41_000, lambda c: None)
    assert alerts(fired)[-1] == ("breached", None)
    value, _ = proc.on_event(value, ev(2, EventType.ANSWERED, 50_000), 0, 1, T0 + 50_000)
    assert value is not None
    step = decode_value(value).steps[-1]
    assert step[0] == 1 and "breached" in [kept_record(a)["alert"] for a in step[1]]


def test_one_pass_of_evaluate_next_agrees_with_evaluate_and_next_change() -> None:
    """What the processor asks after every event (streams.sla.clock.evaluate_next), over a
    simulated day of every channel and milestone, judged at the instant or behind it."""
    import tempfile
    from pathlib import Path

    from streams.sla.clock import evaluate, evaluate_next, next_change
    from streams.sla.policy import load_policy as load
    from streams.sla.state import build_state
    from tests.integration.worker_day import DAY, simulated_day, write_combined_policy

    policy = load(str(write_combined_policy(Path(tempfile.mkdtemp()) / "p.toml")))
    events = simulated_day(T0 - T0 % DAY, contacts=150)
    by_contact: dict[str, list[ContactEvent]] = {}
    for e in events:
        by_contact.setdefault(e.contact_id, []).append(e)
    scheduled = 0
    for evs in by_contact.values():
        state = build_state(evs)
        for now in sorted({e.occurred_at for e in evs} | {evs[0].occurred_at + 41_000}):
            for judge in (now, now - 700):  # judged at now, or behind it (a read watermark)
                outcomes, nxt = evaluate_next(state, policy, judge, now)
                assert outcomes == evaluate(state, policy, judge, now)
                assert nxt == next_change(state, policy, judge, now)
                scheduled += nxt is not None
    assert scheduled  # the day has clocks still to change, not only finished ones


def test_a_cached_contact_needs_no_table_value() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"), cache_size=1)
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    assert proc.is_cached("c1")
    value, emission = proc.on_event(None, ev(2, EventType.ANSWERED, 5_000), 0, 1, T0 + 5_000)
    assert [a["alert"] for a in emission.alerts] == ["met"]
    proc.on_event(None, ev(1, EventType.QUEUED, 0, "c2"), 0, 2, T0)  # evicts c1 (LRU of 1)
    assert not proc.is_cached("c1") and proc.is_cached("c2")


def test_retire_only_finished_contacts_past_the_retention() -> None:
    day = 86_400_000
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    value, _ = proc.on_event(value, ev(2, EventType.ANSWERED, 5_000), 0, 1, T0 + 5_000)
    assert proc.retire("c1", value, T0 + 5 * day, keep_ms=7 * day) is None  # too recent
    assert proc.retire("c1", value, T0 + 8 * day, keep_ms=7 * day) == 0
    assert not proc.is_cached("c1")
    # a clock still before its deadline is never retired, however short the retention
    email = ContactEvent("m1", "m1", "t", "kursk", Channel.EMAIL, EventType.RECEIVED, T0)
    stored, _ = proc.on_event(None, email, 2, 0, T0 + 1_000)
    assert proc.retire("m1", stored, T0 + 60_000, keep_ms=1) is None
    # nor one with timer emissions not yet written to the table
    fresh = ContactProcessor(load_policy("rao-ues-2007"))
    waiting, _ = fresh.on_event(None, ev(1, EventType.QUEUED, 0, contact="c2"), 1, 0, T0)
    assert fresh.on_timer(T0 + 41_000, lambda c: None)  # breached: pending in the cache
    assert fresh.retire("c2", waiting, T0 + 41_000, keep_ms=1) is None


def test_judged_at_the_read_watermark_a_backlog_call_answered_in_time_is_never_breached() -> None:
    """The worker is behind: the wall clock is 90 s past the call, but its partition is read
    only up to 10 s after it. The queued event is folded, the answer (8 s) is not yet: no
    breach while the watermark is short of the deadline; the answer then meets the clock."""
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    now = T0 + 90_000
    value, emission = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, now,
                                    judged_at=T0 + 10_000)
    assert alerts([emission]) == []
    fired = proc.on_timer(now, lambda c: None, {0: T0 + 30_000})
    assert alerts(fired) == [("warning", 0.5)]  # crossed at 20 s; 0.8 is at 32 s, not yet read
    assert proc.heap.instant_of("c1") == T0 + 32_000
    assert proc.on_timer(now, lambda c: None, {1: now}) == []  # another partition's mark
    value, emission = proc.on_event(value, ev(2, EventType.ANSWERED, 8_000), 0, 1, now + 5,
                                    judged_at=T0 + 20_000)
    assert alerts([emission]) == [("met", None)]


def test_a_late_source_is_judged_its_lateness_later() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"), lateness={("t", "phone"): 30_000})
    proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0 + 45_000, judged_at=T0 + 45_000)
    assert proc.heap.instant_of("c1") == T0 + 50_000  # the 0.5 warning, 30 s later
    fired = []
    for now in range(T0 + 45_000, T0 + 70_001, 100):
        fired.extend(proc.on_timer(now, lambda c: None, {0: now}))
    assert ("breached", None) not in alerts(fired)  # judged at now - 30 s < 40 s
    fired = proc.on_timer(T0 + 70_100, lambda c: None, {0: T0 + 70_100})
    assert alerts(fired) == [("breached", None)]
    assert fired[0].alerts[0]["raised_at"] == T0 + 70_100


def test_a_contact_is_never_judged_before_its_last_judgement() -> None:
    """After a restart the watermark is unknown for a while (judged at 0): a new event must not
    take back the warnings the contact was judged to have crossed."""
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0 + 25_000,
                             judged_at=T0 + 25_000)
    restarted = ContactProcessor(load_policy("rao-ues-2007"))
    _, emission = restarted.on_event(value, ev(2, EventType.CALLBACK_REQUESTED, 26_000), 0, 1,
                                     T0 + 26_000, judged_at=0)
    assert emission.outcomes == [] and emission.alerts == []
    assert decode_value(value or b"").judged == T0 + 25_000


def test_a_breach_the_timer_raised_before_a_crash_is_retracted_after_the_restart() -> None:
    """The timer breached a waiting call, its alert reached the broker, then the worker was
    SIGKILLed. The answer (in time, read late) is folded by the restarted worker: it must
    know the breach from the table and retract it, not just report the clock met."""
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    fired = proc.on_timer(T0 + 41_000, lambda c: None)
    assert alerts(fired)[-1] == ("breached", None)
    (contact, entry), = proc.take_unwritten()  # the write that goes before the alerts
    assert contact == "c1" and proc.take_unwritten() == []
    written = encode_value(entry)
    restarted = ContactProcessor(load_policy("rao-ues-2007"))
    restarted.rebuild([(b"c1", written)], T0 + 45_000)
    resent = restarted.on_timer(T0 + 45_000, lambda c: written)
    assert [a["alert_id"] for a in resent[0].alerts] == [a["alert_id"] for e in fired
                                                          for a in e.alerts]
    assert restarted.on_timer(T0 + 45_100, lambda c: written) == []  # re-sent once
    _, emission = restarted.on_event(written, ev(2, EventType.ANSWERED, 30_000), 0, 1, T0 + 46_000)
    assert [a["alert"] for a in emission.alerts if "retraction_id" not in a] == ["met"]
    assert [a["alert_id"] for a in emission.alerts if "retraction_id" in a] == [
        fired[-1].alerts[0]["alert_id"]]
    # without the timer's write, the restarted worker only knew the queued call: no retraction
    blind = ContactProcessor(load_policy("rao-ues-2007"))
    blind.rebuild([(b"c1", value)], T0 + 45_000)
    _, emission = blind.on_event(value, ev(2, EventType.ANSWERED, 30_000), 0, 1, T0 + 46_000)
    assert not [a for a in emission.alerts if "retraction_id" in a]


def test_the_next_event_takes_the_timer_records_out_of_the_table_value() -> None:
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, _ = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    proc.on_timer(T0 + 41_000, lambda c: None)
    (_, entry), = proc.take_unwritten()
    assert decode_value(encode_value(entry)).pending[0]  # in the table until the next event
    value, _ = proc.on_event(None, ev(2, EventType.ANSWERED, 50_000), 0, 1, T0 + 50_000)
    assert value is not None and decode_value(value).pending == ((), ())
    restarted = ContactProcessor(load_policy("rao-ues-2007"))
    restarted.rebuild([(b"c1", value)], T0 + 60_000)
    assert restarted.on_timer(T0 + 60_000, lambda c: value) == []  # nothing to re-send


def test_a_redelivered_offset_leaves_the_current_outcome_last() -> None:
    """After a crash or a rebalance the uncommitted offsets come again and their steps are
    re-sent; the outcomes topic's last record per (contact, milestone) must still be the
    current one -- the timer's breach, or a later event's met -- not the step's older open."""
    policy = load_policy("rao-ues-2007")
    proc = ContactProcessor(policy)
    proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 10, T0)
    fired = proc.on_timer(T0 + 41_000, lambda c: None)
    assert alerts(fired)[-1] == ("breached", None)
    [(_, entry)] = proc.take_unwritten()
    breached = encode_value(entry)  # the table value the timer wrote
    restarted = ContactProcessor(policy)
    restarted.rebuild([(b"c1", breached)], T0 + 42_000)
    _, again = restarted.on_event(breached, ev(1, EventType.QUEUED, 0), 0, 10, T0 + 42_000)
    assert [o["status"] for o in again.outcomes] == ["open", "breached"]
    # a later event's step holds the newest revision (the answer, read late, in time: met and
    # the breach retracted): it is re-sent after the old one
    value, _ = proc.on_event(breached, ev(2, EventType.ANSWERED, 30_000), 0, 11, T0 + 50_000)
    assert value is not None
    later = ContactProcessor(policy)
    later.rebuild([(b"c1", value)], T0 + 51_000)
    _, again = later.on_event(value, ev(1, EventType.QUEUED, 0), 0, 10, T0 + 51_000)
    assert again.outcomes[-1]["status"] == "met"
    newest = kept_record(decode_value(value).steps[-1][2][-1])
    assert again.outcomes[-1]["outcome_id"] == newest["outcome_id"]


def test_timer_records_an_event_sent_after_a_restart_are_not_sent_again_after_it() -> None:
    """Recovered with the timer's breach in its value, the contact's answer (in time, read
    late) is folded before the first tick: its step sends the breach, then the met. The tick
    must not send the breach again after them (the topic would end on 'breached')."""
    policy = load_policy("rao-ues-2007")
    proc = ContactProcessor(policy)
    proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    proc.on_timer(T0 + 41_000, lambda c: None)
    [(_, entry)] = proc.take_unwritten()
    written = encode_value(entry)
    restarted = ContactProcessor(policy)
    restarted.rebuild([(b"c1", written)], T0 + 45_000)
    value, emission = restarted.on_event(written, ev(2, EventType.ANSWERED, 30_000), 0, 1,
                                         T0 + 46_000)
    assert [o["status"] for o in emission.outcomes] == ["breached", "met"]
    assert restarted.on_timer(T0 + 46_100, lambda c: value) == []


def test_live_figures_do_not_wait_for_more_contacts_than_the_bound(monkeypatch) -> None:
    """Between two snapshots at most METRICS_DUE_MAX contacts wait for their figures (each
    waiting one holds its state alive); the figures are the same wherever the flushes fall."""
    import streams.processor as processor_module

    def figures(bound: int) -> tuple[list, int]:
        monkeypatch.setattr(processor_module, "METRICS_DUE_MAX", bound)
        proc = ContactProcessor(load_policy("rao-ues-2007"), cache_size=3)
        most = 0
        for i in range(40):
            contact = f"c{i}"
            value, _ = proc.on_event(None, ev(1, EventType.QUEUED, i * 100, contact), i % 3, i,
                                     T0 + 9_000)
            if i % 4 == 0:
                proc.on_event(value, ev(2, EventType.ANSWERED, i * 100 + 5_000, contact), i % 3,
                              100 + i, T0 + 9_000)
            most = max(most, len(proc._metrics_due))
        return proc.snapshots(T0 + 9_000), most

    bounded, most = figures(5)
    assert most <= 5
    unbounded, most = figures(1_000)
    assert most == 40
    assert bounded == unbounded
    assert sum(r["offered"] for r in bounded if r["window"] == "today") == 40


def test_a_redelivered_offset_resends_the_bytes_it_sent() -> None:
    """The step log keeps the Avro bytes sent: a re-delivered offset sends the same bytes."""
    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, sent = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    value, answered = proc.on_event(value, ev(2, EventType.ANSWERED, 10_000), 0, 1, T0 + 10_000)
    assert answered.alert_bytes and answered.outcome_bytes
    restarted = ContactProcessor(load_policy("rao-ues-2007"))
    _, again = restarted.on_event(value, ev(2, EventType.ANSWERED, 10_000), 0, 1, T0 + 99_000)
    assert again.alert_bytes == answered.alert_bytes
    assert again.outcome_bytes == answered.outcome_bytes
    assert again.alerts == answered.alerts and again.outcomes == answered.outcomes


def test_a_table_value_with_records_as_dicts_still_reads() -> None:
    """A value written before the step log kept bytes (records as dicts) reads, and re-sends
    what it recorded, encoded now."""
    import orjson

    proc = ContactProcessor(load_policy("rao-ues-2007"))
    value, sent = proc.on_event(None, ev(1, EventType.QUEUED, 0), 0, 0, T0)
    assert value is not None
    doc = orjson.loads(value)
    doc["l"] = [[0, [], [dict(r) for r in sent.outcomes]]]
    doc["q"] = [[], [dict(r) for r in sent.outcomes]]  # as if the timer had emitted it
    old = orjson.dumps(doc)
    entry = decode_value(old)
    assert kept_record(entry.steps[0][2][0]) == sent.outcomes[0]
    assert kept_record(entry.pending[1][0]) == sent.outcomes[0]
    _, again = ContactProcessor(load_policy("rao-ues-2007")).on_event(
        old, ev(1, EventType.QUEUED, 0), 0, 0, T0 + 1_000)
    assert again.outcomes[0] == sent.outcomes[0]
    assert again.outcome_bytes[0] == sent.outcome_bytes[0]  # then the newer pending one


def test_the_processor_and_the_setting_default_to_the_same_cache() -> None:
    from services.settings import Settings
    from streams.processor import CACHE_CONTACTS

    assert Settings.model_fields["worker_cache_contacts"].default == CACHE_CONTACTS
