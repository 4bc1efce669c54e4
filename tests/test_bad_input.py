"""Bad input through the flow: a clear error naming the input, the video recorded as failed, nothing stored
half-way (the CLI side of every case is `tests/test_cli_matrix.py`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.test_languages import GERMAN, write
from vidscribe.app.bench.speech import speak
from vidscribe_flows.ingest import ingest_video
from vidscribe.sources import local_info
from vidscribe.errors import BadInputError
from vidscribe.db import get_engine, get_video, segment_count
from vidscribe.settings import SettingsError, load_settings


#: A plucked arpeggio (C, E, G sharp, C, a note every half second, with two overtones): music without words.
PLUCKED_ARPEGGIO = ("0.25*exp(-4*mod(t,0.5))*(sin(2*PI*F*t)+0.5*sin(4*PI*F*t)+0.25*sin(6*PI*F*t))"
                    .replace("F", "261.63*pow(2,mod(floor(2*t),4)/3)"))


def synthesize(path: Path, source: str, seconds: float = 15) -> Path:
    """Write `seconds` of an ffmpeg lavfi audio source (noise, tones) as 16 kHz mono WAV.

    Why ffmpeg and not sox: ffmpeg is installed by the set-up (it decodes every recording); sox is not.
    """
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"{source}:d={seconds}", "-ar", "16000", "-ac", "1", str(path)], check=True, capture_output=True)
    return path


@pytest.fixture()
def bad_files(tmp_path: Path) -> dict[str, Path]:
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio at all\n" * 20)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16_000, dtype=np.float32), 16_000)  # one second of silence
    # 20 s of German: Whisper base identified 8 s of espeak's German as Thai (0.58) on an AMD EPYC and as German
    # on another CPU; language identification on a few seconds of synthetic speech is that fragile
    german, _ = write(tmp_path / "german.wav", [("de", speak(text, "de")) for text in GERMAN])
    return {"not audio": text, "empty": empty, "silent": silent,
            "noise": synthesize(tmp_path / "noise.wav", "anoisesrc=c=pink:a=0.3"),
            "music": synthesize(tmp_path / "music.wav", f"aevalsrc='{PLUCKED_ARPEGGIO}':s=16000"),
            "not english": german}


@pytest.mark.parametrize("kind, message", [("not audio", "not a readable audio"), ("empty", "empty"),
                                           ("silent", "silent"), ("noise", "no speech found"),
                                           ("music", "no speech found"), ("not english", "speech in 'de'")])
def test_bad_media_fails_cleanly(settings, prefect_api, bad_files, kind, message):
    engine = get_engine(settings)
    segments_before = segment_count(engine)
    path = bad_files[kind]
    with pytest.raises(BadInputError) as error:
        ingest_video(str(path))
    assert str(path) in str(error.value) and message in str(error.value)
    video = get_video(engine, local_info(path).source_id)
    assert video is not None and video.status == "failed" and message in video.error
    assert video.attempts == 1  # bad input is not retried
    assert segment_count(engine) == segments_before


def test_missing_file_names_the_path(settings, prefect_api, tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(BadInputError, match="nope.wav: no such file"):
        ingest_video(str(missing))


def test_bad_setting_is_named():
    with pytest.raises(SettingsError, match="VIDSCRIBE_EMBEDDING_BATCH_SIZE"):
        load_settings(embedding_batch_size=0)
