"""LibEMG's CIIL datasets (Myo armband, 8 channels, 200 Hz, int8): reader of their published layout
and their download source (GitHub, pinned commit).

Source: GitHub LibEMG/CIILData. Two sub-datasets, chosen with the option ``subset``:

* ``ElectrodeShift`` (default; Campbell et al., JNER 2024): ``subject<N>/training/`` (5
  repetitions before the electrode shift) and ``subject<N>/trial_<k>/`` (2 repetitions each, after
  the shift; k = 1..4, two subjects also have a ``trial_0``), 21 subjects;
* ``MinimalTrainingData``: ``subject<N>/train/`` (1 repetition of ~1 s per class) and
  ``subject<N>/test/trial_<k>/`` (k = 0..6, 3 repetitions each), 11 subjects.

Each folder holds ``R_<rep>_C_<class>.csv`` files ((samples, 8) integers, no header) and usually a
``metadata.json`` (checked against the file names where present). Classes: 0 Hand_Close, 1
Hand_Open, 2 No_Motion, 3 Wrist_Extension, 4 Wrist_Flexion.

Conversion: subject = ``N`` of ``subject<N>`` (0-based, as published). Sessions: **1** = before
(``training`` / ``train``), **2** = after the electrode shift (ElectrodeShift: every ``trial_<k>``
folder in k order) or the test trials (MinimalTrainingData: ``test/trial_<k>``). One trial per
file, ordered by folder, then repetition, then class; ``repetition`` counts each label's files in
that order within the session (so session 2 of ElectrodeShift has repetitions 0..7 = trial_1
R_0, trial_1 R_1, trial_2 R_0 ...). The whole file is the gesture (active bounds -1). Labels
(EMG-EPN-612 classes): No_Motion -> 0 rest, Hand_Close -> 1 fist, Wrist_Flexion -> 2 waveIn,
Wrist_Extension -> 3 waveOut, Hand_Open -> 4 open. EMG in a.u. = the int8 values (``raw_dtype``
int8, ``raw_scale`` 1). Trial columns: :data:`~myoflow.store.TRIAL_COLUMNS` + ``gesture_id`` (the
file's class), ``block`` (folder name) and ``file_rep`` (the file's ``R``).

Options (besides :data:`~myoflow.datasets._common.COMMON_OPTIONS`): ``subset``.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..download import github_source
from ..errors import DataFormatError
from ..layouts import myo_ring8
from ..store import TRIAL_COLUMNS, Recording
from . import _myo
from ._common import check_options, existing_dir, finish, numbered, option_choice, option_fs

NAME = "ciildata"
FS = 200.0
N_CHANNELS = 8
GESTURES = list(_myo.EPN_NAMES)
N_CLASSES = len(GESTURES)
LAYOUT = "myo_ring8"
#: the default subset ElectrodeShift: subject0..subject20 (MinimalTrainingData: subject0..10)
SUBJECTS = tuple(range(21))
#: 1 before / training, 2 after the electrode shift / test trials
SESSIONS = (1, 2)
SUBSETS = ("ElectrodeShift", "MinimalTrainingData")
OPTIONS = {"subset": "sub-dataset: ElectrodeShift (default) | MinimalTrainingData"}
#: the offline copy in ../shared/data (``scripts/extract_real_data.py``)
REAL_ARCHIVE = "ciildata.tar.xz"
NATIVE_NAMES = ["Hand_Close", "Hand_Open", "No_Motion", "Wrist_Extension", "Wrist_Flexion"]
#: file class -> label
NATIVE = {0: _myo.FIST, 1: _myo.OPEN, 2: _myo.REST, 3: _myo.WAVE_OUT, 4: _myo.WAVE_IN}
_FILE_RX = re.compile(r"R_(\d+)_C_(\d+)\.csv")

SOURCE = github_source(
    NAME, "LibEMG", "CIILData", "b7230dd253b3cd2c2603f5fdeb0c3711551ba19f",
    title="LibEMG CIIL datasets (CIILData)",
    citation="ElectrodeShift: Campbell et al., JNER 2024, doi:10.1186/s12984-024-01355-4; "
             "MinimalTrainingData: IEEE document 10394393",
    licence="no LICENSE file in the repository; cite the papers",
    layout="ElectrodeShift/ and MinimalTrainingData/",
)


def _root(raw_dir, subset: str) -> Path:
    top = existing_dir(raw_dir, "CIILData folder with ElectrodeShift/ and MinimalTrainingData/")
    # accept the repository root or the sub-dataset folder itself
    return top / subset if (top / subset).is_dir() else (top if top.name == subset else top / subset)


def _subjects(root: Path) -> dict[int, Path]:
    if not root.is_dir():
        return {}
    return numbered([p for p in root.iterdir() if p.is_dir()], r"subject(\d+)")


def _session_folders(person: Path, subset: str) -> dict[int, list[Path]]:
    """session -> its folders, in order."""
    before = person / ("training" if subset == "ElectrodeShift" else "train")
    after_root = person if subset == "ElectrodeShift" else person / "test"
    after = numbered([p for p in after_root.iterdir() if p.is_dir()], r"trial_(\d+)") \
        if after_root.is_dir() else {}
    out = {}
    if before.is_dir():
        out[1] = [before]
    if after:
        out[2] = [after[k] for k in sorted(after)]
    return out


def list_recordings(raw_dir: str | os.PathLike, options: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """(subject, session) pairs with at least one session folder, sorted."""
    opts = check_options(options, OPTIONS, NAME)
    subset = option_choice(opts, "subset", SUBSETS, NAME)
    root = _root(raw_dir, subset)
    subjects = _subjects(root)
    if not subjects:
        raise DataFormatError(f"{root}: no subject<N>/ folders found (expected the {subset} "
                              "sub-dataset of CIILData)")
    return sorted((s, ses) for s, p in subjects.items() for ses in _session_folders(p, subset))


def _metadata(folder: Path) -> dict | None:
    path = folder / "metadata.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int too long
        raise DataFormatError(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise DataFormatError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    out = {}
    for key, val in doc.items():
        name = key.rsplit("/", 1)[-1]
        if not _FILE_RX.fullmatch(name):
            continue
        if not isinstance(val, dict) or "class_idx" not in val or "rep_idx" not in val:
            raise DataFormatError(f"{path}: entry {key!r} lacks 'class_idx' / 'rep_idx'")
        out[name] = val
    return out


def _read_csv(path: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # an empty file: numpy warns, we raise below
            warnings.simplefilter("ignore", UserWarning)
            x = np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise DataFormatError(f"{path}: not a comma-separated table of {N_CHANNELS} numeric "
                              f"columns ({exc})") from exc
    if x.size == 0:
        raise DataFormatError(f"{path}: empty file (expected (samples, {N_CHANNELS}) integers)")
    if x.shape[1] != N_CHANNELS:
        raise DataFormatError(f"{path}: {x.shape[1]} columns, expected {N_CHANNELS}")
    if not np.all(np.isfinite(x)):
        r, c = np.argwhere(~np.isfinite(x))[0]
        raise DataFormatError(f"{path}: NaN/inf at row {r + 1}, channel {c + 1}")
    if np.any(x != np.rint(x)) or x.min() < -128 or x.max() > 127:
        raise DataFormatError(f"{path}: values must be int8 integers (-128..127), found "
                              f"{x.min()}..{x.max()}" + (" with fractions" if np.any(x != np.rint(x)) else ""))
    return x.astype(np.int8)


def read_recording(raw_dir: str | os.PathLike, subject: int, session: int,
                   options: Mapping[str, Any] | None) -> Recording:
    """Read one subject x session (see the module docstring).

    Raises
    ------
    DataFormatError
        Missing folders or files, a metadata.json that disagrees with the file names, wrong column
        count, NaN, non-integer or out-of-range values, a class outside 0..4.
    """
    opts = check_options(options, OPTIONS, NAME)
    subset = option_choice(opts, "subset", SUBSETS, NAME)
    fs = option_fs(opts, FS, NAME)
    root = _root(raw_dir, subset)
    subjects = _subjects(root)
    if subject not in subjects:
        raise DataFormatError(f"{root}: no subject{subject}/ folder")
    folders = _session_folders(subjects[subject], subset).get(session)
    if not folders:
        raise DataFormatError(f"{subjects[subject]}: no folders of session {session} (1: before / "
                              "training, 2: after shift / test trials)")
    pieces, rows, start = [], [], 0
    reps: dict[int, int] = {}
    for folder in folders:
        files = {}
        for p in folder.iterdir():
            m = _FILE_RX.fullmatch(p.name)
            if m and p.is_file():
                files[(int(m.group(1)), int(m.group(2)))] = p
        if not files:
            raise DataFormatError(f"{folder}: no R_<rep>_C_<class>.csv files found")
        meta = _metadata(folder)
        for (r, c), path in sorted(files.items()):
            if c not in NATIVE:
                raise DataFormatError(f"{path}: class {c} outside 0..{len(NATIVE) - 1}")
            if meta is not None and path.name in meta:
                entry = meta[path.name]
                if (entry["class_idx"], entry["rep_idx"]) != (c, r):
                    raise DataFormatError(f"{folder / 'metadata.json'}: {path.name} listed with "
                                          f"class_idx {entry['class_idx']}, rep_idx "
                                          f"{entry['rep_idx']}; the file name says {c}, {r}")
            x = _read_csv(path)
            label = NATIVE[c]
            rows.append({"trial": len(rows), "label": label, "repetition": reps.get(label, 0),
                         "start": start, "stop": start + len(x), "active_start": -1,
                         "active_stop": -1, "gesture_id": c, "block": folder.name, "file_rep": r})
            reps[label] = reps.get(label, 0) + 1
            pieces.append(x)
            start += len(x)
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS + ["gesture_id", "block", "file_rep"])
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=int(session),
        emg=np.concatenate(pieces, axis=0).astype(np.float32), fs=fs, units="a.u.",
        device="Myo armband", layout=myo_ring8(), gesture_names=list(GESTURES),
        trials=trials, raw_scale=1.0, raw_offset=0.0, raw_dtype="int8",
        extra={"subset": subset, "folders": [str(f) for f in folders],
               "native_gestures": NATIVE_NAMES},
    )
    return finish(rec, opts, str(subjects[subject]))
