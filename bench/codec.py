"""Avro single-object encode/decode throughput of a contact event (schemas/codec.py), next to
raw fastavro schemaless write/read (no framing, no catalog) and orjson, in the same run.

Run: .venv/bin/python bench/codec.py [N]
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable

import fastavro
import orjson

from schemas import codec
from schemas.events import event_to_json, parse_event


def _rate(fn: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main(n: int = 100_000) -> None:
    events = [
        parse_event(
            {
                "event_id": f"e-{i}",
                "contact_id": f"c-{i // 4}",
                "tenant": "mrsk-center",
                "region": "tver",
                "channel": "phone",
                "type": "queued",
                "occurred_at": "2026-11-27T12:00:00.250+03:00",
                "queue": "outage-line",
                "agent": "a-17",
                "customer_ref": "cr_0f3a9c5e1d2b4a6f8e7d",
                "attributes": {"ivr_branch": "2"},
            }
        )
        for i in range(n)
    ]
    datums = [codec.event_to_datum(e) for e in events]
    sv = codec.default_catalog().get(codec.CONTACT_EVENT)
    encoded: list[bytes] = []
    bodies: list[bytes] = []
    jsons: list[bytes] = []

    def enc() -> None:
        encoded.extend(codec.encode_event(e) for e in events)

    def dec() -> None:
        for data in encoded:
            codec.decode_event(data)

    def raw_enc() -> None:
        for d in datums:
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, sv.parsed, d)
            bodies.append(buf.getvalue())

    def raw_dec() -> None:
        for body in bodies:
            fastavro.schemaless_reader(io.BytesIO(body), sv.parsed, None)

    def json_enc() -> None:
        jsons.extend(orjson.dumps(event_to_json(e)) for e in events)

    def json_dec() -> None:
        for j in jsons:
            parse_event(orjson.loads(j))

    rows = [
        ("codec.encode_event (ContactEvent -> framed Avro)", _rate(enc, n)),
        ("codec.decode_event (framed Avro -> ContactEvent)", _rate(dec, n)),
        ("baseline: fastavro schemaless_writer (dict)", _rate(raw_enc, n)),
        ("baseline: fastavro schemaless_reader (dict)", _rate(raw_dec, n)),
        ("reference: orjson + event_to_json", _rate(json_enc, n)),
        ("reference: orjson + parse_event", _rate(json_dec, n)),
    ]
    print(f"{n} contact events, {len(encoded[0])} bytes framed Avro, {len(jsons[0])} bytes JSON")
    print(f"{'operation':52} {'records/s':>12}")
    for label, rate in rows:
        print(f"{label:52} {rate:12,.0f}")
    print(f"encode ratio codec/raw fastavro: {rows[0][1] / rows[2][1]:.2f}")
    print(f"decode ratio codec/raw fastavro: {rows[1][1] / rows[3][1]:.2f}")
    print("RESULT " + json.dumps({  # one machine-readable line for bench/run_all.py
        "bench": "codec", "records": n, "codec_encode_per_s": round(rows[0][1]),
        "codec_decode_per_s": round(rows[1][1]), "raw_encode_per_s": round(rows[2][1]),
        "raw_decode_per_s": round(rows[3][1])}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
