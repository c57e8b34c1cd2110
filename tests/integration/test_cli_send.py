"""`kontakt send FILE.ndjson` against the API and the real broker: every event arrives once,
sending the file again adds nothing, and a bad line stops it with the API's message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from services.adapters.kafka_reader import ConsumedRecord
from services.cli import send as send_cli
from services.errors import UserError
from tests.integration.ingest_support import create_key, ingest_settings, make_events, serve

pytestmark = pytest.mark.kafka


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    send_cli.register(app)
    return app


def test_send_file_once_and_again(
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    read_records: Callable[..., list[ConsumedRecord]],
) -> None:
    settings = ingest_settings(tmp_path / "api", kafka_bootstrap, new_topic(partitions=3))
    key = create_key(settings)
    file = tmp_path / "events.ndjson"
    file.write_bytes(b"\n".join(orjson.dumps(e) for e in make_events(2_500, "cli")) + b"\n")
    runner = CliRunner()
    with serve(settings) as url:
        args = ["send", str(file), "--url", url, "--key", key, "--batch-size", "1000"]
        first = runner.invoke(cli(), args)
        assert first.exit_code == 0, first.output
        assert "accepted 2500, duplicates 0, rejected 0, in 3 requests" in first.output
        again = runner.invoke(cli(), args)
        assert "accepted 0, duplicates 2500" in again.output
        bad = tmp_path / "bad.ndjson"
        bad.write_text('{"event_id": "x", "channel": "fax"}\n')
        refused = runner.invoke(cli(), ["send", str(bad), "--url", url, "--key", key])
        assert isinstance(refused.exception, UserError)
        assert "nothing of it was produced" in str(refused.exception)
        assert "unknown value 'fax'" in str(refused.exception)
    assert len(read_records(settings.events_topic)) == 2_500
