"""Diarization stage: who speaks when, as plain `Turn`s.

Why plain functions: the Prefect task is a thin wrapper around these, and tests run them without Prefect.
The pipeline is loaded once per process (`vidscribe.model_registry`) and always gets the decoded waveform in
memory, never a path, so pyannote does no audio decoding of its own.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from vidscribe.audio import SAMPLE_RATE, AudioRef
from vidscribe.errors import ModelAccessError
from vidscribe.gpu import model_budget_mib, resolve_device
from vidscribe.offline_models import ensure_offline_models
from vidscribe.oom import with_oom_fallback
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings, section
from vidscribe.speakers.factory import load_speaker_encoder
from vidscribe.speakers.linking import link_speakers, relabel
from vidscribe.speakers.voices import speaker_voices
from vidscribe.timing import loading
from vidscribe.transcript import Diarization, Turn
from vidscribe.windows import plan_windows

if TYPE_CHECKING:  # imported where a model loads: a run with nothing to diarize never loads pyannote
    from pyannote.audio import Pipeline
    from pyannote.core import Annotation

    from vidscribe.speakers.pyannote_embedding import FastOnnxEmbedding
    from vidscribe.speakers.shared_frames import SharedFrameEmbeddings

log = logging.getLogger(__name__)

SECTION = section("DiarizeSettings", "diarization_pipeline", "device", "window_seconds", "speaker_link_threshold",
                  "speaker_merge_threshold",
                  "speaker_model", "speaker_encoder", "speaker_device", "speaker_sample_clips",
                  "speaker_clip_seconds", "diarization_step", "diarization_embedding_max_seconds",
                  "diarization_embeddings", "diarization_shared_threshold")


def _is_local(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or Path(name).is_absolute() or Path(name).exists()


def _access_error(name: str, token: str | None, exc: Exception | None) -> ModelAccessError:
    detail = f" ({type(exc).__name__}: {exc})" if exc else ""
    if token:
        detail = detail.replace(token, "<HF_TOKEN>")
    return ModelAccessError(
        f"cannot load diarization pipeline '{name}' from the Hugging Face hub{detail}. "
        f"If it is gated, accept its user conditions at https://hf.co/{name} (and at the model pages it "
        f"names) with your account, then set HF_TOKEN to a read token of that account "
        f"(HF_TOKEN is {'set' if token else 'not set'}). Without the hub, use the offline profile: "
        f"`vidscribe models prepare` and VIDSCRIBE_PROFILE=offline."
    )


def _load(name: str, token: str | None) -> Pipeline:
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    from pyannote.audio import Pipeline

    if _is_local(name):
        if not Path(name).exists():
            raise FileNotFoundError(f"{name}: no such pipeline config; run `vidscribe models prepare`")
        return Pipeline.from_pretrained(name)
    try:
        pipeline = Pipeline.from_pretrained(name, token=token)
    except (HfHubHTTPError, LocalEntryNotFoundError) as exc:
        raise _access_error(name, token, exc) from None  # the chained error could carry request details
    if pipeline is None:  # pyannote returns None when the hub refuses the download
        raise _access_error(name, token, None)
    return pipeline


def load_diarization_pipeline(settings: Settings) -> Pipeline:
    """The pyannote pipeline named by `settings.diarization_pipeline` (hub name or local config.yaml), on
    the configured device, loaded once per process; batch sizes follow the current settings."""
    name = str(settings.diarization_pipeline)
    device = resolve_device(settings.device)
    token = settings.hf_token.get_secret_value() if settings.hf_token else None

    def loader() -> Pipeline:
        import torch

        ensure_offline_models(settings)
        return _load(name, token).to(torch.device(device))

    runtime = get_runtime()
    pipeline = runtime.models.get("diarize", name, device, "float32", loader,
                                  model_budget_mib(settings, device, runtime.nvml))
    pipeline.embedding_batch_size = settings.embedding_batch_size
    pipeline.segmentation_batch_size = settings.segmentation_batch_size
    _apply_speed_settings(pipeline, settings, device)
    return pipeline


def _apply_speed_settings(pipeline: Pipeline, settings: Settings, device: str) -> None:
    """The CPU speed knobs of issue #14, set on the cached pipeline at every call (like the batch sizes).

    - `diarization_step`: the segmentation window's step (pyannote reads it only in its constructor, so the
      `Inference` it built is updated too): 0.1 (pyannote's default) = one 10 s window per second of audio.
    - On the CPU, with pyannote's ONNX WeSpeaker embedding (the offline profile's CAM++):
      `diarization_embeddings` "shared" embeds each window's speakers from frame features computed once
      (`SharedFrameEmbeddings`, clustered at `diarization_shared_threshold`); "per_window" keeps pyannote's
      embedding of each, as `FastOnnxEmbedding` (one fbank per window, at most
      `diarization_embedding_max_seconds` of speech). Other embeddings are left alone.
    """
    inference = getattr(pipeline, "_segmentation", None)
    if inference is not None and hasattr(inference, "duration"):
        pipeline.segmentation_step = settings.diarization_step
        inference.step = settings.diarization_step * inference.duration
    embedding = getattr(pipeline, "_embedding", None)
    if embedding is None or device != "cpu":
        return
    from pyannote.audio.pipelines.speaker_verification import ONNXWeSpeakerPretrainedSpeakerEmbedding

    from vidscribe.speakers.pyannote_embedding import FastOnnxEmbedding

    if isinstance(embedding, ONNXWeSpeakerPretrainedSpeakerEmbedding):
        embedding = pipeline._embedding = FastOnnxEmbedding(embedding)
    if isinstance(embedding, FastOnnxEmbedding):
        embedding.max_seconds = settings.diarization_embedding_max_seconds
        _choose_embeddings(pipeline, embedding, settings)


def _choose_embeddings(pipeline: Pipeline, embedding: FastOnnxEmbedding, settings: Settings) -> None:
    """Shared or per-window embeddings, and the clustering threshold that goes with them. The shared
    embeddings and the config's own threshold are kept on the pipeline, so switching back restores pyannote's.
    A clustering without a threshold, or a speaker model that cannot be cut, keeps pyannote's embeddings."""
    if not hasattr(pipeline, "_vidscribe_shared"):
        own_threshold = getattr(pipeline.clustering, "threshold", None)
        shared = None if own_threshold is None else _shared_embeddings(embedding)
        pipeline._vidscribe_shared = (shared, own_threshold)
    shared, own_threshold = pipeline._vidscribe_shared
    if settings.diarization_embeddings == "shared" and shared is not None:
        pipeline.get_embeddings = shared
        pipeline.clustering.threshold = settings.diarization_shared_threshold
    else:
        vars(pipeline).pop("get_embeddings", None)
        if own_threshold is not None:
            pipeline.clustering.threshold = own_threshold


