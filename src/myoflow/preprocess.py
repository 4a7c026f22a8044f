"""Preprocessing of a recording as a list of configured steps, recorded in the store's attributes.

Steps (each a dict with ``step`` and its parameters), applied in order::

    {step: bandpass, low_hz: 20, high_hz: 450, order: 4}
    {step: notch, f0_hz: 50, max_hz: 400, q: 30}            # with harmonics up to max_hz
    {step: decimate, fs_hz: 1024}                             # anti-aliased (FIR, zero phase)
    {step: bad_channels, action: interpolate | drop, dead_ratio: 0.1, noisy_ratio: 5.0}

Filters run per trial (trials are separate records in most datasets; filtering across their
joins would smear one into the next) and are zero-phase. The unprocessed store stays untouched,
so raw ADC values remain recoverable from it.

Each step is registered on :data:`STEPS` as a function ``step(signal, /, **params)`` that updates
the :class:`Signal` in place and returns what it found (added to the step's record); its keyword
parameters and their defaults are the step's config keys.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import signal

from .errors import ConfigError
from .layouts import ElectrodeLayout
from .registry import Registry
from .store import Recording

#: step name -> ``step(signal, /, **params) -> dict of findings``; keyword defaults are the config defaults
STEPS: Registry[Callable[..., dict]] = Registry("preprocessing step")


def check_steps(steps: list[dict]) -> list[dict]:
    """Fill defaults and reject unknown steps or parameters, naming them and the step's index."""
    out = []
    for i, step in enumerate(steps):
        name = step.get("step")
        try:
            STEPS.get(name)
        except ConfigError as err:
            raise ConfigError(f"preprocess step {i}: {err}") from None
        params = {k: v for k, v in step.items() if k != "step"}
        STEPS.check_params(name, params, where=f"preprocess step {i} ({name})")
        out.append({"step": name, **STEPS.parameters(name), **params})
    return out


