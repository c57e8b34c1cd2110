"""IngestService logic against a recording Publisher (the port's behaviour on real Kafka is
tests/contract's and tests/integration's business): ids are committed only after an ack,
released after a failure, and a failed producer is replaced and force-closed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from schemas.codec import decode_event
from services.ingest.pseudonym import Pseudonymizer
from services.ingest.service import IngestConfig, IngestService, InvalidEvents, Unavailable
from services.ingest.window import IdempotencyWindow
from services.ports import PublishError

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
