"""Personal data (152-FZ) stops at the ingest edge: phones, emails and names become a keyed
HMAC pseudonym, ``customer_ref``, before anything reaches Kafka.

The same customer gets the same ref on every channel (the key is a setting), yet the ref is not
readable and cannot be reversed without the key. Free-text values (attributes, topic, ...) are
scrubbed too: anything that looks like a phone number or an email address is replaced by its
own pseudonym, and attributes whose name says they hold personal data are replaced whole.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

REF_PREFIX = "cr_"
REF_PATTERN = re.compile(r"^cr_[0-9a-f]{24}$")
# 10-15 digits with the usual separators, not part of a longer number or a dotted id.
_DIGIT = re.compile(r"\d")
PHONE = re.compile(r"(?<![\w.+])\+?\d(?:[\s\-()]{0,3}\d){9,14}(?![\w:]|\.\d)")
EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Attribute names (lower case, letters only) whose values are personal data whatever they hold.
PERSONAL_KEYS = frozenset(
    [
        "phone",
        "tel",
        "telephone",
        "msisdn",
        "mobile",
        "ani",
        "clid",
        "callerid",
        "calleridnum",
        "calleridname",
        "connectedline",
        "connectedlinenum",
        "connectedlinename",
        "email",
        "mail",
        "from",
        "replyto",
        "sender",
        "name",
        "fullname",
        "firstname",
        "lastname",
        "surname",
        "patronymic",
        "fio",
        "passport",
        "address",
        "snils",
        "inn",
    ]
)
PERSONAL_SUFFIXES = (
    "phone",
    "email",
    "fio",
    "fullname",
    "callername",
    "customername",
    "contactname",
    "clientname",
    "lastname",
    "firstname",
    "address",
)


def is_personal_key(key: str) -> bool:
    letters = re.sub(r"[^a-z]", "", key.lower())
    return letters in PERSONAL_KEYS or letters.endswith(PERSONAL_SUFFIXES)


def normalize_phone(raw: str) -> str:
    """Digits only, Russian trunk prefix 8 and bare 10-digit numbers as country code 7."""
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    return digits


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def normalize_name(raw: str) -> str:
    return " ".join(raw.replace("ё", "е").replace("Ё", "Е").casefold().split())


class Pseudonymizer:
    """Keyed HMAC-SHA256 pseudonyms; one instance per process, built from the settings key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self._key = key

    def ref(self, kind: str, normalized: str) -> str:
        digest = hmac.new(self._key, f"{kind}:{normalized}".encode(), hashlib.sha256)
        return REF_PREFIX + digest.hexdigest()[:24]

    def customer_ref(self, customer: Mapping[str, object]) -> str | None:
        """The customer's ref from the strongest identifier given: account, phone, email, name.

        One identifier is used (not a combination), so a caller known by phone on the phone
        channel and by the same phone in a web form gets the same ref."""
        for kind, normalize in (
            ("account", str.strip),
            ("phone", normalize_phone),
            ("email", normalize_email),
            ("name", normalize_name),
        ):
            value = customer.get(kind)
            normalized = normalize(value) if isinstance(value, str) else ""
            if normalized:
                return self.ref(kind, normalized)
        return None

    def scrub_text(self, text: str) -> str:
        """Replace phone numbers and email addresses inside free text by their pseudonyms."""
        if "@" in text:
            text = EMAIL.sub(lambda m: self.ref("email", normalize_email(m.group())), text)
        if len(text) >= 10 and _DIGIT.search(text):
            text = PHONE.sub(lambda m: self.ref("phone", normalize_phone(m.group())), text)
        return text

    def scrub_attributes(self, attributes: Mapping[str, str]) -> dict[str, str]:
        """Attributes named like personal data are replaced whole; the rest are scrubbed."""
        out = {}
        for key, value in attributes.items():
            if value and is_personal_key(key):
                out[key] = self.ref("attr", normalize_name(value))
            else:
                out[key] = self.scrub_text(value)
        return out


_RU_MOBILE_RUN = re.compile(r"(?<!\d)[78]9\d{9}(?!\d)")


def looks_personal(text: str) -> bool:
    """True when an identifier carries an email address, is a phone number as a whole, or
    holds a Russian mobile number as a digit run. (Ids such as ``tkt-1-20261127-0142`` are
    not phones: free-text scrubbing is broader than this check.)"""
    text = text.strip()
    whole_phone = PHONE.fullmatch(text) is not None and (
        text.startswith("+") or sum(c.isdigit() for c in text) in (10, 11)
    )
    return bool(whole_phone or EMAIL.search(text) or _RU_MOBILE_RUN.search(text))


def load_or_create_key(configured: str, data_dir: Path) -> bytes:
    """The configured key, or a random one kept in data_dir/pseudonym.key (0600), so refs stay
    stable across restarts of an embedded installation."""
    if configured:
        return configured.encode()
    path = data_dir / "pseudonym.key"
    if path.exists():
        return path.read_text(encoding="ascii").strip().encode()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key.encode()
