"""Fold tables, the score table and the recording store."""
import numpy as np
import pandas as pd
import pytest

from myoflow.errors import ConfigError, DataFormatError
from myoflow.evaluation import SCORE_COLUMNS, score_predictions, subject_metrics
from myoflow.layouts import csl_7x24, hyser_16x16, myo_ring8
from myoflow.sets import ArraySet, read_set, write_set
from myoflow.splits import (
    fixed_user_split, leave_one_subject_out, read_fold_table, repetition_kfold, repetitions_per_gesture,
    select, within_user_split, write_fold_table,
)
from myoflow.store import Recording, read_recording, write_recording


def _meta():
    return pd.DataFrame({"subject": np.repeat([0, 1, 2, 3], 4), "session": 1,
                         "repetition": np.tile([0, 1, 2, 3], 4)})


def test_fixed_user_split_roles():
    t = fixed_user_split(range(10), n_training=6, n_validation=2)
    assert set(t[t.role == "train"].subject) == set(range(6))
    assert set(t[t.role == "validation"].subject) == {6, 7}
    assert set(t[t.role == "test"].subject) == {8, 9}
    with pytest.raises(ConfigError, match="no test users"):
        fixed_user_split(range(8), 6, 2)


def test_within_user_folds_never_overlap(tmp_path):
    t = within_user_split([2, 3], n_repetitions=4, train_repetitions=3)
    write_fold_table(tmp_path / "f.csv", t, unit="repetition")
    t = read_fold_table(tmp_path / "f.csv")
    meta = _meta()
    for fold in (0, 1):
        train, test = select(meta, t, fold, "train"), select(meta, t, fold, "test")
        assert not (train & test).any()
        assert meta[train].subject.nunique() == 1 and meta[test].repetition.tolist() == [3]


def test_within_user_repetition_sweep_tests_every_r_on_the_same_repetitions():
    """r = 1 and r = 2 of a sweep up to 2, one validation repetition: train on the first r,
    validate on repetition 2, test on 3 (never overlapping, the same for every r)."""
    from myoflow.errors import ConfigError

    for r in (1, 2):
        t = within_user_split([5], n_repetitions=4, train_repetitions=r, validation_repetitions=1, first_held_out=2)
        reps = t.set_index("role")["repetitions"]
        assert reps["train"] == ";".join(str(i) for i in range(r))
        assert reps["validation"] == "2" and reps["test"] == "3"
    with pytest.raises(ConfigError, match="4 repetitions per gesture do not hold 3 training"):
        within_user_split([5], n_repetitions=4, train_repetitions=3, validation_repetitions=1)


def test_repetitions_per_gesture_counts_each_asked_subject():
    meta = _meta()
    meta = meta[~((meta.subject == 2) & (meta.repetition == 3))]  # subject 2 recorded 3
    counts = repetitions_per_gesture(meta, [1, 2, 9])  # 9 recorded nothing: not counted as 0
    assert counts.to_dict() == {1: 4, 2: 3}


def test_loso_and_repetition_kfold_cover_everything_once():
    meta = _meta()
    loso = leave_one_subject_out([0, 1, 2, 3])
    tests = np.sum([select(meta, loso, f, "test") for f in range(4)], axis=0)
    assert (tests == 1).all()
    kf = repetition_kfold([0, 1, 2, 3], [0, 1, 2, 3], k=2)
    for f in (0, 1):
        tr, te = select(meta, kf, f, "train"), select(meta, kf, f, "test")
        assert not (tr & te).any() and (tr | te).all()
        # whole repetitions are held out: a repetition is never on both sides
        assert not set(meta[tr].repetition) & set(meta[te].repetition)


