"""Seeded synthetic surface-EMG datasets, written in each dataset's *native* format.

The default workflow runs on these recordings, so they must carry the structure the studies look
for (see ``spec/synthetic.md``) and must be read by the very readers that read the real data.

Physics, in one paragraph
-------------------------
The forearm surface is unrolled into a plane: ``x`` runs around the circumference (mm, periodic,
0 = ulnar border, dorsal side 0..C/2, volar side C/2..C) and ``y`` along the arm (mm from the
elbow). Twelve muscles sit below the skin, each a line of :data:`SUBSOURCES` point sources along
its length at a depth (muscle depth + subcutaneous fat + half its radius). An electrode at lateral
distance ``d`` from a source of depth ``h`` sees it with weight ``h0**2 * h / (d**2 + h**2)**1.5``
(the potential of a point source in a half-space), so a superficial muscle makes a sharp blob on
an HD grid and a deep one a weak, wide one. Every source is band-limited stochastic EMG
(Butterworth band 20-450 Hz, the upper edge clipped below Nyquist for low-rate devices such as the
Myo at 200 Hz) multiplied by its muscle's activation envelope; channels are the sources mixed by a
``(channels, sources)`` weight matrix, plus white noise, optional 50 Hz mains and baseline wander,
and now and then a dead or noisy channel.

A gesture is a fixed activation level per muscle (anatomical templates for named gestures, seeded
sparse patterns for numbered ones), shared by all subjects: the *pattern* component. Subjects
differ in forearm circumference, muscle positions/sizes/depths, fat thickness, per-muscle gains, a
subject-specific perturbation of each gesture's pattern, electrode placement (shift and rotation
of the grids; a rotation of the Myo ring) and noise level: the *subject* component. Sessions of a
subject differ by a small re-placement shift and a small amplitude change.

Seeding
-------
Every random draw comes from ``np.random.default_rng(SeedSequence([seed, kind, purpose, *key]))``
where ``key`` identifies the subject / session / gesture (not its position in a loop), so a
subject's data do not depend on how many subjects, sessions or gestures are generated.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.io
from scipy import signal as sps

from .layouts import hyser_16x16

DATASET_KINDS = ("epn612", "hyser", "csl", "icelab")

#: Keys every kind accepts besides its sizes: knobs of the physics, defaults tuned for the studies.
_PHYSICS_DEFAULTS: dict[str, Any] = {
    "subject_variability": 1.0,  # scales every between-subject difference (0: clones but for noise)
    "session_shift_mm": 4.0,  # sd of the electrode re-placement shift between sessions
    "noise_scale": 1.0,  # scales the white-noise level of every channel
    "bad_channel_prob": 0.1,  # chance that a recording has one dead or noisy channel
    "mains": True,  # add 50 Hz mains interference
    "baseline_wander": True,  # add slow baseline wander
}

_SIZE_DEFAULTS: dict[str, dict[str, Any]] = {
    "epn612": {
        "n_training_users": 10,
        "n_testing_users": 8,
        "repetitions_per_gesture": 3,
        "repetition_s": 2.0,
        "fs": 200,
    },
    "hyser": {
        "n_subjects": 5,
        "sessions": [1],
        "gestures": [6, 7, 8, 9, 10, 11, 30, 31, 32, 34],
        "trials_per_gesture": 2,
        "segments_per_trial": 3,
        "segment_s": 1.0,
        "fs": 2048,
    },
    "csl": {
        "n_subjects": 2,
        "n_sessions": 2,
        "n_gestures": 5,
        "trials_per_gesture": 3,
        "trial_s": 1.0,
        "fs": 2048,
    },
    "icelab": {
        "n_subjects": 1,
        "n_gestures": 7,
        "repetitions": 5,
        "repetition_s": 2.0,
        "fs": 2560,
        "trailing_column": True,
    },
}

#: EMG-EPN-612 gesture names in the order the synthetic JSON lists them.
EPN612_GESTURES = ("noGesture", "fist", "waveIn", "waveOut", "open", "pinch")
#: ICE Lab gesture names, gesture number 1..7 in the file names.
ICELAB_GESTURES = (
    "hand close", "no movement", "hand open", "wrist supination", "wrist pronation",
    "wrist extension", "wrist flexion",
)
#: Hyser PR has gestures 1..34.
HYSER_N_GESTURES = 34
#: Quattrocento: 16-bit ADC over +-5 V after a gain of 150 -> digital units per mV.
HYSER_ADC_GAIN = 983.04
#: Myo armband: int8 counts per mV of the simulated signal (strong contractions reach ~+-100).
MYO_COUNTS_PER_MV = 100.0


# --------------------------------------------------------------------------------------------
# Forearm model
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Muscle:
    """A forearm muscle on the unrolled surface (mm): centre, length along the arm, depth, radius."""

    name: str
    x_mm: float
    y_mm: float
    length_mm: float
    depth_mm: float
    radius_mm: float


CIRCUMFERENCE_MM = 260.0
#: Point sources per muscle along its length; independent noise each, so nearby channels decorrelate.
SUBSOURCES = 3
#: Points integrated along each sub-source's third of the muscle.
_POINTS_PER_SUBSOURCE = 6
#: Reference depth (mm) at which a source right under an electrode has weight 1.
_H0_MM = 10.0
#: RMS (mV) of one muscle's source at full activation before spatial weighting.
_SOURCE_MV = 1.5

MUSCLES: tuple[Muscle, ...] = (
    Muscle("ECU", 20.0, 110.0, 120.0, 9.0, 6.0),    # extensor carpi ulnaris
    Muscle("EDC", 55.0, 100.0, 120.0, 10.0, 8.0),   # extensor digitorum
    Muscle("EIP", 45.0, 175.0, 60.0, 14.0, 4.0),    # extensor indicis
    Muscle("APL", 90.0, 150.0, 70.0, 12.0, 5.0),    # abductor pollicis longus / thumb extensors
    Muscle("ECR", 108.0, 70.0, 110.0, 9.0, 8.0),    # extensor carpi radialis longus + brevis
    Muscle("BR", 135.0, 50.0, 110.0, 8.0, 8.0),     # brachioradialis
    Muscle("SUP", 85.0, 35.0, 50.0, 18.0, 6.0),     # supinator (deep)
    Muscle("PT", 165.0, 35.0, 60.0, 12.0, 7.0),     # pronator teres
    Muscle("FCR", 180.0, 85.0, 110.0, 9.0, 7.0),    # flexor carpi radialis
    Muscle("FDS", 205.0, 105.0, 130.0, 15.0, 10.0), # flexor digitorum superficialis
    Muscle("FDP", 232.0, 100.0, 140.0, 20.0, 11.0), # flexor digitorum profundus (deep)
    Muscle("FCU", 250.0, 90.0, 130.0, 9.0, 7.0),    # flexor carpi ulnaris
)
_MUSCLE_INDEX = {m.name: i for i, m in enumerate(MUSCLES)}

#: Activation templates (0..1 per muscle) of named gestures; rest is the empty pattern.
_NAMED_PATTERNS: dict[str, dict[str, float]] = {
    "rest": {},
    "fist": {"FDS": 0.9, "FDP": 1.0, "FCU": 0.4, "FCR": 0.4, "EDC": 0.3, "ECR": 0.3, "APL": 0.2},
    "wrist flexion": {"FCR": 1.0, "FCU": 0.9, "FDS": 0.4, "FDP": 0.2},
    "wrist extension": {"ECR": 1.0, "ECU": 0.9, "EDC": 0.5, "EIP": 0.2},
    "hand open": {"EDC": 1.0, "EIP": 0.7, "APL": 0.7, "ECU": 0.2, "ECR": 0.2},
    "pinch": {"FDS": 0.5, "FDP": 0.6, "APL": 0.4, "EIP": 0.2},
    "wrist supination": {"SUP": 1.0, "BR": 0.5, "APL": 0.3},
    "wrist pronation": {"PT": 1.0, "FCR": 0.4, "BR": 0.3},
}
_EPN_TO_PATTERN = {
    "noGesture": "rest", "fist": "fist", "waveIn": "wrist flexion", "waveOut": "wrist extension",
    "open": "hand open", "pinch": "pinch",
}
_ICE_TO_PATTERN = {
    "hand close": "fist", "no movement": "rest", "hand open": "hand open",
    "wrist supination": "wrist supination", "wrist pronation": "wrist pronation",
    "wrist extension": "wrist extension", "wrist flexion": "wrist flexion",
}


def _code(text: str) -> int:
    """A stable non-negative integer for a name (Python's hash() is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *[int(k) for k in key]]))


# Purposes of the random streams, so two streams never share a key.
_P_SUBJECT, _P_SESSION, _P_PATTERN, _P_SUBJECT_PATTERN, _P_TRIALS = 1, 2, 3, 4, 5


def _named_pattern(name: str) -> np.ndarray:
    a = np.zeros(len(MUSCLES))
    for muscle, level in _NAMED_PATTERNS[name].items():
        a[_MUSCLE_INDEX[muscle]] = level
    return a


def _numbered_pattern(seed: int, kind: str, gesture_id: int) -> np.ndarray:
    """A sparse seeded pattern for a numbered gesture (Hyser, CSL); 2-4 muscles clearly active."""
    rng = _rng(seed, _code(kind), _P_PATTERN, gesture_id)
    a = rng.uniform(0.0, 0.08, len(MUSCLES))
    k = int(rng.integers(2, 5))
    a[rng.choice(len(MUSCLES), size=k, replace=False)] = rng.uniform(0.45, 1.0, k)
    return a


@dataclass
class _Subject:
    """One subject's anatomy and habits; arrays are per muscle."""

    key: tuple[int, ...]
    circumference: float
    x: np.ndarray
    y: np.ndarray
    length: np.ndarray
    depth: np.ndarray  # of the source line below the skin, fat and half radius included
    gain: np.ndarray  # mV RMS at full activation
    tonic: np.ndarray  # activation at rest
    shift_xy: np.ndarray  # electrode placement shift (mm)
    rotation: float  # electrode placement rotation (rad)
    noise: float  # white-noise factor


def _make_subject(seed: int, kind: str, key: tuple[int, ...], v: float, ring: bool) -> _Subject:
    rng = _rng(seed, _code(kind), _P_SUBJECT, *key)
    m = len(MUSCLES)
    base = {f: np.array([getattr(mu, f) for mu in MUSCLES]) for f in
            ("x_mm", "y_mm", "length_mm", "depth_mm", "radius_mm")}
    circ = CIRCUMFERENCE_MM * float(np.exp(rng.normal(0.0, 0.06 * v)))
    radius = base["radius_mm"] * np.exp(rng.normal(0.0, 0.15 * v, m))
    fat = float(np.clip(3.0 + rng.normal(0.0, 1.2 * v), 1.0, 8.0))
    depth = np.clip(base["depth_mm"] + rng.normal(0.0, 1.5 * v, m), 5.0, None) + fat + radius / 2
    gain = (_SOURCE_MV * (radius / 8.0) ** 2 * np.exp(rng.normal(0.0, 0.3 * v, m))
            * float(np.exp(rng.normal(0.0, 0.2 * v))))
    if ring:
        # the armband slides around the arm: a rotation of the ring = a circumferential shift
        shift = np.array([rng.normal(0.0, 16.0 * v), rng.normal(0.0, 8.0 * v)])
        rotation = 0.0
    else:
        shift = rng.normal(0.0, 6.0 * v, 2)
        rotation = float(np.deg2rad(rng.normal(0.0, 3.0 * v)))
    return _Subject(
        key=key,
        circumference=circ,
        x=(base["x_mm"] + rng.normal(0.0, 6.0 * v, m)) * circ / CIRCUMFERENCE_MM,
        y=base["y_mm"] + rng.normal(0.0, 8.0 * v, m),
        length=base["length_mm"] * np.exp(rng.normal(0.0, 0.1 * v, m)),
        depth=depth,
        gain=gain,
        tonic=rng.uniform(0.01, 0.03, m),
        shift_xy=shift,
        rotation=rotation,
        noise=float(np.exp(rng.normal(0.0, 0.3 * v))),
    )


def _subject_pattern(seed: int, kind: str, subject: _Subject, gesture_key: int,
                     pattern: np.ndarray, v: float) -> np.ndarray:
    """The subject's own way of doing a gesture: the shared pattern, perturbed."""
    rng = _rng(seed, _code(kind), _P_SUBJECT_PATTERN, *subject.key, gesture_key)
    a = pattern * np.exp(rng.normal(0.0, 0.35 * v, len(pattern)))
    a = a + np.abs(rng.normal(0.0, 0.05 * v, len(pattern))) * (pattern.max() > 0)
    return np.clip(a, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Electrodes
# --------------------------------------------------------------------------------------------

def _hyser_positions() -> np.ndarray:
    """(256, 2) electrode (x, y) in mm, channel order = Hyser storage order.

    Mosaic rows 0-7 are the extensor arrays (dorsal, centred at C/4), rows 8-15 the flexor arrays
    (volar, centred at 3C/4); mosaic columns run from the elbow (left) to the wrist (right).
    """
    rc = hyser_16x16().positions().astype(float)
    row, col = rc[:, 0], rc[:, 1]
    x = np.where(row < 8, CIRCUMFERENCE_MM / 4 - 35.0 + 10.0 * row,
                 3 * CIRCUMFERENCE_MM / 4 - 35.0 + 10.0 * (row - 8))
    y = 30.0 + 10.0 * col
    return np.stack([x, y], axis=1)


def _wrap_positions() -> np.ndarray:
    """(192, 2) monopolar positions of three 8x8 arrays wrapped around the arm (ICE Lab, CSL).

    Index ``64a + 8c + r``: array ``a``, column ``c`` around the arm, row ``r`` along the arm.
    """
    a, c, r = np.meshgrid(np.arange(3), np.arange(8), np.arange(8), indexing="ij")
    x = 10.0 + 10.0 * (8 * a + c)
    y = 50.0 + 10.0 * r
    return np.stack([x.ravel(), y.ravel()], axis=1).astype(float)


def _icelab_positions() -> np.ndarray:
    """(192, 2) positions in ICE Lab channel order ``64a + 8r + c`` (row r along the arm)."""
    a, r, c = np.meshgrid(np.arange(3), np.arange(8), np.arange(8), indexing="ij")
    x = 10.0 + 10.0 * (8 * a + c)
    y = 50.0 + 10.0 * r
    return np.stack([x.ravel(), y.ravel()], axis=1).astype(float)


def _myo_positions(circumference: float) -> np.ndarray:
    """(8, 2): eight pods evenly around the arm at the thickest part."""
    k = np.arange(8)
    return np.stack([k * circumference / 8, np.full(8, 70.0)], axis=1)


def _place(positions: np.ndarray, shift: np.ndarray, rotation: float) -> np.ndarray:
    """Rotate electrode positions about their centroid, then shift them (mm)."""
    centre = positions.mean(axis=0)
    c, s = np.cos(rotation), np.sin(rotation)
    rel = positions - centre
    rot = np.stack([c * rel[:, 0] - s * rel[:, 1], s * rel[:, 0] + c * rel[:, 1]], axis=1)
    return rot + centre + shift


def _mixing(electrodes: np.ndarray, subj: _Subject) -> np.ndarray:
    """(channels, muscles * SUBSOURCES) weights, in mV RMS per unit source at full activation.

    Each sub-source is a third of the muscle's length, integrated as a line of points (a single
    point per third would print a string of beads instead of one elongated blob on an HD grid).
    """
    pts = _POINTS_PER_SUBSOURCE
    # offsets along the muscle (fraction of its length) of every point, grouped by sub-source
    frac = (np.arange(SUBSOURCES * pts) + 0.5) / (SUBSOURCES * pts) - 0.5
    sx = subj.x[:, None]  # (muscles, 1)
    sy = subj.y[:, None] + frac[None, :] * subj.length[:, None]  # (muscles, points)
    h = subj.depth[:, None]
    dx = electrodes[:, 0, None, None] - sx[None]
    dx = (dx + subj.circumference / 2) % subj.circumference - subj.circumference / 2  # periodic
    dy = electrodes[:, 1, None, None] - sy[None]
    w = _H0_MM**2 * h[None] / (dx**2 + dy**2 + h[None] ** 2) ** 1.5  # (channels, muscles, points)
    w = w.reshape(len(electrodes), len(MUSCLES), SUBSOURCES, pts).mean(axis=-1)
    g = subj.gain[None, :, None] / np.sqrt(SUBSOURCES)
    return (w * g).reshape(len(electrodes), len(MUSCLES) * SUBSOURCES)


# --------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------

@dataclass
class _Segment:
    """A stretch of the timeline with one gesture: activation = pattern * shape (plus tonic)."""

    n: int
    pattern: np.ndarray  # (muscles,)
    shape: np.ndarray  # (n,) 0..1


def _shape(n: int, onset: float, ramp_up: float, offset: float | None, ramp_down: float) -> np.ndarray:
    """Raised-cosine on/off ramps; times are fractions of the segment."""
    t = (np.arange(n) + 0.5) / n
    up = np.clip((t - onset) / ramp_up, 0.0, 1.0)
    s = 0.5 - 0.5 * np.cos(np.pi * up)
    if offset is not None:
        down = np.clip((t - offset) / ramp_down, 0.0, 1.0)
        s = s * (0.5 + 0.5 * np.cos(np.pi * down))
    return s


def _bandpass(fs: float) -> np.ndarray:
    """Shaping filter of the EMG sources: band 20-450 Hz with the power peaking near 60-100 Hz
    (an extra first-order low-pass at 100 Hz), median frequency ~100 Hz as in surface EMG."""
    high = min(450.0, 0.45 * fs)  # stay below Nyquist on low-rate devices (Myo: 90 Hz)
    low = min(20.0, high / 2)
    band = sps.butter(2, [low, high], btype="bandpass", fs=fs, output="sos")
    tilt = sps.butter(1, min(100.0, 0.35 * fs), btype="lowpass", fs=fs, output="sos")
    return np.concatenate([band, tilt])


def _synthesize(rng: np.random.Generator, segments: list[_Segment], subj: _Subject,
                weights: np.ndarray, fs: float, noise_mv: float, params: dict,
                dead_ok: np.ndarray | None = None, wander_mv: float | None = None) -> np.ndarray:
    """(samples, channels) float32 mV for the concatenated segments.

    ``noise_mv`` is the white-noise RMS per channel (also the scale of the mains pick-up);
    ``wander_mv`` the baseline-wander scale (default ``2 * noise_mv``); ``dead_ok`` marks the
    channels that may become the recording's dead or noisy channel.
    """
    wander_mv = 2 * noise_mv if wander_mv is None else wander_mv
    total = sum(s.n for s in segments)
    m = len(MUSCLES)
    env = np.empty((total, m), dtype=np.float32)
    start = 0
    for seg in segments:
        env[start:start + seg.n] = subj.tonic[None, :] + seg.shape[:, None] * seg.pattern[None, :]
        start += seg.n
    # slow force fluctuation (0.3-2 Hz) so the envelope is not flat during a hold
    t = np.arange(total) / fs
    freqs = rng.uniform(0.3, 2.0, (2, m))
    phases = rng.uniform(0.0, 2 * np.pi, (2, m))
    wobble = 1.0 + 0.08 * (np.sin(2 * np.pi * t[:, None] * freqs[0] + phases[0])
                           + np.sin(2 * np.pi * t[:, None] * freqs[1] + phases[1]))
    env *= wobble.astype(np.float32)

    n_src = m * SUBSOURCES
    pad = int(0.2 * fs)  # let the filter settle before the kept part
    white = rng.standard_normal((total + pad, n_src))
    src = sps.sosfilt(_bandpass(fs), white, axis=0)[pad:]
    src /= src.std(axis=0, keepdims=True)
    src *= np.repeat(env, SUBSOURCES, axis=1)

    n_ch = weights.shape[0]
    # Mains and baseline wander enter through the same matrix product as the muscles (one pass
    # over the big (samples, channels) array instead of three).
    extra_src, extra_w = [], []
    if params["mains"]:
        extra_src.append(np.sin(2 * np.pi * 50.0 * t + rng.uniform(0.0, 2 * np.pi)))
        extra_w.append(noise_mv * rng.uniform(0.0, 1.5, n_ch))
    if params["baseline_wander"]:
        for f, ph in zip(rng.uniform(0.1, 0.6, 2), rng.uniform(0.0, 2 * np.pi, 2)):
            extra_src.append(np.sin(2 * np.pi * f * t + ph))
            extra_w.append(wander_mv * rng.standard_normal(n_ch))
    if extra_src:
        src = np.concatenate([src, np.stack(extra_src, axis=1)], axis=1)
        weights = np.concatenate([weights, np.stack(extra_w, axis=1)], axis=1)
    emg = src.astype(np.float32) @ weights.T.astype(np.float32)  # (samples, channels)

    ch_noise = (noise_mv * params["noise_scale"] * subj.noise
                * rng.uniform(0.8, 1.25, n_ch)).astype(np.float32)
    noise = rng.standard_normal((total, n_ch), dtype=np.float32)
    noise *= ch_noise
    emg += noise
    del noise
    if rng.random() < params["bad_channel_prob"]:
        candidates = np.arange(n_ch) if dead_ok is None else np.flatnonzero(dead_ok)
        ch = int(rng.choice(candidates))
        if rng.random() < 0.5:  # dead: contact lost, only a trace of amplifier noise left
            emg[:, ch] = 0.1 * ch_noise[ch] * rng.standard_normal(total, dtype=np.float32)
        else:  # noisy: poor contact
            emg[:, ch] += 8 * ch_noise[ch] * rng.standard_normal(total, dtype=np.float32)
    return emg


def _effort(rng: np.random.Generator, pattern: np.ndarray) -> np.ndarray:
    """One repetition's pattern: the subject's pattern with effort and per-muscle variation."""
    return np.clip(pattern * rng.uniform(0.75, 1.25) * np.exp(rng.normal(0.0, 0.15, len(pattern))),
                   0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------

def default_params(kind: str) -> dict:
    """Default sizes (and physics knobs) of one synthetic dataset kind.

    Parameters
    ----------
    kind : str
        One of :data:`DATASET_KINDS`.

    Returns
    -------
    dict
        A fresh copy; every size is a key, e.g. ``n_subjects``, ``fs``; plus the physics keys
        ``subject_variability``, ``session_shift_mm``, ``noise_scale``, ``bad_channel_prob``,
        ``mains`` and ``baseline_wander``.
    """
    _check_kind(kind)
    return json.loads(json.dumps({**_SIZE_DEFAULTS[kind], **_PHYSICS_DEFAULTS}))


def _check_kind(kind: str) -> None:
    if kind not in DATASET_KINDS:
        raise ValueError(f"unknown synthetic dataset kind {kind!r}; known: {list(DATASET_KINDS)}")


def _resolve(kind: str, params: dict | None) -> dict:
    """Defaults overlaid with ``params``; ValueError naming the first bad key."""
    _check_kind(kind)
    p = default_params(kind)
    params = dict(params or {})
    unknown = sorted(set(params) - set(p))
    if unknown:
        raise ValueError(f"synthetic {kind}: unknown parameter(s) {unknown}; known: {sorted(p)}")
    p.update(params)

    def positive_int(key: str, minimum: int = 1) -> None:
        val = p[key]
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < minimum:
            raise ValueError(f"synthetic {kind}: parameter {key!r} must be an integer >= {minimum}, "
                             f"got {val!r}")
        p[key] = int(val)

    def positive_float(key: str, minimum: float) -> None:
        val = p[key]
        if isinstance(val, bool) or not isinstance(val, (int, float, np.number)) or not val >= minimum:
            raise ValueError(f"synthetic {kind}: parameter {key!r} must be a number >= {minimum}, "
                             f"got {val!r}")
        p[key] = float(val)

    def int_list(key: str, lo: int, hi: int) -> None:
        val = p[key]
        ok = (isinstance(val, (list, tuple)) and len(val) > 0
              and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi
                      for v in val)
              and len(set(val)) == len(val))
        if not ok:
            raise ValueError(f"synthetic {kind}: parameter {key!r} must be a non-empty list of "
                             f"distinct integers in {lo}..{hi}, got {val!r}")
        p[key] = [int(v) for v in val]

    def flag(key: str) -> None:
        if not isinstance(p[key], (bool, np.bool_)):
            raise ValueError(f"synthetic {kind}: parameter {key!r} must be true or false, "
                             f"got {p[key]!r}")
        p[key] = bool(p[key])

    positive_float("subject_variability", 0.0)
    positive_float("session_shift_mm", 0.0)
    positive_float("noise_scale", 0.0)
    positive_float("bad_channel_prob", 0.0)
    if p["bad_channel_prob"] > 1:
        raise ValueError(f"synthetic {kind}: parameter 'bad_channel_prob' must lie in 0..1, "
                         f"got {p['bad_channel_prob']!r}")
    flag("mains")
    flag("baseline_wander")
    positive_int("fs", 100)
    if kind == "epn612":
        positive_int("n_training_users", 0)
        positive_int("n_testing_users", 0)
        if p["n_training_users"] + p["n_testing_users"] == 0:
            raise ValueError(f"synthetic {kind}: parameters 'n_training_users' and "
                             "'n_testing_users' are both 0; nothing to generate")
        positive_int("repetitions_per_gesture")
        positive_float("repetition_s", 0.001)
    elif kind == "hyser":
        positive_int("n_subjects")
        int_list("sessions", 1, 99)
        int_list("gestures", 1, HYSER_N_GESTURES)
        positive_int("trials_per_gesture")
        positive_int("segments_per_trial")
        positive_float("segment_s", 0.001)
    elif kind == "csl":
        positive_int("n_subjects")
        positive_int("n_sessions")
        positive_int("n_gestures")
        positive_int("trials_per_gesture")
        positive_float("trial_s", 0.001)
    else:  # icelab
        positive_int("n_subjects")
        positive_int("n_gestures")
        if p["n_gestures"] > len(ICELAB_GESTURES):
            raise ValueError(f"synthetic {kind}: parameter 'n_gestures' must be <= "
                             f"{len(ICELAB_GESTURES)}, got {p['n_gestures']!r}")
        positive_int("repetitions")
        positive_float("repetition_s", 0.001)
        flag("trailing_column")
    for key in ("repetition_s", "segment_s", "trial_s"):
        if key in p and round(p[key] * p["fs"]) < 10:
            raise ValueError(f"synthetic {kind}: parameter {key!r} = {p[key]} s gives fewer than "
                             f"10 samples at fs {p['fs']}")
    return p


def expected_recordings(kind: str, params: dict) -> list[tuple[int, int]]:
    """The (subject, session) pairs the dataset's reader lists after :func:`generate_dataset`.

    Subject ids follow each reader: EMG-EPN-612 users are 0-based (trainingJSON users first, then
    testingJSON users); Hyser, CSL and ICE Lab keep their 1-based folder/file numbers.

    Parameters
    ----------
    kind : str
        One of :data:`DATASET_KINDS`.
    params : dict
        Parameters as given to :func:`generate_dataset` (missing keys take the defaults).

    Returns
    -------
    list of (int, int)
        Sorted.
    """
    p = _resolve(kind, params)
    if kind == "epn612":
        out = [(i, 1) for i in range(p["n_training_users"] + p["n_testing_users"])]
    elif kind == "hyser":
        out = [(s, k) for s in range(1, p["n_subjects"] + 1) for k in p["sessions"]]
    elif kind == "csl":
        out = [(s, k) for s in range(1, p["n_subjects"] + 1) for k in range(1, p["n_sessions"] + 1)]
    else:
        out = [(s, 1) for s in range(1, p["n_subjects"] + 1)]
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Writers, one per kind
# --------------------------------------------------------------------------------------------

def _session_placement(seed: int, kind: str, subj: _Subject, session: int, p: dict,
                       ring: bool) -> tuple[np.ndarray, float, np.random.Generator]:
    """Placement of the electrodes in one session and that session's random stream."""
    rng = _rng(seed, _code(kind), _P_SESSION, *subj.key, session)
    shift = subj.shift_xy + rng.normal(0.0, p["session_shift_mm"], 2)
    rotation = subj.rotation + (0.0 if ring else float(np.deg2rad(rng.normal(0.0, 1.5))))
    return shift, rotation, rng


def _write_epn612(out: Path, p: dict, seed: int) -> None:
    kind, fs, v = "epn612", p["fs"], p["subject_variability"]
    n = int(round(p["repetition_s"] * fs))
    reps = p["repetitions_per_gesture"]
    for folder, code, n_users in (("trainingJSON", 0, p["n_training_users"]),
                                  ("testingJSON", 1, p["n_testing_users"])):
        for user in range(1, n_users + 1):
            subj = _make_subject(seed, kind, (code, user), v, ring=True)
            shift, rot, rng = _session_placement(seed, kind, subj, 1, p, ring=True)
            weights = _mixing(_place(_myo_positions(subj.circumference), shift, rot), subj)
            patterns = {g: _subject_pattern(seed, kind, subj, _code(g),
                                            _named_pattern(_EPN_TO_PATTERN[g]), v)
                        for g in EPN612_GESTURES}
            segments, meta = [], []
            for sample_set in ("trainingSamples", "testingSamples"):
                for g in EPN612_GESTURES:
                    for _ in range(reps):
                        onset = rng.uniform(0.15, 0.4)
                        up = rng.uniform(0.05, 0.08)
                        offset = onset + up + rng.uniform(0.3, 0.45)
                        down = rng.uniform(0.05, 0.08)
                        shape = _shape(n, onset, up, offset, down)
                        if g == "noGesture":
                            shape[:] = 0.0
                        segments.append(_Segment(n, _effort(rng, patterns[g]), shape))
                        meta.append((sample_set, g))
            # the Myo high-passes on board: little wander survives
            emg = _synthesize(rng, segments, subj, weights, fs, noise_mv=0.012, params=p,
                              wander_mv=0.002)
            counts = np.clip(np.rint(emg * MYO_COUNTS_PER_MV), -128, 127).astype(np.int8)
            doc: dict[str, Any] = {
                "generalInfo": {"deviceModel": "Myo Armband", "samplingFrequencyInHertz": fs,
                                "recordingTimeInSeconds": p["repetition_s"], "synthetic": True},
                "userInfo": {"name": f"user{user}", "handedness": "right", "synthetic": True},
                "trainingSamples": {}, "testingSamples": {},
            }
            counters = {"trainingSamples": 0, "testingSamples": 0}
            for i, ((sample_set, g), seg) in enumerate(zip(meta, segments)):
                x = counts[i * n:(i + 1) * n]
                counters[sample_set] += 1
                sample: dict[str, Any] = {
                    "emg": {f"ch{c + 1}": x[:, c].astype(int).tolist() for c in range(8)},
                }
                labelled = not (folder == "testingJSON" and sample_set == "testingSamples")
                if labelled:
                    sample["gestureName"] = g
                    if g != "noGesture":
                        gt = (seg.shape > 0.05).astype(int)
                        idx = np.flatnonzero(gt)
                        sample["groundTruth"] = gt.tolist()
                        sample["groundTruthIndex"] = [int(idx[0]) + 1, int(idx[-1]) + 1]
                doc[sample_set][f"idx_{counters[sample_set]}"] = sample
            udir = out / folder / f"user{user}"
            udir.mkdir(parents=True)
            # json.dumps uses the C encoder; json.dump to a file falls back to the slow Python one
            (udir / f"user{user}.json").write_text(json.dumps(doc, separators=(",", ":")),
                                                   encoding="utf-8")


def _wfdb_number(x: float) -> str:
    return str(int(x)) if round(float(x), 8) == float(int(x)) else str(float(x))


def write_wfdb16(directory: str | os.PathLike, record_name: str, digital: np.ndarray, fs: float,
                 adc_gain: float, units: str = "mV", sig_names: list[str] | None = None) -> None:
    """Write a format-16 WFDB record (``.hea`` + ``.dat``) byte-identical to ``wfdb.wrsamp``.

    ``wfdb.wrsamp`` spends ~0.3 s per 256-channel record on header bookkeeping, too slow for the
    hundreds of records of a synthetic Hyser set; format 16 is simple enough to write directly.

    Parameters
    ----------
    directory : path
        Folder of the record.
    record_name : str
        Record name (file stem).
    digital : np.ndarray
        int16 (samples, channels) ADC values.
    fs : float
        Sampling rate (Hz).
    adc_gain : float
        Digital units per physical unit; baseline 0.
    units : str
        Physical unit of every channel.
    sig_names : list of str, optional
        Channel names; default ``ch1..chN``.
    """
    d = np.asarray(digital)
    if d.dtype != np.int16 or d.ndim != 2:
        raise ValueError(f"write_wfdb16: digital must be int16 (samples, channels), got "
                         f"{d.dtype} {d.shape}")
    n_samples, n_sig = d.shape
    names = sig_names or [f"ch{i + 1}" for i in range(n_sig)]
    directory = Path(directory)
    d.astype("<i2").tofile(directory / f"{record_name}.dat")
    checksum = d.sum(axis=0, dtype=np.int64) % 65536
    gain = _wfdb_number(adc_gain)
    lines = [f"{record_name} {n_sig} {_wfdb_number(fs)} {n_samples}"]
    lines += [f"{record_name}.dat 16 {gain}(0)/{units} 16 0 {int(d[0, i])} {int(checksum[i])} 0 "
              f"{names[i]}" for i in range(n_sig)]
    (directory / f"{record_name}.hea").write_text("".join(f"{ln}\n" for ln in lines),
                                                  encoding="utf-8")


def _write_hyser(out: Path, p: dict, seed: int) -> None:
    kind, fs, v = "hyser", p["fs"], p["subject_variability"]
    n = int(round(p["segment_s"] * fs))
    positions = _hyser_positions()
    for s in range(1, p["n_subjects"] + 1):
        subj = _make_subject(seed, kind, (s,), v, ring=False)
        patterns = {g: _subject_pattern(seed, kind, subj, g, _numbered_pattern(seed, kind, g), v)
                    for g in p["gestures"]}
        for session in p["sessions"]:
            shift, rot, rng = _session_placement(seed, kind, subj, session, p, ring=False)
            amp = float(np.exp(rng.normal(0.0, 0.08)))  # skin impedance differs between days
            weights = amp * _mixing(_place(positions, shift, rot), subj)
            segments, labels = [], []
            for g in p["gestures"]:
                for _trial in range(p["trials_per_gesture"]):
                    for _seg in range(p["segments_per_trial"]):
                        # rest, then the gesture reaches full force within the first ~0.3 s
                        shape = _shape(n, rng.uniform(0.05, 0.15), rng.uniform(0.08, 0.15), None, 1.0)
                        segments.append(_Segment(n, _effort(rng, patterns[g]), shape))
                        labels.append(g)
            emg = _synthesize(rng, segments, subj, weights, fs, noise_mv=0.006, params=p)
            digital = np.clip(np.rint(emg * HYSER_ADC_GAIN), -32768, 32767).astype(np.int16)
            folder = out / f"subject{s:02d}_session{session}"
            folder.mkdir(parents=True)
            for k in range(len(labels)):
                write_wfdb16(folder, f"dynamic_raw_sample{k + 1}", digital[k * n:(k + 1) * n],
                             fs, HYSER_ADC_GAIN)
            (folder / "label_dynamic.txt").write_text(",".join(str(g) for g in labels) + "\n")


def _csl_bipolar(mono: np.ndarray) -> np.ndarray:
    """Raw CSL channels from monopolar weights (rows ``64a + 8c + r``): consecutive differences
    along each array column; row ``r == 7`` has no partner and carries nothing."""
    out = np.zeros_like(mono)
    j = np.arange(192)
    live = j % 8 != 7
    out[live] = mono[j[live] + 1] - mono[j[live]]
    return out


def _write_csl(out: Path, p: dict, seed: int) -> None:
    kind, fs, v = "csl", p["fs"], p["subject_variability"]
    n = int(round(p["trial_s"] * fs))
    live = np.arange(192) % 8 != 7
    for s in range(1, p["n_subjects"] + 1):
        subj = _make_subject(seed, kind, (s,), v, ring=False)
        patterns = {g: (np.zeros(len(MUSCLES)) if g == 0 else
                        _subject_pattern(seed, kind, subj, g, _numbered_pattern(seed, kind, g), v))
                    for g in range(p["n_gestures"])}
        for session in range(1, p["n_sessions"] + 1):
            shift, rot, rng = _session_placement(seed, kind, subj, session, p, ring=False)
            amp = float(np.exp(rng.normal(0.0, 0.08)))
            weights = amp * _csl_bipolar(_mixing(_place(_wrap_positions(), shift, rot), subj))
            segments, gest = [], []
            for g in range(p["n_gestures"]):
                for _ in range(p["trials_per_gesture"] * (3 if g == 0 else 1)):
                    shape = _shape(n, rng.uniform(0.05, 0.2), rng.uniform(0.1, 0.2), None, 1.0)
                    if g == 0:
                        shape[:] = 0.0
                    segments.append(_Segment(n, _effort(rng, patterns[g]), shape))
                    gest.append(g)
            emg = _synthesize(rng, segments, subj, weights, fs, noise_mv=0.008, params=p,
                              dead_ok=live)
            emg[:, ~live] = 0.0  # the unpaired electrode row really is empty in the real set
            folder = out / f"subject{s}" / f"session{session}"
            folder.mkdir(parents=True)
            gest_arr = np.asarray(gest)
            for g in range(p["n_gestures"]):
                idx = np.flatnonzero(gest_arr == g)
                cell = np.empty((len(idx), 1), dtype=object)
                for i, k in enumerate(idx):
                    cell[i, 0] = np.ascontiguousarray(emg[k * n:(k + 1) * n].T)  # (192, samples)
                scipy.io.savemat(folder / f"gest{g}.mat", {"gestures": cell})


def _write_icelab(out: Path, p: dict, seed: int) -> None:
    kind, fs, v = "icelab", p["fs"], p["subject_variability"]
    n = int(round(p["repetition_s"] * fs))
    names = ICELAB_GESTURES[:p["n_gestures"]]
    out.mkdir(parents=True, exist_ok=True)
    for s in range(1, p["n_subjects"] + 1):
        subj = _make_subject(seed, kind, (s,), v, ring=False)
        shift, rot, rng = _session_placement(seed, kind, subj, 1, p, ring=False)
        weights = _mixing(_place(_icelab_positions(), shift, rot), subj)
        patterns = {name: _subject_pattern(seed, kind, subj, _code(name),
                                           _named_pattern(_ICE_TO_PATTERN[name]), v)
                    for name in names}
        segments, keys = [], []
        for g, name in enumerate(names, start=1):
            for r in range(1, p["repetitions"] + 1):
                onset = rng.uniform(0.05, 0.15)
                up = rng.uniform(0.05, 0.1)
                shape = _shape(n, onset, up, rng.uniform(0.85, 0.9), 0.08)
                if name == "no movement":
                    shape[:] = 0.0
                segments.append(_Segment(n, _effort(rng, patterns[name]), shape))
                keys.append((g, r))
        emg = _synthesize(rng, segments, subj, weights, fs, noise_mv=0.008, params=p)
        for i, (g, r) in enumerate(keys):
            x = emg[i * n:(i + 1) * n]
            if p["trailing_column"]:
                # the 193rd column of the real files is not EMG; a sample counter stands in here
                x = np.concatenate([x, np.arange(n, dtype=np.float32)[:, None]], axis=1)
            scipy.io.savemat(out / f"{s:03d}-{g:03d}-{r:03d}.mat",
                             {"Data": np.ascontiguousarray(x, dtype=np.float32)})


_WRITERS: dict[str, Callable[[Path, dict, int], None]] = {
    "epn612": _write_epn612, "hyser": _write_hyser, "csl": _write_csl, "icelab": _write_icelab,
}


def generate_dataset(kind: str, out_dir: str | os.PathLike, params: dict | None, seed: int) -> None:
    """Write a synthetic dataset of ``kind`` in its native format into ``out_dir``.

    The files are built in a temporary folder next to ``out_dir`` and renamed onto it only when
    complete, so a crash never leaves a half-written dataset; an existing ``out_dir`` is replaced.

    Parameters
    ----------
    kind : str
        One of :data:`DATASET_KINDS`.
    out_dir : path
        Folder to create; the reader's ``raw_dir``.
    params : dict
        Sizes and physics knobs, see :func:`default_params`; missing keys take the defaults.
    seed : int
        Master seed; subjects, sessions and gestures draw from child seeds keyed by their ids.

    Raises
    ------
    ValueError
        On an unknown ``kind``, an unknown parameter key or a bad value (the message names it).

    Notes
    -----
    Files written:

    * ``epn612``: ``trainingJSON/userN/userN.json``, ``testingJSON/userN/userN.json`` (N from 1).
    * ``hyser``: ``subjectXX_sessionY/dynamic_raw_sample<k>.hea/.dat`` + ``label_dynamic.txt``.
    * ``csl``: ``subject<s>/session<k>/gest<g>.mat`` (key ``gestures``, cell of (192, samples)).
    * ``icelab``: ``<sss>-<ggg>-<rrr>.mat`` (key ``Data``, (samples, 193) float32).
    """
    p = _resolve(kind, params)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"synthetic {kind}: seed must be a non-negative integer, got {seed!r}")
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _WRITERS[kind](tmp / "data", p, int(seed))
        (tmp / "data").mkdir(exist_ok=True)
        if target.exists():
            # move the old copy aside first: os.replace cannot overwrite a non-empty folder
            old = tmp / "old"
            os.replace(target, old)
        os.replace(tmp / "data", target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
