"""The notification rules file and the pure matching rules."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from services.alerts.rules import (
    Alert,
    Rule,
    alert_of,
    in_quiet_hours,
    load_rules,
    matches,
    retraction_of,
    severity,
)
from services.errors import UserError

GOOD = """
[smtp]
host = "127.0.0.1"
port = 2525
from = "kontakt@mrsk.example"

[[rules]]
name = "tver-breaches"
tenants = ["mrsk-center"]
regions = ["tver"]
milestones = ["phone.answer"]
severities = ["critical", "high"]
webhook = "https://hooks.example/kontakt"
secret_env = "TEST_HOOK_SECRET"
email = ["lead@mrsk.example"]
quiet_hours = "22:00-07:00"
quiet_allow = ["critical"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", "abc")
    rules = load_rules(write(tmp_path, GOOD))
    rule = rules.rules[0]
    assert (rules.smtp.port, rules.smtp.sender) == (2525, "kontakt@mrsk.example")
    assert rule.secret == "abc" and rule.quiet_hours == (time(22), time(7))
    assert rule.severities == {"critical", "high"} and rule.email == ("lead@mrsk.example",)


@pytest.mark.parametrize(("text", "message"), [
    (GOOD, "TEST_HOOK_SECRET is not set"),
    ('[[rules]]\nname="a"\nwebhook="http://x"\n', "needs a secret"),
    ('[[rules]]\nname="a"\n', "needs a webhook or an email"),
    ('[[rules]]\nemail=["a@b"]\nquiet_hours="late"\n', "quiet_hours"),
    ('[[rules]]\nemail=["a@b"]\nseverities=["urgent"]\n', "unknown severities"),
    ('[[rules]]\nname="a"\nemail=["a@b"]\n[[rules]]\nname="a"\nemail=["c@d"]\n', "unique"),
    ("[[rules]\n", "cannot read"),
])
def test_mistakes_are_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     text: str, message: str) -> None:
    monkeypatch.delenv("TEST_HOOK_SECRET", raising=False)
    with pytest.raises(UserError, match=message):
        load_rules(write(tmp_path, text))


def test_severity_ladder() -> None:
    assert severity("breached", None) == "critical"
    assert severity("outage_storm", None) == "critical"
    assert severity("warning", 0.9) == "high"
    assert severity("warning", 0.5) == "warning"
    assert severity("met", None) == "info"


def test_storm_alerts_go_to_their_tenants_rules() -> None:
    storm = {"alert_id": "s", "tenant": "mrsk", "region": "kursk", "scope": "outage",
             "window_start": 0, "window_end": 1, "count": 80, "baseline": 9.0,
             "threshold": 27.0, "local_hour": 3, "raised_at": 1}
    alert = alert_of("OutageStormSuspected", storm)
    assert alert is not None
    assert (alert.kind, alert.tenant, alert.severity) == ("outage_storm", "mrsk", "critical")
    mine, other = (Rule(t, tenants=frozenset({t}), email=("a@b",)) for t in ("mrsk", "tns"))
    assert matches(mine, alert) and not matches(other, alert)
    # a v1 storm (no tenant: counted over the whole region) still reaches every tenant's rule
    v1 = alert_of("OutageStormSuspected", {k: v for k, v in storm.items() if k != "tenant"})
    assert v1 is not None and v1.tenant == "" and matches(other, v1)
    assert alert_of("MetricsSnapshotTaken", {}) is None


def test_quiet_hours_use_the_region_zone_and_wrap_midnight() -> None:
    rule = Rule("r", email=("a@b",), quiet_hours=(time(22), time(7)))
    alert = Alert("a", "breached", "critical", "t", "tver", "phone", "phone.answer", {})

    def utc(hour: int, minute: int) -> int:
        return int(datetime(2026, 11, 27, hour, minute, tzinfo=UTC).timestamp() * 1000)

    assert in_quiet_hours(rule, alert, utc(19, 30))  # 22:30 in Tver (UTC+3)
    assert in_quiet_hours(rule, alert, utc(3, 59))  # 06:59
    assert not in_quiet_hours(rule, alert, utc(4, 0))  # 07:00
    assert not in_quiet_hours(rule, alert, utc(18, 59))  # 21:59
    kamchatka = Rule("k", email=("a@b",), quiet_hours=(time(22), time(7)),
                     timezone="Asia/Kamchatka")
    assert in_quiet_hours(kamchatka, alert, utc(11, 0))  # 23:00 there (UTC+12)
    assert not in_quiet_hours(rule, alert, utc(11, 0))  # 14:00 in Tver


def test_cli_checks_the_rules_file(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "KONTAKT_DATA_DIR": str(tmp_path), "TEST_HOOK_SECRET": "abc"}
    cmd = [sys.executable, "-m", "services.cli.main", "notifier", "--check"]
    env.pop("KONTAKT_NOTIFY_RULES", None)
    none = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert none.returncode == 2 and "KONTAKT_NOTIFY_RULES" in none.stderr
    env["KONTAKT_NOTIFY_RULES"] = str(write(tmp_path, GOOD))
    ok = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "1 rule(s)" in ok.stdout


def test_notification_text_names_the_region_and_the_payload_keeps_its_id() -> None:
    from services.alerts.notifier import payload, summary

    datum = {"contact_id": "c1", "due_at": 1_790_000_040_000, "count": 90, "baseline": 10.0}
    breach = Alert("a", "breached", "critical", "t", "tver", "phone", "phone.answer", datum)
    text = summary(breach)
    assert "Тверская область / Tver Oblast" in text and "tver" not in text
    body = payload(breach, Rule("r", email=("a@b",)))
    assert (body["region"], body["region_name"]) == ("tver", "Тверская область")
    storm = Alert("s", "outage_storm", "critical", "t", "moscow", "phone", "outage_storm", datum)
    assert "в регионе Москва / Moscow (t)" in summary(storm)
    nowhere = Alert("a", "breached", "critical", "t", "atlantis", "phone", "phone.answer", datum)
    assert ", atlantis, phone," in summary(nowhere)  # unknown: the id, once


def test_a_retraction_is_no_alert_for_the_rules_but_names_the_breach_it_withdraws() -> None:
    datum = {"retraction_id": "r1", "alert_id": "b1", "contact_id": "c1",
             "milestone": "phone.answer", "status": "met", "tenant": "mrsk-center",
             "region": "tver", "channel": "phone"}
    assert alert_of("SlaAlertRetracted", datum) is None  # never matched against a rule
    r = retraction_of("SlaAlertRetracted", datum)
    assert r is not None and (r.retraction_id, r.alert_id, r.region) == ("r1", "b1", "tver")
    assert retraction_of("SlaAlertRaised", datum) is None
