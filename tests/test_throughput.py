"""Throughput machinery: the GPU slot (grouping, handoff, the cross-worker Prefect lease), cross-video
embedding batches, the model memory budget, the out-of-memory fallback, hardware profiles and telemetry.

Speed itself is measured by `vidscribe bench` (README), not asserted here.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time

import numpy as np
import pytest
import torch
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from sentence_transformers import SentenceTransformer

from vidscribe_flows.ingest import ingest_video
from vidscribe.stages.embed import embed_segments, embed_texts, load_text_model
from vidscribe.db import get_engine, get_video
from vidscribe.embedding_batcher import BatchRecord, EmbeddingBatcher
from vidscribe.gpu_scheduler import GpuScheduler, HandoffGap
from vidscribe.gpu_telemetry import NvmlSampler
from vidscribe.hardware import Hardware, tuned_values
from vidscribe.model_registry import ModelRegistry
from vidscribe.oom import with_oom_fallback
from vidscribe.progress import EventBus
from vidscribe.runtime import Runtime, get_runtime
from vidscribe.settings import load_settings
from vidscribe.timing import current_work
from vidscribe.speakers.factory import load_speaker_encoder
from vidscribe.transcript import Segment


def _hold(scheduler: GpuScheduler, model: str, order: list[str], seconds: float = 0.05) -> None:
    with scheduler.slot(model):
        order.append(model)
        time.sleep(seconds)


def scheduler_and_bus(limit_name: str = "", lease_idle_seconds: float = 2.0) -> tuple[GpuScheduler, EventBus]:
    bus = EventBus()
    return GpuScheduler(limit_name, lease_idle_seconds, NvmlSampler(), bus), bus


def batcher_and_batches() -> tuple[EmbeddingBatcher, list[BatchRecord]]:
    """A batcher, and the batches it publishes on its bus."""
    bus, batches = EventBus(), []
    bus.subscribe(batches.append, BatchRecord)
    return EmbeddingBatcher(bus), batches


def test_queued_gpu_work_is_grouped_by_model():
    scheduler, bus = scheduler_and_bus()
    gaps: list[HandoffGap] = []
    bus.subscribe(gaps.append, HandoffGap)
    order: list[str] = []
    first = threading.Thread(target=_hold, args=(scheduler, "asr", order, 0.5))
    first.start()
    time.sleep(0.1)  # "asr" runs; queue embed, asr, embed, asr behind it, in that order
    waiters = []
    for model in ["embed", "asr", "embed", "asr"]:
        waiters.append(threading.Thread(target=_hold, args=(scheduler, model, order)))
        waiters[-1].start()
        time.sleep(0.05)
    for thread in [first, *waiters]:
        thread.join()
    assert order == ["asr", "asr", "asr", "embed", "embed"]  # 1 model swap instead of 4
    assert len(scheduler.jobs) == 5 and len(gaps) == 4


def test_gpu_slot_holds_one_prefect_slot_per_burst_and_excludes_other_workers(prefect_api):
    name = "gpu-test-lease"
    with get_client(sync_client=True) as client:
        try:
            client.delete_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            pass
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    scheduler, _ = scheduler_and_bus(name, lease_idle_seconds=1.0)
    order: list[str] = []
    burst = [threading.Thread(target=_hold, args=(scheduler, m, order, 0.2)) for m in ["asr", "diarize", "embed"]]
    for thread in burst:
        thread.start()
    time.sleep(0.3)
    other_worker_got_it = []

    def other_worker() -> None:  # another process's model call, on the same limit
        with concurrency(name, occupy=1, strict=True):
            other_worker_got_it.append(time.monotonic())

    other = threading.Thread(target=other_worker)
    other.start()
    for thread in burst:
        thread.join()
    burst_end = max(job.ended_at for job in scheduler.jobs)
    other.join(timeout=60)
    assert sorted(order) == ["asr", "diarize", "embed"]
    assert scheduler.lease.acquisitions == 1  # one lease for the burst: no orchestrator wait between calls
    assert other_worker_got_it and other_worker_got_it[0] >= burst_end  # excluded until the lease went back
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(name).active_slots == 0


def test_the_gpu_lease_follows_the_settings(monkeypatch):
    monkeypatch.setenv("VIDSCRIBE_GPU_LIMIT", "gpu-card-1")
    monkeypatch.setenv("VIDSCRIBE_GPU_LEASE_IDLE_SECONDS", "7.5")
    runtime = Runtime(load_settings())  # what a worker process builds from its settings
    assert (runtime.scheduler.limit_name, runtime.scheduler.lease_idle_seconds) == ("gpu-card-1", 7.5)


def test_embedding_batches_span_the_videos_in_flight(settings):
    batcher, batches = batcher_and_batches()
    texts = {"video-a": ["the battery swelled overnight", "we replaced the cells"],
             "video-b": ["tomatoes need water every morning", "mulch keeps the soil moist", "prune in june"]}
    results: dict[str, np.ndarray] = {}
    both_in_flight = threading.Barrier(2)

    def one_video(video: str) -> None:
        current_work.set((video, "embed"))
        with batcher.video_in_flight():
            both_in_flight.wait()
            if video == "video-b":
                time.sleep(0.5)  # arrives later: video-a's request must wait for it (both are in flight)
            results[video] = batcher.embed(texts[video], 256, 30.0, lambda batch: embed_texts(batch, settings))

    threads = [threading.Thread(target=one_video, args=(v,)) for v in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [(b.texts, b.videos) for b in batches] == [(5, 2)]
    for video, expected in texts.items():
        np.testing.assert_allclose(results[video], embed_texts(expected, settings), atol=1e-5)


def test_a_full_batch_does_not_wait_for_the_linger(settings):
    batcher, batches = batcher_and_batches()
    with batcher.video_in_flight(), batcher.video_in_flight():  # another video in flight never comes
        started = time.monotonic()
        vectors = batcher.embed(["a", "b", "c"], 3, 60.0, lambda batch: embed_texts(batch, settings))
    assert vectors.shape == (3, settings.text_embedding_dim) and time.monotonic() - started < 30
    assert [(b.texts, b.videos) for b in batches] == [(3, 1)]


def test_a_model_call_records_the_time_its_model_took_to_load(settings):
    """The first call of a model loads it inside the slot; the record tells that load from the inference."""
    scheduler, _ = scheduler_and_bus()
    registry = ModelRegistry(NvmlSampler())
    path = settings.text_embedding_model

    def call() -> None:
        with scheduler.slot("embed"):
            registry.get("embed", path, "cpu", "float32", lambda: SentenceTransformer(path, device="cpu"))
            time.sleep(0.2)  # the inference

    call()
    call()
    first, second = scheduler.jobs
    assert 0.05 < first.load_seconds < first.seconds - 0.19, first  # MiniLM from disk, then the 0.2 s call
    assert second.load_seconds < 0.01 and second.seconds >= 0.2, second  # loaded once: nothing to load


def test_model_budget_unloads_least_recently_used(settings):
    registry = ModelRegistry(NvmlSampler())
    path = settings.text_embedding_model

    def text_model() -> SentenceTransformer:
        return SentenceTransformer(path, device="cpu")

    registry.get("embed", path, "cpu", "float32", text_model, budget_mib=None)
    registry.get("embed", path + "#2", "cpu", "float32", text_model, budget_mib=None)
    assert registry.loads == 2 and registry.unloads == 0  # no budget: both stay warm
    size = registry.size_mib(("embed", path, "cpu", "float32"))
    assert size is not None and size > 10  # MiniLM: about 90 MB of weights, measured as resident memory

    tight = ModelRegistry(NvmlSampler())
    tight.get("embed", path, "cpu", "float32", text_model, budget_mib=size * 1.5)
    tight.get("embed", path + "#2", "cpu", "float32", text_model, budget_mib=size * 1.5)
    assert tight.unloads == 1 and [k[1] for k in tight.loaded()] == [path + "#2"]
    tight.get("embed", path, "cpu", "float32", text_model, budget_mib=size * 1.5)
    assert tight.loads == 3 and [k[1] for k in tight.loaded()] == [path]


def test_out_of_memory_halves_the_batch_then_moves_to_cpu(settings, monkeypatch, caplog):
    model = load_text_model(settings)
    expected = embed_texts([f"sentence number {i}" for i in range(40)], settings)
    real_encode = SentenceTransformer.encode
    tried: list[int] = []

    def encode_needing_small_batches(self, sentences, batch_size=32, **kwargs):  # a card with little memory
        tried.append(batch_size)
        if batch_size > 64:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_encode(self, sentences, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "encode", encode_needing_small_batches)
    with caplog.at_level(logging.WARNING):
        vectors = embed_texts([f"sentence number {i}" for i in range(40)], settings)
    assert tried == [256, 128, 64] and model is load_text_model(settings)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    assert "retrying with {'text_embedding_batch_size': 128}" in caplog.text

    on_gpu = settings.model_copy(update={"device": "cuda", "text_embedding_batch_size": 2})
    devices: list[tuple[str, int]] = []

    def run(current):
        devices.append((current.device, current.text_embedding_batch_size))
        if current.device != "cpu":
            raise RuntimeError("CUDA failed with error out of memory")  # CTranslate2's wording
        return "done on cpu"

    assert with_oom_fallback(on_gpu, ("text_embedding_batch_size",), "device", "text embedding", run) == "done on cpu"
    assert devices == [("cuda", 2), ("cuda", 1), ("cpu", 1)]
    with pytest.raises(ValueError):  # other errors are not swallowed
        with_oom_fallback(on_gpu, ("text_embedding_batch_size",), "device", "x", lambda s: int("not a number"))


def _overlaps(scheduler: GpuScheduler, calls: list[tuple[str, bool]]) -> int:
    """Run `calls` (model, concurrent) at once, each holding its slot 0.3 s; how many ran at the same time."""
    running, most, lock = [0], [0], threading.Lock()

    def call(model: str, concurrent: bool) -> None:
        with scheduler.slot(model, concurrent=concurrent):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.3)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=call, args=c) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return most[0]


def test_cpu_slots_run_calls_side_by_side_but_one_call_per_stateful_model():
    two = GpuScheduler("", 2.0, NvmlSampler(), EventBus(), slots=2)
    assert _overlaps(two, [("asr", True), ("diarize", False)]) == 2  # different models: side by side
    assert _overlaps(two, [("asr", True), ("asr", True), ("asr", True)]) == 2  # CTranslate2 workers, 2 slots
    assert _overlaps(two, [("diarize", False), ("diarize", False)]) == 1  # pyannote keeps state per call
    one = GpuScheduler("", 2.0, NvmlSampler(), EventBus())
    assert _overlaps(one, [("asr", True), ("asr", True), ("diarize", False)]) == 1  # a GPU: one at a time
    assert len(two.jobs) == 7 and not two._running


def test_a_cpu_worker_runs_two_model_calls_on_one_thread_each(settings):
    """The cpu tier's slots and threads reach the runtime, torch (in every thread) and CTranslate2."""
    tuned = settings.model_copy(update={"model_slots": 2, "torch_threads": 1, "asr_cpu_threads": 1})
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # as a process that has not set them (an earlier test's runtime may have)
        runtime = Runtime(tuned)
        assert torch.get_num_threads() == 2  # not at start-up: a run that loads no model imports no torch
        assert runtime.scheduler.slots == 2
        runtime.models.get("test", "none", "cpu", "float32", lambda: object())  # threads set before a load
        assert torch.get_num_threads() == 1
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        assert seen == [1]  # a model thread of the batch's pool, not only the main thread
    finally:
        torch.set_num_threads(before)
    assert tuned_values("auto", Hardware(None, 2, 24_000))["model_slots"] == 2


