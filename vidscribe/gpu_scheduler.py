"""The GPU slot: one model runs at a time on a worker's GPU, with no orchestrator wait between model calls.

Why not a Prefect tag limit per task: waiting tasks poll the server and leave 1-3 s gaps between consecutive
GPU tasks. Instead each worker process has one in-process scheduler that hands the GPU from one model call to
the next directly (microseconds). Across workers, the process holds one slot of the Prefect global
concurrency limit `gpu` for as long as it has GPU work running or queued, and gives it back after
`gpu_lease_idle_seconds` without any; so one card never runs two models at once however many flows and
workers share it (set the limit's slots to the number of GPUs).

Queued work is grouped by model: when the slot frees, a waiter for the model that just ran goes first (no
weight swap), unless the oldest waiter has waited longer than `AFFINITY_MAX_WAIT` (no starvation).

A CPU-only worker has more than one slot (`model_slots`, issue #14): its cores run model calls side by side,
one thread each, which beats one call on all cores. Two calls of one model run at once only where the model
allows it (`concurrent=True`: CTranslate2 runs `num_workers` calls); other models hold state per call.

Every call is recorded (model, video, stage, queue time, run time, peak VRAM) for the per-video telemetry, and
published on the runtime's bus with the handoff gaps between calls (the benchmark's counters listen there).
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from vidscribe.gpu_telemetry import NvmlSampler
from vidscribe.progress import EventBus
from vidscribe.timing import counting_loads, current_work, loading

log = logging.getLogger(__name__)

#: a waiter for another model goes first once the oldest waiter has waited this long
AFFINITY_MAX_WAIT = 10.0
#: bound on the job log kept for telemetry (a long backfill must not grow without limit)
MAX_JOBS = 100_000

@dataclass(frozen=True)
class GpuJob:
    """One model call that held the slot."""

    model: str
    video: str
    stage: str
    queued_at: float
    started_at: float
    ended_at: float
    peak_vram_mib: float | None
    load_seconds: float = 0.0  # of the call's time, spent loading its model (the first call's import too)

    @property
    def seconds(self) -> float:
        return self.ended_at - self.started_at


@dataclass(frozen=True)
class HandoffGap:
    """Idle time of the slot between one call's end and the next call's start, while that call was queued."""

    seconds: float


@dataclass
class _Waiter:
    model: str
    seq: int
    since: float
    concurrent: bool = False


class PrefectSlotLease:
    """Holds one slot of a Prefect global concurrency limit while the scheduler has work.

    The lease is taken in a thread of its own (Prefect renews it in the background) and released after
    `idle_seconds` without running or queued GPU work. With no Prefect API configured (a plain script, the
    unit tests of a stage) there is nothing to coordinate with and no lease is taken.
    """

    def __init__(self, scheduler: "GpuScheduler") -> None:
        self._scheduler = scheduler
        self.state = "idle"  # idle | acquiring | held ; guarded by the scheduler's condition
        self.acquisitions = 0

    @staticmethod
    def _api_configured() -> bool:
        if "prefect" not in sys.modules:  # no flow ran in this process (a CLI search embedding its query)
            return False
        from prefect.settings import get_current_settings

        return bool(get_current_settings().api.url)

    def ensure_held(self) -> None:
        """Called with the scheduler's condition held, by a thread that has registered as a waiter."""
        cond = self._scheduler.cond
        if not self._scheduler.limit_name or not self._api_configured():
            return
        if self.state == "idle":
            self.state = "acquiring"
            context = contextvars.copy_context()  # the caller's Prefect settings (API URL) go with the thread
            threading.Thread(target=context.run, args=(self._hold,), name="gpu-lease", daemon=True).start()
        while self.state == "acquiring":
            cond.wait()

    def _hold(self) -> None:
        from prefect.concurrency.sync import concurrency

        cond = self._scheduler.cond
        try:
            with concurrency(self._scheduler.limit_name, occupy=1, strict=False):
                with cond:
                    self.state = "held"
                    self.acquisitions += 1
                    cond.notify_all()
                    while not self._scheduler.idle_for(self._scheduler.lease_idle_seconds):
                        cond.wait(timeout=0.1)
                    self.state = "idle"  # atomically with the idle check: a new waiter starts a new lease
        except Exception as exc:  # the orchestrator being away must not stop the GPU: run unlimited, say so
            log.warning("could not hold the '%s' concurrency slot (%s); running without it",
                        self._scheduler.limit_name, exc)
            with cond:
                self.state = "idle"
                cond.notify_all()


