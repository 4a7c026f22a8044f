"""Preprocessing of a recording as a list of configured steps, recorded in the store's attributes.

Steps (each a dict with ``step`` and its parameters), applied in order::

    {step: bandpass, low_hz: 20, high_hz: 450, order: 4}
    {step: notch, f0_hz: 50, max_hz: 400, q: 30}            # with harmonics up to max_hz
    {step: decimate, fs_hz: 1024}                             # anti-aliased (FIR, zero phase)
    {step: bad_channels, action: interpolate | drop, dead_ratio: 0.1, noisy_ratio: 5.0}

Filters run per trial (trials are separate records in most datasets; filtering across their
joins would smear one into the next) and are zero-phase. The unprocessed store stays untouched,
so raw ADC values remain recoverable from it.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal

from .errors import ConfigError
from .layouts import ElectrodeLayout
from .store import Recording

STEP_PARAMS: dict[str, dict[str, Any]] = {
    "bandpass": {"low_hz": 20.0, "high_hz": 450.0, "order": 4},
    "notch": {"f0_hz": 50.0, "max_hz": 400.0, "q": 30.0},
    "decimate": {"fs_hz": 1024.0},
    "bad_channels": {"action": "interpolate", "dead_ratio": 0.1, "noisy_ratio": 5.0},
}


def check_steps(steps: list[dict]) -> list[dict]:
    """Fill defaults and reject unknown steps or parameters, naming them."""
    out = []
    for i, step in enumerate(steps):
        name = step.get("step")
        if name not in STEP_PARAMS:
            raise ConfigError(f"preprocess step {i}: unknown step {name!r}; known: {sorted(STEP_PARAMS)}")
        unknown = sorted(set(step) - {"step"} - set(STEP_PARAMS[name]))
        if unknown:
            raise ConfigError(
                f"preprocess step {i} ({name}): unknown parameter(s) {unknown}; known: {sorted(STEP_PARAMS[name])}"
            )
        out.append({"step": name, **STEP_PARAMS[name], **{k: v for k, v in step.items() if k != "step"}})
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


def preprocess_recording(rec: Recording, steps: list[dict]) -> Recording:
    """Apply ``steps`` to every trial of ``rec``; returns a new recording with the history in
    ``extra["preprocessing"]`` (each step with its parameters and what it found)."""
    steps = check_steps(steps)
    out = copy.deepcopy(rec)
    history = list(out.extra.get("preprocessing", []))
    x = out.emg.astype(np.float64)
    trials = out.trials.copy()
    fs = out.fs
    for step in steps:
        name = step["step"]
        record = dict(step)
        if name in ("bandpass", "notch"):
            pieces = []
            for t in trials.itertuples(index=False):
                seg = x[int(t.start) : int(t.stop)]
                if name == "bandpass":
                    seg = bandpass(seg, fs, step["low_hz"], step["high_hz"], step["order"])
                else:
                    seg = notch(seg, fs, step["f0_hz"], step["max_hz"], step["q"])
                pieces.append((int(t.start), int(t.stop), seg))
            for a, b, seg in pieces:
                x[a:b] = seg
        elif name == "decimate":
            factor = decimation_factor(fs, step["fs_hz"])
            segments, new_rows, cursor = [], [], 0
            for t in trials.itertuples(index=False):
                seg = decimate(x[int(t.start) : int(t.stop)], factor)
                segments.append(seg)
                row = t._asdict()
                row["start"], row["stop"] = cursor, cursor + len(seg)
                for key in ("active_start", "active_stop"):
                    if row[key] >= 0:
                        row[key] = cursor + (row[key] - int(t.start)) // factor
                new_rows.append(row)
                cursor += len(seg)
            x = np.concatenate(segments) if segments else x[:0]
            trials = pd.DataFrame(new_rows, columns=trials.columns)
            fs = fs / factor
            record["factor"] = factor
        elif name == "bad_channels":
            dead, noisy = detect_bad_channels(x, step["dead_ratio"], step["noisy_ratio"])
            bad = np.union1d(dead, noisy)
            record.update(dead=dead.tolist(), noisy=noisy.tolist())
            if len(bad):
                if step["action"] == "interpolate":
                    x = interpolate_channels(x, out.layout, bad)
                elif step["action"] == "drop":
                    out.layout, keep = drop_channels(out.layout, bad)
                    x = x[:, keep]
                else:
                    raise ConfigError(f"bad_channels action must be interpolate or drop, got {step['action']!r}")
        history.append(record)
    out.emg = x.astype(np.float32)
    out.fs = float(fs)
    out.trials = trials
    # the processed signal is no longer the ADC values; the unprocessed store keeps those
    out.raw_scale, out.raw_offset, out.raw_dtype = 1.0, 0.0, "float32"
    out.extra = {**out.extra, "preprocessing": history}
    return out
