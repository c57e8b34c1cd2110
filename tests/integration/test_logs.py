"""KONTAKT_LOG_FORMAT on real processes: `kontakt api` and `kontakt worker` write one JSON
object per line (timestamp, level, logger, message), a request's lines carry its X-Request-ID,
and text stays the default."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.board_stack import stop_group
from tests.fixtures.kafka import free_port
from tests.fixtures.worker import WorkerStack, wait_until

KONTAKT = Path(sys.executable).parent / "kontakt"
KEYS = {"timestamp", "level", "logger", "message"}
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}Z (INFO|WARNING|ERROR|DEBUG) +\S+: ")


@contextmanager
def api_process(tmp_path: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """`kontakt api` on a free port with an embedded warehouse and no broker (Kafka on a dead
    port: the sink and the board feed log their retries, which is what we want to see)."""
    port = free_port()
    log = tmp_path / "api.log"
    environ = {k: v for k, v in os.environ.items() if k != "KONTAKT_LOG_FORMAT"}
    environ.update({"KONTAKT_DATA_DIR": str(tmp_path / "data"), "KONTAKT_API_PORT": str(port),
                    "KONTAKT_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", **env})
    with log.open("wb") as out:
        proc = subprocess.Popen([str(KONTAKT), "api"], env=environ, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"api did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield url, log
    finally:
        stop_group(proc)


def json_lines(log: Path) -> list[dict[str, object]]:
    lines = log.read_text().splitlines()
    assert lines, "the process logged nothing"
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(record, dict), line
        assert record.keys() >= KEYS, line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", str(record["timestamp"]))
        out.append(record)
    return out


def test_api_json_lines_carry_the_request_id(tmp_path: Path) -> None:
    created = subprocess.run(
        [str(KONTAKT), "keys", "create", "--tenant", "mrsk-center", "--type", "grid",
         "--scope", "ingest"], env={**os.environ, "KONTAKT_DATA_DIR": str(tmp_path / "data")},
        capture_output=True, text=True, check=True)
    key = created.stdout.strip().splitlines()[-1]
    with api_process(tmp_path, KONTAKT_LOG_FORMAT="json") as (url, log):
        given = httpx.get(f"{url}/health", headers={"X-Request-ID": "probe-42"}, timeout=10)
        fresh = httpx.get(f"{url}/no-such-page", timeout=10)
        hostile = httpx.get(f"{url}/health", headers={"X-Request-ID": "a b\"c"}, timeout=10)
        refused = httpx.post(f"{url}/ingest/events", content=b"{", timeout=10)
        keyed = httpx.post(f"{url}/ingest/events", content=b"{", timeout=10,
                           headers={"X-API-Key": key, "X-Request-ID": "keyed-1"})
        time.sleep(0.5)  # the access lines are written after the response
    assert given.headers["x-request-id"] == "probe-42"
    new_id = fresh.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])
    assert 400 <= refused.status_code < 500
    records = json_lines(log)
    loggers = {str(r["logger"]) for r in records}
    assert {"uvicorn.error", "uvicorn.access", "aiokafka"} <= loggers, loggers
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    for response, line in ((given, "GET /health"), (fresh, "GET /no-such-page"),
                           (hostile, "GET /health"), (refused, "POST /ingest/events")):
        mine = [r for r in records if r.get("request_id") == response.headers["x-request-id"]]
        assert [str(r["message"]).split('"')[1] for r in mine if r in access] == \
            [f"{line} HTTP/1.1"], mine
    assert all(r.get("request_id") for r in access)  # the start-up probes have theirs too
    # once the key is known, the request's lines carry its tenant; before, none has one
    assert 400 <= keyed.status_code < 500
    (keyed_line,) = [r for r in access if r["request_id"] == "keyed-1"]
    assert keyed_line["tenant"] == "mrsk-center"
    assert [r for r in access if "tenant" in r] == [keyed_line]
    assert not any("a b" in str(r.get("request_id")) for r in records)
    # a traceback stays inside its line's object
    assert any("Traceback" in str(r.get("exc_info", "")) for r in records)


def test_api_logs_text_by_default(tmp_path: Path) -> None:
    with api_process(tmp_path) as (url, log):
        response = httpx.get(f"{url}/health", headers={"X-Request-ID": "probe-7"}, timeout=10)
        time.sleep(0.5)
    assert response.headers["x-request-id"] == "probe-7"
    lines = log.read_text().splitlines()
    starts = [line for line in lines if TEXT_LINE.match(line)]
    assert starts and not any(line.startswith("{") for line in lines)
    access = [line for line in starts if "uvicorn.access" in line]
    assert access[-1].endswith("request_id=probe-7"), access


@pytest.mark.kafka
@pytest.mark.slow
def test_worker_json_lines(worker_stack: WorkerStack) -> None:
    worker_stack.env["KONTAKT_LOG_FORMAT"] = "json"
    log = worker_stack.tmp / "worker-0.log"
    proc = subprocess.Popen(
        [str(KONTAKT), "worker", "--loglevel", "info", "--no-create-topics"],
        env=worker_stack.env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker_stack.processes.append(proc)
    assert wait_until(lambda: "deadline heap rebuilt" in log.read_text(), 90), \
        worker_stack.logs()
    worker_stack.stop(proc)
    records = json_lines(log)
    loggers = {str(r["logger"]).split(".")[0] for r in records}
    assert {"faust", "streams", "aiokafka"} <= loggers, loggers
