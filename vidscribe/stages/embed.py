"""Embed: sentence-transformers vectors for segments (and for search queries, with the same model).

Why normalised vectors: pgvector's cosine distance then equals 1 - dot product, and scores are comparable
across videos and queries. Why a batcher: segments of the videos in flight are embedded together in batches
of `text_embedding_batch_size` (see `vidscribe.embedding_batcher`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vidscribe.errors import EmbeddingDimensionError
from vidscribe.gpu import model_budget_mib, resolve_device
from vidscribe.oom import with_oom_fallback
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings, section
from vidscribe.transcript import Segment

if TYPE_CHECKING:  # imported where the model loads
    from sentence_transformers import SentenceTransformer

SECTION = section("EmbedSettings", "text_embedding_model", "text_embedding_dim")


def load_text_model(settings: Settings) -> SentenceTransformer:
    device = resolve_device(settings.device)

    def load() -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(settings.text_embedding_model, device=device,
                                    cache_folder=str(settings.models_dir / "sentence-transformers"))
        dim = model.get_embedding_dimension()
        if dim != settings.text_embedding_dim:
            raise EmbeddingDimensionError(
                f"VIDSCRIBE_TEXT_EMBEDDING_MODEL={settings.text_embedding_model} gives {dim}-d vectors but "
                f"VIDSCRIBE_TEXT_EMBEDDING_DIM is {settings.text_embedding_dim}; set them to match"
            )
        return model

    runtime = get_runtime()
    return runtime.models.get("embed", settings.text_embedding_model, device, "float32", load,
                              model_budget_mib(settings, device, runtime.nvml))


def _encode(texts: list[str], settings: Settings) -> np.ndarray:
    with get_runtime().scheduler.slot("embed"):
        vectors = load_text_model(settings).encode(texts, batch_size=settings.text_embedding_batch_size,
                                                   normalize_embeddings=True, convert_to_numpy=True,
                                                   show_progress_bar=False)
    return vectors.astype(np.float32, copy=False)


def embed_texts(texts: list[str], settings: Settings) -> np.ndarray:
    """(len(texts), dim) float32 unit vectors, encoded in batches of `text_embedding_batch_size` (halved,
    then moved to the CPU, if the GPU runs out of memory)."""
    if not texts:
        return np.zeros((0, settings.text_embedding_dim), dtype=np.float32)
    return with_oom_fallback(settings, ("text_embedding_batch_size",), "device", "text embedding",
                             lambda current: _encode(texts, current))


def embed_segments(segments: list[Segment], settings: Settings) -> np.ndarray:
    """The stage: one vector per segment, in segment order, batched with the other videos in flight."""
    texts = [s.text for s in segments]
    if not texts:
        return embed_texts(texts, settings)
    return get_runtime().batcher.embed(texts, settings.text_embedding_batch_size, settings.embed_linger_seconds,
                                       lambda batch: embed_texts(batch, settings))
