"""Run pytest with the wall clock moved to awkward instants, so no test depends on the hour.

CI may run at any hour of any day. A test that passes at 10:00 on a Tuesday and fails at 03:00
Moscow, at midnight UTC, on a Sunday, a public holiday or the last day of a month, fails CI on
those days. This runs the suite (or the pytest arguments given) under Debian's libfaketime with
the clock shifted so that *now* is one of those instants, for every process the suite starts
(Python, the Kafka broker's JVM, workers, APIs): a relative offset, so all of them agree and
time still passes at its real rate; the monotonic clock is not shifted.

Two things are not shifted: chdb (ClickHouse in-process) reads the clock without libc, and
Debian's clickhouse-server is started without libfaketime (under it, it never starts; see
tests/fixtures/clickhouse_server.py), so SQL's ``now()`` stays real. The platform never calls
it (every query gets ``now`` from Python), and ``tests/unit/test_clock_sweep.py`` keeps it so.

    python -m tests.clock_sweep                    # every instant, the whole suite
    python -m tests.clock_sweep --at sunday -- tests/unit -x
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

CLOCK_SITE = Path(__file__).resolve().with_name("clock_site")
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")

# name -> the instant "now" is moved to (each names why it is awkward)
INSTANTS: dict[str, str] = {
    "night-moscow": "2026-12-08T03:00:00+03:00",  # a Tuesday, 03:00 Moscow: the utility sleeps
    "utc-midnight": "2026-12-31T23:59:30+00:00",  # last second of a UTC day, month and year
    "sunday": "2026-12-13T12:00:00+03:00",  # a Sunday noon in Moscow
    "holiday": "2027-01-07T10:00:00+03:00",  # Orthodox Christmas, a Russian public holiday
    "month-end-moscow": "2027-02-28T21:30:00+00:00",  # 1 March 00:30 Moscow, still 28 Feb UTC
}


def faketime_env(instant: str, now_s: float | None = None) -> dict[str, str]:
    """The environment that makes ``instant`` the current time for every process started."""
    if not LIBFAKETIME.is_file():
        raise SystemExit(f"{LIBFAKETIME} not found: apt-get install -y libfaketime")
    offset = round(datetime.fromisoformat(instant).timestamp() - (now_s or _real_time()))
    java = shutil.which("java", path=os.environ.get("PATH", "").replace(str(CLOCK_SITE), ""))
    if java is None:
        raise SystemExit("java not found on PATH")
    preload = " ".join([str(LIBFAKETIME), *_preloaded_besides_faketime()])
    return {
        "LD_PRELOAD": preload,
        "FAKETIME": f"{offset:+d}s",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # timeouts and intervals stay real
        # ...and Python's time.sleep goes through select (see tests/clock_site/sitecustomize.py)
        # ...and the JVM (the broker) runs with the monotonic clock shifted (tests/clock_site/java)
        "KONTAKT_SWEEP_REAL_JAVA": java,
        "PATH": os.pathsep.join([str(CLOCK_SITE), os.environ.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(CLOCK_SITE), os.environ.get("PYTHONPATH")])
        ),
    }


def _preloaded_besides_faketime() -> list[str]:
    return [lib for lib in os.environ.get("LD_PRELOAD", "").split() if "libfaketime" not in lib]


def _real_time() -> float:
    """The unshifted wall clock, also inside a swept run (whose processes see a shifted one):
    a sweep started from a swept test moves the clock from the real time, not from the fake."""
    faked = len(_preloaded_besides_faketime()) < len(os.environ.get("LD_PRELOAD", "").split())
    shift = os.environ.get("FAKETIME", "")
    if faked and shift.startswith(("+", "-")) and shift.endswith("s"):
        return time.time() - float(shift[:-1])
    return time.time()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", action="append", choices=sorted(INSTANTS),
                        help="an instant by name (repeatable); default: all of them")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    failed = []
    for name in args.at or list(INSTANTS):
        env = {**os.environ, **faketime_env(INSTANTS[name])}
        print(f"clock sweep: now = {INSTANTS[name]} ({name}), FAKETIME={env['FAKETIME']}",
              flush=True)
        code = subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args], env=env)
        if code != 0:
            failed.append(f"{name} (exit {code})")
    if failed:
        print(f"clock sweep: failed at {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
