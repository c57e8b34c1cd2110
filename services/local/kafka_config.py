"""Pure text builders for the local broker's files: server.properties and the log4j2 config.

Kept apart from services.local.kafka (which runs processes) so the broker's configuration can be
read and unit-tested without starting a JVM.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

KAFKA_VERSION = "4.1.1"
"""Must match <kafka.version> in deploy/kafka/pom.xml (a unit test keeps the two in step)."""

NODE_ID = 1


def server_properties(
    *, broker_port: int, controller_port: int, log_dirs: Path, host: str = "127.0.0.1"
) -> str:
    """A single combined broker+controller (KRaft) that only listens on loopback.

    Internal topics get replication factor 1 and min ISR 1 (there is one node) and few
    partitions: 50 partitions of __consumer_offsets cost seconds at the first consumer group and
    buy nothing on one broker. Topics are never created implicitly: deploy/topics.toml is the one
    place that declares them (`kontakt topics apply`), so a typo cannot create a stray topic.
    """
    props = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.bootstrap.servers": f"{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{broker_port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{broker_port},"
        f"CONTROLLER://{host}:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dirs),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "3",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "share.coordinator.state.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        # The cleaner's dedupe buffer is allocated on the heap up front (128 MB by default),
        # which is most of a small test heap; 16 MB still dedupes ~650k keys per pass.
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        "num.network.threads": "2",
        "num.io.threads": "4",
    }
    lines = ["# Written by services/local/kafka.py at every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def log4j2_xml(log_file: Path) -> str:
    """Everything the broker logs goes to one rolling file (10 MB x 5), nothing to the console."""
    pattern = str(log_file.with_name(log_file.stem + "-%i" + log_file.suffix))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn" shutdownHook="disable">
  <Appenders>
    <RollingFile name="file" fileName={quoteattr(str(log_file))} filePattern={quoteattr(pattern)}>
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="10 MB"/></Policies>
      <DefaultRolloverStrategy max="5"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="warn"/>
    <Logger name="state.change.logger" level="warn"/>
    <Root level="info"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


def random_cluster_id() -> str:
    """A Kafka cluster id, generated as `kafka.tools.StorageTool random-uuid` does.

    Kafka's Uuid is 16 random bytes in URL-safe base64 without padding; it avoids the
    reserved all-zero and metadata-topic ids and any id starting with '-' (which a command
    line would take for an option). Doing it here saves a JVM start (~0.7 s) per format.
    """
    reserved = {bytes(16), bytes(15) + b"\x01"}
    while True:
        raw = os.urandom(16)
        text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        if raw not in reserved and not text.startswith("-"):
            return text


def jvm_command(
    *,
    java: str,
    heap: str,
    libs: Path,
    log4j_config: Path,
    log_dir: Path,
    main: list[str],
    options: Sequence[str] = (),
) -> list[str]:
    """The java command line for a Kafka main class, as kafka-run-class.sh builds it."""
    return [
        java,
        f"-Xmx{heap}",
        *options,
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={log_dir}",
        f"-Dlog4j2.configurationFile={log4j_config}",
        "-cp",
        f"{libs}/*",
        *main,
    ]