def _shared_embeddings(embedding: FastOnnxEmbedding) -> SharedFrameEmbeddings | None:
    """`SharedFrameEmbeddings` of the pipeline's speaker model, or None where its graph cannot be cut."""
    from vidscribe.speakers.shared_frames import SharedFrameEmbeddings, split_model

    try:
        with loading():  # a one-time set-up (about 1 s), counted with the model's load
            model = split_model(embedding.inner.embedding)
    except Exception as exc:  # noqa: BLE001  any failure on a third-party graph leaves pyannote's own path
        log.debug("shared speaker embeddings unavailable for %s: %s", embedding.inner.embedding, exc)
        return None
    return None if model is None else SharedFrameEmbeddings(embedding.inner, model)


def _annotation(output: object) -> Annotation:
    """pyannote 4 returns a `DiarizeOutput`; older versions (and `legacy=True`) an `Annotation`.

    Its exclusive diarization (one speaker at a time) is not used: words are attributed against the full
    turns (`vidscribe.stages.word_speakers`), which measured better on pyannote's sample (1 word of 69 with
    the wrong speaker against 2) and the same on the benchmark's dialogues."""
    from pyannote.core import Annotation

    return output if isinstance(output, Annotation) else output.speaker_diarization


def _turns(annotation: Annotation) -> tuple[Turn, ...]:
    return tuple(sorted(
        (Turn(start=seg.start, end=seg.end, speaker=str(label))
         for seg, _, label in annotation.itertracks(yield_label=True)),
        key=lambda t: (t.start, t.end, t.speaker),
    ))


