"""The peer throughput benchmark of issue #14: how far vidscribe's end-to-end throughput is from the floor.

`benchmarks/peer.py` runs it; `tests/test_peer_bench.py` runs its quick corpus for real and checks the figures.

Why a floor: vidscribe does more than transcribe (diarize, identify speakers, embed, store), through Prefect
and PostgreSQL, from a cold process. The floor is what faster-whisper alone costs on the same files with the
same decode settings (sequential decoder and `BatchedInferencePipeline`, both with word timestamps), so the
ratio says what the rest of vidscribe costs; WhisperX, when its venv is given, is the nearest peer that also
diarizes. Every system is scored with the quality benchmark's WER and DER, so speed is never bought unseen
with accuracy.

- `corpus`: monologues and 2- and 3-voice dialogues as 64 kbit/s MP3s, with references, cached.
- `systems`: the runs (the floor in this process, `vidscribe backfill` and `whisperx` as cold processes).
- `score`: WER and DER of a run's segments; `report`: the printed table and the JSON.
- `run`: ties them together, fastest of `--repeats`.
"""
