"""Out-of-memory fallback for model calls: halve the batch, then run on the CPU; never crash the backfill.

Why: VRAM left free on a card depends on what else runs there (a desktop, another worker, a fragmented
cache), so a batch size that fitted yesterday can fail tonight. A smaller batch almost always fits; when even
batch 1 does not, the video is still finished, slowly, on the CPU, and the log says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from vidscribe.model_registry import release_cached_memory
from vidscribe.settings import Settings

T = TypeVar("T")


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run logger inside a flow or task run (shown in the UI), else a plain logger."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def is_out_of_memory(exc: BaseException) -> bool:
    """PyTorch's OOM error, or the RuntimeError CTranslate2, cuDNN and ONNX Runtime raise for the same."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def with_oom_fallback(settings: Settings, batch_fields: tuple[str, ...], device_field: str, what: str,
                      run: Callable[[Settings], T]) -> T:
    """`run(settings)`; on out-of-memory retry with the `batch_fields` halved, then with `device_field` = cpu."""
    current = settings
    while True:
        try:
            return run(current)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            release_cached_memory(str(getattr(current, device_field)).replace("auto", "cuda"))
            sizes = {field: getattr(current, field) for field in batch_fields}
            if any(size > 1 for size in sizes.values()):
                halved = {field: max(1, size // 2) for field, size in sizes.items()}
                _logger().warning("%s ran out of GPU memory with %s; retrying with %s", what, sizes, halved)
                current = current.model_copy(update=halved)
                continue
            if getattr(current, device_field) == "cpu":
                raise
            _logger().warning("%s ran out of GPU memory even with %s; running it on the CPU (slower)", what, sizes)
            current = current.model_copy(update={device_field: "cpu", "compute_type": "auto"})
