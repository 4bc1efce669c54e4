"""SpeechBrain speaker encoders (ECAPA-TDNN and relatives) behind the `SpeakerEncoder` interface.

Why a wrapper around `EncoderClassifier.from_hparams` instead of calling it directly: speechbrain 1.1.2 has
several defaults that fail or mislead in this project, and each is handled here once:
- a local folder is read in place (no `savedir` copies or symlinks): `fetch` returns an existing copy in
  `savedir` without looking at the source again, so an edited local checkpoint would be silently ignored;
- `hyperparams.yaml` files copied from the hub (spkrec-ecapa-voxceleb's) point their checkpoints at
  `<pretrained_path>` = the hub repository; for a local folder that key is redirected to the folder, so loading
  never touches the network;
- hub downloads are copied into `savedir` (`LocalStrategy.COPY`): the default symlinks into the HF cache, and
  `COPY_SKIP_CACHE` passes `local_dir_use_symlinks`, which huggingface_hub 2.x no longer accepts;
- `FetchConfig.token` defaults to `False`, which makes huggingface_hub ignore `HF_TOKEN`; we pass the token
  (or `None`, meaning "use HF_TOKEN or the stored login") so gated and private models load;
- parameter transfer is non-strict (a checkpoint missing weights only logs a warning and leaves random
  weights); we check the checkpoints cover every weight, because random embeddings would quietly corrupt
  every voice profile;
- batches are padded, and `encode_batch` lets the padding change short clips' embeddings (see `_embed_batch`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from speechbrain.inference.speaker import EncoderClassifier
from speechbrain.processing.features import make_padding_mask
from speechbrain.utils.checkpoints import (
    DEFAULT_TRANSFER_HOOKS,
    get_default_hook,
    torch_parameter_transfer,
    torch_patched_state_dict_load,
)
from speechbrain.utils.fetching import FetchConfig, LocalStrategy
from speechbrain.utils.parameter_transfer import Pretrainer

from vidscribe.audio import SAMPLE_RATE
from vidscribe.speakers.keys import speechbrain_key
from vidscribe.speakers.encoder import l2_normalize

#: Shorter clips hold no usable voice, and alone they crash ECAPA (its reflect padding needs 5+ frames).
MIN_CLIP_SAMPLES = SAMPLE_RATE // 10
#: The clip used to measure the embedding size: 1 s of quiet deterministic noise.
_PROBE = np.random.default_rng(0).normal(0.0, 0.01, SAMPLE_RATE).astype(np.float32)


class SpeechBrainSpeakerEncoder:
    """A SpeechBrain speaker-embedding model from a hub name or a local folder with `hyperparams.yaml`."""

    def __init__(
        self,
        source: str,
        device: str = "cpu",
        batch_size: int = 16,
        savedir: Path | None = None,
        hf_token: str | None = None,
    ) -> None:
        local = Path(source).expanduser()
        self.batch_size = batch_size
        if local.is_dir():
            self.key = speechbrain_key(source)
            self.model = EncoderClassifier.from_hparams(
                source=str(local),
                savedir=None,
                overrides={"pretrained_path": str(local)},
                overrides_must_match=False,
                local_strategy=LocalStrategy.NO_LINK,
                fetch_config=FetchConfig(allow_network=False),
                run_opts={"device": device},
            )
        else:
            self.key = speechbrain_key(source)
            self.model = EncoderClassifier.from_hparams(
                source=source,
                savedir=str(savedir) if savedir else None,
                local_strategy=LocalStrategy.COPY if savedir else LocalStrategy.NO_LINK,
                fetch_config=FetchConfig(token=hf_token),
                run_opts={"device": device},
            )
        _check_weights_complete(self.model.hparams.pretrainer)
        self.dim = int(self._embed_batch([_PROBE]).shape[1])

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """Embed 16 kHz mono clips; returns (len(clips), dim) L2-normalised float32 rows in input order.

        Clips are sorted by length before batching so each batch pads as little as possible; the relative
        lengths (`wav_lens`) make feature normalisation and pooling ignore the padding.
        """
        if not clips:
            return np.zeros((0, self.dim), dtype=np.float32)
        shortest = min(len(clip) for clip in clips)
        if shortest < MIN_CLIP_SAMPLES:
            raise ValueError(f"cannot embed a clip of {shortest} samples; speaker clips need at least 0.1 s")
        order = np.argsort([-len(clip) for clip in clips], kind="stable")
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        embedded = np.concatenate([self._embed_batch([clips[i] for i in batch]) for batch in batches])
        rows = np.empty_like(embedded)
        rows[order] = embedded
        return l2_normalize(rows).astype(np.float32)

    def _embed_batch(self, clips: list[np.ndarray]) -> np.ndarray:
        """One forward pass over zero-padded clips: `encode_batch`, with the padded frames neutralised.

        `wav_lens` keeps padding out of the normalisation statistics and the pooling, but ECAPA's convolutions
        still see the padded frames next to the last real ones, and silence's log-Fbank values are extreme
        (a 1.5 s clip padded to 4 s moved its embedding to cosine 0.998). Setting padded frames to the
        normalised mean (0) makes them neutral context (cosine > 0.9998).
        """
        longest = max(len(clip) for clip in clips)
        wavs = np.zeros((len(clips), longest), dtype=np.float32)
        for row, clip in zip(wavs, clips, strict=True):
            row[: len(clip)] = clip
        mods = self.model.mods
        with torch.inference_mode():
            wav_lens = torch.tensor([len(clip) / longest for clip in clips], device=self.model.device)
            feats = mods.compute_features(torch.from_numpy(wavs).to(self.model.device))
            feats = mods.mean_var_norm(feats, wav_lens)
            feats = feats.masked_fill(~make_padding_mask(feats, wav_lens), 0.0)
            embeddings = mods.embedding_model(feats, wav_lens)
        return embeddings.reshape(len(clips), -1).float().cpu().numpy()


def _check_weights_complete(pretrainer: Pretrainer) -> None:
    """Raise if a checkpoint lacks weights its module has (speechbrain would keep them random)."""
    for name, module in pretrainer.loadables.items():
        transfer = get_default_hook(module, DEFAULT_TRANSFER_HOOKS)
        default_transfer = transfer is torch_parameter_transfer and name not in pretrainer.custom_hooks
        if not default_transfer or not pretrainer.is_loadable(name):
            continue
        path = pretrainer.paths[name]
        missing = sorted(set(module.state_dict()) - set(torch_patched_state_dict_load(path)))
        if missing:
            raise ValueError(
                f"speaker model checkpoint {path} does not match `{name}` in hyperparams.yaml: "
                f"{len(missing)} weights missing (e.g. {missing[0]}); the model would run with random weights"
            )
