"""Render a migration for a ClickHouse cluster (KONTAKT_CLICKHOUSE_CLUSTER): a pure function of
the migration's text and the cluster's name. Without a cluster the text is returned as it is,
byte for byte: that is what chdb and a single server run.

For a cluster, statement by statement (docs/clickhouse.md has the reasons):

* ``CREATE TABLE t (...) ENGINE = XMergeTree[(args)] ...`` becomes the shard-local table
  ``t_local ON CLUSTER 'c'`` with ``ReplicatedXMergeTree('/clickhouse/tables/{shard}/
  {database}/{table}', '{replica}'[, args])`` (the engine's own arguments kept, the server's
  macros left for the server), followed by ``t ON CLUSTER 'c' AS t_local ENGINE =
  Distributed('c', currentDatabase(), 't_local', key)``: readers and the sink keep using ``t``.
  The sharding key is :func:`sharding_key`.
* A materialized view reads the local table and writes the local table (``FROM t_local``,
  ``TO t_local``): it fires on the shard that stored the rows and keeps its aggregates beside
  them; replication then copies both, and the view does not fire again on a replica.
* Any other CREATE (views), ALTER and DROP gets ``ON CLUSTER 'c'`` after its object's name;
  an ALTER of a MergeTree table goes to ``t_local`` (TTL, mutations) and, when it changes a
  column, to ``t`` as well; a DROP TABLE drops ``t_local`` too.
"""

from __future__ import annotations

import re

from services.adapters.chtypes import split_top_level
from services.adapters.sqltext import split_statements, strip_comments

ZK_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
REPLICA = "{replica}"
LOCAL_SUFFIX = "_local"
CLUSTER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CREATE = re.compile(
    rf"^(CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|(?:MATERIALIZED\s+)?VIEW)\s+"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?)({_IDENT})\b", re.IGNORECASE)
_ALTER = re.compile(rf"^(ALTER\s+TABLE\s+)({_IDENT})\b", re.IGNORECASE)
_DROP = re.compile(rf"^(DROP\s+(TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?)({_IDENT})\b", re.IGNORECASE)
_ENGINE = re.compile(r"\bENGINE\s*=\s*(\w*)MergeTree\b", re.IGNORECASE)
_ORDER_BY = re.compile(r"\bORDER\s+BY\s+", re.IGNORECASE)
_MV_TO = re.compile(rf"\bTO\s+({_IDENT})\b(?!\s*\()")
_MV_SOURCE = re.compile(rf"\b(FROM|JOIN)\s+({_IDENT})\b(?!\s*\()", re.IGNORECASE)
_COLUMN_ALTER = re.compile(r"\b(ADD|DROP|MODIFY|RENAME|CLEAR|COMMENT)\s+COLUMN\b", re.IGNORECASE)


def check_cluster_name(cluster: str) -> str:
    """The name as given; ValueError when it cannot be a cluster name of remote_servers."""
    if not CLUSTER_NAME.fullmatch(cluster):
        raise ValueError(f"cluster name {cluster!r}: use 1-128 of A-Z a-z 0-9 _ . -")
    return cluster


def local_name(table: str, cluster: str) -> str:
    """The table that holds a MergeTree table's rows: ``t_local`` on a cluster, else ``t``."""
    return f"{table}{LOCAL_SUFFIX}" if cluster else table


def render(sql: str, cluster: str = "") -> str:
    """The migration ``sql`` for ``cluster`` ('' or no cluster: ``sql`` itself, unchanged)."""
    if not cluster:
        return sql
    check_cluster_name(cluster)
    out: list[str] = []
    for statement in split_statements(sql):
        out.extend(render_statement(statement, cluster))
    return "".join(f"{s};\n\n" for s in out)


