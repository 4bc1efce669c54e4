"""Voice profiles: one centroid per (person, speaker model).

Why keyed by the speaker model: embeddings of different speaker models live in different spaces (and
dimensions), so a centroid is only comparable with embeddings from the model that made it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from vidscribe.db.models import VoiceProfileRow


@dataclass(frozen=True)
class VoiceProfile:
    name: str
    key: str
    centroid: np.ndarray
    sample_count: int


def upsert_profile(engine: Engine, name: str, key: str, centroid: np.ndarray, sample_count: int) -> None:
    """Create or replace the profile of `name` for speaker model `key`."""
    vector = np.asarray(centroid, dtype=np.float32).ravel()
    stmt = pg_insert(VoiceProfileRow).values(
        name=name, speaker_model_key=key, centroid=vector, sample_count=sample_count
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[VoiceProfileRow.name, VoiceProfileRow.speaker_model_key],
        set_={"centroid": stmt.excluded.centroid, "sample_count": stmt.excluded.sample_count,
              "updated_at": func.now()},
    )
    with engine.begin() as conn:
        conn.execute(stmt)


def list_profiles(engine: Engine, key: str | None = None) -> list[VoiceProfile]:
    """All profiles ordered by name, or only those made with speaker model `key`."""
    stmt = select(VoiceProfileRow.name, VoiceProfileRow.speaker_model_key, VoiceProfileRow.centroid,
                  VoiceProfileRow.sample_count).order_by(VoiceProfileRow.name, VoiceProfileRow.speaker_model_key)
    if key is not None:
        stmt = stmt.where(VoiceProfileRow.speaker_model_key == key)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        VoiceProfile(name=r.name, key=r.speaker_model_key, centroid=np.asarray(r.centroid, dtype=np.float32),
                     sample_count=r.sample_count)
        for r in rows
    ]
