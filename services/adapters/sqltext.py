"""A tiny ClickHouse SQL lexer: just enough to split a script into statements and to find
``{name:Type}`` parameter placeholders without being fooled by quotes or comments.

Why not a regex: a ``;`` or ``{x:String}`` inside a string literal or a comment is text, not
syntax, and a migration or a query that contains one must not be cut or rewritten there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}")


def _segments(sql: str) -> Iterator[tuple[str, str]]:
    """Yield (kind, text) pieces: kind is 'code', 'quoted' or 'comment'; they rebuild sql."""
    i, n, start = 0, len(sql), 0
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            if start < i:
                yield "code", sql[start:i]
            j = i + 1
            while j < n:
                if sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:  # doubled quote escapes itself
                        j += 2
                        continue
                    break
                j += 1
            end = min(j + 1, n)
            yield "quoted", sql[i:end]
            i = start = end
        elif sql.startswith("--", i) or sql.startswith("#", i):
            if start < i:
                yield "code", sql[start:i]
            end = sql.find("\n", i)
            end = n if end < 0 else end
            yield "comment", sql[i:end]
            i = start = end
        elif sql.startswith("/*", i):
            if start < i:
                yield "code", sql[start:i]
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            yield "comment", sql[i:end]
            i = start = end
        else:
            i += 1
    if start < n:
        yield "code", sql[start:n]


def split_statements(script: str) -> list[str]:
    """Split a SQL script on top-level ``;`` into statements (comments kept, blanks dropped)."""
    statements: list[str] = []
    current: list[str] = []
    for kind, text in _segments(script):
        if kind != "code":
            current.append(text)
            continue
        parts = text.split(";")
        current.append(parts[0])
        for part in parts[1:]:
            statements.append("".join(current))
            current = [part]
    statements.append("".join(current))
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    return any(kind != "comment" and text.strip() for kind, text in _segments(statement))


def strip_comments(sql: str) -> str:
    """The statement without comments (what a server that dislikes them should receive)."""
    return "".join(text for kind, text in _segments(sql) if kind != "comment").strip()


def placeholders(sql: str) -> list[tuple[str, str]]:
    """Every ``{name:Type}`` outside quotes and comments, as (name, type), in order."""
    found: list[tuple[str, str]] = []
    for kind, text in _segments(sql):
        if kind == "code":
            found.extend((m.group(1), m.group(2)) for m in _PLACEHOLDER.finditer(text))
    return found


def rewrite_placeholders(sql: str, replace: Callable[[str, str], str]) -> str:
    """Replace each ``{name:Type}`` in code with ``replace(name, type)``; keep the rest.

    ``replace`` also sees code text only, so quoted literals pass through untouched.
    """
    out: list[str] = []
    for kind, text in _segments(sql):
        if kind == "code":
            out.append(_PLACEHOLDER.sub(lambda m: replace(m.group(1), m.group(2)), text))
        else:
            out.append(text)
    return "".join(out)


def escape_code_percent(sql: str) -> str:
    """Double every ``%`` (code and literals) so Python %-formatting leaves the text intact."""
    return sql.replace("%", "%%")
