"""`diff_versions` (scope by scope, milestone by milestone), the TOML a version shows as, and
`kontakt policy publish|list|show|diff` through the typer app over an in-memory log."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from tomli_w import dumps
from typer.testing import CliRunner

from schemas.events import format_timestamp
from services.cli import policy as policy_cli
from services.cli.main import app
from services.policies.diff import Change, diff_versions, format_diff
from services.policies.log import InMemoryPolicyLog
from services.policies.publish import next_version
from streams.sla.versions import PolicyVersion, parse_version, preset_document, version_document

T0 = 1_790_000_000_000
ANSWER = {"id": "phone.answer", "channels": ["phone"], "start": "queued", "stop": ["answered"],
          "target": "40s", "warnings": [0.5, 0.8], "calendar": "24x7"}


def version(n: int, doc: dict[str, Any]) -> PolicyVersion:
    return parse_version({"effective_from": T0 + n, **doc}, "mrsk", n, "test")


def inline(**changes: Any) -> dict[str, Any]:
    return {"name": "own", "milestones": [{**ANSWER, **changes}]}


def test_identical_versions_differ_only_in_their_dates() -> None:
    a = version(1, {"default": {"preset": "minenergo-186"}})
    b = version(2, {"default": {"preset": "minenergo-186"}})
    assert [c.field for c in diff_versions(a, b)] == ["effective_from"]


def test_milestone_fields_that_differ_per_scope() -> None:
    a = version(1, {"default": inline()})
    b = version(2, {"comment": "stricter", "default": inline(
        target="20s", warnings=[0.5], calendar="ru-workdays-9-18",
        category_targets={"vulnerable": "10s"})})
    got = {(c.scope, c.milestone, c.field): (c.before, c.after) for c in diff_versions(a, b)}
    assert got[("default", "phone.answer", "target")] == ("40s", "20s")
    assert got[("default", "phone.answer", "warnings")] == ("0.5, 0.8", "0.5")
    assert got[("default", "phone.answer", "calendar")] == ("24x7", "ru-workdays-9-18")
    assert got[("default", "phone.answer", "category_targets.vulnerable")] == ("(none)", "10s")
    assert got[("version", "", "comment")] == ("", "stricter")
    assert ("default", "phone.answer", "stop") not in got


def test_an_added_override_shows_as_its_scope_leaving_the_default() -> None:
    a = version(1, {"default": inline()})
    b = version(2, {"default": inline(), "overrides": [{"region": "77", **inline(target="20s")}]})
    changes = [c for c in diff_versions(a, b) if c.scope != "version"]
    assert changes == [
        Change("region=77", "", "rules from", "the default", "its own override"),
        Change("region=77", "phone.answer", "target", "40s", "20s"),
    ]
    lines = format_diff(a, b, diff_versions(a, b))
    assert lines[0] == "mrsk: version 1 -> version 2"
    assert "[region=77]" in lines and "  phone.answer" in lines
    assert "    target: 40s -> 20s" in lines


def test_milestones_added_and_removed_and_a_new_preset() -> None:
    a = version(1, {"default": {"preset": "rao-ues-2007"}})
    b = version(2, {"default": {"preset": "minenergo-186"}})
    changes = diff_versions(a, b)
    assert Change("default", "", "policy", "rao-ues-2007", "minenergo-186") in changes
    whole = {c.milestone: c.after for c in changes if c.field == "milestone"}
    assert whole == {"phone.answer": "removed", "email.dispatch": "removed",
                     "office.wait": "added: target 30m, calendar 24x7",
                     "callback": "added: target 4h, calendar 24x7",
                     "written.answer": "added: target 30d, calendar 24x7",
                     "complaint.status": "added: target 1d, calendar 24x7"}


def test_toml_round_trip_of_a_version_document() -> None:
    v = version(1, {"comment": "кавычки \" и \\ слэш", "default": {"preset": "minenergo-186"},
                    "overrides": [{"region": "77", "queue": "vip line",
                                   **inline(category_targets={"vulnerable": "10s"})}]})
    doc = version_document(v)
    assert tomllib.loads(dumps(doc)) == doc
    again = parse_version(tomllib.loads(dumps(doc)), "mrsk", 1, "again")
    assert version_document(again) == doc
    assert tomllib.loads(dumps(preset_document("rao-ues-2007"))) == preset_document(
        "rao-ues-2007")


# --- the CLI --------------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, InMemoryPolicyLog]:
    monkeypatch.setenv("KONTAKT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    log = InMemoryPolicyLog()
    monkeypatch.setattr(policy_cli, "open_log", lambda settings: log)
    if not any(g.name == "policy" for g in app.registered_groups):
        policy_cli.register(app)
    return CliRunner(), log


def test_publish_list_show_diff(cli: tuple[CliRunner, InMemoryPolicyLog], tmp_path: Path) -> None:
    runner, log = cli
    first = tmp_path / "v1.toml"
    first.write_text('comment = "order 186"\n[default]\npreset = "minenergo-186"\n')
    done = runner.invoke(app, ["policy", "publish", str(first), "--tenant", "mrsk"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("published mrsk version 1: in force from ")
    assert done.output.rstrip().endswith("(by cli:alice)")
    # v2: v1 as `show` prints it, one target changed, from tomorrow
    shown = runner.invoke(app, ["policy", "show", "--tenant", "mrsk"])
    assert shown.exit_code == 0, shown.output
    doc = tomllib.loads(shown.output)
    assert doc["default"]["name"] == "minenergo-186"
    doc["default"]["milestones"][0]["target"] = "20m"
    second = tmp_path / "v2.toml"
    second.write_text(dumps(doc))
    tomorrow = format_timestamp(time.time_ns() // 1_000_000 + 86_400_000)  # relative to now
    done = runner.invoke(app, ["policy", "publish", str(second), "--tenant", "mrsk",
                               "--effective-from", tomorrow])
    assert done.exit_code == 0, done.output
    assert [v.version for v in log.history("mrsk")] == [1, 2]
    listed = runner.invoke(app, ["policy", "list", "--tenant", "mrsk"])
    assert listed.exit_code == 0
    rows = listed.output.splitlines()
    assert rows[0].split()[:2] == ["version", "effective_from"]
    assert tomorrow in rows[2] and "cli:alice" in rows[2]
    as_json = runner.invoke(app, ["policy", "show", "--tenant", "mrsk", "--version", "1",
                                  "--format", "json"])
    assert json.loads(as_json.output)["comment"] == "order 186"
    diff = runner.invoke(app, ["policy", "diff", "--tenant", "mrsk", "1", "2"])
    assert diff.exit_code == 0, diff.output
    assert "    target: 30m -> 20m" in diff.output.splitlines()


def test_cli_refusals_are_one_line(cli: tuple[CliRunner, InMemoryPolicyLog],
                                   tmp_path: Path) -> None:
    runner, log = cli
    bad = tmp_path / "bad.toml"
    bad.write_text('effective_from = 2020-01-01T00:00:00Z\n[default]\npreset = "minenergo-186"\n')
    done = runner.invoke(app, ["policy", "publish", str(bad), "--tenant", "mrsk"])
    assert done.exit_code != 0
    assert "effective_from" in str(done.exception) and "at least 60 s later" in str(
        done.exception)
    assert log.tenants() == []
    missing = runner.invoke(app, ["policy", "show", "--tenant", "nobody"])
    assert "no policy versions" in str(missing.exception)


def test_next_version_is_what_the_cli_and_api_share() -> None:
    v = next_version([], {"default": {"preset": "minenergo-186"}}, tenant="t", published_by="x",
                     now_ms=T0, min_lead_ms=0)
    assert v.effective_from == T0