def diarize_window(settings: Settings, samples: np.ndarray, **speakers: int | None) -> Diarization:
    """pyannote's turns of one in-memory waveform, sorted by start.

    The pipeline is loaded inside the GPU slot (no load beside another model's work), whose record of the
    call carries its peak VRAM; on out-of-memory the batch sizes are halved, then the window is diarized on
    the CPU (`vidscribe.oom`).
    """
    import torch

    waveform = torch.from_numpy(samples).unsqueeze(0)

    def run(current: Settings) -> Annotation:
        with get_runtime().scheduler.slot("diarize"), torch.inference_mode(), warnings.catch_warnings():
            # a recording of a few seconds leaves pyannote's clustering no embedding long enough to train on:
            # it averages an empty set (numpy warns), then keeps one cluster per local speaker, as intended
            warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
            warnings.filterwarnings("ignore", "invalid value encountered in divide", RuntimeWarning)
            output = load_diarization_pipeline(current)({"waveform": waveform, "sample_rate": SAMPLE_RATE},
                                                        **speakers)
        return _annotation(output)

    annotation = with_oom_fallback(settings, ("embedding_batch_size", "segmentation_batch_size"), "device",
                                   "diarization", run)
    return Diarization(turns=_turns(annotation))


def other_voice_seconds(settings: Settings, clips: list[np.ndarray]) -> float:
    """Seconds of speech by any voice but each clip's main one, summed over `clips` (pyannote's local speaker
    segmentation, up to 3 voices per clip; clips longer than its window are cut to it).

    Why: the monologue check's probe embeddings cannot see turn changes faster than a probe (with 0.1 s turns
    every 3 s probe holds both voices, and all probes look alike); the segmentation model is trained to find
    them, and costs about 0.05 s per 10 s clip on one CPU core. On the CPU it runs beside the model slots, as
    the probe embeddings do: holding a slot for it put each monologue behind the transcriptions in flight
    (the peer benchmark's wall time went from 63-69 s to 78-80 s).
    """
    import torch

    on_gpu = resolve_device(settings.device) == "cuda"
    slot = get_runtime().scheduler.slot("diarize") if on_gpu else contextlib.nullcontext()
    with slot, torch.inference_mode():
        inference = load_diarization_pipeline(settings)._segmentation
        size = round(inference.duration * SAMPLE_RATE)
        batch = np.stack([np.pad(c[:size], (0, size - len(c[:size]))) for c in clips])[:, None]
        step = settings.segmentation_batch_size
        active = np.concatenate([inference.infer(torch.from_numpy(batch[i:i + step]))
                                 for i in range(0, len(batch), step)])
    seconds = active.sum(axis=1) * inference.duration / active.shape[1]  # (clip, local speaker)
    return float((seconds.sum(axis=1) - seconds.max(axis=1)).sum())


def diarize(audio: AudioRef, settings: Settings, num_speakers: int | None = None) -> Diarization:
    """Speaker turns of `audio`, sorted by start, labelled SPEAKER_00, ... by first appearance.

    A long recording is diarized window by window (`vidscribe.windows`), so only one window's audio is in
    memory and pyannote's quadratic clustering stays window-sized. Every window's speakers then get a voice
    from the speaker encoder and are linked by it (`vidscribe.speakers.linking`): across windows, and within
    one where pyannote split a voice in two. A known `num_speakers` is pyannote's to honour in a single
    window; across windows it fixes the number of linked voices.
    """
    windows = plan_windows(audio, settings.window_seconds)
    speakers = {"num_speakers" if len(windows) == 1 else "max_speakers": num_speakers}
    window_turns, voices = [], []
    for window in windows:
        samples = audio.read(window.start, window.stop)
        turns = diarize_window(settings, samples, **speakers).turns
        # one window of two speakers has nothing to link: joining them would leave one voice, which linking
        # never does (about 1.3 CPU s of speaker encoder saved per such recording)
        linkable = len(windows) > 1 or len({turn.speaker for turn in turns}) > 2
        voices.append(speaker_voices(samples, turns, load_speaker_encoder(settings), settings) if linkable else {})
        window_turns.append([turn.shifted(window.offset) for turn in turns])
    clusters = link_speakers(voices, settings.speaker_link_threshold, settings.speaker_merge_threshold,
                             num_speakers)
    return Diarization(turns=relabel(window_turns, clusters))