class GpuScheduler:
    """The per-process GPU slot (see the module docstring)."""

    def __init__(self, limit_name: str, lease_idle_seconds: float, nvml: NvmlSampler, bus: EventBus,
                 slots: int = 1) -> None:
        """`limit_name`: the Prefect global concurrency limit a lease takes a slot of (empty: no cross-worker
        limit); `lease_idle_seconds`: how long the slot is kept without model work; `slots`: calls at once."""
        self.cond = threading.Condition()
        self.slots = slots
        self.limit_name = limit_name
        self.lease_idle_seconds = lease_idle_seconds
        self.nvml = nvml
        self.bus = bus
        self.lease = PrefectSlotLease(self)
        self.jobs: deque[GpuJob] = deque(maxlen=MAX_JOBS)  # the per-video telemetry reads its video's calls
        self._waiting: list[_Waiter] = []
        self._running: list[str] = []  # the models of the calls running now
        self._last_model: str | None = None
        self._last_end = time.monotonic()
        self._released_with_waiters: float | None = None
        self._seq = itertools.count()

    def idle_for(self, seconds: float) -> bool:
        """No call running or queued, for at least `seconds` (call with the condition held)."""
        return not self._running and not self._waiting and time.monotonic() - self._last_end >= seconds

    def _next(self) -> _Waiter | None:
        """The waiter to start when a slot is free: of those whose model may start now, the oldest, or one for
        the model that ran last (see the module docstring); None when no waiter may start."""
        ready = [w for w in self._waiting if w.concurrent or w.model not in self._running]
        if not ready:
            return None
        oldest = min(ready, key=lambda w: w.seq)
        if time.monotonic() - oldest.since < AFFINITY_MAX_WAIT:
            same = [w for w in ready if w.model == self._last_model]
            if same:
                return min(same, key=lambda w: w.seq)
        return oldest

    @contextlib.contextmanager
    def slot(self, model: str, concurrent: bool = False) -> Iterator[None]:
        """Hold a slot for one call of `model` ("asr", "diarize", "embed", "speaker"); `concurrent`: the model
        runs several calls at once, so another call of it does not have to wait for this one."""
        self.nvml.start()
        waiter = _Waiter(model, next(self._seq), time.monotonic(), concurrent)
        with self.cond:
            self._waiting.append(waiter)
            self.lease.ensure_held()
            while len(self._running) >= self.slots or self._next() is not waiter:
                self.cond.wait()
            self._waiting.remove(waiter)
            self._running.append(model)
            started = time.monotonic()
            gap = None if self._released_with_waiters is None else started - self._released_with_waiters
            self._released_with_waiters = None
        if gap is not None:
            self.bus.emit(HandoffGap(gap))
        torch_peak, loads = False, [0.0]
        try:
            with counting_loads() as loads:
                with loading():  # the first call imports torch
                    torch_peak = _reset_torch_peak()
                yield
        finally:
            ended = time.monotonic()
            peak = self._vram_peak(torch_peak, started, ended)
            video, stage = current_work.get()
            job = GpuJob(model, video, stage, waiter.since, started, ended, peak, round(loads[0], 3))
            with self.cond:
                self.jobs.append(job)
                self._running.remove(model)
                self._last_model = model
                self._last_end = ended
                self._released_with_waiters = ended if self._waiting else None
                self.cond.notify_all()
            self.bus.emit(job)

    def video_jobs(self, video: str) -> list[GpuJob]:
        with self.cond:
            return [j for j in self.jobs if j.video == video]

    def _vram_peak(self, torch_peak: bool, started: float, ended: float) -> float | None:
        """Peak VRAM of one call: the card's peak use from NVML (sees CTranslate2 too), else PyTorch's peak.

        The one VRAM figure vidscribe reports: per call here, per stage and video in the video's telemetry.
        """
        from_nvml = self.nvml.window(started, ended).peak_used_mib if self.nvml.available else None
        if from_nvml is not None:
            return from_nvml
        if torch_peak:
            import torch

            return torch.cuda.max_memory_allocated() / 2**20
        return None


def _reset_torch_peak() -> bool:
    """Reset PyTorch's peak counter if CUDA is in use; True when a torch peak can be read afterwards."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return False
    torch.cuda.reset_peak_memory_stats()
    return True


