"""The log-mel features a speaker-embedding ONNX expects (torch is imported only to compute them).

Why apart from the encoder: the spec is part of a model's embedding space (`vidscribe.speakers.keys`), which is
needed without loading the model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vidscribe.audio import SAMPLE_RATE

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class FbankSpec:
    """The log-mel features an embedding ONNX expects.

    The defaults are what pyannote's `ONNXWeSpeakerPretrainedSpeakerEmbedding.compute_fbank` computes (Kaldi
    fbank on the waveform scaled to 16-bit range, Hamming window, no dither, per-clip mean normalisation),
    so a WeSpeaker ONNX without a sidecar file works as is.
    """

    sample_rate: int = SAMPLE_RATE
    num_mel_bins: int = 80
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    dither: float = 0.0
    window_type: str = "hamming"
    use_energy: bool = False
    waveform_scale: float = float(1 << 15)
    mean_normalize: bool = True

    @staticmethod
    def sidecar(model_path: Path) -> Path:
        """Where the spec of `model_path` is recorded: `<model>.fbank.json` next to it."""
        return model_path.with_suffix(".fbank.json")

    @classmethod
    def for_model(cls, model_path: Path) -> "FbankSpec":
        """The spec recorded next to the model, else pyannote's WeSpeaker defaults."""
        sidecar = cls.sidecar(model_path)
        return cls(**json.loads(sidecar.read_text())) if sidecar.exists() else cls()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @property
    def min_samples(self) -> int:
        """Kaldi fbank needs at least one full analysis window."""
        return int(self.sample_rate * self.frame_length_ms / 1000)

    def compute(self, clip: np.ndarray) -> torch.Tensor:
        """(frames, num_mel_bins) float32 features of one 16 kHz mono clip."""
        import torch
        from torchaudio.compliance import kaldi

        # a copy: clips are often views of the read-only memory-mapped cache, which torch refuses to wrap
        waveform = torch.from_numpy(np.array(clip, dtype=np.float32)).reshape(1, -1) * self.waveform_scale
        feats = kaldi.fbank(
            waveform,
            num_mel_bins=self.num_mel_bins,
            frame_length=self.frame_length_ms,
            frame_shift=self.frame_shift_ms,
            dither=self.dither,
            sample_frequency=self.sample_rate,
            window_type=self.window_type,
            use_energy=self.use_energy,
        )
        return feats - feats.mean(dim=0, keepdim=True) if self.mean_normalize else feats

