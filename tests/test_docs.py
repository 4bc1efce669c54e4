"""The README stays true: every setting is documented, and the documented commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from vidscribe.app.cli import app
from vidscribe.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme_table():
    missing = []
    for name, field in Settings.model_fields.items():
        names = list(field.validation_alias.choices) if field.validation_alias else [f"VIDSCRIBE_{name.upper()}"]
        if not any(re.search(rf"`{n}`|`{n.split('_', 1)[1]}` \(or `VIDSCRIBE_…`\)", README) for n in names):
            missing.append(names[0])
    assert not missing, f"settings missing from README.md: {missing}"


def test_readme_commands_exist():
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    groups = {g.name for g in app.registered_groups}
    documented = set(re.findall(r"(?:^|bin/|`)vidscribe ([a-z-]+)", README, re.MULTILINE))
    assert {"ingest", "search", "voices", "backfill", "retry", "prefect-setup"} <= documented
    assert documented <= commands | groups, documented - commands - groups


def test_the_readme_table_gives_each_setting_its_default():
    """A default written as a number, true/false or a `literal` in the settings table is the code's default
    (the table once said 0.6 for a threshold the code had moved to 0.55)."""
    rows = dict(re.findall(r"^\| `([A-Z_]+)`[^|]*\| ([^|]+?) \|", README, re.MULTILINE)[::-1])  # first row wins
    checked, wrong = 0, []
    for name, field in Settings.model_fields.items():
        names = list(field.validation_alias.choices) if field.validation_alias else [f"VIDSCRIBE_{name.upper()}"]
        cell = next((rows[n] for n in names if n in rows), None)
        if cell is None or not re.fullmatch(r"-?\d+(\.\d+)?|true|false|`[^`]+`", cell):
            continue  # "per profile", "unset", prose: nothing to compare
        default = field.default
        written = cell.strip("`")
        if isinstance(default, bool):
            same = written == str(default).lower()
        elif isinstance(default, int | float):
            same = float(written) == float(default)
        else:
            same = written == str(default)
        checked += 1
        if not same:
            wrong.append(f"{names[0]}: README {cell}, code {default!r}")
    assert checked >= 30, checked  # the table's plain defaults were read
    assert not wrong, wrong
