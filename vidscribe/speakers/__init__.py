"""Speaker embeddings: pluggable encoders, voice profiles and matching."""
