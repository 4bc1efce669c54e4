"""Loading a faster-whisper model: the ASR model and the language identifier load the same way.

Why one function: both are CTranslate2 Whisper models named by a setting (a hub name, a local folder, or the
offline profile's packaged Whisper base, joined from its packages on first use), on the configured device,
kept warm in the process's model registry under their role. CTranslate2 runs `num_workers` calls of one
model at once: with `model_slots` > 1 (a CPU worker) two videos are transcribed side by side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidscribe.cuda_libraries import preload_ctranslate2_cuda
from vidscribe.gpu import model_budget_mib, resolve_compute_type, resolve_device
from vidscribe.offline_models import ensure_whisper_base
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings

if TYPE_CHECKING:  # imported where a model loads
    from faster_whisper import WhisperModel


def load_faster_whisper(role: str, name: str, settings: Settings) -> WhisperModel:
    """The Whisper model `name` for `role` ("asr", "language_id"), loaded once per process."""
    device = resolve_device(settings.device)
    compute_type = resolve_compute_type(settings.compute_type, device)
    if device == "cuda":  # CTranslate2 dlopens cuBLAS 12 by name on its first GPU call
        preload_ctranslate2_cuda()
    from faster_whisper import WhisperModel

    def loader() -> WhisperModel:
        ensure_whisper_base(settings)  # the packaged multilingual model is joined from its parts on first use
        return WhisperModel(name, device=device, compute_type=compute_type,
                            download_root=str(settings.models_dir / "whisper"),
                            cpu_threads=settings.asr_cpu_threads or 0, num_workers=settings.model_slots)

    runtime = get_runtime()
    return runtime.models.get(role, name, device, compute_type, loader,
                              model_budget_mib(settings, device, runtime.nvml))
