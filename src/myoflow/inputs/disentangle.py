"""Samples on the electrode grid (Hyser's 16x16 mosaic, FlexEMG's 16x4) for the disentanglement
study, in one input measure.

A measure turns one (samples, channels) sample into per-electrode values (F, channels); each is
registered on :data:`MEASURES` as ``measure(x, /, *, <its parameters>)``, and
:func:`hd_measure` hands it the parameters it declares.

The time-domain measures (MAV, RMS, WL, ZC, SSC) are computed here rather than with
:mod:`myoflow.features`: on float64 input the two disagree in the last bits or in definition
(features.py sums contiguous copies, by ``einsum`` for RMS, where this module reduces strided frame
views; LibEMG's SSC counts differently on flat signals; ``extract_features`` returns float32), and
the study's numbers must not move.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from ..errors import ConfigError
from ..layouts import ElectrodeLayout
from ..preprocess import bandpass, decimate, decimation_factor, notch
from ..registry import Registry
from ..sets import ArraySet
from ..store import Recording

__all__ = ["MEASURES", "hd_measure", "preprocess_hdemg", "trial_segment_set", "measure_sample_set", "trial_sample_set"]

#: measure name -> ``measure(x, /, **params) -> (F, channels)``
MEASURES: Registry[Callable[..., np.ndarray]] = Registry("input measure")


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


@MEASURES.register("raw")
def raw_measure(x: np.ndarray, /, *, raw_points: int = 171) -> np.ndarray:
    """The waveform resampled to ``raw_points``."""
    return signal.resample(x, raw_points, axis=0)


@MEASURES.register("envelope")
def envelope_measure(x: np.ndarray, /, *, envelope_window: int = 64, envelope_points: int = 240) -> np.ndarray:
    """Moving RMS over ``envelope_window`` samples, resampled to ``envelope_points``."""
    if envelope_window > len(x):
        raise ConfigError(f"envelope window {envelope_window} is longer than the {len(x)}-sample sample")
    power = sliding_window_view(np.asarray(x, np.float64) ** 2, envelope_window, axis=0).mean(-1)
    return signal.resample(np.sqrt(power), envelope_points, axis=0)


@MEASURES.register("stft")
def stft_measure(x: np.ndarray, /, *, stft_window: int = 256) -> np.ndarray:
    """Short-time Fourier magnitude, Hann window of ``stft_window`` samples, no overlap
    (frames x frequency bins, flattened)."""
    f = _frames(x, stft_window)  # (frames, channels, window)
    spec = np.abs(np.fft.rfft(f * np.hanning(stft_window), axis=-1))  # (frames, channels, bins)
    return spec.transpose(0, 2, 1).reshape(-1, x.shape[1])


@MEASURES.register("mav")
def mav_measure(x: np.ndarray, /, *, frame: int = 64) -> np.ndarray:
    """Mean absolute value per non-overlapping frame of ``frame`` samples."""
    return np.abs(_frames(x, frame)).mean(-1)


@MEASURES.register("rms")
def rms_measure(x: np.ndarray, /, *, frame: int = 64) -> np.ndarray:
    """Root mean square per non-overlapping frame of ``frame`` samples."""
    f = _frames(x, frame)
    return np.sqrt((f**2).mean(-1))


@MEASURES.register("wl")
def wl_measure(x: np.ndarray, /, *, frame: int = 64) -> np.ndarray:
    """Waveform length per non-overlapping frame of ``frame`` samples."""
    return np.abs(np.diff(_frames(x, frame), axis=-1)).sum(-1)


@MEASURES.register("td")
def td_measure(x: np.ndarray, /, *, frame: int = 64) -> np.ndarray:
    """MAV, RMS, WL, zero crossings and slope sign changes per frame, stacked."""
    f = _frames(x, frame)  # (frames, channels, frame)
    mav = np.abs(f).mean(-1)
    rms = np.sqrt((f**2).mean(-1))
    wl = np.abs(np.diff(f, axis=-1)).sum(-1)
    zc = (np.diff(np.signbit(f), axis=-1)).sum(-1).astype(float)
    ssc = (((f[..., 1:-1] - f[..., :-2]) * (f[..., 1:-1] - f[..., 2:])) > 0).sum(-1).astype(float)
    return np.concatenate([mav, rms, wl, zc, ssc], axis=0)


@MEASURES.register("stft_td")
def stft_td_measure(x: np.ndarray, /, *, frame: int = 64, stft_window: int = 256) -> np.ndarray:
    """``stft`` and ``td`` stacked."""
    return np.concatenate([stft_measure(x, stft_window=stft_window), td_measure(x, frame=frame)], axis=0)


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

    ``measure`` is a name of :data:`MEASURES` (raw, envelope, stft, rms, mav, wl, td, stft_td); it
    gets the parameters below that it declares: ``frame`` (framed measures), ``raw_points``,
    ``envelope_window`` / ``envelope_points``, ``stft_window``.
    """
    fn = MEASURES.get(measure)
    given = {"frame": frame, "raw_points": raw_points, "envelope_window": envelope_window,
             "envelope_points": envelope_points, "stft_window": stft_window}
    wanted = MEASURES.parameters(measure)
    return fn(x, **{k: v for k, v in given.items() if k in wanted})


