"""Cutting recordings into model inputs: sliding windows, Hyser samples, HD-sEMG images.

Every function returns an :class:`~myoflow.sets.ArraySet` whose metadata stays aligned with its
arrays (subject, session, repetition, trial, label, base_label, start), whatever is dropped or
thinned on the way.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from .errors import ConfigError
from .sets import ArraySet
from .store import Recording

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


# --------------------------------------------------------------------------------------------
# EMG-EPN-612 windowing variants
# --------------------------------------------------------------------------------------------

EPN_VARIANTS = ("raw",)


def epn_window_set(
    recordings: Iterable[Recording],
    variant: str = "raw",
    length: int = 40,
    stride: int = 5,
    rest_thinning: int = 4,
    rest_label: int = 0,
    crop_raw_to_ground_truth: bool = False,
) -> ArraySet:
    """Sliding windows over EPN-612 repetitions.

    Parameters
    ----------
    variant : {"raw"}
        ``raw``: the whole repetition; samples inside the ground-truth active bounds carry the
        gesture label, the rest is rest. The other variants of the study (segmented, relabeled,
        standard) plug in here.
    crop_raw_to_ground_truth : bool
        As published: active repetitions were already cropped to their ground-truth bounds, so
        "raw" was not raw. ``False`` (corrected) keeps the whole repetition.
    rest_thinning : int
        Keep every n-th rest window (per recording), 1 keeps all.

    Returns
    -------
    ArraySet with ``windows`` (N, channels, length) float32 and metadata :data:`META_COLUMNS` +
    ``sample_set``.
    """
    if variant not in EPN_VARIANTS:
        raise ConfigError(f"unknown EPN-612 window variant {variant!r}; known: {list(EPN_VARIANTS)}")
    all_windows, metas = [], []
    for rec in recordings:
        rec_windows, rec_meta = [], []
        for row, t in enumerate(rec.trials.itertuples(index=False)):
            start, stop = int(t.start), int(t.stop)
            a0, a1 = int(t.active_start), int(t.active_stop)
            has_bounds = a0 >= 0 and a1 > a0
            if crop_raw_to_ground_truth and t.label != rest_label and has_bounds:
                start, stop = a0, a1
            x = rec.emg[start:stop]
            sample_labels = np.full(stop - start, rest_label, dtype=int)
            if t.label != rest_label:
                if has_bounds:
                    sample_labels[max(a0 - start, 0) : max(a1 - start, 0)] = t.label
                else:
                    sample_labels[:] = t.label  # no ground truth: the repetition is the gesture
            w = sliding_windows(x, length, stride)
            if len(w) == 0:
                continue
            labels = majority_labels(sample_labels, length, stride)
            rec_windows.append(w)
            rec_meta.append(pd.DataFrame({
                "subject": rec.subject, "session": rec.session, "repetition": int(t.repetition),
                "trial": int(t.trial), "label": labels, "base_label": int(t.label),
                "start": start + np.arange(len(w)) * stride,
                "sample_set": getattr(t, "sample_set", ""),
            }))
        if not rec_windows:
            continue
        w = np.concatenate(rec_windows)
        m = pd.concat(rec_meta, ignore_index=True)
        keep = thin_rest(m["label"].to_numpy(), rest_thinning, rest_label)
        all_windows.append(w[keep])
        metas.append(m[keep].reset_index(drop=True))
    if not all_windows:
        raise ConfigError("no windows: every repetition is shorter than the window length")
    return ArraySet(
        {"windows": np.concatenate(all_windows).astype(np.float32)},
        pd.concat(metas, ignore_index=True),
        {"variant": variant, "length": length, "stride": stride, "rest_thinning": rest_thinning,
         "crop_raw_to_ground_truth": crop_raw_to_ground_truth},
    )


# --------------------------------------------------------------------------------------------
# Hyser samples on the 16x16 mosaic
# --------------------------------------------------------------------------------------------

def preprocess_hdemg(
    x: np.ndarray,
    fs: float,
    fs_target: float = 1024.0,
    band_hz: tuple[float, float] = (10.0, 500.0),
    filter_order: int = 4,
    notch_hz: float = 50.0,
    notch_max_hz: float = 400.0,
    notch_q: float = 30.0,
) -> tuple[np.ndarray, float]:
    """Decimate (anti-aliased), band-pass and notch (with harmonics) a (samples, channels) array.

    Filters are zero-phase (forward-backward) Butterworth / IIR notches; the paper does not publish
    filter types or orders, so these are configuration values.
    """
    x = np.asarray(x, dtype=np.float64)
    factor = fs / fs_target
    if abs(factor - round(factor)) > 1e-9 or round(factor) < 1:
        raise ConfigError(f"fs {fs} Hz is not an integer multiple of the target {fs_target} Hz")
    if round(factor) > 1:
        x = signal.decimate(x, int(round(factor)), ftype="fir", axis=0, zero_phase=True)
    fs = fs_target
    low, high = band_hz
    high = min(high, 0.99 * fs / 2)  # 500 Hz sits just under Nyquist at 1024 Hz
    sos = signal.butter(filter_order, [low, high], btype="bandpass", fs=fs, output="sos")
    x = signal.sosfiltfilt(sos, x, axis=0)
    if notch_hz > 0:
        for f0 in np.arange(notch_hz, notch_max_hz + 1e-9, notch_hz):
            if f0 < fs / 2:
                b, a = signal.iirnotch(f0, notch_q, fs=fs)
                x = signal.filtfilt(b, a, x, axis=0)
    return x, fs


def _frames(x: np.ndarray, frame: int) -> np.ndarray:
    """(samples, channels) -> (frames, channels, frame), non-overlapping, remainder dropped."""
    n = x.shape[0] // frame
    if n == 0:
        raise ConfigError(f"frame length {frame} is longer than the {x.shape[0]}-sample sample")
    return x[: n * frame].reshape(n, frame, x.shape[1]).transpose(0, 2, 1)


def hd_measure(x: np.ndarray, measure: str, frame: int = 64, raw_points: int = 171) -> np.ndarray:
    """Per-electrode values (F, channels) of one (samples, channels) sample.

    measure: ``raw`` (waveform resampled to ``raw_points``), ``rms`` / ``wl`` / ``mav`` (per
    non-overlapping frame of ``frame`` samples), ``td`` (MAV, RMS, WL, ZC, SSC per frame, stacked).
    """
    if measure == "raw":
        return signal.resample(x, raw_points, axis=0)
    f = _frames(x, frame)  # (frames, channels, frame)
    mav = np.abs(f).mean(-1)
    rms = np.sqrt((f**2).mean(-1))
    wl = np.abs(np.diff(f, axis=-1)).sum(-1)
    if measure == "rms":
        return rms
    if measure == "mav":
        return mav
    if measure == "wl":
        return wl
    if measure == "td":
        zc = (np.diff(np.signbit(f), axis=-1)).sum(-1).astype(float)
        ssc = (((f[..., 1:-1] - f[..., :-2]) * (f[..., 1:-1] - f[..., 2:])) > 0).sum(-1).astype(float)
        return np.concatenate([mav, rms, wl, zc, ssc], axis=0)
    raise ConfigError(f"unknown input measure {measure!r}; known: raw, rms, mav, wl, td")


def hyser_sample_set(
    recordings: Iterable[Recording],
    measure: str = "rms",
    frame: int = 64,
    raw_points: int = 171,
    segment_s: float = 1.0,
    keep_last_s: float = 0.5,
    physical_layout: bool = True,
    **preprocess,
) -> ArraySet:
    """Hyser dynamic samples -> ``samples`` (N, F, rows, cols) on the electrode grid.

    Each trial (a 1 s dynamic segment) is preprocessed on its own, cut to ``segment_s`` and its last
    ``keep_last_s`` seconds kept. ``physical_layout=False`` reproduces the source defect of reshaping
    channel vectors in storage order instead of placing them on the physical mosaic.
    """
    out, metas, grid = [], [], None
    for rec in recordings:
        layout = rec.layout
        grid = layout.grid
        for t in rec.trials.itertuples(index=False):
            x, fs = preprocess_hdemg(rec.emg[int(t.start) : int(t.stop)], rec.fs, **preprocess)
            n_seg, n_keep = int(round(segment_s * fs)), int(round(keep_last_s * fs))
            if x.shape[0] < n_seg:
                raise ConfigError(
                    f"subject {rec.subject} session {rec.session} trial {t.trial}: segment of "
                    f"{x.shape[0]} samples is shorter than segment_s={segment_s}s at {fs} Hz"
                )
            x = x[n_seg - n_keep : n_seg]
            values = hd_measure(x, measure, frame, raw_points)  # (F, channels)
            if physical_layout:
                values = layout.to_grid(values, fill=0.0)
            else:
                values = values.reshape(values.shape[0], *layout.shape)
            out.append(values.astype(np.float32))
            metas.append({"subject": rec.subject, "session": rec.session,
                          "repetition": int(t.repetition), "trial": int(t.trial),
                          "label": int(t.label), "base_label": int(t.label), "start": int(t.start)})
    if not out:
        raise ConfigError("no Hyser samples: the recordings have no trials")
    return ArraySet(
        {"samples": np.stack(out)}, pd.DataFrame(metas),
        {"measure": measure, "frame": frame, "raw_points": raw_points, "segment_s": segment_s,
         "keep_last_s": keep_last_s, "physical_layout": physical_layout, "preprocess": preprocess,
         "layout_grid": np.asarray(grid).tolist()},
    )


# --------------------------------------------------------------------------------------------
# HD-sEMG images (one value per electrode on the physical grid)
# --------------------------------------------------------------------------------------------

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
    out, metas, grid = [], [], None
    for rec in recordings:
        layout = rec.layout
        grid = layout.grid
        for t in rec.trials.itertuples(index=False):
            x = rec.emg[int(t.start) : int(t.stop)].astype(np.float32)
            if mode == "sample":
                values, starts = x, np.arange(len(x))
            elif mode == "window":
                length = max(int(round(window_s * rec.fs)), 1)
                stride = max(int(round(stride_s * rec.fs)), 1)
                w = sliding_windows(x, length, stride)
                if reducer == "rms":
                    values = np.sqrt((w.astype(np.float64) ** 2).mean(-1))
                elif reducer == "mav":
                    values = np.abs(w).mean(-1)
                else:
                    raise ConfigError(f"unknown image reducer {reducer!r}; known: rms, mav")
                starts = np.arange(len(w)) * stride
            else:
                raise ConfigError(f"unknown image mode {mode!r}; known: sample, window")
            if len(values) == 0:
                continue
            if normalize == "zscore":
                values = (values - values.mean(1, keepdims=True)) / (values.std(1, keepdims=True) + 1e-12)
            elif normalize != "none":
                raise ConfigError(f"unknown image normalisation {normalize!r}; known: none, zscore")
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
