"""Every CLI module that defines commands is wired into `kontakt`, and every command has help."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from services.cli import main as cli_main

CLI_DIR = Path(cli_main.__file__).parent


def test_every_command_module_is_registered() -> None:
    defined = {
        f"services.cli.{path.stem}"
        for path in CLI_DIR.glob("*.py")
        if re.search(r"^def register\(", path.read_text(), re.M)
    }
    assert defined == set(cli_main.COMMAND_MODULES)


def _walk(command: object, path: str) -> list[tuple[str, object]]:
    found = [(path, command)]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found += _walk(sub, f"{path} {name}")
    return found


def test_every_command_has_help_text() -> None:
    cli_main._register()
    root = typer.main.get_command(cli_main.app)
    missing = [path for path, cmd in _walk(root, "kontakt") if not getattr(cmd, "help", None)]
    assert missing == []
