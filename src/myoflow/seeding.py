"""Reproducibility and devices: one seed fixes every random stream, ``auto`` picks the device."""

from __future__ import annotations

import os
import random
import sys

import numpy as np

__all__ = ["set_seed", "set_torch_threads", "resolve_device"]


def set_seed(seed: int, threads: int | None = None, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; optionally fix the torch thread count.

    Parameters
    ----------
    seed : int
        Seed for ``random``, ``numpy.random`` and torch (CPU and CUDA).
    threads : int, optional
        If given, ``torch.set_num_threads(threads)`` (Snakemake's ``threads`` for the job).
    deterministic : bool
        With CUDA available, ask torch for deterministic kernels (``warn_only``: an op without
        a deterministic version warns instead of failing) and switch off cuDNN autotuning (a
        few scatter-type ops get slower). On a CPU-only machine nothing is needed.
    """
    import torch  # here, not at import: scikit-learn-only jobs never load torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(int(threads))
    if deterministic and torch.cuda.is_available():
        # Only where CUDA is: the CPU kernels of these models give the same numbers at a fixed
        # thread count, and use_deterministic_algorithms() imports torch._dynamo/_inductor,
        # ~4 s of start-up in every training job. cuBLAS needs the workspace setting before
        # its first use.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def set_torch_threads(threads: int | None) -> None:
    """Fix torch's thread count if this process has loaded torch (a scikit-learn model's job
    does not, and should not pay ~2 s to import it)."""
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))


def resolve_device(device="auto"):
    """Return ``cuda`` when available for ``"auto"``, else the device named (a torch.device)."""
    import torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
