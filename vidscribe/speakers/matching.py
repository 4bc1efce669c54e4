"""Match a speaker's voice embedding against enrolled voice profiles.

Why a threshold AND a margin: a threshold alone names a stranger after whichever profile happens to be
closest; requiring the best profile to beat the runner-up by a margin keeps two similar enrolled voices
from being confused. Anything below either bar stays anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidscribe.speakers.encoder import l2_normalize


class Profile(Protocol):
    name: str
    key: str  # the speaker encoder that made the centroid
    centroid: np.ndarray


@dataclass(frozen=True)
class Match:
    name: str
    score: float


def centroid(embeddings: np.ndarray) -> np.ndarray:
    """The unit-length mean direction of a set of unit embeddings."""
    return l2_normalize(np.asarray(embeddings, dtype=np.float32).mean(axis=0))


def best_match(embedding: np.ndarray, profiles: list[Profile], threshold: float, margin: float) -> Match | None:
    """The profile this voice belongs to, or None when no profile is close enough and clearly the best."""
    if not profiles:
        return None
    scores = np.stack([p.centroid for p in profiles]).astype(np.float32) @ embedding
    order = np.argsort(scores)[::-1]
    best = float(scores[order[0]])
    runner_up = float(scores[order[1]]) if len(order) > 1 else -1.0
    if best < threshold or best - runner_up < margin:
        return None
    return Match(profiles[order[0]].name, best)
