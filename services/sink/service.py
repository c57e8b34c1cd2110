"""Running the sink: from settings to a Sink, in the foreground (`kontakt sink`) or in a
background thread of the API process (embedded chdb: one process owns the warehouse)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from services.ports import Warehouse
from services.settings import Settings
from services.sink.batch import BatchLimits
from services.sink.runner import Sink, SinkConfig

log = logging.getLogger(__name__)


def sink_config(settings: Settings) -> SinkConfig:
    topics = [settings.topic(t.strip()) for t in settings.sink_topics.split(",") if t.strip()]
    return SinkConfig(
        bootstrap=settings.kafka_bootstrap,
        topics=topics,
        group_id=settings.sink_group,
        limits=BatchLimits(settings.sink_batch_rows, settings.sink_batch_seconds),
        contacts=settings.sink_contacts,
        contacts_interval_s=settings.sink_contacts_seconds,
        contacts_recover_s=settings.sink_contacts_recover_hours * 3600,
    )


def is_embedded(settings: Settings) -> bool:
    return urlsplit(settings.warehouse_url).scheme == "chdb"


def run_forever(
    sink: Sink,
    stop: threading.Event,
    on_error: Callable[[BaseException], None] | None = None,
    pause_s: float = 2.0,
) -> None:
    """Run the sink until ``stop``; after an error (broker or ClickHouse unavailable, a
    refused batch) start again from the last committed offsets after a pause."""
    while not stop.is_set():
        try:
            sink.run(stop)
        except Exception as exc:
            if on_error is not None:
                on_error(exc)
            log.exception("sink: stopped by an error; starting again in %.0f s", pause_s)
            stop.wait(pause_s)


class SinkThread:
    """A Sink on a daemon thread; :meth:`stop` flushes, commits and joins."""

    def __init__(self, warehouse: Warehouse, config: SinkConfig) -> None:
        self.sink = Sink(warehouse, config)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kontakt-sink", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        run_forever(self.sink, self._stop, self._on_error)

    def _on_error(self, exc: BaseException) -> None:
        self.error = exc

    def start(self) -> SinkThread:
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
