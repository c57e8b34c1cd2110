"""The framework baseline of bench/worker.py: a faust agent with the worker's App options and
batching (``take_events``) that does nothing with its events but let faust commit them.

Whatever the worker spends beyond this is the SLA work (decode, fold, clocks, table, sends);
what this spends beyond a plain aiokafka loop is faust's per-message machinery.

Run by bench/worker.py as ``python bench/bare_agent.py worker -l warn`` with the worker's
KONTAKT_* environment (broker, topic prefix, app id). bench/faust_levers.py also sets
``KONTAKT_BENCH_FAUST``, a JSON object: ``options`` (faust App settings laid over the worker's)
and ``quiet_monitor`` (the Monitor sensor's per-message hooks do nothing); the event loop is
faust's own ``--loop`` option.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import faust
from faust.sensors.monitor import Monitor

from services.settings import load_settings
from streams.agents import BATCH_MAX, BATCH_WITHIN_S
from streams.app import app_options
from streams.transport import use_read_committed


class QuietMonitor(Monitor):
    """faust's default sensor without its per-message and per-send bookkeeping (the lever
    "the Monitor sensor": what faust's statistics cost per event)."""

    def on_message_in(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_stream_event_in(self, *args: Any, **kwargs: Any) -> None:
        return None

    def on_stream_event_out(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_message_out(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_send_initiated(self, *args: Any, **kwargs: Any) -> None:
        return None

    def on_send_completed(self, *args: Any, **kwargs: Any) -> None:
        pass

    def track_tp_end_offset(self, *args: Any, **kwargs: Any) -> None:
        pass


def build() -> faust.App:
    settings = load_settings()
    lever = json.loads(os.environ.get("KONTAKT_BENCH_FAUST") or "{}")
    options = app_options(settings, store="memory://",
                          datadir=Path(settings.data_dir).absolute() / "bare")
    options.update(lever.get("options", {}))
    if lever.get("quiet_monitor"):
        options["Monitor"] = QuietMonitor
    app = faust.App(settings.worker_app_id, **options)
    use_read_committed(app, settings.worker_fetch_max_wait_ms)  # the worker's transport too
    topic = app.topic(settings.topic(settings.events_topic), key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    @app.agent(topic, name="bare", concurrency=1)
    async def bare(stream: Any) -> AsyncIterator[None]:
        async for _events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            yield None

    return app


if __name__ == "__main__":
    build().main()
