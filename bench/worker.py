"""Throughput and breach latency of `kontakt worker`, next to a raw aiokafka baseline.

One run:
1. a broker (the local one of services.local.kafka on free ports in a temp dir, or --bootstrap),
   topics under a fresh prefix;
2. N phone events (queued/answered pairs, some abandoned) produced to contact-events;
3. baseline: a plain aiokafka consume-and-decode loop (decode_event) over that topic;
4. framework baseline: a faust agent with the worker's App options and batching that does
   nothing (bench/bare_agent.py), events/s from its committed offsets -- the ceiling faust
   itself puts on any worker here;
5. the worker (``--processes`` `kontakt worker` subprocesses in one consumer group, RocksDB
   store) over the same topic: events/s from the group's committed offsets, and the CPU time
   the worker processes spent per event;
6. latency: a sustained RATE events/s for DURATION s with some calls never answered; the lag
   between each such call's deadline and its SlaBreached on the alerts topic (broker append
   time), p50/p99.

Run: .venv/bin/python bench/worker.py [--events 50000] [--rate 2000] [--duration 60]
                                     [--processes 1] [--compare-judgement]
                                     [--compare-metrics [--metrics-rounds 2]]
     .venv/bin/python bench/worker.py --appeals [--events 50000]
``--appeals``: the cost of live appeals instead (docs/appeals.md): calls of customers with
about three contacts each; the worker's events/s with KONTAKT_WORKER_APPEALS off, then on
(then also until the appeal-events agent has committed every re-keyed event); no latency phase.
--compare-metrics: the throughput of fresh workers with their Prometheus metrics off and on
(scraped every second), alternating; the goal is on / off >= 0.97.
Goals (issue): worker >= 10,000 events/s, ratio >= 0.35, breach p99 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from local_broker import start_broker  # bench/ sibling (sys.path[0])

from schemas.codec import decode, decode_event, encode_event
from schemas.events import Channel, ContactEvent, EventType
from services.settings import Settings, load_settings

KONTAKT = Path(sys.executable).parent / "kontakt"
DEADLINE_MS = 40_000


def call_events(n_contacts: int, start_ms: int, spacing_ms: int, seed: int = 1,
                unanswered: float = 0.0, prefix: str = "c",
                customers: int = 0) -> list[ContactEvent]:
    """Two events per call (queued, then answered or abandoned), or one when unanswered.
    ``customers`` > 0: each call names one of that many customers (and one of two topics)."""
    rng = random.Random(seed)
    out = []
    for i in range(n_contacts):
        cid = f"{prefix}{i}"
        t = start_ms + i * spacing_ms
        who: dict[str, Any] = {}
        if customers:
            who = {"customer_ref": f"cust{rng.randrange(customers)}",
                   "topic": rng.choice(("outage", "meter"))}
        out.append(ContactEvent(f"{cid}-q", cid, "bench", "tver", Channel.PHONE,
                                EventType.QUEUED, t, **who))
        if rng.random() >= unanswered:
            end = EventType.ANSWERED if rng.random() < 0.85 else EventType.ABANDONED
            out.append(ContactEvent(f"{cid}-e", cid, "bench", "tver", Channel.PHONE, end,
                                    t + rng.randint(1_000, 60_000), **who))
    return out


async def produce(bootstrap: str, topic: str, events: list[ContactEvent]) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20,
                                max_batch_size=256 * 1024, acks=1)
    await producer.start()
    began = time.perf_counter()
    try:
        batch = []
        for e in events:
            batch.append(await producer.send(topic, encode_event(e), key=e.contact_id.encode()))
        await producer.flush()
        await asyncio.gather(*batch)
    finally:
        await producer.stop()
    return len(events) / (time.perf_counter() - began)


async def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    """The baseline: consume and decode every event, nothing else (events/s)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen, began = 0, 0.0
    try:
        while seen < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batches.values():
                if not began:
                    began = time.perf_counter()
                for record in records:
                    decode_event(record.value)
                seen += len(records)
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - began)


def committed(admin: Any, group: str, topic: str) -> int:
    from kafka.errors import KafkaError

    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    except KafkaError:  # the group has no coordinator yet: nothing committed
        return 0
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


def committed_once(bootstrap: str, group: str, topic: str) -> int:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return committed(admin, group, topic)
    finally:
        admin.close()


