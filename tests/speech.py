"""Synthetic speech with known speaker turns, made with espeak-ng (real audio, exact references).

Voices `en-us+m3` and `en-us+f4` are ones speaker models tell apart (see ../shared/ENVIRONMENT.md). Speaking
and joining utterances (`speak`, `concatenate`) live in `vidscribe.app.bench.speech`, shared with the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from vidscribe.audio import SAMPLE_RATE, decode_to_array
from vidscribe.app.bench.speech import GAP_SECONDS, PAIR_A, concatenate, speak

ALICE_VOICE, BOB_VOICE = PAIR_A[0].name, PAIR_A[1].name

DIALOGUE = [
    ("Alice", "Welcome back to the show. Today we are talking about growing tomatoes on a small balcony."),
    ("Bob", "Thanks for having me. I started with three plants in large buckets last spring."),
    ("Alice", "How much sunlight do they need to produce a good harvest in the summer?"),
    ("Bob", "At least six hours of direct sun every day, otherwise the fruit stays small and green."),
    ("Alice", "And what about watering? Many listeners ask whether they should water every morning."),
    ("Bob", "Water deeply twice a week, and put mulch on the soil so it does not dry out."),
    ("Alice", "Our producer mentioned a problem with blossom end rot on her plants last year."),
    ("Bob", "That usually comes from uneven watering, and sometimes from a lack of calcium in the soil."),
    ("Alice", "That is really useful advice. Thank you so much for joining us today on the podcast."),
]
ALICE_REFERENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank in the early morning.",
    "Please remember to bring your notebook and two pencils to the meeting on Thursday afternoon.",
    "Mountains in the north are covered with snow for most of the year, even in late spring.",
]
MONOLOGUE = [
    "In this episode I want to explain how a steam engine turns heat into motion.",
    "Water is boiled in a closed vessel, and the pressure of the steam pushes a piston.",
    "The piston is connected to a crank, which turns the back and forth movement into rotation.",
    "Early engines wasted most of their fuel, because the cylinder was cooled after every stroke.",
    "James Watt added a separate condenser, and the efficiency of the engine improved a great deal.",
    "That single idea helped to power the factories and railways of the industrial revolution.",
]


@dataclass(frozen=True)
class Voices:
    dialogue: Path
    dialogue_turns: list[tuple[float, float, str]]  # (start, end, reference speaker)
    monologue: Path
    alice_references: list[Path]


def build_voices(folder: Path) -> Voices:
    voice_of = {"Alice": ALICE_VOICE, "Bob": BOB_VOICE}
    dialogue, turns = concatenate([(who, speak(text, voice_of[who])) for who, text in DIALOGUE])
    sf.write(folder / "dialogue.wav", dialogue, SAMPLE_RATE)
    monologue, _ = concatenate([("Alice", speak(text, ALICE_VOICE)) for text in MONOLOGUE])
    sf.write(folder / "monologue.wav", monologue, SAMPLE_RATE)
    references = []
    for i, text in enumerate(ALICE_REFERENCES):
        path = folder / f"alice-{i}.wav"
        sf.write(path, speak(text, ALICE_VOICE), SAMPLE_RATE)
        references.append(path)
    return Voices(folder / "dialogue.wav", turns, folder / "monologue.wav", references)


@dataclass(frozen=True)
class Conversation:
    """A few minutes of four voices: espeak-ng's two and the two real ones of pyannote's sample."""

    path: Path
    turns: list[tuple[float, float, str]]  # (start, end, reference speaker)
    text: str  # the reference transcript, in order


def build_conversation(path: Path) -> Conversation:
    """Espeak lines of Alice and Bob (dialogue, monologue and reference texts, alternating voices) with
    pyannote's sample twice between them: every voice comes back after minutes of other speech, which is
    what a long recording's windows must link. Saved as WAV at `path`."""
    from pyannote.audio.sample import SAMPLE_FILE

    lines = [*DIALOGUE, *((("Bob", "Alice")[i % 2], text) for i, text in enumerate(MONOLOGUE + ALICE_REFERENCES))]
    blocks: list[list[tuple[str, str]] | None] = [lines[:5], None, lines[5:11], None, lines[11:]]  # None: sample
    voice_of = {"Alice": ALICE_VOICE, "Bob": BOB_VOICE}
    sample = decode_to_array(Path(SAMPLE_FILE["audio"]))
    sample_turns = [(seg.start, seg.end, str(label))
                    for seg, _, label in SAMPLE_FILE["annotation"].itertracks(yield_label=True)]
    sample_text = " ".join(piece["text"] for piece in SAMPLE_FILE["transcription"])
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    pieces, turns, texts, t = [gap], [], [], GAP_SECONDS
    for block in blocks:
        if block is None:
            pieces.append(sample)
            turns += [(t + start, t + end, who) for start, end, who in sample_turns]
            texts.append(sample_text)
        else:
            audio, block_turns = concatenate([(who, speak(text, voice_of[who])) for who, text in block])
            pieces.append(audio)
            turns += [(t + start, t + end, who) for start, end, who in block_turns]
            texts += [text for _, text in block]
        t += len(pieces[-1]) / SAMPLE_RATE
        pieces.append(gap)
        t += GAP_SECONDS
    sf.write(path, np.concatenate(pieces), SAMPLE_RATE)
    return Conversation(path, turns, " ".join(texts))
