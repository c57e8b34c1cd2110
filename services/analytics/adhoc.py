"""Analysts' ad-hoc SQL (POST /v1/sql, `kontakt sql`): which queries run, and how bounded.

The layers, each verified on chdb (ClickHouse 26.x); docs/analytics.md says why each is there:

1. ClickHouse parses the text, not us: ``formatQuery({q:String})`` gets it as a bound
   parameter (so nothing runs), refuses multiple statements and returns one canonical
   statement without comments. Only that canonical text goes any further.
2. ``EXPLAIN AST`` of the canonical text is walked: a single SELECT/WITH (UNION, INTERSECT,
   EXCEPT of them) and nothing else; no SETTINGS, FORMAT or INTO OUTFILE; no table function
   but the warehouse's parameterized views and a few generators; no other database; no
   dictionary or file functions; no table as an IN operand; for a tenant key only tables that
   have a ``tenant`` column (or views over them).
3. It runs with ``readonly=1`` and the limits in its one SETTINGS clause; for a tenant key with
   ``additional_table_filters`` putting ``tenant = '<tenant>'`` on every warehouse table, views
   read through included, and ``optimize_move_to_prewhere=0`` so that the query's own
   conditions cannot be evaluated (and throw) on other tenants' rows before that filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Table functions an analyst may call besides the warehouse's parameterized views.
GENERATORS = frozenset({"numbers", "zeros", "generateseries", "generate_series", "values"})
#: Scalar functions that read outside the query's tables (files, dictionaries, Join tables).
#: sleep: a query holds the warehouse (the sink waits behind it), so idling in it is refused.
FORBIDDEN_FUNCTIONS = frozenset({"file", "joinget", "joingetornull", "hascolumnintable",
                                 "getsetting", "getsettingordefault", "sleep", "sleepeachrow",
                                 "catboostevaluate"})
FORBIDDEN_PREFIXES = ("dict",)
IN_FUNCTIONS = frozenset({"in", "notin", "globalin", "globalnotin", "nullin", "notnullin",
                          "globalnullin", "globalnotnullin"})
MAX_QUERY_CHARS = 100_000


class SqlRefused(Exception):
    """A query that is not run, with the HTTP status that says why (400, 403, 422)."""

    def __init__(self, status_code: int, message: str) -> None:
        self.status_code = status_code
        super().__init__(message)


class RawWarehouse(Protocol):
    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]: ...

    def query_bytes(self, sql: str, fmt: str, params: Any = None) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_execution_s: float
    max_result_rows: int
    max_memory_bytes: int


@dataclass(frozen=True, slots=True)
class Catalog:
    """The warehouse's own database as the validator needs it."""

    database: str
    tenant_tables: frozenset[str]  # have a tenant column: filtered for tenant keys
    views: frozenset[str]  # View engine: the filters reach the tables they read
    untenanted: frozenset[str]  # no tenant column: operator-wide keys only
    databases: frozenset[str]

    @property
    def tables(self) -> frozenset[str]:
        return self.tenant_tables | self.views | self.untenanted


@dataclass(slots=True)
class Node:
    kind: str
    name: str
    children: list[Node] = field(default_factory=list)

    def walk(self, parent: Node | None = None) -> Iterator[tuple[Node, Node | None]]:
        yield self, parent
        for child in self.children:
            yield from child.walk(self)


_LINE = re.compile(r"^(?P<indent> *)(?P<kind>\w+)(?P<rest>.*)$")
_TAIL = re.compile(r"(?: \(alias [^()]*\))?(?: \(children \d+\))?\s*$")


def parse_ast(text: str) -> Node:
    """The tree of ``EXPLAIN AST`` output (one node a line, one space of indent a level)."""
    root: Node | None = None
    stack: list[tuple[int, Node]] = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        depth = len(match["indent"])
        node = Node(match["kind"], _TAIL.sub("", match["rest"]).strip())
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            stack[-1][1].children.append(node)
        elif root is None:
            root = node
        else:
            raise SqlRefused(400, "only one statement may be sent")
        stack.append((depth, node))
    if root is None:
        raise SqlRefused(400, "the query is empty")
    return root


