"""Text normalisation shared by every word-level metric (WER, cpWER, tcpWER, WDER, loops).

Why normalise: WER should count words that were misheard, not Whisper's house style. The rules, in order:

1. Unicode NFKC, then case-folding ("Hello" = "hello").
2. English only: digits as spoken words, as the references spell them: "35" -> "thirty five", "2,000" ->
   "two thousand", "1.5" -> "one point five", "3rd" -> "third", "%" -> "percent". Read as a cardinal
   number ("1990" -> "one thousand nine hundred ninety"); the references contain no years or digits.
3. "&" -> "and"; hyphens, dashes and slashes separate words ("co-founder" -> "co founder").
4. Apostrophes are dropped inside words, on both sides alike ("didn't" -> "didnt", "l'eau" -> "leau"), so a
   contraction counts as one word either way.
5. Every other punctuation mark or symbol (Unicode categories P and S: commas, quotes, brackets, "$")
   separates words; letters of any script keep their combining marks (French accents, Thai vowel signs).
6. A few spelling variants Whisper alternates between become one ("ok" -> "okay").

This is the usual recipe (lower case, no punctuation, numbers as words) of Whisper's English normaliser and
of meeteval's `lower,rm([^a-z0-9 ])`, without the latter's ASCII-only alphabet, so French and German keep
their accented letters (and a misrecognition in another script stays words, not dropped characters).
"""

from __future__ import annotations

import re
import unicodedata

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
ORDINAL_ENDINGS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                   "nine": "ninth", "twelve": "twelfth"}
VARIANTS = {"ok": "okay", "alright": "all right"}

_DIGIT_GROUPS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_NUMBER = re.compile(r"\d+")
_SEPARATORS = re.compile(r"[-‐‑‒–—―/]")
_APOSTROPHES = re.compile(r"['’‘ʼ`]")


def cardinal(n: int) -> list[str]:
    """`n` as English words: 35 -> thirty five, 2000 -> two thousand (no "and")."""
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    for size, name in SCALES:
        if n >= size:
            rest = cardinal(n % size) if n % size else []
            return cardinal(n // size) + [name] + rest
    raise AssertionError(n)  # unreachable: every n >= 100 has a scale


def ordinal(n: int) -> list[str]:
    """`n` as an English ordinal: 3 -> third, 21 -> twenty first, 40 -> fortieth."""
    words = cardinal(n)
    last = words[-1]
    if last in ORDINAL_ENDINGS:
        words[-1] = ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return words


def _spell_numbers(text: str) -> str:
    text = _DIGIT_GROUPS.sub("", text).replace("%", " percent ")
    text = _ORDINAL.sub(lambda m: " " + " ".join(ordinal(int(m[1]))) + " ", text)
    text = _DECIMAL.sub(lambda m: " " + " ".join(cardinal(int(m[1]))) + " point "
                        + " ".join(ONES[int(d)] for d in m[2]) + " ", text)
    return _NUMBER.sub(lambda m: " " + " ".join(cardinal(int(m[0]))) + " ", text)


def normalize_words(text: str, language: str = "en") -> list[str]:
    """The words of `text` after the rules above (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    if language == "en":
        text = _spell_numbers(text)
    text = _SEPARATORS.sub(" ", text)
    text = _APOSTROPHES.sub("", text)
    words = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text).split()
    return [w for word in words for w in VARIANTS.get(word, word).split()]


def normalize_text(text: str, language: str = "en") -> str:
    return " ".join(normalize_words(text, language))
