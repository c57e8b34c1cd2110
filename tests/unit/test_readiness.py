"""Worker readiness (services.readiness): the phase a worker reports, its file, how /health and
`kontakt up` read it. Instants are made-up epoch seconds passed in, never the wall clock."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services import readiness
from services.api import health
from services.cli.platform import not_ready_message
from services.readiness import (
    JOINING,
    READY,
    RECOVERING,
    Beacon,
    Beat,
    current,
    overall,
    phase_of,
    process_view,
    read_beats,
    worker_health,
)
from services.settings import load_settings

T0 = 1_000_000.0  # an arbitrary instant: only differences matter


@pytest.mark.parametrize(
    ("recovered", "rebalancing", "partitions", "phase"),
    [
        (False, False, 0, JOINING),  # just started: not yet in the group
        (False, True, 0, JOINING),  # joining / a rebalance, nothing assigned
        (False, True, 2, RECOVERING),  # assigned, the table recovering
        (True, True, 2, RECOVERING),  # heap rebuilt, faust still seeking the partitions
        (True, False, 2, READY),
        (True, False, 0, READY),  # more workers than partitions: idle, but not starting
    ],
)
def test_phase_follows_recovery_and_rebalance(
    recovered: bool, rebalancing: bool, partitions: int, phase: str
) -> None:
    assert phase_of(recovered, rebalancing, partitions) == phase


def test_beacon_writes_on_a_change_at_once_and_otherwise_once_a_second(tmp_path: Path) -> None:
    beacon = Beacon(tmp_path / "workers", "host", 42, T0)
    assert beacon.observe(T0, JOINING, 0)  # at start (and makes the directory): no tick yet
    [beat] = read_beats(tmp_path / "workers")
    assert (beat.phase, beat.last_tick) == (JOINING, None)
    assert beacon.observe(T0 + 2, RECOVERING, 2)  # faust's assigned signal: written at once
    assert beacon.tick(T0 + 3, True, False, 2)  # the first tick, recovered: ready at once
    assert not beacon.tick(T0 + 3.1, True, False, 2)
    [beat] = read_beats(tmp_path / "workers")
    assert (beat.phase, beat.since, beat.last_tick, beat.partitions) == (READY, T0 + 3,
                                                                          T0 + 3, 2)
    assert not beacon.tick(T0 + 3.9, True, False, 2)
    assert beacon.tick(T0 + 4, True, False, 2)  # the heartbeat: a second after the write
    [beat] = read_beats(tmp_path / "workers")
    assert (beat.since, beat.last_tick, beat.started_at, beat.written_at) == (T0 + 3, T0 + 4,
                                                                              T0, T0 + 4)
    assert beacon.tick(T0 + 4.1, True, False, 1)  # a partition moved away: written at once
    assert sorted(p.name for p in (tmp_path / "workers").iterdir()) == ["host-42.json"]
    beacon.close()
    assert read_beats(tmp_path / "workers") == []
    beacon.close()  # twice is fine (the shutdown hook and the process's finally)


def test_unreadable_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "half.json").write_text("{")
    (tmp_path / "other.json").write_text(json.dumps({"unexpected": 1}))
    assert read_beats(tmp_path) == []
    assert read_beats(tmp_path / "absent") == []


def beat(phase: str = READY, *, host: str = "h", pid: int = 1, since: float = T0,
         last_tick: float | None = T0, partitions: int = 2) -> Beat:
    written = T0 if last_tick is None else last_tick
    return Beat(host, pid, phase, since, last_tick, partitions, T0 - 5, written)


def test_dead_workers_on_this_host_and_long_silent_ones_elsewhere_are_not_current() -> None:
    beats = [beat(pid=1), beat(pid=2), beat(host="other", pid=1, last_tick=T0 - 10),
             beat(host="gone", pid=1, last_tick=T0 - readiness.FORGET_AFTER_S - 1)]
    kept = current(beats, T0, "h", alive=lambda pid: pid == 1)
    assert [(b.host, b.pid) for b in kept] == [("h", 1), ("other", 1)]


def test_prune_removes_the_files_of_gone_workers(tmp_path: Path) -> None:
    for b in (beat(pid=1), beat(pid=2)):
        readiness.write_beat(tmp_path / f"{b.name}.json", b)
    readiness.prune(tmp_path, T0, "h", alive=lambda pid: pid == 2)
    assert [b.pid for b in read_beats(tmp_path)] == [2]


def test_this_process_is_alive_and_a_reaped_one_is_not() -> None:
    assert readiness.pid_alive(os.getpid())
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert not readiness.pid_alive(pid)


def test_a_ready_worker_whose_timer_stops_is_stalled_a_starting_one_stays_starting() -> None:
    now = T0 + readiness.STALL_AFTER_S + 1
    assert process_view(beat(READY, last_tick=T0 + 5.5), now)["status"] == "ready"
    stalled = process_view(beat(READY), now)
    assert (stalled["status"], stalled["last_tick_s_ago"]) == ("stalled", 6.0)
    # a long recovery blocks the loop: still starting, with how long since the last tick
    recovering = process_view(beat(RECOVERING), now)
    assert (recovering["status"], recovering["in_phase_s"]) == ("starting", 6.0)
    # faust starts the timers after the first recovery: no tick yet, and that is not stalled
    first = process_view(beat(RECOVERING, last_tick=None), now)
    assert (first["status"], first["last_tick_s_ago"]) == ("starting", None)


def test_worker_component_status() -> None:
    now = T0 + 1
    missing = worker_health([], now, expected=1)
    assert (missing["status"], missing["last_tick_s_ago"]) == ("missing", None)
    joining = worker_health([beat(JOINING, last_tick=None)], now, expected=1)
    assert (joining["status"], joining["last_tick_s_ago"]) == ("starting", None)
    assert joining["detail"] == "worker still starting (joining group / recovering)"
    assert worker_health([beat()], now, expected=2)["status"] == "starting"  # one of two
    ready = worker_health([beat(pid=1), beat(pid=2, last_tick=T0 + 0.5)], now, expected=2)
    assert (ready["status"], ready["last_tick_s_ago"]) == ("ready", 1.0)
    stalled = worker_health([beat(pid=1, last_tick=T0 - 9), beat(pid=2, phase=JOINING)], now, 2)
    assert stalled["status"] == "stalled" and "10 s" in stalled["detail"]


@pytest.mark.parametrize(
    ("api_ok", "worker", "status"),
    [(True, "ready", "ok"), (True, "starting", "starting"), (True, "stalled", "degraded"),
     (True, "missing", "degraded"), (False, "ready", "degraded"),
     (False, "starting", "degraded")],
)
def test_overall_status(api_ok: bool, worker: str, status: str) -> None:
    assert overall(api_ok, worker) == status


class Warehouse:
    def __init__(self, up: bool) -> None:
        self.up = up

    def ping(self) -> bool:
        return self.up


def health_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, backends: bool) -> Any:
    monkeypatch.setattr(health, "tcp_reachable", lambda bootstrap: backends)
    monkeypatch.setattr(health, "answers_metadata", lambda bootstrap: backends)
    app = FastAPI()
    app.state.settings = load_settings(data_dir=tmp_path, kafka_bootstrap="127.0.0.1:1")
    app.state.warehouse = Warehouse(backends)
    app.include_router(health.router)
    return TestClient(app)


def test_health_is_live_while_the_worker_starts_and_ready_only_once_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = health_client(tmp_path, monkeypatch, backends=True)
    live, ready = client.get("/health"), client.get("/health/ready")
    assert (live.status_code, ready.status_code) == (200, 503)
    assert live.json()["components"]["worker"]["status"] == "missing"

    beacon = Beacon(readiness.status_dir(tmp_path), "this-host", os.getpid(), T0)
    monkeypatch.setattr(health.socket, "gethostname", lambda: "this-host")
    import time

    now = time.time()  # the endpoint reads the wall clock: ticks relative to it
    beacon.observe(now, RECOVERING, 2)
    live, ready = client.get("/health"), client.get("/health/ready")
    assert (live.status_code, ready.status_code) == (200, 503)
    body = ready.json()
    assert body["status"] == "starting"
    assert body["components"]["api"] == {"status": "ok", "kafka": "up", "clickhouse": "up"}
    worker = body["components"]["worker"]
    assert (worker["status"], worker["processes"][0]["phase"]) == ("starting", RECOVERING)
    assert "worker still starting (joining group / recovering)" in not_ready_message(
        body, 90, tmp_path / "logs")

    beacon.tick(now + 0.1, True, False, 2)
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert ready.json()["components"]["worker"]["processes"][0]["partitions"] == 2


def test_health_is_503_when_a_backend_is_down_whatever_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = health_client(tmp_path, monkeypatch, backends=False)
    live = client.get("/health")
    assert live.status_code == 503
    body = live.json()
    assert (body["status"], body["kafka"], body["clickhouse"]) == ("degraded", "down", "down")
    assert client.get("/health/ready").status_code == 503
    message = not_ready_message(body, 90, tmp_path / "logs")
    assert message.startswith("the API did not report healthy within 90 s")
    assert "the API did not report healthy" in not_ready_message({}, 90, tmp_path)


def test_up_calls_a_worker_that_has_not_reported_yet_starting_and_a_stalled_one_stalled() -> None:
    api = {"status": "ok", "kafka": "up", "clickhouse": "up"}
    missing = {"components": {"api": api, "worker": worker_health([], T0, 1)}}
    assert not_ready_message(missing, 30, Path("logs")).startswith(
        "worker still starting (joining group / recovering) after 30 s; the platform runs")
    stalled = {"components": {"api": api, "worker": worker_health([beat()], T0 + 9, 1)}}
    message = not_ready_message(stalled, 30, Path("logs"))
    assert message.startswith("a worker's deadline timer has not run for 9 s") and "h-1 ready" \
        in message
