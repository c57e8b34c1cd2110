"""Datums for any Avro schema, generated from its JSON so that every enum symbol and every
union branch appears at least once. Used by the schema-compatibility test: it must work for
schemas other helpers add later without anyone writing sample data by hand."""

from __future__ import annotations

from typing import Any

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _width(schema: Any, seen: set[str]) -> int:
    """How many datums are needed to show every enum symbol and union branch."""
    if isinstance(schema, list):
        return max([len(schema), *(_width(s, seen) for s in schema)])
    if not isinstance(schema, dict):
        return 1
    kind = schema["type"]
    name = schema.get("name")
    if name in seen:
        return 1
    if name:
        seen.add(name)
    if kind == "enum":
        return len(schema["symbols"])
    if kind == "record":
        return max([1, *(_width(f["type"], seen) for f in schema["fields"])])
    if kind == "array":
        return _width(schema["items"], seen)
    if kind == "map":
        return _width(schema["values"], seen)
    return _width(kind, seen)


class _Generator:
    def __init__(self) -> None:
        self.named: dict[str, dict[str, Any]] = {}

    def _remember(self, schema: dict[str, Any], namespace: str | None) -> str | None:
        ns = schema.get("namespace", namespace)
        name = schema["name"]
        full = name if "." in name or not ns else f"{ns}.{name}"
        self.named[full] = schema
        self.named[name.rsplit(".", 1)[-1]] = schema
        return full.rpartition(".")[0] or None

    def datum(self, schema: Any, i: int, namespace: str | None = None) -> Any:
        if isinstance(schema, list):
            return self.datum(schema[i % len(schema)], i, namespace)
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return self._primitive(schema, i)
            return self.datum(self.named[schema], i, namespace)
        kind = schema["type"]
        if kind in ("record", "error"):
            ns = self._remember(schema, namespace)
            return {f["name"]: self.datum(f["type"], i, ns) for f in schema["fields"]}
        if kind == "enum":
            self._remember(schema, namespace)
            return schema["symbols"][i % len(schema["symbols"])]
        if kind == "fixed":
            self._remember(schema, namespace)
            return bytes([i % 256]) * schema["size"]
        if kind == "array":
            return [self.datum(schema["items"], i + k, namespace) for k in range(i % 3)]
        if kind == "map":
            return {f"k{k}": self.datum(schema["values"], i + k, namespace) for k in range(i % 3)}
        return self.datum(kind, i, namespace)

    @staticmethod
    def _primitive(kind: str, i: int) -> Any:
        return {
            "null": None,
            "boolean": i % 2 == 0,
            "int": i * 7 - 3,
            "long": 1_795_770_000_000 + i,
            "float": i / 4,
            "double": i / 8,
            "bytes": bytes([i % 256, 0, 255]),
            "string": f"s{i}-Ж",
        }[kind]


def sample_datums(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """At least two datums; together they cover every enum symbol and union branch."""
    count = max(2, _width(schema, set()))
    return [_Generator().datum(schema, i) for i in range(count)]


# --- records whose strings carry a document the generator cannot invent ----------------------
#: 2026-03-01T09:00:00Z: a fixed instant, never the wall clock
PUBLISHED_AT = 1_772_355_600_000


def policy_histories() -> list[dict[str, Any]]:
    """PolicyVersionPublished datums: a first version (a preset as the default), then a history
    of two whose second has an override of every scope kind, one an inline policy."""
    from streams.sla.versions import parse_version, preset_document, published_record

    vip = preset_document("rao-ues-2007")
    vip["name"] = "vip-fast"
    vip["milestones"][0]["target"] = "20s"  # phone.answer
    first = parse_version(
        {"effective_from": "2026-01-01T00:00:00+03:00", "default": {"preset": "minenergo-186"}},
        "grid-a", 1, "sample", published_by="key-1", published_at=PUBLISHED_AT)
    second = parse_version(
        {"effective_from": "2026-04-01T00:00:00+03:00", "comment": "Москва строже",
         "default": {"preset": "rao-ues-2007"},
         "overrides": [{"region": "77", "preset": "minenergo-186"},
                       {"queue": "vip", **vip},
                       {"region": "77", "queue": "vip", "preset": "rao-ues-2007"}]},
        "grid-a", 2, "sample", published_by="key-2", published_at=PUBLISHED_AT + 1)
    return [published_record([first]), published_record([first, second])]


STRUCTURED_SAMPLES = {"PolicyVersionPublished": policy_histories}


def record_samples(name: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Valid datums of record ``name``: :func:`sample_datums`, except for the records listed in
    STRUCTURED_SAMPLES, whose string fields hold documents a consumer parses (a policy version
    as JSON): generated text there would only test the dead-letter path."""
    make = STRUCTURED_SAMPLES.get(name)
    return make() if make is not None else sample_datums(schema)
