"""The SpeechBrain speaker encoder, loaded through the factory from a local folder, without the network.

Why a self-made model: no package ships spkrec-ecapa-voxceleb and the hub is unreachable, but the loader's
risks (network access, hub paths inside hyperparams.yaml, padding, weights silently left random) are the same
for a tiny random ECAPA laid out exactly like the real repository.
"""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.encoder import CategoricalEncoder

from vidscribe.audio import SAMPLE_RATE
from vidscribe.stages.decode import decode
from vidscribe.runtime import get_runtime
from vidscribe.settings import SettingsError, load_settings
from vidscribe.speakers.encoder import SpeakerEncoder
from vidscribe.speakers.factory import load_speaker_encoder
from vidscribe.speakers.speechbrain_encoder import SpeechBrainSpeakerEncoder

#: spkrec-ecapa-voxceleb's hyperparams.yaml with small channels; `pretrained_path` still names the hub
#: repository, as in the real file, so a loader that does not redirect it to the folder needs the network.
HYPERPARAMS = """\
n_mels: 80
pretrained_path: speechbrain/spkrec-ecapa-voxceleb
out_n_neurons: 4

compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>

mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False

embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [64, 64, 64, 64, 192]
    kernel_sizes: [5, 3, 3, 3, 1]
    dilations: [1, 2, 3, 4, 1]
    attention_channels: 16
    lin_neurons: 64

classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier
    input_size: 64
    out_neurons: !ref <out_n_neurons>

mean_var_norm_emb: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
    std_norm: False

modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
    mean_var_norm_emb: !ref <mean_var_norm_emb>
    classifier: !ref <classifier>

label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder

pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
        mean_var_norm_emb: !ref <mean_var_norm_emb>
        classifier: !ref <classifier>
        label_encoder: !ref <label_encoder>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
        mean_var_norm_emb: !ref <pretrained_path>/mean_var_norm_emb.ckpt
        classifier: !ref <pretrained_path>/classifier.ckpt
        label_encoder: !ref <pretrained_path>/label_encoder.txt
"""
DIM = 64


def write_model_folder(folder: Path, seed: int) -> dict:
    """Write a random-init ECAPA as a SpeechBrain model folder; returns the modules that were saved."""
    folder.mkdir(parents=True)
    (folder / "hyperparams.yaml").write_text(HYPERPARAMS)
    torch.manual_seed(seed)
    hparams = load_hyperpyyaml(HYPERPARAMS)
    torch.save(hparams["embedding_model"].state_dict(), folder / "embedding_model.ckpt")
    torch.save(hparams["classifier"].state_dict(), folder / "classifier.ckpt")
    stats = {"count": 100, "glob_mean": torch.randn(DIM), "glob_std": torch.ones(DIM)}
    torch.save(stats, folder / "mean_var_norm_emb.ckpt")
    labels = CategoricalEncoder()
    labels.update_from_iterable(["id10001", "id10002", "id10003", "id10004"])
    labels.save(folder / "label_encoder.txt")
    return hparams


def reference_embedding(hparams: dict, clip: np.ndarray) -> np.ndarray:
    """The saved modules run by hand on one unpadded clip: what the loaded encoder must reproduce."""
    modules = [hparams[name].eval() for name in ("compute_features", "mean_var_norm", "embedding_model")]
    with torch.inference_mode():
        wav, lens = torch.from_numpy(np.array(clip))[None], torch.ones(1)
        feats = modules[1](modules[0](wav), lens)
        vector = modules[2](feats, lens).reshape(-1).numpy()
    return vector / np.linalg.norm(vector)


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """pyannote's 30 s two-speaker sample as 16 kHz mono float32.

    Found by path: `pyannote.audio.sample` holds the same file but importing it costs about 11 s (lightning).
    """
    pyannote_dir = next(iter(importlib.util.find_spec("pyannote").submodule_search_locations))
    sample = Path(pyannote_dir) / "audio" / "sample" / "sample.wav"
    return np.array(decode(sample, tmp_path_factory.mktemp("audio")).load())


