"""Long recordings: streamed decoding and windowed ASR and diarization, measured on real speech.

The recording (tests/speech.py `build_conversation`) is 2.7 minutes of four voices: espeak-ng's two and the
two real ones of pyannote's sample, each coming back after a minute or more of other speech. With 45 s
windows it is four windows, so the windowed results can be compared with the whole-recording ones.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from vidscribe.stages.diarize import diarize, diarize_window
from vidscribe.stages.transcribe import transcribe, transcribe_waveform
from tests.speech import Conversation, build_conversation
from tests.test_pipeline import word_error_rate
from vidscribe.audio import AudioRef, ffmpeg_binary, ffmpeg_command
from vidscribe.stages.decode import decode
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings
from vidscribe.speakers.linking import link_speakers, relabel
from vidscribe.transcript import Diarization, Transcript, Turn
from vidscribe.windows import plan_windows

WINDOW_SECONDS = 45.0


@pytest.fixture(scope="module")
def conversation(tmp_path_factory: pytest.TempPathFactory) -> Conversation:
    return build_conversation(tmp_path_factory.mktemp("long") / "conversation.wav")


@pytest.fixture(scope="module")
def audio(settings: Settings, conversation: Conversation) -> AudioRef:
    return decode(conversation.path, settings.audio_cache_dir)


@pytest.fixture(scope="module")
def windowed(settings: Settings) -> Settings:
    return settings.model_copy(update={"window_seconds": WINDOW_SECONDS})


@pytest.fixture(scope="module")
def whole(settings: Settings, audio: AudioRef) -> tuple[Transcript, Diarization]:
    """The recording as one window (the default window is 30 minutes)."""
    assert len(plan_windows(audio, settings.window_seconds)) == 1
    return transcribe(audio, settings), diarize(audio, settings)


@pytest.fixture(scope="module")
def in_windows(windowed: Settings, audio: AudioRef) -> tuple[Transcript, Diarization]:
    return transcribe(audio, windowed), diarize(audio, windowed)


def der(conversation: Conversation, audio: AudioRef, diarization: Diarization) -> float:
    reference, hypothesis = Annotation(), Annotation()
    for start, end, who in conversation.turns:
        reference[Segment(start, end)] = who
    for turn in diarization.turns:
        hypothesis[Segment(turn.start, turn.end)] = turn.speaker
    return DiarizationErrorRate(collar=0.0)(reference, hypothesis, uem=Timeline([Segment(0, audio.duration)]))


def test_streaming_decode_is_bit_identical(settings: Settings, conversation: Conversation, tmp_path: Path) -> None:
    """The streamed cache file is byte for byte what the old in-memory path saved (compressed input)."""
    compressed = tmp_path / "conversation.mp3"
    subprocess.run([ffmpeg_binary(), "-nostdin", "-loglevel", "error", "-i", str(conversation.path), "-b:a", "64k",
                    str(compressed)], check=True)
    old = io.BytesIO()
    np.save(old, np.frombuffer(subprocess.run(ffmpeg_command(compressed), capture_output=True, check=True).stdout,
                               dtype=np.float32))
    audio = decode(compressed, tmp_path / "cache")
    assert audio.path.read_bytes() == old.getvalue()
    assert audio.duration == len(audio.load()) / audio.sample_rate > 150
    assert not list((tmp_path / "cache").glob("*.partial.npy"))


DECODE_PEAK = """
import resource, sys
from pathlib import Path
from vidscribe.stages.decode import decode
decode(Path(sys.argv[1]), Path(sys.argv[2]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_decode_memory_does_not_grow_with_duration(tmp_path: Path) -> None:
    """Peak RSS of decoding 20 minutes matches 1 minute's; the old path held 2-3 copies (77 MB each)."""
    peaks = {}
    for minutes in (1, 20):
        media = tmp_path / f"tone-{minutes}.mp3"
        subprocess.run([ffmpeg_binary(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        f"sine=frequency=440:duration={minutes * 60}", "-b:a", "64k", str(media)], check=True)
        run = subprocess.run([sys.executable, "-c", DECODE_PEAK, str(media), str(tmp_path / "cache")],
                             capture_output=True, text=True, check=True)
        peaks[minutes] = int(run.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB
    print(f"decode peak RSS: 1 min {peaks[1]:.0f} MiB, 20 min {peaks[20]:.0f} MiB")
    assert peaks[20] - peaks[1] < 16


def test_cuts_fall_in_pauses(windowed: Settings, audio: AudioRef) -> None:
    windows = plan_windows(audio, windowed.window_seconds)
    assert len(windows) == 4
    assert windows[0].start == 0 and windows[-1].stop == len(audio.load())
    assert all(a.stop == b.start for a, b in zip(windows, windows[1:]))
    assert all(w.stop - w.start <= (WINDOW_SECONDS + 5) * audio.sample_rate for w in windows)
    samples = audio.read().astype(np.float64)
    loudness = np.sqrt(np.mean(np.square(samples)))
    for window in windows[1:]:
        around = samples[window.start - audio.sample_rate // 10: window.start + audio.sample_rate // 10]
        quiet = np.sqrt(np.mean(np.square(around))) / loudness
        print(f"cut at {window.offset:.2f} s: RMS of the 0.2 s around it {quiet:.1%} of the recording's")
        assert quiet < 0.02


def _label_pairs(whole: Diarization, ours: Diarization) -> set[tuple[str, str]]:
    """(pyannote's label, ours) of each turn, after checking the turns' spans are the same."""
    spans = sorted((t.start, t.end, t.speaker) for t in whole.turns), sorted((t.start, t.end, t.speaker)
                                                                            for t in ours.turns)
    assert [span[:2] for span in spans[0]] == [span[:2] for span in spans[1]]
    return {(a[2], b[2]) for a, b in zip(*spans)}


def test_one_window_is_exactly_the_whole_recording(settings: Settings, sample: dict) -> None:
    """Below `window_seconds`, both stages give what running their model on the whole waveform gives: the
    same text, and pyannote's turns, relabelled by first appearance, with a voice it split joined again."""
    audio = decode(Path(sample["audio"]), settings.audio_cache_dir)
    assert transcribe(audio, settings) == transcribe_waveform(np.asarray(audio.load()), settings)
    whole = diarize_window(settings, np.array(audio.load()))
    unmerged = _label_pairs(whole, diarize(audio, settings.model_copy(update={"speaker_merge_threshold": 1.0})))
    assert len(unmerged) == len({a for a, _ in unmerged}) == len({b for _, b in unmerged})  # one to one
    merged = _label_pairs(whole, diarize(audio, settings))
    assert len(merged) == len({a for a, _ in merged}) > len({b for _, b in merged})  # two labels became one


def test_windowed_word_error_rate(conversation: Conversation, whole, in_windows) -> None:
    wer_whole = word_error_rate(conversation.text, whole[0].text)
    wer_windows = word_error_rate(conversation.text, in_windows[0].text)
    print(f"WER whole {wer_whole:.1%}, in {WINDOW_SECONDS:.0f} s windows {wer_windows:.1%}")
    # Whisper tiny's WER here moves by 4 points on any change of context: with 0.5 s of silence put before
    # the whole recording it is 16.4% instead of 12.3% (measured); windows change the context as much.
    assert abs(wer_windows - wer_whole) <= 0.05
    assert in_windows[0].duration == whole[0].duration
    starts = [w.start for w in in_windows[0].words]
    assert starts == sorted(starts)  # windows joined in order, times in the recording's base


def test_windowed_diarization_error_rate(conversation: Conversation, audio: AudioRef, whole, in_windows) -> None:
    der_whole, der_windows = der(conversation, audio, whole[1]), der(conversation, audio, in_windows[1])
    print(f"DER whole {der_whole:.1%}, in {WINDOW_SECONDS:.0f} s windows {der_windows:.1%}")
    assert der_windows <= der_whole + 0.05
    diarize_calls = [job for job in get_runtime().scheduler.jobs if job.model == "diarize"]
    assert diarize_calls and all(job.peak_vram_mib is None for job in diarize_calls)  # CPU: nothing measured


def test_a_voice_keeps_its_label_in_every_window(windowed: Settings, conversation: Conversation, audio: AudioRef,
                                                 in_windows) -> None:
    """Speaker-linking accuracy, on the window-speakers pyannote got right.

    Within a window the output's labels are pyannote's own speakers of that window (linking never joins two
    of them). Each window-speaker that is mostly one voice (>= 80% of its time) must carry the label that
    voice has in the other windows, and no two voices may share a label. A window-speaker mixing voices is
    pyannote's error inside its window (DER counts it), not a linking error.
    """
    seconds: dict[tuple[int, str], Counter[str]] = {}  # (window, label) -> reference voice -> seconds
    for index, window in enumerate(plan_windows(audio, windowed.window_seconds)):
        start, stop = window.offset, window.stop / audio.sample_rate
        for turn in in_windows[1].turns:
            for a, b, voice in conversation.turns:
                shared = min(b, turn.end, stop) - max(a, turn.start, start)
                if shared > 0:
                    seconds.setdefault((index, turn.speaker), Counter())[voice] += shared
    voice_of = {key: counter.most_common(1)[0][0] for key, counter in seconds.items()
                if counter.most_common(1)[0][1] >= 0.8 * counter.total()}
    label_of = {voice: Counter(label for (_, label), v in voice_of.items() if v == voice).most_common(1)[0][0]
                for voice in set(voice_of.values())}
    accuracy = np.mean([label == label_of[voice] for (_, label), voice in voice_of.items()])
    print(f"linking: {accuracy:.0%} of {len(voice_of)} single-voice window-speakers (of {len(seconds)}) carry "
          f"their voice's label; {label_of}")
    assert accuracy == 1.0
    assert len(set(label_of.values())) == len(label_of) == 4
    assert len(voice_of) >= 0.8 * len(seconds)
    labels = sorted({t.speaker for t in in_windows[1].turns})
    assert labels == [f"SPEAKER_{i:02d}" for i in range(len(labels))]


def _unit(degrees: float) -> np.ndarray:
    return np.array([np.cos(np.radians(degrees)), np.sin(np.radians(degrees))])


def test_two_speakers_of_one_window_join_only_at_the_stricter_merge_threshold() -> None:
    """pyannote told them apart: voices 0.87 alike (above the linking threshold) stay two speakers in one
    window while windows link; voices 0.97 alike are one voice that pyannote split, unless joining them would
    leave one voice."""
    a, near, b = _unit(0), _unit(30), _unit(90)  # cos(a, near) = 0.87
    clusters = link_speakers([{"S0": a, "S1": near}, {"S0": a, "S1": b}], threshold=0.8, merge_threshold=0.9)
    assert clusters[(0, "S0")] != clusters[(0, "S1")]
    assert clusters[(1, "S1")] not in (clusters[(0, "S0")], clusters[(0, "S1")])
    split = link_speakers([{"S0": a, "S1": _unit(14), "S2": b}], threshold=0.8, merge_threshold=0.9)
    assert split[(0, "S0")] == split[(0, "S1")] != split[(0, "S2")]
    # but never down to one voice: whether a second voice speaks at all is pyannote's call
    pair = link_speakers([{"S0": a, "S1": _unit(14)}], threshold=0.8, merge_threshold=0.9)
    assert pair[(0, "S0")] != pair[(0, "S1")]
    turns = relabel([[Turn(0, 1, "S1"), Turn(1, 2, "S0")], [Turn(5, 6, "S0"), Turn(6, 7, "S2")]], clusters)
    # window 1's S0 is one of window 0's voices; its S2 has no voice vector, so it keeps a label of its own
    assert [t.speaker for t in turns] == ["SPEAKER_00", "SPEAKER_01", turns[2].speaker, "SPEAKER_02"]
    assert turns[2].speaker in ("SPEAKER_00", "SPEAKER_01")
