"""schemathesis against the ingest part of the OpenAPI document: over 1,000 generated requests
(schema-conforming and schema-violating), none answered with a 5xx. The app (served by uvicorn)
publishes to the real session broker, so generated events that are valid really go to Kafka."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.integration.ingest_support import create_key, ingest_settings, serve

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
EXAMPLES_PER_OPERATION_AND_MODE = 85  # x 6 operations x 2 modes = 1,020 requests


def test_no_5xx_for_generated_requests(
    tmp_path: Path, kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    app_settings = ingest_settings(tmp_path, kafka_bootstrap, new_topic(partitions=3))
    key = create_key(app_settings)
    statuses: Counter[tuple[str, int]] = Counter()
    with serve(app_settings) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json").include(path_regex="^/ingest")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 6, [op.label for op in operations]
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(mode))
                def run(case: schemathesis.Case) -> None:
                    response = case.call(base_url=url, headers={"Authorization": f"Bearer {key}"})
                    statuses[(case.operation.label, response.status_code)] += 1
                    assert response.status_code < 500, (
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]}"
                    )

                run()
    total = sum(statuses.values())
    print(
        f"schemathesis: {total} requests; by status: "
        f"{sorted(Counter(s for _, s in statuses.elements()).items())}"
    )
    assert total >= 1000
    assert any(status == 200 for _, status in statuses), "no generated request was accepted"
