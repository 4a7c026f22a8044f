"""The real-set readers (myoarmband, uci_myo36, ciildata, flexemg) on tiny fixture folders.

Independent of ``../shared/data`` (tests/test_real_data.py checks the real archives): each format
is written here in its published layout, small but structurally faithful (file names, folder
nesting, headers, line endings, MATLAB structs as the originals hold them). Checked:

* each fixture reads into a valid Recording with the documented channels, rate and labels;
* targeted bad input (wrong channel count, NaN / non-numeric values, empty folders and files,
  missing keys, labels that do not match the data) raises DataFormatError naming the file;
* hypothesis corrupts one file's bytes: the reader raises DataFormatError naming that file or
  returns a valid Recording, never another exception, and writes nothing.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myoflow.errors import DataFormatError
from myoflow.layouts import FLEXEMG_ARRAYMAP
from myoflow.datasets import get_dataset
from myoflow.datasets._common import check_mat5
from myoflow.store import TRIAL_COLUMNS, Recording
from uci_reference import zoh_levels

EPN = ["rest", "fist", "waveIn", "waveOut", "open"]

# ------------------------------------------------------------------------------ fixtures

#: MyoArmband: (folder, number of classe_<i>.dat files)
MYO_FOLDERS = [("PreTrainingDataset/Female0/training0", 14),
               ("EvaluationDataset/Male1/training0", 7),
               ("EvaluationDataset/Male1/Test0", 7),
               ("EvaluationDataset/Male1/Test1", 7)]


def _write_myoarmband(root: Path, rng: np.random.Generator) -> None:
    for rel, n_files in MYO_FOLDERS:
        folder = root / rel
        folder.mkdir(parents=True)
        for i in range(n_files):
            rng.integers(-128, 128, size=(10 + i, 8)).astype("<i2").tofile(folder / f"classe_{i}.dat")
        (folder.parent / "experiment.csv").write_text("Sex,F,,\nAge,23,,\nCircumference,,15.5,\n")


#: UCI: class of each block of a series file (0 unmarked between the gestures)
UCI_BLOCKS = [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0]
UCI_FILES = {"01": ["1_raw_data_13-12_22.03.16.txt", "2_raw_data_13-13_22.03.16.txt"],
             "02": ["1_raw_data_10-02_23.03.16.txt"]}
UCI_HEADER = "\t".join(["time"] + [f"channel{k}" for k in range(1, 9)] + ["class"])


def _uci_text(rng: np.random.Generator) -> str:
    """Rows ~1-3 ms apart, values repeated over each 5 ms Myo frame (as in the real files)."""
    lines, t = [UCI_HEADER], int(rng.integers(1, 5))
    for cls in UCI_BLOCKS:
        for _ in range(4):  # Myo frames per block
            levels = rng.integers(-128, 128, size=8)
            for _ in range(int(rng.integers(2, 5))):
                lines.append("\t".join([str(t)] + [f"{v * 1e-5:g}" for v in levels] + [str(cls)]))
                t += int(rng.integers(1, 4))
    return "\n".join(lines) + "\n"


def _write_uci(root: Path, rng: np.random.Generator) -> None:
    for subject, names in UCI_FILES.items():
        (root / subject).mkdir(parents=True)
        for name in names:
            (root / subject / name).write_text(_uci_text(rng))


#: CIILData: (sub-dataset folder, metadata.json written?)
CIIL_FOLDERS = [("ElectrodeShift/subject0/training", True), ("ElectrodeShift/subject0/trial_1", True),
                ("ElectrodeShift/subject0/trial_2", True), ("MinimalTrainingData/subject0/train", False),
                ("MinimalTrainingData/subject0/test/trial_0", True),
                ("MinimalTrainingData/subject0/test/trial_1", True)]
CIIL_NAMES = ["Hand_Close", "Hand_Open", "No_Motion", "Wrist_Extension", "Wrist_Flexion"]


def _ciil_csv(x: np.ndarray) -> bytes:
    return "".join(",".join(map(str, row)) + "\r\n" for row in x).encode()  # CRLF, as published


def _write_ciil(root: Path, rng: np.random.Generator) -> None:
    for rel, with_meta in CIIL_FOLDERS:
        folder = root / rel
        folder.mkdir(parents=True)
        meta: dict = {"continuous": False, "randomize": False, "gifs": False}
        for r in range(2):
            for c in range(5):
                name = f"R_{r}_C_{c}.csv"
                (folder / name).write_bytes(_ciil_csv(rng.integers(-128, 128, size=(8 + r + c, 8))))
                meta[f"data/subject0/sgt/{folder.name}/{name}"] = {
                    "rep_idx": r, "class_idx": c, "class_name": CIIL_NAMES[c], "file_type": "png"}
        if with_meta:
            (folder / "metadata.json").write_text(json.dumps(meta))


FLEX_TR, FLEX_TG, FLEX_TAIL = 10, 8, 6  # timerest, timegest, trailing rest (samples)
FLEX_LABELNAMES = ["Fist", "Raise", "Lower", "Open"]
#: file -> (p.sequence, written compressed?)
FLEX_FILES = {"data/001-Session1Train/001-001.mat": ([3, 4, 2, 1], False),
              "data/001-Session1Train/001-002.mat": ([1, 2, 3, 4], False),
              "data/001-Session1Test/001-001.mat": ([2, 1, 4, 3], True)}


def _cell(items) -> np.ndarray:
    c = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        c[0, i] = item
    return c


def _flex_p(sequence=(3, 4, 2, 1), lsbmv=0.00305176, timegest=FLEX_TG, timerest=FLEX_TR,
            labelnames=tuple(FLEX_LABELNAMES), drop: str | None = None) -> dict:
    """The struct ``p`` as the published files hold it (field types included)."""
    p = {"lsbmV": np.array([[lsbmv]]), "labelnames": _cell([np.array([n]) for n in labelnames]),
         "numlabels": np.array([[len(labelnames)]], np.uint8),
         "sequence": np.array([list(sequence)], np.uint8), "reps": np.array([[1]], np.uint8),
         "timegest": np.array([[timegest]], np.uint16), "timerest": np.array([[timerest]], np.uint16)}
    if drop:
        del p[drop]
    return p


def _flex_raw(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = np.zeros((n, 96), np.uint16)  # columns 64..95 unused zeros
    raw[:, :64] = 32768 + rng.integers(-500, 500, size=(n, 64))
    return raw


def _write_flexemg(root: Path, rng: np.random.Generator) -> None:
    root.mkdir(parents=True)
    scipy.io.savemat(root / "arraymap.mat", {"arraymap": FLEXEMG_ARRAYMAP.astype(np.uint8)})
    for rel, (seq, compressed) in FLEX_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        n = FLEX_TR + len(seq) * FLEX_TG + FLEX_TAIL
        # p first, then raw (the published order)
        scipy.io.savemat(root / rel, {"p": _flex_p(seq), "raw": _flex_raw(rng, n)},
                         do_compression=compressed)


WRITERS = {"myoarmband": _write_myoarmband, "uci_myo36": _write_uci, "ciildata": _write_ciil,
           "flexemg": _write_flexemg}
FIRST = {"myoarmband": (0, 1), "uci_myo36": (1, 1), "ciildata": (0, 1), "flexemg": (1, 1)}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("real_pristine")
    out = {}
    for k, (kind, write) in enumerate(sorted(WRITERS.items())):
        out[kind] = root / kind
        write(out[kind], np.random.default_rng(10 + k))
    return out


def _snapshot(root: Path, exclude: Path | None = None) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
            if p != exclude}


def _read(kind: str, raw: Path, key: tuple[int, int] | None = None, options: dict | None = None):
    return get_dataset(kind).read_recording(raw, *(key or FIRST[kind]), options or {})


def _check(rec: Recording, fs: float, n_channels: int, layout: str) -> None:
    rec.validate("test")
    assert rec.fs == fs and rec.n_channels == n_channels and rec.layout.name == layout
    assert list(rec.trials.columns[: len(TRIAL_COLUMNS)]) == TRIAL_COLUMNS
    assert (rec.trials["trial"] == np.arange(len(rec.trials))).all()
    assert rec.gesture_names[:5] == EPN


def _reps(rec) -> dict[int, list[int]]:
    return {int(k): sorted(v.tolist()) for k, v in rec.trials.groupby("label")["repetition"]}


def _raises(kind: str, raw: Path, path: Path, match: str, key=None, options=None) -> None:
    """The reader raises DataFormatError matching ``match`` and naming ``path``."""
    with pytest.raises(DataFormatError, match=match) as info:
        _read(kind, raw, key, options)
    assert str(path) in str(info.value), str(info.value)


# ---------------------------------------------------------------------- sanity: fixtures read

def test_myoarmband_fixture_reads(pristine):
    raw, r = pristine["myoarmband"], get_dataset("myoarmband")
    before = _snapshot(raw)
    assert r.list_recordings(raw, {}) == [(0, 1), (25, 1), (25, 2), (25, 3)]
    rec = r.read_recording(raw, 0, 1, {})
    _check(rec, 200.0, 8, "myo_ring8")
    assert rec.raw_dtype == "int16" and rec.units == "a.u." and len(rec.gesture_names) == 5
    assert rec.trials["file_index"].tolist() == [0, 2, 4, 5, 6, 7, 9, 11, 12, 13]  # deviations dropped
    assert _reps(rec) == {label: [0, 1] for label in range(5)}
    assert dict(zip(rec.trials["gesture_id"], rec.trials["label"])) == {0: 0, 5: 1, 2: 2, 4: 3, 6: 4}
    folder = raw / "PreTrainingDataset" / "Female0" / "training0"
    for t in rec.trials.itertuples():  # lossless
        x = np.fromfile(folder / f"classe_{t.file_index}.dat", "<i2").reshape(-1, 8)
        np.testing.assert_array_equal(rec.raw_values()[t.start:t.stop], x)
    dev = r.read_recording(raw, 25, 3, {"deviations": True})
    _check(dev, 200.0, 8, "myo_ring8")
    assert dev.trials["label"].tolist() == [0, 5, 2, 6, 3, 1, 4]
    assert dev.extra["group"] == "EvaluationDataset" and dev.extra["participant"] == "Male1"
    assert _snapshot(raw) == before  # readers never write


def test_uci_myo36_fixture_reads(pristine):
    raw, r = pristine["uci_myo36"], get_dataset("uci_myo36")
    before = _snapshot(raw)
    assert r.list_recordings(raw, {}) == [(1, 1), (2, 1)]
    assert r.list_recordings(raw, {"series": "sessions"}) == [(1, 1), (1, 2), (2, 1)]
    rec = r.read_recording(raw, 1, 1, {})
    _check(rec, 200.0, 8, "myo_ring8")
    assert rec.raw_dtype == "int8" and rec.units == "a.u."
    assert rec.trials["gesture_id"].tolist() == [1, 2, 3, 4, 7] * 2  # 5, 6 (deviations) dropped
    assert rec.trials["series"].tolist() == [1] * 5 + [2] * 5
    assert _reps(rec) == {label: [0, 1] for label in range(5)}
    gestures = rec.trials["label"] != 0
    assert (rec.trials.loc[gestures, "active_start"] == rec.trials.loc[gestures, "start"]).all()
    assert (rec.trials.loc[~gestures, "active_start"] == -1).all()
    levels, cls = zoh_levels(raw / "01" / UCI_FILES["01"][0])  # series 1 first, resampled losslessly
    np.testing.assert_array_equal(rec.raw_values()[: len(levels)], levels)
    for t in rec.trials[rec.trials["series"] == 1].itertuples():
        assert set(cls[t.start:t.stop]) == {t.gesture_id}
    assert len(r.read_recording(raw, 1, 1, {"deviations": True}).trials) == 14
    one = r.read_recording(raw, 2, 1, {})
    assert _reps(one) == {label: [0] for label in range(5)}
    assert _snapshot(raw) == before


def test_ciildata_fixture_reads(pristine):
    raw, r = pristine["ciildata"], get_dataset("ciildata")
    before = _snapshot(raw)
    assert r.list_recordings(raw, {}) == [(0, 1), (0, 2)]
    assert r.list_recordings(raw, {"subset": "MinimalTrainingData"}) == [(0, 1), (0, 2)]
    rec = r.read_recording(raw, 0, 1, {})
    _check(rec, 200.0, 8, "myo_ring8")
    assert rec.raw_dtype == "int8" and len(rec.trials) == 10
    assert _reps(rec) == {label: [0, 1] for label in range(5)}
    assert dict(zip(rec.trials["gesture_id"], rec.trials["label"])) == {0: 1, 1: 4, 2: 0, 3: 3, 4: 2}
    for t in rec.trials.itertuples():  # lossless
        x = np.loadtxt(raw / "ElectrodeShift" / "subject0" / "training" / f"R_{t.file_rep}_C_{t.gesture_id}.csv",
                       delimiter=",")
        np.testing.assert_array_equal(rec.raw_values()[t.start:t.stop], x)
    after = r.read_recording(raw, 0, 2, {})
    assert after.trials["block"].unique().tolist() == ["trial_1", "trial_2"]
    assert _reps(after) == {label: [0, 1, 2, 3] for label in range(5)}
    mini = r.read_recording(raw, 0, 2, {"subset": "MinimalTrainingData"})
    _check(mini, 200.0, 8, "myo_ring8")
    assert mini.trials["block"].unique().tolist() == ["trial_0", "trial_1"]
    # the sub-dataset folder itself is accepted as raw_dir
    assert len(r.read_recording(raw / "MinimalTrainingData", 0, 1,
                                {"subset": "MinimalTrainingData"}).trials) == 10
    assert _snapshot(raw) == before


def test_flexemg_fixture_reads(pristine):
    raw, r = pristine["flexemg"], get_dataset("flexemg")
    before = _snapshot(raw)
    assert r.list_recordings(raw, {}) == [(1, 1)]
    rec = r.read_recording(raw, 1, 1, {})
    _check(rec, 1000.0, 64, "flexemg_16x4")
    assert rec.units == "mV" and rec.raw_dtype == "uint16"
    assert rec.raw_scale == pytest.approx(0.00305176)
    np.testing.assert_array_equal(rec.layout.grid, FLEXEMG_ARRAYMAP - 1)
    assert rec.trials.groupby("part").size().to_dict() == {"test": 6, "train": 12}
    # rest takes its file's repetition round: two rest trials (lead-in, tail) per round
    assert _reps(rec) == {0: [0, 0, 1, 1, 2, 2], **{g: [0, 1, 2] for g in range(1, 5)}}
    assert dict(zip(rec.trials["gesture_name"], rec.trials["label"])) == \
        {"rest": 0, "Fist": 1, "Lower": 2, "Raise": 3, "Open": 4}
    first = rec.trials[(rec.trials["part"] == "train") & (rec.trials["file"] == 1)]
    assert first["gesture_name"].tolist() == ["rest", "Lower", "Open", "Raise", "Fist", "rest"]
    assert (first["stop"] - first["start"]).tolist() == [FLEX_TR] + [FLEX_TG] * 4 + [FLEX_TAIL]
    m = scipy.io.loadmat(raw / "data" / "001-Session1Train" / "001-001.mat")
    np.testing.assert_array_equal(rec.raw_values()[: len(m["raw"])], m["raw"][:, :64])  # lossless
    assert _snapshot(raw) == before


# ------------------------------------------------------------------- targeted bad input: myo

def test_myoarmband_bad_input(copy):
    raw = copy("myoarmband")
    folder = raw / "PreTrainingDataset" / "Female0" / "training0"
    f = folder / "classe_4.dat"
    good = f.read_bytes()
    np.zeros((10, 7), "<i2").tofile(f)  # 7 channels: not whole 8-channel samples
    _raises("myoarmband", raw, f, "not a whole number of int16 x 8-channel")
    f.write_bytes(good[:-3])
    _raises("myoarmband", raw, f, "truncated")
    f.write_bytes(b"")
    _raises("myoarmband", raw, f, "empty file")
    x = np.frombuffer(good, "<i2").copy()
    x[3] = 1000  # not an int8 level
    f.write_bytes(x.tobytes())
    _raises("myoarmband", raw, f, "-128..127")
    f.unlink()  # a gap in the numbering: labels (i % 7) would shift
    _raises("myoarmband", raw, folder, r"\[4\] missing")
    for p in folder.iterdir():
        p.unlink()
    _raises("myoarmband", raw, folder, "no classe_<i>.dat files")
    (raw / "PreTrainingDataset" / "Female10").mkdir()  # the published set has Female0..9
    with pytest.raises(DataFormatError, match="Female10"):
        get_dataset("myoarmband").list_recordings(raw, {})


# ------------------------------------------------------------------- targeted bad input: UCI

def _uci_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _set_field(lines: list[str], row: int, col: int, value: str) -> list[str]:
    out = list(lines)
    fields = out[row].split("\t")
    fields[col] = value
    out[row] = "\t".join(fields)
    return out


def test_uci_myo36_bad_input(copy):
    raw = copy("uci_myo36")
    f = raw / "01" / UCI_FILES["01"][1]
    lines = _uci_lines(f)

    def write(ls):
        f.write_text("\n".join(ls) + "\n")

    write(["\t".join(line.split("\t")[:-2] + line.split("\t")[-1:]) for line in lines])  # 7 channels
    _raises("uci_myo36", raw, f, "9 columns, expected 10")
    write([line + "\t0" for line in lines])  # an extra column
    _raises("uci_myo36", raw, f, "11 columns, expected 10")
    write(_set_field(lines, 20, 3, "NaN"))
    _raises("uci_myo36", raw, f, "NaN/inf.*data row 20, column 4")
    write(_set_field(lines, 20, 3, "abc"))
    _raises("uci_myo36", raw, f, "numeric")
    write(_set_field(lines, 20, 3, "0.5"))  # not an int8 level x 1e-5
    _raises("uci_myo36", raw, f, "int8 levels")
    write(_set_field(lines, 30, 9, "9"))  # class outside 0..7
    _raises("uci_myo36", raw, f, "class column.*0..7")
    write(_set_field(lines, 30, 9, "2.5"))
    _raises("uci_myo36", raw, f, "class column")
    write(_set_field(lines, 30, 0, "0"))  # time goes back
    _raises("uci_myo36", raw, f, "time column decreases")
    write(_set_field(lines, len(lines) - 1, 0, "9e12"))  # a corrupt time value far ahead
    _raises("uci_myo36", raw, f, "time column jumps")
    write([lines[0]] + [line.rsplit("\t", 1)[0] + "\t0" for line in lines[1:]])  # no marked block
    _raises("uci_myo36", raw, f, "no marked block")
    write([lines[0]] + [line.rsplit("\t", 1)[0] + "\t5" for line in lines[1:]])  # deviations only
    _raises("uci_myo36", raw, f, "no marked block")
    write(lines[:2])
    _raises("uci_myo36", raw, f, "1 data rows")
    f.write_bytes(b"")
    _raises("uci_myo36", raw, f, "empty file")
    f.write_bytes(lines[0].encode() + b"\n1\t\xff\xfe\n")
    _raises("uci_myo36", raw, f, "not a whitespace-separated numeric table")
    f.unlink()
    (raw / "01" / UCI_FILES["01"][0]).rename(raw / "01" / "notes.txt")  # subject folder: no series
    _raises("uci_myo36", raw, raw, "no series file for subject 01")


# -------------------------------------------------------------- targeted bad input: CIILData

def test_ciildata_bad_input(copy):
    raw = copy("ciildata")
    folder = raw / "ElectrodeShift" / "subject0" / "training"
    f = folder / "R_1_C_2.csv"
    x = np.loadtxt(f, delimiter=",", dtype=int)
    f.write_bytes(_ciil_csv(x[:, :7]))
    _raises("ciildata", raw, f, "7 columns, expected 8")
    bad = x.astype(object)
    bad[3, 2] = "nan"
    f.write_bytes(_ciil_csv(bad))
    _raises("ciildata", raw, f, "NaN/inf at row 4, channel 3")
    bad[3, 2] = "x1"
    f.write_bytes(_ciil_csv(bad))
    _raises("ciildata", raw, f, "numeric")
    bad[3, 2] = "1.5"
    f.write_bytes(_ciil_csv(bad))
    _raises("ciildata", raw, f, "int8.*fractions")
    bad[3, 2] = "300"
    f.write_bytes(_ciil_csv(bad))
    _raises("ciildata", raw, f, "-128..127")
    f.write_bytes(_ciil_csv(x)[:-9])  # truncated mid-row
    _raises("ciildata", raw, f, "not a comma-separated table")
    f.write_bytes(b"")
    _raises("ciildata", raw, f, "empty file")
    f.write_bytes(b"1,2,\xff,4,5,6,7,8\r\n")
    _raises("ciildata", raw, f, "not a comma-separated table")
    f.write_bytes(_ciil_csv(x))

    wrong = folder / "R_0_C_7.csv"  # a class the set does not have
    wrong.write_bytes(_ciil_csv(x))
    _raises("ciildata", raw, wrong, "class 7 outside 0..4")
    wrong.unlink()

    meta = folder / "metadata.json"
    doc = json.loads(meta.read_text())
    key = "data/subject0/sgt/training/R_1_C_2.csv"
    for edit, match in [(lambda d: d[key].__setitem__("class_idx", 4), "R_1_C_2.csv listed with class_idx 4"),
                        (lambda d: d[key].pop("rep_idx"), "lacks 'class_idx' / 'rep_idx'"),
                        (lambda d: d.__setitem__(key, [1, 2]), "lacks")]:
        d = json.loads(json.dumps(doc))
        edit(d)
        meta.write_text(json.dumps(d))
        _raises("ciildata", raw, meta, match)
    # an integer too long for Python's int parser (json raises ValueError, not JSONDecodeError)
    meta.write_text(json.dumps(doc).replace('"rep_idx": 1, "class_idx": 2',
                                            '"rep_idx": ' + "9" * 5000 + ', "class_idx": 2'))
    _raises("ciildata", raw, meta, "not valid UTF-8 JSON")
    meta.write_text("[1, 2]")
    _raises("ciildata", raw, meta, "expected a JSON object")
    meta.write_text("{not json")
    _raises("ciildata", raw, meta, "not valid UTF-8 JSON")
    meta.write_bytes(b'{"a": "\xff"}')
    _raises("ciildata", raw, meta, "not valid UTF-8 JSON")
    meta.write_text("[" * 100000 + "]" * 100000)
    _raises("ciildata", raw, meta, "not valid UTF-8 JSON")
    meta.write_text(json.dumps(doc))

    for p in folder.iterdir():  # an empty session folder
        p.unlink()
    _raises("ciildata", raw, folder, "no R_<rep>_C_<class>.csv files")


# --------------------------------------------------------------- targeted bad input: FlexEMG

def test_flexemg_bad_trial_files(copy, pristine):
    raw = copy("flexemg")
    f = raw / "data" / "001-Session1Train" / "001-002.mat"
    good = scipy.io.loadmat(f)
    n = len(good["raw"])
    seq = [1, 2, 3, 4]
    rng = np.random.default_rng(0)
    cases = [
        ({"p": _flex_p(seq)}, r"key\(s\) \['raw'\] missing"),
        ({"raw": good["raw"]}, r"key\(s\) \['p'\] missing"),
        ({"p": _flex_p(seq, drop="timegest"), "raw": good["raw"]}, r"lacks field\(s\) \['timegest'\]"),
        ({"p": np.array([[1.0, 2.0]]), "raw": good["raw"]}, "struct 'p' lacks"),
        ({"p": _flex_p(seq), "raw": good["raw"][:, :32]}, r"'raw' has shape \(\d+, 32\)"),  # channels
        ({"p": _flex_p(seq), "raw": good["raw"][:0]}, r"'raw' has shape \(0, 96\)"),
        ({"p": _flex_p(seq), "raw": good["raw"][:, 0]}, r"'raw' has shape \(1, \d+\)"),  # a vector
        ({"p": _flex_p(seq), "raw": np.array(["abc"])}, "'raw' must be a numeric"),
        ({"p": _flex_p(seq), "raw": np.where(np.arange(96) == 7, np.nan, good["raw"].astype(float))},
         "NaN/inf in 'raw'"),
        ({"p": _flex_p(seq), "raw": good["raw"].astype(float) + 0.5}, "uint16 ADC values"),
        ({"p": _flex_p(seq), "raw": good["raw"].astype(np.int32) - 40000}, "uint16 ADC values"),
        ({"p": _flex_p(seq), "raw": good["raw"].astype(np.int32) * 4}, "uint16 ADC values"),
        # labels that do not match the data
        ({"p": _flex_p(seq + [2, 3]), "raw": good["raw"]}, f"{n} samples, but timerest"),
        ({"p": _flex_p(seq, timegest=1000), "raw": good["raw"]}, f"{n} samples"),
        ({"p": _flex_p([1, 5]), "raw": good["raw"]}, r"p.sequence must be 1-based indices.*1..4"),
        ({"p": _flex_p([0, 1]), "raw": good["raw"]}, "p.sequence"),
        ({"p": {**_flex_p(seq), "sequence": np.zeros((1, 0))}, "raw": good["raw"]}, "p.sequence"),
        ({"p": {**_flex_p(seq), "sequence": np.array([[1.5, 2]])}, "raw": good["raw"]}, "p.sequence"),
        ({"p": {**_flex_p(seq), "sequence": _cell([1, 2])}, "raw": good["raw"]}, "p.sequence"),
        ({"p": _flex_p(seq, labelnames=("Fist", "Wave", "Lower", "Open")), "raw": good["raw"]},
         r"labelnames holds \['Wave'\]"),
        ({"p": {**_flex_p(seq), "labelnames": _cell([np.array([]), "Fist"])}, "raw": good["raw"]},
         "labelnames"),
        ({"p": _flex_p(seq, lsbmv=-1.0), "raw": good["raw"]}, "p.lsbmV must be one positive number"),
        ({"p": _flex_p(seq, lsbmv=np.nan), "raw": good["raw"]}, "p.lsbmV"),
        ({"p": {**_flex_p(seq), "lsbmV": "big"}, "raw": good["raw"]}, "p.lsbmV is not a number"),
        ({"p": {**_flex_p(seq), "lsbmV": np.array([[1.0, 2.0]])}, "raw": good["raw"]}, "p.lsbmV"),
        ({"p": _flex_p(seq, lsbmv=1e300), "raw": good["raw"]}, "p.lsbmV"),  # EMG overflows float32
        ({"p": {**_flex_p(seq), "timegest": np.array([[2.5]])}, "raw": good["raw"]}, "whole number"),
        ({"p": {**_flex_p(seq), "timerest": np.array([[0]])}, "raw": good["raw"]}, "p.timerest"),
    ]
    for arrays, match in cases:
        scipy.io.savemat(f, arrays)
        _raises("flexemg", raw, f, match)
    scipy.io.savemat(f, {"p": _flex_p(seq, lsbmv=0.001), "raw": _flex_raw(rng, n)})
    # the file that differs is named, and so is the first file it differs from
    with pytest.raises(DataFormatError, match=r"p.lsbmV 0.001 differs") as info:
        _read("flexemg", raw)
    assert str(f) in str(info.value) and str(f.parent / "001-001.mat") in str(info.value)
    f.write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(200))
    _raises("flexemg", raw, f, "not a readable MATLAB file")
    f.write_bytes(b"")
    _raises("flexemg", raw, f, "not a readable MATLAB file")
    shutil.copy(pristine["flexemg"] / "data" / "001-Session1Train" / "001-002.mat", f)
    assert _read("flexemg", raw).n_channels == 64
    for p in list(f.parent.iterdir()):  # an empty Train folder
        p.unlink()
    _raises("flexemg", raw, f.parent, r"no <sss>-<nnn>.mat files")


def test_flexemg_mat_dims_element_too_short(copy):
    """A dims element of 0 or 1 int32 (one corrupt size byte) crashed scipy's C reader with a
    segmentation fault on char arrays (found by the fuzzing below): it must be rejected first."""
    raw = copy("flexemg")
    f = raw / "data" / "001-Session1Train" / "001-001.mat"  # uncompressed
    good = f.read_bytes()
    tag = struct.pack("<II", 5, 8)  # miINT32, 8 bytes: the dims of every 2-D array
    offsets = [i for i in range(128, len(good)) if good.startswith(tag, i)]
    assert len(offsets) == 13  # p, its 7 fields, the 4 labelnames strings, raw
    for off in offsets:
        for size in (0, 1, 4):
            bad = bytearray(good)
            struct.pack_into("<I", bad, off + 4, size)
            with pytest.raises(ValueError):  # rejected before scipy sees it
                check_mat5(bytes(bad), str(f))
            f.write_bytes(bytes(bad))
            _raises("flexemg", raw, f, "not a readable MATLAB file")
    f.write_bytes(good)


def test_flexemg_bad_arraymap(copy):
    raw = copy("flexemg")
    f = raw / "arraymap.mat"
    amap = FLEXEMG_ARRAYMAP.astype(np.uint8)
    dup = amap.copy()
    dup[0, 0] = dup[0, 1]
    for arrays, match in [({"arraymap": amap.reshape(8, 8)}, r"\(8, 8\)"),  # wrong shape
                          ({"arraymap": amap[:, :3]}, r"\(16, 3\)"),
                          ({"arraymap": dup}, "1..64 once each"),  # not a permutation
                          ({"arraymap": amap - 1}, "1..64 once each"),  # 0-based
                          ({"arraymap": amap.astype(float) + 0.5}, "integer array"),
                          ({"arraymap": _cell(list(range(64)))}, "arraymap must be"),
                          ({"map": amap}, r"key\(s\) \['arraymap'\] missing")]:
        scipy.io.savemat(f, arrays)
        _raises("flexemg", raw, f, match)
    f.write_bytes(b"not a mat file at all")
    _raises("flexemg", raw, f, "not a readable MATLAB file")
    f.unlink()
    _raises("flexemg", raw, f, "file not found")


# ---------------------------------------------------------------- fuzzing: corrupted bytes

_MAT_BYTES = b"\x00\x01\x02\x04\x05\x06\x08\x09\x0e\x0f\x10\x7f\x80\xff"
#: (reader, file to corrupt, bytes favoured by the edits (None: any), (subject, session))
FUZZ = [
    ("myoarmband", "PreTrainingDataset/Female0/training0/classe_3.dat", b"\x00\x01\x7f\x80\xfe\xff", (0, 1)),
    ("uci_myo36", "01/1_raw_data_13-12_22.03.16.txt", b"0123456789-.e \t\n", (1, 1)),
    ("ciildata", "ElectrodeShift/subject0/training/R_1_C_3.csv", b"0123456789-,. \r\n\t", (0, 1)),
    ("ciildata", "ElectrodeShift/subject0/training/metadata.json", b'0123456789-,[]{}:"_. e', (0, 1)),
    ("flexemg", "data/001-Session1Train/001-001.mat", _MAT_BYTES, (1, 1)),  # uncompressed
    ("flexemg", "data/001-Session1Test/001-001.mat", _MAT_BYTES, (1, 1)),  # compressed (v7)
    ("flexemg", "arraymap.mat", _MAT_BYTES, (1, 1)),
]


@pytest.fixture(scope="module")
def fuzz_copy(pristine, tmp_path_factory) -> dict[str, Path]:
    """One writable copy per set; each example overwrites one file and restores it."""
    root = tmp_path_factory.mktemp("real_fuzz")
    out = {}
    for kind in WRITERS:
        out[kind] = root / kind
        shutil.copytree(pristine[kind], out[kind])
    return out


def _corrupt(data, original: bytes, alphabet: bytes | None) -> bytes:
    corrupted = bytearray(original)
    n = len(corrupted)
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        # half the edits hit the first KiB (headers, the MATLAB struct 'p', the first rows)
        pos = data.draw(st.one_of(st.integers(0, n - 1), st.integers(0, min(n, 1024) - 1)), label="pos")
        if alphabet is not None and data.draw(st.booleans(), label="like"):
            corrupted[pos] = data.draw(st.sampled_from(list(alphabet)), label="byte")
        else:
            corrupted[pos] = data.draw(st.integers(0, 255), label="byte")
    if data.draw(st.booleans(), label="truncate"):
        corrupted = corrupted[:data.draw(st.integers(0, n), label="length")]
    return bytes(corrupted)


@pytest.mark.parametrize("kind, rel, alphabet, key", FUZZ, ids=[f"{k}:{'/'.join(Path(r).parts[-2:])}" for k, r, *_ in FUZZ])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_bytes_give_data_format_error_or_valid_recording(kind, rel, alphabet, key, pristine,
                                                                   fuzz_copy, data):
    original = (pristine[kind] / rel).read_bytes()
    corrupted = _corrupt(data, original, alphabet)
    raw = fuzz_copy[kind]
    path = raw / rel
    before = _snapshot(raw, exclude=path)
    path.write_bytes(corrupted)
    error = None
    try:
        rec = get_dataset(kind).read_recording(raw, *key, {})
    except DataFormatError as exc:  # any other exception type fails the test
        error = str(exc)
    finally:
        after = _snapshot(raw, exclude=path)
        written = path.read_bytes()
        path.write_bytes(original)
    assert after == before, "the reader created or modified files"
    assert written == corrupted, "the reader modified the file it read"
    if error is not None:
        assert str(path) in error, f"the error does not name {path}: {error}"
        return
    assert isinstance(rec, Recording)
    rec.validate()
    assert rec.n_channels == (64 if kind == "flexemg" else 8)
