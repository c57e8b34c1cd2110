"""Replay (pure) and the `kontakt sla` CLI around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from schemas.events import event_to_json, format_timestamp
from services.cli import sla as sla_cli
from streams.sla.policy import Policy
from streams.sla.replay import format_instant, replay
from tests.fixtures.sla import S, at, ev

T0 = at("2026-01-12T10:00:00Z")


def _line(e) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(event_to_json(e))


LINES = [
    _line(ev("queued", T0, contact="b")),
    _line(ev("answered", T0 + 40 * S, contact="b")),
    "{not json",
    _line(ev("received", T0, contact="a", channel="email")),
    "",
    json.dumps({"event_id": "x", "contact_id": "a", "type": "answered"}),
    _line(ev("queued", T0 + 50 * S, contact="c")),
    _line(ev("registered", T0 + 70 * S, contact="a", channel="email")),
]


def test_replay_sorts_reports_bad_lines_and_keeps_the_good(rao: Policy) -> None:
    result = replay(LINES, rao)
    assert [e.line for e in result.errors] == [3, 6]
    assert "tenant" in result.errors[1].message
    rows = [(r["contact_id"], r["milestone"], r["status"]) for r in result.outcomes]
    assert rows == [("a", "email.dispatch", "open"), ("b", "phone.answer", "met"),
                    ("c", "phone.answer", "open")]
    assert result.as_of == T0 + 70 * S
    b = result.outcomes[1]
    assert b["elapsed_seconds"] == 40.0
    assert (b["started_at"], b["stopped_at"]) == ("2026-01-12T10:00:00.000Z",
                                                  "2026-01-12T10:00:40.000Z")
    assert result.outcomes[2]["stopped_at"] is None


def test_replay_as_of_decides_open_against_breached(rao: Policy) -> None:
    lines = [_line(ev("queued", T0))]
    assert replay(lines, rao, T0 + 40 * S).outcomes[0]["status"] == "open"
    assert replay(lines, rao, T0 + 41 * S).outcomes[0]["status"] == "breached"


def test_replay_of_nothing(rao: Policy) -> None:
    result = replay(["", "  "], rao)
    assert (result.outcomes, result.errors, result.as_of) == ([], [], None)


@pytest.mark.parametrize("ms", [0, 1, 999, T0, T0 + 86_399_999, -1, 4_102_444_800_123])
def test_format_instant_matches_the_schema_formatter(ms: int) -> None:
    assert format_instant(ms) == format_timestamp(ms)


@pytest.fixture()
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    sla_cli.register(app)
    return app


@pytest.fixture()
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_cli_evaluate(cli: typer.Typer, events_file: Path) -> None:
    result = CliRunner().invoke(cli, ["sla", "evaluate", "--input", str(events_file)])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["contact_id"] for r in rows] == ["a", "b", "c"]
    assert {"contact_id", "milestone", "status", "started_at", "due_at", "stopped_at",
            "elapsed_seconds"} <= set(rows[0])
    assert "line 3:" in result.stderr and "line 6:" in result.stderr


def test_cli_evaluate_from_stdin_with_as_of(cli: typer.Typer) -> None:
    text = "\n".join(LINES[:2]) + "\n"
    result = CliRunner().invoke(cli, ["sla", "evaluate", "--policy", "minenergo-186",
                                      "--as-of", "2026-01-13T00:00:00Z"], input=text)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # minenergo has no phone milestone without a callback


def test_cli_user_errors(cli: typer.Typer, events_file: Path) -> None:
    from services.errors import UserError

    runner = CliRunner()
    for args in (["sla", "evaluate", "-p", "nope", "-i", str(events_file)],
                 ["sla", "evaluate", "--as-of", "yesterday", "-i", str(events_file)],
                 ["sla", "evaluate", "-i", "/no/such/file"],
                 ["sla", "explain", "zzz", "-i", str(events_file)],
                 ["sla", "metrics", "--by", "colour", "-i", str(events_file)]):
        result = runner.invoke(cli, args)
        assert isinstance(result.exception, UserError), (args, result.output)


def test_cli_explain(cli: typer.Typer, events_file: Path) -> None:
    result = CliRunner().invoke(cli, ["sla", "explain", "a", "--input", str(events_file)])
    assert result.exit_code == 0
    assert "email.dispatch: OPEN" in result.stdout
    assert "Mon 2026-01-12 13:00:00" in result.stdout  # local time in Kursk


def test_cli_metrics_formats(cli: typer.Typer, events_file: Path) -> None:
    runner = CliRunner()
    as_json = runner.invoke(cli, ["sla", "metrics", "-i", str(events_file), "--format", "json"])
    data = json.loads(as_json.stdout)
    phone = data["queue"][0]
    assert (phone["channel"], phone["offered"], phone["service_level"], phone["waiting"]) == (
        "phone", 1, 1.0, 1)
    as_csv = runner.invoke(cli, ["sla", "metrics", "-i", str(events_file), "--format", "csv",
                                 "--by", "channel,region"])
    assert "channel,region,offered" in as_csv.stdout
    table = runner.invoke(cli, ["sla", "metrics", "-i", str(events_file)])
    assert "service_level" in table.stdout and "met_share" in table.stdout


def test_cli_policy_defaults_to_the_setting(cli: typer.Typer, events_file: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONTAKT_SLA_POLICY", "minenergo-186")
    result = CliRunner().invoke(cli, ["sla", "evaluate", "--input", str(events_file)])
    milestones = {json.loads(line)["milestone"] for line in result.stdout.splitlines()}
    assert milestones == {"written.answer"}  # the email contact under minenergo-186


def test_replay_sorts_milestones_whatever_the_policy_order(minenergo: Policy) -> None:
    lines = [_line(ev("received", T0, channel="web", kind="complaint")),
             _line(ev("callback_requested", T0 + S, channel="web", kind="complaint"))]
    rows = [r["milestone"] for r in replay(lines, minenergo).outcomes]
    assert rows == ["callback", "complaint.status", "written.answer"]


def test_kontakt_console_command_runs_the_replay() -> None:
    import subprocess
    import sys

    kontakt = Path(sys.executable).with_name("kontakt")
    text = "\n".join(LINES) + "\n"
    done = subprocess.run([str(kontakt), "sla", "evaluate", "--policy", "rao-ues-2007"],
                          input=text, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1  # two bad lines
    assert [json.loads(x)["contact_id"] for x in done.stdout.splitlines()] == ["a", "b", "c"]
    assert "line 3:" in done.stderr
