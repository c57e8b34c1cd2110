"""The PolicyLog on Kafka: the compacted ``policies`` topic (deploy/topics.toml), key = tenant,
one PolicyVersionPublished per publish carrying the tenant's whole history.

Reading takes the topic from its beginning to the end offsets of the moment (no consumer group:
services/adapters/kafka_reader.read_all) and keeps the last record per tenant -- what
compaction would keep. The topic holds one small record per tenant and publish, so admin calls
read it whole every time rather than keep a follower running. Writing goes through the
platform's one producer adapter (KafkaPublisher: acks=all, idempotent, bounded waits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.codec import DecodeError, decode, encode
from services.adapters.kafka_publisher import KafkaPublisher
from services.adapters.kafka_reader import read_all
from services.policies.log import PolicyLogUnavailable
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

    def _records(self) -> dict[str, dict[str, Any]]:
        """tenant -> its last PolicyVersionPublished datum (a tombstone removes the tenant)."""
        from kafka.errors import KafkaError

        try:
            records = read_all(self.bootstrap, self.topic, timeout_s=self.timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise PolicyLogUnavailable(f"cannot read topic {self.topic} at {self.bootstrap}: "
                                       f"{exc}") from exc
        last: dict[str, dict[str, Any]] = {}
        for record in records:
            tenant = (record.key or b"").decode("utf-8", "replace")
            if record.value is None:
                last.pop(tenant, None)
                continue
            try:
                name, datum = decode(record.value)
            except DecodeError as exc:
                raise PolicyLogUnavailable(
                    f"{self.topic} offset {record.offset}: {exc}") from exc
            if name != POLICY_RECORD:
                raise PolicyLogUnavailable(f"{self.topic} offset {record.offset}: a {name}, "
                                           f"not a {POLICY_RECORD}")
            last[tenant] = datum
        return last

    def history(self, tenant: str) -> list[PolicyVersion]:
        datum = self._records().get(tenant)
        if datum is None:
            return []
        try:
            return versions_of_record(datum)
        except PolicyError as exc:  # written by a release whose rules this one refuses
            raise PolicyLogUnavailable(f"{self.topic}: the record of {tenant} no longer "
                                       f"parses: {exc}") from exc

    def tenants(self) -> list[str]:
        return sorted(self._records())

    def publish(self, history: Sequence[PolicyVersion]) -> None:
        if not history:
            raise ValueError("publish needs at least one version")
        value = encode(POLICY_RECORD, published_record(history))
        try:
            self._publisher.publish(self.topic, [(history[-1].tenant.encode(), value)],
                                    timeout_s=self.timeout_s)
        except PublishError as exc:
            raise PolicyLogUnavailable(f"cannot publish to {self.topic}: {exc}") from exc

    def close(self) -> None:
        if self._owned:
            self._publisher.close()
