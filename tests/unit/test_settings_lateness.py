"""KONTAKT_ALLOWED_LATENESS: late-by-design sources, parsed once, refused with the exact item."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.settings import load_settings, parse_lateness


def test_parses_tenants_channels_and_the_wildcard() -> None:
    assert parse_lateness("mrsk-center/phone=90, */email=600,x/web=0.5") == {
        ("mrsk-center", "phone"): 90_000, ("*", "email"): 600_000, ("x", "web"): 500}
    assert parse_lateness("") == {}


@pytest.mark.parametrize("bad", ["phone=90", "t/fax=10", "t/phone", "t/phone=-1",
                                 "t/phone=abc", "/phone=5", "t/phone=100000"])
def test_refuses_what_does_not_parse(bad: str) -> None:
    with pytest.raises(ValidationError, match="allowed lateness"):
        load_settings(allowed_lateness=bad)


def test_the_processor_applies_a_tenant_entry_before_the_wildcard() -> None:
    from schemas.events import Channel, ContactEvent, EventType
    from streams.processor import ContactProcessor
    from streams.sla.policy import load_policy
    from streams.sla.state import build_state

    proc = ContactProcessor(load_policy("rao-ues-2007"),
                            lateness={("a", "phone"): 5, ("*", "phone"): 7})

    def state(tenant: str) -> object:
        return build_state([ContactEvent("e", "c", tenant, "tver", Channel.PHONE,
                                         EventType.QUEUED, 0)])

    assert [proc.late_ms(state(t)) for t in ("a", "b")] == [5, 7]  # type: ignore[arg-type]
