"""The worker's runtime: one object per process, built from settings, owning what model work shares.

Why one object: the GPU scheduler (the slot and its Prefect lease), the model registry (models stay loaded),
the embedding batcher (batches span videos), the CPU pool, the NVML sampler and the event bus are shared by
every video a worker process handles, and each depends on the others (the scheduler reads the sampler and
publishes on the bus). Built in one place from one `Settings`, nothing reads settings behind the caller's
back, and a test or a benchmark can see exactly what a worker holds.
"""

from __future__ import annotations

import threading

from vidscribe.cpu_pool import CpuPool
from vidscribe.embedding_batcher import EmbeddingBatcher
from vidscribe.gpu_scheduler import GpuScheduler
from vidscribe.gpu_telemetry import NvmlSampler
from vidscribe.model_registry import ModelRegistry
from vidscribe.progress import EventBus
from vidscribe.settings import Settings, get_settings
from vidscribe.timing import StageClock


class Runtime:
    """What one worker process shares between the videos it processes (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.bus = EventBus()
        self.nvml = NvmlSampler()  # sampling starts with the first model call, not here
        threads = settings.torch_threads
        self.models = ModelRegistry(self.nvml, before_first_load=(lambda: _set_torch_threads(threads))
                                    if threads else None)
        self.scheduler = GpuScheduler(settings.gpu_limit, settings.gpu_lease_idle_seconds, self.nvml, self.bus,
                                      slots=settings.model_slots)
        self.batcher = EmbeddingBatcher(self.bus)
        self.cpu = CpuPool(settings.cpu_workers)

    def clock(self, video: str) -> StageClock:
        """A stage timer for one video, publishing on this runtime's bus."""
        return StageClock(video, self.bus)


def _set_torch_threads(threads: int) -> None:
    """torch's intra-op threads, for the whole process (every model thread): set before the first model loads
    (not at start-up: a run that loads no model imports no torch), because torch's default (one per core)
    makes each of two calls side by side spin on both cores."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


_lock = threading.Lock()
_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """The process's runtime, built on first use from the process's settings (`get_settings()`)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime(get_settings())
        return _runtime