def load_catalog(warehouse: RawWarehouse) -> Catalog:
    rows = warehouse.query(
        "SELECT t.name, t.engine, countIf(c.name = 'tenant') FROM system.tables AS t "
        "LEFT JOIN system.columns AS c ON c.database = t.database AND c.table = t.name "
        "WHERE t.database = currentDatabase() GROUP BY t.name, t.engine"
    )
    tenant = frozenset(str(n) for n, _, has in rows if has)
    views = frozenset(str(n) for n, engine, has in rows if not has and engine == "View")
    other = frozenset(str(n) for n, _, _ in rows) - tenant - views
    (database,), = warehouse.query("SELECT currentDatabase()")
    databases = frozenset(str(d) for d, in warehouse.query("SELECT name FROM system.databases"))
    return Catalog(str(database), tenant, views, other,
                   databases | {"system", "information_schema", "INFORMATION_SCHEMA"})


def canonical(warehouse: RawWarehouse, text: str) -> str:
    """ClickHouse's own formatting of ``text`` (a bound parameter: parsed, never run)."""
    if len(text) > MAX_QUERY_CHARS:
        raise SqlRefused(422, f"the query is longer than {MAX_QUERY_CHARS} characters")
    if not text.strip():
        raise SqlRefused(400, "the query is empty")
    try:
        rows = warehouse.query("SELECT formatQuery({q:String})", {"q": text})
    except Exception as exc:
        raise SqlRefused(400, f"ClickHouse cannot parse the query: {error_text(exc)}") from None
    return str(rows[0][0])


_QUOTED = re.compile(r"'(?:\\.|[^'\\])*'|`(?:\\.|[^`\\])*`|\"(?:\\.|[^\"\\])*\"")


def check(tree: Node, formatted: str, catalog: Catalog, tenant: str | None) -> None:
    """Refuse (SqlRefused) anything but a plain read of the warehouse's own tables."""
    if tree.kind != "SelectWithUnionQuery":
        raise SqlRefused(400, f"only SELECT (or WITH ... SELECT) queries run here, not "
                         f"{tree.kind.removesuffix('Query') or tree.kind}")
    if len(tree.children) != 1:
        raise SqlRefused(400, "FORMAT and INTO OUTFILE are not allowed: choose the format "
                         "with the request's format field")
    if re.search(r"\bPREWHERE\b", _QUOTED.sub("''", formatted), re.IGNORECASE):
        raise SqlRefused(400, "PREWHERE is not allowed (the tenant filter must run first); "
                         "write WHERE, ClickHouse chooses what to read first")
    for node, parent in tree.walk():
        _check_node(node, parent, catalog, tenant)


def _check_node(node: Node, parent: Node | None, catalog: Catalog, tenant: str | None) -> None:
    kind, name = node.kind, node.name
    if kind in ("Set", "SetQuery"):
        raise SqlRefused(400, "SETTINGS are not allowed: the limits are the API's (lower them "
                         "with the request's max_* fields)")
    if kind not in ("Function", "TableIdentifier", "Identifier"):
        return
    lowered = name.lower()
    if kind == "Function" and parent is not None and parent.kind == "TableExpression":
        if name in catalog.views or lowered in GENERATORS:
            return
        raise SqlRefused(403, f"table function {name}() is not allowed: query the warehouse's "
                         "tables (see docs/analytics.md)")
    if kind == "Function":
        if lowered in FORBIDDEN_FUNCTIONS or lowered.startswith(FORBIDDEN_PREFIXES):
            raise SqlRefused(403, f"function {name}() is not allowed here")
        if lowered in IN_FUNCTIONS:
            _check_in_operand(node, catalog)
        return
    first, _, rest = name.partition(".")
    if rest and first != catalog.database and first in catalog.databases:
        raise SqlRefused(403, f"{name}: only the warehouse's own database "
                         f"({catalog.database}) may be read")
    table = rest if rest and first == catalog.database else name
    if kind == "Identifier":
        return
    if tenant is not None and table in catalog.untenanted:
        raise SqlRefused(403, f"table {table} has no tenant column: it needs an operator-wide "
                         "key (scope sql-all)")


