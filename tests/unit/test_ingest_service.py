"""IngestService logic against a recording Publisher (the port's behaviour on real Kafka is
tests/contract's and tests/integration's business): ids are committed only after an ack,
released after a failure, and a failed producer is replaced and force-closed; an unanswered
transactional commit holds its ids until its outcome is known."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import decode_event
from services.ingest.pseudonym import Pseudonymizer
from services.ingest.service import IngestConfig, IngestService, InvalidEvents, Unavailable
from services.ingest.txn_ids import claim_slot, transactional_id
from services.ingest.window import IdempotencyWindow
from services.ports import PublishError, PublishUncertain

NOW = 1_795_770_000_000


class RecordingPublisher:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.sent: list[tuple[bytes, bytes]] = []
        self.closed_with: list[float | None] = []

    def publish(
        self,
        topic: str,
        records: Sequence[tuple[bytes, bytes]],
        headers: Sequence[tuple[str, bytes]] = (),
        timeout_s: float = 10.0,
    ) -> None:
        if self.fail:
            raise PublishError("broker down")
        self.sent.extend(records)

    def close(self, timeout_s: float | None = None) -> None:
        self.closed_with.append(timeout_s)


def service(outcomes: list[bool]) -> tuple[IngestService, list[RecordingPublisher]]:
    made: list[RecordingPublisher] = []

    def factory() -> RecordingPublisher:
        made.append(RecordingPublisher(fail=outcomes[len(made)]))
        return made[-1]

    svc = IngestService(
        IngestConfig("t", 300_000, 5.0),
        factory,
        Pseudonymizer(b"k" * 32),
        IdempotencyWindow(60, 1000),
        clock_ms=lambda: NOW,
    )
    return svc, made


def items(*ids: str) -> list[dict[str, Any]]:
    return [
        {
            "event_id": i,
            "contact_id": f"c-{i}",
            "region": "tver",
            "channel": "phone",
            "type": "queued",
            "occurred_at": "2026-11-27T08:00:00Z",
            "customer": {"phone": "+79123456789"},
        }
        for i in ids
    ]


def test_failure_releases_ids_and_replaces_the_producer() -> None:
    svc, made = service([True, False])
    with pytest.raises(Unavailable, match="broker down"):
        svc.ingest(items("a", "b"), "mrsk")
    assert made[0].closed_with == [0]  # force-closed: buffered records dropped
    result = svc.ingest(items("a", "b", "a"), "mrsk")
    assert (result.accepted, result.duplicates) == (2, 1)
    assert [decode_event(v).event_id for _, v in made[1].sent] == ["a", "b"]
    assert b"79123456789" not in b"".join(v for _, v in made[1].sent)
    assert svc.ingest(items("b"), "mrsk").duplicates == 1


def test_errors_publish_nothing_unless_partial() -> None:
    svc, made = service([False])
    bad = [*items("a"), {"event_id": "x"}]
    with pytest.raises(InvalidEvents) as info:
        svc.ingest(bad, "mrsk")
    assert info.value.status_code == 422 and made[0].sent == []
    result = svc.ingest(bad, "mrsk", partial=True)
    assert result.accepted == 1 and {e.index for e in result.rejected} == {1}
    with pytest.raises(InvalidEvents) as foreign:
        svc.ingest([{**items("z")[0], "tenant": "other"}], "mrsk", partial=True)
    assert foreign.value.status_code == 403


class UncertainPublisher(RecordingPublisher):
    """A transactional publisher whose commit went unanswered; ``answer`` is what the broker
    tells later (True committed, False not)."""

    heals_itself = True

    def __init__(self, answer: bool | None) -> None:
        super().__init__(fail=False)
        self.answer = answer
        self.told = threading.Event()
        self.calls = 0

    def outcome(self, timeout_s: float) -> bool | None:
        self.told.wait(timeout_s)
        return self.answer

    def publish(
        self,
        topic: str,
        records: Sequence[tuple[bytes, bytes]],
        headers: Sequence[tuple[str, bytes]] = (),
        timeout_s: float = 10.0,
    ) -> None:
        self.calls += 1
        if self.calls == 1:
            raise PublishUncertain("commit unanswered", self.outcome)
        self.sent.extend(records)


def uncertain_service(answer: bool | None) -> tuple[IngestService, UncertainPublisher]:
    pub = UncertainPublisher(answer)
    svc = IngestService(
        IngestConfig("t", 300_000, 0.2),
        lambda: pub,
        Pseudonymizer(b"k" * 32),
        IdempotencyWindow(60, 1000),
        clock_ms=lambda: NOW,
    )
    return svc, pub


def test_an_unanswered_commit_holds_its_ids_until_the_outcome_is_known() -> None:
    svc, pub = uncertain_service(answer=True)
    with pytest.raises(Unavailable, match="commit unanswered"):
        svc.ingest(items("a", "b"), "mrsk")
    with pytest.raises(Unavailable):  # still unknown: the retry must not produce them
        svc.ingest(items("a", "b"), "mrsk")
    assert pub.sent == [] and pub.closed_with == []  # not rebuilt: it heals itself
    pub.told.set()  # the broker answers: committed
    wait_for(lambda: svc.ingest(items("a", "b"), "mrsk").duplicates == 2)
    assert pub.sent == []  # committed once, never produced again


def test_a_commit_that_did_not_happen_lets_the_retry_produce() -> None:
    svc, pub = uncertain_service(answer=False)
    with pytest.raises(Unavailable):
        svc.ingest(items("a"), "mrsk")
    pub.told.set()
    wait_for(lambda: svc.ingest(items("a"), "mrsk").accepted == 1)
    assert [decode_event(v).event_id for _, v in pub.sent] == ["a"]


def wait_for(check: Callable[[], bool], limit_s: float = 5.0) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        try:
            if check():
                return
        except Unavailable:
            pass
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_slots_differ_while_held_and_come_back_when_released(tmp_path: Path) -> None:
    first, second = claim_slot(tmp_path), claim_slot(tmp_path)
    assert (first.slot, second.slot) == (0, 1)
    first.release()
    third = claim_slot(tmp_path)
    assert third.slot == 0  # a restarted process gets its old id back
    ids = {transactional_id("p", tmp_path, s, host="h") for s in (0, 1)}
    assert len(ids) == 2 and transactional_id("p", tmp_path / "x", 0, host="h") not in ids
    second.release()
    third.release()
