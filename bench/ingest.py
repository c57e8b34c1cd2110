"""Ingest API throughput (POST /ingest/events/batch, NDJSON, 10,000 events a request) next to a
raw kafka-python producer sending the same Avro bytes, measured in one run.

1. A broker is started for the run (free ports, temporary directory; stopped at the end).
2. The API (create_app under uvicorn in its own process, real HTTP) takes N events in
   batches: JSON parsing, validation, pseudonymization, Avro encoding, publishing with
   acks=all and waiting for every ack, then the HTTP answer. Timed from the first request
   to the last answer, with 1 and with 2 concurrent clients.
3. Baseline: a raw KafkaProducer (acks=all, idempotent, linger 5 ms -- the publisher's
   settings) sends the very Avro bytes the API produced, then flush(): Kafka's share alone.
4. For reference, the edge work without Kafka or HTTP (prepare + encode) on one thread.

Run: .venv/bin/python bench/ingest.py [N_EVENTS]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaAdminClient, KafkaProducer
from local_broker import free_port, start_broker  # bench/ sibling (sys.path[0])

from schemas.codec import encode_event
from schemas.events import format_timestamp
from services.adapters.kafka_reader import read_all
from services.auth import KeyStore, Scope, TenantType
from services.ingest.pseudonym import Pseudonymizer
from services.ingest.validation import EdgeContext, prepare
from services.settings import Settings, load_settings

BATCH = 10_000
TENANT = "mrsk-center"
BASE_MS = int(time.time() * 1000) - 86_400_000


def make_events(n: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{prefix}-{i}",
            "contact_id": f"{prefix}-c{i // 4}",
            "region": ("tver", "kursk", "belgorod")[i % 3],
            "channel": ("phone", "email", "web", "in_person")[(i // 4) % 4],
            "type": ("received", "queued", "answered", "resolved")[i % 4],
            "occurred_at": format_timestamp(BASE_MS + i),
            "queue": "outage-line",
            "customer": {"phone": f"+7 912 {i % 1000:03d}-{i % 100:02d}-{i % 97:02d}"},
            "attributes": {"ivr": str(i % 5)},
        }
        for i in range(n)
    ]


def create_topic(bootstrap: str, name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            {name: {"num_partitions": 3, "replication_factor": 1}}, wait_for_metadata=True
        )
    finally:
        admin.close()


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def api_process(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """`uvicorn services.api.app:create_app --factory` in its own process (its own GIL, as in
    production), configured through KONTAKT_* variables; lifespan off (no warehouse/sink)."""
    env = {
        **os.environ,
        **{
            f"KONTAKT_{k.upper()}": str(v)
            for k, v in {
                "data_dir": settings.data_dir,
                "kafka_bootstrap": settings.kafka_bootstrap,
                "topic_prefix": "",
                "events_topic": settings.events_topic,
                "pseudonym_key": settings.pseudonym_key,
            }.items()
        },
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "services.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the API process did not start") from None
            time.sleep(0.1)


def run_api(settings: Settings, key: str, events: list[dict[str, Any]], clients: int) -> float:
    """Seconds to post all events as NDJSON batches from ``clients`` threads."""
    port = free_port()
    proc = api_process(settings, port)
    bodies = [
        b"\n".join(orjson.dumps(e) for e in events[i : i + BATCH])
        for i in range(0, len(events), BATCH)
    ]

    def client(mine: list[bytes]) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=120,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
        ) as http:
            for body in mine:
                response = http.post("/ingest/events/batch", content=body)
                assert response.status_code == 200, response.text

    def all_clients() -> None:
        threads = [
            threading.Thread(target=client, args=(bodies[c::clients],)) for c in range(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    try:
        # warm-up: producer connection and topic metadata, not timed
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            warm = orjson.dumps(make_events(1, f"warm{clients}")[0])
            http.post("/ingest/events", content=warm, headers={"Authorization": f"Bearer {key}"})
        return timed(all_clients)
    finally:
        proc.terminate()
        proc.wait(30)


def run_raw(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    producer.send(topic, key=b"warm", value=values[0][1]).get(timeout=30)

    def send() -> None:
        for key, value in values:
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=120)

    try:
        return timed(send)
    finally:
        producer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=50_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kontakt-bench-ingest-"))
    broker = start_broker(tmp)
    base = broker.settings
    rows: list[tuple[str, float]] = []
    try:
        _, key = KeyStore(tmp / "keys.json").create(
            TENANT, [Scope.INGEST], tenant_type=TenantType.GRID, now_ms=1
        )
        for clients in (1, 2):
            topic = f"bench.ingest{clients}"
            create_topic(broker.bootstrap, topic)
            settings = load_settings(
                **{
                    **base.model_dump(),
                    "topic_prefix": "",
                    "events_topic": topic,
                    "pseudonym_key": "bench-key-0123456789",
                }
            )
            events = make_events(args.n, f"c{clients}")
            seconds = run_api(settings, key, events, clients)
            rows.append((f"ingest API, batch endpoint, {clients} client(s)", args.n / seconds))
        produced = [
            (r.key or b"", r.value or b"")
            for r in read_all(broker.bootstrap, "bench.ingest1", timeout_s=120)
        ]
        assert len(produced) == args.n + 1, len(produced)  # + the warm-up event
        create_topic(broker.bootstrap, "bench.raw")
        raw = run_raw(broker.bootstrap, "bench.raw", produced)
        rows.append(("baseline: raw kafka-python producer, same Avro bytes", len(produced) / raw))
        ctx = EdgeContext(TENANT, BASE_MS + 86_400_000, 300_000, Pseudonymizer(b"k" * 32))
        events = make_events(args.n, "cpu")
        edge = timed(lambda: [encode_event(e) for _, e in prepare(events, ctx).events])
        rows.append(("reference: edge work only (validate+pseudonymize+encode)", args.n / edge))
    finally:
        broker.stop()
    print(f"\n{args.n:,} contact events, NDJSON batches of {BATCH:,}, 3 partitions, acks=all")
    print(f"{'method':<58} {'events/s':>10} {'vs raw':>8}")
    raw_rate = rows[2][1]
    for label, rate in rows:
        print(f"{label:<58} {rate:>10,.0f} {rate / raw_rate:>8.2f}")
    print(
        "RESULT "
        + orjson.dumps(
            {  # one machine-readable line for bench/run_all.py
                "bench": "ingest",
                "events": args.n,
                "api_1_events_per_s": round(rows[0][1]),
                "api_2_events_per_s": round(rows[1][1]),
                "raw_producer_events_per_s": round(raw_rate),
                "edge_only_events_per_s": round(rows[3][1]),
            }
        ).decode()
    )


if __name__ == "__main__":
    main()
