"""The API's local operator token: how `kontakt` commands on the same machine reach the
running API (its warehouse) without an API key.

At start-up the API writes a fresh random token to ``data_dir/run/api.token`` (mode 0600, the
owner of the data directory only); the token is worth an operator key (scopes admin and
sql-all) for as long as that API runs. Whoever can read it could as well open the stopped
platform's warehouse directory, so it grants nothing the file system does not.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PREFIX = "kl_"


def token_path(data_dir: Path) -> Path:
    return data_dir / "run" / "api.token"


def write_token(data_dir: Path) -> str:
    """A new token, written atomically with mode 0600; returns it."""
    path = token_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = PREFIX + secrets.token_urlsafe(32)
    tmp = path.with_name(f".api.token.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token)
    os.replace(tmp, path)
    return token


def read_token(data_dir: Path) -> str | None:
    try:
        return token_path(data_dir).read_text(encoding="ascii").strip() or None
    except (FileNotFoundError, PermissionError):
        return None


def remove_token(data_dir: Path, token: str) -> None:
    """Remove the file if it still holds ``token`` (a newer API may have replaced it)."""
    if read_token(data_dir) == token:
        with contextlib.suppress(FileNotFoundError):
            token_path(data_dir).unlink()
