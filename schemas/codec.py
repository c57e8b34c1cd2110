"""Avro single-object encoding of every Kontakt record, the only module that imports fastavro.

Framing (Avro spec, "Single-object encoding"): ``C3 01`` + the 8-byte CRC-64-AVRO fingerprint
of the writer schema's parsing canonical form (little-endian) + the Avro binary body. The
catalog holds every ``schemas/avro/<RecordName>.v<N>.avsc`` file, found automatically, so a
consumer decodes any catalogued version; the datum is resolved to the latest version of its
record (or a chosen one) by Avro's schema-resolution rules.

Time logical types (timestamp-millis and friends) are read and written as plain ints: the
platform keeps epoch milliseconds everywhere, and skipping datetime conversion is faster.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form
from fastavro.validation import validate

from schemas.events import Channel, ContactEvent, CustomerCategory, EventType, Kind

MAGIC = b"\xc3\x01"
HEADER_SIZE = 10
AVRO_DIR = Path(__file__).parent / "avro"
CONTACT_EVENT = "ContactEventRecorded"
_FILE_NAME = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")
_TIME_LOGICAL_TYPES = frozenset(
    {
        "timestamp-millis",
        "timestamp-micros",
        "local-timestamp-millis",
        "local-timestamp-micros",
        "date",
        "time-millis",
        "time-micros",
    }
)


class CatalogError(RuntimeError):
    """A schema file is misnamed, unparsable, or the versions of a record have a gap."""


class EncodeError(ValueError):
    """The datum does not fit the record's schema; the message names the offending field."""


class DecodeError(ValueError):
    """The bytes are not a catalogued single-object Avro record (wrong magic, unknown schema
    fingerprint, truncated or trailing bytes). Consumers route such messages to a dead-letter
    topic instead of crashing."""


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One .avsc file: ``schema`` is the file's JSON, ``parsed`` the fastavro form used."""

    name: str
    version: int
    path: Path
    schema: dict[str, Any]
    parsed: Any
    fingerprint: bytes

    @property
    def header(self) -> bytes:
        return MAGIC + self.fingerprint


def _strip_time_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _strip_time_logical_types(v) for k, v in node.items()}
        if out.get("logicalType") in _TIME_LOGICAL_TYPES:
            del out["logicalType"]
        return out
    if isinstance(node, list):
        return [_strip_time_logical_types(v) for v in node]
    return node


def load_schema_file(path: Path) -> SchemaVersion:
    """Parse one ``<RecordName>.v<N>.avsc`` file and compute its fingerprint."""
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise CatalogError(f"{path.name}: schema files are named <RecordName>.v<N>.avsc")
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        parsed = fastavro.parse_schema(_strip_time_logical_types(copy.deepcopy(schema)))
        canonical = to_parsing_canonical_form(fastavro.parse_schema(schema))
    except Exception as exc:  # json or Avro parse errors of many kinds
        raise CatalogError(f"{path.name}: not a valid Avro schema: {exc}") from exc
    if schema.get("type") != "record" or schema.get("name") != match["name"]:
        raise CatalogError(f"{path.name}: must hold a record named {match['name']!r}")
    return SchemaVersion(
        name=match["name"],
        version=int(match["version"]),
        path=path,
        schema=schema,
        parsed=parsed,
        fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
    )


class Catalog:
    """Every version of every record, by name and by fingerprint."""

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        self._by_name: dict[str, list[SchemaVersion]] = {}
        self.by_fingerprint: dict[bytes, SchemaVersion] = {}
        for sv in sorted(versions, key=lambda v: (v.name, v.version)):
            self._by_name.setdefault(sv.name, []).append(sv)
            # Two versions may share a canonical form (only docs/defaults changed): the body
            # bytes are identical then, so the later file is as good a writer schema.
            self.by_fingerprint[sv.fingerprint] = sv
        for name, svs in self._by_name.items():
            numbers = [sv.version for sv in svs]
            if numbers != list(range(1, len(svs) + 1)):
                raise CatalogError(f"{name}: versions must be 1..N without gaps, found {numbers}")

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def versions(self, name: str) -> list[SchemaVersion]:
        try:
            return list(self._by_name[name])
        except KeyError:
            raise KeyError(f"no schema for record {name!r}; known: {self.names()}") from None

    def get(self, name: str, version: int | None = None) -> SchemaVersion:
        """The given version of ``name``, or its latest version."""
        if version is None:
            svs = self._by_name.get(name)  # the hot path: every record the worker writes
            if svs:
                return svs[-1]
        svs = self.versions(name)
        if version is None:
            return svs[-1]
        if not 1 <= version <= len(svs):
            raise KeyError(f"{name} has versions 1..{len(svs)}, not {version}")
        return svs[version - 1]


def load_catalog(directory: Path = AVRO_DIR) -> Catalog:
    """Build a catalog from every ``*.avsc`` file in ``directory``."""
    return Catalog(load_schema_file(p) for p in sorted(directory.glob("*.avsc")))


@functools.cache
def default_catalog() -> Catalog:
    """The catalog of schemas/avro, loaded once per process on first use."""
    return load_catalog()


