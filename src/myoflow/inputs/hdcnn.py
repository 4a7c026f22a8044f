"""HD-sEMG images for the width-scaled MobileNetV2 study: one value per electrode on the grid.

An image's values come from a mode (:data:`IMAGE_MODES`: one per time sample, or a reducer of
:data:`REDUCERS` over sliding windows) and are optionally normalised (:data:`NORMALIZATIONS`).
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..registry import Registry
from ..sets import ArraySet
from ..store import Recording
from .windowing import sliding_windows

__all__ = ["IMAGE_MODES", "REDUCERS", "NORMALIZATIONS", "hd_image_set"]

#: reducer name -> ``(windows (n, channels, length)) -> (n, channels)``
REDUCERS: Registry[Callable[[np.ndarray], np.ndarray]] = Registry("image reducer")
REDUCERS.register("rms", lambda w: np.sqrt((w.astype(np.float64) ** 2).mean(-1)))
REDUCERS.register("mav", lambda w: np.abs(w).mean(-1))

#: normalisation name -> ``(values (n, channels)) -> (n, channels)``
NORMALIZATIONS: Registry[Callable[[np.ndarray], np.ndarray]] = Registry("image normalisation")
NORMALIZATIONS.register("none", lambda v: v)
# each image across its own electrodes (the ICE Lab source did this)
NORMALIZATIONS.register(
    "zscore", lambda v: (v - v.mean(1, keepdims=True)) / (v.std(1, keepdims=True) + 1e-12)
)

#: mode name -> ``(x (samples, channels), fs, window_s, stride_s, reducer) -> (values, starts)``
IMAGE_MODES: Registry[Callable[..., tuple[np.ndarray, np.ndarray]]] = Registry("image mode")


@IMAGE_MODES.register("sample")
def _sample_images(x, fs, window_s, stride_s, reducer):
    """One image per time sample (as published)."""
    return x, np.arange(len(x))


@IMAGE_MODES.register("window")
def _window_images(x, fs, window_s, stride_s, reducer):
    """``reducer`` over sliding windows: what a real-time controller sees."""
    length = max(int(round(window_s * fs)), 1)
    stride = max(int(round(stride_s * fs)), 1)
    w = sliding_windows(x, length, stride)
    return REDUCERS.get(reducer)(w), np.arange(len(w)) * stride


def hd_image_set(
    recordings: Iterable[Recording],
    mode: str = "window",
    window_s: float = 0.2,
    stride_s: float = 0.05,
    reducer: str = "rms",
    normalize: str = "none",
    physical_layout: bool = True,
) -> ArraySet:
    """HD-sEMG images ``images`` (N, 1, rows, cols).

    mode ``sample``: one image per time sample (as published); ``window``: ``reducer`` (rms|mav)
    over sliding windows, which is what a real-time controller sees. ``normalize="zscore"``
    z-scores each image across its own electrodes (the ICE Lab source did this).
    """
    # unknown names fail before any work, listing the known ones (the reducer only matters for windows)
    make_values = IMAGE_MODES.get(mode)
    if mode == "window":
        REDUCERS.get(reducer)
    normalise = NORMALIZATIONS.get(normalize)
    out, metas, grid = [], [], None
    for rec in recordings:
        layout = rec.layout
        grid = layout.grid
        for t in rec.trials.itertuples(index=False):
            x = rec.emg[int(t.start) : int(t.stop)].astype(np.float32)
            values, starts = make_values(x, rec.fs, window_s, stride_s, reducer)
            if len(values) == 0:
                continue
            values = normalise(values)
            if physical_layout:
                img = layout.to_grid(values, fill=0.0)
            else:
                img = values.reshape(len(values), *layout.shape)
            out.append(img[:, None].astype(np.float32))
            metas.append(pd.DataFrame({
                "subject": rec.subject, "session": rec.session, "repetition": int(t.repetition),
                "trial": int(t.trial), "label": int(t.label), "base_label": int(t.label),
                "start": int(t.start) + starts,
            }))
    if not out:
        raise ConfigError("no HD images: every trial is shorter than the window")
    return ArraySet(
        {"images": np.concatenate(out)}, pd.concat(metas, ignore_index=True),
        {"mode": mode, "window_s": window_s, "stride_s": stride_s, "reducer": reducer,
         "normalize": normalize, "physical_layout": physical_layout,
         "layout_grid": np.asarray(grid).tolist()},
    )
