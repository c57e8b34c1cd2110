"""`kontakt keys create|list|revoke` end to end through the typer app."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.auth import KeyStore
from services.cli import keys as keys_cli
from services.cli.main import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KONTAKT_DATA_DIR", str(tmp_path))
    if not any(g.name == "keys" for g in app.registered_groups):
        keys_cli.register(app)
    return CliRunner()


def test_create_list_revoke(runner: CliRunner, tmp_path: Path) -> None:
    created = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--tenant",
            "tgc-1",
            "--type",
            "heat",
            "--scope",
            "ingest",
            "--scope",
            "read",
            "--label",
            "1C",
        ],
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    principal = KeyStore(tmp_path / "keys.json").authenticate(key)
    assert principal.tenant == "tgc-1" and principal.scopes == {"ingest", "read"}
    listed = runner.invoke(app, ["keys", "list"])
    assert principal.key_id in listed.output and "heat" in listed.output
    assert key not in listed.output
    revoked = runner.invoke(app, ["keys", "revoke", principal.key_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    with pytest.raises(Exception, match="revoked"):
        KeyStore(tmp_path / "keys.json").authenticate(key)


def test_new_tenant_needs_a_type(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "create", "--tenant", "x", "--scope", "ingest"])
    assert result.exit_code != 0
    assert "is new" in str(result.exception)
