"""Link the speakers of separately diarized windows of one recording into recording-wide voices.

Why: a long recording is diarized window by window to bound memory (`vidscribe.windows`), and pyannote's
labels only hold within a window: SPEAKER_00 of one window need not be SPEAKER_00 of the next. Each
window-speaker gets a voice vector from the encoder that speaker identification uses
(`vidscribe.speakers.voices`), and window-speakers are clustered by cosine with complete linkage: two join
only if every pair of their windows' voices is at least `threshold` alike.

Two speakers of one window join only at the stricter `merge_threshold`: pyannote told them apart, and is
right far more often than not, but its clustering threshold cannot serve every recording (pyannote's sample
splits one of its two voices at the threshold that keeps a three-voice dialogue's voices apart), and a whole
turn-long voice from the speaker encoder is a second, independent opinion. Such joins never leave a
recording with one voice where it had several: whether a second voice speaks at all is pyannote's and the
monologue check's call, and two similar voices with quick turns (the quality corpus's pair B: cosine 0.83
in a 46 s dialogue) are as alike as one voice split in two (pyannote's sample: 0.85).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from vidscribe.speakers.voices import anonymous_label
from vidscribe.transcript import Turn

#: the distance given to two speakers of one window: the largest cosine distance, so they never join
APART = 2.0
WindowSpeaker = tuple[int, str]  # (window index, pyannote's label in that window)


def link_speakers(
    voices: Sequence[Mapping[str, np.ndarray]], threshold: float, merge_threshold: float,
    num_speakers: int | None = None,
) -> dict[WindowSpeaker, int]:
    """A cluster number for each (window, label) that has a voice; equal numbers mean one voice.

    `num_speakers`, when known, fixes the number of clusters instead of the thresholds.
    """
    keys = [(window, label) for window, labels in enumerate(voices) for label in labels]
    if len(keys) < 2:
        return {key: 1 for key in keys}
    vectors = np.stack([voices[window][label] for window, label in keys])
    window_of = np.array([window for window, _ in keys])
    apart = _clusters(vectors, window_of, threshold, 1.0, num_speakers)
    joined = _clusters(vectors, window_of, threshold, merge_threshold, num_speakers)
    clusters = apart if len(set(joined)) == 1 < len(set(apart)) else joined
    return dict(zip(keys, clusters))


def _clusters(vectors: np.ndarray, window_of: np.ndarray, threshold: float, merge_threshold: float,
              num_speakers: int | None) -> list[int]:
    """Complete-linkage clusters of unit `vectors`; two of one window join only at `merge_threshold`."""
    distance = np.clip(1.0 - vectors @ vectors.T, 0.0, APART)
    distance[(window_of[:, None] == window_of[None, :]) & (distance > 1.0 - merge_threshold)] = APART
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="complete")
    clusters = (fcluster(tree, num_speakers, criterion="maxclust") if num_speakers
                else fcluster(tree, 1.0 - threshold, criterion="distance"))
    return clusters.tolist()


def relabel(window_turns: Sequence[Sequence[Turn]], clusters: Mapping[WindowSpeaker, int]) -> tuple[Turn, ...]:
    """All windows' turns (already in recording time) under one label per voice, SPEAKER_00.. by first
    appearance, sorted like pyannote's. A window-speaker without a voice (too little speech to embed) keeps
    a label of its own: joining it to anyone would be a guess."""
    tagged = sorted(((turn, clusters.get((window, turn.speaker), (window, turn.speaker)))
                     for window, turns in enumerate(window_turns) for turn in turns),
                    key=lambda pair: (pair[0].start, pair[0].end))
    names: dict[Hashable, str] = {}
    for _, voice in tagged:
        names.setdefault(voice, anonymous_label(len(names)))
    turns = (Turn(turn.start, turn.end, names[voice]) for turn, voice in tagged)
    return tuple(sorted(turns, key=lambda t: (t.start, t.end, t.speaker)))
