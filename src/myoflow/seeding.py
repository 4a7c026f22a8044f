"""Reproducibility and devices: one seed fixes every random stream, ``auto`` picks the device."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["set_seed", "resolve_device"]


def set_seed(seed: int, threads: int | None = None, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; optionally fix the torch thread count.

    Parameters
    ----------
    seed : int
        Seed for ``random``, ``numpy.random`` and torch (CPU and CUDA).
    threads : int, optional
        If given, ``torch.set_num_threads(threads)`` (Snakemake's ``threads`` for the job).
    deterministic : bool
        Ask torch for deterministic kernels (``warn_only``: an op without a deterministic
        version warns instead of failing) and switch off cuDNN autotuning. On CPU this costs
        nothing; on GPU a few scatter-type ops get slower.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(int(threads))
    if deterministic:
        # cuBLAS needs this before its first use to be deterministic; harmless on CPU
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return ``cuda`` when available for ``"auto"``, else the device named."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
