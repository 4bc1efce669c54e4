"""What this worker has: the external programs, yt-dlp and its JavaScript runtime, and GPU readiness.

Why: the paths users take that the test machines cannot (YouTube, a GPU) fail on what is installed, not on
vidscribe's code: a yt-dlp too old for YouTube's latest change, no JavaScript runtime for its challenges, a
CUDA library CTranslate2 cannot find. `vidscribe doctor` shows each of these before a night's backfill finds
it, and the test suite checks the programs it needs before it starts.
"""

from __future__ import annotations

import shutil
import sysconfig
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from vidscribe.settings import Settings

Status = Literal["ok", "info", "warning", "problem"]

#: External programs, and what needs them. `make setup` installs each: ffmpeg and espeak-ng with apt, deno
#: with the Python environment (yt-dlp's `deno` extra puts it in the environment's bin/).
PROGRAMS = {
    "ffmpeg": "decodes every recording (apt-get install ffmpeg)",
    "espeak-ng": "speaks the benchmark's and the tests' voices (apt-get install espeak-ng)",
    "deno": "runs YouTube's JavaScript challenges for yt-dlp (pip package deno, a dependency of vidscribe)",
}
#: a yt-dlp release older than this probably predates YouTube's latest change (it breaks every few weeks)
YTDLP_MAX_AGE_DAYS = 90
YTDLP_UPDATE = "update it: .venv/bin/uv pip install -U 'yt-dlp[default,deno]' (or pip install -U ...)"


@dataclass(frozen=True)
class Check:
    """One line of the environment report."""

    name: str
    status: Status
    detail: str

    def render(self) -> str:
        return f"[{self.status}] {self.name}: {self.detail}"


def find_program(name: str) -> str | None:
    """The program on PATH, else beside this interpreter (a venv's bin/ is not on PATH unless activated)."""
    found = shutil.which(name) or shutil.which(name, path=sysconfig.get_path("scripts"))
    return str(Path(found).resolve()) if found else None


def missing_programs(names: tuple[str, ...] = tuple(PROGRAMS)) -> list[str]:
    """The programs of `names` that cannot be found, each with what needs it and how to install it."""
    return [f"{name}: {PROGRAMS[name]}" for name in names if find_program(name) is None]


def program_checks() -> list[Check]:
    return [Check(name, "ok" if find_program(name) else "problem" if name == "ffmpeg" else "warning",
                  find_program(name) or f"not found; {PROGRAMS[name]}") for name in PROGRAMS]


@dataclass(frozen=True)
class JsRuntime:
    name: str
    path: str
    version: str
    supported: bool  # new enough for yt-dlp's challenge solver


def ytdlp_release() -> tuple[str, date]:
    """yt-dlp's version, which is its release date (YYYY.MM.DD[.N])."""
    from yt_dlp.version import __version__

    year, month, day = (int(part) for part in __version__.split(".")[:3])
    return __version__, date(year, month, day)


def js_runtimes() -> list[JsRuntime]:
    """The JavaScript runtimes yt-dlp finds, as it finds them (its own look-up, no network)."""
    import yt_dlp
    from yt_dlp.globals import supported_js_runtimes

    with yt_dlp.YoutubeDL({"quiet": True, "js_runtimes": {name: {} for name in supported_js_runtimes.value}}) as ydl:
        found = [runtime.info for runtime in ydl._js_runtimes.values() if runtime is not None and runtime.info]
    return [JsRuntime(info.name, info.path, info.version, bool(info.supported)) for info in found]


def ejs_solver() -> str | None:
    """The version of the `yt-dlp-ejs` challenge solver scripts, or None when the package is missing."""
    from yt_dlp.dependencies import yt_dlp_ejs

    return getattr(yt_dlp_ejs, "version", "unknown version") if yt_dlp_ejs is not None else None


