"""The printed report: one row per item and a total row, the targets, then what each item's figures hide.

Why plain text: the benchmark's output is pasted into issues and READMEs; columns of fixed width read the
same in a terminal, a log and a Markdown code block.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from vidscribe.app.bench.quality.metrics import (
    DER_COLLAR_SECONDS, LOOP_N, LOOP_REPEATS, NONSPEECH_MARGIN_SECONDS, TCP_COLLAR_SECONDS, Rate,
)
from vidscribe.app.bench.quality.score import ItemResult, Target, targets, totals

COLUMNS = (("item", 15), ("audio", 6), ("WER", 6), ("cpWER", 6), ("tcpWER", 7), ("WDER", 6), ("DER", 6),
           ("ins", 4), ("nonsp", 6), ("ins/10m", 8), ("loops", 5), ("flag/seg", 9), ("spk", 5), ("wall", 6))


def percent(rate: Rate | None) -> str:
    return "-" if rate is None or rate.value is None else f"{100 * rate.value:.1f}%"


def _row(cells: Sequence[str]) -> str:
    return " ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                    for i, (cell, (_, width)) in enumerate(zip(cells, COLUMNS)))


def header() -> str:
    """The column names and their underline."""
    return _row([name for name, _ in COLUMNS]) + "\n" + _row(["-" * w for _, w in COLUMNS])


def item_row(r: ItemResult) -> str:
    if not r.scored:
        return _row([r.name, f"{r.duration:.0f}s"] + ["-"] * (len(COLUMNS) - 2))
    per10 = f"{len(r.inserted) / (r.nonspeech_seconds / 600):.1f}" if r.nonspeech_seconds else "-"
    return _row([r.name, f"{r.duration:.0f}s", *(percent(r.rates[k]) for k in ("wer", "cpwer", "tcpwer", "wder",
                                                                                  "der")),
                 str(len(r.inserted)), f"{r.nonspeech_seconds:.0f}s", per10, str(len(r.loops)),
                 f"{r.flagged}/{r.segments}", f"{r.speakers_found}/{r.speakers_reference}", f"{r.wall_seconds:.0f}s"])


def target_line(target: Target) -> str:
    unit = {"count": "", "%": "%"}.get(target.unit, f" {target.unit}")
    if target.value is None:
        value = "-"
    else:
        value = (f"{target.value:g}" if target.unit == "count" else f"{target.value:.2f}") + unit
    return f"  [{'met' if target.met else 'MISSED'}] {target.name}: {value} (target <= {target.limit:g}{unit})"


def notes(r: ItemResult) -> list[str]:
    """What the row does not show: refusals, language, inserted words, loops, flags, the unscored speech."""
    lines = []
    if r.status != "ok":
        lines.append(r.status)
    if r.detected_language or r.diarization_note:
        lines.append(f"transcript language {r.detected_language or '?'}; diarization: {r.diarization_note or '-'}")
    if r.wder_detail is not None and r.scored:
        d = r.wder_detail
        lines.append(f"WDER {d.wrong}/{d.correct} correct words with the wrong speaker (with substitutions "
                     f"{percent(d.rate_with_substitutions)}); DER seconds: confusion {r.der_detail.confusion:.1f}, "
                     f"missed {r.der_detail.missed:.1f}, false alarm {r.der_detail.false_alarm:.1f} "
                     f"of {r.der_detail.total:.1f}")
    if r.wder_detail is not None and r.wder_detail.wrong_words:
        wrong = r.wder_detail.wrong_words
        lines.append("wrong speaker: " + ", ".join(f"{w.word!r}@{w.start:.1f}s ({w.reference_speaker} as "
                                                   f"{w.hypothesis_speaker})" for w in wrong[:8])
                     + (" ..." if len(wrong) > 8 else ""))
    if r.inserted:
        lines.append("inserted: " + ", ".join(f"{w.text!r}@{w.start:.1f}s" for w in r.inserted[:12])
                     + (" ..." if len(r.inserted) > 12 else ""))
    for text in r.loops:
        lines.append(f"loop: {text[:100]!r}")
    if len(r.loops_with_flagged) != len(r.loops):
        lines.append(f"loops including flagged segments: {len(r.loops_with_flagged)}")
    if r.flags:
        lines.append("flags: " + ", ".join(f"{flag} x{n}" for flag, n in r.flags.items()))
    if r.ignored is not None:
        i = r.ignored
        lines.append(f"unscored speech: {i.segments} segments, languages {i.languages or '-'}, "
                     f"{i.flagged} flagged {i.flags or ''}; {i.stored_words} words stored unflagged"
                     + (f": {i.stored_text[:160]!r}" if i.stored_text else ""))
    return lines


def render(results: Sequence[ItemResult], title: str) -> str:
    total = totals(results)
    out = [title, "", header()]
    out += [item_row(r) for r in results]
    per10 = f"{total.inserted_per_10_min:.1f}" if total.inserted_per_10_min is not None else "-"
    out.append(_row(["total (en)", f"{total.duration:.0f}s",
                     *(percent(total.rates[k]) for k in ("wer", "cpwer", "tcpwer", "wder", "der")),
                     str(total.inserted), f"{total.nonspeech_seconds:.0f}s", per10, str(total.loops),
                     f"{total.flagged}/{total.segments}", "", f"{total.wall_seconds:.0f}s"]))
    out += ["", "targets (issue #13):", *(target_line(t) for t in targets(results)), "", "per item:"]
    for r in results:
        out.append(f"  {r.name}:")
        out += [textwrap.fill(line, 116, initial_indent="    ", subsequent_indent="      ") for line in notes(r)]
    out += ["", LEGEND]
    return "\n".join(out)


LEGEND = textwrap.dedent(f"""\
    WER/cpWER/tcpWER: meeteval; tcpWER collar {TCP_COLLAR_SECONDS:g} s. WDER: correctly recognised words given the
    wrong speaker, / correct words (hypothesis speakers mapped to reference speakers by the Hungarian algorithm on
    aligned words). DER: pyannote.metrics, collar {DER_COLLAR_SECONDS:g} s, overlap scored. ins: stored words whose
    middle lies in reference non-speech (more than {NONSPEECH_MARGIN_SECONDS:g} s from any reference speech); nonsp:
    seconds of such non-speech. loops: a {LOOP_N}-gram {LOOP_REPEATS}+ times in a row in an item's stored text.
    flag/seg: flagged segments (left out of every figure but 'loops including flagged') / all segments. spk:
    speakers stored / in the reference. Text: lower case, no punctuation, English numbers as words. Totals add
    counts over the English items (word rates, WDER, DER) or every item that ran (ins, loops, flags).""")
