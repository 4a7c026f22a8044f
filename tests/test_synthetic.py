"""The synthetic generator: parameters, native files the readers read, determinism, physics."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

from myoflow import datasets, synthetic
from myoflow.datasets import dataset_names, get_dataset
from myoflow.errors import ConfigError
from myoflow.store import Recording

#: every dataset with a synthetic writer
KINDS = [n for n in dataset_names() if datasets.has_synthetic(n)]

# Tiny sizes per kind: every structural test runs on these.
TINY = {
    "epn612": {"n_training_users": 2, "n_testing_users": 2, "repetitions_per_gesture": 2,
               "repetition_s": 1.0},
    "hyser": {"n_subjects": 2, "sessions": [1, 2], "gestures": [6, 7, 30], "trials_per_gesture": 2,
              "segments_per_trial": 2, "segment_s": 0.25},
    "csl": {"n_subjects": 1, "n_sessions": 2, "n_gestures": 3, "trials_per_gesture": 2,
            "trial_s": 0.25},
    "icelab": {"n_subjects": 2, "n_gestures": 7, "repetitions": 2, "repetition_s": 0.25},
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    out = {}
    for kind in KINDS:  # a writer without tiny sizes here runs on its defaults
        params = TINY.get(kind, {})
        out[kind] = root / kind
        datasets.write_synthetic(kind, out[kind], params, seed=7)
    return out


def _read_all(kind: str, raw: Path) -> list[Recording]:
    r = get_dataset(kind)
    return [r.read_recording(raw, s, k, {}) for s, k in r.list_recordings(raw, {})]


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def _same_data(a: Path, b: Path) -> bool:
    """Files hold the same data (.mat headers carry a creation time, so compare their arrays)."""
    if a.suffix != ".mat":
        return filecmp.cmp(a, b, shallow=False)
    ma, mb = scipy.io.loadmat(a), scipy.io.loadmat(b)
    keys = [k for k in ma if not k.startswith("__")]
    if keys != [k for k in mb if not k.startswith("__")]:
        return False
    for k in keys:
        xa, xb = ma[k], mb[k]
        if xa.dtype == object:
            if xa.shape != xb.shape or not all(np.array_equal(u, v) for u, v in zip(xa.ravel(), xb.ravel())):
                return False
        elif not np.array_equal(xa, xb):
            return False
    return True


# ------------------------------------------------------------------------------- parameters

def test_default_params_are_fresh_copies():
    assert {"epn612", "hyser", "csl", "icelab"} <= set(KINDS)
    for kind in KINDS:
        p = datasets.synthetic_params(kind, {})
        assert "fs" in p and "subject_variability" in p
        assert set(synthetic.PHYSICS_DEFAULTS) <= set(p)
        p["fs"] = -1
        assert datasets.synthetic_params(kind, {})["fs"] > 0
        assert get_dataset(kind).SYNTHETIC_DEFAULTS["fs"] > 0
    hyser = datasets.synthetic_params("hyser", {})
    hyser["gestures"].append(1)  # nested values are copies too
    assert datasets.synthetic_params("hyser", None)["gestures"] == [6, 7, 8, 9, 10, 11, 30, 31, 32, 34]
    assert datasets.synthetic_params("epn612", {})["fs"] == 200
    # values are normalised, so 2 and 2.0 write the same files
    assert datasets.synthetic_params("epn612", {"repetition_s": 2})["repetition_s"] == 2.0
    assert isinstance(datasets.synthetic_params("epn612", {"repetition_s": 2})["repetition_s"], float)


def test_unknown_kind_and_key_raise_naming_them(tmp_path):
    with pytest.raises(ConfigError, match="nosuch"):
        datasets.synthetic_params("nosuch", {})
    with pytest.raises(ConfigError, match="no synthetic generator.*epn612"):
        datasets.synthetic_params("myoarmband", {})
    assert not datasets.has_synthetic("myoarmband")
    with pytest.raises(ConfigError, match="n_subjectz"):
        datasets.write_synthetic("hyser", tmp_path / "x", {"n_subjectz": 2}, seed=0)
    with pytest.raises(ConfigError, match="n_subjectz"):
        datasets.synthetic_recordings("csl", {"n_subjectz": 2})
    with pytest.raises(ConfigError, match="n_subjects"):
        datasets.write_synthetic("icelab", tmp_path / "x", {"n_subjects": 0}, seed=0)
    with pytest.raises(ConfigError, match="gestures"):
        datasets.write_synthetic("hyser", tmp_path / "x", {"gestures": [35]}, seed=0)
    with pytest.raises(ConfigError, match="bad_channel_prob"):
        datasets.write_synthetic("csl", tmp_path / "x", {"bad_channel_prob": 1.5}, seed=0)
    with pytest.raises(ConfigError, match="fewer than 10 samples"):
        datasets.write_synthetic("epn612", tmp_path / "x", {"repetition_s": 0.01}, seed=0)
    with pytest.raises(ConfigError, match="seed"):
        datasets.write_synthetic("icelab", tmp_path / "x", {}, seed=-1)
    assert not (tmp_path / "x").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", KINDS)
def test_expected_recordings_match_reader(kind, tiny):
    listed = get_dataset(kind).list_recordings(tiny[kind], {})
    assert listed == datasets.synthetic_recordings(kind, TINY.get(kind, {}))


def test_expected_recordings_defaults():
    assert datasets.synthetic_recordings("epn612", {}) == [(i, 1) for i in range(18)]
    assert datasets.synthetic_recordings("hyser", {}) == [(s, 1) for s in range(1, 6)]
    assert datasets.synthetic_recordings("csl", {}) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert datasets.synthetic_recordings("icelab", {}) == [(1, 1)]


# -------------------------------------------------------------------- structure after reading

def test_epn612_structure(tiny):
    recs = _read_all("epn612", tiny["epn612"])
    assert [r.subject for r in recs] == [0, 1, 2, 3]
    for r in recs:
        assert r.emg.shape[1] == 8 and r.fs == 200 and r.layout.name == "myo_ring8"
        counts = r.trials["label"].value_counts().sort_index().tolist()
        # 5 kept gestures x 2 reps x (2 labelled sets for trainingJSON, 1 for testingJSON)
        assert counts == ([4] * 5 if r.subject < 2 else [2] * 5)
        assert (r.trials["stop"] - r.trials["start"] == 200).all()
        active = r.trials[r.trials["label"] > 0]
        assert (active["active_start"] >= active["start"]).all()
        assert (active["active_stop"] <= active["stop"]).all()
        assert (r.trials.loc[r.trials["label"] == 0, "active_start"] == -1).all()


def test_hyser_structure(tiny):
    r = get_dataset("hyser")
    opts = {"segments_per_trial": 2}  # the reader's default is the real set's 3
    recs = [r.read_recording(tiny["hyser"], s, k, opts) for s, k in r.list_recordings(tiny["hyser"], {})]
    assert [(r.subject, r.session) for r in recs] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    for r in recs:
        assert r.emg.shape == (3 * 2 * 2 * 512, 256) and r.fs == 2048 and r.units == "mV"
        assert r.layout.name == "hyser_16x16"
        assert r.trials["gesture_id"].tolist() == [6] * 4 + [7] * 4 + [30] * 4
        assert r.trials["segment"].tolist() == [0, 1] * 6
        assert r.trials["gesture_trial"].tolist() == [0, 0, 1, 1] * 3
        assert r.trials["repetition"].tolist() == [0, 1, 2, 3] * 3
    labels = (tiny["hyser"] / "subject01_session1" / "label_dynamic.txt").read_text()
    assert labels.strip() == ",".join(["6"] * 4 + ["7"] * 4 + ["30"] * 4)


def test_csl_structure(tiny):
    recs = _read_all("csl", tiny["csl"])
    assert [(r.subject, r.session) for r in recs] == [(1, 1), (1, 2)]
    for r in recs:
        assert r.emg.shape[1] == 168 and r.layout.name == "csl_7x24" and r.fs == 2048
        assert r.trials["label"].value_counts().sort_index().tolist() == [6, 2, 2]  # idle: 3x
    raw = scipy.io.loadmat(tiny["csl"] / "subject1" / "session1" / "gest1.mat")["gestures"]
    assert raw.shape == (2, 1) and raw[0, 0].shape == (192, 512)
    assert np.all(raw[0, 0][7::8] == 0)  # the unpaired bipolar row carries nothing
    assert np.all(np.abs(raw[0, 0][np.arange(192) % 8 != 7]).max(axis=1) > 0)


def test_icelab_structure(tiny, tmp_path):
    recs = _read_all("icelab", tiny["icelab"])
    assert [(r.subject, r.session) for r in recs] == [(1, 1), (2, 1)]
    for r in recs:
        assert r.emg.shape == (7 * 2 * 640, 192) and r.fs == 2560 and r.layout.name == "icelab_8x24"
        assert r.gesture_names[0] == "hand close" and r.gesture_names[6] == "wrist flexion"
    m = scipy.io.loadmat(tiny["icelab"] / "001-003-002.mat")
    assert m["Data"].shape == (640, 193) and m["Data"].dtype == np.float32
    datasets.write_synthetic("icelab", tmp_path / "i", {**TINY["icelab"], "trailing_column": False,
                                                        "n_gestures": 2}, seed=7)
    assert scipy.io.loadmat(tmp_path / "i" / "001-002-002.mat")["Data"].shape == (640, 192)
    assert sorted(p.name for p in (tmp_path / "i").iterdir())[:2] == ["001-001-001.mat", "001-001-002.mat"]


def test_lossless_raw_values(tiny):
    rec = get_dataset("hyser").read_recording(tiny["hyser"], 2, 1, {})
    d = wfdb.rdrecord(str(tiny["hyser"] / "subject02_session1" / "dynamic_raw_sample3"),
                      physical=False).d_signal
    assert np.array_equal(rec.raw_values()[2 * 512:3 * 512], d)
    assert rec.raw_values().dtype == np.int16

    rec = get_dataset("epn612").read_recording(tiny["epn612"], 1, 1, {})
    doc = json.loads((tiny["epn612"] / "trainingJSON" / "user2" / "user2.json").read_text())
    first = doc["trainingSamples"]["idx_1"]["emg"]
    assert np.array_equal(rec.raw_values()[:200], np.array([first[f"ch{c}"] for c in range(1, 9)]).T)
    assert rec.raw_values().dtype == np.int8


def test_epn612_native_json(tiny):
    doc = json.loads((tiny["epn612"] / "testingJSON" / "user1" / "user1.json").read_text())
    assert set(doc) >= {"userInfo", "trainingSamples", "testingSamples"}
    train = doc["trainingSamples"]
    assert len(train) == 12 and sorted(int(k[4:]) for k in train) == list(range(1, 13))
    fist = next(s for s in train.values() if s["gestureName"] == "fist")
    gt = np.array(fist["groundTruth"])
    assert set(gt.tolist()) == {0, 1}
    start, end = fist["groundTruthIndex"]
    assert gt[start - 1] == 1 and gt[end - 1] == 1 and gt[:start - 1].sum() == 0 and gt[end:].sum() == 0
    assert all("groundTruth" not in s for s in train.values() if s["gestureName"] == "noGesture")
    # the testing users' testingSamples are unlabelled, as in the real set
    assert all("gestureName" not in s and "groundTruth" not in s for s in doc["testingSamples"].values())
    values = np.concatenate([s["emg"][f"ch{c}"] for s in train.values() for c in range(1, 9)])
    assert values.min() >= -128 and values.max() <= 127


def test_write_wfdb16_matches_wrsamp(tmp_path):
    d = np.random.default_rng(0).integers(-30000, 30000, (300, 5)).astype(np.int16)
    names = [f"ch{i + 1}" for i in range(5)]
    wfdb.wrsamp("rec", fs=2048, units=["mV"] * 5, sig_name=names, d_signal=d, fmt=["16"] * 5,
                adc_gain=[983.04] * 5, baseline=[0] * 5, write_dir=str(tmp_path))
    (tmp_path / "own").mkdir()
    synthetic.write_wfdb16(tmp_path / "own", "rec", d, 2048, 983.04)
    for suffix in (".hea", ".dat"):
        assert filecmp.cmp(tmp_path / f"rec{suffix}", tmp_path / "own" / f"rec{suffix}", shallow=False)


# ------------------------------------------------------------------ seeding and atomic writes

@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_data_other_seed_other_data(kind, tiny, tmp_path):
    datasets.write_synthetic(kind, tmp_path / "a", TINY.get(kind, {}), seed=7)
    files = _files(tiny[kind])
    assert files == _files(tmp_path / "a")
    assert all(_same_data(tiny[kind] / f, tmp_path / "a" / f) for f in files)
    datasets.write_synthetic(kind, tmp_path / "b", TINY.get(kind, {}), seed=8)
    data_files = [f for f in files if f.suffix in (".json", ".dat", ".mat")]
    assert not any(_same_data(tiny[kind] / f, tmp_path / "b" / f) for f in data_files)


def test_subject_data_do_not_depend_on_subject_count(tmp_path):
    small = {**TINY["hyser"], "n_subjects": 1, "sessions": [1]}
    datasets.write_synthetic("hyser", tmp_path / "h1", small, seed=3)
    datasets.write_synthetic("hyser", tmp_path / "h3", {**small, "n_subjects": 3, "sessions": [2, 1]},
                               seed=3)
    for f in _files(tmp_path / "h1"):
        assert filecmp.cmp(tmp_path / "h1" / f, tmp_path / "h3" / f, shallow=False), f
    e = TINY["epn612"]
    datasets.write_synthetic("epn612", tmp_path / "e1", {**e, "n_training_users": 1}, seed=3)
    datasets.write_synthetic("epn612", tmp_path / "e3", {**e, "n_training_users": 3}, seed=3)
    for f in _files(tmp_path / "e1"):
        assert filecmp.cmp(tmp_path / "e1" / f, tmp_path / "e3" / f, shallow=False), f


def test_generation_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "data"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    datasets.write_synthetic("icelab", out, {**TINY["icelab"], "n_gestures": 1}, seed=0)
    assert not (out / "stale.txt").exists() and (out / "001-001-001.mat").exists()

    def broken(path, params, seed):
        path.mkdir(parents=True)
        (path / "half.mat").write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(get_dataset("icelab"), "write_synthetic", broken)
    with pytest.raises(RuntimeError):
        datasets.write_synthetic("icelab", tmp_path / "new", {}, seed=0)
    with pytest.raises(RuntimeError):
        datasets.write_synthetic("icelab", out, {}, seed=0)  # the old copy stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no temp folder left behind
    assert (out / "001-001-001.mat").exists()


# --------------------------------------------------------------------------------- physics

def _rms_features(rec: Recording, last_s: float | None = None) -> np.ndarray:
    """(trials, channels) RMS of each trial's active part (or its last ``last_s`` seconds)."""
    out = []
    for i, row in rec.trials.reset_index(drop=True).iterrows():
        if row["active_start"] >= 0:
            x = rec.emg[row["active_start"]:row["active_stop"]]
        else:
            x = rec.trial_emg(i)
            if last_s:
                x = x[-int(last_s * rec.fs):]
        out.append(np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=0)))
    return np.array(out)


