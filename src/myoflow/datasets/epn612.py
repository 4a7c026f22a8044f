"""EMG-EPN-612 (Myo armband, 8 channels, 200 Hz, int8): reader of its native JSON layout, its
download source (Zenodo) and its synthetic writer.

Layout: ``trainingJSON/userN/userN.json`` and ``testingJSON/userN/userN.json`` (N from 1), each a
JSON object with ``trainingSamples`` and ``testingSamples`` (``idx_1`` .. ``idx_K``), every sample
holding ``emg`` (``ch1`` .. ``ch8``: lists of ints), ``gestureName`` and, for active gestures,
``groundTruth`` (0/1 per sample) and ``groundTruthIndex`` ([first, last], 1-based inclusive).

Subjects: ``trainingJSON/userN`` -> ``N - 1``; ``testingJSON/userN`` -> ``n_training_json_users
+ N - 1`` (306 + N - 1 in the full set). One session (1) per user. Trials: one per labelled
repetition (both sample sets of trainingJSON users; only ``trainingSamples`` of testingJSON users,
whose ``testingSamples`` are unlabelled); pinch is dropped.

Options (besides :data:`~myoflow.datasets._common.COMMON_OPTIONS`):

``n_training_json_users``
    Subject-id offset of the testingJSON users (default: the number of ``trainingJSON/userN``
    folders found, which must then be numbered 1..K).

Synthetic sets (:func:`write_synthetic`) have the same layout: ``n_training_users`` trainingJSON
and ``n_testing_users`` testingJSON users, ``repetitions_per_gesture`` repetitions of each of the
six gestures (pinch included, as in the real files) per sample set.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import synthetic as syn
from ..download import ZenodoSource
from ..errors import ConfigError, DataFormatError
from ..layouts import myo_ring8
from ..store import TRIAL_COLUMNS, Recording
from ._common import check_options, existing_dir, finish, numbered, option_fs

NAME = "epn612"
FS = 200.0
N_CHANNELS = 8
#: class names, index = label
GESTURES = ["rest", "fist", "waveIn", "waveOut", "open"]
N_CLASSES = len(GESTURES)
LAYOUT = "myo_ring8"
#: 306 trainingJSON users (0..305) and 306 testingJSON users (306..611), one session each
SUBJECTS = tuple(range(612))
SESSIONS = (1,)
OPTIONS = {
    "n_training_json_users": "subject-id offset of testingJSON users (default: trainingJSON users found)",
}
#: gestureName -> label; pinch is read but dropped.
CLASSES = {"noGesture": 0, "fist": 1, "waveIn": 2, "waveOut": 3, "open": 4}
DROPPED = {"pinch"}
FOLDERS = ("trainingJSON", "testingJSON")

SOURCE = ZenodoSource(
    name=NAME,
    title="EMG-EPN-612",
    landing_page="https://zenodo.org/records/4421500",
    citation="Benalcazar et al., EMG-EPN-612 dataset, Zenodo, doi:10.5281/zenodo.4421500",
    licence="as stated on the Zenodo record",
    layout="trainingJSON/ and testingJSON/",
    record="4421500",
    markers=("trainingJSON", "testingJSON"),
)


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


def published_training_subjects(raw_dir: str | os.PathLike,
                                options: Mapping[str, Any] | None) -> list[int]:
    """Subject ids of the published training users: the trainingJSON users, ``0 .. n - 1`` (the
    testingJSON users validate and test)."""
    opts = check_options(options, OPTIONS, NAME)
    root = existing_dir(raw_dir, "EMG-EPN-612 folder with trainingJSON/ and testingJSON/")
    return list(range(_n_training(root, opts)))


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
        layout=myo_ring8(), gesture_names=list(GESTURES), trials=trials,
        raw_scale=1.0, raw_offset=0.0, raw_dtype="int8",
        extra={"json_folder": folder, "user_folder": f"user{user}", "source_file": str(path)},
    )
    return finish(rec, opts, str(path))


# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------

#: sizes of a synthetic set (the real set: 306 + 306 users, 25 repetitions), then the physics
SYNTHETIC_DEFAULTS = {
    "n_training_users": 10,
    "n_testing_users": 8,
    "repetitions_per_gesture": 3,
    "repetition_s": 2.0,
    "fs": 200,
    **syn.PHYSICS_DEFAULTS,
}
#: gestureName values in the order the synthetic JSON lists them
NATIVE_GESTURES = ("noGesture", "fist", "waveIn", "waveOut", "open", "pinch")
#: gestureName -> activation template of :mod:`myoflow.synthetic`
_PATTERN = {
    "noGesture": "rest", "fist": "fist", "waveIn": "wrist flexion", "waveOut": "wrist extension",
    "open": "hand open", "pinch": "pinch",
}


def check_synthetic(params: dict) -> dict:
    """``params`` (complete: defaults merged in) checked and normalised; ConfigError naming a bad key."""
    c = syn.ParamCheck(NAME, params).physics()
    c.integer("n_training_users", 0).integer("n_testing_users", 0)
    if c.p["n_training_users"] + c.p["n_testing_users"] == 0:
        c.fail("parameters 'n_training_users' and 'n_testing_users' are both 0; nothing to generate")
    return c.integer("repetitions_per_gesture").duration("repetition_s").p


def synthetic_recordings(params: dict) -> list[tuple[int, int]]:
    """(subject, session) pairs :func:`list_recordings` finds after :func:`write_synthetic`:
    0-based users, trainingJSON first, session 1."""
    p = check_synthetic(params)
    return [(i, 1) for i in range(p["n_training_users"] + p["n_testing_users"])]


def synthetic_training_subjects(params: dict) -> list[int]:
    """:func:`published_training_subjects` of a synthetic set: its ``n_training_users``."""
    return list(range(check_synthetic(params)["n_training_users"]))


def write_synthetic(out_dir: Path, params: dict, seed: int) -> None:
    """Write ``trainingJSON/userN/userN.json`` and ``testingJSON/userN/userN.json`` (N from 1)."""
    p = check_synthetic(params)
    out = Path(out_dir)
    kind, fs, v = NAME, p["fs"], p["subject_variability"]
    n = int(round(p["repetition_s"] * fs))
    reps = p["repetitions_per_gesture"]
    for folder, code, n_users in (("trainingJSON", 0, p["n_training_users"]),
                                  ("testingJSON", 1, p["n_testing_users"])):
        for user in range(1, n_users + 1):
            subj = syn._make_subject(seed, kind, (code, user), v, ring=True)
            shift, rot, rng = syn._session_placement(seed, kind, subj, 1, p, ring=True)
            weights = syn._mixing(syn._place(syn._myo_positions(subj.circumference), shift, rot), subj)
            patterns = {g: syn._subject_pattern(seed, kind, subj, syn._code(g),
                                                syn._named_pattern(_PATTERN[g]), v)
                        for g in NATIVE_GESTURES}
            segments, meta = [], []
            for sample_set in ("trainingSamples", "testingSamples"):
                for g in NATIVE_GESTURES:
                    for _ in range(reps):
                        onset = rng.uniform(0.15, 0.4)
                        up = rng.uniform(0.05, 0.08)
                        offset = onset + up + rng.uniform(0.3, 0.45)
                        down = rng.uniform(0.05, 0.08)
                        shape = syn._shape(n, onset, up, offset, down)
                        if g == "noGesture":
                            shape[:] = 0.0
                        segments.append(syn._Segment(n, syn._effort(rng, patterns[g]), shape))
                        meta.append((sample_set, g))
            # the Myo high-passes on board: little wander survives
            emg = syn._synthesize(rng, segments, subj, weights, fs, noise_mv=0.012, params=p,
                                  wander_mv=0.002)
            counts = np.clip(np.rint(emg * syn.MYO_COUNTS_PER_MV), -128, 127).astype(np.int8)
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
