"""Models are loaded once per worker process and kept warm.

Why: our predecessor reloaded Whisper and pyannote for every video, which cost more than the inference on
short videos. Models are keyed by (stage, name, device, dtype) so two settings never share a wrong model.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
ModelKey = tuple[str, str, str, str]


class ModelRegistry:
    """A thread-safe cache of loaded models, least recently used first."""

    def __init__(self) -> None:
        self._models: OrderedDict[ModelKey, Any] = OrderedDict()
        self._lock = threading.RLock()
        self.loads = 0  # how many times a loader actually ran: lets tests prove models stay loaded

    def get(self, stage: str, name: str, device: str, dtype: str, loader: Callable[[], T]) -> T:
        key = (stage, name, device, dtype)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            model = loader()
            self.loads += 1
            self._models[key] = model
            return model

    def loaded(self) -> list[ModelKey]:
        with self._lock:
            return list(self._models)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


#: The process-wide registry every stage uses.
models = ModelRegistry()
