"""Speaker embeddings from an ONNX model that takes fbank features (`feats`) and returns `embs`.

Why ONNX: the offline profile's CAM++ and users' WeSpeaker models share this convention, and pyannote's own
WeSpeaker loader runs the same file during diarization. Computing the features exactly as that loader does
(`FbankSpec`) keeps our speaker vectors in the same space as the ones pyannote clusters, and needs neither
the model's training code nor a GPU.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torchaudio.compliance import kaldi

from vidscribe.audio import SAMPLE_RATE
from vidscribe.speakers.encoder import l2_normalize


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


def _providers(device: str) -> list[str]:
    """CUDA when asked for and onnxruntime has it (the `onnxruntime-gpu` build), else CPU."""
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxSpeakerEncoder:
    """A `SpeakerEncoder` over an ONNX speaker model (input `feats` (batch, frames, mels), output `embs`).

    Batching: only clips with the same number of feature frames share a batch (`batch_size` at most). The
    models take no mask, and any padding changes the result: zeros or silence shift the pooled statistics,
    and even repeating the clip moved CAM++ embeddings by up to 0.02 in cosine (its context pooling and
    convolutions see the seams). Grouping keeps every embedding exactly what the clip gets alone, so a voice
    profile never depends on what else was in the batch; the usual inputs (fixed-length probes and speaker
    clips) still batch fully, and odd-length clips cost one small run each.
    """

    def __init__(self, path: str, device: str = "cpu", batch_size: int = 16) -> None:
        model_path = Path(path)
        if not model_path.is_file():
            raise FileNotFoundError(f"{model_path}: no such speaker model; run `vidscribe models prepare`")
        self.path = model_path
        self.batch_size = batch_size
        self.fbank = FbankSpec.for_model(model_path)
        self.session = ort.InferenceSession(str(model_path), providers=_providers(device))
        # the features are part of the embedding space, so they are part of its key
        digest = hashlib.sha256(model_path.read_bytes() + self.fbank.to_json().encode()).hexdigest()[:12]
        self.key = f"onnx:{model_path.name}:{digest}"
        self.dim = self._output_dim()

    def _output_dim(self) -> int:
        """The embedding size: from the graph when static, else from one dummy clip."""
        width = self.session.get_outputs()[0].shape[-1]
        if isinstance(width, int):
            return width
        noise = np.random.default_rng(0).standard_normal(self.fbank.sample_rate).astype(np.float32) * 0.1
        return int(self._run([self.fbank.compute(noise)]).shape[-1])

    def _run(self, feats: list[torch.Tensor]) -> np.ndarray:
        """Embed equally long feature sequences in one batch."""
        return self.session.run(["embs"], {"feats": torch.stack(feats).numpy()})[0]

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """Embed 16 kHz mono float32 clips in batches; returns (len(clips), dim) L2-normalised rows."""
        too_short = [i for i, clip in enumerate(clips) if len(clip) < self.fbank.min_samples]
        if too_short:
            raise ValueError(f"clips {too_short} are shorter than {self.fbank.min_samples} samples; cannot embed")
        out = np.empty((len(clips), self.dim), dtype=np.float32)
        with torch.inference_mode():
            feats = [self.fbank.compute(clip) for clip in clips]
            by_length: dict[int, list[int]] = {}
            for i, f in enumerate(feats):
                by_length.setdefault(f.shape[0], []).append(i)
            for same_length in by_length.values():
                for first in range(0, len(same_length), self.batch_size):
                    batch = same_length[first : first + self.batch_size]
                    out[batch] = self._run([feats[i] for i in batch])
        return l2_normalize(out)
