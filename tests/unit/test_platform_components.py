"""`kontakt up` starts KONTAKT_WORKER_PROCESSES workers, all `kontakt worker` in one group."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.platform import components
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
