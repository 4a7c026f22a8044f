"""CSL-HDEMG (192 bipolar channels, 2048 Hz): reader of its native MATLAB layout, its (manual)
source and its synthetic writer.

Layout: ``subject<s>/session<k>/gest<g>.mat``, key ``gestures``: a cell array with one
(192, samples) array per trial; gesture 0 is idle. The raw channels are bipolar along each array
column, raw channel ``j = 64a + 8c + r``; ``r == 7`` has no partner electrode and carries no signal,
so it is dropped, leaving 168 channels in raw order (layout ``csl_7x24``). Subjects and sessions
keep the numbers of the folder names.

Options (besides :data:`~myoflow.datasets._common.COMMON_OPTIONS`):

``gestures``
    Gesture numbers ``g`` to keep, remapped to labels 0..n-1 in the given order. Default: every
    ``gest<g>.mat`` present, with label = ``g`` (names ``idle``, ``gesture_1``, ...).

Synthetic sets (:func:`write_synthetic`) have the same layout: ``n_subjects`` x ``n_sessions``
folders with ``gest0.mat`` .. ``gest<n_gestures - 1>.mat`` (idle with three times the trials).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.io

from .. import synthetic as syn
from ..download import ManualSource
from ..errors import DataFormatError
from ..layouts import csl_7x24, csl_dead_channels
from ..store import TRIAL_COLUMNS, Recording
from ._common import (check_options, existing_dir, finish, load_mat, numbered, option_fs,
                      option_int_list)

NAME = "csl"
FS = 2048.0
#: channels of a recording: the 192 raw bipolar channels less the 24 unpaired ones
N_CHANNELS = 168
N_RAW_CHANNELS = 192
#: class names with the default options and all 27 files gest0..gest26 of the published set
GESTURES = ["idle"] + [f"gesture_{g}" for g in range(1, 27)]
N_CLASSES = len(GESTURES)
LAYOUT = "csl_7x24"
#: 5 subjects x 5 sessions (Amma et al., CHI 2015)
SUBJECTS = (1, 2, 3, 4, 5)
SESSIONS = (1, 2, 3, 4, 5)
OPTIONS = {
    "gestures": "gesture numbers to keep, remapped to 0..n-1 in that order (default: all, label = g)",
}
KEY = "gestures"

SOURCE = ManualSource(
    name=NAME,
    title="CSL-HDEMG",
    landing_page="from its authors (Cognitive Systems Lab)",
    citation="Amma, Krings, Boer, Schultz, 'Advancing Muscle-Computer Interfaces with "
             "High-Density Electromyography', CHI 2015",
    licence="the authors' terms",
    layout="subject<s>/session<k>/gest<g>.mat",
    how_to_get="CSL-HDEMG has no public download address that myoflow can fetch from: it is "
               "distributed by its authors (Cognitive Systems Lab; Amma et al., CHI 2015) under "
               "their terms",
)


def _idle_rounds(trials: pd.DataFrame) -> np.ndarray:
    """Repetition numbers with the idle trials grouped into the gestures' rounds.

    CSL-HDEMG records idle three times as often as each gesture (30 idle trials beside 10 per
    gesture). Numbering idle trials 0..29 would let a repetition K-fold hold out only idle in
    its last folds, so the ``n_idle`` idle trials are spread over the ``n`` repetitions of the
    gestures (``n_idle / n`` consecutive trials per repetition) when ``n_idle`` is a multiple of
    ``n``; otherwise the trial index is kept.
    """
    rep = trials["repetition"].to_numpy().copy()
    idle = trials["gesture_id"].to_numpy() == 0
    others = trials.loc[~idle].groupby("gesture_id")["repetition"].nunique()
    if idle.any() and len(others):
        n_rounds, n_idle = int(others.max()), int(idle.sum())
        if n_idle > n_rounds and n_idle % n_rounds == 0:
            rep[idle] = rep[idle] // (n_idle // n_rounds)
    return rep


def _gesture_name(g: int) -> str:
    return "idle" if g == 0 else f"gesture_{g}"


def _sessions(root: Path) -> dict[tuple[int, int], Path]:
    out = {}
    for sdir in root.iterdir():
        ms = re.fullmatch(r"subject(\d+)", sdir.name)
        if not ms or not sdir.is_dir():
            continue
        for kdir in sdir.iterdir():
            mk = re.fullmatch(r"session(\d+)", kdir.name)
            if mk and kdir.is_dir():
                out[(int(ms.group(1)), int(mk.group(1)))] = kdir
    return out


def list_recordings(raw_dir: str | os.PathLike, options: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """All (subject, session) pairs with a ``subject<s>/session<k>`` folder, sorted.

    Parameters
    ----------
    raw_dir : path
        Folder holding the ``subject<s>`` folders.
    options : dict
        The dataset's reader options (see the module docstring).
    """
    check_options(options, OPTIONS, NAME)
    root = existing_dir(raw_dir, "CSL-HDEMG folder with subject<s>/session<k>/ folders")
    found = _sessions(root)
    if not found:
        raise DataFormatError(f"{root}: no subject<s>/session<k> folders found (expected the "
                              "CSL-HDEMG layout)")
    return sorted(found)


def _trials(path: Path) -> list[np.ndarray]:
    """The (192, samples) arrays of the cell ``gestures`` in MATLAB (column-major) order."""
    mat = load_mat(path, KEY)
    cell = mat[KEY]
    if isinstance(cell, np.ndarray) and cell.dtype == object:
        items = list(cell.ravel(order="F"))
    elif isinstance(cell, np.ndarray) and cell.dtype.kind in "iuf" and cell.ndim == 2:
        items = [cell]  # a file with a single trial may hold a plain matrix
    else:
        raise DataFormatError(f"{path}: key {KEY!r} must be a cell array of (192, samples) arrays, "
                              f"got {type(cell).__name__} {getattr(cell, 'dtype', '')}")
    if not items:
        raise DataFormatError(f"{path}: the cell {KEY!r} is empty (expected one array per trial)")
    out = []
    for i, x in enumerate(items):
        if not isinstance(x, np.ndarray) or x.dtype.kind not in "iuf" or x.ndim != 2:
            raise DataFormatError(f"{path}: trial {i + 1} of {KEY!r} is not a numeric 2-D array "
                                  f"(expected (192, samples))")
        if x.shape[0] != N_RAW_CHANNELS or x.shape[1] == 0:
            raise DataFormatError(f"{path}: trial {i + 1} has shape {x.shape}, expected "
                                  f"({N_RAW_CHANNELS}, samples)")
        if not np.all(np.isfinite(x)):
            raise DataFormatError(f"{path}: trial {i + 1} contains NaN or inf")
        out.append(x)
    return out


def read_recording(raw_dir: str | os.PathLike, subject: int, session: int,
                   options: Mapping[str, Any] | None) -> Recording:
    """Read one CSL-HDEMG subject x session as a :class:`~myoflow.store.Recording`.

    Parameters
    ----------
    raw_dir : path
        Folder holding the ``subject<s>`` folders.
    subject, session : int
        Numbers of the ``subject<s>/session<k>`` folders.
    options : dict
        ``gestures`` and the common options (see the module docstring).

    Returns
    -------
    Recording
        168 channels (dead bipolar channels dropped), layout ``csl_7x24``, units "a.u."; trial
        columns :data:`~myoflow.store.TRIAL_COLUMNS` + ``gesture_id``; ``repetition`` is the trial
        index within its gesture file (idle trials grouped into the gestures' rounds, see
        :func:`_idle_rounds`); active bounds -1.

    Raises
    ------
    DataFormatError
        Missing folder or files, unreadable .mat, missing key, wrong channel count, NaN.
    """
    opts = check_options(options, OPTIONS, NAME)
    keep = option_int_list(opts, "gestures", NAME)
    fs = option_fs(opts, FS, NAME)
    root = existing_dir(raw_dir, "CSL-HDEMG folder with subject<s>/session<k>/ folders")
    folder = root / f"subject{subject}" / f"session{session}"
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: folder not found (expected subject<s>/session<k>)")
    files = numbered(list(folder.glob("gest*.mat")), r"gest(\d+)\.mat")
    if not files:
        raise DataFormatError(f"{folder}: no gest<g>.mat files found")
    if keep is None:
        order = sorted(files)
        label_of = {g: g for g in order}
        names = [_gesture_name(g) for g in range(max(order) + 1)]
    else:
        missing = [g for g in keep if g not in files]
        if missing:
            raise DataFormatError(f"{folder}: gest<g>.mat missing for g = {missing} (option "
                                  f"'gestures' asks for {keep})")
        order = list(keep)
        label_of = {g: i for i, g in enumerate(keep)}
        names = [_gesture_name(g) for g in keep]

    live = np.setdiff1d(np.arange(N_RAW_CHANNELS), csl_dead_channels())
    pieces, rows, start = [], [], 0
    dtypes = set()
    for g in order:
        for t, x in enumerate(_trials(files[g])):
            dtypes.add(x.dtype.name)
            pieces.append(np.asarray(x[live].T, dtype=np.float32))
            n = x.shape[1]
            rows.append({"trial": len(rows), "label": label_of[g], "repetition": t, "start": start,
                         "stop": start + n, "active_start": -1, "active_stop": -1, "gesture_id": g})
            start += n
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS + ["gesture_id"])
    trials["repetition"] = _idle_rounds(trials)
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=int(session),
        emg=np.concatenate(pieces, axis=0), fs=fs, units="a.u.", device="CSL-HDEMG (3 x 8x8 bipolar)",
        layout=csl_7x24(), gesture_names=names, trials=trials,
        raw_scale=1.0, raw_offset=0.0,
        raw_dtype=dtypes.pop() if len(dtypes) == 1 else "float64",
        extra={"folder": str(folder), "dropped_raw_channels": csl_dead_channels().tolist()},
    )
    return finish(rec, opts, str(folder))


# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------

#: sizes of a synthetic set, then the physics
SYNTHETIC_DEFAULTS = {
    "n_subjects": 2,
    "n_sessions": 2,
    "n_gestures": 5,
    "trials_per_gesture": 3,
    "trial_s": 1.0,
    "fs": 2048,
    **syn.PHYSICS_DEFAULTS,
}


def check_synthetic(params: dict) -> dict:
    """``params`` (complete: defaults merged in) checked and normalised; ConfigError naming a bad key."""
    c = syn.ParamCheck(NAME, params).physics()
    c.integer("n_subjects").integer("n_sessions").integer("n_gestures")
    return c.integer("trials_per_gesture").duration("trial_s").p


def synthetic_recordings(params: dict) -> list[tuple[int, int]]:
    """(subject, session) pairs :func:`list_recordings` finds after :func:`write_synthetic`."""
    p = check_synthetic(params)
    return [(s, k) for s in range(1, p["n_subjects"] + 1) for k in range(1, p["n_sessions"] + 1)]


def _bipolar(mono: np.ndarray) -> np.ndarray:
    """Raw CSL channels from monopolar weights (rows ``64a + 8c + r``): consecutive differences
    along each array column; row ``r == 7`` has no partner and carries nothing."""
    out = np.zeros_like(mono)
    j = np.arange(N_RAW_CHANNELS)
    live = j % 8 != 7
    out[live] = mono[j[live] + 1] - mono[j[live]]
    return out


def write_synthetic(out_dir: Path, params: dict, seed: int) -> None:
    """Write ``subject<s>/session<k>/gest<g>.mat`` (key ``gestures``: cell of (192, samples))."""
    p = check_synthetic(params)
    out = Path(out_dir)
    kind, fs, v = NAME, p["fs"], p["subject_variability"]
    n = int(round(p["trial_s"] * fs))
    live = np.arange(N_RAW_CHANNELS) % 8 != 7
    for s in range(1, p["n_subjects"] + 1):
        subj = syn._make_subject(seed, kind, (s,), v, ring=False)
        patterns = {g: (np.zeros(len(syn.MUSCLES)) if g == 0 else
                        syn._subject_pattern(seed, kind, subj, g,
                                             syn._numbered_pattern(seed, kind, g), v))
                    for g in range(p["n_gestures"])}
        for session in range(1, p["n_sessions"] + 1):
            shift, rot, rng = syn._session_placement(seed, kind, subj, session, p, ring=False)
            amp = float(np.exp(rng.normal(0.0, 0.08)))
            weights = amp * _bipolar(syn._mixing(syn._place(syn._wrap_positions(), shift, rot), subj))
            segments, gest = [], []
            for g in range(p["n_gestures"]):
                for _ in range(p["trials_per_gesture"] * (3 if g == 0 else 1)):
                    shape = syn._shape(n, rng.uniform(0.05, 0.2), rng.uniform(0.1, 0.2), None, 1.0)
                    if g == 0:
                        shape[:] = 0.0
                    segments.append(syn._Segment(n, syn._effort(rng, patterns[g]), shape))
                    gest.append(g)
            emg = syn._synthesize(rng, segments, subj, weights, fs, noise_mv=0.008, params=p,
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
