"""Models are loaded once per worker process, kept warm, and unloaded least-recently-used past a budget.

Why: our predecessor reloaded Whisper and pyannote for every video, which cost more than the inference on
short videos. Models are keyed by (stage, name, device, dtype) so two settings never share a wrong model.
Each load's memory is measured (card memory on a GPU, resident memory on a CPU, and never less than a
PyTorch model's weights); before another model loads,
the least recently used models on that device are dropped until the known sizes fit the budget, and again
after the load if the newcomer turned out larger than expected. The GPU scheduler runs queued work grouped
by model, so with a budget that fits every model no swap happens at all.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import psutil

from vidscribe.gpu_telemetry import NvmlSampler
from vidscribe.timing import loading

T = TypeVar("T")
ModelKey = tuple[str, str, str, str]
log = logging.getLogger(__name__)


def memory_in_use_mib(device: str, nvml: NvmlSampler) -> float:
    """What `device` has in use now: the card's memory (NVML, else PyTorch's reserve) or this process's RSS."""
    if device.startswith("cuda"):
        used = nvml.used_mib() if nvml.start() else None
        if used is not None:
            return used
        import torch

        return torch.cuda.memory_reserved() / 2**20
    return psutil.Process().memory_info().rss / 2**20


def _tensor_mib(model: object) -> float:
    """Parameter and buffer bytes of a PyTorch module: its weights are memory-mapped on a CPU, so resident
    memory right after loading undercounts them (0 for models that are not modules)."""
    import torch

    if not isinstance(model, torch.nn.Module):
        return 0.0
    tensors = itertools.chain(model.parameters(), model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20


def release_cached_memory(device: str) -> None:
    """Hand freed memory back: Python objects first, then PyTorch's CUDA cache."""
    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


class ModelRegistry:
    """A thread-safe cache of loaded models, least recently used first, with per-model sizes in MiB."""

    def __init__(self, nvml: NvmlSampler, before_first_load: Callable[[], None] | None = None) -> None:
        """`before_first_load`: called once, before the first model loads (the process's torch threads)."""
        self._nvml = nvml
        self._before_first_load = before_first_load
        self._models: OrderedDict[ModelKey, Any] = OrderedDict()
        self._sizes: dict[ModelKey, float] = {}  # kept after an unload: the estimate for the next load
        self._lock = threading.RLock()
        self.loads = 0  # how many times a loader actually ran: lets tests prove models stay loaded
        self.unloads = 0

    def get(self, stage: str, name: str, device: str, dtype: str, loader: Callable[[], T],
            budget_mib: float | None = None) -> T:
        """The loaded model for this key, loading it (within `budget_mib` on `device`) if needed."""
        key = (stage, name, device, dtype)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            if self._before_first_load is not None:
                self._before_first_load()
                self._before_first_load = None
            self._make_room(device, budget_mib, self._sizes.get(key, 0.0), keep=key)
            before = memory_in_use_mib(device, self._nvml)
            with loading():
                model = loader()
            self._sizes[key] = max(memory_in_use_mib(device, self._nvml) - before, _tensor_mib(model))
            self.loads += 1
            self._models[key] = model
            self._make_room(device, budget_mib, 0.0, keep=key)
            return model

    def _resident_mib(self, device: str) -> float:
        return sum(self._sizes[k] for k in self._models if k[2] == device)

    def _make_room(self, device: str, budget_mib: float | None, incoming_mib: float, keep: ModelKey) -> None:
        if budget_mib is None:
            return
        evicted = False
        while self._resident_mib(device) + incoming_mib > budget_mib:
            victim = next((k for k in self._models if k[2] == device and k != keep), None)
            if victim is None:
                break
            log.info("unloading %s (%.0f MiB) to stay within the %.0f MiB model budget on %s",
                     victim[:2], self._sizes[victim], budget_mib, device)
            del self._models[victim]
            self.unloads += 1
            evicted = True
        if evicted:
            release_cached_memory(device)

    def loaded(self) -> list[ModelKey]:
        with self._lock:
            return list(self._models)

    def size_mib(self, key: ModelKey) -> float | None:
        with self._lock:
            return self._sizes.get(key)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

