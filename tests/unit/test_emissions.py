"""Which alerts and outcome records a change of outcome produces."""

from __future__ import annotations

from dataclasses import replace

from streams.emissions import alert_id, diff, is_retraction
from streams.sla.clock import Outcome, Status

BASE = Outcome(
    contact_id="c1", milestone="phone.answer", status=Status.OPEN, started_at=0, due_at=40_000,
    stopped_at=None, elapsed_ms=0, target_ms=40_000, warnings_crossed=(), tenant="t",
    region="kursk", channel="phone", kind="inquiry", customer_category="standard", office=None,
)


def kinds(outcome: Outcome, before: dict | None = None) -> list[tuple[str, float | None]]:
    alerts = diff([outcome], before or {}, 1).alerts
    return [(a["alert"], a["threshold"]) for a in alerts if not is_retraction(a)]


def test_open_clock_without_warnings_emits_an_outcome_but_no_alert() -> None:
    emission = diff([BASE], {}, 1)
    assert emission.alerts == []
    assert [o["status"] for o in emission.outcomes] == ["open"]
    assert diff([BASE], emission.signatures, 2).changed is False


def test_each_threshold_is_warned_once() -> None:
    first = diff([replace(BASE, warnings_crossed=(0.5,))], {}, 1)
    assert [(a["alert"], a["threshold"]) for a in first.alerts] == [("warning", 0.5)]
    later = replace(BASE, warnings_crossed=(0.5, 0.8))
    assert kinds(later, first.signatures) == [("warning", 0.8)]


def test_first_seen_breached_gets_a_breach_and_no_stale_warnings() -> None:
    late = replace(BASE, status=Status.BREACHED, warnings_crossed=(0.5, 0.8, 0.9))
    assert kinds(late) == [("breached", None)]


def test_status_changes_are_alerted_and_corrections_too() -> None:
    breached = diff([replace(BASE, status=Status.BREACHED)], {}, 1)
    met = replace(BASE, status=Status.MET, stopped_at=30_000)
    assert kinds(met, breached.signatures) == [("met", None)]
    cancelled = replace(BASE, status=Status.CANCELLED, stopped_at=3_000)
    assert kinds(cancelled) == [("cancelled", None)]


def test_a_breach_undone_by_a_late_stop_is_retracted_once() -> None:
    from schemas.codec import decode, encode

    breached = diff([replace(BASE, status=Status.BREACHED)], {}, 1)
    assert not any(is_retraction(a) for a in breached.alerts)
    met = replace(BASE, status=Status.MET, stopped_at=30_000, elapsed_ms=30_000,
                  ended_by="answered")
    emission = diff([met], breached.signatures, 5)
    [retraction] = [a for a in emission.alerts if is_retraction(a)]
    assert retraction["alert_id"] == breached.alerts[0]["alert_id"]
    assert retraction["status"] == "met" and retraction["retracted_at"] == 5
    assert "answered at 1970-01-01T00:00:30.000Z" in retraction["reason"]
    assert decode(encode("SlaAlertRetracted", retraction)) == ("SlaAlertRetracted", retraction)
    again = diff([met], breached.signatures, 9)  # re-emitted: the same id
    assert [a["retraction_id"] for a in again.alerts if is_retraction(a)] == [
        retraction["retraction_id"]]
    # met from the start, or met after a warning only: nothing to retract
    assert not any(is_retraction(a) for a in diff([met], {}, 1).alerts)
    warned = diff([replace(BASE, warnings_crossed=(0.5,))], {}, 1)
    assert not any(is_retraction(a) for a in diff([met], warned.signatures, 1).alerts)


def test_alert_ids_are_deterministic_and_distinct() -> None:
    a = diff([replace(BASE, status=Status.BREACHED)], {}, 1).alerts[0]
    b = diff([replace(BASE, status=Status.BREACHED, elapsed_ms=99)], {}, 999).alerts[0]
    assert a["alert_id"] == b["alert_id"] == alert_id("c1", "phone.answer", "breached", None)
    ids = {
        alert_id("c1", "phone.answer", "warning", 0.5),
        alert_id("c1", "phone.answer", "warning", 0.8),
        alert_id("c1", "phone.answer", "breached", None),
        alert_id("c2", "phone.answer", "breached", None),
        alert_id("c1", "email.dispatch", "breached", None),
    }
    assert len(ids) == 5


def test_records_fit_their_avro_schemas() -> None:
    from schemas.codec import decode, encode

    emission = diff([replace(BASE, warnings_crossed=(0.5,))], {}, 1)
    for name, record in [("SlaAlertRaised", emission.alerts[0]),
                         ("MilestoneOutcomeEvaluated", emission.outcomes[0])]:
        assert decode(encode(name, record)) == (name, record)


def test_fast_uuid5_equals_the_standard_library() -> None:
    import uuid

    from streams.emissions import _NAMESPACE, uuid5

    for name in ("", "c1|phone.answer|breached|", "контакт|x|warning|0.5"):
        assert uuid5(name) == str(uuid.uuid5(_NAMESPACE, name))
