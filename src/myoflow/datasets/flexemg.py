"""FlexEMG (Moin et al., ISCAS 2018; flexible 16 x 4 HD-sEMG array, 64 ch, 1 kHz): reader of its
published layout and its download source (GitHub, pinned commit).

Source: GitHub a-moin/flexemg. Layout::

    arraymap.mat                                  'arraymap' (16, 4): 1-based channel per position
    data/<sss>-Session<k>{Train,Test}/<sss>-<nnn>.mat

Each trial file holds ``raw`` (samples, 96) uint16 (columns 0..63 EMG, the rest unused) and a
struct ``p`` with ``lsbmV`` (mV per LSB), ``labelnames`` (Fist, Raise, Lower, Open), ``sequence``
(order of the gestures, 1-based into labelnames), ``timegest`` and ``timerest`` (samples). As in
the source's ``genlabels.m``: ``timerest`` samples of rest, then each gesture of ``sequence`` for
``timegest`` samples, everything after is rest.

Conversion: subject = ``sss`` (1..3), session = ``k``. One recording per subject x session: the
Train folder's files, then the Test folder's, in file-number order (trial column ``part``:
train/test, ``file`` the file number). Trials per file: the leading rest, one per gesture of the
sequence, the trailing rest (if any); the segment is the label (active bounds -1). ``repetition``
counts each gesture's trials in that order; rest trials take their file's round (its position in
reading order), so a repetition split holds out whole files. EMG in mV = raw x ``lsbmV`` (``raw_dtype`` uint16,
``raw_scale`` = ``lsbmV``, ``raw_offset`` 0): the amplifier output is unsigned, so the EMG
carries the ADC's DC level; high-pass or remove the mean before use.

Labels (EMG-EPN-612 classes): rest 0, Fist -> 1 fist, Lower -> 2 waveIn (wrist flexion), Raise ->
3 waveOut (wrist extension), Open -> 4 open. That "raise"/"lower" are wrist extension/flexion is
our reading of the gesture names (the data carry no description). Layout ``flexemg_16x4`` built
from the folder's ``arraymap.mat``. Trial columns: :data:`~myoflow.store.TRIAL_COLUMNS` +
``gesture_name`` (the file's name, ``rest`` for rest), ``part``, ``file``.

Options: only :data:`~myoflow.datasets._common.COMMON_OPTIONS` (``fs`` defaults to 1000).
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
from ..layouts import flexemg_16x4
from ..store import TRIAL_COLUMNS, Recording
from . import _myo
from ._common import check_options, existing_dir, finish, load_mat_keys, option_fs

NAME = "flexemg"
FS = 1000.0
N_CHANNELS = 64
GESTURES = list(_myo.EPN_NAMES)
N_CLASSES = len(GESTURES)
#: built from the folder's arraymap.mat; the published map is the layout's default
LAYOUT = "flexemg_16x4"
#: subjects 001..003, sessions 1..3 (different days)
SUBJECTS = (1, 2, 3)
SESSIONS = (1, 2, 3)
OPTIONS: dict[str, str] = {}
#: the offline copy in ../shared/data (``scripts/extract_real_data.py``; session 1 only)
REAL_ARCHIVE = "flexemg.tar.xz"
#: gesture name in p.labelnames -> label
NATIVE = {"Fist": _myo.FIST, "Lower": _myo.WAVE_IN, "Raise": _myo.WAVE_OUT, "Open": _myo.OPEN}
_FOLDER_RX = re.compile(r"(\d+)-Session(\d+)(Train|Test)")
_FILE_RX = re.compile(r"(\d+)-(\d+)\.mat")
P_FIELDS = ("lsbmV", "labelnames", "sequence", "timegest", "timerest")

SOURCE = github_source(
    NAME, "a-moin", "flexemg", "8ce40c5341f7099ea4e6d5db220752cdfaf9c74a",
    title="FlexEMG (Moin et al.)",
    citation="Moin et al., ISCAS 2018",
    licence="GNU GPL v3 (repository README)",
    layout="arraymap.mat and data/<sss>-Session<k>{Train,Test}/",
)


def _folders(root: Path) -> dict[tuple[int, int], dict[str, Path]]:
    """(subject, session) -> {"Train": folder, "Test": folder}."""
    data = root / "data"
    out: dict[tuple[int, int], dict[str, Path]] = {}
    if not data.is_dir():
        return out
    for d in data.iterdir():
        m = _FOLDER_RX.fullmatch(d.name)
        if m and d.is_dir():
            out.setdefault((int(m.group(1)), int(m.group(2))), {})[m.group(3)] = d
    return out


def list_recordings(raw_dir: str | os.PathLike, options: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """(subject, session) per ``data/<sss>-Session<k>{Train,Test}`` folder pair, sorted."""
    check_options(options, OPTIONS, NAME)
    root = existing_dir(raw_dir, "FlexEMG folder with arraymap.mat and data/")
    folders = _folders(root)
    if not folders:
        raise DataFormatError(f"{root}: no data/<sss>-Session<k>Train|Test/ folders found")
    return sorted(folders)


def _arraymap(root: Path):
    path = root / "arraymap.mat"
    amap = load_mat_keys(path, "arraymap")["arraymap"]
    try:
        return flexemg_16x4(amap)
    except ValueError as exc:
        raise DataFormatError(f"{path}: {exc}") from exc


def _scalar(p, field: str, path: Path) -> float:
    try:
        v = np.asarray(p[field][0, 0], dtype=float).ravel()
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise DataFormatError(f"{path}: p.{field} is not a number ({exc})") from exc
    if v.size != 1 or not np.isfinite(v[0]) or v[0] <= 0:
        raise DataFormatError(f"{path}: p.{field} must be one positive number, got {v.tolist()}")
    return float(v[0])


def _parse_p(p: Any, path: Path) -> dict:
    names = getattr(getattr(p, "dtype", None), "names", None) or ()
    missing = [f for f in P_FIELDS if f not in names]
    if missing or p.shape != (1, 1):
        raise DataFormatError(f"{path}: struct 'p' lacks field(s) {missing or '(not a 1x1 struct)'} "
                              f"(expected {list(P_FIELDS)})")
    try:
        labelnames = [str(np.asarray(e).ravel()[0]) for e in np.asarray(p["labelnames"][0, 0]).ravel()]
        seq = np.asarray(p["sequence"][0, 0]).ravel()
    except (ValueError, TypeError, IndexError) as exc:
        raise DataFormatError(f"{path}: p.labelnames / p.sequence unreadable ({exc})") from exc
    unknown = [n for n in labelnames if n not in NATIVE]
    if unknown:
        raise DataFormatError(f"{path}: p.labelnames holds {unknown}, known: {sorted(NATIVE)}")
    if seq.dtype.kind not in "iuf" or seq.size == 0 or np.any(seq != np.rint(seq)) \
            or seq.min() < 1 or seq.max() > len(labelnames):
        raise DataFormatError(f"{path}: p.sequence must be 1-based indices into p.labelnames "
                              f"(1..{len(labelnames)}), got {seq.tolist()}")
    out = {"lsbmV": _scalar(p, "lsbmV", path), "labelnames": labelnames,
           "sequence": [int(s) for s in seq]}
    if out["lsbmV"] > float(np.finfo(np.float32).max) / 65535:  # the EMG (float32 mV) would overflow
        raise DataFormatError(f"{path}: p.lsbmV {out['lsbmV']:g} mV per LSB is absurd (the EMG "
                              "overflows float32)")
    for f in ("timegest", "timerest"):
        v = _scalar(p, f, path)
        if v != int(v):
            raise DataFormatError(f"{path}: p.{f} must be a whole number of samples, got {v}")
        out[f] = int(v)
    return out


def _read_file(path: Path) -> tuple[np.ndarray, dict]:
    mat = load_mat_keys(path, "raw", "p")
    raw, p = mat["raw"], _parse_p(mat["p"], path)
    if not isinstance(raw, np.ndarray) or raw.ndim != 2 or raw.dtype.kind not in "iuf":
        raise DataFormatError(f"{path}: 'raw' must be a numeric (samples, 96) matrix, got "
                              f"{getattr(raw, 'dtype', type(raw).__name__)} {getattr(raw, 'shape', '')}")
    if raw.shape[1] < N_CHANNELS or raw.shape[0] == 0:
        raise DataFormatError(f"{path}: 'raw' has shape {raw.shape}, expected (samples, 96) with "
                              f"EMG in columns 0..{N_CHANNELS - 1}")
    x = raw[:, :N_CHANNELS]
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        r, c = np.argwhere(~np.isfinite(x))[0]
        raise DataFormatError(f"{path}: NaN/inf in 'raw' at sample {r}, channel {c}")
    if np.any(x != np.rint(x)) or x.min() < 0 or x.max() > 65535:  # int types too: no wrap-around
        raise DataFormatError(f"{path}: 'raw' must hold uint16 ADC values, found {x.min()}..{x.max()}"
                              + (" with fractions" if np.any(x != np.rint(x)) else ""))
    end = p["timerest"] + len(p["sequence"]) * p["timegest"]
    if end > len(x):
        raise DataFormatError(f"{path}: {len(x)} samples, but timerest + {len(p['sequence'])} x "
                              f"timegest = {end} (truncated?)")
    return x.astype(np.uint16), p


def read_recording(raw_dir: str | os.PathLike, subject: int, session: int,
                   options: Mapping[str, Any] | None) -> Recording:
    """Read one subject x session (Train then Test files).

    Raises
    ------
    DataFormatError
        Missing folders, files or keys, unreadable .mat, wrong shape, NaN, inconsistent lsbmV,
        a gesture sequence longer than the recording.
    """
    opts = check_options(options, OPTIONS, NAME)
    fs = option_fs(opts, FS, NAME)
    root = existing_dir(raw_dir, "FlexEMG folder with arraymap.mat and data/")
    folders = _folders(root).get((subject, session))
    if not folders:
        raise DataFormatError(f"{root / 'data'}: no {subject:03d}-Session{session}Train|Test "
                              "folder")
    layout = _arraymap(root)
    pieces, rows, start, scale, files_read = [], [], 0, None, []
    reps: dict[int, int] = {}

    def add(label: int, name: str, a: int, b: int, part: str, k: int) -> None:
        # rest takes its file's round: counted like a gesture it had twice the repetitions (a
        # leading and a trailing piece per file), and a repetition split left a fold of rest only
        repetition = len(files_read) if label == _myo.REST else reps.get(label, 0)
        rows.append({"trial": len(rows), "label": label, "repetition": repetition,
                     "start": start + a, "stop": start + b, "active_start": -1, "active_stop": -1,
                     "gesture_name": name, "part": part, "file": k})
        reps[label] = reps.get(label, 0) + 1

    for part in ("Train", "Test"):
        if part not in folders:
            continue
        files = {}
        for f in folders[part].iterdir():
            m = _FILE_RX.fullmatch(f.name)
            if m and f.is_file():
                files[int(m.group(2))] = f
        if not files:
            raise DataFormatError(f"{folders[part]}: no <sss>-<nnn>.mat files found")
        for k in sorted(files):
            path = files[k]
            x, p = _read_file(path)
            if scale is None:
                scale = p["lsbmV"]
            elif p["lsbmV"] != scale:
                raise DataFormatError(f"{path}: p.lsbmV {p['lsbmV']} differs from the session's "
                                      f"first file ({files_read[0]}: {scale})")
            tr, tg = p["timerest"], p["timegest"]
            add(_myo.REST, "rest", 0, tr, part.lower(), k)
            for j, g in enumerate(p["sequence"]):
                name = p["labelnames"][g - 1]
                add(NATIVE[name], name, tr + j * tg, tr + (j + 1) * tg, part.lower(), k)
            end = tr + len(p["sequence"]) * tg
            if end < len(x):
                add(_myo.REST, "rest", end, len(x), part.lower(), k)
            pieces.append(x)
            files_read.append(str(path))
            start += len(x)
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS + ["gesture_name", "part", "file"])
    raw = np.concatenate(pieces, axis=0)
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=int(session),
        emg=(raw.astype(np.float64) * scale).astype(np.float32), fs=fs, units="mV",
        device="FlexEMG flexible 16x4 array", layout=layout,
        gesture_names=list(GESTURES), trials=trials,
        raw_scale=float(scale), raw_offset=0.0, raw_dtype="uint16",
        extra={"source_files": files_read, "arraymap": str(root / "arraymap.mat")},
    )
    return finish(rec, opts, str(next(iter(folders.values()))))
