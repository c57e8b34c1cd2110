"""No Docker engine runs here, so docker-compose.yml is checked against the code instead:
every Kontakt command exists in the CLI, every KONTAKT_ variable is a setting, ports and
addresses agree between services, and start-up order waits on health."""

from __future__ import annotations

import json
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


# --- Monitoring: Prometheus and Grafana (deploy/prometheus, deploy/grafana) ---------------

DEPLOY = ROOT / "deploy"
PROMETHEUS: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
PROVISIONING = DEPLOY / "grafana" / "provisioning"
DATASOURCES: list[dict[str, Any]] = [
    ds
    for path in sorted((PROVISIONING / "datasources").glob("*.yaml"))
    for ds in yaml.safe_load(path.read_text())["datasources"]
]


def _scrape_targets() -> list[tuple[str, str, int]]:
    """(job, host, port) of every scrape target, static or by DNS name."""
    found = []
    for job in PROMETHEUS["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                found.append((job["job_name"], host, int(port)))
        for dns in job.get("dns_sd_configs", []):
            found.extend((job["job_name"], name, int(dns["port"])) for name in dns["names"])
    return found


def _published(service: dict[str, Any]) -> set[int]:
    """Container ports a service listens on as compose declares them (ports: / expose:)."""
    ports = {int(str(p).rsplit(":", 1)[-1]) for p in service.get("ports", [])}
    return ports | {int(p) for p in service.get("expose", [])}


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (or volume name) of a service's volumes."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        out[target] = source
    return out


def test_every_scrape_target_is_a_service_on_its_metrics_port_setting() -> None:
    from services.metrics_names import METRICS_PORT_SETTINGS

    for job, host, port in _scrape_targets():
        if host == "localhost":  # Prometheus scraping itself
            assert job == "prometheus" and port in _published(SERVICES["prometheus"])
            continue
        assert host in SERVICES, f"{job}: {host} is not a compose service"
        assert host in METRICS_PORT_SETTINGS, f"{job}: {host} has no metrics-port setting"
        variable = f"KONTAKT_{METRICS_PORT_SETTINGS[host].upper()}"
        env = SERVICES[host].get("environment", {})
        assert env.get(variable) == str(port), f"{job}: {host} must set {variable}={port}"
        assert port in _published(SERVICES[host]), f"{job}: {host} does not expose {port}"
    scraped = {host for _, host, _ in _scrape_targets()}
    long_lived = {n for n, s in KONTAKT_SERVICES.items() if s.get("restart") != "no"}
    assert long_lived <= scraped, f"not scraped: {sorted(long_lived - scraped)}"


def test_prometheus_and_grafana_mount_the_shipped_files() -> None:
    prometheus = _mounts(SERVICES["prometheus"])
    assert prometheus["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    for rule_file in PROMETHEUS["rule_files"]:
        assert (ROOT / prometheus[rule_file]).is_file(), f"{rule_file} is not mounted"
    grafana = SERVICES["grafana"]
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    mounts = _mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    for path in sorted((PROVISIONING / "dashboards").glob("*.yaml")):
        for provider in yaml.safe_load(path.read_text())["providers"]:
            source = mounts[provider["options"]["path"]]
            assert list((ROOT / source).glob("*.json")), f"{source} holds no dashboard"
    for name in ("prometheus", "grafana"):
        for volume in _mounts(SERVICES[name]).values():
            assert volume.startswith("./") or volume in COMPOSE["volumes"]
            assert not volume.startswith("./") or (ROOT / volume).exists(), volume


def test_every_datasource_address_is_a_compose_service() -> None:
    assert {ds["type"] for ds in DATASOURCES} == {"prometheus", "grafana-clickhouse-datasource"}
    for ds in DATASOURCES:
        if ds["type"] == "prometheus":
            url = urlparse(ds["url"])
            assert url.hostname in SERVICES, ds["url"]
            assert url.port in _published(SERVICES[url.hostname or ""])
        else:
            data, secret = ds["jsonData"], ds["secureJsonData"]
            clickhouse = SERVICES[data["host"]]
            assert data["port"] in _published(clickhouse)
            assert data["protocol"] == "native" and data["port"] == 9000
            env = clickhouse["environment"]
            assert (data["username"], secret["password"], data["defaultDatabase"]) == (
                env["CLICKHOUSE_USER"], env["CLICKHOUSE_PASSWORD"], env["CLICKHOUSE_DB"]
            )


def _datasource_refs(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node["datasource"]] if isinstance(node.get("datasource"), dict) else []
        return own + [ref for value in node.values() for ref in _datasource_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _datasource_refs(value)]
    return []


def test_every_dashboard_datasource_uid_is_provisioned() -> None:
    provisioned = {ds["uid"]: ds["type"] for ds in DATASOURCES}
    boards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    assert {b.stem for b in boards} >= {"operations", "contact-centre"}
    for path in boards:
        board = json.loads(path.read_text())
        refs = _datasource_refs(board)
        assert refs, f"{path.name} names no datasource"
        for ref in refs:
            assert provisioned.get(ref["uid"]) == ref["type"], f"{path.name}: {ref}"


def test_the_notifier_rules_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.alerts.rules import load_rules

    notifier = SERVICES["notifier"]
    mounts = _mounts(notifier)
    rules_path = notifier["environment"]["KONTAKT_NOTIFY_RULES"]
    secret = notifier["environment"]["WEBHOOK_SECRET"]
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    assert load_rules(ROOT / mounts[rules_path]).rules
