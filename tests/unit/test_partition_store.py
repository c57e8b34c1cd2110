"""streams.partition_store on faust's two stores: what the adapter writes faust reads, and the
other way round, per partition -- the contract that holds the private names it uses."""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.streams import _current_event

from streams.partition_store import MemoryPartitions, RocksDBPartitions, partition_store

_ids = itertools.count()
RAW = faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw",
                   value_serializer="raw")


class _Event:
    """What faust's store reads of the current event: its message's partition."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


@pytest.fixture(params=["memory://", "rocksdb://"])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    n = next(_ids)
    app = faust.App(f"partition-store-{n}", store=request.param, datadir=str(tmp_path))
    table = app.Table(f"t{n}", partitions=3, key_type=bytes, value_type=bytes,
                      schema=RAW)
    yield table
    if request.param.startswith("rocksdb"):
        for db in table.data._dbs.values():
            db.close()


def test_the_adapter_matches_the_store(table: Any) -> None:
    adapter = partition_store(table)
    kind = MemoryPartitions if table.data.__class__.__module__.endswith("memory") \
        else RocksDBPartitions
    assert isinstance(adapter, kind)
    assert adapter.get(1, b"k") is None
    adapter.put(1, b"k", b"v1")
    assert adapter.get(1, b"k") == b"v1"
    assert table.data[b"k"] == b"v1"  # faust's read without an event finds it
    held = _Event(2)
    _current_event.set(weakref.ref(held))
    try:
        table.data[b"j"] = b"w"  # faust's write, partition from the current event
    finally:
        _current_event.set(None)
    assert adapter.get(2, b"j") == b"w"
    adapter.delete(1, b"k")
    assert adapter.get(1, b"k") is None
    assert b"k" not in table.data
    adapter.delete(1, b"never-there")  # deleting a missing key is no error


def test_rocksdb_keeps_partitions_apart(tmp_path: Path) -> None:
    app = faust.App("partition-store-rocks", store="rocksdb://", datadir=str(tmp_path))
    table = app.Table("apart", partitions=3, key_type=bytes, value_type=bytes,
                      schema=RAW)
    adapter = partition_store(table)
    try:
        adapter.put(0, b"k", b"zero")
        assert adapter.get(1, b"k") is None  # another partition's database
        assert sorted(table.data._dbs) == [0, 1]
    finally:
        for db in table.data._dbs.values():
            db.close()


def test_an_unknown_store_is_refused() -> None:
    with pytest.raises(TypeError, match="no partition adapter"):
        partition_store(SimpleNamespace(data=object()))
