"""The GPU profile's shared libraries load from the environment the README builds (checked on a CPU).

A GPU run of faster-whisper dlopens cuBLAS 12 by soname; torch brings CUDA 13. These tests load, with ctypes,
every library of the GPU path from this very virtual environment; only the driver's `libcuda.so.1` is not
needed to load them, so a missing or mismatched library shows up here, not on a user's first GPU night.
"""

from __future__ import annotations

import ctypes
import re
from importlib import metadata
from pathlib import Path

from vidscribe.cuda_libraries import CTRANSLATE2_SONAME, gpu_libraries, preload_ctranslate2_cuda

#: CUDA sonames CTranslate2 may dlopen: cuBLAS (every GPU run), and NCCL / MPI for multi-GPU tensor
#: parallelism, which faster-whisper never uses; anything else (cuDNN, say) needs a new install step
CTRANSLATE2_CUDA_NAMES = {"libcublas.so.12", "libcuda.so.1", "libnccl.so.2", "libmpi.so.40"}


def ctranslate2_binary() -> Path:
    files = metadata.distribution("ctranslate2").files or []
    return next(Path(str(f.locate())) for f in files if re.search(r"libctranslate2[^/]*\.so", str(f)))


def test_every_gpu_library_loads_from_this_environment():
    libraries = gpu_libraries()
    assert len(libraries) == 8
    failed = [f"{lib.name} ({lib.user}): {lib.error}" for lib in libraries if not lib.ok]
    assert not failed, failed
    assert {lib.name for lib in libraries} >= {"libcublas.so.12", "libcublasLt.so.12", "libcublas.so.13",
                                                "libcudnn.so.9", "libtorch_cuda.so"}


def test_ctranslate2_finds_cublas_12_by_the_name_it_asks_for():
    preload_ctranslate2_cuda()
    cublas = ctypes.CDLL(CTRANSLATE2_SONAME)  # what CTranslate2's cublas stub dlopens on its first GPU call
    version = ctypes.c_int()
    assert cublas.cublasGetProperty(0, ctypes.byref(version)) == 0 and version.value == 12  # MAJOR_VERSION


def test_ctranslate2_dlopens_no_cuda_library_we_do_not_install():
    text = ctranslate2_binary().read_bytes().decode("latin-1")
    cuda = {name for name in re.findall(r"lib[a-zA-Z0-9_]+\.so\.\d+", text)
            if re.match(r"lib(cu|nccl|mpi|nvrtc)", name)}
    assert CTRANSLATE2_SONAME in cuda and cuda <= CTRANSLATE2_CUDA_NAMES, cuda - CTRANSLATE2_CUDA_NAMES
    assert "cudnn" not in text.lower()  # built without cuDNN: nvidia-cudnn-cu12 is not needed
