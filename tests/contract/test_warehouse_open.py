"""Opening a warehouse: backend chosen by URL, and every user-fixable failure is one clear
UserError line (chdb's one-process-per-directory lock, a file where the directory should be,
a second directory in one process, an unreachable server)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.adapters.chdb_warehouse import ChdbWarehouse
from services.adapters.driver_warehouse import DriverWarehouse
from services.errors import UserError
from services.settings import load_settings
from services.warehouse import chdb_path, open_warehouse
from tests.fixtures.clickhouse_server import free_port

HOLDER = """
import sys, time
from services.adapters.chdb_warehouse import ChdbWarehouse
w = ChdbWarehouse(sys.argv[1])
print("open", flush=True)
time.sleep(60)
"""


def test_settings_pick_embedded_chdb_under_data_dir(tmp_path: Path) -> None:
    warehouse = open_warehouse(load_settings(data_dir=tmp_path, clickhouse_url=""))
    try:
        assert isinstance(warehouse, ChdbWarehouse)
        assert warehouse.path == (tmp_path / "warehouse").resolve()
        assert warehouse.ping()
    finally:
        warehouse.close()


def test_server_url_picks_the_driver(clickhouse_server_url: str) -> None:
    warehouse = open_warehouse(load_settings(clickhouse_url=clickhouse_server_url))
    try:
        assert isinstance(warehouse, DriverWarehouse)
        assert warehouse.query("SELECT currentDatabase()")[0][0].startswith("t_")
    finally:
        warehouse.close()


def test_unreachable_server_is_one_clear_line(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(UserError) as info:
        open_warehouse(f"clickhouse://kontakt:secret@127.0.0.1:{port}/kontakt")
    assert not [r for r in caplog.records if r.name.startswith("clickhouse_driver")]
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "\n" not in message
    assert "secret" not in message  # the password is redacted
    assert time.monotonic() - started < 15


@pytest.mark.parametrize(
    "url", ["postgres://x@y/z", "chdb://relative/path", "chdb:relative"], ids=str
)
def test_bad_urls_are_user_errors(url: str) -> None:
    with pytest.raises(UserError):
        open_warehouse(url)


def test_chdb_url_path() -> None:
    assert chdb_path("chdb:///var/lib/kontakt/warehouse") == Path("/var/lib/kontakt/warehouse")


def test_path_that_is_a_file_is_a_user_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(UserError, match="is a file"):
        ChdbWarehouse(target)


def test_second_directory_in_one_process_is_a_user_error(tmp_path: Path) -> None:
    first = ChdbWarehouse(tmp_path / "a")
    try:
        again = ChdbWarehouse(tmp_path / "a")  # the same directory twice is fine
        again.close()
        with pytest.raises(UserError, match="one data directory per process"):
            ChdbWarehouse(tmp_path / "b")
        assert first.ping()
    finally:
        first.close()
    later = ChdbWarehouse(tmp_path / "b")  # once closed, another directory may be opened
    later.close()


def test_directory_locked_by_another_process_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "locked"
    ChdbWarehouse(path).close()  # create it, so the holder finds an existing directory
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(UserError, match="in use by another process"):
            ChdbWarehouse(path)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    ChdbWarehouse(path).close()  # free again once the other process is gone


def test_missing_server_binary_fails_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fixtures import clickhouse_server as fixture

    monkeypatch.setattr(fixture.shutil, "which", lambda name: None)
    monkeypatch.setattr(fixture, "SERVER_BINARY", str(tmp_path / "no-such-binary"))
    with pytest.raises(fixture.ServerStartError, match="apt-get install -y clickhouse-server"):
        fixture.start_server(tmp_path / "root")


def test_directory_that_cannot_be_created_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a parent directory should be")
    with pytest.raises(UserError, match="cannot create warehouse directory"):
        ChdbWarehouse(blocker / "warehouse")
