"""The Publisher contract (services.ports.Publisher) against a real Kafka broker.

What every Publisher must do: return only after every record is acknowledged (so it can be read
back), keep the order of records with the same key, carry the headers, and raise PublishError
-- within its bound, never hanging -- when the broker cannot take the records.

Run for both implementations: KafkaPublisher (idempotent producer) and TransactionalPublisher
(one transaction per publish() call); records are read back read_committed, as consumers do.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest

from services.adapters.kafka_publisher import KafkaPublisher
from services.adapters.kafka_transactional import TransactionalPublisher
from services.ports import Publisher, PublishError
from tests.fixtures.kafka import free_port

pytestmark = pytest.mark.kafka

MAX_BLOCK_S = 2.0
KINDS = ["idempotent", "transactional"]


def make_publisher(bootstrap: str, kind: str) -> KafkaPublisher | TransactionalPublisher:
    if kind == "transactional":
        return TransactionalPublisher(
            bootstrap,
            f"contract-{uuid.uuid4().hex[:8]}",
            producers=2,
            max_block_s=MAX_BLOCK_S,
            request_timeout_s=3.0,
        )
    return KafkaPublisher(bootstrap, max_block_s=MAX_BLOCK_S, request_timeout_s=3.0)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def publisher(kafka_bootstrap: str, kind: str) -> Iterator[Publisher]:
    pub = make_publisher(kafka_bootstrap, kind)
    try:
        yield pub
    finally:
        pub.close()


def test_acknowledged_records_are_readable(
    publisher: Publisher, new_topic: Callable[..., str], read_records: Callable[..., list]
) -> None:
    topic = new_topic(partitions=3)
    sent = [(f"contact-{i % 7}".encode(), f"event-{i}".encode()) for i in range(200)]

    publisher.publish(topic, sent)

    got = [(r.key, r.value) for r in read_records(topic)]
    assert sorted(got) == sorted(sent)


def test_records_with_the_same_key_keep_their_order_on_one_partition(
    publisher: Publisher, new_topic: Callable[..., str], read_records: Callable[..., list]
) -> None:
    topic = new_topic(partitions=4)
    keys = [f"contact-{k}".encode() for k in range(10)]
    for batch in range(5):  # several calls: order must also hold across publish() calls
        records = [(key, f"{batch}:{i}".encode()) for i in range(20) for key in keys]
        publisher.publish(topic, records)

    by_key: dict[bytes, list[tuple[int, int]]] = defaultdict(list)
    partitions: dict[bytes, set[int]] = defaultdict(set)
    for record in read_records(topic):  # ordered by (partition, offset)
        batch, i = map(int, record.value.decode().split(":"))
        by_key[record.key].append((batch, i))
        partitions[record.key].add(record.partition)

    expected = [(batch, i) for batch in range(5) for i in range(20)]
    assert set(by_key) == set(keys)
    for key in keys:
        assert by_key[key] == expected, key
        assert len(partitions[key]) == 1, key
    assert len(set().union(*partitions.values())) > 1  # the keys did spread over partitions


def test_headers_are_carried_on_every_record(
    publisher: Publisher, new_topic: Callable[..., str], read_records: Callable[..., list]
) -> None:
    topic = new_topic()
    headers = [("schema", b"\x01\x02"), ("source", b"ingest")]

    publisher.publish(topic, [(b"k1", b"a"), (b"k2", b"b")], headers=headers)

    records = read_records(topic)
    assert len(records) == 2
    assert all(list(r.headers) == headers for r in records)


def test_publishing_nothing_returns_at_once(publisher: Publisher) -> None:
    began = time.monotonic()
    publisher.publish("kontakt.no-such-topic", [])
    assert time.monotonic() - began < 0.5


def test_unknown_topic_raises_publish_error_within_the_bound(publisher: Publisher) -> None:
    """The broker never auto-creates topics: a typo must fail, not hang."""
    began = time.monotonic()
    with pytest.raises(PublishError):
        publisher.publish("kontakt.no-such-topic", [(b"k", b"v")], timeout_s=2.0)
    assert time.monotonic() - began < MAX_BLOCK_S + 2.0 + 1.0


def test_no_broker_at_all_raises_publish_error_within_the_bound(kind: str) -> None:
    pub = make_publisher(f"127.0.0.1:{free_port()}", kind)
    began = time.monotonic()
    try:
        with pytest.raises(PublishError):
            pub.publish("kontakt.alerts", [(b"k", b"v")], timeout_s=2.0)
    finally:
        pub.close(timeout_s=2.0)
    assert time.monotonic() - began < MAX_BLOCK_S + 2.0 + 2.0 + 1.0


def test_broker_outage_raises_publish_error_in_time_then_recovers(
    restartable_broker, kind: str
) -> None:
    """Broker down: PublishError within timeout_s (no hang); broker back: the same publisher
    delivers again, and every record it acknowledged is there."""
    from kafka import KafkaAdminClient

    from services.adapters.kafka_reader import read_all

    bootstrap = restartable_broker.bootstrap
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics(
        {"outage": {"num_partitions": 2, "replication_factor": 1}}, wait_for_metadata=True
    )
    admin.close()
    pub = make_publisher(bootstrap, kind)
    try:
        pub.publish("outage", [(b"k", b"before")])
        restartable_broker.stop()

        began = time.monotonic()
        with pytest.raises(PublishError):
            pub.publish("outage", [(b"k", b"during")], timeout_s=2.0)
        assert time.monotonic() - began < 2.0 + 1.0  # metadata was known: only timeout_s

        restartable_broker.start()
        pub.publish("outage", [(b"k", b"after")], timeout_s=20.0)
    finally:
        began = time.monotonic()
        pub.close(timeout_s=3.0)
        assert time.monotonic() - began < 3.0 * 2 + 1.0

    values = [r.value for r in read_all(bootstrap, "outage")]
    assert values[0] == b"before" and b"after" in values
    # "during" was not acknowledged; the producer may still have delivered it on reconnect
    # (at-least-once), but never out of order before "before".
    assert set(values) <= {b"before", b"during", b"after"}
    if kind == "transactional":  # its transaction was aborted: read_committed never sees it
        assert values == [b"before", b"after"]


def test_concurrent_callers_without_a_broker_all_fail_within_one_bound(kind: str) -> None:
    """Callers queued behind one failing connection attempt share its answer: the bound does
    not grow with the number of threads (an API worker pool must not pile up)."""
    import threading

    pub = make_publisher(f"127.0.0.1:{free_port()}", kind)
    elapsed: list[float] = []
    errors: list[BaseException] = []

    def call() -> None:
        began = time.monotonic()
        try:
            pub.publish("kontakt.alerts", [(b"k", b"v")], timeout_s=2.0)
        except PublishError as exc:
            errors.append(exc)
        elapsed.append(time.monotonic() - began)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    pub.close(timeout_s=2.0)
    assert len(errors) == 4
    assert max(elapsed) < 2 * MAX_BLOCK_S + 2.0 + 1.0, elapsed


def test_a_crashed_transaction_is_aborted_by_the_next_producer_of_its_id(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    """What the ingest API relies on: a producer that died with records written but not
    committed is fenced by the next producer of its transactional id, and read_committed
    readers never see those records (read_uncommitted ones do: they are in the log)."""
    from kafka import KafkaProducer

    from services.adapters.kafka_reader import read_all

    topic = new_topic(partitions=2)
    base = f"contract-crash-{uuid.uuid4().hex[:8]}"
    dead = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"{base}.0", acks="all"
    )
    dead.init_transactions()
    dead.begin_transaction()
    for i in range(5):
        dead.send(topic, key=b"k", value=f"half-{i}".encode()).get(timeout=10)
    dead._sender.force_close()  # crash: no commit, no abort
    dead.close(timeout=0)

    pub = TransactionalPublisher(kafka_bootstrap, base, max_block_s=MAX_BLOCK_S)
    try:
        pub.publish(topic, [(b"k", b"retry")], timeout_s=20.0)
    finally:
        pub.close()

    assert [r.value for r in read_all(kafka_bootstrap, topic)] == [b"retry"]
    raw = read_all(kafka_bootstrap, topic, isolation_level="read_uncommitted")
    assert [r.value for r in raw] == [f"half-{i}".encode() for i in range(5)] + [b"retry"]


def test_a_commit_sent_while_the_broker_is_down_is_settled_after_it_returns(
    restartable_broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one ambiguous case: every record written, then the broker goes away before the
    commit is answered. publish() raises PublishUncertain in time; once the broker is back,
    outcome() tells the truth -- here 'not committed', and read_committed readers agree."""
    from kafka import KafkaAdminClient

    from services.adapters import kafka_transactional
    from services.adapters.kafka_reader import read_all
    from services.ports import PublishUncertain

    bootstrap = restartable_broker.bootstrap
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics(
        {"uncertain": {"num_partitions": 2, "replication_factor": 1}}, wait_for_metadata=True
    )
    admin.close()
    real_begin_commit = kafka_transactional._begin_commit

    def broker_dies_first(producer: object) -> object:
        restartable_broker.stop()
        return real_begin_commit(producer)

    pub = make_publisher(bootstrap, "transactional")
    try:
        pub.publish("uncertain", [(b"k", b"before")])
        monkeypatch.setattr(kafka_transactional, "_begin_commit", broker_dies_first)
        began = time.monotonic()
        with pytest.raises(PublishUncertain) as info:
            pub.publish("uncertain", [(b"k", b"maybe"), (b"j", b"maybe")], timeout_s=3.0)
        assert time.monotonic() - began < 3.0 + 1.0
        monkeypatch.setattr(kafka_transactional, "_begin_commit", real_begin_commit)
        restartable_broker.start()
        assert info.value.outcome(90.0) is False
        pub.publish("uncertain", [(b"k", b"after")], timeout_s=20.0)
    finally:
        pub.close(timeout_s=3.0)
    assert [r.value for r in read_all(bootstrap, "uncertain")] == [b"before", b"after"]
