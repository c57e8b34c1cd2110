"""Policies as data: the shipped presets and the errors a policy author sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.events import Channel, CustomerCategory, EventType, Kind
from streams.sla.policy import Policy, PolicyError, applicable, load_policy, parse_duration
from tests.fixtures.sla import MIN, D, H, S


def _m(policy: Policy, mid: str):  # type: ignore[no-untyped-def]
    return next(m for m in policy.milestones if m.id == mid)


def test_rao_preset(rao: Policy) -> None:
    phone, email = _m(rao, "phone.answer"), _m(rao, "email.dispatch")
    assert (phone.channels, phone.start, phone.stop_all) == (
        frozenset({Channel.PHONE}), EventType.QUEUED, frozenset({EventType.ANSWERED}))
    assert (phone.target_ms, phone.abandon_rule, phone.pausable, phone.calendar) == (
        40 * S, True, False, "24x7")
    assert email.stop_all == {EventType.REGISTERED, EventType.CLASSIFIED, EventType.ASSIGNED}
    assert (email.target_ms, email.pausable, email.calendar) == (D, False, "24x7")


def test_minenergo_preset(minenergo: Policy) -> None:
    got = {m.id: (m.start.value, sorted(s.value for s in m.stop_all), m.target_ms, m.pausable)
           for m in minenergo.milestones}
    assert got == {
        "office.wait": ("queued", ["answered"], 30 * MIN, False),
        "callback": ("callback_requested", ["callback_completed"], 4 * H, False),
        "written.answer": ("received", ["responded"], 30 * D, True),
        "complaint.status": ("received", ["registered"], D, False),
    }
    assert _m(minenergo, "office.wait").abandon_rule
    assert _m(minenergo, "complaint.status").kinds == {Kind.COMPLAINT}
    assert _m(minenergo, "written.answer").channels == {Channel.EMAIL, Channel.WEB, Channel.POST}


def test_applicable_picks_by_channel_and_kind(minenergo: Policy) -> None:
    ids = [m.id for m in applicable(minenergo, Channel.WEB, Kind.COMPLAINT)]
    assert ids == ["callback", "written.answer", "complaint.status"]
    assert [m.id for m in applicable(minenergo, Channel.PHONE, Kind.INQUIRY)] == ["callback"]


@pytest.mark.parametrize(
    ("raw", "ms"), [("40s", 40 * S), ("30m", 30 * MIN), ("4h", 4 * H), ("30d", 30 * D),
                    ("1500ms", 1500), (40, 40 * S), (" 2 min ", 2 * MIN)])
def test_parse_duration(raw: object, ms: int) -> None:
    assert parse_duration(raw, "x") == ms


@pytest.mark.parametrize("raw", ["40", "1w", "-5s", 0, True, 1.5, "0s", "367d", "9000h"])
def test_parse_duration_rejects(raw: object) -> None:
    with pytest.raises(PolicyError):
        parse_duration(raw, "x")


CUSTOM = """
name = "tenant-x"
[[milestones]]
id = "web.reply"
channels = ["web"]
start = "received"
stop = ["responded"]
pausable = true
target = "16h"
calendar = "ru-workdays-9-18"
warnings = [0.9, 0.5]
[milestones.category_targets]
disabled = "8h"
veteran = "8h"
"""


def test_custom_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(CUSTOM)
    policy = load_policy(str(path))
    m = policy.milestones[0]
    assert policy.name == "tenant-x"
    assert m.warnings == (0.5, 0.9)
    assert m.calendar == "ru-workdays-9-18"
    assert m.target_for(CustomerCategory.DISABLED) == 8 * H
    assert m.target_for(CustomerCategory.STANDARD) == 16 * H


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name='x'", "needs at least one"),
        (CUSTOM.replace('start = "received"', 'start = "born"'), "unknown name"),
        (CUSTOM.replace('calendar = "ru-workdays-9-18"', 'calendar = "mars"'), "calendar"),
        (CUSTOM.replace("pausable = true", "pausible = true"), "unknown keys"),
        (CUSTOM.replace("warnings = [0.9, 0.5]", "warnings = [90]"), "warnings"),
        (CUSTOM.replace('disabled = "8h"', 'disabld = "8h"'), "category_targets"),
        (CUSTOM + CUSTOM.split("\n", 2)[2], "unique"),
        ("[[milestones", "not valid TOML"),
    ],
)
def test_policy_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        load_policy(str(path))


def test_missing_policy_names_the_presets() -> None:
    with pytest.raises(PolicyError, match="rao-ues-2007"):
        load_policy("/no/such/file.toml")