def _nearest_centroid(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray) -> float:
    classes = np.unique(ytr)
    centroids = np.stack([xtr[ytr == c].mean(axis=0) for c in classes])
    pred = classes[((xte[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(axis=1)]
    return float(np.mean(pred == yte))


@pytest.fixture(scope="module")
def hyser_full(tmp_path_factory) -> list[Recording]:
    raw = tmp_path_factory.mktemp("hyser_full") / "hyser"
    params = {"n_subjects": 1, "sessions": [1, 2], "segment_s": 0.75, "bad_channel_prob": 0.0}
    datasets.write_synthetic("hyser", raw, params, seed=11)
    return _read_all("hyser", raw)


def test_gestures_differ_spatially_within_subject(hyser_full):
    rec = hyser_full[0]
    x = np.log(_rms_features(rec, last_s=0.5))
    y = rec.trials["label"].to_numpy()
    first = rec.trials["gesture_trial"].to_numpy() == 0
    acc = _nearest_centroid(x[first], y[first], x[~first], y[~first])
    assert acc >= 0.8, acc  # chance: 0.1


def test_hd_maps_show_blobs(hyser_full):
    rec = hyser_full[0]
    x = _rms_features(rec, last_s=0.5)
    y = rec.trials["label"].to_numpy()
    contrast = []
    for label in range(len(rec.gesture_names)):
        grid = rec.layout.to_grid(x[y == label].mean(axis=0))  # (16, 16) on the physical mosaic
        # neighbour pairs inside the extensor and the flexor halves (the halves are not adjacent)
        halves = (grid[:8], grid[8:])
        a = np.concatenate([h[:, :-1].ravel() for h in halves] + [h[:-1].ravel() for h in halves])
        b = np.concatenate([h[:, 1:].ravel() for h in halves] + [h[1:].ravel() for h in halves])
        r = np.corrcoef(a, b)[0, 1]
        assert r > 0.8, (label, r)
        contrast.append(grid.max() / np.median(grid))
    # blobs, not flat maps (weak gestures of small deep muscles give fainter ones)
    assert min(contrast) > 1.5 and np.mean(contrast) > 2.5, contrast


def test_sessions_differ_slightly(hyser_full):
    s1, s2 = hyser_full[0], hyser_full[1]
    assert (s1.subject, s1.session, s2.session) == (1, 1, 2)
    m1, m2 = _rms_features(s1, 0.5), _rms_features(s2, 0.5)
    y = s1.trials["label"].to_numpy()
    for label in range(3):
        a, b = m1[y == label].mean(0), m2[y == label].mean(0)
        r = np.corrcoef(a, b)[0, 1]
        assert 0.6 < r < 0.9999, r


def test_emg_spectrum_is_band_limited(hyser_full):
    rec = hyser_full[0]
    x = rec.trial_emg(0)[-1024:].astype(np.float64)
    x = x[:, np.argsort(x.std(axis=0))[-32:]]  # channels over the active muscles
    x -= x.mean(axis=0)
    psd = (np.abs(np.fft.rfft(x, axis=0)) ** 2).sum(axis=1)
    f = np.fft.rfftfreq(len(x), 1 / rec.fs)
    band = psd[(f >= 15) & (f <= 500)].sum() / psd.sum()
    median_f = f[np.searchsorted(np.cumsum(psd), psd.sum() / 2)]
    assert band > 0.9 and 40 < median_f < 200, (band, median_f)


@pytest.fixture(scope="module")
def epn_users(tmp_path_factory) -> list[Recording]:
    raw = tmp_path_factory.mktemp("epn") / "epn"
    datasets.write_synthetic("epn612", raw, {"n_training_users": 6, "n_testing_users": 0,
                                               "repetitions_per_gesture": 4}, seed=5)
    return _read_all("epn612", raw)


def test_cross_subject_is_harder_than_within_subject(epn_users):
    feats = [np.log(_rms_features(r) + 1.0) for r in epn_users]
    labels = [r.trials["label"].to_numpy() for r in epn_users]
    within, cross = [], []
    for i, (x, y) in enumerate(zip(feats, labels)):
        odd = epn_users[i].trials["repetition"].to_numpy() % 2 == 1
        within.append(_nearest_centroid(x[~odd], y[~odd], x[odd], y[odd]))
        xo = np.concatenate([f for j, f in enumerate(feats) if j != i])
        yo = np.concatenate([lab for j, lab in enumerate(labels) if j != i])
        cross.append(_nearest_centroid(xo, yo, x, y))
    assert np.mean(within) > 0.85, within  # chance 0.2
    assert np.mean(cross) < np.mean(within) - 0.1, (within, cross)
    assert np.mean(cross) > 0.3, cross


def test_subjects_are_identifiable(epn_users):
    # a subject component: rest-free RMS patterns identify the user above chance
    x = np.concatenate([np.log(_rms_features(r) + 1.0) for r in epn_users])
    s = np.concatenate([np.full(len(r.trials), r.subject) for r in epn_users])
    lab = np.concatenate([r.trials["label"].to_numpy() for r in epn_users])
    rep = np.concatenate([r.trials["repetition"].to_numpy() for r in epn_users])
    keep = lab > 0
    x = np.concatenate([x[keep], np.eye(5)[lab[keep]] * 10], axis=1)  # condition on the gesture
    odd = rep[keep] % 2 == 1
    acc = _nearest_centroid(x[~odd], s[keep][~odd], x[odd], s[keep][odd])
    assert acc > 0.5, acc  # chance 1/6


def test_active_segment_carries_the_activity(epn_users):
    rec = epn_users[0]
    for i, row in rec.trials.iterrows():
        if row["label"] == 0:
            continue
        x = rec.trial_emg(i).astype(float)
        a0, a1 = row["active_start"] - row["start"], row["active_stop"] - row["start"]
        inside = np.sqrt(np.mean(x[a0:a1] ** 2))
        outside = np.sqrt(np.mean(np.concatenate([x[:a0], x[a1:]]) ** 2))
        assert inside > 1.5 * outside, (i, inside, outside)
