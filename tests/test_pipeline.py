"""End to end with real models, real audio and real PostgreSQL: quality is asserted with numbers."""

from __future__ import annotations

from pathlib import Path

import jiwer
import pytest

from vidscribe_flows.ingest import ingest_video
from vidscribe.stages import diarize as diarize_module
from vidscribe.stages.diarize import diarize
from vidscribe.stages.embed import embed_texts
from vidscribe.stages.monologue import check_monologue, other_voice_probe
from vidscribe.stages.transcribe import transcribe
from vidscribe.stages.decode import decode
from vidscribe.db import get_engine, get_video, search, segment_count, video_segments
from vidscribe.stages.enroll import enroll

NORMALIZE = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
                           jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])


def word_error_rate(reference: str, hypothesis: str) -> float:
    return jiwer.wer(reference, hypothesis, reference_transform=NORMALIZE, hypothesis_transform=NORMALIZE)


def test_sample_word_error_rate(settings, sample):
    transcript = transcribe(decode(Path(sample["audio"]), settings.audio_cache_dir), settings)
    reference = " ".join(piece["text"] for piece in sample["transcription"])
    wer = word_error_rate(reference, transcript.text)
    print(f"WER on pyannote's sample: {wer:.1%}")
    assert wer <= 0.25


class PipelineSpy:
    """Counts how often pyannote's diarization pipeline runs (the monologue check may load it for its
    segmentation model, which is not a diarization)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = diarize_module.diarize_window

        def counting(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(diarize_module, "diarize_window", counting)


def test_monologue_fast_path_skips_diarization(settings, voices, monkeypatch):
    spy = PipelineSpy(monkeypatch)
    for path, expect_monologue in ((voices.monologue, True), (voices.dialogue, False)):
        audio = decode(path, settings.audio_cache_dir)
        transcript = transcribe(audio, settings)
        before = spy.calls
        diarization = check_monologue(audio, settings, transcript) or diarize(audio, settings)
        assert diarization.skipped is expect_monologue, diarization.reason
        assert spy.calls - before == (0 if expect_monologue else 1)
        assert len(diarization.speakers) == (1 if expect_monologue else 2)


def test_the_segmentation_probe_hears_a_second_voice_only_in_a_dialogue(settings, voices):
    """The monologue check's second look: pyannote's segmentation model on 10 s stretches of the speech."""
    heard = {}
    for name in ("monologue", "dialogue"):
        audio = decode(getattr(voices, name), settings.audio_cache_dir)
        heard[name] = other_voice_probe(audio, settings, transcribe(audio, settings))
    print(f"seconds of a second voice in the probes: {heard}")
    assert heard["monologue"] < 0.5 < settings.monologue_other_voice_seconds <= heard["dialogue"]


def test_assume_monologue_setting_forces_the_fast_path(settings, voices):
    audio = decode(voices.dialogue, settings.audio_cache_dir)
    transcript = transcribe(audio, settings)
    forced = settings.model_copy(update={"assume_monologue": True})
    assert check_monologue(audio, forced, transcript).skipped
    never = settings.model_copy(update={"assume_monologue": False})
    assert check_monologue(audio, never, transcript) is None


def speaker_time_fractions(segments, turns, reference: str, name: str) -> float:
    """Of the speech time whose reference speaker is `reference`, the fraction labelled `name`."""
    total = named = 0.0
    for seg in segments:
        overlap = {}
        for start, end, who in turns:
            shared = min(seg.end, end) - max(seg.start, start)
            if shared > 0:
                overlap[who] = overlap.get(who, 0.0) + shared
        if overlap and max(overlap, key=overlap.get) == reference:
            total += seg.end - seg.start
            named += (seg.end - seg.start) if seg.speaker == name else 0.0
    return named / total


def test_enrolled_voice_is_named_in_a_dialogue(settings, voices, prefect_api):
    enroll("Alice", voices.alice_references, settings)
    result = ingest_video(str(voices.dialogue), force=True)  # names come from the profile just enrolled
    segments = video_segments(get_engine(settings), result.video_id)
    alice = speaker_time_fractions(segments, voices.dialogue_turns, "Alice", "Alice")
    bob_as_alice = speaker_time_fractions(segments, voices.dialogue_turns, "Bob", "Alice")
    print(f"Alice named on {alice:.1%} of her speech; Bob given her name on {bob_as_alice:.1%} of his")
    assert alice >= 0.90
    assert bob_as_alice == 0.0
    assert len({s.speaker for s in segments}) == 2


def test_sample_is_stored_once_and_searchable(settings, sample, prefect_api):
    engine = get_engine(settings)
    first = ingest_video(str(sample["audio"]), force=True)  # other test modules may have stored it already
    count = segment_count(engine, first.video_id)
    assert count >= 3 and first.diarization == "diarized"
    assert ingest_video(str(sample["audio"])).skipped_reason == "already stored"
    second = ingest_video(str(sample["audio"]), force=True)  # re-ingest replaces, never duplicates
    assert second.video_id == first.video_id and not second.skipped_reason
    assert segment_count(engine, first.video_id) == count
    assert get_video(engine, first.source_id).status == "done"

    hits = search(engine, embed_texts(["they call me a Yankee down here"], settings)[0], limit=3)
    print("top hit:", hits[0])
    assert "yankee" in hits[0].text.lower() and hits[0].source_id == first.source_id


def test_search_speaker_filter(settings, sample, voices, prefect_api):
    engine = get_engine(settings)
    ingest_video(str(voices.dialogue))
    query = embed_texts(["how often should I water tomato plants"], settings)[0]
    hits = search(engine, query, speaker="Alice", limit=5)
    assert hits and all(hit.speaker == "Alice" for hit in hits)
