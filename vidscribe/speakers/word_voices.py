"""Each word's own voice: how close it sounds to each diarized speaker, as evidence for word attribution.

Why: pyannote's segmentation hears a 10 s window at a time, and a reply of a word or two that follows the
question within a tenth of a second ("Right, exactly.", "Of course.") is often left inside the surrounding
turn; when Whisper does not punctuate it either, nothing in the turns or the text marks the change, and the
reply is stored under the wrong speaker (voice pair B of the quality corpus: 4 of 13 short replies in every
window). The speaker encoder hears the word itself. Measured on the quality and peer corpora (CAM++, 0.5 s
clips): the word's true speaker had the higher cosine for 97-100% of the words, and for most of the words the
turns had given to the wrong speaker.

Each word is embedded on its own, centred in a clip of at least `WORD_CLIP_SECONDS` (a shorter clip says too
little about a voice), and compared with each speaker's voice (`speaker_voices`: the centroid of a bounded
sample of the speaker's turns). The words go through the encoder in batches, read window by window so a long
recording never lies in memory whole. The cost is one short clip per word: with CAM++, 4.3-4.5 CPU s on one
thread for the 456 words of the peer corpus's 3-voice dialogue (2.5 min); not measured on a GPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidscribe.audio import SAMPLE_RATE, AudioRef
from vidscribe.settings import Settings
from vidscribe.speakers.encoder import SpeakerEncoder
from vidscribe.speakers.factory import speaker_slot
from vidscribe.speakers.voices import speaker_voices
from vidscribe.transcript import Turn, Word
from vidscribe.windows import plan_windows

#: the shortest clip a word is heard in (seconds, centred on the word). Words at the wrong speaker on the quality
#: and peer corpora (weight 60): 13 with 0.3 s clips, 10 with 0.4 and 0.5 s, 18 with 0.7 s (the neighbour's
#: voice fills a longer clip; a shorter one says too little of a voice)
WORD_CLIP_SECONDS = 0.5
#: a word's clip reaches this far past its timestamps (seconds), which tiny.en places up to 0.1 s off
WORD_PAD_SECONDS = 0.05


def word_clip(samples: np.ndarray, offset: float, word: Word) -> np.ndarray:
    """The clip of `samples` (which start at `offset` seconds) a word is heard in: centred on the word, and
    moved inside the samples where it would reach past them (Whisper may time a last word past the end)."""
    length = round(max(word.end - word.start + 2 * WORD_PAD_SECONDS, WORD_CLIP_SECONDS) * SAMPLE_RATE)
    middle = round(((word.start + word.end) / 2 - offset) * SAMPLE_RATE)
    start = min(max(middle - length // 2, 0), max(len(samples) - length, 0))
    return samples[start:start + length]


def word_voice_cosines(audio: AudioRef, words: Sequence[Word], turns: Sequence[Turn], encoder: SpeakerEncoder,
                       settings: Settings) -> tuple[list[str], np.ndarray] | None:
    """The speakers with a voice, and each word's cosine to each of their voices (words x speakers).

    None when fewer than two speakers have enough speech for a voice: there is nothing to tell apart.
    """
    voices = speaker_voices(audio.load(), turns, encoder, settings)
    if len(voices) < 2 or not words:
        return None
    speakers = sorted(voices)
    matrix = np.stack([voices[label] for label in speakers])
    windows = plan_windows(audio, settings.window_seconds)
    middles = np.array([(word.start + word.end) / 2 for word in words]) * SAMPLE_RATE
    home = np.clip(np.searchsorted([w.start for w in windows], middles, side="right") - 1, 0, len(windows) - 1)
    cosines = np.zeros((len(words), len(speakers)), dtype=np.float32)
    for number, window in enumerate(windows):
        inside = np.flatnonzero(home == number)
        if not len(inside):
            continue
        samples = audio.read(window.start, window.stop)
        with speaker_slot(settings):
            vectors = encoder.embed([word_clip(samples, window.offset, words[i]) for i in inside])
        cosines[inside] = vectors @ matrix.T
    return speakers, cosines