def test_hardware_profiles_choose_counts_and_batches_and_settings_override(monkeypatch):
    card16 = tuned_values("auto", Hardware(gpu_mib=16_376, cpu_cores=8, ram_mib=32_000))
    card80 = tuned_values("auto", Hardware(gpu_mib=81_559, cpu_cores=32, ram_mib=256_000))
    cpu = tuned_values("auto", Hardware(gpu_mib=None, cpu_cores=2, ram_mib=24_000))
    assert (card16["asr_batch_size"], card16["embedding_batch_size"], card16["backfill_parallel"]) == (16, 16, 3)
    assert (card80["asr_batch_size"], card80["embedding_batch_size"], card80["backfill_parallel"]) == (64, 64, 6)
    assert card80["text_embedding_batch_size"] >= card16["text_embedding_batch_size"] >= 256
    assert (cpu["cpu_workers"], cpu["backfill_parallel"], cpu["embedding_batch_size"]) == (1, 3, 8)
    assert (cpu["model_slots"], cpu["torch_threads"], cpu["asr_cpu_threads"]) == (2, 1, 1)
    assert cpu["diarization_embedding_max_seconds"] == 5.0 and "diarization_step" not in cpu
    assert cpu["segmentation_batch_size"] == 4  # fastest on a CPU core (vidscribe/hardware.py)
    many = tuned_values("auto", Hardware(None, 16, 64_000))
    assert (many["model_slots"], many["torch_threads"]) == (2, 8)
    assert "model_slots" not in card16 and "diarization_embedding_max_seconds" not in card80  # pyannote's own
    assert tuned_values("auto", Hardware(None, 16, 6_000))["backfill_parallel"] == 1  # little RAM: one video
    assert tuned_values("none", Hardware(None, 2, 24_000)) == {}

    monkeypatch.setenv("VIDSCRIBE_HARDWARE_PROFILE", "gpu-80gb")
    monkeypatch.setenv("VIDSCRIBE_ASR_BATCH_SIZE", "4")
    chosen = load_settings()
    assert chosen.asr_batch_size == 4 and chosen.embedding_batch_size == 64  # explicit wins, the rest tuned


