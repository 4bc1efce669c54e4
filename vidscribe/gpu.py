"""Device choice and the model memory budget shared by every model-heavy stage (VRAM is measured per model
call by the GPU scheduler)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidscribe.gpu_telemetry import NvmlSampler
    from vidscribe.settings import Settings


def resolve_device(setting: str) -> str:
    """`auto` becomes `cuda` when a CUDA device is visible, else `cpu`; `cuda` without one is an error."""
    import torch  # here, not at the top: commands that load no model must not load torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("VIDSCRIBE_DEVICE=cuda but no CUDA device is visible; set VIDSCRIBE_DEVICE=cpu or auto")
    return setting


def resolve_compute_type(setting: str, device: str) -> str:
    """CTranslate2 compute type: float16 on CUDA, int8 on CPU, unless set explicitly."""
    if setting != "auto":
        return setting
    return "float16" if device == "cuda" else "int8"


def model_budget_mib(settings: "Settings", device: str, nvml: "NvmlSampler") -> float | None:
    """Memory loaded models may use on `device`: the explicit budget, else a fraction of the card; none on
    a CPU unless given explicitly (resident memory is not the scarce resource there)."""
    if settings.model_memory_budget_mib is not None:
        return settings.model_memory_budget_mib
    if not device.startswith("cuda"):
        return None
    import torch

    total = nvml.total_mib if nvml.start() else torch.cuda.get_device_properties(0).total_memory / 2**20
    return settings.vram_budget_fraction * total
