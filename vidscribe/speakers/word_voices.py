"""Each word's own voice: how close it sounds to each diarized speaker, as evidence for word attribution.

Why: pyannote's segmentation hears a 10 s window at a time, and a reply of a word or two that follows the
question within a tenth of a second ("Right, exactly.", "Of course.") is often left inside the surrounding
turn; when Whisper does not punctuate it either, nothing in the turns or the text marks the change, and the
reply is stored under the wrong speaker (voice pair B of the quality corpus: 4 of 13 short replies in every
window). The speaker encoder hears the word itself. Measured on the quality and peer corpora (CAM++, 0.5 s
clips): the word's true speaker had the higher cosine for 97-100% of the words, and for most of the words the
turns had given to the wrong speaker.

Each word is embedded on its own, in a clip of `WORD_CLIP_SECONDS` centred on it, and compared with each
speaker's voice (`vidscribe.speakers.voices`: the centroid of a bounded sample of the speaker's turns).
Every clip has the same length, so the clips batch fully (the ONNX encoder batches only clips of one
length). The words go through the encoder read window by window, so a long recording never lies in memory
whole. The cost is one short clip per word: with CAM++, 3.6-3.8 CPU s on one thread for the 456 words of the
peer corpus's 3-voice dialogue (2.5 min); not measured on a GPU.

A voice sampled from 3 s clips is not quite what a 0.4 s clip of the same voice sounds like to the encoder,
so once the words are attributed each voice is estimated again from the word clips given to it
(`WordVoices.refined`), and the words are attributed a second time: words at the wrong speaker on the quality
and peer corpora went from 14 to 10 (pyannote's sample from 1 to 0). The second pass costs no encoder call.
In the quality benchmark, with both changes, voice pair B's quick 46 s cut went from 6 to 3 of 134 words at
the wrong speaker.

A short utterance of several words that Whisper wrote as a segment of its own (a reply such as "Right,
exactly.", at most `UTTERANCE_MAX_SECONDS`) is heard as one clip of its whole span, and its words share that
clip's vector. The reply's voice is then heard once, whole, instead of in 0.4 s clips centred on each word,
which reach into the silence or the other speaker's speech around it. Measured on the quality corpus's
dialogues and pyannote's sample (full and quick, 1,664 words): words at the wrong speaker 14 -> 9; voice pair
B with 0.1 s turn changes 9 -> 6 of 360 (2.50% -> 1.67%) and 3 -> 1 of 132 (2.27% -> 0.76%); no item worse
with 1.0 or 1.5 s, but at 2.5 s two words of pyannote's sample went to the wrong speaker (a longer segment
is likelier to hold a turn change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidscribe.audio import SAMPLE_RATE, AudioRef
from vidscribe.settings import Settings
from vidscribe.speakers.encoder import SpeakerEncoder
from vidscribe.speakers.factory import speaker_slot
from vidscribe.speakers.matching import centroid
from vidscribe.transcript import Word
from vidscribe.windows import plan_windows

#: the clip a word is heard in (seconds, centred on the word). Words at the wrong speaker on the quality and
#: peer corpora (weight 60, before the voices are refined): 13 with 0.3 s clips, 10 with 0.4 and 0.5 s (each
#: widened to the word plus 0.05 s a side), 18 with 0.7 s (the neighbour's voice fills a longer clip; a shorter
#: one says too little of a voice); 14 with clips of exactly 0.4 s, which batch fully and cost 12% less
WORD_CLIP_SECONDS = 0.4
#: the fewest words a speaker needs for its voice to be estimated again from them (`WordVoices.refined`)
REFINE_MIN_WORDS = 8
#: the longest Whisper segment heard as one utterance (seconds; see the module docstring): the corpus's replies
#: last 0.4-1.2 s
UTTERANCE_MAX_SECONDS = 1.2


def short_utterances(words: Sequence[Word], segment_starts: Sequence[bool]) -> list[range]:
    """The word ranges of the Whisper segments heard as one clip: several words, spanning at least a word's
    clip and at most `UTTERANCE_MAX_SECONDS`. `segment_starts[i]` says word i opens a segment."""
    opens = [i for i, first in enumerate(segment_starts) if first] + [len(words)]
    spans = [range(a, b) for a, b in zip(opens, opens[1:]) if b - a > 1]
    return [span for span in spans
            if WORD_CLIP_SECONDS <= words[span[-1]].end - words[span[0]].start <= UTTERANCE_MAX_SECONDS]


def word_clip(samples: np.ndarray, offset: float, word: Word) -> np.ndarray:
    """The clip of `samples` (which start at `offset` seconds) a word is heard in: centred on the word, and
    moved inside the samples where it would reach past them (Whisper may time a last word past the end)."""
    length = round(WORD_CLIP_SECONDS * SAMPLE_RATE)
    middle = round(((word.start + word.end) / 2 - offset) * SAMPLE_RATE)
    start = min(max(middle - length // 2, 0), max(len(samples) - length, 0))
    return samples[start:start + length]


def utterance_clip(samples: np.ndarray, offset: float, words: Sequence[Word], span: range) -> np.ndarray:
    """The clip of `samples` (which start at `offset` seconds) from the first word of `span` to its last."""
    start = max(round((words[span[0]].start - offset) * SAMPLE_RATE), 0)
    return samples[start:round((words[span[-1]].end - offset) * SAMPLE_RATE)]


@dataclass(frozen=True, eq=False)
class WordVoices:
    """The speakers with a voice, their voices (speakers x dim) and each word's own vector (words x dim)."""

    speakers: list[str]
    voices: np.ndarray
    vectors: np.ndarray

    def cosines(self) -> tuple[list[str], np.ndarray]:
        """The speakers and each word's cosine to their voices (words x speakers), as the word tagger takes them."""
        return self.speakers, self.vectors @ self.voices.T

    def refined(self, labels: Sequence[str]) -> WordVoices:
        """The voices estimated again as the centroid of the word vectors attributed to each speaker (one with
        fewer than `REFINE_MIN_WORDS` words keeps its voice)."""
        given = np.asarray(labels)
        voices = np.stack([
            centroid(self.vectors[given == label]) if np.count_nonzero(given == label) >= REFINE_MIN_WORDS
            else voice for label, voice in zip(self.speakers, self.voices)
        ])
        return WordVoices(self.speakers, voices, self.vectors)