def ytdlp_checks(today: date) -> list[Check]:
    """yt-dlp's age, the JavaScript runtime and the challenge solver YouTube needs (since yt-dlp 2025.11)."""
    version, released = ytdlp_release()
    age = (today - released).days
    old = age > YTDLP_MAX_AGE_DAYS
    checks = [Check("yt-dlp", "warning" if old else "ok",
                    f"{version} ({age} days old)" + (f"; older than {YTDLP_MAX_AGE_DAYS} days, YouTube may "
                                                     f"have broken it since: {YTDLP_UPDATE}" if old else ""))]
    try:
        runtimes = js_runtimes()
    except Exception as exc:  # yt-dlp's look-up is not a public API: report, never crash the doctor
        checks.append(Check("JavaScript runtime", "warning", f"could not ask yt-dlp ({type(exc).__name__}: {exc})"))
    else:
        usable = [r for r in runtimes if r.supported and r.name == "deno"]  # yt-dlp enables only deno by default
        others = ", ".join(f"{r.name} {r.version}{'' if r.supported else ' (too old)'}" for r in runtimes
                           if r not in usable)
        detail = (f"deno {usable[0].version} ({usable[0].path})" if usable else
                  "no deno found; YouTube formats go missing or downloads throttle without it: install vidscribe's "
                  "dependencies again (pip package deno)")
        checks.append(Check("JavaScript runtime", "ok" if usable else "warning",
                            detail + (f"; also found, unused: {others}" if others else "")))
    solver = ejs_solver()
    checks.append(Check("YouTube challenge solver", "ok" if solver else "warning",
                        f"yt-dlp-ejs {solver}" if solver else f"yt-dlp-ejs missing: {YTDLP_UPDATE}"))
    return checks


def planned_device(setting: str, has_gpu: bool) -> str:
    """The device a stage with this setting would use (as `vidscribe.gpu.resolve_device` decides, without torch)."""
    if setting == "auto":
        return "cuda" if has_gpu else "cpu"
    if setting == "cuda" and not has_gpu:
        raise RuntimeError("is cuda but no NVIDIA GPU is visible; set it to cpu or auto")
    return setting


def gpu_checks(settings: Settings) -> list[Check]:
    """Driver (NVML), the CUDA libraries of the GPU path, and the device each model stage would use.

    Without torch: the doctor must start fast; NVML sees the card the way CUDA does (one worker per GPU, with
    CUDA_VISIBLE_DEVICES), and the libraries are loaded with ctypes.
    """
    from vidscribe.cuda_libraries import gpu_libraries
    from vidscribe.gpu_telemetry import NvmlSampler

    nvml = NvmlSampler()
    has_gpu = nvml.start()
    checks = [Check("GPU", "ok" if has_gpu else "info", nvml.status)]
    wants_gpu = has_gpu or "cuda" in (settings.device, settings.speaker_device)
    libraries = gpu_libraries()
    broken = [f"{lib.name}: {lib.error}" for lib in libraries if not lib.ok]
    loaded = ", ".join(lib.name for lib in libraries if lib.ok)
    checks.append(Check("CUDA libraries", ("problem" if wants_gpu else "warning") if broken else "ok",
                        "; ".join(broken) if broken else f"all {len(libraries)} load: {loaded}"))
    devices = []
    for stage, variable, setting in (("transcribe", "VIDSCRIBE_DEVICE", settings.device),
                                     ("diarize", "VIDSCRIBE_DEVICE", settings.device),
                                     ("embed", "VIDSCRIBE_DEVICE", settings.device),
                                     ("speaker", "VIDSCRIBE_SPEAKER_DEVICE", settings.speaker_device)):
        try:
            devices.append(f"{stage} {planned_device(setting, has_gpu)}")
        except RuntimeError as exc:
            checks.append(Check(f"device for {stage}", "problem", f"{variable} {exc}"))
    checks.append(Check("devices", "info", ", ".join(devices)))
    return checks


def environment_checks(settings: Settings, today: date | None = None) -> list[Check]:
    """Everything `vidscribe doctor` reports about this worker (no database needed)."""
    return [*program_checks(), *ytdlp_checks(today or date.today()), *gpu_checks(settings)]