def test_bad_fold_table_is_named(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("fold,role,subject,session,repetitions\n0,tran,1,1,all\n")
    with pytest.raises(DataFormatError, match="bad.csv.*tran"):
        read_fold_table(p)


def test_subject_metrics_hand_checked():
    y_true = np.array([0, 0, 0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 1, 1, 0])
    m = subject_metrics(y_true, y_pred, rest_label=0)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert m["active_accuracy"] == pytest.approx(1 / 2)


def test_score_table_has_one_row_per_subject_and_metric():
    pred = pd.DataFrame({"subject": [5, 5, 6, 6], "y_true": [0, 1, 0, 1], "y_pred": [0, 1, 1, 1]})
    s = score_predictions(pred, {"study": "crossuser", "model": "LDA", "fold": 0})
    assert list(s.columns) == SCORE_COLUMNS
    assert len(s) == 2 * 4 and s["loss"].eq("none").all()
    ba = s[(s.metric == "balanced_accuracy")].set_index("subject")["value"]
    assert ba[5] == 1.0 and ba[6] == 0.5


def test_recording_store_round_trip_is_lossless(tmp_path):
    raw = np.random.default_rng(0).integers(-128, 128, (300, 8)).astype(np.int8)
    trials = pd.DataFrame({"trial": [0, 1], "label": [0, 2], "repetition": [0, 0], "start": [0, 150],
                           "stop": [150, 300], "active_start": [-1, 170], "active_stop": [-1, 250],
                           "sample_set": ["training", "testing"]})
    rec = Recording("epn612", 3, 1, raw.astype(np.float32), 200.0, "a.u.", "Myo armband", myo_ring8(),
                    ["rest", "fist", "waveIn"], trials, raw_dtype="int8", extra={"source": "x.json"})
    write_recording(tmp_path / "r.h5", rec)
    back = read_recording(tmp_path / "r.h5")
    np.testing.assert_array_equal(back.raw_values(), raw)
    pd.testing.assert_frame_equal(back.trials, trials, check_dtype=False)
    assert back.gesture_names == rec.gesture_names and back.extra == {"source": "x.json"}
    np.testing.assert_array_equal(back.layout.grid, myo_ring8().grid)


def test_store_refuses_nan_and_leaves_no_file(tmp_path):
    emg = np.zeros((10, 8), np.float32)
    emg[3, 2] = np.nan
    trials = pd.DataFrame({c: [0] for c in ["trial", "label", "repetition", "start", "active_start", "active_stop"]})
    trials["stop"] = 10
    rec = Recording("x", 1, 1, emg, 200.0, "a.u.", "d", myo_ring8(), ["rest"], trials)
    with pytest.raises(DataFormatError, match="out.h5.*NaN.*sample 3, channel 2"):
        write_recording(tmp_path / "out.h5", rec)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_store_file_is_named(tmp_path):
    p = tmp_path / "broken.h5"
    p.write_bytes(b"not hdf5")
    with pytest.raises(DataFormatError, match="broken.h5"):
        read_recording(p)


def test_array_set_alignment_and_round_trip(tmp_path):
    with pytest.raises(ValueError, match="aligned|rows"):
        ArraySet({"x": np.zeros((3, 2))}, pd.DataFrame({"subject": [1, 2]}))
    s = ArraySet({"x": np.arange(6.0).reshape(3, 2)}, pd.DataFrame({"subject": [1, 2, 3], "part": list("abc")}),
                 {"p": 1})
    write_set(tmp_path / "s.h5", s)
    back = read_set(tmp_path / "s.h5")
    np.testing.assert_array_equal(back.arrays["x"], s.arrays["x"])
    assert back.meta["part"].tolist() == ["a", "b", "c"] and back.attrs == {"p": 1}


def test_layouts_place_every_channel_once():
    for layout, n in ((hyser_16x16(), 256), (csl_7x24(), 168), (myo_ring8(), 8)):
        assert sorted(layout.grid[layout.grid >= 0].tolist()) == list(range(n))
    # Hyser's physical mosaic is not the storage-order reshape (the source defect)
    assert not np.array_equal(hyser_16x16().grid, np.arange(256).reshape(16, 16))


def test_user_split_can_validate_on_held_out_repetitions_of_the_training_users():
    from myoflow.splits import check_fold_table, user_split

    reps = {0: [0, 1, 2, 3], 1: [0, 1, 2, 3]}
    table = user_split([0, 1], [5], [7, 8], validation_source="repetitions", repetitions_of=reps,
                       validation_repetitions=1)
    meta = pd.DataFrame({"subject": [0, 0, 1, 5, 7], "session": 1, "repetition": [0, 3, 2, 0, 1]})
    np.testing.assert_array_equal(select(meta, table, 0, "train"), [True, False, True, False, False])
    np.testing.assert_array_equal(select(meta, table, 0, "validation"), [False, True, False, False, False])
    both = user_split([0, 1], [5], [7, 8], validation_source="both", repetitions_of=reps)
    np.testing.assert_array_equal(select(meta, both, 0, "validation"), [False, True, False, True, False])
    check_fold_table(table, "subject")  # the test users stay apart
    with pytest.raises(ValueError, match="training user 0 has 1 repetition"):
        user_split([0], [], [7], validation_source="repetitions", repetitions_of={0: [0]})
    with pytest.raises(ValueError, match="validation.*'folds'"):
        user_split([0], [], [7], validation_source="folds")


def test_incremental_orderings_and_split():
    from myoflow.errors import ConfigError
    from myoflow.splits import incremental_split, user_ordering

    ranking = pd.DataFrame({"subject": [3, 1, 2, 0], "balanced_accuracy": [0.9, 0.5, 0.7, 0.5]})
    assert user_ordering(ranking, "worst_first") == [0, 1, 2, 3]  # ties by id
    assert user_ordering(ranking, "best_first") == [3, 2, 0, 1]
    rand = user_ordering(ranking, "random", seed=13)
    assert sorted(rand) == [0, 1, 2, 3] and rand == user_ordering(ranking, "random", seed=13)
    with pytest.raises(ConfigError, match="ordering 'alphabetical'"):
        user_ordering(ranking, "alphabetical")
    t = incremental_split([3, 2, 0, 1], 2, 4, validation=[5], test=[6, 7])
    train = t[t.role == "train"]
    assert sorted(train["subject"]) == [2, 3] and set(train["repetitions"]) == {"0;1;2;3"}
    assert list(t.loc[t.role == "test", "subject"]) == [6, 7]
    with pytest.raises(ConfigError, match="5 training users asked, the split has 4"):
        incremental_split([3, 2, 0, 1], 5, 1, [], [6])
