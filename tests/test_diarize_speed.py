"""The CPU speed settings of diarization (issue #14): the faster per-window embedding is pyannote's, only
cheaper; the shared embeddings stay close to pyannote's and keep its speakers apart; the settings reach the
pipeline."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import torch
from pyannote.audio.pipelines.speaker_verification import ONNXWeSpeakerPretrainedSpeakerEmbedding

from vidscribe.settings import Settings
from vidscribe.speakers.pyannote_embedding import FastOnnxEmbedding
from vidscribe.speakers.shared_frames import SharedFrameEmbeddings, split_model
from vidscribe.stages.diarize import load_diarization_pipeline


def _windows_and_masks(sample: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Two 10 s windows of the sample, each once per local speaker (as pyannote batches them), and masks:
    speech, other speech, nothing (589 frames, segmentation-3.0's resolution)."""
    waveform = sample["waveform"][0]
    windows = [waveform[start * 16000:(start + 10) * 16000][None] for start in (8, 18)]
    masks = torch.zeros(6, 589)
    masks[0, :300] = masks[1, 300:] = masks[3, 100:400] = masks[4, 400:] = 1.0
    return torch.stack([w for w in windows for _ in range(3)]), masks


def test_fast_embedding_equals_pyannote(settings: Settings, sample: dict) -> None:
    pyannote = ONNXWeSpeakerPretrainedSpeakerEmbedding(str(settings.speaker_model))
    waveforms, masks = _windows_and_masks(sample)
    expected = pyannote(waveforms, masks=masks)
    fast = FastOnnxEmbedding(pyannote)
    calls = []
    compute = pyannote.compute_fbank
    pyannote.compute_fbank = lambda w: calls.append(1) or compute(w)
    got = fast(waveforms, masks=masks)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=0, atol=1e-6)
    assert len(calls) == 2  # one fbank per window, not per local speaker; none for the silent speaker

    fast.max_seconds = 1.0  # below the setting's bound (3 s): only to see the crop
    cropped = fast(waveforms, masks=masks)
    assert not np.allclose(cropped[0], got[0]) and np.isnan(cropped[2]).all()


def test_speed_settings_reach_the_pipeline(settings: Settings) -> None:
    tuned = settings.model_copy(update={"device": "cpu", "diarization_step": 0.3,  # 0.3 x 10 s windows
                                        "diarization_embeddings": "per_window",
                                        "diarization_embedding_max_seconds": 3.0})
    pipeline = load_diarization_pipeline(tuned)
    own_threshold = pipeline.clustering.threshold
    assert pipeline._segmentation.step == 3.0
    assert isinstance(pipeline._embedding, FastOnnxEmbedding) and pipeline._embedding.max_seconds == 3.0
    assert not isinstance(pipeline.get_embeddings, SharedFrameEmbeddings)

    shared = tuned.model_copy(update={"diarization_step": 0.1, "diarization_embeddings": "shared",
                                      "diarization_shared_threshold": 0.45})
    pipeline = load_diarization_pipeline(shared)
    assert pipeline._segmentation.step == 1.0  # the cached pipeline follows the current settings
    assert isinstance(pipeline.get_embeddings, SharedFrameEmbeddings)
    assert pipeline.clustering.threshold == 0.45  # not the default: the setting reached it

    pipeline = load_diarization_pipeline(tuned)  # and back: pyannote's embeddings at the config's threshold
    assert not isinstance(pipeline.get_embeddings, SharedFrameEmbeddings)
    assert pipeline.clustering.threshold == own_threshold


def _window_embeddings(settings: Settings, sample: dict) -> tuple[np.ndarray, np.ndarray]:
    """pyannote's embeddings of the sample's (window, local speaker) pairs, and the shared ones of the same
    binarized segmentation."""
    exact_settings = settings.model_copy(update={"device": "cpu", "diarization_embeddings": "per_window",
                                                 "diarization_embedding_max_seconds": None})
    pipeline = load_diarization_pipeline(exact_settings)
    captured = {}
    own = pipeline.get_embeddings

    def capture(self, file, segmentations, exclude_overlap=False, hook=None):
        captured.update(file=file, segmentations=segmentations, exclude_overlap=exclude_overlap)
        captured["exact"] = own(file, segmentations, exclude_overlap=exclude_overlap, hook=hook)
        return captured["exact"]

    pipeline.get_embeddings = types.MethodType(capture, pipeline)
    try:
        with torch.inference_mode():
            pipeline({"waveform": sample["waveform"], "sample_rate": sample["sample_rate"]})
    finally:
        vars(pipeline).pop("get_embeddings")
    shared = SharedFrameEmbeddings(pipeline._embedding.inner, split_model(str(settings.speaker_model)))
    return captured["exact"], shared(captured["file"], captured["segmentations"], captured["exclude_overlap"])


def test_shared_embeddings_are_close_to_pyannotes_and_keep_its_speakers_apart(settings: Settings,
                                                                               sample: dict) -> None:
    exact, shared = _window_embeddings(settings, sample)
    both = ~np.isnan(exact[..., 0]) & ~np.isnan(shared[..., 0])
    assert both.sum() >= 0.9 * (~np.isnan(exact[..., 0])).sum()  # nearly every speaker pyannote embeds
    x, y = (e[both] / np.linalg.norm(e[both], axis=1, keepdims=True) for e in (exact, shared))
    cosine = (x * y).sum(axis=1)
    assert cosine.mean() >= 0.85, cosine
    # the two voices as pyannote's embeddings tell them apart (two clusters, average cosine linkage), and the
    # shared embeddings: closer within a voice than between the two
    from scipy.cluster.hierarchy import fcluster, linkage

    labels = fcluster(linkage(x, method="average", metric="cosine"), 2, criterion="maxclust")
    similarity = y @ y.T
    same = labels[:, None] == labels[None]
    assert similarity[same].mean() - similarity[~same].mean() >= 0.1, (similarity[same].mean(),
                                                                      similarity[~same].mean())


def test_a_model_without_statistics_pooling_keeps_pyannotes_embeddings() -> None:
    import faster_whisper

    vad = Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"
    assert vad.is_file()
    assert split_model(str(vad)) is None


def test_shared_embeddings_of_less_than_one_fbank_frame_are_empty(settings: Settings) -> None:
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    pipeline = load_diarization_pipeline(settings.model_copy(update={"device": "cpu",
                                                                     "diarization_embeddings": "shared"}))
    shared = pipeline.get_embeddings
    assert isinstance(shared, SharedFrameEmbeddings)
    everyone = SlidingWindowFeature(np.ones((1, 589, 3)), SlidingWindow(start=0.0, duration=10.0, step=1.0))
    embeddings = shared({"waveform": torch.zeros(1, 300), "sample_rate": 16000}, everyone, True)  # 19 ms
    assert embeddings.shape == (1, 3, pipeline._embedding.dimension) and np.isnan(embeddings).all()
