"""`kontakt up` starts KONTAKT_WORKER_PROCESSES workers, all `kontakt worker` in one group."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.platform import components, to_start, warehouse_holder
from services.settings import load_settings


def test_one_worker_by_default(tmp_path: Path) -> None:
    names = [c.name for c in components(load_settings(data_dir=tmp_path))]
    assert names == ["worker", "api"]


def test_several_workers_run_the_same_command(tmp_path: Path) -> None:
    parts = components(load_settings(data_dir=tmp_path, worker_processes=3))
    workers = [c for c in parts if c.name.startswith("worker")]
    assert [c.name for c in workers] == ["worker", "worker-2", "worker-3"]
    assert len({tuple(c.argv) for c in workers}) == 1  # same app id from the same settings
    assert parts[-1].name == "api"


def test_zero_workers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="worker_processes"):
        load_settings(data_dir=tmp_path, worker_processes=0)


def test_up_starts_only_what_does_not_run(tmp_path: Path) -> None:
    """Issue 19: after a crashed worker `up` starts the worker and leaves the API alone."""
    parts = components(load_settings(data_dir=tmp_path, worker_processes=2))
    assert [c.name for c in to_start(parts, {})] == ["worker", "worker-2", "api"]
    assert [c.name for c in to_start(parts, {"worker-2": 11, "api": 12})] == ["worker"]
    assert to_start(parts, {"worker": 10, "worker-2": 11, "api": 12}) == []
    # a pid file of a component no longer configured (fewer workers now) changes nothing
    assert [c.name for c in to_start(parts, {"worker-3": 13})] == ["worker", "worker-2", "api"]


def test_a_running_api_holds_the_embedded_warehouse(tmp_path: Path) -> None:
    embedded = load_settings(data_dir=tmp_path)
    assert warehouse_holder(embedded, {"api": 12, "worker": 10}) == ("api", 12)
    assert warehouse_holder(embedded, {"worker": 10}) is None  # free: `up` migrates
    server = load_settings(data_dir=tmp_path, clickhouse_url="clickhouse://127.0.0.1:9000/k")
    assert warehouse_holder(server, {"api": 12}) is None  # a server locks nothing
