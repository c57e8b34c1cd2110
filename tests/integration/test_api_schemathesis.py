"""schemathesis over the WHOLE OpenAPI document: every operation, with an admin key (so every
operation is reachable), the real broker and a migrated chdb warehouse behind the API.

Two promises are checked:

1. No generated request -- schema-conforming or schema-violating -- gets a 5xx (the one
   exception is GET /health/ready, whose 503 says truthfully that no worker runs here).
2. The document says what the API enforces: for every operation, at most half of the
   schema-conforming (positive) cases may be refused as invalid (a 4xx other than 401, 403,
   404 and 409: auth, no such resource, conflict). That is schemathesis's "validation
   mismatch" / "low valid rate" in a form strict enough to fail: schemathesis itself warns
   only when ALL positive cases are refused. Generation must not be unsatisfiable or filter
   too much either (hypothesis' health checks stay on, except too_slow).

OpenAPI cannot state one rule of the reports -- ``to`` after ``from`` and at most
query_max_days (what-if: whatif_max_days) later -- so positive cases get that rule applied
(``_one_period``) before they are sent, as a client would; each bound itself is generated from
the declared pattern. Nor can it state SQL's grammar: positive cases of POST /v1/sql send a
valid SELECT with the generated format and limits. Generation is derandomized: the same cases
every run.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from schemas.events import format_timestamp
from schemas.units import HOUR_MS
from services.adapters.chdb_warehouse import ChdbWarehouse
from services.analytics.filters import FilterError, is_plain_date, parse_instant, parse_range
from services.api.app import create_app
from services.auth import Scope
from services.settings import Settings, load_settings
from services.topics import apply_topics
from tests.integration.ingest_support import create_key, serve

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 5}
MOST = 0.5  # more than this share of positive cases refused as invalid fails the test
NOT_A_REJECTION = {401, 403, 404, 409}
EXPECTED_5XX = {("GET /health/ready", 503)}  # readiness without a worker: 503 by design


@pytest.fixture
def api_url(tmp_path: Path, kafka_bootstrap: str,
            migrated_warehouse: ChdbWarehouse) -> Iterator[tuple[str, str, Settings]]:
    app_settings = load_settings(
        data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"st{uuid.uuid4().hex[:8]}.", topic_partitions=1, sink_in_api=False,
        board_feed=False, pseudonym_key="test-pseudonym-key-0123456789")
    list(apply_topics(app_settings))  # events, acknowledgements (board acks, remediation)
    key = create_key(app_settings, scopes=(Scope.ADMIN,))
    app = create_app(app_settings)
    app.state.warehouse = migrated_warehouse  # the lifespan uses it and leaves it open
    with serve(app_settings, app, lifespan="on") as url:
        yield url, key, app_settings


def _one_period(values: Any, max_days: int) -> None:
    """The rule OpenAPI cannot state, applied to a positive case's from/to in place: when both
    bounds are valid but ``to`` is not after ``from`` or too far, ``to`` becomes one day
    (a plain date: that same day) or one hour after ``from``."""
    if not isinstance(values, dict):
        return
    start, end = values.get("from"), values.get("to")
    if not isinstance(start, str) or not isinstance(end, str):
        return
    try:
        first = parse_instant("from", start)
        parse_instant("to", end, end=True)
    except FilterError:
        return  # a bound the pattern allows but the calendar not (2026-02-30): left as it is
    try:
        parse_range(start, end, max_days)
    except FilterError:
        values["to"] = start if is_plain_date(start) else format_timestamp(first + HOUR_MS)


def _takes_input(operation: Any) -> bool:
    return bool(list(operation.iter_parameters())) or bool(operation.body)


def test_the_whole_api_under_schemathesis(api_url: tuple[str, str, Settings]) -> None:
    url, key, app_settings = api_url
    expected = sum(len(ops) for ops in create_app(app_settings).openapi()["paths"].values())
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    schema.config.max_stream_events = 1  # the board's event stream: its first event is enough
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == expected >= 28, [op.label for op in operations]

    statuses: Counter[tuple[str, GenerationMode, int]] = Counter()
    server_errors: list[str] = []
    problems: dict[str, str] = {}
    refusals: dict[str, list[str]] = {}  # label -> why positive cases were refused (samples)
    session = requests.Session()
    auth = {"Authorization": f"Bearer {key}", "X-API-Key": key}  # over generated ones

    def exercise(operation: Any, mode: GenerationMode) -> None:
        @settings(max_examples=EXAMPLES[mode], deadline=None, database=None,
                  derandomize=True, suppress_health_check=[HealthCheck.too_slow])
        @given(case=operation.as_strategy(mode))
        def run(case: schemathesis.Case) -> None:
            if mode is GenerationMode.POSITIVE:
                max_days = (app_settings.whatif_max_days if "whatif" in case.path
                            else app_settings.query_max_days)
                _one_period(case.query, max_days)
                _one_period(case.body, max_days)
                if case.path == "/v1/sql" and isinstance(case.body, dict):
                    case.body["query"] = "SELECT 1 AS one"  # SQL grammar: not in OpenAPI
            response = case.call(base_url=url, session=session, headers=auth, timeout=20)
            label = case.operation.label
            statuses[(label, mode, response.status_code)] += 1
            if (mode is GenerationMode.POSITIVE and 400 <= response.status_code < 500
                    and response.status_code not in NOT_A_REJECTION):
                refusals.setdefault(label, []).append(response.text[:200])
            if response.status_code >= 500 and (label, response.status_code) not in EXPECTED_5XX:
                server_errors.append(f"{case.method} {case.formatted_path} {mode.value} -> "
                                     f"{response.status_code}: {response.text[:300]}")

        try:
            run()
        except Exception as exc:  # unsatisfiable schema, failed health check, transport
            problems[f"{operation.label} ({mode.value})"] = f"{type(exc).__name__}: {exc}"[:500]

    for operation in operations:
        exercise(operation, GenerationMode.POSITIVE)
        if _takes_input(operation):
            exercise(operation, GenerationMode.NEGATIVE)

    rejected = _rejection_shares(statuses)
    total = sum(statuses.values())
    by_status = Counter(status for (_, _, status), n in statuses.items() for _ in range(n))
    print(f"\nschemathesis: {len(operations)} operations, {total} requests; by status: "
          f"{sorted(by_status.items())}")
    for label, (share, counted) in sorted(rejected.items()):
        print(f"  {share:4.0%} of {counted:2d} positive cases refused: {label}")
    assert not problems, problems
    assert not server_errors, server_errors
    mostly = {label: (f"{share:.0%}", refusals.get(label, [])[:3])
              for label, (share, _) in rejected.items() if share > MOST}
    assert not mostly, f"operations refusing most schema-conforming input: {mostly}"
    assert any(status < 300 for (_, _, status) in statuses), "nothing was accepted"


def _rejection_shares(
    statuses: Counter[tuple[str, GenerationMode, int]],
) -> dict[str, tuple[float, int]]:
    """label -> (share of its positive cases refused as invalid, positive cases counted);
    auth and no-such-resource answers count as neither accepted nor refused."""
    refused: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    for (label, mode, status), n in statuses.items():
        if mode is not GenerationMode.POSITIVE or status in NOT_A_REJECTION:
            continue
        counted[label] += n
        if 400 <= status < 500:
            refused[label] += n
    return {label: (refused[label] / n, n) for label, n in counted.items()}
