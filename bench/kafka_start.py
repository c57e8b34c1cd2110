"""How long the local broker takes to format + start, and how much CPU it burns doing so.

Baseline: the JVM's default options (tiered C2 JIT, G1) without a class-data archive, as
kafka-server-start.sh would roughly run it. Compared with Kontakt's default options (serial GC,
C1 only) without and with the AppCDS archive (services/local/jvm_cds.py). Variants alternate so that
load from other processes hits them alike; CPU seconds (user+sys of the JVMs, format and broker
until it answers metadata) are less sensitive to such load than wall time.

Run: .venv/bin/python bench/kafka_start.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from local_broker import free_port  # bench/ sibling (sys.path[0])

import services.local.kafka as localkafka
from services.local.kafka import LocalBroker, kafka_libs
from services.settings import Settings, load_settings

VARIANTS = {
    "baseline: JVM defaults, no CDS": ("", False),
    "serial GC + C1, no CDS": ("-XX:+UseSerialGC -XX:TieredStopAtLevel=1", False),
    "serial GC + C1 + CDS (default)": ("-XX:+UseSerialGC -XX:TieredStopAtLevel=1", True),
}


def broker_settings(data_dir: Path, kafka_jvm_opts: str) -> Settings:
    return load_settings(
        data_dir=data_dir,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_heap="256m",
        kafka_jvm_opts=kafka_jvm_opts,
    )


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime in clock ticks


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(opts: str, cds: bool) -> tuple[float, float]:
    original = localkafka.cds_options
    if not cds:
        localkafka.cds_options = lambda *a, **k: []  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = broker_settings(Path(tmp), kafka_jvm_opts=opts)
            broker = LocalBroker(settings)
            before = _children_cpu_s()
            began = time.monotonic()
            broker.start(timeout_s=120)
            wall = time.monotonic() - began
            status = broker.status()
            assert status.pid is not None
            cpu = _children_cpu_s() - before + _proc_cpu_s(status.pid)
            broker.stop()
            return wall, cpu
    finally:
        localkafka.cds_options = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not (kafka_libs(load_settings()) / "kafka_2.13-4.1.1.jar").is_file():
        raise SystemExit("run 'bash deploy/kafka/fetch.sh' first")
    run_once(*VARIANTS["serial GC + C1 + CDS (default)"])  # makes sure the archive exists
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, (opts, cds) in VARIANTS.items():
            results[name].append(run_once(opts, cds))
    base_wall = statistics.median(w for w, _ in results[next(iter(VARIANTS))])
    base_cpu = statistics.median(c for _, c in results[next(iter(VARIANTS))])
    header = f"{'variant':34} {'wall s (median)':>16} {'CPU s (median)':>15}"
    print(f"{header} {'wall x':>7} {'CPU x':>6}")
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:34} {wall:16.2f} {cpu:15.2f} {wall / base_wall:7.2f} {cpu / base_cpu:6.2f}")
    print(f"rounds: {args.rounds}; format + start until the broker answers metadata")
    default = results["serial GC + C1 + CDS (default)"]
    print("RESULT " + json.dumps({  # one machine-readable line for bench/run_all.py
        "bench": "kafka_start", "rounds": args.rounds, "baseline_wall_s": base_wall,
        "baseline_cpu_s": base_cpu, "default_wall_s": statistics.median(w for w, _ in default),
        "default_cpu_s": statistics.median(c for _, c in default)}))


if __name__ == "__main__":
    main()
