"""EMG-EPN-612 windows for the cross-user study, in one of its windowing variants.

A variant decides which samples of a repetition carry the gesture label and which are rest; each
is registered on :data:`VARIANTS` as ``pieces(x, label, bounds, rest_label, threshold, length,
stride) -> [(offset, samples, per-sample labels), ...]`` for one repetition (offsets relative to
``x``).
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ConfigError
from ..registry import Registry
from ..sets import ArraySet
from ..store import Recording
from .windowing import majority_labels, sliding_windows, thin_rest

__all__ = ["VARIANTS", "THRESHOLD_VARIANTS", "FEATURE_LAYOUTS", "feature_model_inputs", "feature_channel_axis",
           "MIN_SEGMENT", "energy_segment", "standard_threshold", "standard_span", "epn_window_set"]

Piece = tuple[int, np.ndarray, np.ndarray]

#: variant name -> ``pieces(x, label, bounds, rest_label, threshold, length, stride) -> list of pieces``
VARIANTS: Registry[Callable[..., list[Piece]]] = Registry("windowing variant")

#: variants whose population threshold is fitted on the training users (they need the split)
THRESHOLD_VARIANTS = frozenset({"standard", "standard_relabeled"})

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
    """Span ``[a, b)`` from the first window whose mean |x| (all channels) exceeds ``threshold``.

    ``b`` is the last such window's start + ``length - 1``, as the source's ``detect_segments``
    (process_epn612.py) slices it, so the last window's final sample falls outside. None when
    the repetition is shorter than one window or nothing crosses.
    """
    if len(x) < length:
        return None
    m = sliding_window_view(np.abs(np.asarray(x, np.float64)).mean(axis=1), length).mean(axis=1)
    above = np.flatnonzero(m > threshold)
    if len(above) == 0:
        return None
    return int(above[0]), int(above[-1]) + length - 1


def _labels(n_samples: int, value: int) -> np.ndarray:
    return np.full(n_samples, value, dtype=int)


@VARIANTS.register("raw")
def raw_pieces(x, label, bounds, rest_label, threshold, length, stride) -> list[Piece]:
    """The whole repetition; samples inside the ground-truth active bounds carry the gesture."""
    y = _labels(len(x), rest_label)
    if label != rest_label:
        if bounds is not None:
            y[bounds[0] : bounds[1]] = label
        else:
            y[:] = label  # no ground truth: the repetition is the gesture
    return [(0, x, y)]


@VARIANTS.register("standard")
def standard_pieces(x, label, bounds, rest_label, threshold, length, stride) -> list[Piece]:
    """Active repetitions cropped to the population-threshold span (:func:`standard_span`).

    As the source's ``detect_segments``: the cropped piece keeps the gesture label throughout;
    a repetition is kept whole when nothing crosses or the span is <= ``2 * length + stride``
    samples (the source's ``2 * SEQ + INC``, 82 at its 40/2 windows); rest repetitions are kept
    whole.
    """
    if label == rest_label:
        return [(0, x, _labels(len(x), label))]
    span = standard_span(x, threshold, length)
    if span is None or span[1] - span[0] <= 2 * length + stride:
        return [(0, x, _labels(len(x), label))]
    a, b = span
    return [(a, x[a:b], _labels(b - a, label))]


@VARIANTS.register("standard_relabeled")
def standard_relabeled_pieces(x, label, bounds, rest_label, threshold, length, stride) -> list[Piece]:
    """The whole repetition; samples inside the threshold span carry the gesture, the rest is rest.

    An earlier version of this workflow's ``standard`` (kept by name for comparison): it keeps
    the samples the source crops away, as rest.
    """
    y = _labels(len(x), rest_label)
    if label != rest_label:
        span = standard_span(x, threshold, length)
        if span is not None:
            y[span[0] : span[1]] = label
    return [(0, x, y)]


def _energy_pieces(x, label, rest_label, keep_rest_parts: bool) -> list[Piece]:
    """The energy detector's active segment; optionally the parts before/after it as rest."""
    n = len(x)
    active = label != rest_label
    span = energy_segment(x) if active else None
    if not active or span is None or span[1] - span[0] <= MIN_SEGMENT:
        return [(0, x, _labels(n, label))]
    a, b = span
    pieces = [(a, x[a:b], _labels(b - a, label))]
    if keep_rest_parts:
        for lo, hi in ((0, a), (b, n)):
            if hi - lo > MIN_SEGMENT:
                pieces.append((lo, x[lo:hi], _labels(hi - lo, rest_label)))
    return pieces


@VARIANTS.register("segmented")
def segmented_pieces(x, label, bounds, rest_label, threshold, length, stride) -> list[Piece]:
    """Active repetitions cropped to the energy detector's segment (short or absent: kept whole)."""
    return _energy_pieces(x, label, rest_label, keep_rest_parts=False)


@VARIANTS.register("relabeled")
def relabeled_pieces(x, label, bounds, rest_label, threshold, length, stride) -> list[Piece]:
    """As ``segmented``, and the parts before/after the segment (> 45 samples) become rest."""
    return _energy_pieces(x, label, rest_label, keep_rest_parts=True)


def _variant_pieces(x, label, bounds, variant, rest_label, threshold, length, stride, crop_to_ground_truth):
    """Pieces (offset, samples, per-sample labels) of one repetition for a windowing variant.

    ``bounds``: ground-truth active span relative to the repetition, or None.
    """
    # As published, active repetitions arrived cropped to their ground truth for every variant.
    if crop_to_ground_truth and label != rest_label and bounds is not None:
        x = x[bounds[0] : bounds[1]]
        offset0, bounds = bounds[0], (0, bounds[1] - bounds[0])
    else:
        offset0 = 0
    pieces = VARIANTS.get(variant)(x, label, bounds, rest_label, threshold, length, stride)
    return [(offset0 + offset, xs, ys) for offset, xs, ys in pieces]


def epn_window_set(
    recordings: Iterable[Recording],
    variant: str = "raw",
    length: int = 40,
    stride: int = 5,
    rest_thinning: int = 4,
    rest_label: int = 0,
    crop_raw_to_ground_truth: bool = False,
    training_subjects: Iterable[int] | None = None,
    relabel_from_cropped: bool | None = None,
    misaligned_metadata_groups: Sequence[Iterable[int]] | None = None,
) -> ArraySet:
    """Sliding windows over EPN-612 repetitions, in one of the cross-user study's variants.

    Parameters
    ----------
    variant : {"raw", "segmented", "relabeled", "standard", "standard_relabeled"}
        ``raw``: the whole repetition; samples inside the ground-truth active bounds carry the
        gesture label, the rest is rest. ``segmented``: an energy detector
        (:func:`energy_segment`) crops active repetitions; spans of <= 45 samples, rest
        repetitions and repetitions where nothing crosses are kept whole. ``relabeled``: as
        segmented, and the parts before/after the segment (if longer than 45 samples) become rest
        windows. ``standard``: a population threshold fitted on the training users' rest windows
        (mean + 3 sd of per-window mean |x|) marks the active span of each active repetition,
        which is cropped to it as the source does (:func:`standard_pieces`: kept whole when
        nothing crosses or the span is <= 2 * length + stride samples).
        ``standard_relabeled``: the same span, the whole repetition kept, samples outside the
        span labelled rest (not the source's behaviour; a named alternative).
    crop_raw_to_ground_truth : bool
        As published (defect ``raw_cropped_to_ground_truth``): active repetitions were already
        cropped to their ground-truth bounds, so "raw" was not raw (nor the segmented and
        standard variants cut from it). ``False`` (corrected) starts every variant from the
        whole repetition.
    relabel_from_cropped : bool, optional
        As published (defect ``relabeled_from_cropped``): the relabeled variant cuts its rest
        parts from the repetition cropped to ground truth. Default: ``crop_raw_to_ground_truth``
        (the source did both, from one crop); give it to switch the two apart.
    misaligned_metadata_groups : sequence of subject-id collections, optional
        As published (defect ``metadata_misaligned``): within each group (the source thinned each
        split's window set on its own: training, validation, test users), the metadata of the
        i-th kept window is the i-th *unthinned* window's (subject, session, repetition, trial,
        sample_set; the label stays with its window). None (corrected): every column is thinned
        with its windows. Subjects in no group keep aligned metadata.
    rest_thinning : int
        Keep every n-th rest window (per recording), 1 keeps all.
    training_subjects : iterable of int, optional
        Users whose rest windows fit the ``standard`` threshold (required for that variant); the
        threshold is then applied to every user.

    Returns
    -------
    ArraySet with ``windows`` (N, channels, length) float32 and metadata
    :data:`~myoflow.inputs.windowing.META_COLUMNS` +
    ``sample_set``; every array stays aligned with the windows through thinning. Its attrs
    carry the recordings' sampling rate ``fs`` (Hz), which the features are computed at.
    """
    VARIANTS.get(variant)  # an unknown variant fails before any work, listing the known ones
    if relabel_from_cropped is None:
        relabel_from_cropped = crop_raw_to_ground_truth
    crop = relabel_from_cropped if variant == "relabeled" else crop_raw_to_ground_truth
    recordings = list(recordings)
    rates = sorted({float(rec.fs) for rec in recordings})
    if len(rates) > 1:  # one set's features take one fs (LibEMG's <FEAT>_fs)
        raise ConfigError(f"recordings at several sampling rates {rates}: resample them to one first")
    threshold = None
    if variant in THRESHOLD_VARIANTS:
        if training_subjects is None:
            raise ConfigError(f"the {variant} variant needs training_subjects to fit its threshold")
        train = set(int(s) for s in training_subjects)
        rest_means = [
            np.abs(sliding_windows(rec.emg[int(t.start) : int(t.stop)], length, stride)).mean(axis=(1, 2))
            for rec in recordings if rec.subject in train
            for t in rec.trials.itertuples(index=False) if t.label == rest_label
        ]
        threshold = standard_threshold(np.concatenate(rest_means) if rest_means else np.empty(0))
    all_windows, metas, unthinned = [], [], []
    for rec in recordings:
        rec_windows, rec_meta = [], []
        for t in rec.trials.itertuples(index=False):
            start, stop = int(t.start), int(t.stop)
            a0, a1 = int(t.active_start), int(t.active_stop)
            bounds = (max(a0 - start, 0), min(a1 - start, stop - start)) if a0 >= 0 and a1 > a0 else None
            for offset, x, sample_labels in _variant_pieces(
                rec.emg[start:stop], int(t.label), bounds, variant, rest_label, threshold, length, stride,
                crop,
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
        unthinned.append(m)
    if not all_windows:
        raise ConfigError("no windows: every repetition is shorter than the window length")
    meta = pd.concat(metas, ignore_index=True)
    if misaligned_metadata_groups is not None:
        meta = _misalign_metadata(meta, pd.concat(unthinned, ignore_index=True), misaligned_metadata_groups)
    return ArraySet(
        {"windows": np.concatenate(all_windows).astype(np.float32)},
        meta,
        {"variant": variant, "length": length, "stride": stride, "rest_thinning": rest_thinning,
         "crop_raw_to_ground_truth": crop_raw_to_ground_truth, "relabel_from_cropped": relabel_from_cropped,
         "metadata_misaligned": misaligned_metadata_groups is not None, "standard_threshold": threshold,
         "fs": rates[0]},
    )


#: the metadata columns the source's unthinned arrays carried (the label stays with its window)
MISALIGNED_COLUMNS = ("subject", "session", "repetition", "trial", "sample_set")


def _misalign_metadata(meta: pd.DataFrame, unthinned: pd.DataFrame, groups) -> pd.DataFrame:
    """Defect ``metadata_misaligned``: within each subject group, kept window i takes unthinned
    row i's identity columns (both tables in the same recording order)."""
    meta = meta.copy()
    for group in groups:
        ids = {int(s) for s in group}
        kept = np.flatnonzero(meta["subject"].isin(ids).to_numpy())
        source = unthinned[unthinned["subject"].isin(ids)]
        for col in MISALIGNED_COLUMNS:
            meta.loc[meta.index[kept], col] = source[col].to_numpy()[: len(kept)]
    return meta


#: how a feature model reads its features: per window (N, F); per consecutive time piece
#: (N, pieces, F); or the source's reshape of the window's features (N, 8, F / 8)
FEATURE_LAYOUTS = ("window", "pieces", "source_reshape")


def feature_model_inputs(X: np.ndarray, layout: str, n_rows: int = 8) -> np.ndarray:
    """A feature model's input array from the features stored for its layout.

    ``window`` and ``pieces`` are used as stored ((N, F) and (N, pieces, F)). ``source_reshape``
    reproduces the cross-user source's input to its temporal feature models (``cross_cnnbasic.py``,
    ``cross_lstm.py``: ``extract_features(...).reshape((N, 8, F // 8))``): the window's
    feature-major vector (every channel of the first feature, then of the next) cut into 8 rows in
    storage order, so a row mixes channels and features and the "time" axis the LSTM or
    convolution runs over is not time. The corrected layout is ``pieces``.
    """
    if layout not in FEATURE_LAYOUTS:
        raise ConfigError(f"feature layout {layout!r} is not one of {list(FEATURE_LAYOUTS)}")
    X = np.asarray(X)
    if layout != "source_reshape":
        return X
    if X.ndim != 2 or X.shape[1] % n_rows:
        raise ConfigError(f"source_reshape: window features of shape {X.shape} do not reshape to "
                          f"(N, {n_rows}, F / {n_rows})")
    return X.reshape(len(X), n_rows, X.shape[1] // n_rows)


def feature_channel_axis(layout: str) -> int:
    """The axis RunningNorm normalises per element of: the features (axis 1 of (N, F), 2 of
    (N, pieces, F), the pieces being time). ``source_reshape`` is normalised before the reshape."""
    return 2 if layout == "pieces" else 1