def word_voices(audio: AudioRef, words: Sequence[Word], voices: dict[str, np.ndarray], encoder: SpeakerEncoder,
                settings: Settings, utterances: Sequence[range] = ()) -> WordVoices | None:
    """Each word's own vector beside the speakers' `voices` (`speaker_voices`); the words of each of
    `utterances` (`short_utterances`) share the vector of one clip of its span.

    None when fewer than two speakers have a voice (too little speech for a clip): there is nothing to tell
    apart.
    """
    if len(voices) < 2:
        return None
    speakers = sorted(voices)
    windows = plan_windows(audio, settings.window_seconds)
    middles = np.array([(word.start + word.end) / 2 for word in words]) * SAMPLE_RATE
    home = np.clip(np.searchsorted([w.start for w in windows], middles, side="right") - 1, 0, len(windows) - 1)
    vectors = np.zeros((len(words), len(voices[speakers[0]])), dtype=np.float32)
    alone = np.ones(len(words), dtype=bool)  # a word of an utterance needs no clip of its own
    for span in utterances:
        alone[span.start:span.stop] = False
    for number, window in enumerate(windows):
        inside = np.flatnonzero((home == number) & alone)
        whole = [span for span in utterances if home[span[0]] == number]
        if not len(inside) and not whole:
            continue
        samples = audio.read(window.start, window.stop)
        with speaker_slot(settings):
            if len(inside):
                vectors[inside] = encoder.embed([word_clip(samples, window.offset, words[i]) for i in inside])
            if whole:
                heard = encoder.embed([utterance_clip(samples, window.offset, words, span) for span in whole])
                for span, vector in zip(whole, heard):
                    vectors[span.start:span.stop] = vector
    return WordVoices(speakers, np.stack([voices[label] for label in speakers]), vectors)
