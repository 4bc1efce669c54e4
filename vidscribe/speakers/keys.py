"""The key of a speaker model's embedding space: which voice profiles its vectors can be compared with.

Why computed without the model: `vidscribe doctor` checks stored profiles against the configured model, and must
start without torch; the encoders take their `key` from here too, so both always agree.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from vidscribe.speakers.fbank import FbankSpec


def onnx_key(model_path: Path) -> str:
    """An ONNX speaker model's space: its file and its input features (part of the space too)."""
    features = FbankSpec.for_model(model_path).to_json().encode()
    digest = hashlib.sha256(model_path.read_bytes() + features).hexdigest()[:12]
    return f"onnx:{model_path.name}:{digest}"


def speechbrain_key(source: str) -> str:
    """A SpeechBrain model's space: its local folder's name, or its hub id."""
    local = Path(source).expanduser()
    return f"speechbrain:{local.resolve().name}" if local.is_dir() else f"speechbrain:{source}"
