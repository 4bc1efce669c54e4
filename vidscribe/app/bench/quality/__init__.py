"""The quality benchmark of issue #13: how right the stored, speaker-attributed transcript is.

`benchmarks/quality.py` runs it; `tests/test_quality.py` asserts the issue's targets on its quick corpus.

Why its own package beside the throughput benchmark: throughput is measured through Prefect and the database,
quality is not. Each corpus item runs the real stages without Prefect and without a database
(`vidscribe.pipeline.process_recording(..., steps=PLAIN, until="segments")`) and what is scored is
`Recording.segments`, the rows the store would write, minus flagged segments (search leaves them out).

- `texts`: what the constructed recordings say (English turns, short replies, German, French).
- `sounds`: non-speech made with ffmpeg's lavfi sources (chords, noise) and silence trimming.
- `reference`: the reference of an item (who says what when, where the unscored speech is), STM/RTTM readers.
- `corpus`: the items (pyannote's sample, dialogues, non-speech, mixed language, a French monologue), cached.
- `normalize`: the text normalisation every word-level metric shares.
- `metrics`: WER, cpWER, tcpWER (meeteval), WDER, DER (pyannote.metrics), inserted words, n-gram loops.
- `score`: one item's figures from its reference and the pipeline's segments; totals over items; the targets.
- `run`: the pipeline on each item (the French one with the multilingual Whisper base); `report`: the
  printed table.
"""
