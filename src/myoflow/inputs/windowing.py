"""Sliding windows over (samples, channels) arrays and their labels, shared by the studies."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ConfigError

__all__ = ["META_COLUMNS", "sliding_windows", "majority_labels", "thin_rest"]

#: metadata columns of every input set, one row per window / sample / image
META_COLUMNS = ["subject", "session", "repetition", "trial", "label", "base_label", "start"]


def sliding_windows(x: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Windows of a (samples, channels) array -> (windows, channels, length), a copy.

    Windows start at 0, stride, 2*stride ... and only whole windows are kept.
    """
    if length < 1 or stride < 1:
        raise ConfigError(f"window length and stride must be >= 1, got {length} and {stride}")
    if x.shape[0] < length:
        return np.empty((0, x.shape[1], length), dtype=x.dtype)
    view = sliding_window_view(x, length, axis=0)[::stride]  # (windows, channels, length)
    return np.ascontiguousarray(view)


def majority_labels(sample_labels: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Majority label of each window's samples; ties go to the smaller label (rest = 0)."""
    if len(sample_labels) < length:
        return np.empty(0, dtype=int)
    view = sliding_window_view(sample_labels, length)[::stride]
    n_classes = int(sample_labels.max()) + 1
    counts = np.stack([(view == c).sum(axis=1) for c in range(n_classes)], axis=1)
    return counts.argmax(axis=1)


def thin_rest(labels: np.ndarray, keep_every: int, rest_label: int = 0) -> np.ndarray:
    """Boolean mask keeping every ``keep_every``-th rest window (in order) and all active ones."""
    keep = np.ones(len(labels), dtype=bool)
    if keep_every > 1:
        rest = np.flatnonzero(labels == rest_label)
        keep[rest[np.arange(len(rest)) % keep_every != 0]] = False
    return keep
