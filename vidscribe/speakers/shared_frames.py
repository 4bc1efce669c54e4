"""Speaker embeddings of pyannote's (window, local speaker) pairs from frame features computed once (issue #14).

Why: pyannote embeds every local speaker of every 10 s window from scratch. With its 1 s step, each second
of speech goes through the speaker model about ten times, and that was three quarters of diarization's CPU
time. A WeSpeaker model (the offline profile's CAM++) is frame layers followed by statistics pooling (mean
and standard deviation over time) and a small dense layer. So the ONNX graph is cut at the pooling: the
frame layers run once over the recording, in 10 s blocks, and each (window, speaker) embedding is the
dense layer applied to the statistics of that speaker's frames in that window. This is how pyannote's
PyTorch WeSpeaker models use a speaker's mask (as pooling weights over the whole window's frames); the
ONNX path instead embeds only the speaker's samples.

A frame computed on a block hears more than its speaker: its receptive field reaches the neighbouring
voice, and every CAM++ layer adds the mean of the whole block (and of 1 s segments) to each frame. So the
mask loses `ERODE_SECONDS` at each edge of a speaker's stretch where enough is left, and these embeddings,
closer together across voices (sample: cosine 0.64 between voices against pyannote's 0.56), are clustered
at their own, lower threshold (`diarization_shared_threshold`). Measured on 2 cores, one thread: 0.140 ->
0.052 CPU s per audio s, mean DER 17.3 -> 11.4% on the quality corpus and 19.3 -> 15.4% on the peer
corpus (README, Throughput).

For the same reason the frame layers hear only speech: the stretches where the segmentation hears anyone,
joined end to end (each padded by `SPEECH_PAD_SECONDS`). A block half music or noise shifted its speech
frames (the fbank's mean normalisation and the block means are taken over the whole block): the quality
corpus's speech among silence, music and noise (2 voices, 12 min) was clustered as 4 voices at 0.55.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from vidscribe.speakers.sampling import joined

if TYPE_CHECKING:
    import onnxruntime
    import torch
    from pyannote.audio.pipelines.speaker_verification import ONNXWeSpeakerPretrainedSpeakerEmbedding
    from pyannote.core import SlidingWindowFeature

#: frame layers run on blocks of this length: pyannote's window, the context the model was trained on
BLOCK_SECONDS = 10.0
#: each edge of a speaker's stretch of speech dropped from its statistics (frames there hear the neighbour):
#: 0.2 s fixed pyannote's sample (at threshold 0.65, DER 59% without, 18% with; 17.5% with pyannote's own
#: embeddings); 0.1 and 0.3 s gave a mean DER of 12.5% and 11.8% on the quality corpus against 11.4%
ERODE_SECONDS = 0.2
#: fewer pooled frames than this give no embedding (NaN, which pyannote's clustering treats as it treats its
#: own for a speaker with too little speech); 0.06, 0.1 and 0.2 s gave the same DER on the quality corpus
MIN_POOLED_SECONDS = 0.06
#: each stretch of speech keeps this much of its surroundings (seconds) in the frame layers' input
SPEECH_PAD_SECONDS = 0.2
#: Kaldi fbank frames per second and samples per frame and shift at 16 kHz (pyannote's WeSpeaker features)
FBANK_PER_SECOND = 100
FBANK_WINDOW_SAMPLES, FBANK_SHIFT_SAMPLES = 400, 160


@dataclass(frozen=True)
class SplitModel:
    """A WeSpeaker ONNX graph cut at its statistics pooling: `frames` maps fbank (1, T, 80) to frame
    features (1, C, T / stride); `head` maps pooled statistics (N, 2C) to embeddings (N, D)."""

    frames: onnxruntime.InferenceSession
    head: onnxruntime.InferenceSession
    fbank_name: str
    frames_name: str
    stats_name: str
    output_name: str


def _pooling_tensors(graph: object) -> tuple[str, str] | None:
    """(frame features, pooled statistics): the inputs and output of the Concat of a ReduceMean over the
    frames and a Sqrt (the standard deviation), as WeSpeaker's statistics pooling exports. None if absent."""
    producers = {output: node for node in graph.node for output in node.output}
    for node in graph.node:
        if node.op_type != "Concat" or len(node.input) != 2:
            continue
        mean, std = (producers.get(name) for name in node.input)
        if mean is not None and std is not None and mean.op_type == "ReduceMean" and std.op_type == "Sqrt":
            return mean.input[0], node.output[0]
    return None


