"""What the contacts projector costs the sink: rows/s with KONTAKT_SINK_CONTACTS off (the
baseline, the sink as it was) and on, measured in one run, rounds interleaved.

1. A broker is started for the run (free ports, temporary directory; removed at the end) and
   N contact events (4 per contact, Avro as the ingest API writes them) are produced to a
   3-partition topic -- bench/sink.py's events.
2. Optionally H older events of other contacts are put in ``events`` first (--history): the
   projector reads each batch's contacts back with ``contact_id IN (...)``, and contact_id is
   not in the table's sort key, so that read grows with the table.
3. Each round runs the sink from a fresh consumer group over the N events into the embedded
   chdb warehouse, once without and once with the projector (order alternating), and keeps
   each setting's fastest round (other jobs on the shared machine only add time). The
   projector runs beside the sink and may lag: how long after the sink's last commit every
   contact was written is printed too, and the ``contacts`` FINAL row count is checked.

Run: .venv/bin/python bench/sink_contacts.py [N_EVENTS] [--history H] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_broker import start_broker  # noqa: E402
from sink import (  # noqa: E402  (bench/ is not a package: scripts import siblings)
    BASE_MS,
    BATCH,
    create_topic,
    make_event,
    produce,
)

from schemas.codec import HEADER_SIZE, encode_event  # noqa: E402
from schemas.events import ContactEvent  # noqa: E402
from services.adapters.chdb_warehouse import ChdbWarehouse  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.sink.batch import BatchLimits  # noqa: E402
from services.sink.contacts import CONTACT_COLUMNS, CONTACTS, contact_row  # noqa: E402
from services.sink.encoded import EncodedPath  # noqa: E402
from services.sink.rows import EVENT_COLUMNS  # noqa: E402
from services.sink.runner import Sink, SinkConfig  # noqa: E402
from streams.sla.state import build_state  # noqa: E402


def run_sink(warehouse: ChdbWarehouse, config: SinkConfig, n: int) -> tuple[float, float]:
    """Rows/s from the sink's first record to the commit of its n-th, and the seconds from
    then until the projector has written every touched contact (0 when it is off)."""
    sink, stop = Sink(warehouse, config), threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    first = None
    while sink.stats.records < n:
        if first is None and (sink._batch.records or sink.stats.records):
            first = time.perf_counter()
        time.sleep(0.002)
    end = time.perf_counter()
    while sink.contacts is not None and sink.contacts.pending():
        time.sleep(0.01)
    stop.set()  # the projector's last run happens on stop
    thread.join(600)
    caught_up = time.perf_counter() - end if sink.contacts is not None else 0.0
    return n / (end - (first or end)), caught_up


def seed_history(warehouse: ChdbWarehouse, n: int) -> None:
    """``n`` events of contacts the run never touches, months before the run's events, and
    their up-to-date ``contacts`` rows (so the projector's start-up recovery finds nothing)."""
    path = EncodedPath()
    for start in range(0, n, BATCH):
        events = [make_event(i, BASE_MS - 90 * 86_400_000 + i * 10, prefix="h")
                  for i in range(start, min(n, start + BATCH))]
        by_contact: dict[str, list[ContactEvent]] = {}
        for e in events:
            by_contact.setdefault(e.contact_id, []).append(e)
        warehouse.insert(CONTACTS, CONTACT_COLUMNS,
                         [contact_row(build_state(es)) for es in by_contact.values()])
        values = [encode_event(e) for e in events]
        writer = path.match(values[0]).writer  # type: ignore[union-attr]
        warehouse.insert_encoded("events", EVENT_COLUMNS, "Avro",
                                 path.container(writer, [v[HEADER_SIZE:] for v in values]))


def clear_run(warehouse: ChdbWarehouse) -> None:
    warehouse.execute("DELETE FROM events WHERE startsWith(event_id, 'e')")
    warehouse.execute("DELETE FROM contacts WHERE startsWith(contact_id, 'e')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000)
    parser.add_argument("--history", type=int, default=0, help="older events already stored")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per setting")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kontakt-bench-contacts-"))
    broker = start_broker(tmp)
    warehouse = ChdbWarehouse(tmp / "warehouse")
    best: dict[bool, float] = {}
    lag: list[float] = []
    try:
        migrate(warehouse)
        seed_history(warehouse, args.history)
        events = [make_event(i, BASE_MS + i * 10) for i in range(args.n)]
        topic = create_topic(broker.bootstrap, "bench.contacts.events")
        produce(broker.bootstrap, topic, [(e.contact_id.encode(), encode_event(e))
                                          for e in events])
        contacts = len({e.contact_id for e in events})
        for r in range(args.repeat):
            for on in ((False, True) if r % 2 == 0 else (True, False)):
                clear_run(warehouse)
                config = SinkConfig(broker.bootstrap, [topic], f"bench-{on}-{time.time()}",
                                    BatchLimits(BATCH, 1.0), contacts=on)
                rate, caught_up = run_sink(warehouse, config, args.n)
                if on:
                    lag.append(caught_up)
                    got = warehouse.query("SELECT count() FROM contacts FINAL "
                                          "WHERE startsWith(contact_id, 'e')")[0][0]
                    assert got == contacts, (got, contacts)
                best[on] = max(best.get(on, 0.0), rate)
    finally:
        warehouse.close()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{args.n:,} contact events ({contacts:,} contacts), {args.history:,} older events "
          f"stored, batches of {BATCH:,}, best of {args.repeat} interleaved rounds")
    print(f"{'sink, Kafka -> chdb (encoded)':<46} {'rows/s':>10} {'vs baseline':>12}")
    for on, label in ((False, "contacts projector off (baseline)"),
                      (True, "contacts projector on")):
        print(f"{label:<46} {best[on]:>10,.0f} {best[on] / best[False]:>12.2f}")
    print(f"contacts complete after the sink's last commit: {min(lag):.1f} s (best round); "
          f"projector ~{contacts / (args.n / best[True] + min(lag)):,.0f} contacts/s overall")
    print("RESULT " + json.dumps({
        "sink_rows_per_s": round(best[False]), "sink_contacts_rows_per_s": round(best[True]),
        "ratio": round(best[True] / best[False], 3), "history_events": args.history,
        "contacts_lag_s": round(min(lag), 2),
    }))


if __name__ == "__main__":
    main()
