"""The policy admin API end to end on the real broker: PUT a version, GET it back, the record
on the compacted policies topic carries the whole history; other tenants' keys get 403, and a
broker that is down is a 503, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from schemas.codec import decode
from schemas.events import format_timestamp, parse_timestamp
from services.adapters.kafka_reader import read_all
from services.auth import Scope
from services.cli import policy as policy_cli
from services.cli.main import app
from services.settings import Settings, load_settings
from services.topics import apply_topics
from tests.fixtures.kafka import free_port
from tests.integration.ingest_support import create_key, serve

pytestmark = pytest.mark.kafka


def version_doc(**extra: Any) -> dict[str, Any]:
    return {"default": {"preset": "minenergo-186"}, **extra}


@pytest.fixture
def api(tmp_path: Path, kafka_bootstrap: str) -> Iterator[tuple[str, dict[str, str], Settings]]:
    settings = load_settings(data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap,
                             topic_prefix=f"pa{uuid.uuid4().hex[:8]}.", topic_partitions=1,
                             sink_in_api=False, board_feed=False)
    list(apply_topics(settings))
    keys = {"mrsk": create_key(settings, "mrsk", (Scope.ADMIN,)),
            "tgk": create_key(settings, "tgk", (Scope.ADMIN,))}
    with serve(settings) as url:
        yield url, keys, settings


def test_publish_list_show_on_the_broker(api: tuple[str, dict[str, str], Settings]) -> None:
    url, keys, settings = api
    auth = {"Authorization": f"Bearer {keys['mrsk']}"}
    with httpx.Client(base_url=url, headers=auth, timeout=30) as client:
        first = client.put("/v1/admin/policies/mrsk", json=version_doc(comment="v1"))
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["version"] == 1 and body["published_by"] == keys["mrsk"].split("_")[1]
        # a second version a day after the first: relative to the real publish instant
        later = format_timestamp(parse_timestamp(body["effective_from"]) + 86_400_000)
        second = client.put("/v1/admin/policies/mrsk", json=version_doc(
            effective_from=later, comment="v2",
            overrides=[{"region": "77", "preset": "rao-ues-2007"}]))
        assert second.status_code == 201, second.text
        too_soon = client.put("/v1/admin/policies/mrsk", json=version_doc(
            effective_from=body["published_at"]))
        assert too_soon.status_code == 422
        assert "at least 60 s later" in too_soon.json()["detail"]
        listed = client.get("/v1/admin/policies/mrsk").json()
        assert [x["version"] for x in listed["versions"]] == [1, 2]
        assert listed["latest"] == 2 and listed["current"] is None  # v1 is a minute ahead
        shown = client.get("/v1/admin/policies/mrsk/versions/2").json()
        assert shown["document"]["overrides"][0]["name"] == "rao-ues-2007"
        assert client.get("/v1/admin/policies/mrsk/versions/9").status_code == 404
        other = client.get("/v1/admin/policies/mrsk",
                           headers={"Authorization": f"Bearer {keys['tgk']}"})
        assert other.status_code == 403
    records = read_all(settings.kafka_bootstrap, settings.topic("policies"))
    assert [r.key for r in records] == [b"mrsk", b"mrsk"]
    name, datum = decode(records[-1].value or b"")
    assert name == "PolicyVersionPublished" and datum["version"] == 2
    assert [x["comment"] for x in datum["versions"]] == ["v1", "v2"]


def test_a_broker_that_is_down_is_a_503(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, kafka_bootstrap=f"127.0.0.1:{free_port()}",
                             sink_in_api=False, board_feed=False)
    key = create_key(settings, "mrsk", (Scope.ADMIN,))
    with serve(settings) as url:
        r = httpx.put(f"{url}/v1/admin/policies/mrsk", json=version_doc(), timeout=60,
                      headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    assert "policy log is unavailable" in r.json()["detail"]


def test_the_cli_publishes_what_the_api_serves(api: tuple[str, dict[str, str], Settings],
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url, keys, settings = api
    for name, value in (("DATA_DIR", str(settings.data_dir)),
                        ("KAFKA_BOOTSTRAP", settings.kafka_bootstrap),
                        ("TOPIC_PREFIX", settings.topic_prefix)):
        monkeypatch.setenv(f"KONTAKT_{name}", value)
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    if not any(g.name == "policy" for g in app.registered_groups):
        policy_cli.register(app)
    file = tmp_path / "v1.toml"
    file.write_text('comment = "from the CLI"\n[default]\npreset = "rao-ues-2007"\n')
    done = CliRunner().invoke(app, ["policy", "publish", str(file), "--tenant", "mrsk"])
    assert done.exit_code == 0, done.output
    got = httpx.get(f"{url}/v1/admin/policies/mrsk/versions/1", timeout=30,
                    headers={"Authorization": f"Bearer {keys['mrsk']}"}).json()
    assert (got["comment"], got["published_by"]) == ("from the CLI", "cli:alice")
