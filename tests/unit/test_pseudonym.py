"""152-FZ at the edge: the same customer gets the same unreadable ref on every channel, and
phones/emails inside free text are replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.pseudonym import (
    REF_PATTERN,
    Pseudonymizer,
    is_personal_key,
    load_or_create_key,
    looks_personal,
    normalize_phone,
)

P = Pseudonymizer(b"k" * 32)


@pytest.mark.parametrize(
    "raw", ["+7 (912) 345-67-89", "89123456789", "8-912-345-67-89", "9123456789", "+79123456789"]
)
def test_phone_formats_normalize_to_one_number(raw: str) -> None:
    assert normalize_phone(raw) == "79123456789"


def test_same_customer_same_ref_across_channels_and_formats() -> None:
    phone_call = P.customer_ref({"phone": "+7 (912) 345-67-89", "name": "Иванов Иван"})
    web_form = P.customer_ref({"phone": "8 912 345 67 89", "email": "ivanov@example.ru"})
    assert phone_call == web_form
    assert REF_PATTERN.match(phone_call or "")
    assert P.customer_ref({"email": " Ivanov@Example.RU "}) == P.customer_ref(
        {"email": "ivanov@example.ru"}
    )
    assert P.customer_ref({"name": "Иванов  Иван"}) == P.customer_ref({"name": "иванов иван"})
    assert P.customer_ref({"account": "1234567"}) != P.customer_ref({"phone": "1234567"})
    assert P.customer_ref({}) is None


def test_ref_depends_on_the_key() -> None:
    other = Pseudonymizer(b"x" * 32)
    assert other.customer_ref({"phone": "+79123456789"}) != P.customer_ref(
        {"phone": "+79123456789"}
    )
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonymizer(b"short")


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("перезвонить на +7 (912) 345-67-89 после 18:00", "345-67-89"),
        ("email: Ivanov.I@mail.example.ru, срочно", "Ivanov.I@mail.example.ru"),
        ("тел 89123456789.", "89123456789"),
    ],
)
def test_scrub_text_replaces_phones_and_emails(text: str, gone: str) -> None:
    scrubbed = P.scrub_text(text)
    assert gone not in scrubbed and "cr_" in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "1732700000.123",
        "2026-11-27 12:00:00",
        "ticket A-017",
        "PJSIP/201",
        "queue outage-line",
        "12345",
    ],
)
def test_scrub_text_leaves_ids_and_dates(text: str) -> None:
    assert P.scrub_text(text) == text


def test_personal_attributes_are_replaced_whole() -> None:
    out = P.scrub_attributes(
        {
            "caller_name": "Петров П.П.",
            "CallerIDNum": "201",
            "ivr": "2",
            "note": "call 8 912 345 67 89",
        }
    )
    assert out["ivr"] == "2"
    assert out["caller_name"].startswith("cr_") and out["CallerIDNum"].startswith("cr_")
    assert "912" not in out["note"]


@pytest.mark.parametrize(
    ("key", "personal"),
    [
        ("phone", True),
        ("customer_phone", True),
        ("E-mail", True),
        ("fio", True),
        ("queue_name", False),
        ("ivr_branch", False),
        ("company", False),
        ("CallerIDName", True),
    ],
)
def test_personal_key_detection(key: str, personal: bool) -> None:
    assert is_personal_key(key) is personal


def test_looks_personal() -> None:
    assert looks_personal("79123456789") and looks_personal("a@b.ru")
    assert not looks_personal("c-000123") and not looks_personal("ast-1732700000.123")
    assert looks_personal("call-89123456789-1") and looks_personal("+7 (912) 345-67-89")
    assert not looks_personal("tkt-tver-1-20261127-0142") and not looks_personal("1795770000250")


def test_key_created_once_and_reused(tmp_path: Path) -> None:
    first = load_or_create_key("", tmp_path)
    assert load_or_create_key("", tmp_path) == first and len(first) == 64
    assert (tmp_path / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    assert load_or_create_key("configured-secret-key", tmp_path) == b"configured-secret-key"
