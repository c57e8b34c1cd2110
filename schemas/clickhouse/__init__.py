"""Numbered ClickHouse migrations (NNN_name.sql), applied in order by services.migrate.

A package only so the .sql files ship with the wheel (setuptools package-data)."""
