"""GPU telemetry from NVML: a background sampler of utilization and memory.

Why NVML and not torch: CTranslate2 (Whisper) allocates outside PyTorch's allocator, so only the driver sees
the whole card. Why a sampler: utilization is a rate the driver reports per interval; the fraction of time the
GPU was busy over a video or a backfill is the mean of the samples in that window. Without an NVIDIA driver
(`pynvml.nvmlInit` raises) everything still works and `status` says why there are no figures.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass

#: 0.2 s resolves the gaps between model calls; a day of samples at this rate fits the deque bound below
SAMPLE_SECONDS = 0.2
MAX_SAMPLES = 500_000


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    utilization: float  # 0..1, the driver's "GPU busy" over its last sampling period
    used_mib: float


@dataclass(frozen=True)
class WindowStats:
    busy_fraction: float | None
    peak_used_mib: float | None


def _visible_index() -> int:
    """NVML numbers cards physically; honour the first CUDA_VISIBLE_DEVICES entry (one worker per GPU)."""
    first = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip()
    return int(first) if first.isdigit() else 0


class NvmlSampler:
    """Samples the worker's GPU every `SAMPLE_SECONDS` in a daemon thread once `start()` is called."""

    def __init__(self) -> None:
        self._samples: deque[Sample] = deque(maxlen=MAX_SAMPLES)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.status = "not started"
        self.total_mib: float | None = None

    def start(self) -> bool:
        """Start sampling (once per process); False, with `status` saying why, when there is no NVML."""
        with self._lock:
            if self._thread is not None or self.status != "not started":
                return self._thread is not None
            try:
                import pynvml

                pynvml.nvmlInit()
                handle = pynvml.nvmlDeviceGetHandleByIndex(_visible_index())
                name = pynvml.nvmlDeviceGetName(handle)
                self.total_mib = pynvml.nvmlDeviceGetMemoryInfo(handle).total / 2**20
            except Exception as exc:  # ImportError or NVMLError (no driver, no device): no telemetry
                self.status = f"no GPU telemetry ({type(exc).__name__}: {exc})"
                return False
            self.status = f"NVML: {name}, {self.total_mib:.0f} MiB"
            self._thread = threading.Thread(target=self._run, args=(handle,), name="nvml-sampler", daemon=True)
            self._thread.start()
            return True

    @property
    def available(self) -> bool:
        return self._thread is not None

    def _run(self, handle: object) -> None:
        import pynvml

        while True:
            rates = pynvml.nvmlDeviceGetUtilizationRates(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            with self._lock:
                self._samples.append(Sample(time.monotonic(), rates.gpu / 100.0, memory.used / 2**20))
            time.sleep(SAMPLE_SECONDS)

    def window(self, start: float, end: float) -> WindowStats:
        """Mean utilization and peak memory of the samples taken between two `time.monotonic()` stamps."""
        with self._lock:
            inside = [s for s in self._samples if start <= s.at <= end]
        if not inside:
            return WindowStats(None, None)
        return WindowStats(sum(s.utilization for s in inside) / len(inside), max(s.used_mib for s in inside))

    def used_mib(self) -> float | None:
        """The card's memory in use now (for the model manager's budget check), or None without NVML."""
        with self._lock:
            return self._samples[-1].used_mib if self._samples else None


def gpu_memory_mib() -> float | None:
    """The worker's GPU memory from one NVML query (no sampler thread), or None without a GPU or driver.

    Why separate from the sampler: reading settings picks batch sizes from the card's size, and merely
    reading settings (the CLI's status, say) must not start a thread.
    """
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # ImportError or NVMLError (no driver, no device)
        return None
    try:
        return pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(_visible_index())).total / 2**20
    except Exception:
        return None
    finally:
        pynvml.nvmlShutdown()
