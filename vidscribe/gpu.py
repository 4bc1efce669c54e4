"""Device choice and VRAM measurement shared by every model-heavy stage."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import torch


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


_GPU_SLOT = threading.Lock()


@contextlib.contextmanager
def gpu_slot() -> Iterator[None]:
    """Held while a model runs: one model-heavy step at a time per worker process.

    Why: a backfill runs several videos in threads so downloads and CPU stages overlap; two models running
    at once on one card would thrash its memory. CPU-only work (decoding, segmenting, storing) never takes it.
    """
    with _GPU_SLOT:
        yield
