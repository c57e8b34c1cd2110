"""`kontakt status`: one table of what runs and what is behind, for the engineer on call.

Per process -- the API, the sink (its thread in the API with an embedded warehouse, or
`kontakt sink`), each worker, the notifier -- its health, consumer lag, the age of its last
batch and, for the sink, the warehouse's freshness (newest record inserted vs now). Read from
what the running platform tells: the pid files of `kontakt up` (services.local.supervisor), the
workers' readiness reports (services.readiness), GET /health and the /metrics endpoints
(services/metrics, streams/metrics.py). Nothing is opened that a running process holds.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services import readiness
from services.local.supervisor import ProcessSupervisor
from services.settings import Settings

Samples = dict[str, list[tuple[dict[str, str], float]]]  # metric sample name -> (labels, value)
DASH = "-"


@dataclass(frozen=True, slots=True)
class Row:
    process: str
    pid: str
    health: str
    lag: str = DASH
    last_batch: str = DASH
    freshness: str = DASH


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def scrape(url: str, timeout_s: float = 2.0) -> Samples | None:
    """The samples of a /metrics endpoint, or None when it does not answer."""
    try:
        response = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError:
        return None
    return parse(response.text) if response.status_code == 200 else None


def total(samples: Samples | None, name: str) -> float | None:
    if samples is None or name not in samples:
        return None
    return sum(value for _, value in samples[name])


def ago(samples: Samples | None, name: str, now: float) -> str:
    """``name`` is an epoch-seconds gauge: how long ago, in words ('none yet' at 0)."""
    at = total(samples, name)
    if at is None:
        return DASH if samples is None else "none yet"
    return "none yet" if at <= 0 else seconds(now - at)


def seconds(value: float) -> str:
    value = max(0.0, value)
    if value < 120:
        return f"{value:.1f} s ago"
    if value < 7200:
        return f"{value / 60:.0f} min ago"
    return f"{value / 3600:.1f} h ago"


def events(samples: Samples | None, name: str) -> str:
    lag = total(samples, name)
    return DASH if lag is None else f"{lag:.0f} events"


def _get_json(url: str) -> dict[str, Any] | None:
    try:
        body = httpx.get(url, timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def api_row(health: dict[str, Any] | None, pid: int | None) -> Row:
    if health is None:
        return Row("api", str(pid or DASH), "not answering" if pid else "stopped")
    state = str(health.get("status"))
    down = [b for b in ("kafka", "clickhouse") if health.get(b) == "down"]
    return Row("api", str(pid or DASH), state + (f" ({', '.join(down)} down)" if down else ""))


def sink_row(name: str, samples: Samples | None, now: float, pid: str) -> Row:
    if samples is None:
        return Row(name, pid, "no metrics")
    newest = total(samples, "kontakt_sink_newest_event_timestamp_seconds")
    fresh = "nothing inserted yet" if not newest else f"newest {seconds(now - newest)}"
    return Row(name, pid, "ok", events(samples, "kontakt_sink_lag_events"),
               ago(samples, "kontakt_sink_last_batch_timestamp_seconds", now), fresh)


def worker_rows(beats: list[readiness.Beat], by_pid: Mapping[int, Samples], now: float,
                running: Mapping[str, int]) -> list[Row]:
    rows = []
    names = {pid: name for name, pid in running.items() if name.startswith("worker")}
    for beat in beats:
        view = readiness.process_view(beat, now)
        tick = view["last_tick_s_ago"]
        health = (f"{view['status']} ({view['phase']}, {view['partitions']} partitions"
                  f"{'' if tick is None else f', tick {tick} s ago'})")
        samples = by_pid.get(beat.pid)
        rows.append(Row(names.get(beat.pid, "worker"), str(beat.pid), health,
                        events(samples, "kontakt_worker_consumer_lag_events"),
                        ago(samples, "kontakt_worker_last_batch_timestamp_seconds", now)))
    reported = {b.pid for b in beats}
    for pid, name in sorted(names.items(), key=lambda kv: kv[1]):
        if pid not in reported:
            rows.append(Row(name, str(pid), "starting (no report yet)"))
    return rows


def collect(settings: Settings, now: float | None = None) -> list[Row]:
    """The table's rows; empty when nothing of the platform runs."""
    from services.sink.service import is_embedded

    now = time.time() if now is None else now
    host = settings.api_host
    running = ProcessSupervisor(settings.data_dir).running()
    api = f"http://{host}:{settings.api_port}"
    health = _get_json(f"{api}/health")
    beats = readiness.current(readiness.read_beats(readiness.status_dir(settings.data_dir)),
                              now, socket.gethostname())
    rows: list[Row] = []
    if health is not None or "api" in running:
        rows.append(api_row(health, running.get("api")))
        if health is not None and settings.sink_in_api and is_embedded(settings):
            rows.append(sink_row("sink (in api)", scrape(f"{api}/metrics"), now,
                                 str(running.get("api", DASH))))
    if settings.sink_metrics_port:
        own = scrape(metrics_url(settings, settings.sink_metrics_port))
        if own is not None or "sink" in running:
            rows.append(sink_row("sink", own, now, str(running.get("sink", DASH))))
    rows.extend(worker_rows(beats, worker_metrics(settings, len(beats)), now, running))
    if "notifier" in running or settings.notify_rules:
        rows.append(notifier_row(settings, running.get("notifier")))
    return rows if any(r.health not in ("stopped",) for r in rows) else []


def metrics_url(settings: Settings, port: int) -> str:
    """Where a process's /metrics answers (a wildcard address is asked on the loopback)."""
    host = settings.metrics_host
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}/metrics"


def worker_metrics(settings: Settings, reported: int) -> dict[int, Samples]:
    """Each answering worker metrics port's samples, by the worker's pid."""
    base = settings.worker_metrics_port
    if not base:
        return {}
    out = {}
    for port in range(base, base + max(settings.worker_processes, reported)):
        samples = scrape(metrics_url(settings, port), timeout_s=1.0)
        pid = total(samples, "kontakt_worker_pid")
        if samples is not None and pid:
            out[int(pid)] = samples
    return out


def notifier_row(settings: Settings, pid: int | None) -> Row:
    samples = None
    if settings.notifier_metrics_port:
        samples = scrape(metrics_url(settings, settings.notifier_metrics_port))
    if pid is None and samples is None:
        return Row("notifier", DASH, "stopped")
    sent = total(samples, "kontakt_notifier_deliveries_total")
    failed = total(samples, "kontakt_notifier_failures_total")
    health = ("running" if samples is None
              else f"ok ({sent or 0:.0f} sent, {failed or 0:.0f} failed)")
    return Row("notifier", str(pid or DASH), health)


def render(rows: list[Row]) -> str:
    head = Row("process", "pid", "health", "lag", "last batch", "warehouse freshness")
    table = [head, *rows]
    fields = list(Row.__dataclass_fields__)
    widths = [max(len(getattr(r, f)) for r in table) for f in fields]
    return "\n".join("  ".join(getattr(r, f).ljust(w) for f, w in zip(fields, widths, strict=True))
                     .rstrip() for r in table)
