"""Store: write the video and its segments in one transaction (replacing any earlier transcript)."""

from __future__ import annotations

from typing import Any

import numpy as np

from vidscribe.db import get_engine, store_video
from vidscribe.video import VideoInfo
from vidscribe.settings import Settings
from vidscribe.transcript import Segment, SpeakerName


def store(
    info: VideoInfo,
    segments: list[Segment],
    vectors: np.ndarray,
    names: dict[str, SpeakerName],
    stage_seconds: dict[str, float],
    audio_sha256: str,
    settings: Settings,
    telemetry: dict[str, Any] | None = None,
    warning: str = "",
) -> int:
    speakers = {label: {"name": n.name, "confidence": n.confidence, "known": n.known} for label, n in names.items()}
    return store_video(get_engine(settings), info, segments, vectors, speakers, stage_seconds, audio_sha256,
                       telemetry, warning)

