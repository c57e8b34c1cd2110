"""The ad-hoc SQL validator's pure parts: EXPLAIN AST text -> tree, and the refusals on a
tree (the same checks run on chdb's own output in tests/integration/test_sql_api.py)."""

from __future__ import annotations

import pytest

from services.analytics.adhoc import (
    Catalog,
    Limits,
    SqlRefused,
    check,
    error_text,
    parse_ast,
    refusal,
    settings_clause,
)

CATALOG = Catalog("default", frozenset({"events", "outcomes"}), frozenset({"v"}),
                  frozenset({"kontakt_schema_migrations"}), frozenset({"default", "system"}))

UNION = """SelectWithUnionQuery (children 1)
 ExpressionList (children 2)
  SelectQuery (children 3)
   ExpressionList (children 1)
    Function count (alias n) (children 1)
     ExpressionList
   TablesInSelectQuery (children 1)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      TableIdentifier events
   Function equals (children 1)
    ExpressionList (children 2)
     Identifier tenant
     Literal \\'a\\'
  SelectQuery (children 2)
   ExpressionList (children 1)
    Literal UInt64_1
   TablesInSelectQuery (children 1)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      TableIdentifier {table}
"""


def _tree(table: str = "outcomes") -> str:
    return UNION.replace("{table}", table)


def test_parse_ast_builds_the_tree() -> None:
    root = parse_ast(_tree())
    assert root.kind == "SelectWithUnionQuery" and len(root.children) == 1
    selects = root.children[0].children
    assert [s.kind for s in selects] == ["SelectQuery", "SelectQuery"]
    names = [(n.kind, n.name) for n, _ in root.walk() if n.name]
    assert ("Function", "count") in names and ("TableIdentifier", "events") in names
    assert ("Identifier", "tenant") in names


def test_a_union_of_tenant_tables_passes() -> None:
    check(parse_ast(_tree()), "SELECT ...", CATALOG, "a")


@pytest.mark.parametrize(("table", "tenant", "status", "words"), [
    ("system.tables", "a", 403, "own database"),
    ("system.tables", None, 403, "own database"),
    ("kontakt_schema_migrations", "a", 403, "no tenant column"),
    ("default.kontakt_schema_migrations", "a", 403, "no tenant column"),
])
def test_refused_tables(table: str, tenant: str | None, status: int, words: str) -> None:
    with pytest.raises(SqlRefused) as caught:
        check(parse_ast(_tree(table)), "SELECT ...", CATALOG, tenant)
    assert caught.value.status_code == status and words in str(caught.value)


def test_untenanted_tables_are_for_operators() -> None:
    check(parse_ast(_tree("kontakt_schema_migrations")), "SELECT ...", CATALOG, None)


@pytest.mark.parametrize(("replace", "words"), [
    ("TableIdentifier {table}", "Function merge (children 1)"),
    ("TableIdentifier {table}", "Function file (children 1)"),
    ("Literal UInt64_1", "Function dictGetString (children 1)"),
    ("Literal UInt64_1", "Function sleepEachRow (children 1)"),
    ("Literal UInt64_1", "Function in (children 1)\n     ExpressionList (children 2)\n"
                         "      Identifier contact_id\n      Identifier events"),
    ("Literal UInt64_1", "Function notIn (children 1)\n     ExpressionList (children 2)\n"
                         "      Identifier contact_id\n      Identifier default.outcomes"),
    ("Literal UInt64_1", "Identifier system.one.dummy"),
    ("Literal UInt64_1", "Set"),
])
def test_refused_nodes(replace: str, words: str) -> None:
    text = _tree().replace(replace.replace("{table}", "outcomes"), words)
    with pytest.raises(SqlRefused):
        check(parse_ast(text), "SELECT ...", CATALOG, "a")


def test_allowed_functions_and_qualified_columns() -> None:
    text = (_tree().replace("TableIdentifier outcomes", "Function v (children 1)")
            .replace("Literal UInt64_1", "Identifier events.tenant"))
    check(parse_ast(text), "SELECT ...", CATALOG, "a")
    column = _tree().replace("Literal UInt64_1", "Identifier events")  # a column so named
    check(parse_ast(column), "SELECT ...", CATALOG, "a")
    numbers = _tree().replace("TableIdentifier outcomes", "Function numbers (children 1)")
    check(parse_ast(numbers), "SELECT ...", CATALOG, "a")


def test_statement_shape() -> None:
    with pytest.raises(SqlRefused, match="only SELECT"):
        check(parse_ast("DropQuery  events (children 1)\n Identifier events\n"), "DROP",
              CATALOG, "a")
    with pytest.raises(SqlRefused, match="FORMAT"):
        check(parse_ast(_tree() + " Identifier JSON\n"), "SELECT ...", CATALOG, "a")
    with pytest.raises(SqlRefused, match="one statement"):
        parse_ast(_tree() + _tree())
    with pytest.raises(SqlRefused, match="PREWHERE"):
        check(parse_ast(_tree()), "SELECT 1 FROM events PREWHERE 1", CATALOG, "a")
    check(parse_ast(_tree()), "SELECT 'PREWHERE', `PREWHERE` FROM events", CATALOG, "a")


def test_the_tenant_filter_is_quoted_twice() -> None:
    clause = settings_clause(CATALOG, "o'b\\x", Limits(1.5, 10, 1 << 20))
    assert "readonly = 1" in clause and "result_overflow_mode = 'throw'" in clause
    assert "max_execution_time = 1.5" in clause and "max_result_rows = 10" in clause
    assert "'events': 'tenant = \\'o\\\\\\'b\\\\\\\\x\\''" in clause
    assert "additional_table_filters" not in settings_clause(CATALOG, None, Limits(1, 1, 1))


def test_clickhouse_errors_become_4xx() -> None:
    timeout = RuntimeError("Code: 159. DB::Exception: Timeout exceeded: elapsed 1.0 seconds. "
                           "(TIMEOUT_EXCEEDED) (version 26.9.2.1)")
    assert refusal(timeout).status_code == 422 and "max_execution_s" in str(refusal(timeout))
    assert error_text(timeout) == "Timeout exceeded: elapsed 1.0 seconds (TIMEOUT_EXCEEDED)"
    readonly = RuntimeError("Code: 164. DB::Exception: default: Cannot execute query in "
                            "readonly mode. (READONLY)")
    assert refusal(readonly).status_code == 403
    unknown = RuntimeError("Code: 47. DB::Exception: Unknown expression identifier `x`. "
                           "In scope SELECT x SETTINGS readonly = 1. (UNKNOWN_IDENTIFIER)")
    assert refusal(unknown).status_code == 400
    assert "In scope" not in str(refusal(unknown))
