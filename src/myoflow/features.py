"""Hand-crafted EMG features with LibEMG 2.0.3's definitions and default parameters.

Every feature maps windows (windows, channels, samples) -> (windows, channels), vectorised.
A feature set's columns are feature-major, like LibEMG's ``_format_data``: ``MAV_ch0 ..
MAV_ch7, ZC_ch0 ...``. Non-finite values become 0, as LibEMG's pipelines do.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import ConfigError


def mav(w: np.ndarray) -> np.ndarray:
    """Mean absolute value."""
    return np.mean(np.abs(w), axis=2)


def zc(w: np.ndarray) -> np.ndarray:
    """Zero crossings: sign changes of exactly +-2 (a sample at 0 does not count as a crossing)."""
    d = np.diff(np.sign(w), axis=2)
    return np.sum(d == -2, axis=2) + np.sum(d == 2, axis=2)


def ssc(w: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Slope sign changes: (x_i - x_{i-1}) * (x_i - x_{i+1}) >= threshold (LibEMG counts ties)."""
    mid = w[:, :, 1:-1]
    return np.sum((mid - w[:, :, :-2]) * (mid - w[:, :, 2:]) >= threshold, axis=2)


def wl(w: np.ndarray) -> np.ndarray:
    """Waveform length: sum of absolute first differences."""
    return np.sum(np.abs(np.diff(w, axis=2)), axis=2)


def rms(w: np.ndarray) -> np.ndarray:
    """Root mean square."""
    return np.sqrt(np.mean(np.square(w), axis=2))


#: name -> (function, minimum window length it needs)
FEATURES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    "MAV": (mav, 1),
    "ZC": (zc, 2),
    "SSC": (ssc, 3),
    "WL": (wl, 2),
    "RMS": (rms, 1),
}

#: The feature groups of the cross-user study, by name (LibEMG's groups where it has them).
GROUPS: dict[str, list[str]] = {
    "HTD": ["MAV", "ZC", "SSC", "WL"],
    "RMS": ["RMS"],
}


def resolve_features(names_or_group: str | list[str]) -> list[str]:
    """A group name or a list of feature names -> list of feature names, checked."""
    if isinstance(names_or_group, str):
        if names_or_group in GROUPS:
            return list(GROUPS[names_or_group])
        if names_or_group in FEATURES:
            return [names_or_group]
        raise ConfigError(
            f"unknown feature group or feature {names_or_group!r}; groups: {sorted(GROUPS)}, "
            f"features: {sorted(FEATURES)}"
        )
    unknown = [n for n in names_or_group if n not in FEATURES]
    if unknown:
        raise ConfigError(f"unknown feature(s) {unknown}; known: {sorted(FEATURES)}")
    return list(names_or_group)


def extract_features(windows: np.ndarray, features: str | list[str]) -> tuple[np.ndarray, list[str]]:
    """Compute features of windows (windows, channels, samples).

    Returns
    -------
    values : np.ndarray
        float32 (windows, n_features * channels), feature-major; NaN/inf replaced by 0.
    names : list[str]
        ``<FEATURE>_ch<c>`` for each column.
    """
    windows = np.asarray(windows)
    if windows.ndim != 3:
        raise ValueError(f"windows must be 3-D (windows, channels, samples), got shape {windows.shape}")
    names = resolve_features(features)
    n_ch, n_samples = windows.shape[1], windows.shape[2]
    w = windows.astype(np.float64)
    blocks, columns = [], []
    for name in names:
        func, min_len = FEATURES[name]
        if n_samples < min_len:
            raise ValueError(f"feature {name} needs windows of at least {min_len} samples, got {n_samples}")
        blocks.append(np.asarray(func(w), dtype=np.float64))
        columns += [f"{name}_ch{c}" for c in range(n_ch)]
    values = np.concatenate(blocks, axis=1) if blocks else np.empty((len(w), 0))
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    return values.astype(np.float32), columns


def extract_subwindow_features(
    windows: np.ndarray, features: str | list[str], pieces: int = 4
) -> tuple[np.ndarray, list[str]]:
    """Features per consecutive time piece of each window -> (windows, pieces, F).

    The window is split along time only (the source's reshape mixed channels and time).
    """
    windows = np.asarray(windows)
    n_samples = windows.shape[2]
    if n_samples % pieces:
        raise ValueError(f"window of {n_samples} samples does not split into {pieces} equal pieces")
    step = n_samples // pieces
    parts = [extract_features(windows[:, :, i * step : (i + 1) * step], features) for i in range(pieces)]
    return np.stack([p[0] for p in parts], axis=1), parts[0][1]
