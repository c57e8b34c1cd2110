"""Runs the local platform's long-lived pieces as background processes.

`kontakt up` starts each component with its output in data_dir/logs/<name>.log and its pid in
data_dir/run/<name>.pid; `kontakt down` stops them (SIGTERM, then SIGKILL after a grace period)
so that no process is left behind. Nothing here knows what a component does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.readiness import pid_alive


@dataclass(frozen=True)
class Component:
    name: str
    argv: Sequence[str]
    #: environment variables of this component alone, over the supervisor's own
    env: Mapping[str, str] = field(default_factory=dict)


def kontakt_argv(*args: str) -> list[str]:
    """argv that runs a `kontakt` subcommand with this interpreter (works without PATH)."""
    return [sys.executable, "-m", "services.cli.main", *args]


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs. A zombie does not: ours is reaped here; one re-parented to an init
    that is slow to reap (a component of an earlier `kontakt up`, killed) still answers
    kill(0), so its state is read from /proc (readiness.pid_alive)."""
    if pid <= 0:  # 0 and -n name process groups to kill() and waitpid(), not a process
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return pid_alive(pid)


class ProcessSupervisor:
    def __init__(self, data_dir: Path) -> None:
        self.log_dir = data_dir / "logs"
        self.run_dir = data_dir / "run"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _pid_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        try:
            pid = int(self._pid_path(name).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def start(self, component: Component, env: Mapping[str, str] | None = None) -> int:
        """Start a component detached from the terminal; returns its pid."""
        existing = self.pid(component.name)
        if existing is not None:
            return existing
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path(component.name).open("ab") as log:
            proc = subprocess.Popen(
                list(component.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **component.env, **(env or {})},
                start_new_session=True,
            )
        self._pid_path(component.name).write_text(str(proc.pid))
        return proc.pid

    def running(self) -> dict[str, int]:
        if not self.run_dir.exists():
            return {}
        out = {}
        for path in sorted(self.run_dir.glob("*.pid")):
            pid = self.pid(path.stem)
            if pid is not None:
                out[path.stem] = pid
        return out

    def stop(self, name: str, grace_s: float = 15.0) -> bool:
        """Stop one component and its process group; True when something was stopped."""
        pid = self.pid(name)
        self._pid_path(name).unlink(missing_ok=True)
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return True
            time.sleep(0.1)
        _signal_group(pid, signal.SIGKILL)
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