def split_model(path: str) -> SplitModel | None:
    """The two halves of the speaker model at `path`, on the CPU with one thread each (as pyannote's own
    ONNX session); None if the graph has no statistics pooling to cut at."""
    import onnx
    import onnxruntime as ort
    from onnx.utils import Extractor

    model = onnx.shape_inference.infer_shapes(onnx.load(path))
    tensors = _pooling_tensors(model.graph)
    if tensors is None:
        return None
    frames_name, stats_name = tensors
    extractor = Extractor(model)
    options = ort.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1

    def session(inputs: list[str], outputs: list[str]) -> ort.InferenceSession:
        part = extractor.extract_model(inputs, outputs)
        return ort.InferenceSession(part.SerializeToString(), options, providers=["CPUExecutionProvider"])

    feats, output = model.graph.input[0].name, model.graph.output[0].name
    return SplitModel(session([feats], [frames_name]), session([stats_name], [output]), feats, frames_name,
                      stats_name, output)


def _speaker_masks(segmentations: np.ndarray, exclude_overlap: bool, min_frames: int,
                   erode_frames: int) -> np.ndarray:
    """(chunks, frames, speakers) booleans: each local speaker's frames as pyannote chooses them (without
    overlapped speech, unless too little is left), eroded at both edges where enough is left."""
    from scipy.ndimage import binary_erosion

    masks = np.nan_to_num(segmentations, nan=0.0) > 0.5
    if exclude_overlap:
        clean = masks & (masks.sum(axis=2, keepdims=True) < 2)
        masks = np.where(clean.sum(axis=1, keepdims=True) > min_frames, clean, masks)
    if erode_frames:
        structure = np.zeros((1, 2 * erode_frames + 1, 1), dtype=bool)
        structure[0, :, 0] = True
        eroded = binary_erosion(masks, structure=structure, border_value=1)
        keep = eroded.sum(axis=1, keepdims=True) >= erode_frames
        masks = np.where(keep, eroded, masks)
    return masks


def speech_regions(segmentations: SlidingWindowFeature, samples: int, sample_rate: int) -> list[tuple[int, int]]:
    """Sample ranges where the segmentation hears anyone in at least half of the windows covering a moment,
    each widened by `SPEECH_PAD_SECONDS`, overlapping ones merged."""
    window = segmentations.sliding_window
    chunks, frames, _ = segmentations.data.shape
    per_second = frames / window.duration
    offsets = np.round((np.array([window[c].start for c in range(chunks)]) - window.start) * per_second).astype(int)
    active = np.zeros(offsets[-1] + frames)
    covered = np.zeros_like(active)
    anyone = (np.nan_to_num(segmentations.data, nan=0.0) > 0.5).any(axis=2)
    for offset, heard in zip(offsets, anyone):
        active[offset:offset + frames] += heard
        covered[offset:offset + frames] += 1
    speech = np.concatenate([[False], active * 2 >= np.maximum(covered, 1), [False]]) & np.concatenate(
        [[False], active > 0, [False]])
    edges = np.flatnonzero(np.diff(speech.astype(np.int8)))
    padded = [(max(0, round((window.start + first / per_second - SPEECH_PAD_SECONDS) * sample_rate)),
               min(samples, round((window.start + stop / per_second + SPEECH_PAD_SECONDS) * sample_rate)))
              for first, stop in zip(edges[::2], edges[1::2])]
    return joined([(start, end) for start, end in padded if end > start], 1)  # touching ranges join too


