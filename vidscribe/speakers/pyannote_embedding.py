"""A faster stand-in for pyannote's ONNX WeSpeaker embedding inside its diarization pipeline (issue #14).

Why: on a CPU, three quarters of pyannote's diarization time is the speaker embedding of every (10 s window,
local speaker) pair. pyannote's `ONNXWeSpeakerPretrainedSpeakerEmbedding` computes the window's Kaldi fbank
once per local speaker (three times the same features), and embeds all of a speaker's speech in the window;
CAM++ costs about 0.14 ms of CPU per 10 ms frame, linear in frames. This class takes its place at
`pipeline._embedding` with the same interface: the fbank is computed once per window, a speaker without
enough active frames is skipped before any work, and `max_seconds` keeps only the middle part of a long
speaker. With `max_seconds=None` its embeddings equal pyannote's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from pyannote.audio.pipelines.speaker_verification import ONNXWeSpeakerPretrainedSpeakerEmbedding

#: Kaldi fbank frames per second (10 ms shift, as pyannote's WeSpeaker features)
FRAMES_PER_SECOND = 100


class FastOnnxEmbedding:
    """pyannote's ONNX WeSpeaker embedding (`inner`), with the fbank shared by a window's local speakers and
    at most `max_seconds` of speech per embedding. CPU only: `to()` keeps it where it is."""

    def __init__(self, inner: ONNXWeSpeakerPretrainedSpeakerEmbedding, max_seconds: float | None = None):
        self.inner = inner
        self.max_seconds = max_seconds
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None  # (window waveform, its fbank)

    def __getattr__(self, name: str) -> object:
        """What SpeakerDiarization reads of its embedding (sample_rate, dimension, metric, min_num_samples,
        min_num_frames, device) is the inner embedding's."""
        if name == "inner":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def to(self, device: torch.device) -> FastOnnxEmbedding:
        return self

    def _fbank(self, waveform: torch.Tensor) -> torch.Tensor:
        """The fbank of one window; pyannote passes each window once per local speaker, one after the other
        (a window split over two batches is matched too: the last window is kept, compared sample by sample)."""
        import torch

        last = self._last
        if last is not None and last[0].shape == waveform.shape and torch.equal(last[0], waveform):
            return last[1]
        features = self.inner.compute_fbank(waveform[None])[0]
        self._last = (waveform, features)
        return features

    def __call__(self, waveforms: torch.Tensor, masks: torch.Tensor | None = None) -> np.ndarray:
        """(batch, 1, samples) windows and (batch, frames) speaker masks -> (batch, dimension) embeddings,
        NaN for a speaker with too little speech (as pyannote)."""
        import torch.nn.functional as F

        if masks is None:
            return self.inner(waveforms)
        embeddings = np.full((waveforms.shape[0], self.dimension), np.nan)
        max_frames = None if self.max_seconds is None else round(self.max_seconds * FRAMES_PER_SECOND)
        for i, (waveform, mask) in enumerate(zip(waveforms, masks)):
            if not bool(mask.any()):
                continue  # an inactive local speaker: pyannote computes its fbank only to drop it
            features = self._fbank(waveform)
            active = F.interpolate(mask[None, None], size=features.shape[0], mode="nearest")[0, 0] > 0.5
            selected = features[active]
            if selected.shape[0] < self.min_num_frames:
                continue
            if max_frames is not None and selected.shape[0] > max_frames:
                start = (selected.shape[0] - max_frames) // 2
                selected = selected[start:start + max_frames]
            embeddings[i] = self.inner.session_.run(
                output_names=["embs"], input_feed={"feats": selected.numpy(force=True)[None]})[0][0]
        return embeddings
