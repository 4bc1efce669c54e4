"""Errors that carry a message a person can act on; the CLI prints each as one line, flows record it.

Why one module at the bottom of the package: the command line catches these without importing the stages
that raise them (and with them torch, pyannote and faster-whisper), and every layer may raise them.
"""

from __future__ import annotations


class BadInputError(ValueError):
    """The input cannot be processed; the message names the input and how to fix it. Never retried: the same
    input fails the same way, so a retry would only delay the rest of a batch."""


class ModelAccessError(RuntimeError):
    """A model could not be fetched; the message says how to get access (and never shows the token)."""


class EmbeddingDimensionError(ValueError):
    """The embedding model's output does not fit the database's vector column."""
