"""A tenant's rules in time: policy versions, and which one judges a contact.

Each tenant publishes versions (``PolicyVersionPublished``): a default policy, optional
overrides for a region, a queue/office or both, an instant from which the version is in force,
who published it and why. Selection is a pure function of (tenant, region, queue, instant,
versions):

- the version in force at an instant is the one with the latest ``effective_from`` at or before
  it (a later version number wins a tie); before a tenant's first version, and for a tenant with
  none, the platform's default policy (``KONTAKT_SLA_POLICY``, version 0) judges;
- inside a version the most specific scope wins: region and queue, then queue, then region,
  then the version's default;
- a contact is judged by the version in force at its first event (the instant its first clock
  starts), all of its clocks by the same version, for its whole life. A clock running across a
  change keeps the rules it started under: a deadline never moves because a rule changed, and
  the change's date means "contacts from this instant on".

A version document (TOML file, or the API's JSON body) looks like::

    effective_from = "2026-03-01T00:00:00+03:00"
    comment = "order 186 plus our own 20 s answer target in Moscow"
    [default]
    preset = "minenergo-186"
    [[overrides]]
    region = "77"
    name = "moscow-strict"          # an inline policy: the load_policy format
    [[overrides.milestones]]
    id = "phone.answer"
    ...

A preset is resolved to its text when the version is made, so a version means the same rules
forever, whatever later releases do to the preset files.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from typing import Any

from schemas.events import parse_timestamp
from streams.sla.policy import PRESETS, Policy, PolicyError, policy_from_mapping
from streams.sla.state import ContactState

_VERSION_KEYS = {"effective_from", "comment", "default", "overrides"}
_SCOPE_KEYS = {"region", "queue"}


@dataclass(frozen=True, slots=True)
class Override:
    """Rules for one region, one queue/office, or both, inside a version."""

    policy: Policy
    region: str | None = None
    queue: str | None = None

    def matches(self, region: str, queue: str | None) -> bool:
        return (self.region is None or self.region == region) and (
            self.queue is None or self.queue == queue)

    @property
    def rank(self) -> int:
        """Specificity: region and queue 3, queue 2, region 1."""
        return (2 if self.queue is not None else 0) + (1 if self.region is not None else 0)


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    tenant: str
    version: int
    effective_from: int  # epoch ms, UTC
    default: Policy
    overrides: tuple[Override, ...] = ()
    published_by: str = ""
    published_at: int = 0
    comment: str = ""
    #: the policies as the JSON documents they were made from (scope -> document), kept so the
    #: record, the warehouse and ``diff`` show exactly what was published
    documents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)

    def policy_for(self, region: str, queue: str | None) -> Policy:
        best: Override | None = None
        for o in self.overrides:
            if o.matches(region, queue) and (best is None or o.rank > best.rank):
                best = o
        return self.default if best is None else best.policy


#: tenant -> its versions sorted by (effective_from, version)
PolicyBook = Mapping[str, Sequence[PolicyVersion]]


def book_of(versions: Iterable[PolicyVersion]) -> dict[str, tuple[PolicyVersion, ...]]:
    """Versions in any order (duplicates collapse: one per tenant and number, the last read)
    -> a PolicyBook."""
    by: dict[str, dict[int, PolicyVersion]] = {}
    for v in versions:
        by.setdefault(v.tenant, {})[v.version] = v
    return {t: tuple(sorted(vs.values(), key=lambda v: (v.effective_from, v.version)))
            for t, vs in by.items()}


def version_at(book: PolicyBook, tenant: str, instant: int) -> PolicyVersion | None:
    """The tenant's version in force at ``instant`` (None: the platform default judges)."""
    found = None
    for v in book.get(tenant, ()):
        if v.effective_from > instant:
            break
        found = v
    return found


def select(book: PolicyBook, fallback: Policy, tenant: str, region: str, queue: str | None,
           instant: int) -> Policy:
    """The policy that judges a contact of ``tenant`` in ``region`` and ``queue`` whose first
    event happened at ``instant``."""
    v = version_at(book, tenant, instant)
    return fallback if v is None else v.policy_for(region, queue)


