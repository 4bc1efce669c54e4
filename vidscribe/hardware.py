"""Hardware profiles: worker counts and batch sizes chosen from the GPU's memory, CPU cores and RAM.

Why: the batch sizes that keep a 80 GB card busy run a 16 GB card out of memory, and the number of videos in
flight that hides download time on a 16-core box thrashes a 2-core one. `VIDSCRIBE_HARDWARE_PROFILE=auto`
(the default) picks a tier from what it detects; any setting given explicitly wins over the tier.

The tiers' batch sizes follow the peak-memory figures in the README's tuning table (ASR batch and pyannote's
embedding batch are what drive VRAM); the CPU tier keeps the small defaults the CPU figures were measured with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import psutil

from vidscribe.gpu_telemetry import gpu_memory_mib

HardwareProfile = Literal["auto", "cpu", "gpu-16gb", "gpu-80gb", "none"]

_TIERS: dict[str, dict[str, float]] = {
    "cpu": {"asr_batch_size": 16, "embedding_batch_size": 8, "text_embedding_batch_size": 256,
            "speaker_batch_size": 16,
            # issue #14, on 2 cores, with the shared speaker embeddings (settings.diarization_embeddings),
            # diarization is 0.14 -> 0.05 CPU s per audio s, two thirds of it segmentation, which runs
            # fastest 4 windows at a time (0.032 against 0.037 at 16 and 0.045 at 64). pyannote's 1 s step
            # stays: at 1.5 s (0.041) 4 of the sample's 69 words went to the wrong speaker instead of 2.
            # Per-window embeddings, if chosen: at most 5 s each (3 s made voice pair B one voice).
            # Threads: cpu_model_threads.
            "segmentation_batch_size": 4, "diarization_embedding_max_seconds": 5.0},
    "gpu-16gb": {"asr_batch_size": 16, "embedding_batch_size": 16, "segmentation_batch_size": 32,
                 "text_embedding_batch_size": 256, "speaker_batch_size": 32},
    "gpu-80gb": {"asr_batch_size": 64, "embedding_batch_size": 64, "segmentation_batch_size": 128,
                 "text_embedding_batch_size": 1024, "speaker_batch_size": 128},
}


@dataclass(frozen=True)
class Hardware:
    gpu_mib: float | None  # memory of the worker's GPU, None without one
    cpu_cores: int
    ram_mib: float


def detect() -> Hardware:
    """What this worker has: its GPU (by NVML, honouring CUDA_VISIBLE_DEVICES), usable cores and RAM."""
    gpu = gpu_memory_mib()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return Hardware(gpu, cores, psutil.virtual_memory().total / 2**20)


def tier_for(hw: Hardware) -> str:
    """cpu without a GPU; gpu-80gb from 40 GB of card memory; gpu-16gb for the consumer cards below it."""
    if hw.gpu_mib is None:
        return "cpu"
    return "gpu-80gb" if hw.gpu_mib >= 40_000 else "gpu-16gb"


def tuned_values(profile: HardwareProfile, hw: Hardware) -> dict[str, float]:
    """The settings the profile chooses on `hw`: worker counts and batch sizes ({} for `none`: plain defaults)."""
    if profile == "none":
        return {}
    tier = tier_for(hw) if profile == "auto" else profile
    values = dict(_TIERS[tier])
    # One decoded video in flight per 4 GB of RAM at most; on a GPU, enough to hide downloads (3-6). On a CPU,
    # one more video than model slots: while one waits for the text-embedding batch or its download, the
    # other two keep both slots busy (peer corpus, 2 cores: 91.6 s with 2 in flight, 83.2 s with 3, 95.2 s
    # with 4).
    by_ram = max(1, int(hw.ram_mib // 4096))
    wanted = 3 if tier in ("cpu", "gpu-16gb") else 6
    values["backfill_parallel"] = max(1, min(wanted, by_ram))
    # The CPU pool (attribution, speaker ID, segments) leaves one core to decoding and the model thread.
    values["cpu_workers"] = max(1, hw.cpu_cores - 1)
    if tier == "cpu":
        values.update(cpu_model_threads(hw.cpu_cores))
    return values


def cpu_model_threads(cores: int) -> dict[str, int]:
    """Model calls at once, and threads per call, on a CPU-only worker (issue #14).

    Measured on 2 busy cores: one thread per call beats two (a 90 s transcription 6.5 s against 7.8 s, and
    CTranslate2's default of 4 threads 9.5 s; pyannote 4.7 s against 13.6 s, its threads spinning against the
    other work), and two calls side by side on one core each beat the same calls one after another on two
    (two transcriptions 9.3 s against 15.0 s; a diarization beside a transcription 9.1 s against 11.1 s).
    So: two slots, and the cores shared between them.
    """
    slots = min(cores, 2)
    threads = max(1, cores // slots)
    return {"model_slots": slots, "torch_threads": threads, "asr_cpu_threads": threads}
