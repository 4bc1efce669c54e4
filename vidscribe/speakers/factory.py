"""Choose, load and cache the speaker encoder the settings ask for.

Why here and not in each stage: the monologue check and speaker identification must use the very same model
(their vectors are compared), and the model registry keeps it loaded across videos in a worker process.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from vidscribe.gpu import model_budget_mib, resolve_device
from vidscribe.offline_models import ensure_offline_models
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings, SettingsError
from vidscribe.speakers.encoder import SpeakerEncoder
from vidscribe.speakers.keys import onnx_key, speechbrain_key

#: A Hugging Face repository id ("owner/name"); any other spelling of the setting is a local path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def speaker_model(settings: Settings) -> tuple[str, str]:
    """(kind, name) of the configured speaker model: `onnx` or `speechbrain`, and a resolved local path or a
    hub id; a local path that is not a model is a `SettingsError` naming the setting. The offline profile's
    model is prepared first (`vidscribe.offline_models`)."""
    ensure_offline_models(settings)
    name = str(settings.speaker_model)
    kind = settings.speaker_encoder
    if kind == "auto":
        kind = "onnx" if name.lower().endswith(".onnx") else "speechbrain"
    if kind == "onnx" or not _is_hub_id(name):
        name = str(_require_local(name, kind))
    return kind, name


def speaker_model_key(settings: Settings) -> str:
    """The embedding space of the configured speaker model, without loading it (see `vidscribe.speakers.keys`)."""
    kind, name = speaker_model(settings)
    return onnx_key(Path(name)) if kind == "onnx" else speechbrain_key(name)


def load_speaker_encoder(settings: Settings) -> SpeakerEncoder:
    """The speaker encoder for `settings`, loaded once per (model, device, batch size) and then reused."""
    kind, name = speaker_model(settings)
    device = resolve_device(settings.speaker_device)
    batch_size = settings.speaker_batch_size

    def load() -> SpeakerEncoder:
        if kind == "onnx":
            from vidscribe.speakers.onnx_encoder import OnnxSpeakerEncoder

            return OnnxSpeakerEncoder(name, device=device, batch_size=batch_size, threads=settings.torch_threads)
        from vidscribe.speakers.speechbrain_encoder import SpeechBrainSpeakerEncoder

        if Path(name).is_dir():
            return SpeechBrainSpeakerEncoder(name, device=device, batch_size=batch_size)
        token = settings.hf_token.get_secret_value() if settings.hf_token else None
        savedir = settings.models_dir / "speechbrain" / _safe_name(name)
        try:
            return SpeechBrainSpeakerEncoder(name, device, batch_size, savedir=savedir, hf_token=token)
        except OSError as exc:  # huggingface_hub's offline, not-found and gated errors are all OSErrors
            raise RuntimeError(
                f"VIDSCRIBE_SPEAKER_MODEL={name}: could not fetch it from the Hugging Face hub "
                f"({type(exc).__name__}); check the name and the connection (offline it must already be in "
                f"{savedir}), and set HF_TOKEN for a gated or private model"
            ) from exc

    runtime = get_runtime()
    return runtime.models.get("speaker", f"{kind}:{name}:{batch_size}", device, "float32", load,
                              model_budget_mib(settings, device, runtime.nvml))


def speaker_slot(settings: Settings) -> contextlib.AbstractContextManager[None]:
    """The GPU slot when the speaker encoder runs on the GPU; none on the CPU, where it runs beside GPU work."""
    if resolve_device(settings.speaker_device) == "cuda":
        return get_runtime().scheduler.slot("speaker")
    return contextlib.nullcontext()


def _is_hub_id(name: str) -> bool:
    """True for "owner/name" spellings that are not an existing local folder."""
    return bool(_HUB_ID.match(name)) and not Path(name).expanduser().exists()


def _require_local(name: str, kind: str) -> Path:
    """The resolved local model path, or an error that names the setting and what it must be."""
    path = Path(name).expanduser().resolve()
    if kind == "onnx":
        ok, wanted = path.is_file(), "an .onnx file (`vidscribe models prepare` makes the offline one)"
    else:
        ok, wanted = (path / "hyperparams.yaml").is_file(), "a folder with hyperparams.yaml"
    if not ok:
        problem = "does not exist" if not path.exists() else f"is not {wanted}"
        raise SettingsError(
            f"VIDSCRIBE_SPEAKER_MODEL: the speaker model path {path} {problem}; give {wanted} "
            "or a Hugging Face id such as speechbrain/spkrec-ecapa-voxceleb"
        )
    return path


def _safe_name(name: str) -> str:
    """A folder name for a hub id: 'speechbrain/spkrec-ecapa-voxceleb' -> 'speechbrain--spkrec-ecapa-voxceleb'."""
    return re.sub(r"[^\w.-]+", "--", name).strip("-.") or "model"
