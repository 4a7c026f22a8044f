"""The ICE Lab HD-sEMG set (192 channels, Quattrocento, 2560 Hz): reader of its native .mat files,
its (manual) source and its synthetic writer.

Layout: flat folder of ``<subject>-<gesture>-<repetition>.mat`` (three-digit, 1-based numbers,
e.g. ``001-003-002.mat``), key ``Data`` (or ``data``) of shape (samples, 192) or (samples, 193);
a 193rd column is not EMG and is dropped. Channels are in the order of layout ``icelab_8x24``.
One session (1) per subject; subjects keep their file numbers. Units mV (Quattrocento output).

Options: only :data:`~myoflow.datasets._common.COMMON_OPTIONS` (``fs`` defaults to 2560).

Synthetic sets (:func:`write_synthetic`) have the same layout: ``n_subjects`` x the first
``n_gestures`` gestures x ``repetitions`` files, with the 193rd column unless
``trailing_column: false``.
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
from ..layouts import icelab_8x24
from ..store import TRIAL_COLUMNS, Recording
from ._common import check_options, existing_dir, finish, load_mat, option_fs

NAME = "icelab"
FS = 2560.0
N_CHANNELS = 192
#: Gesture number g (1..7 in the file names) has label g - 1 and this name.
GESTURES = [
    "hand close", "no movement", "hand open", "wrist supination", "wrist pronation",
    "wrist extension", "wrist flexion",
]
N_CLASSES = len(GESTURES)
LAYOUT = "icelab_8x24"
#: the number of participants is not published (the recordings are not public)
SUBJECTS = None
SESSIONS = (1,)
OPTIONS: dict[str, str] = {}

SOURCE = ManualSource(
    name=NAME,
    title="ICE Lab HD-sEMG",
    landing_page="https://github.com/MIC-Laboratory/CNN-HD-sEMG-Classifier",
    citation="the CNN-HD-sEMG-Classifier / EffiE authors (IEEE NER 2023)",
    licence="the authors' terms",
    layout="<sss>-<ggg>-<rrr>.mat files (e.g. 001-001-001.mat)",
    how_to_get="the ICE Lab HD-sEMG recordings are not in any public repository (the "
               "CNN-HD-sEMG-Classifier repository holds the code only): ask its authors for them",
)
KEYS = ("Data", "data")
_FILE_RX = re.compile(r"(\d+)-(\d+)-(\d+)\.mat")


def _files(root: Path) -> dict[tuple[int, int, int], Path]:
    out = {}
    for p in root.iterdir():
        m = _FILE_RX.fullmatch(p.name)
        if m and p.is_file():
            out[(int(m.group(1)), int(m.group(2)), int(m.group(3)))] = p
    return out


def list_recordings(raw_dir: str | os.PathLike, options: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """All (subject, 1) pairs with at least one ``<sss>-<ggg>-<rrr>.mat`` file, sorted.

    Parameters
    ----------
    raw_dir : path
        Folder holding the .mat files.
    options : dict
        The dataset's reader options.
    """
    check_options(options, OPTIONS, NAME)
    root = existing_dir(raw_dir, "ICE Lab folder with <subject>-<gesture>-<rep>.mat files")
    files = _files(root)
    if not files:
        raise DataFormatError(f"{root}: no <subject>-<gesture>-<repetition>.mat files found "
                              "(expected e.g. 001-001-001.mat)")
    return sorted({(s, 1) for s, _, _ in files})


def _read_file(path: Path) -> np.ndarray:
    mat = load_mat(path, *KEYS)
    x = next(iter(mat.values()))
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "iuf" or x.ndim != 2:
        raise DataFormatError(f"{path}: {next(iter(mat))!r} must be a numeric (samples, 192) or "
                              f"(samples, 193) matrix, got {getattr(x, 'dtype', type(x).__name__)} "
                              f"{getattr(x, 'shape', '')}")
    if x.shape[1] not in (N_CHANNELS, N_CHANNELS + 1) or x.shape[0] == 0:
        raise DataFormatError(f"{path}: shape {x.shape}, expected (samples, {N_CHANNELS}) or "
                              f"(samples, {N_CHANNELS + 1})")
    x = x[:, :N_CHANNELS]  # a 193rd column is not EMG
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise DataFormatError(f"{path}: NaN or inf at sample {bad[0]}, channel {bad[1]}")
    return x


def read_recording(raw_dir: str | os.PathLike, subject: int, session: int,
                   options: Mapping[str, Any] | None) -> Recording:
    """Read one ICE Lab subject as a :class:`~myoflow.store.Recording`.

    Parameters
    ----------
    raw_dir : path
        Folder holding the .mat files.
    subject : int
        Subject number of the file names.
    session : int
        Must be 1.
    options : dict
        Common options only.

    Returns
    -------
    Recording
        192 channels, layout ``icelab_8x24``, units mV; one trial per file in (gesture, repetition)
        order, label = gesture - 1, repetition = rep - 1; trial columns
        :data:`~myoflow.store.TRIAL_COLUMNS` + ``gesture_id``; active bounds -1.

    Raises
    ------
    DataFormatError
        No files, unreadable .mat, missing key, wrong column count, NaN, gesture outside 1..7.
    """
    opts = check_options(options, OPTIONS, NAME)
    fs = option_fs(opts, FS, NAME)
    root = existing_dir(raw_dir, "ICE Lab folder with <subject>-<gesture>-<rep>.mat files")
    if session != 1:
        raise DataFormatError(f"{root}: the ICE Lab set has one session (1), asked for {session}")
    files = {k: p for k, p in _files(root).items() if k[0] == subject}
    if not files:
        raise DataFormatError(f"{root}: no {subject:03d}-<gesture>-<repetition>.mat files found")
    pieces, rows, start, dtypes = [], [], 0, set()
    for (_, g, r), path in sorted(files.items()):
        if not 1 <= g <= len(GESTURES) or r < 1:
            raise DataFormatError(f"{path}: gesture {g} / repetition {r} out of range (expected "
                                  f"gesture 1..{len(GESTURES)}, repetition >= 1)")
        x = _read_file(path)
        dtypes.add(x.dtype.name)
        pieces.append(np.asarray(x, dtype=np.float32))
        rows.append({"trial": len(rows), "label": g - 1, "repetition": r - 1, "start": start,
                     "stop": start + len(x), "active_start": -1, "active_stop": -1, "gesture_id": g})
        start += len(x)
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS + ["gesture_id"])
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=1,
        emg=np.concatenate(pieces, axis=0), fs=fs, units="mV",
        device="OT Bioelettronica Quattrocento", layout=icelab_8x24(),
        gesture_names=list(GESTURES), trials=trials, raw_scale=1.0, raw_offset=0.0,
        raw_dtype=dtypes.pop() if len(dtypes) == 1 else "float64",
        extra={"folder": str(root), "files": [p.name for _, p in sorted(files.items())]},
    )
    return finish(rec, opts, str(root / f"{subject:03d}-*-*.mat"))


# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------

#: sizes of a synthetic set, then the physics
SYNTHETIC_DEFAULTS = {
    "n_subjects": 1,
    "n_gestures": 7,
    "repetitions": 5,
    "repetition_s": 2.0,
    "fs": 2560,
    "trailing_column": True,
    **syn.PHYSICS_DEFAULTS,
}
#: gesture name -> activation template of :mod:`myoflow.synthetic`
_PATTERN = {
    "hand close": "fist", "no movement": "rest", "hand open": "hand open",
    "wrist supination": "wrist supination", "wrist pronation": "wrist pronation",
    "wrist extension": "wrist extension", "wrist flexion": "wrist flexion",
}


def check_synthetic(params: dict) -> dict:
    """``params`` (complete: defaults merged in) checked and normalised; ConfigError naming a bad key."""
    c = syn.ParamCheck(NAME, params).physics()
    c.integer("n_subjects").integer("n_gestures")
    if c.p["n_gestures"] > len(GESTURES):
        c.fail(f"parameter 'n_gestures' must be <= {len(GESTURES)}, got {c.p['n_gestures']!r}")
    return c.integer("repetitions").duration("repetition_s").flag("trailing_column").p


def synthetic_recordings(params: dict) -> list[tuple[int, int]]:
    """(subject, session) pairs :func:`list_recordings` finds after :func:`write_synthetic`."""
    p = check_synthetic(params)
    return [(s, 1) for s in range(1, p["n_subjects"] + 1)]


def _electrode_positions() -> np.ndarray:
    """(192, 2) positions in ICE Lab channel order ``64a + 8r + c`` (row r along the arm)."""
    a, r, c = np.meshgrid(np.arange(3), np.arange(8), np.arange(8), indexing="ij")
    x = 10.0 + 10.0 * (8 * a + c)
    y = 50.0 + 10.0 * r
    return np.stack([x.ravel(), y.ravel()], axis=1).astype(float)


def write_synthetic(out_dir: Path, params: dict, seed: int) -> None:
    """Write ``<sss>-<ggg>-<rrr>.mat`` (key ``Data``: (samples, 193) float32)."""
    p = check_synthetic(params)
    out = Path(out_dir)
    kind, fs, v = NAME, p["fs"], p["subject_variability"]
    n = int(round(p["repetition_s"] * fs))
    names = GESTURES[:p["n_gestures"]]
    out.mkdir(parents=True, exist_ok=True)
    for s in range(1, p["n_subjects"] + 1):
        subj = syn._make_subject(seed, kind, (s,), v, ring=False)
        shift, rot, rng = syn._session_placement(seed, kind, subj, 1, p, ring=False)
        weights = syn._mixing(syn._place(_electrode_positions(), shift, rot), subj)
        patterns = {name: syn._subject_pattern(seed, kind, subj, syn._code(name),
                                               syn._named_pattern(_PATTERN[name]), v)
                    for name in names}
        segments, keys = [], []
        for g, name in enumerate(names, start=1):
            for r in range(1, p["repetitions"] + 1):
                onset = rng.uniform(0.05, 0.15)
                up = rng.uniform(0.05, 0.1)
                shape = syn._shape(n, onset, up, rng.uniform(0.85, 0.9), 0.08)
                if name == "no movement":
                    shape[:] = 0.0
                segments.append(syn._Segment(n, syn._effort(rng, patterns[name]), shape))
                keys.append((g, r))
        emg = syn._synthesize(rng, segments, subj, weights, fs, noise_mv=0.008, params=p)
        for i, (g, r) in enumerate(keys):
            x = emg[i * n:(i + 1) * n]
            if p["trailing_column"]:
                # the 193rd column of the real files is not EMG; a sample counter stands in here
                x = np.concatenate([x, np.arange(n, dtype=np.float32)[:, None]], axis=1)
            scipy.io.savemat(out / f"{s:03d}-{g:03d}-{r:03d}.mat",
                             {"Data": np.ascontiguousarray(x, dtype=np.float32)})
