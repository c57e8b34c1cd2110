"""Every schema version reads data written by the previous version and vice versa (Avro
resolution rules), for every record in schemas/avro -- so a breaking change fails CI.

The check is data-driven: datums generated from the writer schema (every enum symbol, every
union branch) are encoded with one version and decoded with the other. The last two tests
prove the check catches the classic breaking changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from schemas import codec
from tests.unit.avro_samples import sample_datums

CATALOG = codec.load_catalog()


def _pairs() -> list[tuple[str, int, int]]:
    pairs = []
    for name in CATALOG.names():
        versions = [sv.version for sv in CATALOG.versions(name)]
        pairs += [(name, v, v) for v in versions]
        pairs += [(name, old, old + 1) for old in versions[:-1]]
    return pairs


def incompatibilities(catalog: codec.Catalog, name: str, writer: int, reader: int) -> list[str]:
    """Problems met when data written with ``writer`` is read with ``reader``."""
    problems = []
    for datum in sample_datums(catalog.get(name, writer).schema):
        data = codec.encode(name, datum, version=writer, catalog=catalog)
        try:
            decoded_name, decoded = codec.decode(data, reader_version=reader, catalog=catalog)
        except codec.DecodeError as exc:
            problems.append(f"v{reader} cannot read v{writer}: {exc}")
            continue
        assert decoded_name == name
        reader_fields = {f["name"] for f in catalog.get(name, reader).schema["fields"]}
        assert set(decoded) == reader_fields
        for field in reader_fields & set(datum):
            if decoded[field] != datum[field] and writer == reader:
                problems.append(f"{field}: {datum[field]!r} came back as {decoded[field]!r}")
    return problems


def test_catalog_holds_the_contact_event() -> None:
    assert codec.CONTACT_EVENT in CATALOG.names()


@pytest.mark.parametrize(("name", "old", "new"), _pairs())
def test_versions_read_each_other(name: str, old: int, new: int) -> None:
    assert incompatibilities(CATALOG, name, old, new) == []
    assert incompatibilities(CATALOG, name, new, old) == []


def _catalog_with_v2(tmp_path: Path, change: object) -> codec.Catalog:
    source = codec.AVRO_DIR / f"{codec.CONTACT_EVENT}.v1.avsc"
    shutil.copy(source, tmp_path / source.name)
    schema = json.loads(source.read_text())
    change(schema)  # type: ignore[operator]
    (tmp_path / f"{codec.CONTACT_EVENT}.v2.avsc").write_text(json.dumps(schema))
    return codec.load_catalog(tmp_path)


def test_added_field_without_default_is_caught(tmp_path: Path) -> None:
    catalog = _catalog_with_v2(
        tmp_path, lambda s: s["fields"].append({"name": "priority", "type": "int"})
    )
    problems = incompatibilities(catalog, codec.CONTACT_EVENT, 1, 2)
    assert problems and "priority" in problems[0]


def test_added_enum_symbol_is_caught(tmp_path: Path) -> None:
    def add_channel(schema: dict) -> None:
        channel = next(f for f in schema["fields"] if f["name"] == "channel")
        channel["type"]["symbols"].append("carrier_pigeon")

    catalog = _catalog_with_v2(tmp_path, add_channel)
    assert incompatibilities(catalog, codec.CONTACT_EVENT, 1, 2) == []
    assert any("carrier_pigeon" in p for p in incompatibilities(catalog, codec.CONTACT_EVENT, 2, 1))


def test_added_optional_field_is_compatible(tmp_path: Path) -> None:
    catalog = _catalog_with_v2(
        tmp_path,
        lambda s: s["fields"].append(
            {"name": "language", "type": ["null", "string"], "default": None}
        ),
    )
    assert incompatibilities(catalog, codec.CONTACT_EVENT, 1, 2) == []
    assert incompatibilities(catalog, codec.CONTACT_EVENT, 2, 1) == []
