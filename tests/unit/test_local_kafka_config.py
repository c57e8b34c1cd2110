"""The local broker's generated files and helpers, without starting a JVM."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from services.local.jvm_cds import archive_path, cds_options, finish_dump
from services.local.kafka import _last_line
from services.local.kafka_config import (
    KAFKA_VERSION,
    log4j2_xml,
    random_cluster_id,
    server_properties,
)

ROOT = Path(__file__).resolve().parents[2]


def _props(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")
    return {key: value for key, value in pairs}


def test_kafka_version_matches_the_pom() -> None:
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    assert re.search(r"<kafka.version>(.*)</kafka.version>", pom)[1] == KAFKA_VERSION  # type: ignore[index]


def test_server_properties_make_one_combined_node_on_loopback() -> None:
    props = _props(server_properties(broker_port=1111, controller_port=2222, log_dirs=Path("/d")))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:2222"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:1111,CONTROLLER://127.0.0.1:2222"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == "/d"
    for internal in ("offsets.topic", "transaction.state.log", "share.coordinator.state.topic"):
        assert props[f"{internal}.replication.factor"] == "1", internal
    for internal in ("transaction.state.log", "share.coordinator.state.topic"):
        assert props[f"{internal}.min.isr"] == "1", internal
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"


def test_log4j_config_is_xml_with_the_log_file_even_for_odd_paths() -> None:
    path = Path('/tmp/a&b "c"/server.log')
    root = ET.fromstring(log4j2_xml(path))
    rolling = root.find("./Appenders/RollingFile")
    assert rolling is not None and rolling.get("fileName") == str(path)
    assert root.get("shutdownHook") == "disable"  # else the shutdown lines are lost


def test_cluster_ids_look_like_kafka_uuids() -> None:
    ids = {random_cluster_id() for _ in range(3000)}
    assert len(ids) == 3000
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_last_line_quotes_the_jvm_reason_after_its_error_line() -> None:
    out = "noise\nError occurred during initialization of VM\nToo small maximum heap\n"
    assert _last_line(out, prefer=("Error",)) == (
        "Error occurred during initialization of VM: Too small maximum heap"
    )
    assert _last_line("just info\n", prefer=("ERROR",)) == ""


def test_cds_archive_is_keyed_by_jars_and_options(tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "a.jar").write_bytes(b"x")
    first = archive_path("/usr/bin/java", libs, ["-XX:+UseSerialGC"])
    assert first == archive_path("/usr/bin/java", libs, ["-XX:+UseSerialGC"])
    assert first != archive_path("/usr/bin/java", libs, [])
    (libs / "b.jar").write_bytes(b"y")
    assert first != archive_path("/usr/bin/java", libs, ["-XX:+UseSerialGC"])


def test_cds_dump_is_moved_into_place_only_after_a_clean_exit(tmp_path: Path) -> None:
    archive, pending = tmp_path / "broker.jsa", tmp_path / "pending"
    assert cds_options(archive, pending, dump=False) == []
    (option,) = cds_options(archive, pending, dump=True)
    temporary = Path(option.split("=", 1)[1])
    temporary.write_bytes(b"partial")
    finish_dump(pending, clean_exit=False)
    assert not temporary.exists() and not archive.exists() and not pending.exists()

    (option,) = cds_options(archive, pending, dump=True)
    Path(option.split("=", 1)[1]).write_bytes(b"complete")
    finish_dump(pending, clean_exit=True)
    assert archive.read_bytes() == b"complete"
    assert cds_options(archive, pending, dump=True) == [f"-XX:SharedArchiveFile={archive}"]
