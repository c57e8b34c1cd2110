"""The README's demo, as a newcomer runs it: `kontakt demo` brings the platform up, feeds it a
simulated utility in real time, and within five minutes the board shows breaches and an
outage storm; Ctrl-C stops everything, and no log has an error in it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.kafka import free_port
from tests.integration.test_platform import _processes_under

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

LIMIT_S = 300


def test_demo_shows_breaches_and_a_storm_within_five_minutes(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    api_port = free_port()
    kafka_port = free_port()
    env = {
        **os.environ,
        "KONTAKT_DATA_DIR": str(data_dir),
        "KONTAKT_KAFKA_PORT": str(kafka_port),
        "KONTAKT_KAFKA_CONTROLLER_PORT": str(free_port()),
        "KONTAKT_KAFKA_HEAP": "256m",
        "KONTAKT_API_PORT": str(api_port),
    }
    out = (tmp_path / "demo.out").open("w+")
    demo = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "demo"],
        env=env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        # As from a non-interactive shell's background job: SIGINT ignored, inherited by us.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    started = time.monotonic()
    seen: dict[str, float] = {}
    try:
        key = None
        while time.monotonic() - started < LIMIT_S and len(seen) < 2:
            assert demo.poll() is None, Path(out.name).read_text()
            time.sleep(2)
            if key is None:
                match = re.search(r"read key (kk_\S+)", Path(out.name).read_text())
                if match is None:
                    continue
                key = match.group(1)
            snapshot = httpx.get(
                f"http://127.0.0.1:{api_port}/api/board/snapshot",
                headers={"X-API-Key": key}, timeout=10,
            ).json()
            if any(a["alert"] == "breached" for a in snapshot["feed"]):
                seen.setdefault("breach", time.monotonic() - started)
            if snapshot["storms"]:
                seen.setdefault("storm", time.monotonic() - started)
        print(f"demo: first breach after {seen.get('breach')} s, storm after {seen.get('storm')} s")
        assert set(seen) == {"breach", "storm"}, Path(out.name).read_text()
    finally:
        code, left_running = _interrupt(demo, data_dir)
    output = Path(out.name).read_text()
    assert code == 0, output
    assert "demo: stopping" in output and "kafka: stopped" in output
    logs = {p.name: p.read_text() for p in (data_dir / "logs").glob("*.log")}
    for name, text in logs.items():
        bad = [line for line in text.splitlines() if re.search(r"\b(ERROR|Error|Traceback)", line)]
        assert bad == [], f"{name}: {bad[:5]}"
    assert left_running == []


def _interrupt(demo: subprocess.Popen[str], data_dir: Path) -> tuple[int | None, list[str]]:
    """Ctrl-C, as a user stops the demo. Returns its exit code (None: it did not stop) and what
    of the platform was still running after it; whatever happens, nothing is left running."""
    code = None
    try:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=90)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _processes_under(data_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _processes_under(data_dir)
        # `kontakt up` starts the broker, worker and API in sessions of their own.
        for line in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    return code, left
