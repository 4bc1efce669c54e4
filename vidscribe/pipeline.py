"""The pipeline's table of contents: one recording from source to stored, speaker-attributed, embedded segments.

    fetch -> decode -> transcribe -> monologue check or diarize -> attribute -> identify -> segments -> embed
    -> store

(The attribution runs inside the `diarize` clock block: stored stage seconds and the step hooks count it as
diarization, who speaks when down to each word; its own task body is timed as `attribute`.)

Why one function for every caller: the Prefect flow (`flows/ingest.py`), the benchmark's sequential baseline
and the long-recording benchmark all run these stages in this order; written once, they cannot drift apart.
What differs is supplied by the caller: `steps` says how each stage runs (plainly, or as a cached, retried
Prefect task, perhaps in the CPU pool), `clock` times each stage's block, `hook(step, artefact)` sees each
step's result as it comes (as pyannote's pipeline hooks do), and `until` stops early.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from vidscribe.audio import AudioRef
from vidscribe.progress import EventBus
from vidscribe.settings import Settings
from vidscribe.speakers.matching import Profile
from vidscribe.stages.attribute import attribute_words
from vidscribe.stages.decode import decode_recording
from vidscribe.stages.diarize import diarize
from vidscribe.stages.embed import embed_segments
from vidscribe.stages.fetch import Fetched, fetch
from vidscribe.stages.identify import identify_speakers
from vidscribe.stages.monologue import check_monologue
from vidscribe.stages.segments import build_segments
from vidscribe.stages.store import store
from vidscribe.stages.transcribe import transcribe
from vidscribe.timing import stage_body
from vidscribe.transcript import Diarization, Segment, SpeakerName, Transcript
from vidscribe.video import VideoInfo

Step = Literal["fetch", "decode", "transcribe", "diarize", "identify", "segments", "embed", "store"]
#: the steps in order; `diarize` is the monologue check, then pyannote when it is not one, then each word's
#: speaker (`Steps.attribute`)
STEPS: tuple[Step, ...] = ("fetch", "decode", "transcribe", "diarize", "identify", "segments", "embed", "store")
Hook = Callable[[Step, object], None]


@dataclass(frozen=True)
class Steps:
    """How each stage runs: its plain function (`PLAIN`), or a wrapper of it (a Prefect task, the CPU pool)."""

    fetch: Callable[..., Fetched]
    decode: Callable[..., AudioRef]
    transcribe: Callable[..., Transcript]
    monologue: Callable[..., Diarization | None]
    diarize: Callable[..., Diarization]
    attribute: Callable[..., Diarization]
    identify: Callable[..., dict[str, SpeakerName]]
    segments: Callable[..., list[Segment]]
    embed: Callable[..., np.ndarray]
    store: Callable[..., int]


#: every stage as its plain function: no Prefect, no pool (the baseline, scripts, the long-recording benchmark)
PLAIN = Steps(fetch=fetch, decode=decode_recording, transcribe=transcribe, monologue=check_monologue,
              diarize=diarize, attribute=attribute_words, identify=identify_speakers, segments=build_segments,
              embed=embed_segments, store=store)


def timed(steps: Steps, bus: EventBus) -> Steps:
    """`steps`, each function's own run published on `bus` as a stage run (what the benchmark counts as work;
    a Prefect task times its own body, see `tasks.policy`)."""

    def wrap(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            with stage_body(bus, name):
                return step(*args)

        return run

    return Steps(**{f.name: wrap(f.name, getattr(steps, f.name)) for f in dataclasses.fields(steps)})


class Clock(Protocol):
    """Times each step's block (`vidscribe.timing.StageClock`); `seconds` is stored with the video."""

    seconds: dict[str, float]

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]: ...


class _Untimed:
    """The clock of callers that time nothing."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class Recording:
    """What the pipeline made of one recording (fields after `until` stay None)."""

    info: VideoInfo
    audio: AudioRef
    transcript: Transcript
    diarization: Diarization
    names: dict[str, SpeakerName]
    segments: list[Segment]
    vectors: np.ndarray | None = None
    video_id: int | None = None


def process_recording(
    source: str,
    settings: Settings,
    *,
    steps: Steps | None = None,
    known: VideoInfo | None = None,
    fetched: Fetched | None = None,
    profiles: Sequence[Profile] = (),
    clock: Clock | None = None,
    hook: Hook | None = None,
    telemetry: Callable[[], dict[str, Any]] | None = None,
    until: Step = "store",
) -> Recording:
    """Run the steps on `source` (a path or URL) and return what they made.

    `known`: the enumerated metadata (a backfill's entry); `fetched`: an already fetched source (the flow
    fetches a bare URL first, to learn its archive key); `profiles`: the enrolled voices identify matches;
    `telemetry`: called just before the store, its result is stored with the video, with "diarized" added.
    """
    steps = steps or PLAIN
    clock = clock or _Untimed()

    def done(step: Step, artefact: object) -> None:
        if hook is not None:
            hook(step, artefact)

    if fetched is None:
        with clock.stage("fetch"):
            fetched = steps.fetch(source, settings, known)
    done("fetch", fetched)
    with clock.stage("decode"):
        audio = steps.decode(fetched.path, settings)
    done("decode", audio)
    info = dataclasses.replace(fetched.info, duration=audio.duration)
    with clock.stage("transcribe"):
        transcript = steps.transcribe(audio, settings)
    done("transcribe", transcript)
    with clock.stage("diarize"):
        diarization = steps.monologue(audio, settings, transcript) or steps.diarize(audio, settings)
        diarization = steps.attribute(audio, settings, transcript, diarization)
    done("diarize", diarization)
    with clock.stage("identify"):
        names = steps.identify(audio, settings, diarization, list(profiles))
    done("identify", names)
    with clock.stage("segments"):
        segments = steps.segments(transcript, diarization.word_speakers, names, settings)
    done("segments", segments)
    recording = Recording(info, audio, transcript, diarization, names, segments)
    if until == "segments":
        return recording
    with clock.stage("embed"):
        vectors = steps.embed(segments, settings)
    done("embed", vectors)
    if until == "embed":
        return dataclasses.replace(recording, vectors=vectors)
    facts = telemetry() if telemetry is not None else None
    if facts is not None:  # whether pyannote ran, not the monologue fast path (the caller's record says so too)
        facts["diarized"] = not diarization.skipped
    with clock.stage("store"):
        video_id = steps.store(info, segments, vectors, names, clock.seconds, audio.sha256, settings, facts,
                               audio.note)
    done("store", video_id)
    return dataclasses.replace(recording, vectors=vectors, video_id=video_id)
