"""The readers of the real offline recordings (myoarmband, uci_myo36, ciildata, flexemg).

The archives live outside the repository, in ``<repo>/../shared/data/<name>.tar.xz`` (or the
folder named by ``MYOFLOW_SHARED_DATA``); they are never copied into the repository. Each archive
is extracted once into a cache outside the repository (``MYOFLOW_DATA_CACHE``, default
``<system temp>/myoflow-data-cache/<name>-<archive size>-<archive mtime>/``, reused by later
sessions) and every test that needs a set missing here is skipped with the reason.

Checked against the documented structure of each set (spec ``datasets.md`` and the archives'
READMEs): subjects, sessions, gestures, repetitions, sampling rate, channels; lossless recovery of
the stored values; corrupted copies raising DataFormatError naming the file.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import yaml

from myoflow.errors import DataFormatError
from myoflow.layouts import FLEXEMG_ARRAYMAP, get_layout
from myoflow.datasets import dataset_names, get_dataset, listing_problems
from myoflow.store import TRIAL_COLUMNS, read_recording, write_recording
from uci_reference import zoh_levels
from workflow_helpers import make_workdir, snakemake

REPO = Path(__file__).resolve().parents[1]
#: the sets whose module names an offline copy (REAL_ARCHIVE) in ../shared/data
NAMES = [n for n in dataset_names() if getattr(get_dataset(n), "REAL_ARCHIVE", None)]


def _data_dir() -> Path:
    env = os.environ.get("MYOFLOW_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _cache_dir() -> Path:
    env = os.environ.get("MYOFLOW_DATA_CACHE")
    return Path(env) if env else Path(tempfile.gettempdir()) / "myoflow-data-cache"


def _extract(archive: Path, name: str) -> Path:
    """``<cache>/<name>-<size>-<mtime>/<name>``, extracted once (atomic rename: safe when two
    sessions race)."""
    st = archive.stat()
    cache = _cache_dir()
    assert REPO not in cache.resolve().parents, "the data cache must lie outside the repository"
    final = cache / f"{name}-{st.st_size}-{int(st.st_mtime)}"
    if not (final / ".complete").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
        with tarfile.open(archive, "r:xz") as tar:
            tar.extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        (tmp / ".complete").write_text(str(archive))
        try:
            tmp.rename(final)
        except OSError:  # another session finished first (or a stale partial folder): use it
            if not (final / ".complete").is_file():
                shutil.rmtree(final, ignore_errors=True)
                tmp.rename(final)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    if not (final / name).is_dir():
        pytest.fail(f"{archive}: does not hold the folder {name}/")
    return final / name


@pytest.fixture(scope="session")
def real_data():
    """``real_data(name)`` -> the extracted folder of that set (skips when the archive is absent)."""
    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            archive = _data_dir() / get_dataset(name).REAL_ARCHIVE
            if not archive.is_file():
                pytest.skip(f"real data set {name!r} not available: {archive} not found (set "
                            "MYOFLOW_SHARED_DATA to the folder holding the archives)")
            done[name] = _extract(archive, name)
        return done[name]

    return get


def _check_common(rec, fs: float, n_channels: int, layout: str) -> None:
    rec.validate("test")
    assert rec.fs == fs
    assert rec.n_channels == n_channels
    assert rec.layout.name == layout
    assert list(rec.trials.columns[: len(TRIAL_COLUMNS)]) == TRIAL_COLUMNS
    assert (rec.trials["trial"] == np.arange(len(rec.trials))).all()
    assert rec.gesture_names[:5] == ["rest", "fist", "waveIn", "waveOut", "open"]


def _reps(rec) -> dict[int, list[int]]:
    return {int(k): sorted(v.tolist()) for k, v in rec.trials.groupby("label")["repetition"]}


def _store_roundtrip(rec, tmp_path: Path) -> None:
    path = tmp_path / "rec.h5"
    write_recording(path, rec)
    back = read_recording(path)
    np.testing.assert_array_equal(back.raw_values(), rec.raw_values())
    pd.testing.assert_frame_equal(back.trials.reset_index(drop=True),
                                  rec.trials.reset_index(drop=True), check_dtype=False)


# --------------------------------------------------------------------------------- myoarmband

def test_myoarmband_structure_and_lossless(real_data, tmp_path):
    root = real_data("myoarmband")
    r = get_dataset("myoarmband")
    recs = r.list_recordings(root, {})
    subjects = sorted({s for s, _ in recs})
    assert subjects == list(range(40))  # 22 pre-training + 18 evaluation participants
    for s in subjects:
        assert {ses for x, ses in recs if x == s} == ({1} if s < 22 else {1, 2, 3})
    assert len(recs) == 22 + 18 * 3

    for subject, session, folder in [(0, 1, "PreTrainingDataset/Female0/training0"),
                                     (10, 1, "PreTrainingDataset/Male0/training0"),
                                     (39, 3, "EvaluationDataset/Male15/Test1")]:
        rec = r.read_recording(root, subject, session, {})
        _check_common(rec, 200.0, 8, "myo_ring8")
        assert len(rec.gesture_names) == 5 and rec.units == "a.u." and rec.raw_dtype == "int16"
        assert _reps(rec) == {label: [0, 1, 2, 3] for label in range(5)}
        assert (rec.trials[["active_start", "active_stop"]] == -1).all().all()
        # gesture id i % 7 -> EPN label; radial (1) and ulnar (3) deviation dropped
        assert set(rec.trials["gesture_id"]) == {0, 2, 4, 5, 6}
        assert dict(zip(rec.trials["gesture_id"], rec.trials["label"])) == {0: 0, 5: 1, 2: 2, 4: 3, 6: 4}
        n = rec.trials["stop"] - rec.trials["start"]
        assert n.between(700, 1100).all()  # ~5 s at 200 Hz per file
        # lossless: the stored values are exactly the files' int16 values
        for t in rec.trials.itertuples():
            x = np.fromfile(root / folder / f"classe_{t.file_index}.dat", np.int16).reshape(-1, 8)
            np.testing.assert_array_equal(rec.raw_values()[t.start:t.stop], x)
    rec = r.read_recording(root, 39, 3, {"deviations": True})
    assert len(rec.gesture_names) == 7 and len(rec.trials) == 28
    assert set(rec.trials["label"]) == set(range(7))
    assert rec.trials["file_index"].tolist() == list(range(28))
    _store_roundtrip(rec, tmp_path)


def test_myoarmband_corrupt_copies(real_data, tmp_path):
    src = real_data("myoarmband") / "PreTrainingDataset" / "Female0"
    root = tmp_path / "myo"
    shutil.copytree(src, root / "PreTrainingDataset" / "Female0")
    r = get_dataset("myoarmband")
    assert r.read_recording(root, 0, 1, {}).subject == 0
    f = root / "PreTrainingDataset" / "Female0" / "training0" / "classe_9.dat"
    data = f.read_bytes()
    f.write_bytes(data[:-3])  # truncated mid-sample
    with pytest.raises(DataFormatError, match=r"classe_9\.dat.*truncated"):
        r.read_recording(root, 0, 1, {})
    f.write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"classe_9\.dat: empty"):
        r.read_recording(root, 0, 1, {})
    x = np.frombuffer(data, np.int16).copy()
    x[5] = 3000  # not a Myo int8 level
    f.write_bytes(x.tobytes())
    with pytest.raises(DataFormatError, match=r"classe_9\.dat.*int8"):
        r.read_recording(root, 0, 1, {})
    f.unlink()
    with pytest.raises(DataFormatError, match=r"training0.*\[9\] missing"):
        r.read_recording(root, 0, 1, {})
    with pytest.raises(DataFormatError, match="subject 5"):
        r.read_recording(root, 5, 1, {})
    with pytest.raises(DataFormatError, match="nowhere"):
        r.list_recordings(tmp_path / "nowhere", {})


# --------------------------------------------------------------------------------- uci_myo36

def test_uci_myo36_structure_and_lossless(real_data, tmp_path):
    root = real_data("uci_myo36")
    r = get_dataset("uci_myo36")
    recs = r.list_recordings(root, {})
    # 36 subjects published, 33 in the public copy (11, 13, 30 missing); one session each
    assert recs == [(s, 1) for s in range(1, 37) if s not in (11, 13, 30)]
    series = r.list_recordings(root, {"series": "sessions"})
    assert len(series) == 64 and (2, 1) not in series and (34, 1) not in series

    rec = r.read_recording(root, 1, 1, {})
    _check_common(rec, 200.0, 8, "myo_ring8")
    assert rec.raw_dtype == "int8" and rec.units == "a.u."
    # rest, fist, flexion, extension present (no subject performed the extended palm); 2
    # repetitions per series -> 0..3 over the two series
    assert _reps(rec) == {label: [0, 1, 2, 3] for label in range(4)}
    assert rec.trials.groupby("series").size().to_dict() == {1: 8, 2: 8}
    gestures = rec.trials["label"] != 0
    assert (rec.trials.loc[gestures, "active_start"] == rec.trials.loc[gestures, "start"]).all()
    assert (rec.trials.loc[~gestures, "active_start"] == -1).all()
    assert (rec.trials["stop"] - rec.trials["start"]).between(200, 1000).all()  # 1-5 s blocks
    # lossless and correctly resampled: series 1 = the first part of emg
    files = sorted((root / "01").glob("*_raw_data_*.txt"))
    levels, cls = zoh_levels(files[0])
    np.testing.assert_array_equal(rec.raw_values()[: len(levels)], levels)
    map_ = {1: 0, 2: 1, 3: 2, 4: 3}
    for t in rec.trials[rec.trials["series"] == 1].itertuples():
        assert set(cls[t.start:t.stop]) == {t.gesture_id} and map_[t.gesture_id] == t.label
        assert cls[t.start - 1] != t.gesture_id and cls[t.stop] != t.gesture_id  # whole blocks
    n_marked = sum(1 for c, a, b in _runs(cls) if c in map_)
    assert n_marked == 8  # class-0 samples in no trial; radial/ulnar (5/6) dropped
    rec = r.read_recording(root, 1, 1, {"deviations": True})
    assert _reps(rec)[5] == [0, 1, 2, 3] and _reps(rec)[6] == [0, 1, 2, 3]
    # subjects with one series: 2 repetitions per gesture
    assert _reps(r.read_recording(root, 34, 1, {})) == {label: [0, 1] for label in range(4)}
    one = r.read_recording(root, 1, 2, {"series": "sessions"})
    assert one.session == 2 and set(one.trials["series"]) == {2}
    _store_roundtrip(rec, tmp_path)


def _runs(cls):
    edges = np.flatnonzero(np.diff(cls)) + 1
    return [(cls[a], a, b) for a, b in zip(np.r_[0, edges], np.r_[edges, len(cls)])]


def test_uci_myo36_corrupt_copies(real_data, tmp_path):
    src = real_data("uci_myo36") / "01"
    root = tmp_path / "uci"
    shutil.copytree(src, root / "01")
    r = get_dataset("uci_myo36")
    f = sorted((root / "01").glob("*.txt"))[0]
    text = f.read_text()
    lines = text.splitlines()
    assert r.read_recording(root, 1, 1, {}).subject == 1

    f.write_text(text[: len(text) // 2 - 7])  # truncated mid-row: missing fields
    with pytest.raises(DataFormatError, match=f"{f.name}.*(missing value|columns)"):
        r.read_recording(root, 1, 1, {})
    f.write_text("\n".join(" ".join(line.split()[:-1]) for line in lines) + "\n")  # drop a column
    with pytest.raises(DataFormatError, match=f"{f.name}: 9 columns, expected 10"):
        r.read_recording(root, 1, 1, {})
    bad = lines.copy()
    fields = bad[100].split()
    fields[3] = "NaN"
    bad[100] = "\t".join(fields)
    f.write_text("\n".join(bad) + "\n")
    with pytest.raises(DataFormatError, match=f"{f.name}: NaN.*data row 100, column 4"):
        r.read_recording(root, 1, 1, {})
    f.write_text(lines[0] + "\n")
    with pytest.raises(DataFormatError, match=f"{f.name}"):
        r.read_recording(root, 1, 1, {})
    f.write_text("")
    with pytest.raises(DataFormatError, match=f"{f.name}: empty"):
        r.read_recording(root, 1, 1, {})
    with pytest.raises(DataFormatError, match="subject 05"):
        r.read_recording(root, 5, 1, {})


# --------------------------------------------------------------------------------- ciildata

def test_ciildata_structure_and_lossless(real_data, tmp_path):
    root = real_data("ciildata")
    r = get_dataset("ciildata")
    recs = r.list_recordings(root, {})
    assert recs == [(s, ses) for s in range(21) for ses in (1, 2)]
    assert r.list_recordings(root, {"subset": "MinimalTrainingData"}) == \
        [(s, ses) for s in range(11) for ses in (1, 2)]

    before = r.read_recording(root, 0, 1, {})
    _check_common(before, 200.0, 8, "myo_ring8")
    assert before.raw_dtype == "int8" and len(before.gesture_names) == 5
    assert _reps(before) == {label: list(range(5)) for label in range(5)}  # 5 reps before shift
    after = r.read_recording(root, 0, 2, {})
    assert _reps(after) == {label: list(range(8)) for label in range(5)}  # trial_1..4 x 2 reps
    assert after.trials["block"].unique().tolist() == ["trial_1", "trial_2", "trial_3", "trial_4"]
    assert dict(zip(after.trials["gesture_id"], after.trials["label"])) == {0: 1, 1: 4, 2: 0, 3: 3, 4: 2}
    assert (after.trials["stop"] - after.trials["start"]).between(400, 800).all()  # ~3 s files
    for t in after.trials.itertuples():  # lossless
        x = np.loadtxt(root / "ElectrodeShift" / "subject0" / t.block / f"R_{t.file_rep}_C_{t.gesture_id}.csv",
                       delimiter=",")
        np.testing.assert_array_equal(after.raw_values()[t.start:t.stop], x)
    mini = r.read_recording(root, 3, 1, {"subset": "MinimalTrainingData"})
    assert _reps(mini) == {label: [0] for label in range(5)}
    assert (mini.trials["stop"] - mini.trials["start"] == 200).all()  # 1 s per class
    mini_test = r.read_recording(root, 3, 2, {"subset": "MinimalTrainingData"})
    assert mini_test.trials["block"].unique().tolist() == [f"trial_{k}" for k in range(7)]
    _store_roundtrip(after, tmp_path)


def test_ciildata_corrupt_copies(real_data, tmp_path):
    src = real_data("ciildata") / "ElectrodeShift" / "subject0"
    root = tmp_path / "ciil"
    shutil.copytree(src, root / "ElectrodeShift" / "subject0")
    r = get_dataset("ciildata")
    assert r.read_recording(root, 0, 1, {}).subject == 0
    f = root / "ElectrodeShift" / "subject0" / "training" / "R_2_C_3.csv"
    text = f.read_text()
    lines = text.splitlines()
    half = len(lines) // 2
    f.write_text("\n".join(lines[:half]) + "\n" + ",".join(lines[half].split(",")[:3]) + ",")
    with pytest.raises(DataFormatError, match=r"R_2_C_3\.csv"):  # truncated mid-row
        r.read_recording(root, 0, 1, {})
    f.write_text("\n".join(",".join(line.split(",")[:7]) for line in lines) + "\n")
    with pytest.raises(DataFormatError, match=r"R_2_C_3\.csv: 7 columns, expected 8"):
        r.read_recording(root, 0, 1, {})
    bad = lines.copy()
    bad[10] = "nan," + bad[10].split(",", 1)[1]
    f.write_text("\n".join(bad) + "\n")
    with pytest.raises(DataFormatError, match=r"R_2_C_3\.csv: NaN/inf at row 11, channel 1"):
        r.read_recording(root, 0, 1, {})
    f.write_text("")
    with pytest.raises(DataFormatError, match=r"R_2_C_3\.csv: empty"):
        r.read_recording(root, 0, 1, {})
    f.write_text(text)
    meta = root / "ElectrodeShift" / "subject0" / "training" / "metadata.json"
    meta.write_text(meta.read_text().replace('"class_idx": 3', '"class_idx": 1', 1))
    with pytest.raises(DataFormatError, match=r"metadata\.json.*R_\d_C_3\.csv"):
        r.read_recording(root, 0, 1, {})
    meta.write_text("{not json")
    with pytest.raises(DataFormatError, match=r"metadata\.json: not valid"):
        r.read_recording(root, 0, 1, {})
    with pytest.raises(DataFormatError, match="subject7"):
        r.read_recording(root, 7, 1, {})


# --------------------------------------------------------------------------------- flexemg

def test_flexemg_structure_and_lossless(real_data, tmp_path):
    root = real_data("flexemg")
    r = get_dataset("flexemg")
    assert r.list_recordings(root, {}) == [(1, 1), (2, 1), (3, 1)]
    rec = r.read_recording(root, 2, 1, {})
    _check_common(rec, 1000.0, 64, "flexemg_16x4")
    assert rec.units == "mV" and rec.raw_dtype == "uint16"
    assert rec.raw_scale == pytest.approx(0.00305176, rel=1e-5)
    amap = scipy.io.loadmat(root / "arraymap.mat")["arraymap"]
    np.testing.assert_array_equal(rec.layout.grid, amap.astype(int) - 1)
    np.testing.assert_array_equal(get_layout("flexemg_16x4").grid, FLEXEMG_ARRAYMAP - 1)
    # 10 Train + 10 Test files, each: 5 s rest, the 4 gestures for 5 s each, trailing rest
    assert rec.trials.groupby("part").size().to_dict() == {"test": 60, "train": 60}
    # every trial of a file (leading rest, the gestures, trailing rest) shares the file's round, so
    # a repetition split holds out whole files and keeps rest beside the gestures in each fold
    assert _reps(rec) == {0: sorted(list(range(20)) * 2), **{g: list(range(20)) for g in range(1, 5)}}
    assert (rec.trials.groupby(["part", "file"])["repetition"].nunique() == 1).all()
    names = dict(zip(rec.trials["gesture_name"], rec.trials["label"]))
    assert names == {"rest": 0, "Fist": 1, "Lower": 2, "Raise": 3, "Open": 4}
    # lossless and labelled as genlabels.m does, on the first Train file
    m = scipy.io.loadmat(root / "data" / "002-Session1Train" / "002-001.mat")
    raw, p = m["raw"], m["p"]
    np.testing.assert_array_equal(rec.raw_values()[: len(raw)], raw[:, :64])
    tr, tg = int(p["timerest"][0, 0][0, 0]), int(p["timegest"][0, 0][0, 0])
    seq = p["sequence"][0, 0].ravel()
    labelnames = [str(x[0]) for x in p["labelnames"][0, 0].ravel()]
    expected = np.zeros(len(raw), dtype=object)
    expected[:] = "rest"
    for j, g in enumerate(seq):
        expected[tr + j * tg: tr + (j + 1) * tg] = labelnames[g - 1]
    first = rec.trials[(rec.trials["part"] == "train") & (rec.trials["file"] == 1)]
    got = np.empty(len(raw), dtype=object)
    for t in first.itertuples():
        got[t.start:t.stop] = t.gesture_name
    assert (got == expected).all()


def test_flexemg_corrupt_copies(real_data, tmp_path):
    src = real_data("flexemg")
    root = tmp_path / "flex"
    (root / "data" / "001-Session1Train").mkdir(parents=True)
    shutil.copy(src / "arraymap.mat", root)
    for k in (1, 2):
        shutil.copy(src / "data" / "001-Session1Train" / f"001-00{k}.mat", root / "data" / "001-Session1Train")
    r = get_dataset("flexemg")
    assert len(r.read_recording(root, 1, 1, {}).trials) == 12
    f = root / "data" / "001-Session1Train" / "001-002.mat"
    good = f.read_bytes()
    f.write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(DataFormatError, match=r"001-002\.mat"):
        r.read_recording(root, 1, 1, {})
    m = scipy.io.loadmat(f"{src}/data/001-Session1Train/001-002.mat")
    scipy.io.savemat(f, {"raw": m["raw"]})  # missing key p
    with pytest.raises(DataFormatError, match=r"001-002\.mat: key\(s\) \['p'\] missing"):
        r.read_recording(root, 1, 1, {})
    scipy.io.savemat(f, {"raw": m["raw"][:, :32], "p": m["p"]})  # too few columns
    with pytest.raises(DataFormatError, match=r"001-002\.mat: 'raw' has shape \(28000, 32\)"):
        r.read_recording(root, 1, 1, {})
    raw = m["raw"].astype(float)
    raw[5, 7] = np.nan
    scipy.io.savemat(f, {"raw": raw, "p": m["p"]})
    with pytest.raises(DataFormatError, match=r"001-002\.mat: NaN"):
        r.read_recording(root, 1, 1, {})
    scipy.io.savemat(f, {"raw": m["raw"][:20000], "p": m["p"]})  # shorter than the sequence
    with pytest.raises(DataFormatError, match=r"001-002\.mat: 20000 samples"):
        r.read_recording(root, 1, 1, {})
    f.write_bytes(good)
    (root / "arraymap.mat").unlink()
    with pytest.raises(DataFormatError, match=r"arraymap\.mat: file not found"):
        r.read_recording(root, 1, 1, {})


# ------------------------------------------------------------ every set: metadata and listing

#: what each real copy lacks of the published set (the archives' READMEs)
ABSENT = {
    "myoarmband": [],
    "uci_myo36": ["3 of the 36 documented subjects absent from the listing: subject 11, 13, 30"],
    "ciildata": [],
    "flexemg": ["2 of the 3 documented sessions absent from the listing: session 2..3"],
}


def test_the_real_sets_are_the_modules_with_an_archive():
    assert {"myoarmband", "uci_myo36", "ciildata", "flexemg"} <= set(NAMES)
    for name in NAMES:
        assert get_dataset(name).REAL_ARCHIVE == f"{name}.tar.xz"


@pytest.mark.parametrize("name", NAMES)
def test_metadata_and_listing_agree_with_the_real_copy(real_data, name):
    mod = get_dataset(name)
    raw = real_data(name)
    listed = mod.list_recordings(raw, {})
    expected = ABSENT.get(name)
    notes = listing_problems(name, listed)
    if expected is not None:
        assert notes == [f"{name}: {n}" for n in expected]
    rec = mod.read_recording(raw, *listed[0], {})
    assert rec.fs == mod.FS and rec.n_channels == mod.N_CHANNELS and rec.layout.name == mod.LAYOUT
    assert rec.gesture_names == list(mod.GESTURES)
    if mod.SUBJECTS is not None:
        assert {s for s, _ in listed} <= set(mod.SUBJECTS)
    if mod.SESSIONS is not None:
        assert {k for _, k in listed} <= set(mod.SESSIONS)


# ------------------------------------------------------------ the cross-user study's real configs

def _merged(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``, nested keys merged as Snakemake merges --configfile's."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.mark.parametrize("name, n_recordings, n_test_users", [
    ("myoarmband", 76, 15), ("uci_myo36", 33, 10), ("ciildata", 42, 7),
])
def test_real_config_plans_the_crossuser_study(real_data, tmp_path, name, n_recordings, n_test_users):
    """config/real/<name>.yaml + the default config: a dry run lists every recording and trains
    each cross-user model once (per loss for the loss sweep's, per feature group for the feature
    grid's) plus the within-user models of the test users (crossuser.split.training_users)."""
    workdir = make_workdir(tmp_path)
    (workdir / "resources" / "real").mkdir(parents=True)
    os.symlink(real_data(name), workdir / "resources" / "real" / name)
    out = snakemake(workdir, "results/crossuser/stats/summary.csv", "-n", "--quiet", "rules",
                    "--configfile", "config/config.yaml", f"config/real/{name}.yaml").stdout
    counts = {}
    for line in out.split("Job stats:", 1)[1].splitlines()[3:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    assert counts["convert_recording"] == n_recordings
    # one cross-user job per model, per loss for the swept ones, and one within-user job (every
    # test user's model) per within-user model and r, fine-tuned ones too
    study = _merged(yaml.safe_load((workdir / "config" / "config.yaml").read_text())["crossuser"],
                    yaml.safe_load((workdir / "config" / "real" / f"{name}.yaml").read_text())["crossuser"])
    from myoflow.runsheets import (crossuser_trained_models, incremental_cells, within_user_fine_tuned,
                                   within_user_repetitions)

    n_cross = len(crossuser_trained_models(study))  # per loss of the loss sweep, per group of the feature grid
    n_within = ((len(study["within_user"]["models"]) + len(within_user_fine_tuned(study)))
                * len(within_user_repetitions(study)))
    n_incremental = len(incremental_cells(study))  # on the first variant only
    assert counts["crossuser_train"] == (n_cross + n_within) * len(study["variants"]) + n_incremental