def _check_in_operand(node: Node, catalog: Catalog) -> None:
    """``x IN events`` reads a table outside FROM/JOIN: refused (a column named like a
    table elsewhere, such as appeal_figures' ``contacts``, is fine)."""
    args = node.children[0].children if node.children else []
    if len(args) == 2 and args[1].kind == "Identifier":
        first, _, rest = args[1].name.partition(".")
        table = rest if rest and first == catalog.database else args[1].name
        if table in catalog.tables:
            raise SqlRefused(400, f"{args[1].name}: name tables only in FROM or JOIN "
                             "(write IN (SELECT ... FROM t))")


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def settings_clause(catalog: Catalog, tenant: str | None, limits: Limits) -> str:
    """The query's one SETTINGS clause: read-only, bounded and, for a tenant, filtered."""
    parts = [
        "readonly = 1",
        f"max_execution_time = {float(limits.max_execution_s)!r}",
        f"max_result_rows = {int(limits.max_result_rows)}",
        "result_overflow_mode = 'throw'",
        f"max_memory_usage = {int(limits.max_memory_bytes)}",
        "optimize_move_to_prewhere = 0",
        "optimize_move_to_prewhere_if_final = 0",
        "output_format_json_quote_64bit_integers = 0",
        "output_format_json_quote_decimals = 0",
    ]
    if tenant is not None:
        condition = f"tenant = {_quote(tenant)}"
        filters = ", ".join(f"{_quote(t)}: {_quote(condition)}"
                            for t in sorted(catalog.tenant_tables))
        parts.append(f"additional_table_filters = {{{filters}}}")
    return "SETTINGS " + ", ".join(parts)


def guarded_sql(warehouse: RawWarehouse, text: str, tenant: str | None, limits: Limits,
                catalog: Catalog | None = None) -> str:
    """The statement to run for ``text``, or SqlRefused. ``tenant`` None: operator-wide."""
    formatted = canonical(warehouse, text)
    try:
        explained = warehouse.query_bytes(f"EXPLAIN AST {formatted}", "TabSeparatedRaw")
    except Exception as exc:
        raise SqlRefused(400, f"ClickHouse cannot parse the query: {error_text(exc)}") from None
    catalog = catalog or load_catalog(warehouse)
    check(parse_ast(explained.decode()), formatted, catalog, tenant)
    return f"{formatted}\n{settings_clause(catalog, tenant, limits)}"


_ERROR = re.compile(r"Code: (?P<code>\d+)\. DB::Exception: (?P<message>.*?)"
                    r"(?: \((?P<name>[A-Z_]+)\))?(?: \(version [^)]*\))?$", re.DOTALL)
#: ClickHouse errors that mean a limit of the request was reached -> 422.
LIMIT_ERRORS = {"TOO_MANY_ROWS_OR_BYTES": "max_result_rows",
                "TIMEOUT_EXCEEDED": "max_execution_s",
                "MEMORY_LIMIT_EXCEEDED": "max_memory_bytes"}


def error_text(exc: BaseException) -> str:
    """ClickHouse's message, first line, without its version suffix; at most 500 chars."""
    text = str(exc).strip()
    match = _ERROR.search(text)
    if match:
        message = re.split(r"[.:] In scope ", match["message"].splitlines()[0])[0].rstrip(". ")
        text = f"{message} ({match['name'] or 'code ' + match['code']})"
    return text[:500]


def refusal(exc: BaseException) -> SqlRefused:
    """A ClickHouse error while running an accepted query -> the 4xx that says what to do."""
    text = str(exc)
    for name, limit in LIMIT_ERRORS.items():
        if name in text:
            return SqlRefused(422, f"the query exceeded {limit}: {error_text(exc)}; narrow it "
                              "(WHERE, LIMIT, a shorter period)")
    if "READONLY" in text:
        return SqlRefused(403, f"the query tried to write or change something: "
                          f"{error_text(exc)}")
    return SqlRefused(400, f"ClickHouse refused the query: {error_text(exc)}")
