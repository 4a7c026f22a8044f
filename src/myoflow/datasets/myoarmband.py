"""The Cote-Allard Myo armband dataset (8 channels, 200 Hz): reader of its published layout and its
download source (GitHub, pinned commit).

Source: Cote-Allard et al., IEEE TNSRE 2019, GitHub UlysseCoteAllard/MyoArmbandDataset.

Layout::

    PreTrainingDataset/{Female,Male}<k>/training0/classe_<i>.dat
    EvaluationDataset/{Female,Male}<k>/{training0,Test0,Test1}/classe_<i>.dat

Each ``classe_<i>.dat`` is raw int16, 8 interleaved channels (``np.fromfile(f, np.int16)
.reshape(-1, 8)``; the values are the Myo's int8 levels), about 5 s; gesture = ``i % 7``
(0 neutral, 1 radial deviation, 2 wrist flexion, 3 ulnar deviation, 4 wrist extension, 5 hand
close, 6 hand open), repetition = ``i // 7`` (4 cycles, ``i`` = 0..27).

Subjects (fixed ids, stable whatever folders are present; the published set has 22 + 18):

* PreTrainingDataset: ``Female<k>`` -> ``k`` (0..9), ``Male<k>`` -> ``10 + k`` (10..21);
* EvaluationDataset: ``Female<k>`` -> ``22 + k`` (22..23), ``Male<k>`` -> ``24 + k`` (24..39).

The pre-training and evaluation participants are different people. Sessions: ``training0`` -> 1,
``Test0`` -> 2, ``Test1`` -> 3 (the evaluation set's three recording rounds, same day); the
pre-training participants have session 1 only.

Labels (EMG-EPN-612 classes): neutral -> 0 rest, hand close -> 1 fist, wrist flexion -> 2 waveIn,
wrist extension -> 3 waveOut, hand open -> 4 open. Radial / ulnar deviation have no EPN-612
counterpart and are dropped unless ``deviations: true`` (labels 5 / 6). One trial per file, in
file-number order; the whole file is the gesture (active bounds -1). EMG in a.u. = the stored
values (``raw_dtype`` int16, ``raw_scale`` 1). Trial columns: :data:`~myoflow.store.TRIAL_COLUMNS`
+ ``gesture_id`` (``i % 7``) and ``file_index`` (``i``).

Options (besides :data:`~myoflow.datasets._common.COMMON_OPTIONS`): ``deviations`` (bool).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..download import github_source
from ..errors import DataFormatError
from ..layouts import myo_ring8
from ..store import TRIAL_COLUMNS, Recording
from . import _myo
from ._common import check_options, existing_dir, finish, numbered, option_fs

NAME = "myoarmband"
FS = 200.0
N_CHANNELS = 8
#: class names with the default options (``deviations: true`` adds labels 5 and 6)
GESTURES = _myo.gesture_names(False)
N_CLASSES = len(GESTURES)
LAYOUT = "myo_ring8"
#: 22 pre-training (0..21) and 18 evaluation (22..39) participants
SUBJECTS = tuple(range(40))
#: training0, Test0, Test1 (the pre-training participants have session 1 only)
SESSIONS = (1, 2, 3)
OPTIONS = {"deviations": _myo.DEVIATIONS_OPTION}
#: the offline copy in ../shared/data (``scripts/extract_real_data.py``)
REAL_ARCHIVE = "myoarmband.tar.xz"
N_GESTURES = 7
#: native gesture id (i % 7) -> label (None: dropped unless deviations)
NATIVE = {0: _myo.REST, 1: _myo.RADIAL, 2: _myo.WAVE_IN, 3: _myo.ULNAR, 4: _myo.WAVE_OUT,
          5: _myo.FIST, 6: _myo.OPEN}
NATIVE_NAMES = ["neutral", "radial deviation", "wrist flexion", "ulnar deviation",
                "wrist extension", "hand close", "hand open"]
#: (group folder, sex) -> (subject-id offset, number of published participants)
GROUPS = {
    ("PreTrainingDataset", "Female"): (0, 10),
    ("PreTrainingDataset", "Male"): (10, 12),
    ("EvaluationDataset", "Female"): (22, 2),
    ("EvaluationDataset", "Male"): (24, 16),
}
#: session folder -> session id
SESSION_FOLDERS = {"training0": 1, "Test0": 2, "Test1": 3}
_PERSON_RX = re.compile(r"(Female|Male)(\d+)")

SOURCE = github_source(
    NAME, "UlysseCoteAllard", "MyoArmbandDataset", "4de3efef85356fbf565d96a150f386d99165cfee",
    title="Myo armband dataset (Cote-Allard)",
    citation="Cote-Allard et al., IEEE TNSRE 2019",
    licence="GNU GPL v3 (repository LICENSE)",
    layout="PreTrainingDataset/ and EvaluationDataset/",
)


def _subjects(root: Path) -> dict[int, Path]:
    """subject id -> participant folder, for every participant folder present."""
    out: dict[int, Path] = {}
    for group in ("PreTrainingDataset", "EvaluationDataset"):
        d = root / group
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            m = _PERSON_RX.fullmatch(p.name)
            if not (m and p.is_dir()):
                continue
            offset, count = GROUPS[(group, m.group(1))]
            k = int(m.group(2))
            if k >= count:
                raise DataFormatError(f"{p}: the published {group} has {m.group(1)}0.."
                                      f"{m.group(1)}{count - 1}; {p.name} has no subject id")
            out[offset + k] = p
    return out


def _sessions(person: Path) -> dict[int, Path]:
    return {SESSION_FOLDERS[p.name]: p for p in person.iterdir()
            if p.name in SESSION_FOLDERS and p.is_dir()}


def list_recordings(raw_dir: str | os.PathLike, options: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """All (subject, session) pairs with a session folder (see the module docstring), sorted."""
    opts = check_options(options, OPTIONS, NAME)
    _myo.option_deviations(opts, NAME)
    root = existing_dir(raw_dir, "Myo armband dataset folder with PreTrainingDataset/ and "
                                 "EvaluationDataset/")
    subjects = _subjects(root)
    if not subjects:
        raise DataFormatError(f"{root}: no participant folders found (expected "
                              "PreTrainingDataset/<Female|Male><k>/ or EvaluationDataset/<Female|Male><k>/)")
    out = [(s, ses) for s, p in subjects.items() for ses in _sessions(p)]
    if not out:
        raise DataFormatError(f"{root}: participant folders hold no session folder "
                              f"({', '.join(SESSION_FOLDERS)})")
    return sorted(out)


def _read_dat(path: Path) -> np.ndarray:
    size = path.stat().st_size
    if size == 0:
        raise DataFormatError(f"{path}: empty file (expected int16 samples, {N_CHANNELS} interleaved "
                              "channels)")
    if size % (2 * N_CHANNELS):
        raise DataFormatError(f"{path}: {size} bytes is not a whole number of int16 x {N_CHANNELS}-"
                              "channel samples (truncated or not a classe_<i>.dat file)")
    x = np.fromfile(path, dtype="<i2").reshape(-1, N_CHANNELS)
    if x.min() < -128 or x.max() > 127:
        raise DataFormatError(f"{path}: values {x.min()}..{x.max()} outside the Myo's int8 range "
                              "-128..127 (not a Myo recording or corrupt)")
    return x


def read_recording(raw_dir: str | os.PathLike, subject: int, session: int,
                   options: Mapping[str, Any] | None) -> Recording:
    """Read one participant x session as a :class:`~myoflow.store.Recording`.

    Parameters
    ----------
    raw_dir : path
        Folder holding ``PreTrainingDataset/`` and/or ``EvaluationDataset/``.
    subject, session : int
        See the module docstring.
    options : dict
        ``deviations`` and the common options.

    Raises
    ------
    DataFormatError
        Missing folder or files, a file size that is not whole samples, values outside int8, a
        missing ``classe_<i>`` in 0..27.
    """
    opts = check_options(options, OPTIONS, NAME)
    deviations = _myo.option_deviations(opts, NAME)
    fs = option_fs(opts, FS, NAME)
    root = existing_dir(raw_dir, "Myo armband dataset folder with PreTrainingDataset/ and "
                                 "EvaluationDataset/")
    subjects = _subjects(root)
    if subject not in subjects:
        raise DataFormatError(f"{root}: no participant folder for subject {subject} (found "
                              f"{len(subjects)} participants; ids: see the reader's docstring)")
    sessions = _sessions(subjects[subject])
    if session not in sessions:
        raise DataFormatError(f"{subjects[subject]}: no session {session} folder (found "
                              f"{sorted(p.name for p in sessions.values())})")
    folder = sessions[session]
    files = numbered([p for p in folder.iterdir() if p.is_file()], r"classe_(\d+)\.dat")
    if not files:
        raise DataFormatError(f"{folder}: no classe_<i>.dat files found")
    missing = sorted(set(range(max(files) + 1)) - set(files))
    if missing:
        raise DataFormatError(f"{folder}: classe_<i>.dat files {missing} missing (expected "
                              f"classe_0 .. classe_{max(files)})")
    pieces, rows, start = [], [], 0
    for i in sorted(files):
        x = _read_dat(files[i])
        gid = i % N_GESTURES
        label = NATIVE[gid]
        if label >= len(_myo.EPN_NAMES) and not deviations:
            continue
        pieces.append(x)
        rows.append({"trial": len(rows), "label": label, "repetition": i // N_GESTURES,
                     "start": start, "stop": start + len(x), "active_start": -1, "active_stop": -1,
                     "gesture_id": gid, "file_index": i})
        start += len(x)
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS + ["gesture_id", "file_index"])
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=int(session),
        emg=np.concatenate(pieces, axis=0).astype(np.float32), fs=fs, units="a.u.",
        device="Myo armband", layout=myo_ring8(), gesture_names=_myo.gesture_names(deviations),
        trials=trials, raw_scale=1.0, raw_offset=0.0, raw_dtype="int16",
        extra={"source_folder": str(folder), "participant": subjects[subject].name,
               "group": subjects[subject].parent.name, "native_gestures": NATIVE_NAMES},
    )
    return finish(rec, opts, str(folder))
