"""Per-segment gates on Whisper's output: what is dropped as invented, and what is kept but flagged.

Why per segment: Whisper's failures are local. A decoding loop ("the rest of the rest of the rest of ..."), a
phrase invented over silence or music ("Thank you very much."), or nonsense where an English-only model meets
another language, sits next to good transcript; refusing the whole video loses the good part, and a mean
over the whole video lets the bad part through when most of it is fine.

The decision per segment follows Whisper's own tests, applied after decoding (faster-whisper only applies them
to choose a temperature fallback, and keeps the last attempt whatever it scored):
- dropped: Whisper itself says the window holds no speech (no-speech probability above `asr_no_speech_prob`
  and a log-probability below `asr_min_avg_logprob`, the rule openai/whisper uses to skip silent windows) and
  the segment's own words are doubtful (`vidscribe.stages.language.doubtful`);
- dropped: a segment without a word, only punctuation (Whisper writes "." over music: a plucked arpeggio
  came out as one "." at a log-probability of -0.99999, a hair above the silence rule's -1.0);
- flagged, kept with the reason: a repeated phrase (`repeated_phrase`), a compression ratio of the segment's
  own text above `asr_max_compression_ratio` (the text is more repetitive than speech is), and speech in a
  language the model does not know (`vidscribe.stages.language`). Search leaves flagged segments out unless asked.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import replace

from vidscribe.settings import Settings
from vidscribe.stages.language import doubtful
from vidscribe.transcript import AsrSegment

#: a phrase of `n` words repeated back to back at least this many times is a loop (n >= 2) ...
LOOP_REPEATS = 3
#: ... and a single word this many times ("no, no, no" is speech; eight "no"s in a row is a loop)
WORD_LOOP_REPEATS = 6
LONGEST_LOOP_PHRASE = 8


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+(?:'\w+)?", text.lower())


def repeated_phrase(text: str) -> tuple[str, int] | None:
    """The first phrase repeated back to back often enough to be a decoding loop, and its count."""
    words = _tokens(text)
    for n in range(1, LONGEST_LOOP_PHRASE + 1):
        needed = WORD_LOOP_REPEATS if n == 1 else LOOP_REPEATS
        for start in range(0, len(words) - n * needed + 1):
            phrase = words[start:start + n]
            count = 1
            while words[start + count * n:start + (count + 1) * n] == phrase:
                count += 1
            if count >= needed:
                return " ".join(phrase), count
    return None


def is_silence(segment: AsrSegment, settings: Settings) -> bool:
    """Whisper's own verdict that the segment's window held no speech (openai/whisper's skip rule), for a
    segment whose own words are doubtful too: faster-whisper reports the two figures per 30 s window, and a
    window that is half silence must not take its well-heard speech with it."""
    return (segment.no_speech_prob > settings.asr_no_speech_prob
            and segment.avg_logprob < settings.asr_min_avg_logprob and doubtful(segment, settings))


def suspicion(segment: AsrSegment, settings: Settings) -> str | None:
    """Why the segment's text may not be what was said (a loop, too repetitive), or None."""
    loop = repeated_phrase(segment.text)
    if loop is not None:
        phrase, count = loop
        return f"repeated phrase '{phrase}' x{count} (a decoding loop)"
    ratio = compression_ratio(segment.text)
    if ratio > settings.asr_max_compression_ratio:
        return f"repetitive text (compression ratio {ratio:.1f} > {settings.asr_max_compression_ratio})"
    return None


def compression_ratio(text: str) -> float:
    """Whisper's repetitiveness figure (UTF-8 length over its zlib-compressed length) of one segment's text.

    faster-whisper reports the figure of the whole 30 s window a segment came from: the window of the mixed
    English/German clip scored 2.7 for the loop its German ended in, and that flagged three clean English
    sentences of the same window (WER 0%) as repetitive. The formula is faster-whisper's
    `get_compression_ratio`, not imported: its module loads CTranslate2, and the gates load no model library."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data))  # "" compresses to 8 bytes: 0.0


def gate(segments: tuple[AsrSegment, ...], settings: Settings) -> tuple[AsrSegment, ...]:
    """The segments Whisper did not invent over silence, each flagged with any suspicion (an earlier flag,
    such as speech in another language, is kept: that segment is speech, whatever Whisper made of it)."""
    kept = []
    for segment in segments:
        if not _tokens(segment.text) or (not segment.flag and is_silence(segment, settings)):
            continue
        reason = suspicion(segment, settings)
        kept.append(replace(segment, flag=segment.flag or reason) if reason else segment)
    return tuple(kept)
