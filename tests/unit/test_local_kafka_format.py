"""LocalBroker's storage format: a failed format keeps its output, names the exception, and is
tried once more (a fake `java` stands for the JVM)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from services.errors import UserError
from services.local.kafka import LocalBroker
from services.settings import load_settings

TRACE = ("Exception in thread main java.lang.IllegalStateException: torn\\n"
         "\\tat kafka.tools.StorageTool.main(StorageTool.scala)")


def fake_java(tmp: Path, failures: int) -> str:
    """A `java` that fails (stack trace on stderr) ``failures`` times, then writes the
    formatted marker into the data dir given by the test."""
    count = tmp / "count"
    script = tmp / "java"
    script.write_text(f"""#!/bin/sh
n=$(cat {count} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > {count}
if [ $n -le {failures} ]; then printf '{TRACE}\\n' >&2; exit 1; fi
mkdir -p {tmp}/kontakt/kafka/data && touch {tmp}/kontakt/kafka/data/meta.properties
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def broker(tmp: Path) -> LocalBroker:
    return LocalBroker(load_settings(data_dir=tmp / "kontakt"))


def test_a_failed_format_is_tried_once_more(tmp_path: Path) -> None:
    b = broker(tmp_path)
    b._format_storage(fake_java(tmp_path, 1), tmp_path, tmp_path / "p", [])
    assert (b.data_path / "meta.properties").is_file()
    kept = (b.log_path.parent / "format.log").read_text()
    assert "attempt 1" in kept and "IllegalStateException: torn" in kept


def test_two_failures_name_the_exception_and_where_the_output_is(tmp_path: Path) -> None:
    b = broker(tmp_path)
    with pytest.raises(UserError) as caught:
        b._format_storage(fake_java(tmp_path, 2), tmp_path, tmp_path / "p", [])
    assert "failed twice" in str(caught.value)
    assert "IllegalStateException: torn" in str(caught.value)
    assert "format.log" in str(caught.value)
