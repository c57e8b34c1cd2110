"""The SQL lexer that splits migrations and finds {name:Type} placeholders."""

from __future__ import annotations

from services.adapters.sqltext import (
    placeholders,
    rewrite_placeholders,
    split_statements,
    strip_comments,
)


def test_split_on_top_level_semicolons_only() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x String DEFAULT 'a;b');
    /* block; comment */
    INSERT INTO a VALUES ('it''s; fine'), ('back\\'; slash');;
    SELECT "we;ird" FROM `ta;ble`
    ;
    -- trailing comment only
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'a;b')")
    assert "'it''s; fine'" in statements[1]
    assert statements[2].startswith('SELECT "we;ird"')


def test_comment_only_script_has_no_statements() -> None:
    assert split_statements("-- nothing\n/* here */\n") == []


def test_placeholders_outside_quotes_and_comments() -> None:
    sql = "SELECT {a:String}, '{b:String}' -- {c:UInt8}\n, { d : Array(String) } /* {e:X} */"
    assert placeholders(sql) == [("a", "String"), ("d", "Array(String)")]


def test_rewrite_keeps_literals() -> None:
    sql = "SELECT {a:UInt8}, '{a:UInt8}'"
    assert rewrite_placeholders(sql, lambda n, t: f"<{n}|{t}>") == "SELECT <a|UInt8>, '{a:UInt8}'"


def test_strip_comments() -> None:
    assert strip_comments("SELECT 1 -- x\n/* y */ + 2") == "SELECT 1 \n + 2"
