"""Transactional ids for the ingest producers: stable per API process, unique among live ones.

Stable, because a restarted process that takes the same id aborts, at its first
init_transactions(), whatever transaction its crashed predecessor left open -- instead of
read_committed consumers stalling at that transaction until its timeout. Unique, because two
live producers with one id fence each other on every request.

The id is ``<prefix>.<digest of host and data_dir>.<slot>``: the slot is the lowest number
whose lock file (data_dir/ingest-slots/<n>.lock) no live process holds. flock() locks die
with their process, so a restarted process gets its old slot back; two processes (or two
apps in one process) on one data_dir get different slots.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from pathlib import Path
from typing import IO

MAX_SLOTS = 256


class SlotLease:
    """Holds one slot's lock file open (locked) until release()."""

    def __init__(self, slot: int, handle: IO[bytes]) -> None:
        self.slot = slot
        self._handle: IO[bytes] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the flock
            self._handle = None


def claim_slot(directory: Path) -> SlotLease:
    """The lowest free slot under ``directory``, locked for this process."""
    directory.mkdir(parents=True, exist_ok=True)
    for slot in range(MAX_SLOTS):
        handle = (directory / f"{slot}.lock").open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return SlotLease(slot, handle)
    raise RuntimeError(f"all {MAX_SLOTS} ingest producer slots under {directory} are taken")


def transactional_id(prefix: str, data_dir: Path, slot: int, host: str | None = None) -> str:
    """``prefix.<8 hex of host:data_dir>.<slot>``: deployments sharing a broker differ."""
    where = f"{host or socket.gethostname()}:{os.path.realpath(data_dir)}"
    return f"{prefix}.{hashlib.sha256(where.encode()).hexdigest()[:8]}.{slot}"
