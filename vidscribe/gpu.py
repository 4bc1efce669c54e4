"""Device choice, VRAM measurement and the model memory budget shared by every model-heavy stage."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from vidscribe.settings import Settings


def resolve_device(setting: str) -> str:
    """`auto` becomes `cuda` when a CUDA device is visible, else `cpu`; `cuda` without one is an error."""
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


@dataclass
class VramPeak:
    """Peak CUDA memory allocated inside a `measure_vram` block, in MiB (None on CPU)."""

    mib: float | None = None


@contextlib.contextmanager
def measure_vram(device: str) -> Iterator[VramPeak]:
    """Measure the peak VRAM a block allocates, so each stage can report it (the diarization spike check)."""
    peak = VramPeak()
    if device != "cuda":
        yield peak
        return
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    try:
        yield peak
    finally:
        torch.cuda.synchronize()
        peak.mib = torch.cuda.max_memory_allocated() / 2**20


def model_budget_mib(settings: "Settings", device: str) -> float | None:
    """Memory loaded models may use on `device`: the explicit budget, else a fraction of the card; none on
    a CPU unless given explicitly (resident memory is not the scarce resource there)."""
    if settings.model_memory_budget_mib is not None:
        return settings.model_memory_budget_mib
    if not device.startswith("cuda"):
        return None
    from vidscribe.gpu_telemetry import nvml

    total = nvml.total_mib if nvml.start() else torch.cuda.get_device_properties(0).total_memory / 2**20
    return settings.vram_budget_fraction * total
