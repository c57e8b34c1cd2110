"""The README cannot rot: every setting is documented in its configuration table, every
documented variable is a setting, and its two commands are the ones the Makefile and CI run."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from services.cli.platform import settings_table
from services.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_configuration_table_is_exactly_what_kontakt_config_prints() -> None:
    """Text, not sets: a duplicated, reordered or stale row fails (a duplicate once passed)."""
    start = README.index("| variable | default | meaning |")
    documented = README[start : README.index("\n\n", start)]
    generated = settings_table(load_settings())
    assert documented == generated, "\n".join(
        difflib.unified_diff(
            documented.splitlines(), generated.splitlines(), "README.md",
            "kontakt config --markdown", lineterm="",
        )
    )


def test_configuration_table_lists_every_setting_once() -> None:
    documented = re.findall(r"^\| `(KONTAKT_[A-Z0-9_]+)` \|", README, re.M)
    fields = [f"KONTAKT_{name.upper()}" for name in Settings.model_fields]
    assert documented == fields


def test_two_commands_are_real_make_targets_and_ci_runs_the_test_one() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, re.M), f"no `{target}` target in Makefile"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def _snippet(name: str) -> tuple[str, str]:
    """The ```sh block after `<!-- readme-snippet: NAME -->` and the ```text block after it."""
    after = README.split(f"<!-- readme-snippet: {name} -->", 1)[1]
    script = re.search(r"```sh\n(.*?)```", after, re.S)
    shown = re.search(r"```text\n(.*?)```", after, re.S)
    assert script and shown
    return script.group(1), shown.group(1)


def test_replay_snippet_prints_what_the_readme_shows(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script, shown = _snippet("replay")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown
