"""Shared pytest fixtures. Feature-specific fixtures live in tests/fixtures/*.py and are
loaded here as plugins so that each stays small."""

from __future__ import annotations

pytest_plugins: list[str] = [
    "tests.fixtures.reaper",
    "tests.fixtures.sla",
    "tests.fixtures.clickhouse_server",
    "tests.fixtures.warehouse",
    "tests.fixtures.analytics_seed",
    "tests.fixtures.kafka",
    "tests.fixtures.worker",
    "tests.fixtures.board_stack",
]
