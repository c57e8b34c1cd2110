"""The PolicyLog on Kafka: the compacted ``policies`` topic (deploy/topics.toml), key = tenant,
one PolicyVersionPublished per publish carrying the tenant's whole history.

Reading takes the topic from its beginning to the end offsets of the moment (no consumer group:
services/adapters/kafka_reader.read_all) and keeps the last record per tenant -- what
compaction would keep. The topic holds one small record per tenant and publish, so admin calls
read it whole every time rather than keep a follower running. Writing goes through the
platform's one producer adapter (KafkaPublisher: acks=all, idempotent, bounded waits).

Compare-and-set without a lock shared between processes (several API replicas, the CLI):
``publish`` reads the topic (up to offset M), refuses a stale history, writes, and reads again.
The tenant's first record after M must be its own; if another writer's came first, its record
was written on top of a history it did not hold: it re-publishes the other writer's record, so
that the version the other was told is published stays the last word, and raises PolicyConflict.
A writer whose record came first succeeds even when a stale one lands after it: that one
restores it. Left open: a writer that dies between its write and its restore (its stale record
stays last until the next publish -- ``kontakt policy list`` shows which history is in force),
and restores racing among three or more simultaneous writers. The lead time
(KONTAKT_POLICY_MIN_LEAD_S) is why a record overwritten within seconds never judged a contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.codec import DecodeError, decode, encode
from services.adapters.kafka_publisher import KafkaPublisher
from services.adapters.kafka_reader import ConsumedRecord, read_all
from services.policies.log import PolicyLogUnavailable, conflict, same_history
from services.ports import Publisher, PublishError
from streams.sla.policy import PolicyError
from streams.sla.versions import POLICY_RECORD, PolicyVersion, published_record, versions_of_record


class KafkaPolicyLog:
    def __init__(self, bootstrap: str, topic: str, *, publisher: Publisher | None = None,
                 timeout_s: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout_s = timeout_s
        self._owned = publisher is None
        self._publisher: Publisher = publisher or KafkaPublisher(
            bootstrap, client_id="kontakt-policies", max_block_s=min(timeout_s, 5.0))

    def _read(self) -> list[ConsumedRecord]:
        from kafka.errors import KafkaError

        try:
            return read_all(self.bootstrap, self.topic, timeout_s=self.timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise PolicyLogUnavailable(f"cannot read topic {self.topic} at {self.bootstrap}: "
                                       f"{exc} (does the topic exist? kontakt topics apply)"
                                       ) from exc

    def _datum(self, record: ConsumedRecord) -> dict[str, Any]:
        assert record.value is not None
        try:
            name, datum = decode(record.value)
        except DecodeError as exc:
            raise PolicyLogUnavailable(f"{self.topic} offset {record.offset}: {exc}") from exc
        if name != POLICY_RECORD:
            raise PolicyLogUnavailable(f"{self.topic} offset {record.offset}: a {name}, "
                                       f"not a {POLICY_RECORD}")
        return datum

    def _last(self, records: Sequence[ConsumedRecord]) -> dict[str, ConsumedRecord]:
        """tenant -> its last record (a tombstone removes the tenant)."""
        last: dict[str, ConsumedRecord] = {}
        for record in records:
            tenant = (record.key or b"").decode("utf-8", "replace")
            if record.value is None:
                last.pop(tenant, None)
            else:
                last[tenant] = record
        return last

    def _versions(self, tenant: str, record: ConsumedRecord | None) -> list[PolicyVersion]:
        if record is None:
            return []
        try:
            return versions_of_record(self._datum(record))
        except PolicyError as exc:  # written by a release whose rules this one refuses
            raise PolicyLogUnavailable(f"{self.topic}: the record of {tenant} no longer "
                                       f"parses: {exc}") from exc

    def history(self, tenant: str) -> list[PolicyVersion]:
        return self._versions(tenant, self._last(self._read()).get(tenant))

    def tenants(self) -> list[str]:
        return sorted(self._last(self._read()))

    def publish(self, history: Sequence[PolicyVersion]) -> None:
        if not history:
            raise ValueError("publish needs at least one version")
        tenant = history[-1].tenant
        key = tenant.encode()
        before = self._read()
        seen = max((r.offset for r in before), default=-1)
        current = self._versions(tenant, self._last(before).get(tenant))
        if not same_history(current, history[:-1]):
            raise conflict(tenant, history[:-1], current)
        value = encode(POLICY_RECORD, published_record(history))
        self._write(key, value)
        after = [r for r in self._read() if r.key == key and r.offset > seen]
        first = after[0] if after else None
        if first is not None and first.value == value:
            return
        # another writer's record landed between our read and our write: ours sits on a
        # history it never held. Put theirs back on top (unless a later writer moved on).
        mine = [i for i, r in enumerate(after) if r.value == value]
        if mine and mine[-1] == len(after) - 1 and mine[-1] > 0:
            theirs = after[mine[-1] - 1]
            if theirs.value is not None:
                self._write(key, theirs.value)
        found = self._versions(tenant, after[0]) if after else []
        raise conflict(tenant, history[:-1], found)

    def _write(self, key: bytes, value: bytes) -> None:
        try:
            self._publisher.publish(self.topic, [(key, value)], timeout_s=self.timeout_s)
        except PublishError as exc:
            raise PolicyLogUnavailable(f"cannot publish to {self.topic}: {exc}") from exc

    def close(self) -> None:
        if self._owned:
            self._publisher.close()
