"""The benchmark corpus: monologues, dialogues and panels of real speech, as podcast MP3s, cached on disk.

Why this mix: a channel's throughput depends on what it holds. Monologues let the pipeline skip diarization
(the baseline never does); dialogues use a voice pair the speaker models tell apart; panels add pyannote's
bundled recording of two real voices as a call-in, so the corpus is not only synthetic. Recordings are MP3
like podcast enclosures, so the download and the decode do real work.

Why a cache keyed by the spec and this code: making 40 minutes of speech takes about a minute on two cores;
a re-run with the same spec reuses the files, and an edit to the corpus code makes a new corpus.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from itertools import count
from pathlib import Path
from typing import Literal

import numpy as np
from platformdirs import user_cache_dir

from vidscribe.audio import SAMPLE_RATE, decode_to_array
from vidscribe.app.bench import scripts, speech
from vidscribe.app.bench.feed_server import Episode, to_mp3
from vidscribe.app.bench.scripts import TOPICS
from vidscribe.app.bench.speech import GAP_SECONDS, PAIR_A, PAIR_B, Voice, concatenate, speak

Kind = Literal["monologue", "dialogue", "panel"]
FIRST_PUBLISHED = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
#: a panel plays the call-in once per started stretch of this many seconds, spread evenly
CALL_IN_EVERY_SECONDS = 150.0
#: sentences per utterance: a monologue speaks in paragraphs; dialogue turns are one or two sentences
PARAGRAPH_SENTENCES = 3
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Plan:
    kind: Kind
    voices: tuple[Voice, ...]


#: recordings are made in this order, round and round: monologues and two-voice recordings alternate, and
#: the voices rotate between the two pairs that speaker models tell apart
PLANS = [
    Plan("monologue", (PAIR_A[0],)),
    Plan("dialogue", PAIR_A),
    Plan("monologue", (PAIR_B[1],)),
    Plan("panel", PAIR_B),
    Plan("monologue", (PAIR_A[1],)),
    Plan("dialogue", PAIR_B),
    Plan("monologue", (PAIR_B[0],)),
    Plan("panel", PAIR_A),
]


@dataclass(frozen=True)
class CorpusSpec:
    """How many recordings, and how long each is at least."""

    videos: int = 8
    minutes: float = 5.0

    def key(self) -> str:
        """The cache key: the spec plus the code that turns it into audio."""
        code = b"".join(Path(module.__file__ or "").read_bytes() for module in (scripts, speech))
        code += Path(__file__).read_bytes()
        return hashlib.sha256(json.dumps(asdict(self)).encode() + code).hexdigest()[:16]


@dataclass(frozen=True)
class Recording:
    """One corpus recording, as the manifest stores it; `file` is relative to the corpus folder."""

    slug: str
    title: str
    kind: Kind
    voices: str
    duration: float
    published: str  # ISO 8601
    file: str

    def episode(self, folder: Path) -> Episode:
        return Episode(self.slug, self.title, datetime.fromisoformat(self.published),
                       (folder / self.file).read_bytes(), self.duration)


def sentence_stream(first_topic: int):
    """Sentences of topic `first_topic`, then of the following topics, round and round, forever."""
    for i in count(first_topic):
        yield from TOPICS[i % len(TOPICS)][1]


def _utterances(plan: Plan, first_topic: int):
    """(voice, text) of each utterance, forever: paragraphs for one voice, short alternating turns for two."""
    sentences = sentence_stream(first_topic)
    for turn in count():
        voice = plan.voices[turn % len(plan.voices)]
        size = PARAGRAPH_SENTENCES if len(plan.voices) == 1 else 1 + (turn % 3 == 2)
        yield voice, " ".join(next(sentences) for _ in range(size))


def speak_recording(plan: Plan, first_topic: int, seconds: float, call_in: np.ndarray) -> np.ndarray:
    """At least `seconds` of speech following `plan`; a panel plays `call_in` at evenly spread moments."""
    calls = max(1, math.ceil(seconds / CALL_IN_EVERY_SECONDS)) if plan.kind == "panel" else 0
    call_at = [seconds * (k + 1) / (calls + 1) for k in range(calls)]
    parts: list[tuple[str, np.ndarray]] = []
    spoken = 0.0
    for voice, text in _utterances(plan, first_topic):
        if spoken >= seconds:
            break
        parts.append((str(voice), speak(text, voice)))
        spoken += len(parts[-1][1]) / SAMPLE_RATE + GAP_SECONDS
        while call_at and spoken >= call_at[0]:
            call_at.pop(0)
            parts.append(("call-in", call_in))
            spoken += len(call_in) / SAMPLE_RATE + GAP_SECONDS
    return concatenate(parts)[0]


def _pyannote_sample() -> np.ndarray:
    from pyannote.audio.sample import SAMPLE_FILE

    return decode_to_array(Path(SAMPLE_FILE["audio"]))


def build(spec: CorpusSpec, folder: Path) -> list[Recording]:
    """Make the corpus's MP3s in `folder` and return their manifest entries."""
    call_in = _pyannote_sample()
    recordings = []
    for index in range(spec.videos):
        plan = PLANS[index % len(PLANS)]
        topic = index % len(TOPICS)
        samples = speak_recording(plan, topic, spec.minutes * 60, call_in)
        slug = f"ep{index + 1:02d}-{plan.kind}"
        (folder / f"{slug}.mp3").write_bytes(to_mp3(samples))
        voices = " + ".join(map(str, plan.voices)) + (" + pyannote sample" if plan.kind == "panel" else "")
        recordings.append(Recording(slug, f"{TOPICS[topic][0]} ({plan.kind})", plan.kind, voices,
                                    round(len(samples) / SAMPLE_RATE, 3),
                                    (FIRST_PUBLISHED + timedelta(days=index)).isoformat(), f"{slug}.mp3"))
    return recordings


def cache_root() -> Path:
    return Path(user_cache_dir("vidscribe")) / "bench"


def load_corpus(spec: CorpusSpec, root: Path | None = None) -> tuple[Path, list[Recording]]:
    """The corpus folder and its recordings: from the cache, or built now (atomically) and cached."""
    folder = (root or cache_root()) / f"corpus-{spec.key()}"
    if not (folder / MANIFEST).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder.parent))
        try:
            recordings = build(spec, partial)
            (partial / MANIFEST).write_text(json.dumps([asdict(r) for r in recordings], indent=1))
            with contextlib.suppress(OSError):  # a concurrent build of the same spec finished first: use it
                partial.rename(folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    entries = json.loads((folder / MANIFEST).read_text())
    return folder, [Recording(**entry) for entry in entries]