def _fresh_copy(source, tmp_path) -> str:
    """The recording re-encoded: new content hash, so no stage is a cache hit and every model really runs."""
    target = tmp_path / "fresh.ogg"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(source), "-c:a", "libvorbis",
                    str(target)], check=True)
    return str(target)


def test_video_telemetry_is_stored_and_says_there_is_no_gpu(settings, voices, prefect_api, tmp_path):
    result = ingest_video(_fresh_copy(voices.dialogue, tmp_path))
    stored = get_video(get_engine(settings), result.source_id)
    telemetry = stored.telemetry
    assert telemetry["gpu"].startswith("no GPU telemetry") and telemetry["gpu_busy_fraction"] is None
    assert telemetry["stages"]["transcribe"]["model_seconds"] > 0 and telemetry["stages"]["diarize"]["calls"] >= 1
    assert telemetry["peak_vram_mib"] is None and stored.worker == settings.worker_name
    assert telemetry["diarized"] is True  # two voices: pyannote ran, not the monologue fast path
    by_model, by_stage = telemetry["models"], telemetry["stages"]
    assert by_model["diarize"]["calls"] >= 1 and by_model["asr"]["model_seconds"] > 0  # pyannote apart from probes
    assert sum(m["model_seconds"] for m in by_model.values()) == pytest.approx(
        sum(s["model_seconds"] for s in by_stage.values()), abs=0.01)
    assert result.telemetry == telemetry


def test_cpu_stages_run_in_the_cpu_pool(settings, voices, prefect_api, monkeypatch, tmp_path):
    pool = get_runtime().cpu
    ran: list[tuple[str, str]] = []
    real = pool.run

    def spy(task, *args):
        def recorded(*inner):
            ran.append((task.name, threading.current_thread().name))
            return task(*inner)

        return real(recorded, *args)

    monkeypatch.setattr(pool, "run", spy)
    ingest_video(_fresh_copy(voices.monologue, tmp_path))
    assert [name for name, _ in ran] == ["attribute", "identify", "segments"]
    assert all(thread.startswith("cpu-pool") for _, thread in ran)


def test_speaker_encoder_defaults_to_the_cpu(settings):
    assert settings.speaker_device == "cpu" and load_speaker_encoder(settings) is load_speaker_encoder(settings)


def test_embed_stage_with_no_segments_returns_no_vectors(settings):
    assert embed_segments([], settings).shape == (0, settings.text_embedding_dim)
