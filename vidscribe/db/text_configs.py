"""Which PostgreSQL text-search configuration indexes a segment of a given language.

Why per segment: full-text search stems words and drops stop words by language. A German segment indexed with
'english' keeps "katzen" as it is, so a search for "Katze" misses it; indexed with 'german', both become
"katz". A channel may switch language between videos, and a video between segments, so each segment carries
its own configuration (`segments.text_config`, migration 0005), and `search.py` parses a query once per
configuration present in the archive.

Why 'simple' for the rest: it lowercases and nothing else, which is right for any language without a stemmer
(Chinese, Japanese, Polish, ...) and for segments whose language is unknown (""). A stemmer of the wrong
language would mangle their words.

The table lists PostgreSQL 16's built-in Snowball configurations (`SELECT cfgname FROM pg_ts_config` on the
embedded server: these 28 and 'simple'). A server given by DATABASE_URL may be older and lack some (PostgreSQL
12 has no 'armenian', 'basque', 'catalan', 'hindi', 'serbian' or 'yiddish'); `text_config` only returns a
configuration the server has, so a store never fails on a missing one.
"""

from __future__ import annotations

from collections.abc import Collection

#: the configuration for a language without one of its own, and for an unknown language
FALLBACK = "simple"

#: ISO 639-1 code (as Whisper reports languages) -> PostgreSQL 16 text-search configuration
TEXT_CONFIGS: dict[str, str] = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",  # Whisper's Nynorsk; the Snowball stemmer serves both written forms
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


def normalize_language(language: str | None) -> str:
    """An ISO 639-1 code as stored: lower case, without a region ("en-US" -> "en"); "" when unknown."""
    return (language or "").strip().lower().replace("_", "-").split("-", 1)[0]


def text_config(language: str | None, available: Collection[str] | None = None) -> str:
    """The configuration for segments in `language`; FALLBACK for other or unknown languages, and for a
    configuration that is not in `available` (the server's `pg_ts_config`, when given)."""
    config = TEXT_CONFIGS.get(normalize_language(language), FALLBACK)
    return config if available is None or config in available else FALLBACK
