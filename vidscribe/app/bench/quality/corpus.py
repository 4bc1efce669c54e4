"""The quality corpus: real audio with exact references, built once and cached by the code that makes it.

Items (`QUICK` is the tests' and `--quick`'s subset, `FULL` the benchmark's):

- `sample`: pyannote's bundled 30 s phone call of two real voices, with the speaker-attributed transcript
  (`sample.stm`) and speaker turns (`sample.rttm`) that ship beside it.
- `dialogue-{a,b}[-fast]`: two espeak-ng voices the speaker models tell apart (pair A or pair B of
  `vidscribe.app.bench.speech`), in short alternating turns, every third turn a very short reply ("Yes.",
  "Right, exactly."), with ordinary 0.6 s pauses or (`-fast`) turns that change after 0.1 s, no pause to cut
  at. The quick corpus has the two fast ones, the full corpus all four.
- `nonspeech`: speech separated by, and padded with, tens of seconds of silence, chords and noise; the
  reference knows exactly where nobody speaks, so every word placed there is an inserted word.
- `mixed-language`: 30 s of English, then about 30 s of German; only the English has a reference, the
  German half is reported (what was stored for it, with which language and flag).
- `monologue-fr` (full only): a French monologue, run with the multilingual Whisper base and detection.

Why constructed speech: references must be exact (text, speaker and time of every turn, and where the
non-speech is); espeak-ng is real, varied speech that Whisper and the speaker models handle, made offline.
Why cached by code: building takes seconds to a minute; an edit to any module that shapes the audio or the
references (this one, `texts`, `sounds`, the throughput corpus's voices and sentences) makes a new corpus.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import count
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from vidscribe.audio import SAMPLE_RATE
from vidscribe.app.bench import scripts, speech
from vidscribe.app.bench.corpus import cache_root
from vidscribe.app.bench.quality import sounds, texts
from vidscribe.app.bench.quality.reference import RefTurn, Reference, Span, read_rttm, read_stm
from vidscribe.app.bench.scripts import TOPICS
from vidscribe.app.bench.speech import PAIR_A, PAIR_B, Voice, speak
from vidscribe.speakers.sampling import joined

Kind = Literal["sample", "dialogue", "nonspeech", "mixed", "monologue"]
Variant = Literal["quick", "full"]
MANIFEST = "manifest.json"
#: every utterance of a dialogue this often is a short reply (the second of each three turns)
SHORT_REPLY_EVERY = 3
#: ignored stretches closer than this join: the pauses between ignored sentences are ignored too
IGNORED_GAP_SECONDS = 2.0


@dataclass(frozen=True)
class Item:
    """One corpus recording: its audio `file` (relative to the corpus folder) and its reference.

    `language`: what the run sets `VIDSCRIBE_LANGUAGE` to (None: detection); `multilingual`: the run needs
    the multilingual Whisper (the offline profile's tiny.en knows English only).
    """

    name: str
    kind: Kind
    file: str
    description: str
    reference: Reference
    language: str | None = "en"
    multilingual: bool = False

    def to_json(self) -> dict:
        return {**{k: getattr(self, k) for k in ("name", "kind", "file", "description", "language",
                                                 "multilingual")}, "reference": self.reference.to_json()}

    @classmethod
    def from_json(cls, data: dict) -> "Item":
        return cls(**{**data, "reference": Reference.from_json(data["reference"])})


class Track:
    """Audio assembled piece by piece, with the reference written as it goes."""

    def __init__(self) -> None:
        self.pieces: list[np.ndarray] = []
        self.seconds = 0.0
        self.turns: list[RefTurn] = []
        self.ignored: list[Span] = []

    def add(self, samples: np.ndarray) -> Span:
        start = self.seconds
        self.pieces.append(samples.astype(np.float32))
        self.seconds += len(samples) / SAMPLE_RATE
        return start, self.seconds

    def pause(self, seconds: float) -> None:
        self.add(sounds.silence(seconds))

    def say(self, text: str, voice: Voice | str, scored: bool = True) -> None:
        """`voice` speaks `text`; the reference turn spans exactly the speech (espeak's silence trimmed)."""
        start, end = self.add(sounds.trim_silence(speak(text, voice)))
        if scored:
            self.turns.append(RefTurn(str(voice), round(start, 3), round(end, 3), text))
        else:
            self.ignored.append((start, end))

    def save(self, path: Path, **reference: object) -> Reference:
        sf.write(path, np.concatenate(self.pieces), SAMPLE_RATE, subtype="PCM_16")
        return Reference(duration=round(self.seconds, 3), turns=tuple(self.turns),
                         ignored=tuple((round(a, 3), round(b, 3)) for a, b in joined(self.ignored, IGNORED_GAP_SECONDS)),
                         **reference)  # type: ignore[arg-type]


def sentences(first_topic: int) -> Iterator[str]:
    """The topic sentences of `first_topic`, then of the next topics, round and round."""
    for i in count(first_topic):
        yield from TOPICS[i % len(TOPICS)][1]


# --- the items ---------------------------------------------------------------------------------------------

def pyannote_sample(folder: Path) -> Item:
    from pyannote.audio.sample import SAMPLE_FILE

    wav = Path(SAMPLE_FILE["audio"])  # type: ignore[index]  # a dict; typed as any pyannote file
    shutil.copyfile(wav, folder / "sample.wav")
    reference = Reference(duration=round(sf.info(wav).duration, 3), turns=tuple(read_stm(wav.with_suffix(".stm"))),
                          diarization=tuple(read_rttm(wav.with_suffix(".rttm"))))
    return Item("sample", "sample", "sample.wav",
                "pyannote's 30 s phone call, two real voices (sample.stm, sample.rttm)", reference)


def dialogue(folder: Path, name: str, voices: tuple[Voice, ...], seconds: float, gap: float,
             first_topic: int) -> Item:
    """The voices taking turns in order (two: alternating), every third turn a short reply, `gap` seconds
    between turns."""
    track, topic, replies = Track(), sentences(first_topic), iter(texts.SHORT_REPLIES * 100)
    track.pause(0.5)
    for turn in count():
        if track.seconds >= seconds:
            break
        if turn:
            track.pause(gap)
        short = turn % SHORT_REPLY_EVERY == 1
        track.say(next(replies) if short else next(topic), voices[turn % len(voices)])
    track.pause(0.5)
    reference = track.save(folder / f"{name}.wav")
    return Item(name, "dialogue", f"{name}.wav",
                f"{' / '.join(map(str, voices))}, {len(reference.turns)} turns "
                f"({sum(t.text in texts.SHORT_REPLIES for t in reference.turns)} short replies), {gap:g} s between turns", reference)


#: the non-speech corpus's layout: (what, seconds); "speech" is a block of 3 sentences. The full one holds
#: about 10 minutes of non-speech, so one inserted word moves the rate by about 1 per 10 minutes.
NONSPEECH_FULL: tuple[tuple[str, float], ...] = (
    ("silence", 90), ("speech", 0), ("music", 60), ("speech", 0), ("noise:pink", 60), ("speech", 0),
    ("silence", 30), ("speech", 0), ("noise:brown", 60), ("speech", 0), ("music", 60), ("speech", 0),
    ("noise:white", 30), ("speech", 0), ("silence", 20), ("speech", 0), ("music", 45), ("speech", 0),
    ("noise:pink", 45), ("speech", 0), ("silence", 90),
)
NONSPEECH_QUICK: tuple[tuple[str, float], ...] = (
    ("silence", 20), ("speech", 0), ("music", 20), ("speech", 0), ("noise:pink", 15), ("speech", 0),
    ("silence", 20),
)
#: stretches of non-speech that are not silence are this far from the speech around them
NONSPEECH_GUARD_SECONDS = 1.0


def nonspeech(folder: Path, name: str, layout: tuple[tuple[str, float], ...], voices: tuple[Voice, Voice],
              first_topic: int) -> Item:
    """Speech blocks (voices alternating) between stretches of silence, chords and noise."""
    track, topic, block = Track(), sentences(first_topic), 0
    for what, seconds in layout:
        if what == "speech":
            for k in range(3):
                if k:
                    track.pause(0.6)
                track.say(next(topic), voices[block % 2])
            block += 1
        elif what == "silence":
            track.pause(seconds)
        else:
            track.pause(NONSPEECH_GUARD_SECONDS)
            track.add(sounds.music(seconds) if what == "music" else sounds.noise(seconds, what.split(":")[1]))
            track.pause(NONSPEECH_GUARD_SECONDS)
    reference = track.save(folder / f"{name}.wav")
    speech_s = sum(t.end - t.start for t in reference.turns)
    parts = ", ".join(f"{what} {seconds:g} s" for what, seconds in layout if what != "speech")
    return Item(name, "nonspeech", f"{name}.wav",
                f"{speech_s:.0f} s of speech ({voices[0]} / {voices[1]}) around {parts}", reference)


def mixed_language(folder: Path, english_seconds: float = 30.0) -> Item:
    """English (scored) for `english_seconds`, then the German sentences (not scored: reported)."""
    track, topic = Track(), sentences(3)
    track.pause(0.5)
    while track.seconds < english_seconds:
        track.say(next(topic), PAIR_A[0])
        track.pause(0.6)
    for sentence in texts.GERMAN:
        track.say(sentence, "de", scored=False)
        track.pause(0.6)
    reference = track.save(folder / "mixed-language.wav")
    (a, b), = reference.ignored
    return Item("mixed-language", "mixed", "mixed-language.wav",
                f"{PAIR_A[0]} in English to {a:.1f} s, then espeak-ng `de` in German ({b - a:.0f} s, not scored)",
                reference)


def monologue_french(folder: Path) -> Item:
    track = Track()
    track.pause(0.5)
    for sentence in texts.FRENCH:
        track.say(sentence, "fr")
        track.pause(0.6)
    reference = track.save(folder / "monologue-fr.wav", language="fr")
    return Item("monologue-fr", "monologue", "monologue-fr.wav",
                f"espeak-ng `fr`, {reference.duration:.0f} s; multilingual Whisper base, language detected",
                reference, language=None, multilingual=True)


Builder = Callable[[Path], Item]
QUICK: tuple[Builder, ...] = (
    pyannote_sample,
    partial(dialogue, name="dialogue-a-fast", voices=PAIR_A, seconds=45, gap=0.1, first_topic=0),
    partial(dialogue, name="dialogue-b-fast", voices=PAIR_B, seconds=45, gap=0.1, first_topic=4),
    partial(nonspeech, name="nonspeech", layout=NONSPEECH_QUICK, voices=PAIR_B, first_topic=2),
    mixed_language,
)
#: the dialogues cross both voice pairs with both pauses, so a failure points at voices or at turn changes
FULL: tuple[Builder, ...] = (
    pyannote_sample,
    partial(dialogue, name="dialogue-a", voices=PAIR_A, seconds=120, gap=0.6, first_topic=0),
    partial(dialogue, name="dialogue-a-fast", voices=PAIR_A, seconds=120, gap=0.1, first_topic=6),
    partial(dialogue, name="dialogue-b", voices=PAIR_B, seconds=120, gap=0.6, first_topic=2),
    partial(dialogue, name="dialogue-b-fast", voices=PAIR_B, seconds=120, gap=0.1, first_topic=4),
    partial(nonspeech, name="nonspeech", layout=NONSPEECH_FULL, voices=PAIR_B, first_topic=2),
    mixed_language,
    monologue_french,
)
VARIANTS: dict[Variant, tuple[Builder, ...]] = {"quick": QUICK, "full": FULL}


def corpus_key(variant: Variant) -> str:
    """The cache key: the variant plus every module that shapes the audio or the references."""
    from vidscribe.app.bench.quality import reference

    code = b"".join(Path(m.__file__ or "").read_bytes() for m in (scripts, speech, sounds, texts, reference))
    return hashlib.sha256(variant.encode() + code + Path(__file__).read_bytes()).hexdigest()[:16]


def load_corpus(variant: Variant, root: Path | None = None) -> tuple[Path, list[Item]]:
    """The corpus folder and its items: from the cache (`root`, default the bench cache), or built now."""
    return cached_corpus(f"quality-{variant}-{corpus_key(variant)}", VARIANTS[variant], root)


def cached_corpus(name: str, builders: Sequence[Builder], root: Path | None = None) -> tuple[Path, list[Item]]:
    """The corpus folder `name` (under `root`, default the bench cache) and its items, built by `builders` if
    not cached yet (atomically: a half-built corpus is never used). The peer benchmark's corpus too."""
    folder = (root or cache_root()) / name
    if not (folder / MANIFEST).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial_dir = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder.parent))
        try:
            items = [build(partial_dir) for build in builders]
            (partial_dir / MANIFEST).write_text(json.dumps([item.to_json() for item in items], indent=1))
            with contextlib.suppress(OSError):  # a concurrent build of the same corpus finished first: use it
                partial_dir.rename(folder)
        finally:
            shutil.rmtree(partial_dir, ignore_errors=True)
    return folder, [Item.from_json(entry) for entry in json.loads((folder / MANIFEST).read_text())]
