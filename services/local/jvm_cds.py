"""Class-data sharing (AppCDS) for the local broker's JVM: a faster, cheaper start.

Most of a Kafka start on a small machine is the JVM loading and verifying ~6,000 classes. The
first broker run records them in a dynamic CDS archive at exit (-XX:ArchiveClassesAtExit);
later runs map it (-XX:SharedArchiveFile). The archive sits beside the jars in the cache, named
by a key of the JDK, the jars and the JVM options, so any change simply makes a new one. A JVM
that cannot use an archive ignores it with a warning, so this can only ever cost speed.

Dumps go to a unique temporary file that is renamed into place after the broker exited, so two
brokers dumping at once (parallel test sessions) never leave a torn archive.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path


def archive_path(java: str, libs: Path, jvm_options: Sequence[str]) -> Path:
    real = Path(os.path.realpath(java))
    parts = [str(real), *jvm_options]
    for candidate in (real, real.parent.parent / "lib" / "server" / "libjvm.so"):
        try:
            stat = candidate.stat()
            parts.append(f"{candidate}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{candidate}:missing")
    for jar in sorted(libs.glob("*.jar")):
        parts.append(f"{jar.name}:{jar.stat().st_size}")
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return libs.parent / f"broker-{key}.jsa"


def cds_options(archive: Path, pending_file: Path, *, dump: bool) -> list[str]:
    """JVM options that use ``archive`` if it exists, else (when ``dump``) record it at exit.

    ``pending_file`` remembers where the dump goes until :func:`finish_dump` moves it.
    """
    if archive.is_file():
        return [f"-XX:SharedArchiveFile={archive}"]
    if not dump or not os.access(archive.parent, os.W_OK):
        return []
    temporary = archive.with_name(f"{archive.name}.{uuid.uuid4().hex[:8]}.tmp")
    pending_file.write_text(f"{temporary}\n{archive}\n")
    return [f"-XX:ArchiveClassesAtExit={temporary}"]


def finish_dump(pending_file: Path, *, clean_exit: bool) -> None:
    """After the JVM exited: move a complete dump into place, drop a partial one."""
    try:
        temporary, archive = (Path(p) for p in pending_file.read_text().split())
    except (OSError, ValueError):
        return
    try:
        if clean_exit and temporary.is_file() and temporary.stat().st_size > 0:
            os.replace(temporary, archive)
        else:
            temporary.unlink(missing_ok=True)
    except OSError:
        pass
    pending_file.unlink(missing_ok=True)
