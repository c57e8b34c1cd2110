"""The PolicyLog contract (services/policies/log.py), run on the in-memory log and on Kafka
(the real broker, a compacted topic of its own): histories per tenant, the newest record wins,
publish is a compare-and-set, and a broker that is down is PolicyLogUnavailable, not a hang."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.policies.kafka_log import KafkaPolicyLog
from services.policies.log import InMemoryPolicyLog, PolicyConflict, PolicyLog, PolicyLogUnavailable
from services.policies.publish import next_version
from streams.sla.versions import PolicyVersion, version_document
from tests.fixtures.kafka import free_port

T0 = 1_790_000_000_000


def v(history: list[PolicyVersion], tenant: str = "mrsk", by: str = "k1",
      **doc: Any) -> PolicyVersion:
    body = {"default": {"preset": "minenergo-186"}, **doc}
    return next_version(history, body, tenant=tenant, published_by=by,
                        now_ms=T0 + len(history), min_lead_ms=60_000)


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
def log(request: pytest.FixtureRequest) -> Iterator[PolicyLog]:
    if request.param == "memory":
        yield InMemoryPolicyLog()
        return
    new_topic: Callable[..., str] = request.getfixturevalue("new_topic")
    bootstrap: str = request.getfixturevalue("kafka_bootstrap")
    kafka = KafkaPolicyLog(bootstrap, new_topic(partitions=1, **{"cleanup.policy": "compact"}))
    try:
        yield kafka
    finally:
        kafka.close()


def test_an_empty_log(log: PolicyLog) -> None:
    assert log.history("mrsk") == [] and log.tenants() == []


def test_histories_are_per_tenant_and_read_back_whole(log: PolicyLog) -> None:
    h1 = [v([], comment="первая: order 186")]
    log.publish(h1)
    h2 = [*h1, v(h1, comment="second", overrides=[{"region": "77", "preset": "rao-ues-2007"}])]
    log.publish(h2)
    log.publish([v([], tenant="tgk", by="k9")])
    got = log.history("mrsk")
    assert [(x.version, x.published_at, x.published_by, x.effective_from, x.comment)
            for x in got] == [(x.version, x.published_at, x.published_by, x.effective_from,
                               x.comment) for x in h2]
    assert [version_document(x) for x in got] == [version_document(x) for x in h2]
    assert got[1].policy_for("77", None).name == "rao-ues-2007"
    assert [x.published_by for x in log.history("tgk")] == ["k9"]
    assert log.tenants() == ["mrsk", "tgk"]


def test_publish_is_a_compare_and_set(log: PolicyLog) -> None:
    h1 = [v([])]
    log.publish(h1)
    log.publish([*h1, v(h1, by="them")])
    with pytest.raises(PolicyConflict, match="version 2 by 'them'"):
        log.publish([*h1, v(h1, by="us")])  # made on the history before theirs
    with pytest.raises(PolicyConflict):
        log.publish([v([], by="us")])  # a first version for a tenant that has one
    assert [x.published_by for x in log.history("mrsk")] == ["k1", "them"]


class _RacedKafkaLog(KafkaPolicyLog):
    """A rival's record lands between this log's read and its write."""

    rival: Callable[[], None]

    def _write(self, key: bytes, value: bytes) -> None:
        rival, self.rival = self.rival, lambda: None
        rival()
        super()._write(key, value)


@pytest.mark.kafka
def test_kafka_a_rival_that_wrote_between_read_and_write_keeps_its_version(
        kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    topic = new_topic(partitions=1, **{"cleanup.policy": "compact"})
    rival = KafkaPolicyLog(kafka_bootstrap, topic)
    ours = _RacedKafkaLog(kafka_bootstrap, topic)
    try:
        h1 = [v([])]
        rival.publish(h1)
        ours.rival = lambda: rival.publish([*h1, v(h1, by="them")])
        with pytest.raises(PolicyConflict, match="version 2 by 'them'"):
            ours.publish([*h1, v(h1, by="us")])
        # ours landed last; it put theirs back on top, so the topic ends on their history
        assert [x.published_by for x in rival.history("mrsk")] == ["k1", "them"]
    finally:
        rival.close()
        ours.close()


@pytest.mark.kafka
def test_kafka_down_is_unavailable_within_the_bound() -> None:
    log = KafkaPolicyLog(f"127.0.0.1:{free_port()}", "kontakt.policies", timeout_s=2.0)
    try:
        began = time.monotonic()
        with pytest.raises(PolicyLogUnavailable, match="cannot read topic kontakt.policies"):
            log.history("mrsk")
        with pytest.raises(PolicyLogUnavailable):
            log.publish([v([])])
        assert time.monotonic() - began < 15
    finally:
        log.close()
