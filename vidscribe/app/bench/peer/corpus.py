"""The peer corpus: monologues and dialogues of 2 and 3 espeak-ng voices, as 64 kbit/s MP3s, cached.

Why these items: a podcast archive is mostly one voice or a few; the dialogues give DER something to measure,
the monologues show what diarization costs when there is nothing to separate. Why MP3: what vidscribe and its
peers meet in practice, so every system pays for decoding it. The recordings and their exact references come
from the quality corpus's builders (`Track`, `sentences`, `dialogue`), and the cache key covers their code.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from functools import partial
from pathlib import Path

from vidscribe.app.bench.quality import corpus as quality
from vidscribe.app.bench.quality.corpus import (
    Builder, Item, Track, Variant, cached_corpus, dialogue, sentences,
)
from vidscribe.app.bench.speech import GAP_SECONDS, PAIR_A, PAIR_B, Voice
from vidscribe.audio import ffmpeg_binary

BITRATE = "64k"
#: three voices in a six-turn cycle: every third turn is a short reply (`quality.corpus.dialogue`), and with
#: three voices in plain rotation one voice would only ever say "Yes."; this order gives each voice long turns
#: and no voice follows itself
THREE_VOICES = (PAIR_A[0], PAIR_B[0], PAIR_B[1], PAIR_A[0], PAIR_B[1], PAIR_B[0])


def monologue(folder: Path, name: str, voice: Voice, seconds: float, first_topic: int) -> Item:
    """One voice reading topic sentences for about `seconds`, with ordinary pauses."""
    track, topic = Track(), sentences(first_topic)
    track.pause(0.5)
    while track.seconds < seconds:
        track.say(next(topic), voice)
        track.pause(GAP_SECONDS)
    reference = track.save(folder / f"{name}.wav")
    return Item(name, "monologue", f"{name}.wav", f"{voice}, {reference.duration:.0f} s", reference)


def _items(seconds: float) -> tuple[Builder, ...]:
    """Two monologues, a 2-voice and a 3-voice dialogue of about `seconds` each (0.6 s between turns)."""
    return (
        partial(monologue, name="monologue-a", voice=PAIR_A[0], seconds=seconds, first_topic=0),
        partial(monologue, name="monologue-b", voice=PAIR_B[1], seconds=seconds, first_topic=2),
        partial(dialogue, name="dialogue-2", voices=PAIR_A, seconds=seconds, gap=0.6, first_topic=4),
        partial(dialogue, name="dialogue-3", voices=THREE_VOICES, seconds=seconds, gap=0.6, first_topic=6),
    )


#: full: about 10 minutes in all; quick (the test's): about 2.7 minutes
VARIANTS: dict[Variant, tuple[Builder, ...]] = {"quick": _items(40), "full": _items(150)}


def as_mp3(folder: Path, item: Item) -> Item:
    """`item` with its WAV encoded to a 64 kbit/s MP3 (the WAV removed)."""
    wav = folder / item.file
    mp3 = wav.with_suffix(".mp3")
    subprocess.run([ffmpeg_binary(), "-nostdin", "-loglevel", "error", "-i", str(wav), "-codec:a", "libmp3lame",
                    "-b:a", BITRATE, str(mp3)], check=True, capture_output=True)
    wav.unlink()
    return replace(item, file=mp3.name)


def corpus_key(variant: Variant) -> str:
    """The quality corpus's key for `variant` (its builders and voices) plus this module's code."""
    code = quality.corpus_key(variant).encode() + Path(__file__).read_bytes()
    return hashlib.sha256(code).hexdigest()[:16]


def load_corpus(variant: Variant, root: Path | None = None) -> tuple[Path, list[Item]]:
    """The corpus folder and its items, from the cache (`root`, default the bench cache) or built now (each
    recording built, then encoded to MP3)."""
    return cached_corpus(f"peer-{variant}-{corpus_key(variant)}",
                         [partial(_built_as_mp3, build) for build in VARIANTS[variant]], root)


def _built_as_mp3(build: Builder, folder: Path) -> Item:
    return as_mp3(folder, build(folder))