def trial_segment_set(
    recordings: Iterable[Recording],
    segment_s: float = 1.0,
    keep_last_s: float = 0.5,
    segment_hop_s: float | None = None,
    **preprocess,
) -> ArraySet:
    """Trials, preprocessed -> ``segments`` (N, samples, channels) in channel order.

    Each trial is preprocessed on its own (:func:`preprocess_hdemg`) and cut into segments of
    ``segment_s``, of which the last ``keep_last_s`` seconds are kept. ``segment_hop_s=None``: one
    segment per trial, its first ``segment_s`` (Hyser's dynamic trials are 1 s segments); a number:
    a segment every ``segment_hop_s`` along the trial (long trials such as FlexEMG's 5 s holds).
    Done once for every input measure (:func:`measure_sample_set`): the filtering dominates the
    cost of a measure.
    """
    if segment_hop_s is not None and segment_hop_s <= 0:
        raise ConfigError(f"segment_hop_s must be > 0 (or null: one segment per trial), got {segment_hop_s}")
    if not 0 < keep_last_s <= segment_s:
        raise ConfigError(f"keep_last_s must be in (0, segment_s = {segment_s}], got {keep_last_s}")
    out, metas, layout, fs = [], [], None, None
    for rec in recordings:
        layout = rec.layout
        for t in rec.trials.itertuples(index=False):
            x, fs = preprocess_hdemg(rec.emg[int(t.start) : int(t.stop)], rec.fs, **preprocess)
            n_seg, n_keep = int(round(segment_s * fs)), int(round(keep_last_s * fs))
            if x.shape[0] < n_seg:
                raise ConfigError(
                    f"subject {rec.subject} session {rec.session} trial {t.trial}: segment of "
                    f"{x.shape[0]} samples is shorter than segment_s={segment_s}s at {fs} Hz"
                )
            hop = n_seg if segment_hop_s is None else max(1, int(round(segment_hop_s * fs)))
            starts = [0] if segment_hop_s is None else range(0, x.shape[0] - n_seg + 1, hop)
            for k, s0 in enumerate(starts):
                out.append(x[s0 + n_seg - n_keep : s0 + n_seg].astype(np.float32))
                metas.append({"subject": rec.subject, "session": rec.session,
                              "repetition": int(t.repetition), "trial": int(t.trial), "segment": k,
                              "label": int(t.label), "base_label": int(t.label), "start": int(t.start) + s0})
    if not out:
        raise ConfigError("no samples: the recordings have no trials")
    return ArraySet(
        {"segments": np.stack(out)}, pd.DataFrame(metas),
        {"fs": fs, "segment_s": segment_s, "keep_last_s": keep_last_s, "segment_hop_s": segment_hop_s,
         "preprocess": preprocess, "layout_name": layout.name, "layout_grid": np.asarray(layout.grid).tolist(),
         "layout_pitch_mm": float(layout.pitch_mm)},
    )


def measure_sample_set(
    segments: ArraySet,
    measure: str = "rms",
    frame: int = 64,
    raw_points: int = 171,
    physical_layout: bool = True,
    envelope_window: int = 64,
    envelope_points: int = 240,
    stft_window: int = 256,
) -> ArraySet:
    """Segments (:func:`trial_segment_set`) -> ``samples`` (N, F, rows, cols) of one input measure.

    ``physical_layout=False`` reproduces the source defect of reshaping channel vectors in storage
    order instead of placing them on the physical mosaic.
    """
    attrs = segments.attrs
    layout = ElectrodeLayout(attrs["layout_name"], np.asarray(attrs["layout_grid"], dtype=int),
                             attrs.get("layout_pitch_mm", 0.0))
    out = []
    for x in segments.arrays["segments"]:
        values = hd_measure(x, measure, frame, raw_points, envelope_window, envelope_points,
                            stft_window)  # (F, channels)
        if physical_layout:
            values = layout.to_grid(values, fill=0.0)
        else:
            values = values.reshape(values.shape[0], *layout.shape)
        out.append(values.astype(np.float32))
    return ArraySet(
        {"samples": np.stack(out)}, segments.meta.copy(),
        {"measure": measure, "frame": frame, "raw_points": raw_points, "envelope_window": envelope_window,
         "envelope_points": envelope_points, "stft_window": stft_window, "segment_s": attrs["segment_s"],
         "keep_last_s": attrs["keep_last_s"], "physical_layout": physical_layout,
         "preprocess": attrs["preprocess"], "layout_grid": attrs["layout_grid"]},
    )


def trial_sample_set(
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
    """Trial samples -> ``samples`` (N, F, rows, cols) on the electrode grid: the two steps
    :func:`trial_segment_set` and :func:`measure_sample_set` in one call."""
    segments = trial_segment_set(recordings, segment_s=segment_s, keep_last_s=keep_last_s, **preprocess)
    return measure_sample_set(segments, measure, frame=frame, raw_points=raw_points,
                              physical_layout=physical_layout, envelope_window=envelope_window,
                              envelope_points=envelope_points, stft_window=stft_window)