class SharedFrameEmbeddings:
    """Replaces `SpeakerDiarization.get_embeddings` (same arguments and result) for an in-memory waveform."""

    def __init__(self, embedding: ONNXWeSpeakerPretrainedSpeakerEmbedding, model: SplitModel):
        self.embedding = embedding
        self.model = model

    def _blocks(self, waveform: torch.Tensor,
                regions: list[tuple[int, int]]) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """(each feature frame's time in the recording, (C, T') frame features, fbank frames per feature frame)
        per block of the speech `regions` joined end to end. Each block's fbank is computed from its own samples
        and mean-normalised on its own, as pyannote's embedding does per window, so a 30 min window never holds
        more than one block's features."""
        import torch

        joints = np.concatenate([[0], np.cumsum([stop - start for start, stop in regions])])
        starts = np.array([start for start, _ in regions])
        total = 1 + (int(joints[-1]) - FBANK_WINDOW_SAMPLES) // FBANK_SHIFT_SAMPLES  # Kaldi frames (edges snipped)
        count = max(1, math.ceil(total / round(BLOCK_SECONDS * FBANK_PER_SECOND)))
        bounds = np.linspace(0, total, count + 1).round().astype(int)  # equal blocks, none tiny
        for start, stop in zip(bounds[:-1], bounds[1:]):
            first, last = start * FBANK_SHIFT_SAMPLES, (stop - 1) * FBANK_SHIFT_SAMPLES + FBANK_WINDOW_SAMPLES
            pieces = [waveform[..., starts[k] + max(first, joints[k]) - joints[k]:
                               starts[k] + min(last, joints[k + 1]) - joints[k]]
                      for k in range(len(regions)) if joints[k] < last and joints[k + 1] > first]
            fbank = self.embedding.compute_fbank(torch.cat(pieces, dim=-1)[None].float())[0].numpy(force=True)
            out = self.model.frames.run([self.model.frames_name], {self.model.fbank_name: fbank[None]})[0][0]
            out = out.reshape(-1, out.shape[-1])
            stride = max(1, round(fbank.shape[0] / out.shape[-1]))
            # feature frame i is centred on fbank frame start + stride * i, whose 25 ms starts 10 ms per frame
            joined = (start + stride * np.arange(out.shape[-1])) * FBANK_SHIFT_SAMPLES + FBANK_WINDOW_SAMPLES / 2
            region = np.clip(np.searchsorted(joints, joined, side="right") - 1, 0, len(regions) - 1)
            yield (starts[region] + joined - joints[region]) / self.embedding.sample_rate, out, stride

    def __call__(self, file: dict, binary_segmentations: SlidingWindowFeature, exclude_overlap: bool = False,
                 hook: object = None) -> np.ndarray:
        """(chunks, local speakers, dimension) embeddings, NaN where a speaker has too little speech."""
        if file["sample_rate"] != self.embedding.sample_rate:
            raise ValueError(f"shared speaker embeddings need {self.embedding.sample_rate} Hz audio, "
                             f"got {file['sample_rate']} Hz")
        window = binary_segmentations.sliding_window
        chunks, frames, speakers = binary_segmentations.data.shape
        embeddings = np.full((chunks, speakers, self.embedding.dimension), np.nan, dtype=np.float32)
        waveform: torch.Tensor = file["waveform"]
        regions = speech_regions(binary_segmentations, waveform.shape[-1], self.embedding.sample_rate)
        if sum(stop - start for start, stop in regions) < FBANK_WINDOW_SAMPLES:
            return embeddings  # not one 25 ms fbank frame of speech: nothing to embed
        per_second = frames / window.duration
        min_frames = math.ceil(frames * self.embedding.min_num_samples
                               / (window.duration * self.embedding.sample_rate))
        masks = _speaker_masks(binary_segmentations.data, exclude_overlap, min_frames,
                               round(ERODE_SECONDS * per_second))
        sums = squares = None
        counts = np.zeros((chunks, speakers))
        stride = 1
        for times, features, stride in self._blocks(waveform, regions):
            if sums is None:
                sums = np.zeros((chunks, speakers, features.shape[0]))
                squares = np.zeros_like(sums)
            first = max(0, math.floor((times[0] - window.duration - window.start) / window.step))
            last = min(chunks - 1, math.ceil((times[-1] - window.start) / window.step))
            squared = features * features
            for chunk in range(first, last + 1):
                index = np.floor((times - window[chunk].start) * per_second).astype(int)
                inside = (index >= 0) & (index < frames)
                if not inside.any():
                    continue
                selected = masks[chunk, index[inside]].astype(np.float64)  # (T'', speakers)
                sums[chunk] += selected.T @ features[:, inside].T
                squares[chunk] += selected.T @ squared[:, inside].T
                counts[chunk] += selected.sum(axis=0)
        valid = counts >= max(2.0, MIN_POOLED_SECONDS * FBANK_PER_SECOND / stride)
        if valid.any():
            n = counts[valid][:, None]
            mean = sums[valid] / n
            std = np.sqrt(np.maximum(squares[valid] - n * mean * mean, 0.0) / (n - 1))  # unbiased, as the model
            stats = np.concatenate([mean, std], axis=1).astype(np.float32)
            embeddings[valid] = self.model.head.run([self.model.output_name], {self.model.stats_name: stats})[0]
        return embeddings
