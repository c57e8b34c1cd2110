"""services.local.kafka.LocalBroker and services.topics against the real broker.

Start/stop must leave no process behind; every user-fixable problem must come out as ONE line
(services.errors.UserError); `topics apply` must be idempotent and create what is declared.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.errors import UserError
from services.local.kafka import LocalBroker
from services.topics import apply_topics, load_topics
from tests.fixtures.kafka import broker_settings, ensure_jars, start_broker

pytestmark = pytest.mark.kafka


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text.strip() == text and text
    return text


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_start_then_stop_leaves_no_process_and_logs_through_log4j(tmp_path: Path) -> None:
    settings = broker_settings(tmp_path)
    broker = start_broker(settings, "lifecycle test broker (format + start)")
    try:
        status = broker.status()
        assert status.running and status.pid is not None
        assert broker.is_running() and _listening(settings.kafka_port)
        assert Path(f"/proc/{status.pid}").exists()
        LocalBroker(settings).start()  # a second start of a running broker is a no-op
        assert broker.status().pid == status.pid
    finally:
        broker.stop()
    assert not broker.is_running()
    assert not Path(f"/proc/{status.pid}").exists()
    assert not broker.pid_path.exists()
    assert not _listening(settings.kafka_port)
    assert not _listening(settings.kafka_controller_port)
    log = broker.log_path.read_text()  # the slf4j->log4j2 binding works: the broker logs
    assert "Kafka Server started" in log and "shut down completed" in log
    broker.stop()  # stopping a stopped broker is a no-op


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = LocalBroker(broker_settings(tmp_path, kafka_port=port))
        with pytest.raises(UserError) as caught:
            broker.start(timeout_s=10)
    message = _one_line(caught.value)
    assert f"port {port}" in message and "KONTAKT_KAFKA_PORT" in message
    assert not broker.is_running()


def test_controller_port_in_use_names_its_setting(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = LocalBroker(broker_settings(tmp_path, kafka_controller_port=port))
        with pytest.raises(UserError) as caught:
            broker.start(timeout_s=10)
    assert "KONTAKT_KAFKA_CONTROLLER_PORT" in _one_line(caught.value)


def test_missing_java_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no java on PATH
    with pytest.raises(UserError) as caught:
        LocalBroker(broker_settings(tmp_path / "data")).start(timeout_s=10)
    assert "'java' not found" in _one_line(caught.value)


def test_unwritable_data_dir_is_one_clear_line_from_the_cli(tmp_path: Path) -> None:
    """Through `kontakt kafka start`: exit code 2 and one line on stderr, no traceback.

    Root ignores permissions, so as root the command runs without CAP_DAC_OVERRIDE."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    settings = broker_settings(locked)
    env = {
        **os.environ,
        "KONTAKT_DATA_DIR": str(locked),
        "KONTAKT_KAFKA_PORT": str(settings.kafka_port),
        "KONTAKT_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
    }
    cmd = [sys.executable, "-m", "services.cli.main", "kafka", "start"]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's DAC override"
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    finally:
        locked.chmod(0o700)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(locked) in lines[0] and "not writable" in lines[0]
    assert "KONTAKT_DATA_DIR" in lines[0]


def test_broker_that_dies_at_start_points_at_its_log(tmp_path: Path) -> None:
    settings = broker_settings(tmp_path, kafka_heap="1k")  # the JVM refuses this heap
    ensure_jars(settings)
    broker = LocalBroker(settings)
    with pytest.raises(UserError) as caught:
        broker.start(timeout_s=30)
    message = _one_line(caught.value)
    assert "exited while starting" in message and "heap" in message.lower()
    assert str(broker.jvm_out_path) in message
    assert not broker.is_running()


def _topic_configs(admin: Any, name: str) -> dict[str, str]:
    from kafka.admin import ConfigResource, ConfigResourceType

    resource = ConfigResource(ConfigResourceType.TOPIC, name)
    described = admin.describe_configs([resource], config_filter="all")["topic"][name]
    return {key: str(entry["value"]) for key, entry in described.items()}


def test_topics_apply_creates_the_declared_topics_and_is_idempotent(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    from kafka import KafkaAdminClient

    settings = broker_settings(
        tmp_path,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:6]}.",
        topic_partitions=3,
    )
    specs = load_topics(settings)
    names = {spec.name for spec in specs}
    assert {"contact-events", "alerts", "metrics", "dead-letters", "acknowledgements"} <= names

    first = apply_topics(settings)
    assert [o.status for o in first] == ["created"] * len(specs)
    second = apply_topics(settings)
    assert [o.status for o in second] == ["exists"] * len(specs)
    assert all(o.differences == () for o in second)

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics([o.topic for o in first])}
        for spec in specs:
            full = settings.topic(spec.name)
            assert len(described[full]["partitions"]) == spec.partitions
            configs = _topic_configs(admin, full)
            assert configs["cleanup.policy"] == spec.cleanup_policy
            assert configs["retention.ms"] == str(spec.retention_ms)
    finally:
        admin.close()
    contact_events = next(s for s in specs if s.name == "contact-events")
    assert contact_events.partitions == 3  # from settings.topic_partitions


def test_topics_apply_reports_but_never_alters_a_differing_topic(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    from kafka import KafkaAdminClient

    settings = broker_settings(
        tmp_path, kafka_bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:6]}."
    )
    alerts = settings.topic("alerts")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics(
            {alerts: {"num_partitions": 2, "replication_factor": 1}}, wait_for_metadata=True
        )
        outcome = {o.topic: o for o in apply_topics(settings)}[alerts]
        assert outcome.status == "exists" and outcome.partitions == 2
        assert any("partitions 2" in d for d in outcome.differences)
        assert "differs from deploy/topics.toml" in str(outcome)
        assert len(admin.describe_topics([alerts])[0]["partitions"]) == 2
    finally:
        admin.close()


def test_topics_apply_without_a_broker_is_one_clear_line(tmp_path: Path) -> None:
    settings = broker_settings(tmp_path)  # nothing listens on its port
    with pytest.raises(UserError) as caught:
        apply_topics(settings, timeout_s=2)
    assert "kontakt kafka start" in _one_line(caught.value)


def test_data_survives_a_restart_on_other_ports(tmp_path: Path) -> None:
    """`format --standalone` records the controller endpoint, yet ports are settings: after a
    restart on new ports the node must still lead its quorum, keep its data and create topics."""
    from kafka import KafkaAdminClient

    from services.adapters.kafka_publisher import KafkaPublisher
    from services.adapters.kafka_reader import read_all

    first = start_broker(broker_settings(tmp_path), "port-change test broker (format + start)")
    try:
        admin = KafkaAdminClient(bootstrap_servers=first.bootstrap)
        admin.create_topics({"kept": {"num_partitions": 1, "replication_factor": 1}})
        admin.close()
        publisher = KafkaPublisher(first.bootstrap)
        publisher.publish("kept", [(b"k", b"v")])
        publisher.close()
    finally:
        first.stop()

    second = start_broker(broker_settings(tmp_path), "port-change test broker (restart)")
    try:
        assert second.bootstrap != first.bootstrap
        assert [r.value for r in read_all(second.bootstrap, "kept")] == [b"v"]
        admin = KafkaAdminClient(bootstrap_servers=second.bootstrap)
        admin.create_topics(
            {"new": {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True
        )
        admin.close()
    finally:
        second.stop()
