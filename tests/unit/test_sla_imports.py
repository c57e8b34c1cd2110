"""The SLA core stays pure: importing all of streams.sla pulls in no broker, warehouse,
Avro or HTTP library (checked in a fresh interpreter so other tests cannot mask it)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import streams.sla

FORBIDDEN = ("faust", "kafka", "aiokafka", "clickhouse_driver", "chdb", "fastavro", "fastapi")


def test_sla_core_imports_no_infrastructure() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(streams.sla.__path__, "streams.sla."))
    assert "streams.sla.clock" in modules and "streams.sla.replay" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=60)
    loaded = json.loads(out.stdout)
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert bad == [], f"the pure core imports {bad}"
