"""The Publisher port as Kafka transactions: one publish() call is one transaction, so its
records become visible to ``read_committed`` consumers all together or never.

Why: with a plain idempotent producer a request that failed half-way (broker down, acks lost)
leaves some of its records in the log, and the client's retry -- produced by a *new* producer
-- writes them again. Here a failed call is aborted; if the abort cannot reach the broker, the
producer is dropped and the next one created for the same ``transactional_id`` fences it on
``init_transactions()``, and the broker aborts the dangling transaction.

A small pool of producers (each with its own transactional id: ``<base>.<i>``) serves
concurrent callers, because the transactions of one producer are sequential.

One case is left that no producer can decide on the spot: the commit was sent and its answer
did not come in time, or came as an error that does not say (kafka-python fails it with a
generic error on a request timeout). The broker may have committed it or not: publish()
raises PublishUncertain, and ``PublishUncertain.outcome(timeout_s)`` finds out (see _Pending).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

from services.adapters.kafka_publisher import _close_producer, producer_config
from services.ports import PublishError, PublishUncertain


class TransactionalPublisher:
    """Thread-safe; producers are created (and their transactions initialised) lazily."""

    heals_itself = True  # replaces its own failed producers; callers need not build a new one

    def __init__(
        self,
        bootstrap: str,
        transactional_id: str,
        *,
        producers: int = 1,
        client_id: str = "kontakt",
        max_block_s: float = 5.0,
        request_timeout_s: float = 10.0,
        transaction_timeout_s: float = 30.0,
        linger_ms: int = 5,
    ) -> None:
        self._config = producer_config(
            bootstrap, client_id, max_block_s, request_timeout_s, linger_ms,
            transaction_timeout_ms=int(transaction_timeout_s * 1000),
        )
        self.transactional_ids = [f"{transactional_id}.{i}" for i in range(producers)]
        self._idle: queue.Queue[_Slot] = queue.Queue()
        self._slots = [_Slot(tid) for tid in self.transactional_ids]
        for slot in self._slots:
            self._idle.put(slot)
        self._closed = False

    def publish(
        self,
        topic: str,
        records: Sequence[tuple[bytes, bytes]],
        headers: Sequence[tuple[str, bytes]] = (),
        timeout_s: float = 10.0,
    ) -> None:
        """All records in one transaction, committed before this returns; PublishError if it
        was not committed (aborted or fenced), PublishUncertain if the commit's fate is open."""
        if not records:
            return
        deadline = time.monotonic() + timeout_s
        try:
            slot = self._idle.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            raise PublishError(f"{topic}: every producer busy for {timeout_s:g} s") from None
        keep = True
        try:
            keep = self._transact(slot, topic, records, list(headers) or None, deadline)
        finally:
            if keep:
                self._idle.put(slot)

    def _transact(
        self,
        slot: _Slot,
        topic: str,
        records: Sequence[tuple[bytes, bytes]],
        headers: list[tuple[str, bytes]] | None,
        deadline: float,
    ) -> bool:
        """Run one transaction on ``slot``; returns whether the slot goes back to the pool
        now (False: a background commit still owns it)."""

        try:
            producer = self._ready_producer(slot, deadline)
            producer.begin_transaction()
            futures = [producer.send(topic, key=k, value=v, headers=headers) for k, v in records]
            written = []
            for future in futures:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PublishError(f"{topic}: not every record written in time")
                written.append(future.get(timeout=remaining))
            result = _begin_commit(producer)
        except PublishError:
            self._abandon(slot, deadline)
            raise
        except Exception as exc:  # KafkaError, or e.g. RuntimeError('NetworkSelector closed!')
            # from a producer whose network died under it (seen across a broker restart): no
            # commit was sent, so dropping the producer (its successor fences it) loses nothing
            self._abandon(slot, deadline)
            raise PublishError(f"{topic}: {type(exc).__name__}: {exc}") from exc
        except BaseException:
            self._abandon(slot, deadline)
            raise
        try:
            if result.wait(timeout_ms=max(0, int((deadline - time.monotonic()) * 1000))):
                return True
            why = "no answer in time"
        except Exception as exc:
            # Not proof that nothing was committed: kafka-python fails the commit with a
            # generic error on a request timeout too, after the broker may have logged it.
            why = f"failed: {exc}"
        pending = _Pending(self, slot, result, written[0])
        raise PublishUncertain(f"{topic}: commit sent, {why}", pending.outcome)

    def _ready_producer(self, slot: _Slot, deadline: float) -> Any:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        if self._closed:
            raise PublishError("publisher is closed")
        if slot.producer is None:
            block_ms = max(1, int(min(self._config["max_block_ms"] / 1000,
                                      deadline - time.monotonic()) * 1000))
            config = {**self._config, "transactional_id": slot.transactional_id}
            try:
                slot.producer = KafkaProducer(
                    **{**config, "max_block_ms": block_ms, "bootstrap_timeout_ms": block_ms}
                )
            except KafkaError as exc:
                raise PublishError(f"cannot reach Kafka at {config['bootstrap_servers']}: "
                                   f"{exc}") from exc
            slot.initialised = False
        if not slot.initialised:
            # Fences every earlier producer of this transactional id and aborts its open
            # transaction: what a failed request half-wrote never becomes visible.
            slot.producer.init_transactions()
            slot.initialised = True
        return slot.producer

    def _abandon(self, slot: _Slot, deadline: float) -> None:
        """Abort what the slot's producer holds (if the broker still answers before the
        deadline), then drop the producer: the next one for this id fences it."""
        producer, slot.producer, slot.initialised = slot.producer, None, False
        if producer is None:
            return
        from kafka.producer.transaction_manager import TransactionState

        with contextlib.suppress(Exception):
            tm = producer._transaction_manager
            if tm._current_state in (TransactionState.IN_TRANSACTION,
                                     TransactionState.ABORTABLE_ERROR):
                result = tm.begin_abort()
                producer._sender.wakeup()
                result.wait(timeout_ms=max(0, int((deadline - time.monotonic()) * 1000)))
        _close_producer(producer, 0)

    def close(self, timeout_s: float = 5.0) -> None:
        self._closed = True
        for slot in self._slots:
            producer, slot.producer = slot.producer, None
            if producer is not None:
                _close_producer(producer, timeout_s)