def render_statement(statement: str, cluster: str) -> list[str]:
    """One statement (comments allowed) as the statement(s) a cluster runs."""
    code = strip_comments(statement)
    on = f" ON CLUSTER {_quote(cluster)}"
    create = _CREATE.match(code)
    if create:
        head, name = create.group(1), create.group(2)
        kind = head.upper().split()
        if "TABLE" in kind and _ENGINE.search(code):
            return _replicated_table(code, create, cluster)
        body = code[create.end():]
        if "MATERIALIZED" in kind:
            body = _MV_TO.sub(lambda m: f"TO {m.group(1)}{LOCAL_SUFFIX}", body, count=1)
            body = _MV_SOURCE.sub(lambda m: f"{m.group(1)} {m.group(2)}{LOCAL_SUFFIX}", body)
        return [f"{head}{name}{on}{body}"]
    alter = _ALTER.match(code)
    if alter:
        head, name, rest = alter.group(1), alter.group(2), code[alter.end():]
        local = [f"{head}{name}{LOCAL_SUFFIX}{on}{rest}"]
        return local + ([f"{head}{name}{on}{rest}"] if _COLUMN_ALTER.search(rest) else [])
    drop = _DROP.match(code)
    if drop:
        head, name, rest = drop.group(1), drop.group(3), code[drop.end():]
        dropped = [f"{head}{name}{on}{rest}"]
        if drop.group(2).upper() == "TABLE":
            dropped.append(f"DROP TABLE IF EXISTS {name}{LOCAL_SUFFIX}{on}{rest}")
        return dropped
    return [code]


def _replicated_table(code: str, create: re.Match[str], cluster: str) -> list[str]:
    head, name = create.group(1), create.group(2)
    local = f"{name}{LOCAL_SUFFIX}"
    on = f" ON CLUSTER {_quote(cluster)}"
    engine = _ENGINE.search(code)
    assert engine is not None
    args_start = engine.end()
    while args_start < len(code) and code[args_start].isspace():
        args_start += 1
    own_args = ""
    end = engine.end()
    if args_start < len(code) and code[args_start] == "(":
        close = _matching(code, args_start)
        own_args = code[args_start + 1:close].strip()
        end = close + 1
    args = ", ".join(a for a in (_quote(ZK_PATH), _quote(REPLICA), own_args) if a)
    replicated = f"ENGINE = Replicated{engine.group(1)}MergeTree({args})"
    local_sql = (f"{head}{local}{on}{code[create.end():engine.start()]}{replicated}"
                 f"{code[end:]}")
    key = sharding_key(code)
    distributed = (f"{head}{name}{on}\nAS {local}\nENGINE = Distributed({_quote(cluster)}, "
                   f"currentDatabase(), {_quote(local)}, {key})")
    return [local_sql, distributed]


def sharding_key(create_table: str) -> str:
    """The Distributed table's sharding key for a CREATE TABLE statement.

    Rows a (Replacing|Aggregating)MergeTree collapses must live on one shard, so the key may
    only depend on what those rows share. A table with ``tenant`` and ``contact_id`` columns
    shards by ``cityHash64(tenant, contact_id)``: in each of them (events, contacts, outcomes,
    alerts, appeal_links) the rows of one sorting key are one event, clock, alert or contact,
    hence one contact; and a contact's rows of every table land on the same shard, so joins
    and ``GROUP BY contact_id`` stay shard-local. Any other table shards by ``cityHash64`` of
    its ORDER BY columns (the sorting key itself)."""
    code = strip_comments(create_table)
    columns = set(_column_names(code))
    if {"tenant", "contact_id"} <= columns:
        return "cityHash64(tenant, contact_id)"
    return f"cityHash64({', '.join(_order_by(code))})"


def _column_names(code: str) -> list[str]:
    start = code.find("(")
    if start < 0:
        return []
    body = code[start + 1:_matching(code, start)]
    return [item.split()[0].strip("`") for item in split_top_level(body) if item.strip()]


def _order_by(code: str) -> list[str]:
    match = _ORDER_BY.search(code)
    if not match:
        raise ValueError("a MergeTree table without ORDER BY")
    rest = code[match.end():].lstrip()
    if rest.startswith("("):
        return [c.strip() for c in split_top_level(rest[1:_matching(rest, 0)]) if c.strip()]
    return [rest.split()[0]]


def _matching(text: str, open_at: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``open_at`` (quotes respected)."""
    depth, i, quote = 0, open_at, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced parentheses in {text[:60]!r}")


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
