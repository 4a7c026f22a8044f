"""Reader of EMG-EPN-612 (Myo armband, 8 channels, 200 Hz, int8) in its native JSON layout.

Layout: ``trainingJSON/userN/userN.json`` and ``testingJSON/userN/userN.json`` (N from 1), each a
JSON object with ``trainingSamples`` and ``testingSamples`` (``idx_1`` .. ``idx_K``), every sample
holding ``emg`` (``ch1`` .. ``ch8``: lists of ints), ``gestureName`` and, for active gestures,
``groundTruth`` (0/1 per sample) and ``groundTruthIndex`` ([first, last], 1-based inclusive).

Subjects: ``trainingJSON/userN`` -> ``N - 1``; ``testingJSON/userN`` -> ``n_training_json_users
+ N - 1`` (306 + N - 1 in the full set). One session (1) per user. Trials: one per labelled
repetition (both sample sets of trainingJSON users; only ``trainingSamples`` of testingJSON users,
whose ``testingSamples`` are unlabelled); pinch is dropped.

Options (besides :data:`~myoflow.readers._common.COMMON_OPTIONS`):

``n_training_json_users``
    Subject-id offset of the testingJSON users (default: the number of ``trainingJSON/userN``
    folders found, which must then be numbered 1..K).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataFormatError
from ..layouts import myo_ring8
from ..store import TRIAL_COLUMNS, Recording
from ._common import check_options, existing_dir, finish, numbered, option_fs

NAME = "epn612"
OPTIONS = {
    "n_training_json_users": "subject-id offset of testingJSON users (default: trainingJSON users found)",
}
#: gestureName -> label; pinch is read but dropped.
CLASSES = {"noGesture": 0, "fist": 1, "waveIn": 2, "waveOut": 3, "open": 4}
DROPPED = {"pinch"}
GESTURE_NAMES = ["rest", "fist", "waveIn", "waveOut", "open"]
FOLDERS = ("trainingJSON", "testingJSON")
N_CHANNELS = 8
FS = 200.0


def _user_folders(root: Path, folder: str) -> dict[int, Path]:
    d = root / folder
    if not d.is_dir():
        return {}
    return numbered([p for p in d.iterdir() if p.is_dir()], r"user(\d+)")


def _n_training(root: Path, options: Mapping[str, Any]) -> int:
    users = _user_folders(root, "trainingJSON")
    if options.get("n_training_json_users") is not None:
        n = options["n_training_json_users"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ConfigError(f"reader {NAME!r}: option 'n_training_json_users' must be an integer "
                              f">= 0, got {n!r}")
        if users and max(users) > n:
            raise DataFormatError(f"{root / 'trainingJSON'}: user{max(users)} exceeds the option "
                                  f"n_training_json_users = {n}")
        return n
    if users and sorted(users) != list(range(1, len(users) + 1)):
        raise DataFormatError(
            f"{root / 'trainingJSON'}: expected user folders user1..user{len(users)} (their count "
            f"offsets the testingJSON subject ids), found numbers {sorted(users)}; set the option "
            "n_training_json_users"
        )
    return len(users)


def list_recordings(raw_dir: str | os.PathLike, options: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """All (subject, session) pairs present: one per user folder, session 1.

    Parameters
    ----------
    raw_dir : path
        Folder holding ``trainingJSON/`` and/or ``testingJSON/``.
    options : dict
        The dataset's reader options (see the module docstring).

    Returns
    -------
    list of (int, int)
        Sorted.
    """
    opts = check_options(options, OPTIONS, NAME)
    root = existing_dir(raw_dir, "EMG-EPN-612 folder with trainingJSON/ and testingJSON/")
    n_train = _n_training(root, opts)
    train = _user_folders(root, "trainingJSON")
    test = _user_folders(root, "testingJSON")
    if not train and not test:
        raise DataFormatError(f"{root}: no user folders found (expected trainingJSON/userN/ or "
                              "testingJSON/userN/)")
    subjects = [n - 1 for n in train] + [n_train + n - 1 for n in test]
    return sorted((s, 1) for s in subjects)


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found (expected the user's JSON file)")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataFormatError(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise DataFormatError(f"{path}: expected a JSON object at the top level, got "
                              f"{type(doc).__name__}")
    return doc


def _sample_keys(samples: dict, where: str) -> list[tuple[int, str]]:
    out = []
    for key in samples:
        m = re.fullmatch(r"idx_(\d+)", key)
        if not m:
            raise DataFormatError(f"{where}: sample key {key!r} is not of the form idx_<k>")
        out.append((int(m.group(1)), key))
    return sorted(out)  # numeric order: idx_10 after idx_9


def _int_list(values: Any, where: str, lo: int, hi: int, what: str) -> np.ndarray:
    if not isinstance(values, list) or not values:
        raise DataFormatError(f"{where}: expected a non-empty list of integers for {what}")
    try:
        arr = np.array(values)
    except (ValueError, TypeError, OverflowError):  # ragged nesting, odd objects
        arr = np.array([], dtype=object)
    # numpy gives a float / object / string dtype as soon as one element is not an integer
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise DataFormatError(f"{where}: expected a flat list of integers for {what}")
    if arr.min() < lo or arr.max() > hi:
        raise DataFormatError(f"{where}: {what} values must lie in {lo}..{hi}, found "
                              f"{arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def _parse_sample(sample: Any, where: str) -> tuple[np.ndarray, str, int, int]:
    """(emg (samples, 8) int8, gestureName, active_start, active_stop) of one labelled sample."""
    if not isinstance(sample, dict):
        raise DataFormatError(f"{where}: expected an object")
    emg = sample.get("emg")
    if not isinstance(emg, dict):
        raise DataFormatError(f"{where}: missing 'emg' object with ch1..ch{N_CHANNELS}")
    chans = []
    for c in range(1, N_CHANNELS + 1):
        if f"ch{c}" not in emg:
            raise DataFormatError(f"{where}: 'emg' lacks 'ch{c}' (expected ch1..ch{N_CHANNELS}, "
                                  f"found {sorted(emg)})")
        chans.append(_int_list(emg[f"ch{c}"], where, -128, 127, f"emg ch{c} (int8)"))
    if len(emg) != N_CHANNELS:
        raise DataFormatError(f"{where}: expected {N_CHANNELS} channels ch1..ch{N_CHANNELS}, found "
                              f"{sorted(emg)}")
    n = len(chans[0])
    if any(len(c) != n for c in chans):
        raise DataFormatError(f"{where}: channels have different lengths {[len(c) for c in chans]}")
    name = sample.get("gestureName")
    if not isinstance(name, str) or name not in set(CLASSES) | DROPPED:
        raise DataFormatError(f"{where}: gestureName {name!r} is not one of "
                              f"{sorted(set(CLASSES) | DROPPED)}")
    a0, a1 = -1, -1
    if "groundTruth" in sample:
        gt = _int_list(sample["groundTruth"], where, 0, 1, "groundTruth (0/1)")
        if len(gt) != n:
            raise DataFormatError(f"{where}: groundTruth has {len(gt)} values, emg has {n} samples")
        nz = np.flatnonzero(gt)
        if len(nz):
            a0, a1 = int(nz[0]), int(nz[-1]) + 1
    elif "groundTruthIndex" in sample:
        gti = _int_list(sample["groundTruthIndex"], where, 1, n, f"groundTruthIndex (1..{n})")
        if len(gti) != 2 or gti[0] > gti[1]:
            raise DataFormatError(f"{where}: groundTruthIndex must be [first, last], got {gti.tolist()}")
        a0, a1 = int(gti[0]) - 1, int(gti[1])
    return np.stack(chans, axis=1).astype(np.int8), name, a0, a1


def read_recording(raw_dir: str | os.PathLike, subject: int, session: int,
                   options: Mapping[str, Any] | None) -> Recording:
    """Read one EMG-EPN-612 user as a :class:`~myoflow.store.Recording`.

    Parameters
    ----------
    raw_dir : path
        Folder holding ``trainingJSON/`` and ``testingJSON/``.
    subject : int
        0-based user id (see the module docstring for the testingJSON offset).
    session : int
        Must be 1.
    options : dict
        The dataset's reader options.

    Returns
    -------
    Recording
        emg float32 of the int8 values (``raw_dtype`` int8, ``raw_scale`` 1), units "a.u.";
        trial columns :data:`~myoflow.store.TRIAL_COLUMNS` + ``sample_set``, ``source_index``.

    Raises
    ------
    DataFormatError
        Missing or malformed files, naming the file and what was expected.
    """
    opts = check_options(options, OPTIONS, NAME)
    root = existing_dir(raw_dir, "EMG-EPN-612 folder with trainingJSON/ and testingJSON/")
    if session != 1:
        raise DataFormatError(f"{root}: EMG-EPN-612 has one session per user (1), asked for {session}")
    n_train = _n_training(root, opts)
    if subject < 0:
        raise DataFormatError(f"{root}: subject ids start at 0, asked for {subject}")
    folder, user = ("trainingJSON", subject + 1) if subject < n_train else \
        ("testingJSON", subject - n_train + 1)
    path = root / folder / f"user{user}" / f"user{user}.json"
    doc = _load_json(path)

    fs = option_fs(opts, FS, NAME)
    info = doc.get("generalInfo")
    if isinstance(info, dict) and "samplingFrequencyInHertz" in info:
        file_fs = info["samplingFrequencyInHertz"]
        if isinstance(file_fs, bool) or not isinstance(file_fs, (int, float)) or not file_fs > 0:
            raise DataFormatError(f"{path}: generalInfo.samplingFrequencyInHertz must be a positive "
                                  f"number, got {file_fs!r}")
        if "fs" in opts and float(opts["fs"]) != float(file_fs):
            raise DataFormatError(f"{path}: the file says {file_fs} Hz, the config declares fs "
                                  f"{opts['fs']}")
        fs = float(file_fs)

    sets = ["trainingSamples", "testingSamples"] if folder == "trainingJSON" else ["trainingSamples"]
    pieces: list[np.ndarray] = []
    rows: list[dict] = []
    reps = dict.fromkeys(CLASSES.values(), 0)
    start = 0
    for sample_set in sets:
        samples = doc.get(sample_set)
        if not isinstance(samples, dict):
            raise DataFormatError(f"{path}: missing '{sample_set}' object (expected idx_1..idx_K)")
        for k, key in _sample_keys(samples, f"{path}: {sample_set}"):
            x, name, a0, a1 = _parse_sample(samples[key], f"{path}: {sample_set}.{key}")
            if name in DROPPED:
                continue
            label = CLASSES[name]
            n = len(x)
            pieces.append(x)
            rows.append({
                "trial": len(rows), "label": label, "repetition": reps[label],
                "start": start, "stop": start + n,
                "active_start": start + a0 if a0 >= 0 else -1,
                "active_stop": start + a1 if a0 >= 0 else -1,
                "sample_set": sample_set.removesuffix("Samples"), "source_index": k,
            })
            reps[label] += 1
            start += n
    if not rows:
        raise DataFormatError(f"{path}: no labelled repetitions found (expected samples with "
                              f"gestureName in {sorted(CLASSES)})")
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS + ["sample_set", "source_index"])
    raw = np.concatenate(pieces, axis=0)
    rec = Recording(
        dataset=str(opts.get("dataset", NAME)), subject=int(subject), session=1,
        emg=raw.astype(np.float32), fs=fs, units="a.u.", device="Myo armband",
        layout=myo_ring8(), gesture_names=list(GESTURE_NAMES), trials=trials,
        raw_scale=1.0, raw_offset=0.0, raw_dtype="int8",
        extra={"json_folder": folder, "user_folder": f"user{user}", "source_file": str(path)},
    )
    return finish(rec, opts, str(path))
