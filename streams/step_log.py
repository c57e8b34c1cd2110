"""The worker's step log: each record it sent, kept as the Avro bytes sent.

A contact's table value remembers, per input offset applied (and for the timer's records since
its last event), the records that emission sent, so that a re-delivered offset or a recovery
sends the same records again (streams.processor). They are kept as their Avro bytes in base64
text, so the table value stays JSON: about half of a record's dict in memory (a cached contact
2,733 -> 2,189 bytes, bench/memory.py's shape), and the value does not serialise each record's
fields again at every write. They are decoded back only to be re-sent. Pure: no faust, no I/O.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from typing import Any

from schemas.codec import decode, encode
from streams import emissions

#: A record as the step log keeps it: the Avro bytes sent, as base64 text.
Kept = str


def keep(encoded: bytes) -> Kept:
    return binascii.b2a_base64(encoded, newline=False).decode("ascii")


def unkeep(text: Kept) -> bytes:
    return binascii.a2b_base64(text)


def kept_record(text: Kept) -> dict[str, Any]:
    """The datum of a kept record."""
    return decode(unkeep(text))[1]


def seal(emission: emissions.Emission) -> tuple[list[Kept], list[Kept]]:
    """Encode the emission's records once: the bytes go into the emission (to be sent), their
    kept form into the step log."""
    emission.alert_bytes = [encode(emissions.alert_name(r), r) for r in emission.alerts]
    emission.outcome_bytes = [encode(emissions.OUTCOME, r) for r in emission.outcomes]
    return [keep(b) for b in emission.alert_bytes], [keep(b) for b in emission.outcome_bytes]


def resent(alerts: Iterable[Kept], outcomes: Iterable[Kept],
           signatures: dict[str, emissions.Signature]) -> emissions.Emission:
    """An emission of kept records, to send again: the same bytes, and their datums."""
    alert_bytes, outcome_bytes = [unkeep(k) for k in alerts], [unkeep(k) for k in outcomes]
    return emissions.Emission([decode(b)[1] for b in alert_bytes],
                              [decode(b)[1] for b in outcome_bytes], signatures,
                              alert_bytes, outcome_bytes)


def as_kept(record: Kept | dict[str, Any], alert: bool) -> Kept:
    """A record of a table value: kept as it is, or -- a dict, written by a worker from before
    the step log kept bytes -- encoded now."""
    if isinstance(record, str):
        return record
    return keep(encode(emissions.alert_name(record) if alert else emissions.OUTCOME, record))
