"""The suite's reaper: when pytest dies without a teardown, its watchdog kills what it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from tests.fixtures.reaper import MARKER_VAR, marked_processes

REPO = Path(__file__).resolve().parents[2]

# A stand-in for pytest: takes a marker, starts the watchdog, then a server-like child in a
# session of its own (as the fixtures start brokers), and waits to be killed.
FAKE_SUITE = textwrap.dedent("""
    import os, subprocess, sys, time
    from tests.fixtures.reaper import MARKER_VAR, start_watchdog
    os.environ[MARKER_VAR] = sys.argv[1]
    watchdog = start_watchdog(sys.argv[1], os.getpid())
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    print(child.pid, watchdog.pid, flush=True)
    time.sleep(300)
""")


def watchdog_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_children_die_when_the_suite_is_killed() -> None:
    marker = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k != MARKER_VAR}
    suite = subprocess.Popen([sys.executable, "-c", FAKE_SUITE, marker], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    child = watchdog = 0
    try:
        assert suite.stdout is not None
        child, watchdog = map(int, suite.stdout.readline().split())
        # /proc shows a process's exec-time env, and on a busy machine not always at once
        deadline = time.monotonic() + 5
        while set(marked_processes(marker)) != {child} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(marked_processes(marker)) == {child}, marked_processes(marker)
        os.killpg(suite.pid, signal.SIGKILL)  # no teardown, no atexit: a CI time limit
        suite.wait(timeout=10)
        # the watchdog (a Python that imports pytest) may still be starting on a loaded machine
        deadline = time.monotonic() + 30
        while marked_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marked_processes(marker) == {}, (marked_processes(marker), watchdog_alive(watchdog))
    finally:
        for pid in (child, watchdog):
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if suite.poll() is None:
            suite.kill()
            suite.wait(timeout=10)


def test_what_the_suite_starts_carries_the_marker() -> None:
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        # /proc may not show the new program's environment at once on a busy machine (it
        # failed once in CI, with another suite running): give it a few seconds
        deadline = time.monotonic() + 5
        while (child.pid not in marked_processes(os.environ[MARKER_VAR])
               and time.monotonic() < deadline):
            time.sleep(0.05)
        assert child.pid in marked_processes(os.environ[MARKER_VAR])
    finally:
        child.kill()
        child.wait(timeout=10)


def test_a_test_that_leaks_a_process_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent("""
        import subprocess
        def test_forgets_its_finally():
            subprocess.Popen(["sleep", "300"], start_new_session=True)
    """))
    env = {k: v for k, v in os.environ.items() if k != MARKER_VAR}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.fixtures.reaper",
         "-p", "no:cacheprovider", str(tmp_path / "test_leaky.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 1, run.stdout
    assert "1 passed" in run.stdout
    assert "processes left running by the tests (now killed)" in run.stdout
    assert "sleep 300" in run.stdout
