"""The supervisor's notion of "runs": `kontakt up` starts what does not run, so a killed
component must not count as running (issue 19), even before anyone has reaped it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from services.local.supervisor import ProcessSupervisor, _pid_alive


def test_a_killed_child_does_not_run(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert _pid_alive(child.pid)
        child.send_signal(signal.SIGKILL)  # not waited for: a zombie until _pid_alive reaps it
        deadline = time.monotonic() + 10
        while _pid_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _pid_alive(child.pid)
    finally:
        child.kill()
        child.poll()


def test_a_pid_file_without_a_process_is_nothing(tmp_path: Path) -> None:
    supervisor = ProcessSupervisor(tmp_path)
    supervisor.run_dir.mkdir(parents=True)
    for text in ("0", "-1", "junk", ""):  # 0 and -1 would name process groups to kill()
        (supervisor.run_dir / "x.pid").write_text(text)
        assert supervisor.pid("x") is None
    assert supervisor.running() == {}
