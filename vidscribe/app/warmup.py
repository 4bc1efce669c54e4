"""The model libraries, imported while the CLI waits for its local Prefect API (issue #14).

Why: pyannote.audio takes 5-15 s to import on 2 cores (lightning, its loggers, optuna), faster-whisper and
sentence-transformers seconds more; a run imports them anyway, one after another, in the middle of its first
video. While the local API boots (a server process, 6-9 s) the CLI only waits: importing them then uses the
time, and the core, that the server leaves. Only what the settings will use is imported, and only by
`ingest`: a backfill may find nothing new, and then loads no model library at all.
"""

from __future__ import annotations

import importlib

from vidscribe.settings import Settings

#: what every ingest imports: the ASR and the text embedding libraries
ALWAYS = ("faster_whisper", "sentence_transformers")
#: what a diarizing run imports (the pipeline class `Pipeline.from_pretrained` looks up by name)
DIARIZATION = ("pyannote.audio", "pyannote.audio.pipelines.speaker_diarization")


def import_model_libraries(settings: Settings) -> None:
    """Import the libraries a run with `settings` needs (a no-op for those already imported)."""
    for name in (*ALWAYS, *(DIARIZATION if settings.enable_diarization else ())):
        importlib.import_module(name)