def cut(audio: np.ndarray, start: float, seconds: float) -> np.ndarray:
    return audio[int(start * SAMPLE_RATE) : int((start + seconds) * SAMPLE_RATE)]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Hub offline and every socket connection recorded, so a test can assert nothing reached out."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    attempts: list[tuple] = []

    def refuse(sock: socket.socket, address: tuple) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    root = tmp_path_factory.mktemp("speaker-models")
    seeds = {"ecapa-a": 0, "ecapa-b": 1}
    return {name: (root / name, write_model_folder(root / name, seed)) for name, seed in seeds.items()}


def load_from(folder: Path, data_dir: Path) -> SpeakerEncoder:
    settings = load_settings(
        speaker_model=str(folder), speaker_encoder="auto", data_dir=data_dir, speaker_batch_size=16
    )
    return load_speaker_encoder(settings)


def test_loads_local_folder_offline_with_the_saved_weights(folders, audio, offline, tmp_path) -> None:
    folder, hparams = folders["ecapa-a"]
    loads = get_runtime().models.loads
    encoder = load_from(folder, tmp_path)
    assert isinstance(encoder, SpeechBrainSpeakerEncoder)
    assert (encoder.key, encoder.dim) == ("speechbrain:ecapa-a", DIM)
    assert load_from(folder, tmp_path) is encoder  # kept warm in the registry
    assert get_runtime().models.loads == loads + 1
    assert offline == []
    assert not (tmp_path / "models" / "speechbrain").exists()  # read in place: no copies that could go stale

    clip = cut(audio, 2.0, 2.0)
    assert float(encoder.embed([clip])[0] @ reference_embedding(hparams, clip)) > 0.9999


def test_embeddings_are_unit_rows_padding_invariant_and_deterministic(folders, audio, offline, tmp_path) -> None:
    encoder = load_from(folders["ecapa-a"][0], tmp_path)
    short, long, other = cut(audio, 2.0, 1.5), cut(audio, 5.0, 4.0), cut(audio, 22.0, 3.0)
    alone = encoder.embed([short])
    batched = encoder.embed([short, long, other])

    assert batched.shape == (3, DIM) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert float(alone[0] @ batched[0]) > 0.999  # padding to the 4 s clip does not change the 1.5 s one
    assert float(batched[0] @ batched[2]) < 0.99  # sanity: the model does respond to its input
    np.testing.assert_allclose(encoder.embed([short, long, other]), batched, atol=1e-6)
    assert encoder.embed([]).shape == (0, DIM)
    with pytest.raises(ValueError, match="at least 0.1 s"):
        encoder.embed([long, short[:400]])


def test_different_weights_give_different_embeddings(folders, audio, offline, tmp_path) -> None:
    clip = cut(audio, 2.0, 2.0)
    first = load_from(folders["ecapa-a"][0], tmp_path).embed([clip])[0]
    second = load_from(folders["ecapa-b"][0], tmp_path).embed([clip])[0]
    assert float(first @ second) < 0.99


def test_checkpoint_missing_weights_is_an_error(tmp_path, offline) -> None:
    folder = tmp_path / "broken"
    state = write_model_folder(folder, seed=2)["embedding_model"].state_dict()
    torch.save(dict(list(state.items())[1:]), folder / "embedding_model.ckpt")
    with pytest.raises(ValueError, match="weights missing"):
        SpeechBrainSpeakerEncoder(str(folder))


@pytest.mark.parametrize("name", ["no-such-model", "no-such-model.onnx"])
def test_missing_local_model_names_the_setting_and_path(tmp_path, name) -> None:
    missing = tmp_path / name
    with pytest.raises(SettingsError, match="VIDSCRIBE_SPEAKER_MODEL") as error:
        load_speaker_encoder(load_settings(speaker_model=str(missing), data_dir=tmp_path))
    assert str(missing) in str(error.value)


def test_unreachable_hub_model_names_the_setting(tmp_path, offline) -> None:
    settings = load_settings(speaker_model="speechbrain/spkrec-ecapa-voxceleb", data_dir=tmp_path)
    with pytest.raises(RuntimeError, match="VIDSCRIBE_SPEAKER_MODEL=speechbrain/spkrec-ecapa-voxceleb.*HF_TOKEN"):
        load_speaker_encoder(settings)
    assert offline == []
