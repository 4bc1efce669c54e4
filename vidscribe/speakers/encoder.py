"""The speaker-encoder interface every speaker model implements.

Why an interface: ECAPA (SpeechBrain) is the production default, the offline profile uses CAM++ exported to
ONNX, and users bring WeSpeaker models; the monologue check and speaker identification only need
"clips in, L2-normalised vectors out", in batches.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SpeakerEncoder(Protocol):
    #: identifies the embedding space: voice profiles made with another key cannot be compared
    key: str
    dim: int

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """Embed 16 kHz mono float32 clips in batches; returns (len(clips), dim) L2-normalised rows."""
        ...


def l2_normalize(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)