def encode(
    record_name: str,
    datum: Mapping[str, Any],
    *,
    version: int | None = None,
    catalog: Catalog | None = None,
) -> bytes:
    """Datum -> single-object bytes, written with the latest (or the given) version."""
    sv = (catalog or default_catalog()).get(record_name, version)
    buf = io.BytesIO(sv.header)
    buf.seek(HEADER_SIZE)
    try:
        fastavro.schemaless_writer(buf, sv.parsed, datum)
    except Exception as exc:
        raise EncodeError(_explain_encode_failure(sv, datum, exc)) from exc
    return buf.getvalue()


def _explain_encode_failure(sv: SchemaVersion, datum: Mapping[str, Any], exc: Exception) -> str:
    try:
        validate(datum, sv.parsed, raise_errors=True)
    except Exception as detail:  # fastavro's ValidationError names the field path
        return f"{sv.name} v{sv.version}: {detail}"
    return f"{sv.name} v{sv.version}: {type(exc).__name__}: {exc}"


def decode(
    data: bytes, *, reader_version: int | None = None, catalog: Catalog | None = None
) -> tuple[str, dict[str, Any]]:
    """Single-object bytes -> (record name, datum) resolved to the latest (or given) version."""
    cat = catalog or default_catalog()
    if len(data) < HEADER_SIZE or data[:2] != MAGIC:
        raise DecodeError("not an Avro single-object message (missing C3 01 header)")
    writer = cat.by_fingerprint.get(bytes(data[2:HEADER_SIZE]))
    if writer is None:
        raise DecodeError(f"unknown schema fingerprint {bytes(data[2:HEADER_SIZE]).hex()}")
    reader = cat.get(writer.name, reader_version)
    buf = io.BytesIO(memoryview(data)[HEADER_SIZE:])
    try:
        datum = fastavro.schemaless_reader(
            buf, writer.parsed, None if reader is writer else reader.parsed
        )
    except Exception as exc:  # EOFError, struct/unicode errors, resolution errors
        raise DecodeError(
            f"{writer.name} v{writer.version}: cannot decode: {type(exc).__name__} {exc}"
        ) from exc
    if buf.tell() != len(data) - HEADER_SIZE:
        extra = len(data) - HEADER_SIZE - buf.tell()
        raise DecodeError(f"{writer.name} v{writer.version}: {extra} trailing bytes after record")
    if not isinstance(datum, dict):
        raise DecodeError(f"{writer.name}: decoded to {type(datum).__name__}, not a record")
    return writer.name, datum


def event_to_datum(event: ContactEvent) -> dict[str, Any]:
    """ContactEvent -> ContactEventRecorded datum (enums as their symbols)."""
    return {
        "event_id": event.event_id,
        "contact_id": event.contact_id,
        "tenant": event.tenant,
        "region": event.region,
        "channel": event.channel.value,
        "type": event.type.value,
        "occurred_at": event.occurred_at,
        "kind": event.kind.value,
        "customer_category": event.customer_category.value,
        "office": event.office,
        "agent": event.agent,
        "queue": event.queue,
        "topic": event.topic,
        "customer_ref": event.customer_ref,
        "related_to": event.related_to,
        "attributes": dict(event.attributes),
    }


# Dict lookups instead of Enum(value) calls: decoding is the pipeline's throughput ceiling.
_CHANNELS = {m.value: m for m in Channel}
_TYPES = {m.value: m for m in EventType}
_KINDS = {m.value: m for m in Kind}
_CATEGORIES = {m.value: m for m in CustomerCategory}


def datum_to_event(datum: Mapping[str, Any]) -> ContactEvent:
    """ContactEventRecorded datum (latest version) -> ContactEvent; KeyError for an unknown
    enum symbol."""
    return ContactEvent(
        event_id=datum["event_id"],
        contact_id=datum["contact_id"],
        tenant=datum["tenant"],
        region=datum["region"],
        channel=_CHANNELS[datum["channel"]],
        type=_TYPES[datum["type"]],
        occurred_at=datum["occurred_at"],
        kind=_KINDS[datum["kind"]],
        customer_category=_CATEGORIES[datum["customer_category"]],
        office=datum.get("office"),
        agent=datum.get("agent"),
        queue=datum.get("queue"),
        topic=datum.get("topic"),
        customer_ref=datum.get("customer_ref"),
        related_to=datum.get("related_to"),
        attributes=dict(datum.get("attributes") or {}),
    )


def encode_event(event: ContactEvent) -> bytes:
    """ContactEvent -> single-object bytes of the latest ContactEventRecorded version."""
    return encode(CONTACT_EVENT, event_to_datum(event))


def decode_event(data: bytes) -> ContactEvent:
    """Bytes of any ContactEventRecorded version -> ContactEvent; DecodeError otherwise."""
    name, datum = decode(data)
    if name != CONTACT_EVENT:
        raise DecodeError(f"expected a {CONTACT_EVENT} record, got {name}")
    try:
        return datum_to_event(datum)
    except KeyError as exc:  # an enum symbol this code does not know yet
        raise DecodeError(f"{CONTACT_EVENT}: unknown symbol {exc}") from exc