def contact_queue(state: ContactState) -> str | None:
    """The queue a contact is scoped by: the first queue its events name, else its office."""
    for e in state.events:
        if e.queue is not None:
            return e.queue
    return state.office


def policy_for_state(book: PolicyBook, fallback: Policy, state: ContactState) -> Policy:
    """The policy that judges ``state`` (see the module docstring)."""
    if not book or state.tenant not in book:
        return fallback
    return select(book, fallback, state.tenant, state.region, contact_queue(state),
                  state.events[0].occurred_at)


@dataclass(frozen=True, slots=True)
class Rules:
    """What judges contacts: the platform's default policy and the tenants' versions. The
    worker, replay, ``kontakt sla evaluate``, backfill and what-if all ask it, so they agree."""

    fallback: Policy
    book: PolicyBook = field(default_factory=dict)

    def for_state(self, state: ContactState) -> Policy:
        return policy_for_state(self.book, self.fallback, state)


def rules_of(policy: Policy | Rules) -> Rules:
    """A bare policy judges every tenant at every instant: Rules with no versions."""
    return policy if isinstance(policy, Rules) else Rules(policy)


# --- version documents -----------------------------------------------------------------------
def preset_document(name: str) -> dict[str, Any]:
    text = resources.files("streams.sla.presets").joinpath(f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


def _policy_document(raw: Any, where: str) -> dict[str, Any]:
    """``{preset = "..."}`` or an inline policy (name, milestones) -> the policy's document."""
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a table with preset = \"...\" or [[milestones]]")
    body = {k: v for k, v in raw.items() if k not in _SCOPE_KEYS}
    if "preset" in body:
        if set(body) != {"preset"}:
            extra = sorted(set(body) - {"preset"})
            raise PolicyError(f"{where}: a preset stands alone; got also {extra}")
        if body["preset"] not in PRESETS:
            raise PolicyError(f"{where}.preset: unknown preset {body['preset']!r}; "
                              f"expected one of {', '.join(PRESETS)}")
        return preset_document(str(body["preset"]))
    return dict(body)


def _instant(raw: Any, where: str) -> int:
    if isinstance(raw, datetime):  # TOML's own offset date-time
        raw = raw.isoformat()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if not isinstance(raw, str):
        raise PolicyError(f"{where}: expected an instant such as 2026-03-01T00:00:00+03:00")
    try:
        return parse_timestamp(raw)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _scope_text(raw: Any, key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}.{key}: expected a non-empty string")
    return value


def scope_key(region: str | None, queue: str | None) -> str:
    """The name of a scope in ``documents``: default, region=77, queue=vip, region=77,queue=vip."""
    parts = [f"region={region}"] if region is not None else []
    parts += [f"queue={queue}"] if queue is not None else []
    return ",".join(parts) or "default"


