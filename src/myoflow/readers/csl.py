"""Reader of CSL-HDEMG (192 bipolar channels, 2048 Hz) in its native MATLAB layout.

Layout: ``subject<s>/session<k>/gest<g>.mat``, key ``gestures``: a cell array with one
(192, samples) array per trial; gesture 0 is idle. The raw channels are bipolar along each array
column, raw channel ``j = 64a + 8c + r``; ``r == 7`` has no partner electrode and carries no signal,
so it is dropped, leaving 168 channels in raw order (layout ``csl_7x24``). Subjects and sessions
keep the numbers of the folder names.

Options (besides :data:`~myoflow.readers._common.COMMON_OPTIONS`):

``gestures``
    Gesture numbers ``g`` to keep, remapped to labels 0..n-1 in the given order. Default: every
    ``gest<g>.mat`` present, with label = ``g`` (names ``idle``, ``gesture_1``, ...).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import DataFormatError
from ..layouts import csl_7x24, csl_dead_channels
from ..store import TRIAL_COLUMNS, Recording
from ._common import (check_options, existing_dir, finish, load_mat, numbered, option_fs,
                      option_int_list)

NAME = "csl"
OPTIONS = {
    "gestures": "gesture numbers to keep, remapped to 0..n-1 in that order (default: all, label = g)",
}
N_RAW_CHANNELS = 192
FS = 2048.0
KEY = "gestures"


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
        index within its gesture file; active bounds -1.

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
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=int(session),
        emg=np.concatenate(pieces, axis=0), fs=fs, units="a.u.", device="CSL-HDEMG (3 x 8x8 bipolar)",
        layout=csl_7x24(), gesture_names=names, trials=trials,
        raw_scale=1.0, raw_offset=0.0,
        raw_dtype=dtypes.pop() if len(dtypes) == 1 else "float64",
        extra={"folder": str(folder), "dropped_raw_channels": csl_dead_channels().tolist()},
    )
    return finish(rec, opts, str(folder))