class _Slot:
    __slots__ = ("initialised", "producer", "transactional_id")

    def __init__(self, transactional_id: str) -> None:
        self.transactional_id = transactional_id
        self.producer: Any = None
        self.initialised = False


class _Pending:
    """A commit whose answer is still out; the slot returns to the pool once it is known.

    First the producer's own retry of the commit is awaited briefly. kafka-python 3.0.12 does
    not finish that retry after a broker restart (its EndTxn stays pending), so then the
    producer is replaced: the new one's init_transactions() settles the transaction (committed
    if the broker had logged the commit, aborted otherwise), and a read_committed read of the
    transaction's first record tells which -- a transaction is all or nothing.
    """

    own_retry_s = 5.0

    def __init__(
        self, owner: TransactionalPublisher, slot: _Slot, result: Any, first: Any
    ) -> None:
        self._owner, self._slot, self._result, self._first = owner, slot, result, first
        self._lock = threading.Lock()
        self._finished = False
        self._answer: bool | None = None

    def outcome(self, timeout_s: float) -> bool | None:
        """True: committed (visible). False: not committed (never will be). None: still
        unknown after ``timeout_s`` (broker away all that time). Answers once; later calls
        repeat the answer."""
        with self._lock:
            if not self._finished:
                self._answer = self._learn(time.monotonic() + timeout_s)
                self._finished = True
            return self._answer

    def _learn(self, deadline: float) -> bool | None:

        with contextlib.suppress(Exception):  # an error does not say which way it went
            if self._result.wait(timeout_ms=int(min(self.own_retry_s, _left(deadline)) * 1000)):
                self._owner._idle.put(self._slot)
                return True
        self._owner._abandon(self._slot, time.monotonic())
        try:
            while True:  # a successor settles the open transaction (the broker may be away)
                try:
                    self._owner._ready_producer(self._slot, deadline)
                    break
                except Exception:  # broker still away (or the producer's network died)
                    self._owner._abandon(self._slot, time.monotonic())
                    if _left(deadline) <= 0 or self._owner._closed:
                        return None
                    time.sleep(min(1.0, _left(deadline)))
            try:
                return committed_record_visible(
                    self._owner._config["bootstrap_servers"], self._first, deadline
                )
            except Exception:  # the broker went away again while reading: still unknown
                return None
        finally:
            self._owner._idle.put(self._slot)


def committed_record_visible(bootstrap: str, meta: Any, deadline: float) -> bool | None:
    """Whether the record at ``meta`` (topic, partition, offset) is visible read_committed:
    True if it is returned, False if the consumer moves past it (aborted), None if the
    transaction is not settled before ``deadline``."""
    from kafka import KafkaConsumer, TopicPartition

    tp = TopicPartition(meta.topic, meta.partition)
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    try:
        consumer.assign([tp])
        consumer.seek(tp, meta.offset)
        while _left(deadline) > 0:
            for record in consumer.poll(timeout_ms=500).get(tp, []):
                return bool(record.offset == meta.offset)
            if consumer.position(tp) > meta.offset:
                return False
        return None
    finally:
        consumer.close()


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _begin_commit(producer: Any) -> Any:
    """commit_transaction() without its unbounded wait: kafka-python 3.0.12's
    commit_transaction() blocks until the broker answers, which a dead broker never does."""
    result = producer._transaction_manager.begin_commit()
    producer._sender.wakeup()
    return result
