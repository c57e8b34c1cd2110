"""A broker for one benchmark run: services.local.kafka on free ports in a temp dir (a helper
the bench scripts import, not a benchmark)."""

from __future__ import annotations

import socket
from pathlib import Path

from services.local.kafka import LocalBroker
from services.settings import load_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_broker(data_dir: Path, timeout_s: float = 120) -> LocalBroker:
    """Format and start a one-node broker under ``data_dir`` (512 MB heap); stop() it after."""
    port = free_port()
    settings = load_settings(data_dir=data_dir, kafka_port=port,
                             kafka_controller_port=free_port(),
                             kafka_bootstrap=f"127.0.0.1:{port}", kafka_heap="512m")
    broker = LocalBroker(settings)
    broker.start(timeout_s=timeout_s)
    return broker