def end_offsets(bootstrap: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def worker_throughput(bootstrap: str, group: str, topic: str, n: int, timeout_s: float,
                      procs: list[subprocess.Popen[bytes]]) -> tuple[float, float]:
    """events/s between the first and the last committed-offset progress of the group, and
    the CPU seconds per event ``procs`` spent in between."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    first: tuple[float, int, float] | None = None
    deadline = time.monotonic() + timeout_s
    done = 0
    try:
        while time.monotonic() < deadline:
            done = committed(admin, group, topic)
            dead = [p.args for p in procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited before the group committed {n} events "
                                   "(see its log in the bench's temp dir)")
            now, cpu = time.monotonic(), cpu_seconds([p.pid for p in procs])
            if done and first is None:
                first = (now, done, cpu)
            if done >= n and first is not None:
                events = max(done - first[1], 1)
                return events / max(now - first[0], 1e-9), (cpu - first[2]) / events
            time.sleep(0.25)
    finally:
        admin.close()
    raise TimeoutError(f"group {group} committed {done} of {n} events in {timeout_s:.0f} s")


async def sustained(bootstrap: str, topic: str, rate: int, duration_s: int) -> set[str]:
    """Produce `rate` events/s of live calls; 10% of the calls in the first (duration-45) s
    are never answered. Returns those contact ids."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    await producer.start()
    rng = random.Random(3)
    unanswered: set[str] = set()
    pending: list[tuple[int, str, ContactEvent]] = []  # a heap of (due, event_id, answer)
    began = time.time()
    tick, sent, n = 0.05, 0, 0
    try:
        while time.time() - began < duration_s:
            now = int(time.time() * 1000)
            due = int((time.time() - began) * rate)
            while sent < due:
                cid = f"live{n}"
                n += 1
                ev = ContactEvent(f"{cid}-q", cid, "bench", "kursk", Channel.PHONE,
                                  EventType.QUEUED, now)
                await producer.send(topic, encode_event(ev), key=cid.encode())
                sent += 1
                if time.time() - began < duration_s - 45 and rng.random() < 0.1:
                    unanswered.add(cid)
                else:
                    at = now + rng.randint(1_000, 20_000)
                    end = ContactEvent(f"{cid}-a", cid, "bench", "kursk", Channel.PHONE,
                                       EventType.ANSWERED, at)
                    heapq.heappush(pending, (at, end.event_id, end))
            while pending and pending[0][0] <= now:  # a heap: the generator's own CPU stays
                _, _, ev = heapq.heappop(pending)  # small beside the workers it shares cores with
                await producer.send(topic, encode_event(ev), key=ev.contact_id.encode())
                sent += 1
            await asyncio.sleep(tick)
        await producer.flush()
    finally:
        await producer.stop()
    return unanswered


def breach_latencies(bootstrap: str, alerts_topic: str, contacts: set[str]) -> list[float]:
    from services.adapters.kafka_reader import read_all

    out = []
    for record in read_all(bootstrap, alerts_topic, timeout_s=60):
        name, alert = decode(record.value or b"")
        if name == "SlaAlertRaised" and alert["alert"] == "breached" \
                and alert["contact_id"] in contacts:
            out.append((record.timestamp_ms - alert["due_at"]) / 1000)
    return sorted(out)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def worker_env(settings: Settings, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "KONTAKT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "KONTAKT_TOPIC_PREFIX": settings.topic_prefix,
            "KONTAKT_WORKER_APP_ID": settings.worker_app_id, "KONTAKT_DATA_DIR": str(data_dir),
            "KONTAKT_WORKER_APPEALS": str(settings.worker_appeals).lower()}


def start_worker(settings: Settings, tmp: Path, index: int = 0,
                 extra_env: dict[str, str] | None = None,
                 kontakt: Path = KONTAKT) -> subprocess.Popen[bytes]:
    """One `kontakt worker`; several share the app id (one consumer group, partitions split
    between them), each with its own data dir as each replica has its own volume. ``kontakt``:
    another checkout's (bench/faust_levers.py --compare-checkout)."""
    data_dir = tmp / f"worker{index}"
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (tmp / f"worker{index}.log").open("wb")
    return subprocess.Popen([str(kontakt), "worker", "--loglevel", "info",
                             "--no-create-topics"],
                            env={**worker_env(settings, data_dir), **(extra_env or {})},
                            stdout=log, stderr=log)


def latency_phase(bootstrap: str, tmp: Path, judge_by_log: str,
                  args: argparse.Namespace) -> tuple[list[float], int]:
    """The sustained phase alone, on topics and a worker of its own (no backlog, no table to
    recover), with KONTAKT_WORKER_JUDGE_BY_LOG=``judge_by_log``: breach latencies, lag at end."""
    from services.topics import apply_topics

    suffix = uuid.uuid4().hex[:8]
    settings = load_settings(kafka_bootstrap=bootstrap, topic_prefix=f"bench{suffix}.",
                             worker_app_id=f"bench-worker-{suffix}")
    list(apply_topics(settings))
    topic = settings.topic(settings.events_topic)
    workers = [start_worker(settings, tmp / suffix, i, {"KONTAKT_WORKER_JUDGE_BY_LOG":
                                                        judge_by_log})
               for i in range(args.processes)]
    try:
        warm = call_events(1, int(time.time() * 1000), 0, prefix="warm")
        asyncio.run(produce(bootstrap, topic, warm))
        worker_throughput(bootstrap, settings.worker_app_id, topic, len(warm), timeout_s=120,
                          procs=workers)  # joined, recovered, consuming
        calls = asyncio.run(sustained(bootstrap, topic, args.rate, args.duration))
        lag = end_offsets(bootstrap, topic) - committed_once(bootstrap, settings.worker_app_id,
                                                             topic)
        time.sleep(3)
        return breach_latencies(bootstrap, settings.topic("alerts"), calls), lag
    finally:
        for w in workers:
            stop(w)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape_every(url: str, interval_s: float, stop_scraping: threading.Event) -> None:
    """What Prometheus does to the worker while it works: GET /metrics every interval."""
    import httpx

    while not stop_scraping.wait(interval_s):
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=2)