def bandpass(x: np.ndarray, fs: float, low_hz: float, high_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth band-pass of (samples, channels); the upper edge is kept below Nyquist."""
    high = min(high_hz, 0.99 * fs / 2)
    if not 0 < low_hz < high:
        raise ConfigError(f"band-pass {low_hz}-{high_hz} Hz is not a valid band at fs = {fs} Hz")
    sos = signal.butter(order, [low_hz, high], btype="bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x, axis=0)


def notch(x: np.ndarray, fs: float, f0_hz: float = 50.0, max_hz: float = 400.0, q: float = 30.0) -> np.ndarray:
    """Zero-phase IIR notches at f0 and its harmonics up to ``max_hz`` (and below Nyquist)."""
    for f in np.arange(f0_hz, max_hz + 1e-9, f0_hz):
        if f < fs / 2:
            b, a = signal.iirnotch(f, q, fs=fs)
            x = signal.filtfilt(b, a, x, axis=0)
    return x


def decimation_factor(fs: float, fs_hz: float) -> int:
    factor = fs / fs_hz
    if factor < 1 or abs(factor - round(factor)) > 1e-9:
        raise ConfigError(f"cannot decimate from {fs} Hz to {fs_hz} Hz: not an integer factor")
    return int(round(factor))


def decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """Anti-aliased decimation (FIR low-pass, zero phase, then every ``factor``-th sample)."""
    if factor == 1:
        return x
    return signal.decimate(x, factor, ftype="fir", axis=0, zero_phase=True)


def detect_bad_channels(x: np.ndarray, dead_ratio: float = 0.1, noisy_ratio: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Dead and noisy channels by RMS relative to the median channel RMS.

    Returns (dead, noisy) channel index arrays: dead below ``dead_ratio`` x median (flat, broken
    contact), noisy above ``noisy_ratio`` x median (lifted electrode, strong interference).
    """
    rms = np.sqrt(np.mean(np.asarray(x, np.float64) ** 2, axis=0))
    med = np.median(rms)
    if med <= 0:
        return np.flatnonzero(rms <= 0), np.empty(0, dtype=int)
    return np.flatnonzero(rms < dead_ratio * med), np.flatnonzero(rms > noisy_ratio * med)


def interpolate_channels(x: np.ndarray, layout: ElectrodeLayout, bad: np.ndarray) -> np.ndarray:
    """Replace bad channels by the mean of their good 4-neighbours on the electrode grid.

    On a 1-row layout (a ring such as the Myo armband) the neighbours wrap around. A bad channel
    with no good neighbour is set to 0.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    bad_set = set(int(b) for b in bad)
    rows, cols = layout.shape
    pos = layout.positions()
    ring = rows == 1
    for ch in sorted(bad_set):
        r, c = pos[ch]
        neighbours = []
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            rr, cc = r + dr, c + dc
            if ring:
                cc %= cols
            if 0 <= rr < rows and 0 <= cc < cols:
                n = int(layout.grid[rr, cc])
                if n >= 0 and n not in bad_set and n != ch:
                    neighbours.append(n)
        x[:, ch] = x[:, neighbours].mean(axis=1) if neighbours else 0.0
    return x


def drop_channels(layout: ElectrodeLayout, bad: np.ndarray) -> tuple[ElectrodeLayout, np.ndarray]:
    """Layout without ``bad`` channels (their positions become -1, the rest renumbered) + kept indices."""
    keep = np.setdiff1d(np.arange(layout.n_channels), bad)
    new_index = np.full(layout.n_channels, -1)
    new_index[keep] = np.arange(len(keep))
    grid = np.where(layout.grid >= 0, new_index[np.maximum(layout.grid, 0)], -1)
    return ElectrodeLayout(layout.name, grid, layout.pitch_mm), keep


@dataclass
class Signal:
    """The state a step works on: float64 samples, trial table, sampling rate and electrode layout."""

    x: np.ndarray
    trials: pd.DataFrame
    fs: float
    layout: ElectrodeLayout


def _per_trial(sig: Signal, filt: Callable[[np.ndarray], np.ndarray]) -> None:
    """Apply ``filt`` to each trial separately (filtering across trial joins would smear them)."""
    pieces = []
    for t in sig.trials.itertuples(index=False):
        pieces.append((int(t.start), int(t.stop), filt(sig.x[int(t.start) : int(t.stop)])))
    for a, b, seg in pieces:
        sig.x[a:b] = seg


@STEPS.register("bandpass")
def bandpass_step(sig: Signal, /, *, low_hz: float = 20.0, high_hz: float = 450.0, order: int = 4) -> dict:
    """Zero-phase Butterworth band-pass per trial."""
    _per_trial(sig, lambda seg: bandpass(seg, sig.fs, low_hz, high_hz, order))
    return {}


@STEPS.register("notch")
def notch_step(sig: Signal, /, *, f0_hz: float = 50.0, max_hz: float = 400.0, q: float = 30.0) -> dict:
    """Zero-phase notches at ``f0_hz`` and its harmonics up to ``max_hz``, per trial."""
    _per_trial(sig, lambda seg: notch(seg, sig.fs, f0_hz, max_hz, q))
    return {}


@STEPS.register("decimate")
def decimate_step(sig: Signal, /, *, fs_hz: float = 1024.0) -> dict:
    """Anti-aliased decimation of each trial to ``fs_hz``; trial bounds follow."""
    factor = decimation_factor(sig.fs, fs_hz)
    segments, new_rows, cursor = [], [], 0
    for t in sig.trials.itertuples(index=False):
        seg = decimate(sig.x[int(t.start) : int(t.stop)], factor)
        segments.append(seg)
        row = t._asdict()
        row["start"], row["stop"] = cursor, cursor + len(seg)
        for key in ("active_start", "active_stop"):
            if row[key] >= 0:
                row[key] = cursor + (row[key] - int(t.start)) // factor
        new_rows.append(row)
        cursor += len(seg)
    sig.x = np.concatenate(segments) if segments else sig.x[:0]
    sig.trials = pd.DataFrame(new_rows, columns=sig.trials.columns)
    sig.fs = sig.fs / factor
    return {"factor": factor}


@STEPS.register("bad_channels")
def bad_channels_step(sig: Signal, /, *, action: str = "interpolate", dead_ratio: float = 0.1,
                      noisy_ratio: float = 5.0) -> dict:
    """Detect dead and noisy channels; interpolate them from grid neighbours or drop them."""
    dead, noisy = detect_bad_channels(sig.x, dead_ratio, noisy_ratio)
    bad = np.union1d(dead, noisy)
    if len(bad):
        if action == "interpolate":
            sig.x = interpolate_channels(sig.x, sig.layout, bad)
        elif action == "drop":
            sig.layout, keep = drop_channels(sig.layout, bad)
            sig.x = sig.x[:, keep]
        else:
            raise ConfigError(f"bad_channels action must be interpolate or drop, got {action!r}")
    return {"dead": dead.tolist(), "noisy": noisy.tolist()}


def preprocess_recording(rec: Recording, steps: list[dict]) -> Recording:
    """Apply ``steps`` to every trial of ``rec``; returns a new recording with the history in
    ``extra["preprocessing"]`` (each step with its parameters and what it found)."""
    steps = check_steps(steps)
    out = copy.deepcopy(rec)
    history = list(out.extra.get("preprocessing", []))
    sig = Signal(out.emg.astype(np.float64), out.trials.copy(), out.fs, out.layout)
    for step in steps:
        record = dict(step)
        record.update(STEPS.get(step["step"])(sig, **{k: v for k, v in step.items() if k != "step"}))
        history.append(record)
    out.emg = sig.x.astype(np.float32)
    out.fs = float(sig.fs)
    out.trials = sig.trials
    out.layout = sig.layout
    # the processed signal is no longer the ADC values; the unprocessed store keeps those
    out.raw_scale, out.raw_offset, out.raw_dtype = 1.0, 0.0, "float32"
    out.extra = {**out.extra, "preprocessing": history}
    return out
