"""The framework baseline of bench/worker.py: a faust agent with the worker's App options and
batching (``take_events``) that does nothing with its events but let faust commit them.

Whatever the worker spends beyond this is the SLA work (decode, fold, clocks, table, sends);
what this spends beyond a plain aiokafka loop is faust's per-message machinery.

Run by bench/worker.py as ``python bench/bare_agent.py worker -l warn`` with the worker's
KONTAKT_* environment (broker, topic prefix, app id).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import faust

from services.settings import load_settings
from streams.agents import BATCH_MAX, BATCH_WITHIN_S
from streams.app import app_options
from streams.transport import use_read_committed


def build() -> faust.App:
    settings = load_settings()
    app = faust.App(settings.worker_app_id, **app_options(
        settings, store="memory://", datadir=Path(settings.data_dir).absolute() / "bare"))
    use_read_committed(app)  # the worker's transport too
    topic = app.topic(settings.topic(settings.events_topic), key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    @app.agent(topic, name="bare", concurrency=1)
    async def bare(stream: Any) -> AsyncIterator[None]:
        async for _events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            yield None

    return app


if __name__ == "__main__":
    build().main()
