"""The packaged multilingual Whisper base: joined from its two PyPI packages, loaded by faster-whisper, and able
to tell German speech (espeak-ng) from English, which the offline profile's tiny.en cannot."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.db_fixtures import make_settings
from vidscribe.offline_models import WHISPER_BASE_PARTS, _package_file, prepare_offline_models, prepare_whisper_base
from vidscribe.settings import Settings

GERMAN = ("Guten Morgen. Heute sprechen wir über das Wetter in Deutschland. Morgen wird es regnen, aber am "
          "Wochenende scheint die Sonne wieder.")


def parts_size() -> int:
    return sum(_package_file(package, relative).stat().st_size for package, relative in WHISPER_BASE_PARTS)


def files_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def whisper_base(settings: Settings) -> Path:
    """The folder `prepare_offline_models` (run by the session's settings fixture) assembled."""
    assert settings.language_id_model is not None
    return Path(settings.language_id_model)


def test_prepare_assembles_whisper_base_once(settings: Settings, whisper_base: Path) -> None:
    assert whisper_base == settings.models_dir / "whisper-base"
    before = files_state(whisper_base)
    assert set(before) == {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}  # no partial file left
    assert before["model.bin"][0] == parts_size() > 100_000_000
    prepare_offline_models(settings.models_dir)
    assert files_state(whisper_base) == before  # prepared: nothing is written again


def test_a_truncated_model_is_joined_again(tmp_path: Path) -> None:
    folder = prepare_whisper_base(tmp_path / "whisper-base")
    model = folder / "model.bin"
    size = model.stat().st_size
    with model.open("r+b") as handle:  # e.g. a copy of an older package, or a disk that filled up
        handle.truncate(1000)
    prepare_whisper_base(folder)
    assert model.stat().st_size == size == parts_size()
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json",
                                                        "vocabulary.json"]


def test_whisper_base_is_multilingual_and_hears_german(whisper_base: Path, tmp_path: Path) -> None:
    from faster_whisper import WhisperModel

    model = WhisperModel(str(whisper_base), device="cpu", compute_type="int8")
    assert model.model.is_multilingual
    wav = tmp_path / "german.wav"
    subprocess.run(["espeak-ng", "-v", "de", "-s", "130", "-w", str(wav), GERMAN], check=True)
    segments, info = model.transcribe(str(wav), vad_filter=True)  # without VAD, base can loop on silence
    text = " ".join(s.text for s in segments).lower()
    print(f"detected {info.language} ({info.language_probability:.2f}): {text}")
    assert info.language == "de"
    assert "wetter" in text and "deutschland" in text


def test_profiles_name_their_language_id_model(tmp_path: Path) -> None:
    offline = make_settings(tmp_path)
    assert offline.language_id_model == str(tmp_path / "models" / "whisper-base")
    packaged = make_settings(tmp_path, asr_model="base")  # `base` in the offline profile: the packaged one
    assert packaged.asr_model == packaged.language_id_model == str(tmp_path / "models" / "whisper-base")
    assert make_settings(tmp_path, asr_model="/models/my-whisper").asr_model == "/models/my-whisper"
    gpu = make_settings(tmp_path, profile="gpu")
    assert (gpu.language_id_model, gpu.asr_model) == ("base", "distil-large-v3")
    assert make_settings(tmp_path, profile="gpu", asr_model="base").asr_model == "base"  # downloaded there


def test_ensure_whisper_base_joins_it_only_where_a_setting_names_it(tmp_path: Path) -> None:
    from vidscribe.offline_models import ensure_whisper_base

    ensure_whisper_base(make_settings(tmp_path / "gpu", profile="gpu"))  # "base": faster-whisper downloads it
    ensure_whisper_base(make_settings(tmp_path / "own", language_id_model="/models/elsewhere"))
    assert not (tmp_path / "gpu" / "models").exists() and not (tmp_path / "own" / "models").exists()
    ensure_whisper_base(make_settings(tmp_path / "offline"))
    assert (tmp_path / "offline" / "models" / "whisper-base" / "model.bin").stat().st_size == parts_size()
