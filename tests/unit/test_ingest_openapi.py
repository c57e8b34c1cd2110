"""The ingest adapters' declared bodies (services/ingest/openapi.py) against real payloads: each
sample the adapter tests map must conform to the schema, or generated clients and fuzzers
would be kept from what the API takes; and a payload the adapter refuses must not conform."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from services.ingest.openapi import (
    ASTERISK_BODY,
    EMAIL_BODY,
    EVENT_SCHEMA,
    TICKET_BODY,
    WEB_FORM_BODY,
    _past_years,
)
from tests.unit.test_channel_adapters import AGENT_CONNECT, CALLER_JOIN, FORM, MAIL, TICKET


def valid(schema: dict[str, Any], value: Any) -> bool:
    return bool(jsonschema_rs.validator_for(schema).is_valid(value))


@pytest.mark.parametrize(("schema", "sample"), [
    (ASTERISK_BODY, CALLER_JOIN),
    (ASTERISK_BODY, [CALLER_JOIN, AGENT_CONNECT]),
    (EMAIL_BODY, MAIL),
    (EMAIL_BODY, MAIL.replace("\n", "\r\n")),
    (EMAIL_BODY, EMAIL_BODY["example"]),
    (TICKET_BODY, TICKET),
    (WEB_FORM_BODY, FORM),
    (EVENT_SCHEMA, {"event_id": "e1", "contact_id": "c1", "region": "tver", "channel": "phone",
                    "type": "queued", "occurred_at": "2026-11-27T09:15:00.000Z"}),
])
def test_real_payloads_conform(schema: dict[str, Any], sample: Any) -> None:
    assert valid(schema, sample)


@pytest.mark.parametrize(("schema", "sample"), [
    (ASTERISK_BODY, {k: v for k, v in CALLER_JOIN.items() if k != "Queue"}),
    (EMAIL_BODY, MAIL.replace("Message-ID: <CAKx9w2b4f1e@mail.example.ru>\n", "")),
    (EMAIL_BODY, MAIL.replace("Date: Fri, 27 Nov 2026 09:14:55 +0300\n", "")),
    (TICKET_BODY, {**TICKET, "event": "ticket.teleported"}),
    (WEB_FORM_BODY, {**FORM, "fields": {"topic": "no_power"}}),  # no contact detail
    (WEB_FORM_BODY, {**FORM, "submitted_at": "2026-11-27 08:40"}),
])
def test_refused_payloads_do_not_conform(schema: dict[str, Any], sample: Any) -> None:
    assert not valid(schema, sample)


def test_past_years() -> None:
    import re

    years = re.compile(f"^{_past_years(2026)}$")
    assert [y for y in range(1960, 2040) if years.match(str(y))] == list(range(1970, 2027))
    assert re.fullmatch(_past_years(2030), "2030") and not re.fullmatch(_past_years(2030), "2031")
    assert re.fullmatch(_past_years(2004), "2004") and not re.fullmatch(_past_years(2004), "2005")