def fresh_topics(bootstrap: str, events: list[ContactEvent],
                 prefix: str = "bench") -> tuple[Settings, str]:
    """Settings with topics and a worker app id of their own (created), ``events`` produced to
    their events topic: (settings, the suffix that names them)."""
    from services.topics import apply_topics

    suffix = uuid.uuid4().hex[:8]
    settings = load_settings(kafka_bootstrap=bootstrap, topic_prefix=f"{prefix}{suffix}.",
                             worker_app_id=f"{prefix}-worker-{suffix}")
    list(apply_topics(settings))
    asyncio.run(produce(bootstrap, settings.topic(settings.events_topic), events))
    return settings, suffix


def metrics_phase(bootstrap: str, tmp: Path, events: list[ContactEvent], metrics_on: bool,
                  args: argparse.Namespace) -> tuple[float, float]:
    """Throughput (events/s) and CPU seconds per event of fresh workers, with their Prometheus
    metrics on (counting, served and scraped every second) or off
    (KONTAKT_WORKER_METRICS_PORT=0: not counted), over ``events`` on topics of their own."""
    settings, suffix = fresh_topics(bootstrap, events)
    ports = [free_port() if metrics_on else 0 for _ in range(args.processes)]
    workers = [start_worker(settings, tmp / suffix, i,
                            {"KONTAKT_WORKER_METRICS_PORT": str(port)})
               for i, port in enumerate(ports)]
    stop_scraping = threading.Event()
    scrapers = [threading.Thread(target=scrape_every, daemon=True,
                                 args=(f"http://127.0.0.1:{port}/metrics", 1.0, stop_scraping))
                for port in ports if port]
    for scraper in scrapers:
        scraper.start()
    try:
        return worker_throughput(bootstrap, settings.worker_app_id,
                                 settings.topic(settings.events_topic), len(events),
                                 timeout_s=600, procs=workers)
    finally:
        stop_scraping.set()
        for w in workers:
            stop(w)


