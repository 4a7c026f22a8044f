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
from .preprocess import bandpass, decimate, decimation_factor, notch
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

EPN_VARIANTS = ("raw", "segmented", "relabeled", "standard")
#: spans this short (samples) are not trusted as an active segment / kept as a rest piece
MIN_SEGMENT = 45


def _moving_average(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average along axis 0 ('same' length), as the source's np.convolve(..., 'same')."""
    kernel = np.ones(n) / n
    return np.convolve(x, kernel, mode="same")


def energy_segment(x: np.ndarray, threshold: float = 0.25, smooth: int = 5) -> tuple[int, int] | None:
    """Active span of a repetition (samples, channels) by the cross-user source's energy detector.

    The channel with the largest energy is squared, smoothed with a ``smooth``-sample moving
    average and min-max scaled; the span runs from the first to one past the last sample above
    ``threshold``. None when nothing crosses or the signal is flat.
    """
    if len(x) == 0:
        return None
    ch = int(np.argmax(np.sum(np.asarray(x, np.float64) ** 2, axis=0)))
    e = _moving_average(np.asarray(x[:, ch], np.float64) ** 2, smooth)
    span = e.max() - e.min()
    if span <= 0:
        return None
    above = np.flatnonzero((e - e.min()) / span > threshold)
    if len(above) == 0:
        return None
    return int(above[0]), int(above[-1]) + 1


def standard_threshold(rest_windows_mean_abs: np.ndarray, n_sd: float = 3.0) -> float:
    """Population threshold of the ``standard`` variant: mean + n_sd * sd of per-window mean |x|."""
    v = np.asarray(rest_windows_mean_abs, np.float64)
    if len(v) == 0:
        raise ConfigError("standard variant: no rest windows among the training users to fit the threshold")
    return float(v.mean() + n_sd * v.std())


def standard_span(x: np.ndarray, threshold: float, length: int = 40) -> tuple[int, int] | None:
    """First window whose mean |x| (all channels) exceeds ``threshold`` to the last one + length - 1."""
    if len(x) < length:
        return None
    m = sliding_window_view(np.abs(np.asarray(x, np.float64)).mean(axis=1), length).mean(axis=1)
    above = np.flatnonzero(m > threshold)
    if len(above) == 0:
        return None
    return int(above[0]), int(above[-1]) + length


def _variant_pieces(x, label, bounds, variant, rest_label, threshold, length, crop_to_ground_truth):
    """Pieces (offset, samples, per-sample labels) of one repetition for a windowing variant.

    ``bounds``: ground-truth active span relative to the repetition, or None.
    """
    n = len(x)
    active = label != rest_label
    # As published, active repetitions arrived cropped to their ground truth for every variant.
    if crop_to_ground_truth and active and bounds is not None:
        x = x[bounds[0] : bounds[1]]
        offset0, bounds, n = bounds[0], (0, bounds[1] - bounds[0]), bounds[1] - bounds[0]
    else:
        offset0 = 0

    def labels(n_samples, value):
        return np.full(n_samples, value, dtype=int)

    if variant == "raw":
        y = labels(n, rest_label)
        if active:
            if bounds is not None:
                y[bounds[0] : bounds[1]] = label
            else:
                y[:] = label  # no ground truth: the repetition is the gesture
        return [(offset0, x, y)]
    if variant == "standard":
        y = labels(n, rest_label)
        if active:
            span = standard_span(x, threshold, length)
            if span is not None:
                y[span[0] : span[1]] = label
        return [(offset0, x, y)]
    # segmented / relabeled: the energy detector decides the active segment
    span = energy_segment(x) if active else None
    if not active or span is None or span[1] - span[0] <= MIN_SEGMENT:
        return [(offset0, x, labels(n, label))]
    a, b = span
    pieces = [(offset0 + a, x[a:b], labels(b - a, label))]
    if variant == "relabeled":
        for lo, hi in ((0, a), (b, n)):
            if hi - lo > MIN_SEGMENT:
                pieces.append((offset0 + lo, x[lo:hi], labels(hi - lo, rest_label)))
    return pieces


def epn_window_set(
    recordings: Iterable[Recording],
    variant: str = "raw",
    length: int = 40,
    stride: int = 5,
    rest_thinning: int = 4,
    rest_label: int = 0,
    crop_raw_to_ground_truth: bool = False,
    training_subjects: Iterable[int] | None = None,
) -> ArraySet:
    """Sliding windows over EPN-612 repetitions, in one of the cross-user study's variants.

    Parameters
    ----------
    variant : {"raw", "segmented", "relabeled", "standard"}
        ``raw``: the whole repetition; samples inside the ground-truth active bounds carry the
        gesture label, the rest is rest. ``segmented``: an energy detector
        (:func:`energy_segment`) crops active repetitions; spans of <= 45 samples, rest
        repetitions and repetitions where nothing crosses are kept whole. ``relabeled``: as
        segmented, and the parts before/after the segment (if longer than 45 samples) become rest
        windows. ``standard``: a population threshold fitted on the training users' rest windows
        (mean + 3 sd of per-window mean |x|) marks the active span of each active repetition.
    crop_raw_to_ground_truth : bool
        As published: active repetitions were already cropped to their ground-truth bounds, so
        "raw" was not raw and "relabeled" cut its rest parts from the cropped segment.
        ``False`` (corrected) starts every variant from the whole repetition.
    rest_thinning : int
        Keep every n-th rest window (per recording), 1 keeps all.
    training_subjects : iterable of int, optional
        Users whose rest windows fit the ``standard`` threshold (required for that variant); the
        threshold is then applied to every user.

    Returns
    -------
    ArraySet with ``windows`` (N, channels, length) float32 and metadata :data:`META_COLUMNS` +
    ``sample_set``; every array stays aligned with the windows through thinning.
    """
    if variant not in EPN_VARIANTS:
        raise ConfigError(f"unknown EPN-612 window variant {variant!r}; known: {list(EPN_VARIANTS)}")
    recordings = list(recordings)
    threshold = None
    if variant == "standard":
        if training_subjects is None:
            raise ConfigError("the standard variant needs training_subjects to fit its threshold")
        train = set(int(s) for s in training_subjects)
        rest_means = [
            np.abs(sliding_windows(rec.emg[int(t.start) : int(t.stop)], length, stride)).mean(axis=(1, 2))
            for rec in recordings if rec.subject in train
            for t in rec.trials.itertuples(index=False) if t.label == rest_label
        ]
        threshold = standard_threshold(np.concatenate(rest_means) if rest_means else np.empty(0))
    all_windows, metas = [], []
    for rec in recordings:
        rec_windows, rec_meta = [], []
        for t in rec.trials.itertuples(index=False):
            start, stop = int(t.start), int(t.stop)
            a0, a1 = int(t.active_start), int(t.active_stop)
            bounds = (max(a0 - start, 0), min(a1 - start, stop - start)) if a0 >= 0 and a1 > a0 else None
            for offset, x, sample_labels in _variant_pieces(
                rec.emg[start:stop], int(t.label), bounds, variant, rest_label, threshold, length,
                crop_raw_to_ground_truth,
            ):
                w = sliding_windows(x, length, stride)
                if len(w) == 0:
                    continue
                rec_windows.append(w)
                rec_meta.append(pd.DataFrame({
                    "subject": rec.subject, "session": rec.session, "repetition": int(t.repetition),
                    "trial": int(t.trial), "label": majority_labels(sample_labels, length, stride),
                    "base_label": int(t.label), "start": start + offset + np.arange(len(w)) * stride,
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
         "crop_raw_to_ground_truth": crop_raw_to_ground_truth, "standard_threshold": threshold},
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
    x = decimate(np.asarray(x, dtype=np.float64), decimation_factor(fs, fs_target))
    x = bandpass(x, fs_target, band_hz[0], band_hz[1], filter_order)
    if notch_hz > 0:
        x = notch(x, fs_target, notch_hz, notch_max_hz, notch_q)
    return x, fs_target


def _frames(x: np.ndarray, frame: int) -> np.ndarray:
    """(samples, channels) -> (frames, channels, frame), non-overlapping, remainder dropped."""
    n = x.shape[0] // frame
    if n == 0:
        raise ConfigError(f"frame length {frame} is longer than the {x.shape[0]}-sample sample")
    return x[: n * frame].reshape(n, frame, x.shape[1]).transpose(0, 2, 1)


HD_MEASURES = ("raw", "envelope", "stft", "rms", "mav", "wl", "td", "stft_td")


def hd_measure(
    x: np.ndarray,
    measure: str,
    frame: int = 64,
    raw_points: int = 171,
    envelope_window: int = 64,
    envelope_points: int = 240,
    stft_window: int = 256,
) -> np.ndarray:
    """Per-electrode values (F, channels) of one (samples, channels) sample.

    measure:
    ``raw``: the waveform resampled to ``raw_points``;
    ``envelope``: moving RMS over ``envelope_window`` samples, resampled to ``envelope_points``;
    ``stft``: short-time Fourier magnitude, Hann window of ``stft_window`` samples, no overlap
    (frames x frequency bins, flattened);
    ``rms`` / ``mav`` / ``wl``: per non-overlapping frame of ``frame`` samples;
    ``td``: MAV, RMS, WL, ZC, SSC per frame, stacked;
    ``stft_td``: ``stft`` and ``td`` stacked.
    """
    if measure not in HD_MEASURES:
        raise ConfigError(f"unknown input measure {measure!r}; known: {', '.join(HD_MEASURES)}")
    if measure == "raw":
        return signal.resample(x, raw_points, axis=0)
    if measure == "envelope":
        if envelope_window > len(x):
            raise ConfigError(f"envelope window {envelope_window} is longer than the {len(x)}-sample sample")
        power = sliding_window_view(np.asarray(x, np.float64) ** 2, envelope_window, axis=0).mean(-1)
        return signal.resample(np.sqrt(power), envelope_points, axis=0)
    if measure in ("stft", "stft_td"):
        f = _frames(x, stft_window)  # (frames, channels, window)
        spec = np.abs(np.fft.rfft(f * np.hanning(stft_window), axis=-1))  # (frames, channels, bins)
        spec = spec.transpose(0, 2, 1).reshape(-1, x.shape[1])
        if measure == "stft":
            return spec
        return np.concatenate([spec, hd_measure(x, "td", frame)], axis=0)
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
    zc = (np.diff(np.signbit(f), axis=-1)).sum(-1).astype(float)
    ssc = (((f[..., 1:-1] - f[..., :-2]) * (f[..., 1:-1] - f[..., 2:])) > 0).sum(-1).astype(float)
    return np.concatenate([mav, rms, wl, zc, ssc], axis=0)


def hyser_sample_set(
    recordings: Iterable[Recording],
    measure: str = "rms",
    frame: int = 64,
    raw_points: int = 171,
    segment_s: float = 1.0,
    keep_last_s: float = 0.5,
    physical_layout: bool = True,
    envelope_window: int = 64,
    envelope_points: int = 240,
    stft_window: int = 256,
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
            values = hd_measure(x, measure, frame, raw_points, envelope_window, envelope_points,
                                stft_window)  # (F, channels)
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
        {"measure": measure, "frame": frame, "raw_points": raw_points, "envelope_window": envelope_window,
         "envelope_points": envelope_points, "stft_window": stft_window, "segment_s": segment_s,
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
