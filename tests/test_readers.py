"""Readers of the native formats: options, structure, and bad input -> DataFormatError."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myoflow import datasets, synthetic
from myoflow.datasets import COMMON_OPTIONS, dataset_names, get_dataset
from myoflow.errors import ConfigError, DataFormatError
from myoflow.store import TRIAL_COLUMNS, Recording

TINY = {
    "epn612": {"n_training_users": 2, "n_testing_users": 1, "repetitions_per_gesture": 2,
               "repetition_s": 0.5},
    "hyser": {"n_subjects": 1, "sessions": [1], "gestures": [6, 7, 30], "trials_per_gesture": 2,
              "segments_per_trial": 3, "segment_s": 0.1},
    "csl": {"n_subjects": 1, "n_sessions": 1, "n_gestures": 3, "trials_per_gesture": 2,
            "trial_s": 0.1},
    "icelab": {"n_subjects": 1, "n_gestures": 3, "repetitions": 2, "repetition_s": 0.1},
}
#: datasets with a synthetic generator (the real-data readers are tested in test_real_data.py);
#: one without tiny sizes in TINY runs on its defaults
SYNTHETIC = [n for n in dataset_names() if datasets.has_synthetic(n)]
#: the recording the tests read: the first one of the tiny set
FIRST = {kind: datasets.synthetic_recordings(kind, TINY.get(kind, {}))[0] for kind in SYNTHETIC}


def _some_recording(kind: str) -> tuple[int, int]:
    """A (subject, session) the dataset documents (or (1, 1)): what to ask an empty folder for."""
    mod = get_dataset(kind)
    return (mod.SUBJECTS[0] if mod.SUBJECTS else 1, mod.SESSIONS[0] if mod.SESSIONS else 1)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pristine")
    out = {}
    for kind in SYNTHETIC:
        out[kind] = root / kind
        datasets.write_synthetic(kind, out[kind], TINY.get(kind, {}), seed=3)
    return out


def _read(kind: str, raw: Path, options: dict | None = None) -> Recording:
    return get_dataset(kind).read_recording(raw, *FIRST[kind], options or {})


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


# ------------------------------------------------------------------------ registry, options

def test_registry():
    for name in dataset_names():
        mod = get_dataset(name)
        assert callable(mod.list_recordings) and callable(mod.read_recording)
        assert isinstance(mod.OPTIONS, dict)
    assert {"epn612", "hyser", "csl", "icelab"} <= set(SYNTHETIC)
    with pytest.raises(ConfigError, match="known: .*hyser"):
        get_dataset("ninapro")


@pytest.mark.parametrize("kind", SYNTHETIC)
def test_unknown_option_raises_config_error(kind, pristine):
    r = get_dataset(kind)
    with pytest.raises(ConfigError, match="bogus_key"):
        r.list_recordings(pristine[kind], {"bogus_key": 1})
    with pytest.raises(ConfigError, match="bogus_key"):
        r.read_recording(pristine[kind], *FIRST[kind], {"bogus_key": 1})


@pytest.mark.parametrize("kind", SYNTHETIC)
def test_common_options_and_no_writes(kind, pristine):
    before = _snapshot(pristine[kind])
    rec = _read(kind, pristine[kind], {"dataset": "mine", "reader": kind})
    assert rec.dataset == "mine"
    assert set(TRIAL_COLUMNS) <= set(rec.trials.columns)
    assert (rec.trials["trial"] == np.arange(len(rec.trials))).all()
    assert _read(kind, pristine[kind], {"n_channels": rec.n_channels, "layout": rec.layout.name})
    with pytest.raises(DataFormatError, match="n_channels"):
        _read(kind, pristine[kind], {"n_channels": rec.n_channels + 1})
    with pytest.raises(DataFormatError, match="layout"):
        _read(kind, pristine[kind], {"layout": "other"})
    assert _snapshot(pristine[kind]) == before  # readers never write
    assert set(COMMON_OPTIONS) == {"reader", "dataset", "fs", "n_channels", "layout"}


@pytest.mark.parametrize("kind", dataset_names())
def test_missing_and_empty_folders(kind, tmp_path):
    r = get_dataset(kind)
    with pytest.raises(DataFormatError, match="nowhere"):
        r.list_recordings(tmp_path / "nowhere", {})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="empty"):
        r.list_recordings(tmp_path / "empty", {})
    with pytest.raises(DataFormatError, match="empty"):
        r.read_recording(tmp_path / "empty", *_some_recording(kind), {})


# ------------------------------------------------------------------------------- EPN-612

def test_epn612_subjects_trials_and_columns(pristine):
    raw = pristine["epn612"]
    r = get_dataset("epn612")
    assert r.list_recordings(raw, {}) == [(0, 1), (1, 1), (2, 1)]
    rec = r.read_recording(raw, 1, 1, {})
    t = rec.trials
    assert rec.extra["json_folder"] == "trainingJSON" and rec.extra["user_folder"] == "user2"
    assert rec.gesture_names == ["rest", "fist", "waveIn", "waveOut", "open"]
    assert rec.device == "Myo armband" and rec.raw_dtype == "int8" and rec.units == "a.u."
    assert len(t) == 2 * 5 * 2  # both sample sets, pinch dropped
    assert t["sample_set"].tolist() == ["training"] * 10 + ["testing"] * 10
    # source_index in numeric order (idx_10 after idx_9), pinch (idx_11, idx_12) skipped
    assert t["source_index"].tolist()[:10] == list(range(1, 11))
    assert t.loc[t["label"] == 1, "repetition"].tolist() == [0, 1, 2, 3]
    assert (t["start"].iloc[1:].to_numpy() == t["stop"].iloc[:-1].to_numpy()).all()

    test_user = r.read_recording(raw, 2, 1, {})
    assert test_user.extra["json_folder"] == "testingJSON"
    assert set(test_user.trials["sample_set"]) == {"training"} and len(test_user.trials) == 10
    # an explicit offset moves the testingJSON users
    assert r.list_recordings(raw, {"n_training_json_users": 306}) == [(0, 1), (1, 1), (306, 1)]
    assert r.read_recording(raw, 306, 1, {"n_training_json_users": 306}).extra["user_folder"] == "user1"


def test_epn612_active_bounds_follow_ground_truth(pristine):
    raw = pristine["epn612"]
    rec = _read("epn612", raw)
    doc = json.loads((raw / "trainingJSON" / "user1" / "user1.json").read_text())
    row = rec.trials[(rec.trials["sample_set"] == "training") & (rec.trials["source_index"] == 3)].iloc[0]
    gt = np.array(doc["trainingSamples"]["idx_3"]["groundTruth"])
    assert row["active_start"] - row["start"] == np.flatnonzero(gt)[0]
    assert row["active_stop"] - row["start"] == np.flatnonzero(gt)[-1] + 1


def _edit_json(path: Path, edit) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["trainingSamples"]["idx_3"]["emg"].pop("ch8"), "ch8"),
    (lambda d: d["trainingSamples"]["idx_3"]["emg"]["ch2"].append(1), "different lengths"),
    (lambda d: d["trainingSamples"]["idx_3"]["emg"]["ch2"].__setitem__(0, 300), r"-128\.\.127"),
    (lambda d: d["trainingSamples"]["idx_3"]["emg"]["ch2"].__setitem__(0, 1.5), "integers"),
    (lambda d: d["trainingSamples"]["idx_3"]["groundTruth"].pop(), "groundTruth"),
    (lambda d: d["trainingSamples"]["idx_3"].__setitem__("gestureName", "wave"), "gestureName"),
    (lambda d: d.pop("testingSamples"), "testingSamples"),
    (lambda d: d["trainingSamples"].__setitem__("first", {}), "idx_"),
    (lambda d: d["generalInfo"].__setitem__("samplingFrequencyInHertz", "fast"), "samplingFrequency"),
])
def test_epn612_bad_json_content(copy, edit, expected):
    raw = copy("epn612")
    path = raw / "trainingJSON" / "user1" / "user1.json"
    _edit_json(path, edit)
    with pytest.raises(DataFormatError, match=expected) as info:
        _read("epn612", raw)
    assert str(path) in str(info.value)


def test_epn612_malformed_and_missing_json(copy):
    raw = copy("epn612")
    path = raw / "trainingJSON" / "user1" / "user1.json"
    path.write_text(path.read_text()[:-100])
    with pytest.raises(DataFormatError, match="JSON") as info:
        _read("epn612", raw)
    assert str(path) in str(info.value)
    path.unlink()
    with pytest.raises(DataFormatError, match="not found") as info:
        _read("epn612", raw)
    assert str(path) in str(info.value)
    shutil.rmtree(raw / "trainingJSON" / "user1")
    with pytest.raises(DataFormatError, match="user1..user1"):  # user2 alone: ids would shift
        get_dataset("epn612").list_recordings(raw, {})


def test_epn612_fs_declared_must_match(pristine):
    assert _read("epn612", pristine["epn612"], {"fs": 200}).fs == 200
    with pytest.raises(DataFormatError, match="200"):
        _read("epn612", pristine["epn612"], {"fs": 1000})


# ---------------------------------------------------------------------------------- Hyser

def test_hyser_options(pristine, copy):
    raw = pristine["hyser"]
    rec = _read("hyser", raw, {"gestures": [30, 6]})
    assert rec.gesture_names == ["hyser_30", "hyser_6"]
    assert rec.trials["label"].tolist() == [1] * 6 + [0] * 6  # file order kept, labels remapped
    assert rec.trials["record"].tolist() == list(range(1, 7)) + list(range(13, 19))
    assert rec.trials["segment"].tolist() == [0, 1, 2] * 4
    assert rec.trials["gesture_trial"].tolist() == [0, 0, 0, 1, 1, 1] * 2
    assert rec.device == "OT Bioelettronica Quattrocento" and rec.extra["raw_lossless"]
    assert (rec.trials["active_start"] == -1).all()
    with pytest.raises(ConfigError, match="task"):
        _read("hyser", raw, {"task": "random"})
    with pytest.raises(DataFormatError, match="label_dynamic.txt"):
        _read("hyser", raw, {"signal": "preprocess"})  # no preprocess records were generated
    with pytest.raises(DataFormatError, match="2048"):
        _read("hyser", raw, {"fs": 1024})

    # maintenance records are read the same way
    raw2 = copy("hyser")
    folder = raw2 / "subject01_session1"
    for p in folder.glob("dynamic_*"):
        text = p.read_bytes()
        if p.suffix == ".hea":
            text = text.replace(b"dynamic_", b"maintenance_")
        (folder / p.name.replace("dynamic_", "maintenance_")).write_bytes(text)
        p.unlink()
    (folder / "label_dynamic.txt").rename(folder / "label_maintenance.txt")
    rec = _read("hyser", raw2, {"task": "maintenance"})
    assert len(rec.trials) == 18 and (rec.trials["segment"] == 0).all()
    # a pr_dataset/ level is accepted
    (raw2 / "pr_dataset").mkdir()
    shutil.move(str(raw2 / "subject01_session1"), str(raw2 / "pr_dataset" / "subject01_session1"))
    assert get_dataset("hyser").list_recordings(raw2, {}) == [(1, 1)]


def test_hyser_truncated_dat(copy):
    raw = copy("hyser")
    dat = raw / "subject01_session1" / "dynamic_raw_sample4.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(DataFormatError, match="truncated") as info:
        _read("hyser", raw)
    assert str(dat) in str(info.value)


def test_hyser_label_count_mismatch(copy):
    raw = copy("hyser")
    label = raw / "subject01_session1" / "label_dynamic.txt"
    label.write_text(",".join(label.read_text().strip().split(",")[:-1]))
    with pytest.raises(DataFormatError, match="17 labels") as info:
        _read("hyser", raw)
    assert str(label) in str(info.value)
    label.write_text("6,7,x")
    with pytest.raises(DataFormatError, match="gesture ids"):
        _read("hyser", raw)


def test_hyser_wrong_channel_count_and_length(copy):
    raw = copy("hyser")
    folder = raw / "subject01_session1"
    synthetic.write_wfdb16(folder, "dynamic_raw_sample2", np.zeros((204, 255), np.int16), 2048, 983.04)
    with pytest.raises(DataFormatError, match="255 channels, expected 256") as info:
        _read("hyser", raw)
    assert "dynamic_raw_sample2.hea" in str(info.value)
    synthetic.write_wfdb16(folder, "dynamic_raw_sample2", np.zeros((100, 256), np.int16), 2048, 983.04)
    with pytest.raises(DataFormatError, match="must agree") as info:
        _read("hyser", raw)
    assert "dynamic_raw_sample2" in str(info.value)


def test_hyser_corrupt_header_and_missing_record(copy):
    raw = copy("hyser")
    hea = raw / "subject01_session1" / "dynamic_raw_sample5.hea"
    hea.write_text("this is not a header\n")
    with pytest.raises(DataFormatError) as info:
        _read("hyser", raw)
    assert "dynamic_raw_sample5" in str(info.value)
    hea.unlink()
    with pytest.raises(DataFormatError, match=r"k = 1\.\.4, 6") as info:
        _read("hyser", raw)
    assert "label_dynamic.txt" in str(info.value)


# ------------------------------------------------------------------------------ CSL, ICE

def test_csl_reader_details(pristine):
    rec = _read("csl", pristine["csl"])
    assert rec.n_channels == 168 and rec.gesture_names == ["idle", "gesture_1", "gesture_2"]
    # 6 idle trials beside 2 per gesture: grouped 3 per round, so a repetition split holds out
    # every gesture (and idle) equally
    assert rec.trials["repetition"].tolist() == [0, 0, 0, 1, 1, 1] + [0, 1] * 2
    assert rec.trials["gesture_id"].tolist() == [0] * 6 + [1, 1, 2, 2]
    raw = scipy.io.loadmat(pristine["csl"] / "subject1" / "session1" / "gest1.mat")["gestures"][1, 0]
    keep = np.arange(192) % 8 != 7
    assert np.array_equal(rec.trial_emg(7), raw[keep].T)  # kept channels in raw order
    sub = _read("csl", pristine["csl"], {"gestures": [2, 0]})
    assert sub.gesture_names == ["gesture_2", "idle"] and sub.trials["label"].tolist() == [0, 0] + [1] * 6


def _mat(path: Path, **arrays) -> None:
    scipy.io.savemat(path, arrays)


@pytest.mark.parametrize("kind", ["csl", "icelab"])
def test_mat_corruptions(kind, copy):
    raw = copy(kind)
    if kind == "csl":
        path = raw / "subject1" / "session1" / "gest1.mat"
        good = scipy.io.loadmat(path)["gestures"]
        x = good[0, 0].copy()

        def cell(arr):
            c = np.empty((1, 1), dtype=object)
            c[0, 0] = arr
            return {"gestures": c}
        nan = x.copy()
        nan[3, 5] = np.nan
        cases = [(cell(nan), "NaN"), ({"other": x}, "'gestures'"), (cell(x[:190]), r"\(192, samples\)")]
    else:
        path = raw / "001-002-001.mat"
        x = scipy.io.loadmat(path)["Data"]
        nan = x.copy()
        nan[3, 5] = np.nan
        cases = [({"Data": nan}, "NaN"), ({"Other": x}, "'Data'"), ({"Data": x[:, :191]}, "191")]
    for arrays, expected in cases:
        _mat(path, **arrays)
        with pytest.raises(DataFormatError, match=expected) as info:
            _read(kind, raw)
        assert str(path) in str(info.value)
    path.write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(200))
    with pytest.raises(DataFormatError) as info:
        _read(kind, raw)
    assert str(path) in str(info.value)


def test_icelab_reader_details(pristine, copy):
    rec = _read("icelab", pristine["icelab"])
    assert rec.n_channels == 192 and rec.units == "mV" and rec.raw_dtype == "float32"
    assert rec.trials["label"].tolist() == [0, 0, 1, 1, 2, 2]
    assert rec.trials["repetition"].tolist() == [0, 1] * 3
    assert rec.gesture_names == list(get_dataset("icelab").GESTURES)
    raw = copy("icelab")
    x = scipy.io.loadmat(raw / "001-001-002.mat")["Data"]
    _mat(raw / "001-001-002.mat", data=x[:, :192].astype(np.float64))  # lower-case key, 192 cols
    rec2 = _read("icelab", raw)
    assert np.array_equal(rec2.emg, rec.emg)
    assert _read("icelab", raw, {"fs": 2000}).fs == 2000
    _mat(raw / "001-009-001.mat", Data=x)
    with pytest.raises(DataFormatError, match="001-009-001.mat"):
        _read("icelab", raw)


def test_session_numbers_are_checked(pristine):
    with pytest.raises(DataFormatError, match="session"):
        get_dataset("epn612").read_recording(pristine["epn612"], 0, 2, {})
    with pytest.raises(DataFormatError, match="session"):
        get_dataset("icelab").read_recording(pristine["icelab"], 1, 2, {})
    with pytest.raises(DataFormatError, match="subject09_session1"):
        get_dataset("hyser").read_recording(pristine["hyser"], 9, 1, {})
    with pytest.raises(DataFormatError, match="subject9"):
        get_dataset("csl").read_recording(pristine["csl"], 9, 1, {})


# ---------------------------------------------------------------- fuzzing: corrupted bytes

#: file to corrupt per reader; JSON corruptions favour bytes that keep the text JSON-like
FUZZ = {
    "epn612": ("trainingJSON/user1/user1.json", b'0123456789-,[]{}:"e. xa'),
    "csl": ("subject1/session1/gest2.mat", None),
    "icelab": ("001-003-001.mat", None),
    "hyser": ("subject01_session1/dynamic_raw_sample2.hea", b"0123456789 ./()-\nmV"),
}


@pytest.fixture(scope="module")
def fuzz_copy(pristine, tmp_path_factory) -> dict[str, Path]:
    """One writable copy per dataset; each example overwrites one file and restores it."""
    root = tmp_path_factory.mktemp("fuzz")
    out = {}
    for kind in FUZZ:
        out[kind] = root / kind
        shutil.copytree(pristine[kind], out[kind])
    return out


@pytest.mark.parametrize("kind", sorted(FUZZ))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_bytes_give_data_format_error_or_valid_recording(kind, pristine, fuzz_copy, data):
    rel, alphabet = FUZZ[kind]
    original = (pristine[kind] / rel).read_bytes()
    corrupted = bytearray(original)
    n_edits = data.draw(st.integers(1, 6), label="edits")
    for _ in range(n_edits):
        pos = data.draw(st.integers(0, len(corrupted) - 1), label="pos")
        if alphabet is not None and data.draw(st.booleans(), label="like"):
            corrupted[pos] = data.draw(st.sampled_from(list(alphabet)), label="byte")
        else:
            corrupted[pos] = data.draw(st.integers(0, 255), label="byte")
    if data.draw(st.booleans(), label="truncate"):
        corrupted = corrupted[:data.draw(st.integers(0, len(corrupted)), label="length")]
    raw = fuzz_copy[kind]
    (raw / rel).write_bytes(bytes(corrupted))
    try:
        rec = _read(kind, raw)
    except DataFormatError:
        return
    finally:
        (raw / rel).write_bytes(original)
    assert isinstance(rec, Recording)
    rec.validate()
