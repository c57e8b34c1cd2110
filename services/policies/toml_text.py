"""A version document back to TOML (``kontakt policy show``): the standard library reads TOML
but does not write it, and a document is only tables, arrays of tables and plain values."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON's escapes are TOML basic-string ones
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML for {type(v).__name__}")


def _tables(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def dumps(doc: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _table(lines, [], doc)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    nested = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    arrays = [(k, v) for k, v in table.items() if _tables(v)]
    for k, v in table.items():
        if not isinstance(v, Mapping) and not _tables(v):
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, sub in nested:
        name = ".".join(_key(p) for p in [*path, k])
        lines += ["", f"[{name}]"]
        _table(lines, [*path, k], sub)
    for k, items in arrays:
        name = ".".join(_key(p) for p in [*path, k])
        for item in items:
            lines += ["", f"[[{name}]]"]
            _table(lines, [*path, k], item)
