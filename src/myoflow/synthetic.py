"""Shared forearm physics of the seeded synthetic surface-EMG datasets.

The default workflow runs on synthetic recordings written in each dataset's *native* format, so
they must carry the structure the studies look for (see ``spec/synthetic.md``) and must be read by
the very readers that read the real data. The writer of each format lives in its dataset module
(``myoflow.datasets.<name>``: ``SYNTHETIC_DEFAULTS``, ``synthetic_recordings``,
``write_synthetic``); this module holds what they share: the forearm model, electrode placement,
signal synthesis, parameter checks, the WFDB writer and the atomic folder write. Generate a set with
:func:`myoflow.datasets.write_synthetic`.

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
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import ConfigError

#: Keys every synthetic set accepts besides its sizes: knobs of the physics, defaults tuned for the
#: studies. A dataset module's ``SYNTHETIC_DEFAULTS`` is its sizes followed by these.
PHYSICS_DEFAULTS: dict[str, Any] = {
    "subject_variability": 1.0,  # scales every between-subject difference (0: clones but for noise)
    "session_shift_mm": 4.0,  # sd of the electrode re-placement shift between sessions
    "noise_scale": 1.0,  # scales the white-noise level of every channel
    "bad_channel_prob": 0.1,  # chance that a recording has one dead or noisy channel
    "mains": True,  # add 50 Hz mains interference
    "baseline_wander": True,  # add slow baseline wander
}

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

def _wrap_positions() -> np.ndarray:
    """(192, 2) monopolar positions of three 8x8 arrays wrapped around the arm (ICE Lab, CSL).

    Index ``64a + 8c + r``: array ``a``, column ``c`` around the arm, row ``r`` along the arm.
    """
    a, c, r = np.meshgrid(np.arange(3), np.arange(8), np.arange(8), indexing="ij")
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
    from scipy import signal as sps  # here: scipy.signal costs ~1 s to import in every reader job

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
    from scipy import signal as sps

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

class ParamCheck:
    """Checks and normalises a complete synthetic parameter dict (defaults already merged in).

    Each method checks one key of :attr:`p` and stores the normalised value (``int``, ``float``,
    ``bool``, list of ``int``) back, so the writers see exact types and the files do not depend on
    whether the config said ``2`` or ``2.0``. A bad value raises :class:`~myoflow.errors.ConfigError`
    naming the dataset, the key and what it must be.

    >>> c = ParamCheck("mine", {"n_subjects": 2, "fs": 200, **PHYSICS_DEFAULTS})
    >>> c.physics().integer("n_subjects").p["n_subjects"]
    2
    """

    def __init__(self, kind: str, params: dict):
        self.kind = kind
        self.p = dict(params)

    def fail(self, message: str):
        raise ConfigError(f"synthetic {self.kind}: {message}")

    def integer(self, key: str, minimum: int = 1) -> ParamCheck:
        val = self.p[key]
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < minimum:
            self.fail(f"parameter {key!r} must be an integer >= {minimum}, got {val!r}")
        self.p[key] = int(val)
        return self

    def number(self, key: str, minimum: float, maximum: float | None = None) -> ParamCheck:
        val = self.p[key]
        if isinstance(val, bool) or not isinstance(val, (int, float, np.number)) or not val >= minimum:
            self.fail(f"parameter {key!r} must be a number >= {minimum}, got {val!r}")
        if maximum is not None and val > maximum:
            self.fail(f"parameter {key!r} must lie in {minimum:g}..{maximum:g}, got {val!r}")
        self.p[key] = float(val)
        return self

    def int_list(self, key: str, lo: int, hi: int) -> ParamCheck:
        val = self.p[key]
        ok = (isinstance(val, (list, tuple)) and len(val) > 0
              and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi
                      for v in val)
              and len(set(val)) == len(val))
        if not ok:
            self.fail(f"parameter {key!r} must be a non-empty list of distinct integers in "
                      f"{lo}..{hi}, got {val!r}")
        self.p[key] = [int(v) for v in val]
        return self

    def flag(self, key: str) -> ParamCheck:
        if not isinstance(self.p[key], (bool, np.bool_)):
            self.fail(f"parameter {key!r} must be true or false, got {self.p[key]!r}")
        self.p[key] = bool(self.p[key])
        return self

    def physics(self) -> ParamCheck:
        """The keys of :data:`PHYSICS_DEFAULTS` and ``fs`` (Hz, an integer >= 100)."""
        self.number("subject_variability", 0.0)
        self.number("session_shift_mm", 0.0)
        self.number("noise_scale", 0.0)
        self.number("bad_channel_prob", 0.0, 1.0)
        self.flag("mains")
        self.flag("baseline_wander")
        return self.integer("fs", 100)

    def duration(self, key: str) -> ParamCheck:
        """A duration in seconds that gives at least 10 samples at ``fs`` (check ``fs`` first)."""
        self.number(key, 0.001)
        if round(self.p[key] * self.p["fs"]) < 10:
            self.fail(f"parameter {key!r} = {self.p[key]} s gives fewer than 10 samples at fs "
                      f"{self.p['fs']}")
        return self


# --------------------------------------------------------------------------------------------
# Helpers of the writers
# --------------------------------------------------------------------------------------------

def _session_placement(seed: int, kind: str, subj: _Subject, session: int, p: dict,
                       ring: bool) -> tuple[np.ndarray, float, np.random.Generator]:
    """Placement of the electrodes in one session and that session's random stream."""
    rng = _rng(seed, _code(kind), _P_SESSION, *subj.key, session)
    shift = subj.shift_xy + rng.normal(0.0, p["session_shift_mm"], 2)
    rotation = subj.rotation + (0.0 if ring else float(np.deg2rad(rng.normal(0.0, 1.5))))
    return shift, rotation, rng


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


def write_atomically(out_dir: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(folder)`` on a fresh temporary folder path and rename it onto ``out_dir``.

    The temporary folder sits next to ``out_dir``, so a crash never leaves a half-written dataset
    there; an existing ``out_dir`` is replaced only once ``write`` returned. ``write`` may create the
    folder it is given (parents exist) or leave that to this function.
    """
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write(tmp / "data")
        (tmp / "data").mkdir(exist_ok=True)
        if target.exists():
            # move the old copy aside first: os.replace cannot overwrite a non-empty folder
            old = tmp / "old"
            os.replace(target, old)
        os.replace(tmp / "data", target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return target
