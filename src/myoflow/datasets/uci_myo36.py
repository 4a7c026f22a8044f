"""The UCI "EMG data for gestures" set (Lobov et al., Sensors 2018; Myo armband, 8 ch): reader of
its published layout and its download source (the UCI zip).

Layout: ``<NN>/<series>_raw_data_<HH-MM>_<dd.mm.yy>.txt`` (``NN`` = subject 01..36, series 1 or
2). Each file is whitespace-separated text with a header line (``time channel1 .. channel8
class``): time in ms, the 8 EMG channels (the Myo's int8 levels times 1e-5) and a per-sample class
(0 unmarked, 1 rest, 2 fist, 3 wrist flexion, 4 wrist extension, 5 radial deviation, 6 ulnar
deviation, 7 extended palm). Rows arrive at ~1 kHz but mostly repeat the previous sample.

Conversion:

* **Resampling**: each file is resampled to 200 Hz on its time column by zero-order hold (the
  value at ``t0 + 5 ms * k`` is the last row at or before that time), so every stored value is
  one of the file's values.
* **Units**: EMG in a.u. = the int8 levels (``round(value * 1e5)``), like EMG-EPN-612, so the
  cross-user models' 1/128 input scale applies; ``raw_dtype`` int8, ``raw_scale`` 1 (the file's
  values are ``raw_values() * 1e-5``, recorded in ``extra['file_scale']``).
* **Subjects**: the folder number (1..36; 33 are present in the public copy, two of them with one
  series). **One session (1)** per subject: both series were recorded minutes apart without
  re-donning, so they are concatenated in series order; the trial column ``series`` says which.
  Option ``series: sessions`` makes each series its own session (1, 2) instead.
* **Trials**: one per contiguous block of marked samples (class != 0) of one class;
  repetitions are counted per label across both series (so with the default two series a
  gesture has repetitions 0..3: 0-1 from series 1, 2-3 from series 2). Active bounds = the block
  (the ground truth) for gestures, -1 for rest.
* **Unmarked samples (class 0)** are the transitions and pauses between the marked blocks; their
  label is unknown (they mix rest and movement), so they belong to no trial: they stay in the
  recording's ``emg`` (nothing is thrown away) but no study sees them. This is what the dataset's
  users do (class 0 is discarded).
* **Labels**: 1 -> 0 rest, 2 -> 1 fist, 3 -> 2 waveIn, 4 -> 3 waveOut, 7 -> 4 open; 5 / 6
  (radial / ulnar deviation) are dropped unless ``deviations: true`` (labels 5 / 6). Trial
  columns: :data:`~myoflow.store.TRIAL_COLUMNS` + ``gesture_id`` (the file's class), ``series``.

Options (besides :data:`~myoflow.datasets._common.COMMON_OPTIONS`): ``deviations`` (bool),
``series`` (``repetitions`` | ``sessions``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..download import ArchiveSource
from ..errors import DataFormatError
from ..layouts import myo_ring8
from ..store import TRIAL_COLUMNS, Recording
from . import _myo
from ._common import check_options, existing_dir, finish, option_choice, option_fs

NAME = "uci_myo36"
FS = 200.0
N_CHANNELS = 8
#: class names with the default options (``deviations: true`` adds labels 5 and 6)
GESTURES = _myo.gesture_names(False)
N_CLASSES = len(GESTURES)
LAYOUT = "myo_ring8"
#: the published subject folders 01..36
SUBJECTS = tuple(range(1, 37))
#: one session per subject with the default options (``series: sessions`` gives 1 and 2)
SESSIONS = (1,)
OPTIONS = {
    "deviations": _myo.DEVIATIONS_OPTION,
    "series": "repetitions (default: both series in one session, repetitions counted across "
              "them) | sessions (series k -> session k)",
}
#: the offline copy in ../shared/data (``scripts/extract_real_data.py``)
REAL_ARCHIVE = "uci_myo36.tar.xz"

SOURCE = ArchiveSource(
    name=NAME,
    title='UCI "EMG data for gestures" (dataset 481)',
    landing_page="https://archive.ics.uci.edu/dataset/481/emg+data+for+gestures",
    citation="Lobov et al., Sensors 2018 18(4):1122, doi:10.3390/s18041122",
    licence="CC BY 4.0",
    layout="the subject folders 01/ .. 36/ with <series>_raw_data_*.txt",
    base_url="https://archive.ics.uci.edu",
    archive_path="static/public/481/emg+data+for+gestures.zip",
    archive_root="EMG_data_for_gestures-master",
)
FILE_SCALE = 1e-5
#: largest accepted step of the time column (ms); the published files have at most ~50
MAX_GAP_MS = 1000.0
#: file class -> label (0 unmarked: no trial)
NATIVE = {1: _myo.REST, 2: _myo.FIST, 3: _myo.WAVE_IN, 4: _myo.WAVE_OUT, 5: _myo.RADIAL,
          6: _myo.ULNAR, 7: _myo.OPEN}
_FILE_RX = re.compile(r"([12])_raw_data_.*\.txt")
_SUBJECT_RX = re.compile(r"(\d+)")


def _files(root: Path) -> dict[tuple[int, int], Path]:
    """(subject, series) -> file."""
    out: dict[tuple[int, int], Path] = {}
    for d in root.iterdir():
        if not (d.is_dir() and _SUBJECT_RX.fullmatch(d.name)):
            continue
        for f in d.iterdir():
            m = _FILE_RX.fullmatch(f.name)
            if m and f.is_file():
                key = (int(d.name), int(m.group(1)))
                if key in out:
                    raise DataFormatError(f"{d}: two files for series {key[1]} ({out[key].name}, "
                                          f"{f.name})")
                out[key] = f
    return out


def list_recordings(raw_dir: str | os.PathLike, options: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """(subject, 1) per subject folder with a series file (or (subject, series) with
    ``series: sessions``), sorted."""
    opts = check_options(options, OPTIONS, NAME)
    _myo.option_deviations(opts, NAME)
    mode = option_choice(opts, "series", ("repetitions", "sessions"), NAME)
    root = existing_dir(raw_dir, "UCI EMG-for-gestures folder with <NN>/<series>_raw_data_*.txt")
    files = _files(root)
    if not files:
        raise DataFormatError(f"{root}: no <NN>/<1|2>_raw_data_*.txt files found")
    if mode == "sessions":
        return sorted(files)
    return sorted({(s, 1) for s, _ in files})


def _read_txt(path: Path, fs: float = FS) -> tuple[np.ndarray, np.ndarray]:
    """(levels (samples, 8) int8 at ``fs``, classes (samples,) int) of one series file."""
    try:
        df = pd.read_csv(path, sep=r"\s+", header=0, dtype=np.float64, engine="c")
    except pd.errors.EmptyDataError as exc:
        raise DataFormatError(f"{path}: empty file (expected a header and rows of time, "
                              f"{N_CHANNELS} channels, class)") from exc
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: not a whitespace-separated numeric table with a header "
                              f"({type(exc).__name__}: {exc})") from exc
    if df.shape[1] != N_CHANNELS + 2:
        raise DataFormatError(f"{path}: {df.shape[1]} columns, expected {N_CHANNELS + 2} (time, "
                              f"channel1..channel{N_CHANNELS}, class)")
    if len(df) < 2:
        raise DataFormatError(f"{path}: {len(df)} data rows, expected a recording")
    d = df.to_numpy()
    if not np.all(np.isfinite(d)):
        r, c = np.argwhere(~np.isfinite(d))[0]
        raise DataFormatError(f"{path}: NaN/inf or missing value at data row {r + 1}, column "
                              f"{c + 1} ({df.columns[c]})")
    t, values, cls = d[:, 0], d[:, 1:1 + N_CHANNELS], d[:, -1]
    if np.any(np.diff(t) < 0):
        r = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise DataFormatError(f"{path}: time column decreases at data row {r + 1}")
    if np.any(np.diff(t) > MAX_GAP_MS):  # before resampling: the grid spans the whole time range
        r = int(np.flatnonzero(np.diff(t) > MAX_GAP_MS)[0]) + 1
        raise DataFormatError(f"{path}: time column jumps by {t[r] - t[r - 1]:g} ms at data row "
                              f"{r + 1} (rows come every few ms; more than {MAX_GAP_MS:g} ms apart "
                              "is a corrupt time value)")
    levels = values / FILE_SCALE
    rounded = np.rint(levels)
    if np.abs(levels - rounded).max() > 1e-3 or rounded.min() < -128 or rounded.max() > 127:
        raise DataFormatError(f"{path}: channel values are not Myo int8 levels x {FILE_SCALE:g} "
                              f"(levels {levels.min():.4g}..{levels.max():.4g})")
    if np.any(cls != np.rint(cls)) or not set(np.unique(cls).astype(int)) <= {0, *NATIVE}:
        raise DataFormatError(f"{path}: class column holds {np.unique(cls).tolist()}, "
                              f"expected integers in 0..7")
    grid = t[0] + np.arange(int((t[-1] - t[0]) // (1000.0 / fs)) + 1) * (1000.0 / fs)
    idx = np.searchsorted(t, grid, side="right") - 1  # last row at or before each grid time
    return rounded[idx].astype(np.int8), cls[idx].astype(int)


def _blocks(cls: np.ndarray) -> list[tuple[int, int, int]]:
    """(class, start, stop) of each run of equal, nonzero class values."""
    edges = np.flatnonzero(np.diff(cls)) + 1
    starts = np.r_[0, edges]
    stops = np.r_[edges, len(cls)]
    return [(int(cls[a]), int(a), int(b)) for a, b in zip(starts, stops) if cls[a] != 0]


def read_recording(raw_dir: str | os.PathLike, subject: int, session: int,
                   options: Mapping[str, Any] | None) -> Recording:
    """Read one subject (both series, or one series with ``series: sessions``).

    Raises
    ------
    DataFormatError
        Missing subject folder or series, wrong column count, NaN, values that are not int8
        levels, decreasing time or a jump of more than MAX_GAP_MS, unknown classes, no marked
        block.
    """
    opts = check_options(options, OPTIONS, NAME)
    deviations = _myo.option_deviations(opts, NAME)
    mode = option_choice(opts, "series", ("repetitions", "sessions"), NAME)
    fs = option_fs(opts, FS, NAME)
    root = existing_dir(raw_dir, "UCI EMG-for-gestures folder with <NN>/<series>_raw_data_*.txt")
    files = _files(root)
    mine = {ser: p for (s, ser), p in sorted(files.items()) if s == subject}
    if mode == "sessions":
        mine = {ser: p for ser, p in mine.items() if ser == session}
    elif session != 1:
        raise DataFormatError(f"{root}: one session (1) per subject unless the option series: "
                              f"sessions, asked for {session}")
    if not mine:
        raise DataFormatError(f"{root}: no series file for subject {subject:02d}"
                              + (f" series {session}" if mode == "sessions" else "")
                              + f" (expected {subject:02d}/<series>_raw_data_*.txt)")
    pieces, rows, start = [], [], 0
    reps: dict[int, int] = {}
    for ser, path in mine.items():
        x, cls = _read_txt(path, fs)
        n_before = len(rows)
        for c, a, b in _blocks(cls):
            label = NATIVE[c]
            if label >= len(_myo.EPN_NAMES) and not deviations:
                continue
            active = (start + a, start + b) if label != _myo.REST else (-1, -1)
            rows.append({"trial": len(rows), "label": label, "repetition": reps.get(label, 0),
                         "start": start + a, "stop": start + b, "active_start": active[0],
                         "active_stop": active[1], "gesture_id": c, "series": ser})
            reps[label] = reps.get(label, 0) + 1
        if len(rows) == n_before:
            raise DataFormatError(f"{path}: no marked block of a kept class (class column is all "
                                  "0 or only dropped classes)")
        pieces.append(x)
        start += len(x)
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS + ["gesture_id", "series"])
    first = next(iter(mine.values()))
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=int(session),
        emg=np.concatenate(pieces, axis=0).astype(np.float32), fs=fs, units="a.u.",
        device="Myo armband", layout=myo_ring8(), gesture_names=_myo.gesture_names(deviations),
        trials=trials, raw_scale=1.0, raw_offset=0.0, raw_dtype="int8",
        extra={"source_files": [str(p) for p in mine.values()], "file_scale": FILE_SCALE,
               "resampling": f"zero-order hold onto a {fs:g} Hz grid of the time column",
               "unmarked": "class-0 samples kept in emg, in no trial"},
    )
    return finish(rec, opts, str(first.parent))
