"""Whether the stream workers are ready: they hold their partitions and their deadline timer runs.

A worker that has started is not yet useful: it joins its consumer group (after a crash the group
first waits out the dead member's session), recovers its table and rebuilds its deadline heap.
Until then a call already past its norm breaches late. So each worker process reports its phase
in a small JSON file, ``data_dir/run/workers/<host>-<pid>.json``; once it runs, its deadline
timer rewrites it, so the file's last tick is the proof that the timer runs:

- ``joining``: no partitions yet (joining the group, or a rebalance in progress);
- ``recovering``: partitions assigned, table recovery / heap rebuild / seek not finished;
- ``ready``: recovered, the rebalance over, and the deadline timer has run since.

It is written when the process starts, at once when the phase changes (faust's rebalance
signals, the timer's ticks) and every HEARTBEAT_EVERY_S otherwise, and removed on a graceful
stop. The API's /health and `kontakt up` read the files (:func:`worker_health`).
A file, not an HTTP probe on the worker: it needs no port per worker process, and whoever
shares the data dir (`kontakt up`; in docker-compose a volume) can read it.

Pure apart from reading and writing those files; every instant is passed in (wall-clock epoch
seconds: the writer and the reader are different processes).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

JOINING = "joining"
RECOVERING = "recovering"
READY = "ready"
#: A worker rewrites its file at least this often while its phase stays the same (s).
HEARTBEAT_EVERY_S = 1.0
#: A ready worker whose timer has not ticked for this long is reported stalled (s).
STALL_AFTER_S = 5.0
#: A file of another host (container) not rewritten for this long is a worker that is gone (s).
FORGET_AFTER_S = 300.0
#: What a worker that is not ready is doing, in words.
STARTING_DETAIL = "joining group / recovering"


def status_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "run" / "workers"


def phase_of(recovered: bool, rebalancing: bool, partitions: int) -> str:
    """The worker's phase from what faust shows: ``recovered`` (the table's recovery callback
    rebuilt the heap since the last revocation), ``rebalancing`` (faust's flag, cleared only
    once recovery has sought and resumed the partitions) and the partitions it holds."""
    if recovered and not rebalancing:
        return READY
    return RECOVERING if partitions or recovered else JOINING


@dataclass(frozen=True)
class Beat:
    """One worker's report, as written to its file."""

    host: str
    pid: int
    phase: str
    since: float  # when it entered the phase
    last_tick: float | None  # its deadline timer's last tick (None: no tick yet)
    partitions: int  # partitions of the events topic it holds
    started_at: float
    written_at: float

    @property
    def name(self) -> str:
        return f"{self.host}-{self.pid}"


class Beacon:
    """The worker's side. ``observe`` records the phase (from faust's rebalance signals, and
    from every deadline-timer tick via ``tick``) and writes the file when the phase or the
    partitions changed, or when the last write is HEARTBEAT_EVERY_S old. faust starts the
    timers only once the first recovery is over, so until then the signals are all there is.
    ``close`` removes the file."""

    def __init__(self, directory: Path, host: str, pid: int, now: float) -> None:
        self.path = directory / f"{host}-{pid}.json"
        self.beat = Beat(host, pid, JOINING, now, None, 0, now, now)
        self._written: float | None = None

    def observe(self, now: float, phase: str, partitions: int, *, tick: bool = False) -> bool:
        """Record the phase at ``now``; True when the file was (re)written."""
        old = self.beat
        changed = phase != old.phase or partitions != old.partitions
        if not changed and self._written is not None and now - self._written < HEARTBEAT_EVERY_S:
            self.beat = replace(old, last_tick=now if tick else old.last_tick)
            return False
        self.beat = Beat(old.host, old.pid, phase, now if phase != old.phase else old.since,
                         now if tick else old.last_tick, partitions, old.started_at, now)
        write_beat(self.path, self.beat)
        self._written = now
        return True

    def tick(self, now: float, recovered: bool, rebalancing: bool, partitions: int) -> bool:
        """A deadline-timer tick, with what faust shows at that instant (see phase_of)."""
        return self.observe(now, phase_of(recovered, rebalancing, partitions), partitions,
                            tick=True)

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


def write_beat(path: Path, beat: Beat) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(asdict(beat)))
    os.replace(tmp, path)


def read_beats(directory: Path) -> list[Beat]:
    beats = []
    for path in sorted(directory.glob("*.json")):
        try:
            beats.append(Beat(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue  # removed under us, or not ours
    return beats


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs (a zombie -- killed, not yet reaped -- does
    not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: kill(0) is all we know
    return state not in ("Z", "X")


def current(beats: Iterable[Beat], now: float, host: str,
            alive: Callable[[int], bool] = pid_alive) -> list[Beat]:
    """The beats of workers that may still run: on this host, those whose process lives (a
    SIGKILLed worker leaves its file); of other hosts, those written in FORGET_AFTER_S."""
    return [b for b in beats
            if (alive(b.pid) if b.host == host else now - b.written_at <= FORGET_AFTER_S)]


def prune(directory: Path, now: float, host: str,
          alive: Callable[[int], bool] = pid_alive) -> None:
    """Remove the files of workers that are gone (a starting worker does this)."""
    keep = {b.name for b in current(read_beats(directory), now, host, alive)}
    for path in directory.glob("*.json"):
        if path.stem not in keep:
            with contextlib.suppress(OSError):
                path.unlink()


def process_view(beat: Beat, now: float) -> dict[str, Any]:
    """One worker as /health shows it: status starting, ready or stalled."""
    tick_age = None if beat.last_tick is None else round(max(0.0, now - beat.last_tick), 1)
    if beat.phase != READY:
        status = "starting"
    else:
        status = "stalled" if tick_age is None or tick_age > STALL_AFTER_S else "ready"
    return {
        "name": beat.name,
        "pid": beat.pid,
        "status": status,
        "phase": beat.phase,
        "partitions": beat.partitions,
        "in_phase_s": round(max(0.0, now - beat.since), 1),
        "last_tick_s_ago": tick_age,
    }


def worker_health(beats: Iterable[Beat], now: float, expected: int) -> dict[str, Any]:
    """The worker component of /health from the current beats (see :func:`current`).

    ready: at least ``expected`` workers report, and every one is ready; stalled: one is ready
    but its timer stopped; starting: one is joining or recovering, or fewer than expected have
    reported yet; missing: none reports."""
    processes = [process_view(b, now) for b in beats]
    statuses = {p["status"] for p in processes}
    if not processes:
        status, detail = "missing", "no worker reports its state (is `kontakt worker` running?)"
    elif "stalled" in statuses:
        worst = max(p["last_tick_s_ago"] or 0 for p in processes if p["status"] == "stalled")
        status, detail = "stalled", (f"a worker's deadline timer has not run for {worst:g} s "
                                     f"(more than {STALL_AFTER_S:g} s)")
    elif "starting" in statuses or len(processes) < expected:
        status, detail = "starting", f"worker still starting ({STARTING_DETAIL})"
    else:
        status, detail = "ready", "holds its partitions; the deadline timer runs"
    ages = [p["last_tick_s_ago"] for p in processes if p["last_tick_s_ago"] is not None]
    return {
        "status": status,
        "detail": detail,
        "expected": expected,
        "last_tick_s_ago": max(ages) if ages else None,
        "processes": processes,
    }


def overall(api_ok: bool, worker_status: str) -> str:
    """ok (everything ready), starting (the API is up, the worker still starting) or
    degraded (a backend down, the worker stalled or missing)."""
    if not api_ok or worker_status in ("stalled", "missing"):
        return "degraded"
    return "ok" if worker_status == "ready" else "starting"
