"""The CPU speed settings of diarization (issue #14): the faster embedding is pyannote's, only cheaper, and
the step setting reaches pyannote's sliding window."""

from __future__ import annotations

import numpy as np
import torch
from pyannote.audio.pipelines.speaker_verification import ONNXWeSpeakerPretrainedSpeakerEmbedding

from vidscribe.settings import Settings
from vidscribe.speakers.pyannote_embedding import FastOnnxEmbedding
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
                                        "diarization_embedding_max_seconds": 3.0})
    pipeline = load_diarization_pipeline(tuned)
    assert pipeline._segmentation.step == 3.0
    assert isinstance(pipeline._embedding, FastOnnxEmbedding) and pipeline._embedding.max_seconds == 3.0
    pipeline = load_diarization_pipeline(tuned.model_copy(update={"diarization_step": 0.1}))
    assert pipeline._segmentation.step == 1.0  # the cached pipeline follows the current settings
