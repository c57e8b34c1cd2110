"""No Docker engine runs here, so docker-compose.yml is checked against the code instead:
every Kontakt command exists in the CLI, every KONTAKT_ variable is a setting, ports and
addresses agree between services, and start-up order waits on health."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import typer
import yaml

from services.cli import main as cli_main
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
KONTAKT_SERVICES = {n: s for n, s in SERVICES.items() if s.get("image") == "kontakt:latest"}


def _cli() -> Any:
    cli_main._register()
    return typer.main.get_command(cli_main.app)


def _is_group(command: Any) -> bool:
    # typer >= 0.29 ships its own copy of click, so test the shape, not the class.
    return isinstance(getattr(command, "commands", None), dict)


def _resolve(group: Any, argv: list[str]) -> Any:
    command = group
    for word in argv:
        if word.startswith("-") or not _is_group(command):
            break
        sub = command.commands.get(word)
        assert sub is not None, f"`kontakt {' '.join(argv)}`: no subcommand {word!r}"
        command = sub
    return command


def test_every_kontakt_service_runs_a_real_cli_command() -> None:
    group = _cli()
    assert {"migrate", "worker", "sink", "api"} <= set(KONTAKT_SERVICES)
    for name, service in KONTAKT_SERVICES.items():
        command = _resolve(group, list(service["command"]))
        assert not _is_group(command), f"{name}: command is a group, not a command"


@pytest.mark.parametrize("name", sorted(KONTAKT_SERVICES))
def test_environment_variables_are_known_settings(name: str) -> None:
    fields = {f"KONTAKT_{field.upper()}" for field in Settings.model_fields}
    env = KONTAKT_SERVICES[name].get("environment", {})
    unknown = {key for key in env if key.startswith("KONTAKT_")} - fields
    assert not unknown, f"{name}: {sorted(unknown)} are not settings in services/settings.py"
    # Each value must also validate as that setting's type.
    values = {key[len("KONTAKT_"):].lower(): value for key, value in env.items()}
    Settings(**values)


def test_addresses_point_at_the_services_that_serve_them() -> None:
    env = KONTAKT_SERVICES["worker"]["environment"]
    host, port = env["KONTAKT_KAFKA_BOOTSTRAP"].split(":")
    kafka_env = SERVICES[host]["environment"]
    assert f"PLAINTEXT://{host}:{port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert f":{port}" in kafka_env["KAFKA_LISTENERS"]
    url = urlparse(env["KONTAKT_CLICKHOUSE_URL"])
    clickhouse = SERVICES[url.hostname or ""]
    assert any(str(p).endswith(f":{url.port}") for p in clickhouse["ports"])
    assert clickhouse["environment"]["CLICKHOUSE_USER"] == url.username
    assert clickhouse["environment"]["CLICKHOUSE_PASSWORD"] == url.password
    assert clickhouse["environment"]["CLICKHOUSE_DB"] == url.path.lstrip("/")


def test_api_port_agrees_with_its_mapping_and_healthcheck() -> None:
    api = SERVICES["api"]
    port = api["environment"]["KONTAKT_API_PORT"]
    assert f"{port}:{port}" in api["ports"]
    assert f":{port}/health" in " ".join(api["healthcheck"]["test"])


def test_the_api_reads_the_worker_reports_where_the_workers_write_them() -> None:
    """/health's worker component reads services.readiness.status_dir(data_dir): in compose the
    worker and the API are separate containers, so that directory must be one shared volume."""
    from services.readiness import status_dir

    mounts = []
    for name in ("worker", "api"):
        service = SERVICES[name]
        target = str(status_dir(Path(service["environment"]["KONTAKT_DATA_DIR"])))
        found = [v.split(":")[0] for v in service.get("volumes", []) if v.split(":")[1] == target]
        assert found, f"{name}: no volume on {target}"
        mounts.append(found[0])
    assert mounts[0] == mounts[1] and mounts[0] in COMPOSE["volumes"]


def test_kafka_is_a_4x_kraft_image() -> None:
    image = SERVICES["kafka"]["image"]
    assert image.startswith("apache/kafka:4.")
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_dependencies_wait_for_health_or_completion() -> None:
    for name, service in SERVICES.items():
        for dep, rule in (service.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on unknown service {dep}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{dep} has no healthcheck"
            else:
                assert condition == "service_completed_successfully"
                assert SERVICES[dep].get("restart") == "no", f"{dep} must be one-shot"


def test_dockerfile_copies_what_the_package_needs() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for path in ("schemas", "streams", "services", "pyproject.toml", "deploy/topics.toml"):
        assert f"COPY {path}" in dockerfile
        assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which does not exist"
    assert 'ENTRYPOINT ["kontakt"]' in dockerfile