def parse_version(doc: Mapping[str, Any], tenant: str, version: int, source: str,
                  published_by: str = "", published_at: int = 0) -> PolicyVersion:
    """A version document -> PolicyVersion; PolicyError names ``source`` and the bad field,
    the way load_policy does."""
    if not isinstance(doc, Mapping):
        raise PolicyError(f"{source}: expected a table (object)")
    unknown = set(doc) - _VERSION_KEYS
    if unknown:
        raise PolicyError(f"{source}: unknown keys {sorted(unknown)}; "
                          f"allowed {sorted(_VERSION_KEYS)}")
    if "effective_from" not in doc:
        raise PolicyError(f"{source}: missing required key 'effective_from'")
    if "default" not in doc:
        raise PolicyError(f"{source}: missing required key 'default' "
                          "(a table: preset = \"...\" or an inline policy)")
    documents: dict[str, Mapping[str, Any]] = {}
    default_doc = _policy_document(doc["default"], f"{source}: default")
    documents["default"] = default_doc
    default = replace(policy_from_mapping(default_doc, f"{source}: default"), version=version)
    raw_overrides = doc.get("overrides", [])
    if not isinstance(raw_overrides, list):
        raise PolicyError(f"{source}.overrides: expected a list of tables ([[overrides]])")
    overrides = []
    for i, raw in enumerate(raw_overrides):
        where = f"{source}: overrides[{i}]"
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{where}: expected a table")
        region, queue = _scope_text(raw, "region", where), _scope_text(raw, "queue", where)
        if region is None and queue is None:
            raise PolicyError(f"{where}: name a region, a queue or both")
        key = scope_key(region, queue)
        if key in documents:
            raise PolicyError(f"{where}: a second override for {key}")
        documents[key] = _policy_document(raw, where)
        policy = replace(policy_from_mapping(documents[key], where), version=version)
        overrides.append(Override(policy, region, queue))
    return PolicyVersion(
        tenant=tenant, version=version,
        effective_from=_instant(doc["effective_from"], f"{source}.effective_from"),
        default=default, overrides=tuple(overrides), published_by=published_by,
        published_at=published_at, comment=str(doc.get("comment", "")),
        documents=documents)


def version_document(v: PolicyVersion) -> dict[str, Any]:
    """The document a version was made from (presets resolved), JSON-ready: parse_version of it
    gives the same version back."""
    from schemas.events import format_timestamp
    doc: dict[str, Any] = {"effective_from": format_timestamp(v.effective_from),
                           "comment": v.comment,
                           "default": dict(v.documents["default"])}
    doc["overrides"] = [{**({"region": o.region} if o.region is not None else {}),
                         **({"queue": o.queue} if o.queue is not None else {}),
                         **v.documents[scope_key(o.region, o.queue)]} for o in v.overrides]
    return json.loads(json.dumps(doc, default=str))


def load_versions(path: str) -> dict[str, tuple[PolicyVersion, ...]]:
    """A versions file (``kontakt sla evaluate --policies``): TOML with ``[[versions]]`` tables,
    each a version document plus ``tenant`` and optionally ``version`` (default: 1, 2, ... per
    tenant in file order)."""
    from pathlib import Path
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    raw = doc.get("versions")
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{path}: needs at least one [[versions]] table")
    counts: dict[str, int] = {}
    out = []
    for i, item in enumerate(raw):
        where = f"{path}: versions[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("tenant"), str):
            raise PolicyError(f"{where}: needs tenant = \"...\"")
        tenant = item["tenant"]
        number = item.get("version", counts.get(tenant, 0) + 1)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise PolicyError(f"{where}.version: a positive whole number")
        counts[tenant] = number
        body = {k: v for k, v in item.items() if k not in ("tenant", "version")}
        out.append(parse_version(body, tenant, number, where))
    return book_of(out)


# --- PolicyVersionPublished datums (plain dicts; schemas.codec does the Avro) ----------------
POLICY_RECORD = "PolicyVersionPublished"


def published_record(history: Sequence[PolicyVersion]) -> dict[str, Any]:
    """The PolicyVersionPublished datum of a tenant's whole history (the newest version last)."""
    last = history[-1]
    return {
        "tenant": last.tenant,
        "version": last.version,
        "versions": [{
            "version": v.version, "effective_from": v.effective_from,
            "published_at": v.published_at, "published_by": v.published_by,
            "comment": v.comment,
            "document": json.dumps(version_document(v), ensure_ascii=False, sort_keys=True),
        } for v in history],
    }


def versions_of_record(datum: Mapping[str, Any]) -> list[PolicyVersion]:
    """A PolicyVersionPublished datum -> the tenant's versions (oldest first)."""
    tenant = datum["tenant"]
    return [parse_version(json.loads(v["document"]), tenant, v["version"],
                          f"{tenant} version {v['version']}", published_by=v["published_by"],
                          published_at=v["published_at"]) for v in datum["versions"]]
