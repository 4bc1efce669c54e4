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
