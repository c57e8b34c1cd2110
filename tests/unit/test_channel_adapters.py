"""Channel adapters with realistic payloads: each maps onto canonical event JSON that
parse_event accepts, carries personal data only in `customer`, and refuses what it cannot map."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.events import parse_event
from services.ingest.adapters import AdapterError, asterisk, rfc5322, ticket, webform

NOW = 1_795_770_000_000

# As forwarded by an AMI bridge (manager.conf timestampevents=yes), Asterisk 20 app_queue.
CALLER_JOIN = {
    "Event": "QueueCallerJoin",
    "Privilege": "agent,all",
    "Timestamp": "1795770000.123456",
    "Channel": "PJSIP/rostelecom-trunk-0000004f",
    "ChannelState": "6",
    "ChannelStateDesc": "Up",
    "CallerIDNum": "+79123456789",
    "CallerIDName": "IVANOV I",
    "ConnectedLineNum": "<unknown>",
    "ConnectedLineName": "<unknown>",
    "Language": "ru",
    "AccountCode": "",
    "Context": "from-trunk",
    "Exten": "88002000000",
    "Priority": "4",
    "Uniqueid": "1795769990.1187",
    "Linkedid": "1795769990.1187",
    "Queue": "outage-tver",
    "Position": "3",
    "Count": "3",
}
AGENT_CONNECT = {
    "Event": "AgentConnect",
    "Privilege": "agent,all",
    "Timestamp": "1795770031.500000",
    "Channel": "PJSIP/rostelecom-trunk-0000004f",
    "CallerIDNum": "+79123456789",
    "CallerIDName": "IVANOV I",
    "Uniqueid": "1795769990.1187",
    "Linkedid": "1795769990.1187",
    "DestChannel": "PJSIP/201-00000050",
    "DestCallerIDNum": "201",
    "DestCallerIDName": "Petrova Anna",
    "Queue": "outage-tver",
    "MemberName": "Petrova Anna",
    "Interface": "PJSIP/201",
    "HoldTime": "31",
    "RingTime": "4",
}
AMI_TEXT = (
    "Event: QueueCallerAbandon\r\nPrivilege: agent,all\r\nTimestamp: 1795770100.000001\r\n"
    "Channel: PJSIP/rostelecom-trunk-00000051\r\nCallerIDNum: 89031112233\r\n"
    "CallerIDName: <unknown>\r\nUniqueid: 1795770050.1190\r\nLinkedid: 1795770050.1190\r\n"
    "Queue: outage-tver\r\nPosition: 2\r\nOriginalPosition: 5\r\nHoldTime: 50\r\n\r\n"
    "Event: Newchannel\r\nChannel: PJSIP/rostelecom-trunk-00000052\r\n"
    "Uniqueid: 1795770101.1191\r\n\r\n"
)


def test_asterisk_queue_call_maps_to_queued_answered_abandoned() -> None:
    events, ignored = asterisk.map_payload(
        [CALLER_JOIN, AGENT_CONNECT], region="tver", kind="outage", now_ms=NOW
    )
    queued, answered = (parse_event({**e, "tenant": "t"}) for e in events)
    assert ignored == 0
    assert (queued.type.value, answered.type.value) == ("queued", "answered")
    assert queued.contact_id == answered.contact_id == "ast-1795769990.1187"
    assert answered.occurred_at - queued.occurred_at == 31_377
    assert answered.agent == "PJSIP/201" and answered.kind.value == "outage"
    assert events[0]["customer"] == {"phone": "+79123456789", "name": "IVANOV I"}
    assert "Petrova" not in str(events) and answered.attributes["hold_time_s"] == "31"
    text_events, ignored = asterisk.map_payload(AMI_TEXT, region="tver", kind=None, now_ms=NOW)
    assert ignored == 1 and len(text_events) == 1
    abandoned = parse_event({**text_events[0], "tenant": "t"})
    assert abandoned.type.value == "abandoned" and abandoned.attributes["hold_time_s"] == "50"
    assert text_events[0]["customer"] == {"phone": "89031112233"}


def test_asterisk_without_timestamp_uses_receipt_time() -> None:
    events, _ = asterisk.map_payload(
        {k: v for k, v in CALLER_JOIN.items() if k != "Timestamp"},
        region="tver",
        kind=None,
        now_ms=NOW,
    )
    assert parse_event({**events[0], "tenant": "t"}).occurred_at == NOW


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**CALLER_JOIN, "Queue": ""}, "Queue"),
        ({k: v for k, v in CALLER_JOIN.items() if k not in ("Uniqueid", "Linkedid")}, "Uniqueid"),
        ({**CALLER_JOIN, "Timestamp": "yesterday"}, "Timestamp"),
        ({"Response": "Success"}, "Event"),
        (42, "$"),
    ],
)
def test_asterisk_refuses_unmappable_events(payload: Any, field: str) -> None:
    with pytest.raises(AdapterError) as info:
        asterisk.map_payload(payload, region="tver", kind=None, now_ms=NOW)
    assert info.value.field == field


MAIL = """Return-Path: <i.ivanov@example.ru>
Received: from mx.example.ru (mx.example.ru [192.0.2.10])
\tby mail.mrsk-center.ru with ESMTPS id 4XyZ; Fri, 27 Nov 2026 09:14:58 +0300
From: =?UTF-8?B?0JjQstCw0L3QvtCyINCY0LLQsNC9?= <I.Ivanov@example.ru>
To: info@mrsk-center.ru
Subject: =?UTF-8?B?0J3QtdGCINGB0LLQtdGC0LAg0L/QviDQsNC00YDQtdGB0YM=?=
Date: Fri, 27 Nov 2026 09:14:55 +0300
Message-ID: <CAKx9w2b4f1e@mail.example.ru>
In-Reply-To: <20261120101500.77@mrsk-center.ru>
References: <20261119080000.12@mrsk-center.ru> <20261120101500.77@mrsk-center.ru>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
body is ignored
"""


def test_rfc5322_reply_joins_its_thread_and_keeps_the_sender_as_customer() -> None:
    out = rfc5322.map_message(MAIL, region="tver", kind="complaint", mailbox="info")
    assert out is not None
    ev = parse_event({**out, "tenant": "t"})
    first = rfc5322.map_message(
        MAIL.replace("In-Reply-To: <20261120101500.77@mrsk-center.ru>\n", "")
        .replace(
            "References: <20261119080000.12@mrsk-center.ru> <20261120101500.77@mrsk-center.ru>\n",
            "",
        )
        .replace("<CAKx9w2b4f1e@mail.example.ru>", "<20261119080000.12@mrsk-center.ru>"),
        region="tver",
        kind=None,
    )
    assert first is not None and first["contact_id"] == ev.contact_id  # same thread
    assert ev.channel.value == "email" and ev.type.value == "received"
    assert ev.occurred_at == 1_795_760_095_000  # 06:14:55Z
    assert out["customer"] == {"email": "I.Ivanov@example.ru", "name": "Иванов Иван"}
    assert "example.ru" not in ev.contact_id + ev.event_id
    assert ev.queue == "info" and ev.attributes["reply"] == "true"
    assert "Нет света" not in str(out)  # the subject is not carried


def test_rfc5322_ignores_auto_replies_and_refuses_broken_headers() -> None:
    assert (
        rfc5322.map_message("Auto-Submitted: auto-replied\n" + MAIL, region="r", kind=None) is None
    )
    for broken, field in [
        (MAIL.replace("Message-ID: <CAKx9w2b4f1e@mail.example.ru>\n", ""), "Message-ID"),
        (MAIL.replace("Fri, 27 Nov 2026 09:14:55 +0300", "tomorrow"), "Date"),
        (MAIL.replace("Date: Fri, 27 Nov 2026 09:14:55 +0300\n", ""), "Date"),
    ]:
        with pytest.raises(AdapterError) as info:
            rfc5322.map_message(broken, region="r", kind=None)
        assert info.value.field == field


TICKET: dict[str, Any] = {
    "delivery_id": "wh-7f1c2a",
    "event": "ticket.called",
    "timestamp": "2026-11-27T10:22:31+03:00",
    "ticket": {
        "id": "20261127-0142",
        "number": "Т-042",
        "office_id": "tver-lenina-1",
        "service": "tp-connection",
        "service_group": "connection",
        "window": "4",
        "operator_id": "op-117",
        "priority": "veteran",
        "created_at": "2026-11-27T10:05:10+03:00",
        "client": {"phone": "+7 910 000-11-22", "name": "Сидоров С.С."},
    },
}


def test_queue_ticket_called_is_answered_in_person() -> None:
    ev = parse_event({**ticket.map_webhook(TICKET, region="tver"), "tenant": "t"})
    assert (ev.channel.value, ev.type.value, ev.kind.value) == (
        "in_person",
        "answered",
        "connection",
    )
    assert ev.contact_id == "tkt-tver-lenina-1-20261127-0142" and ev.event_id == "wh-7f1c2a"
    assert ev.office == "tver-lenina-1" and ev.agent == "op-117"
    assert ev.customer_category.value == "veteran" and ev.attributes["window"] == "4"
    created = ticket.map_webhook(
        {**TICKET, "event": "ticket.created", "delivery_id": None}, region="tver"
    )
    assert created["type"] == "queued" and created["event_id"].endswith("ticket.created")


TICKET_BODY: dict[str, Any] = dict(TICKET["ticket"])


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"event": "ticket.teleported"}, "event"),
        ({"ticket": None}, "ticket"),
        ({"ticket": {**TICKET_BODY, "office_id": ""}}, "ticket.office_id"),
    ],
)
def test_queue_ticket_refuses_unmappable(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(AdapterError) as info:
        ticket.map_webhook({**TICKET, **patch}, region="tver")
    assert info.value.field == field


FORM = {
    "form_id": "feedback-main",
    "submission_id": "f3b2c1d0-0001",
    "submitted_at": "2026-11-27T08:40:12.345Z",
    "page_url": "https://mrsk-center.ru/feedback",
    "fields": {
        "fio": "Кузнецова Мария",
        "phone": "8 (4822) 33-44-55",
        "email": "m.kuz@example.ru",
        "account": "690012345678",
        "topic": "no_power",
        "message": "Нет света на ул. Советской, 12 с 7 утра",
    },
}


def test_web_form_submission_is_a_received_web_contact() -> None:
    out = webform.map_submission(FORM, region="tver")
    ev = parse_event({**out, "tenant": "t"})
    assert (ev.channel.value, ev.type.value, ev.kind.value) == ("web", "received", "outage")
    assert out["customer"]["account"] == "690012345678" and out["customer"]["name"]
    assert ev.attributes == {"form_id": "feedback-main", "message_length": "39"}
    assert "Советской" not in str(out)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"submission_id": None}, "submission_id"),
        ({"fields": {"message": "hi"}}, "fields"),
        ({"submitted_at": 5}, "submitted_at"),
    ],
)
def test_web_form_refuses_unmappable(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(AdapterError) as info:
        webform.map_submission({**FORM, **patch}, region="tver")
    assert info.value.field == field
