"""The CUDA shared libraries a GPU run loads, where they come from, and the preload that makes CTranslate2 work.

Why: torch 2.11 from PyPI brings CUDA 13 libraries (`nvidia/cu13/lib`), while CTranslate2 4.8 (faster-whisper's
engine) is built for CUDA 12 and dlopens `libcublas.so.12` by name the first time it runs a matrix product on
the GPU ("Library libcublas.so.12 is not found", SYSTRAN/faster-whisper#1431). The `nvidia-cublas-cu12` package
installs that library with vidscribe, but in a folder the dynamic loader does not search, and
LD_LIBRARY_PATH cannot be changed inside a running process. Loading it once by its full path makes every later
dlopen of the same soname return it (the loader matches loaded libraries by soname). cuBLAS 12 and torch's
cuBLAS 13 live side by side: every symbol is versioned with its library's soname.

CTranslate2 4.8 needs no cuDNN (it is built with WITH_CUDNN=OFF; `tests/test_cuda_libraries.py` checks its
binary names no cuDNN). Everything here loads without a GPU, so it is tested on a CPU machine; only
`libcuda.so.1`, which the NVIDIA driver installs, is missing there.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

#: (distribution, file inside it): what a GPU run dlopens, in load order (a library before those that need it)
CTRANSLATE2_LIBRARIES = (
    ("nvidia-cublas-cu12", "nvidia/cublas/lib/libcublasLt.so.12"),
    ("nvidia-cublas-cu12", "nvidia/cublas/lib/libcublas.so.12"),
)
TORCH_LIBRARIES = (
    ("nvidia-cuda-runtime", "nvidia/cu13/lib/libcudart.so.13"),
    ("nvidia-cublas", "nvidia/cu13/lib/libcublasLt.so.13"),
    ("nvidia-cublas", "nvidia/cu13/lib/libcublas.so.13"),
    ("nvidia-cudnn-cu13", "nvidia/cudnn/lib/libcudnn.so.9"),
    ("torch", "torch/lib/libc10_cuda.so"),
    ("torch", "torch/lib/libtorch_cuda.so"),
)
#: the soname CTranslate2 asks the loader for, and what provides it once preloaded
CTRANSLATE2_SONAME = "libcublas.so.12"

_lock = threading.Lock()
_preloaded: list[ctypes.CDLL] = []  # kept referenced: a library stays loaded for the life of the process


@dataclass(frozen=True)
class Library:
    """One shared library of the GPU path: where it is, and whether it loaded (with the loader's reason)."""

    user: str  # "faster-whisper (CTranslate2)" or "torch (pyannote, speaker and text models)"
    distribution: str
    path: Path | None
    error: str = ""

    @property
    def name(self) -> str:
        return self.path.name if self.path else "?"

    @property
    def ok(self) -> bool:
        return self.path is not None and not self.error


def locate(distribution: str, relative: str) -> Path | None:
    """The installed file `relative` of `distribution`, or None when the distribution or the file is absent."""
    try:
        path = Path(str(metadata.distribution(distribution).locate_file(relative)))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def _load(user: str, distribution: str, relative: str) -> tuple[Library, ctypes.CDLL | None]:
    path = locate(distribution, relative)
    if path is None:
        return Library(user, distribution, None, f"{relative} not installed (pip package {distribution})"), None
    try:
        return Library(user, distribution, path), ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        return Library(user, distribution, path, str(exc)), None


def preload_ctranslate2_cuda() -> list[Library]:
    """Load CTranslate2's cuBLAS 12 by full path (once per process), so its dlopen by soname finds it.

    Call before CTranslate2's first GPU use; harmless on a CPU machine (the libraries load without a GPU).
    """
    libraries = []
    with _lock:
        for distribution, relative in CTRANSLATE2_LIBRARIES:
            library, handle = _load("faster-whisper (CTranslate2)", distribution, relative)
            libraries.append(library)
            if handle is not None:
                _preloaded.append(handle)
    return libraries


def gpu_libraries() -> list[Library]:
    """Every library of the GPU path, loaded (CTranslate2's through the preload): what `doctor` reports."""
    torch = [_load("torch (pyannote, speaker and text models)", *entry)[0] for entry in TORCH_LIBRARIES]
    return [*preload_ctranslate2_cuda(), *torch]
