"""Speaker embeddings from an ONNX model that takes fbank features (`feats`) and returns `embs`.

Why ONNX: the offline profile's CAM++ and users' WeSpeaker models share this convention, and pyannote's own
WeSpeaker loader runs the same file during diarization. Computing the features exactly as that loader does
(`FbankSpec`) keeps our speaker vectors in the same space as the ones pyannote clusters, and needs neither
the model's training code nor a GPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from vidscribe.speakers.encoder import l2_normalize
from vidscribe.speakers.fbank import FbankSpec
from vidscribe.speakers.keys import onnx_key


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

    def __init__(self, path: str, device: str = "cpu", batch_size: int = 16, threads: int | None = None) -> None:
        model_path = Path(path)
        if not model_path.is_file():
            raise FileNotFoundError(f"{model_path}: no such speaker model; run `vidscribe models prepare`")
        self.path = model_path
        self.batch_size = batch_size
        self.fbank = FbankSpec.for_model(model_path)
        options = ort.SessionOptions()
        # `threads` per call, as every model of a CPU worker (VIDSCRIBE_TORCH_THREADS): onnxruntime's default of
        # all cores oversubscribes them while the model slots run (456 word clips of the peer corpus, 2 cores:
        # 4.3-4.5 CPU s on one thread, 5.7-9.1 with the default)
        options.intra_op_num_threads = threads or 0
        self.session = ort.InferenceSession(str(model_path), sess_options=options, providers=_providers(device))
        self.key = onnx_key(model_path)
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