def metrics_cost_us(batch: int = 500) -> float:
    """In-process CPU (us) the worker's metrics add per event, taken high: a batch of
    ``batch`` events where every event raises an alert and changes an open clock's outcome
    (WorkerMetrics per batch and per alert, ContactProcessor's open-clock count). Next to the
    worker's CPU per event, a figure the machine's other load hardly moves."""
    import timeit

    from streams.metrics import WorkerMetrics
    from streams.processor import ContactProcessor

    tally, rounds = WorkerMetrics(), 2_000
    per_batch = timeit.timeit(lambda: tally.batch(batch, 0.01, 1.0), number=rounds) / rounds
    record = {"alert": "warning"}
    per_alert = timeit.timeit(lambda: tally.alert(record, False), number=rounds * 50)
    processor = ContactProcessor.__new__(ContactProcessor)
    processor.open_clocks = {}
    outcome = [{"milestone": "phone.answer", "status": "open"}]
    per_outcome = timeit.timeit(lambda: processor._count_open({}, outcome),
                                number=rounds * 50)
    return (per_batch / batch + (per_alert + per_outcome) / (rounds * 50)) * 1e6


def bare_agent_rate(settings: Settings, tmp: Path, topic: str, n: int) -> float:
    """events/s of bench/bare_agent.py (the worker's faust setup doing nothing)."""
    bare = settings.model_copy(update={"worker_app_id": settings.worker_app_id + "-bare"})
    (tmp / "bare").mkdir(parents=True, exist_ok=True)
    log = (tmp / "bare.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_agent.py")),
                             "worker", "-l", "warn"], env=worker_env(bare, tmp / "bare"),
                            stdout=log, stderr=log, cwd=tmp)
    try:
        return worker_throughput(settings.kafka_bootstrap, bare.worker_app_id, topic, n,
                                 timeout_s=600, procs=[proc])[0]
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def appeals_cost(settings: Settings, tmp: Path, events: list[ContactEvent]) -> None:
    """Worker events/s over the same topic with live appeals off, then on (fresh app ids)."""
    topic = settings.topic(settings.events_topic)
    rekeyed = settings.topic("appeal-events")
    rates: dict[str, float] = {}
    cpu: dict[str, float] = {}
    total_cpu: dict[str, float] = {}
    for mode in ("off", "on"):
        run = settings.model_copy(update={"worker_app_id": f"{settings.worker_app_id}-{mode}",
                                          "worker_appeals": mode == "on"})
        proc = start_worker(run, tmp / mode)
        try:
            rates[mode], cpu[mode] = worker_throughput(
                settings.kafka_bootstrap, run.worker_app_id, topic, len(events), 600, [proc])
            if mode == "on":  # ...and until the appeal agent has linked every re-keyed event
                began = time.monotonic()
                worker_throughput(settings.kafka_bootstrap, run.worker_app_id, rekeyed,
                                  len(events), 600, [proc])
                rates["on, linked"] = len(events) / (len(events) / rates["on"]
                                                     + time.monotonic() - began)
            total_cpu[mode] = cpu_seconds([proc.pid]) / len(events)  # startup included
        finally:
            stop(proc)
    load = os.getloadavg()[0]
    print(f"events {len(events)}, cores {os.cpu_count()}, load average {load:.1f}")
    print(f"{'worker ev/s, live appeals off':<52}{rates['off']:>12,.0f}")
    print(f"{'worker ev/s, live appeals on (contact-events)':<52}{rates['on']:>12,.0f}")
    print(f"{'worker ev/s, on, until every event is linked':<52}{rates['on, linked']:>12,.0f}")
    print(f"{'worker CPU per event (us), off / on (contact-events)':<52}"
          f"{cpu['off'] * 1e6:>6,.0f} / {cpu['on'] * 1e6:,.0f}")
    print(f"{'worker CPU per event (us), off / on linked, all CPU':<52}"
          f"{total_cpu['off'] * 1e6:>6,.0f} / {total_cpu['on'] * 1e6:,.0f}")
    print("RESULT " + json.dumps({
        "bench": "worker-appeals", "events": len(events), "load_average": round(load, 1),
        "appeals_off_events_per_s": round(rates["off"]),
        "appeals_on_events_per_s": round(rates["on"]),
        "appeals_on_linked_events_per_s": round(rates["on, linked"]),
        "cpu_us_per_event_off": round(cpu["off"] * 1e6),
        "cpu_us_per_event_on": round(cpu["on"] * 1e6),
        "process_cpu_us_per_event_off": round(total_cpu["off"] * 1e6),
        "process_cpu_us_per_event_on_linked": round(total_cpu["on"] * 1e6)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=2_000)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--processes", type=int, default=1,
                        help="worker processes in the consumer group")
    parser.add_argument("--bootstrap", default="")
    parser.add_argument("--compare-judgement", action="store_true",
                        help="run the sustained phase again with the worker judging by the "
                        "wall clock alone (KONTAKT_WORKER_JUDGE_BY_LOG=false): the breach "
                        "latency the read watermark costs, measured in the same run")
    parser.add_argument("--appeals", action="store_true",
                        help="measure the cost of live appeals (off vs on) and stop")
    parser.add_argument("--compare-metrics", action="store_true",
                        help="measure the worker's throughput again with its Prometheus "
                        "metrics off and on (scraped every second), a fresh worker and topics "
                        "per phase, alternating --metrics-rounds times; best of each")
    parser.add_argument("--metrics-rounds", type=int, default=2)
    args = parser.parse_args()
    from services.topics import apply_topics

    tmp = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    broker = None if args.bootstrap else start_broker(tmp / "kafka")
    bootstrap = args.bootstrap or broker.bootstrap
    workers: list[subprocess.Popen[bytes]] = []
    try:
        suffix = uuid.uuid4().hex[:8]
        settings = load_settings(kafka_bootstrap=bootstrap, topic_prefix=f"bench{suffix}.",
                                 worker_app_id=f"bench-worker-{suffix}")
        list(apply_topics(settings))
        topic = settings.topic(settings.events_topic)
        past = int(time.time() * 1000) - 3_600_000
        n_calls = args.events * 10 // 19
        events = call_events(n_calls, past, 10, customers=n_calls // 3 if args.appeals else 0)
        events = events[: args.events]
        produce_rate = asyncio.run(produce(bootstrap, topic, events))
        if args.appeals:
            appeals_cost(settings, tmp, events)
            return
        raw_rate = asyncio.run(raw_consume(bootstrap, topic, len(events)))
        bare_rate = bare_agent_rate(settings, tmp, topic, len(events))
        workers = [start_worker(settings, tmp, i) for i in range(args.processes)]
        worker_rate, cpu_per_event = worker_throughput(
            bootstrap, settings.worker_app_id, topic, len(events), timeout_s=600,
            procs=workers)
        before = time.monotonic()
        unanswered = asyncio.run(sustained(bootstrap, topic, args.rate, args.duration))
        produced = end_offsets(bootstrap, topic)
        lag = produced - committed_once(bootstrap, settings.worker_app_id, topic)
        kept_up = (produced - len(events)) / (time.monotonic() - before)
        time.sleep(3)
        lat = breach_latencies(bootstrap, settings.topic("alerts"), unanswered)
        compared: list[tuple[str, list[float], int]] = []
        if args.compare_judgement:
            for w in workers:
                stop(w)
            workers = []
            for label, flag in (("by the wall clock alone", "false"), ("against the log", "true")):
                compared.append((label, *latency_phase(bootstrap, tmp, flag, args)))
        metric_rates: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        metric_figures: dict[str, float] = {}
        if args.compare_metrics:
            for w in workers:
                stop(w)
            workers = []
            for _ in range(args.metrics_rounds):
                for metrics_on in (False, True):
                    metric_rates[metrics_on].append(
                        metrics_phase(bootstrap, tmp, events, metrics_on, args))
        load = os.getloadavg()[0]
        print(f"events {len(events)}, cores {os.cpu_count()}, load average {load:.1f}")
        print(f"{'measure':<44}{'value':>14}")
        print(f"{'producer (aiokafka, for reference) ev/s':<44}{produce_rate:>14,.0f}")
        print(f"{'baseline: aiokafka consume + decode ev/s':<44}{raw_rate:>14,.0f}")
        print(f"{'framework: bare faust agent ev/s':<44}{bare_rate:>14,.0f}")
        print(f"{'ratio bare faust / baseline':<44}{bare_rate / raw_rate:>14.2f}")
        print(f"{f'kontakt worker ev/s ({args.processes} process(es))':<44}{worker_rate:>14,.0f}")
        print(f"{'worker CPU per event (us, all processes)':<44}{cpu_per_event * 1e6:>14,.0f}")
        print(f"{'ratio worker / baseline':<44}{worker_rate / raw_rate:>14.2f}")
        print(f"{'ratio worker / bare faust':<44}{worker_rate / bare_rate:>14.2f}")
        print(f"{'sustained phase: events/s offered':<44}{kept_up:>14,.0f}")
        print(f"{'worker lag at its end (events)':<44}{lag:>14,}")
        print(f"{'breach alerts measured at ' + str(args.rate) + ' ev/s':<44}"
              f"{len(lat):>8} of {len(unanswered)}")
        print(f"{'breach latency p50 (s)':<44}{pct(lat, 0.50):>14.3f}")
        print(f"{'breach latency p99 (s)':<44}{pct(lat, 0.99):>14.3f}")
        print(f"{'breach latency max (s)':<44}{(lat[-1] if lat else float('nan')):>14.3f}")
        for label, phase, phase_lag in compared:
            print(f"{'fresh worker, judged ' + label + ': p50 / p99 (s)':<56}"
                  f"{pct(phase, 0.50):>6.3f} / {pct(phase, 0.99):.3f}")
            print(f"{'fresh worker, judged ' + label + ': alerts, lag at end':<56}"
                  f"{len(phase):>6} / {phase_lag:,}")
        if args.compare_metrics:
            # events/s follows the machine's other load; the CPU each event costs the worker
            # process (what bounds its throughput on a core of its own) much less so
            for on, label in ((False, "off"), (True, "on")):
                runs = metric_rates[on]
                print(f"{f'fresh worker, metrics {label}: ev/s (best)':<44}"
                      f"{max(r for r, _ in runs):>14,.0f}  "
                      f"{' '.join(f'{r:,.0f}' for r, _ in runs)}")
                print(f"{f'fresh worker, metrics {label}: CPU us/event (least)':<44}"
                      f"{min(c for _, c in runs) * 1e6:>14,.1f}  "
                      f"{' '.join(f'{c * 1e6:,.1f}' for _, c in runs)}")
            rate_ratio = (max(r for r, _ in metric_rates[True])
                          / max(r for r, _ in metric_rates[False]))
            cpu_ratio = (min(c for _, c in metric_rates[False])
                         / min(c for _, c in metric_rates[True]))
            print(f"{'ratio metrics on / off, events/s':<44}{rate_ratio:>14.3f}")
            print(f"{'ratio metrics on / off, 1 / CPU per event':<44}{cpu_ratio:>14.3f}")
            cost = metrics_cost_us()
            least = min(c for _, c in metric_rates[False]) * 1e6
            print(f"{'metrics CPU per event, in-process (us)':<44}{cost:>14.3f}")
            print(f"{'  as a share of the worker CPU per event':<44}{cost / least:>14.2%}")
            metric_figures = {
                "metrics_off_events_per_s": round(max(r for r, _ in metric_rates[False])),
                "metrics_on_events_per_s": round(max(r for r, _ in metric_rates[True])),
                "metrics_cpu_ratio": round(cpu_ratio, 3),
                "metrics_inprocess_share_pct": round(100 * cost / least, 3)}
        print("RESULT " + json.dumps({  # one machine-readable line for bench/run_all.py
            "bench": "worker", "events": len(events), "load_average": round(load, 1),
            "processes": args.processes,
            "worker_events_per_s": round(worker_rate), "raw_consumer_events_per_s":
            round(raw_rate), "ratio": round(worker_rate / raw_rate, 3),
            "bare_faust_events_per_s": round(bare_rate),
            "bare_faust_ratio": round(bare_rate / raw_rate, 3),
            "worker_to_bare_ratio": round(worker_rate / bare_rate, 3),
            "worker_cpu_us_per_event": round(cpu_per_event * 1e6),
            "sustained_rate": args.rate, "sustained_events_per_s": round(kept_up),
            "worker_lag_events": lag, "lag_at_end": lag,
            "breach_alerts": len(lat), "unanswered_calls": len(unanswered),
            "breach_p50_s": pct(lat, 0.50) if lat else None,
            "breach_p99_s": pct(lat, 0.99) if lat else None, **metric_figures,
            **{f"fresh_{'log' if 'log' in label else 'wall'}_breach_p{q}_s": pct(phase, q / 100)
               for label, phase, _lag in compared if phase for q in (50, 99)}}))
    finally:
        for w in workers:
            stop(w)
        for i in range(len(workers)):  # what the GC policy kept from the collector (if on)
            for line in (tmp / f"worker{i}.log").read_text(errors="replace").splitlines():
                if "gc policy:" in line:
                    print(f"worker {i} at shutdown: {line.split('gc policy:')[1].strip()}")
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
