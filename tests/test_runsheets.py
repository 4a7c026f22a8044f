"""Run sheets (one row per job, every grid key a column), the split registry and the leakage guards."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myoflow.errors import ConfigError, LeakageError
from myoflow.evaluation import GRID_COLUMNS, SCORE_COLUMNS, score_predictions
from myoflow.runsheets import (
    cross_session_subjects, crossuser_sheet, disentangle_folds, disentangle_sheet, hdcnn_sheet, read_sheet, row_keys, write_sheet,
)
from myoflow.splits import (
    SPLITS, check_fold_table, cross_session, item_parts, leave_one_subject_out, read_fold_table, select, user_split,
    within_user_split, write_fold_table,
)

CU = {
    "variants": ["raw", "standard"], "test_variants": None, "feature_groups": ["HTD"],
    "within_user": {"models": ["LDA"], "train_repetitions": 2},
    "models": {
        "LDA": {"input": "HTD", "estimator": "lda", "params": {}},
        "MHCNN": {"input": "windows", "estimator": "torch", "params": {"loss": "cvar"}},
    },
}


def test_crossuser_sheet_has_one_row_per_prediction_job_and_every_grid_column():
    sheet = crossuser_sheet(CU, "epn612")
    # crossuser: 2 models x 2 train variants x 2 test variants; within_user: LDA x 2 x 2 (one job
    # fits every user)
    assert len(sheet) == 2 * 2 * 2 + 2 * 2
    assert set(GRID_COLUMNS) <= set(sheet.columns)
    assert sheet["predictions"].is_unique
    assert set(sheet.loc[sheet.model == "MHCNN", "loss"]) == {"cvar"}
    assert set(sheet.loc[sheet.model == "LDA", "loss"]) == {"none"}
    # every trained model is tested on every variant
    for _, rows in sheet.groupby("model_file"):
        assert sorted(rows["test_variant"]) == ["raw", "standard"]
    assert set(sheet["norm"]) == {"none"}


def test_crossuser_sheet_scores_each_model_with_each_norm():
    sheet = crossuser_sheet({**CU, "norms": ["none", "cumulative", "ema"]}, "epn612")
    assert len(sheet) == 3 * (2 * 2 * 2 + 2 * 2) and sheet["predictions"].is_unique
    for _, rows in sheet.groupby(["model_file", "test_variant"]):
        assert sorted(rows["norm"]) == ["cumulative", "ema", "none"]
    one = sheet[(sheet.model == "MHCNN") & (sheet.train_variant == "raw") & (sheet.test_variant == "raw")]
    # under the model and loss, the unnormalised predictions; each RunningNorm mode has its own folder
    assert dict(zip(one["norm"], one["predictions"])) == {
        "none": "results/crossuser/predictions/crossuser/raw/windows/MHCNN/cvar/test-raw/fold-0.csv.gz",
        "cumulative": "results/crossuser/predictions/crossuser/raw/windows/MHCNN/cvar/test-raw/cumulative-norm/"
                      "fold-0.csv.gz",
        "ema": "results/crossuser/predictions/crossuser/raw/windows/MHCNN/cvar/test-raw/ema-norm/fold-0.csv.gz",
    }


def test_crossuser_sheet_rejects_a_model_input_not_among_the_feature_groups():
    bad = {**CU, "models": {"LDA": {"input": "TDPSD", "estimator": "lda", "params": {}}}, "within_user":
           {"models": [], "train_repetitions": 2}}
    with pytest.raises(ConfigError, match=r"crossuser.models.LDA.input: feature group 'TDPSD'"):
        crossuser_sheet(bad, "epn612")
    with pytest.raises(ConfigError, match=r"within_user.models: \['SVM'\]"):
        crossuser_sheet({**CU, "within_user": {"models": ["SVM"], "train_repetitions": 2}}, "epn612")


def test_disentangle_sheet_protocols_x_splits_x_measures_x_folds_x_classifiers_x_latents():
    by_session = {1: [1, 2, 3], 2: [1, 2]}
    dis = {"protocols": ["corrected", "test_set_epoch", "no_adversarial_term"], "splits": ["loso", "cross_session"],
           "measures": ["rms", "td"], "classifiers": ["knn", "ann"]}
    sheet = disentangle_sheet(dis, "hyser", by_session)
    assert len(sheet) == 3 * (5 + 2) * 2 * 2 * 2
    folds = disentangle_folds(by_session, "loso")
    assert folds["fold"].tolist() == [0, 1, 2, 3, 4]
    assert folds["train_session"].tolist() == folds["test_session"].tolist() == [1, 1, 1, 2, 2]
    cross = disentangle_folds(by_session, "cross_session")
    assert list(zip(cross.train_session, cross.test_session)) == [(1, 2), (2, 1)] and (cross.test_subject == -1).all()
    assert cross_session_subjects(by_session) == [1, 2]
    # every row of one classification job (folds x classifiers x latents) shares its predictions file
    n_folds = sheet.groupby("predictions")["fold"].nunique()
    assert (sheet.groupby("predictions").size() == n_folds * 2 * 2).all()
    assert sorted(set(n_folds)) == [2, 5] and len(n_folds) == 3 * 2 * 2
    # the test-set epoch choice changes only the classification: it reuses the corrected models;
    # the adversarial defect trains its own
    by_protocol = sheet.groupby("protocol")
    assert set(by_protocol.get_group("test_set_epoch")["latents"]) == set(by_protocol.get_group("corrected")["latents"])
    assert by_protocol.get_group("test_set_epoch")["select_on_test"].all()
    no_adv = by_protocol.get_group("no_adversarial_term")
    assert not no_adv["adversarial"].any() and set(no_adv["model_protocol"]) == {"no_adversarial_term"}
    assert sheet[sheet.protocol == "corrected"]["adversarial"].all()
    with pytest.raises(ConfigError, match="cross_session needs at least 2 sessions"):
        disentangle_sheet({**dis, "splits": ["cross_session"]}, "hyser", {1: [1, 2, 3]})
    with pytest.raises(ConfigError, match="unknown disentangle split 'lopo'"):
        disentangle_folds(by_session, "lopo")


def test_cross_session_fold_table_trains_on_one_session_and_tests_on_the_other():
    table = cross_session([1, 2], [(1, 2), (2, 1)])
    check_fold_table(table, "session")
    meta = pd.DataFrame({"subject": [1, 1, 2, 2], "session": [1, 2, 1, 2], "repetition": [1, 1, 1, 1]})
    assert select(meta, table, 0, "train").tolist() == [True, False, True, False]
    assert select(meta, table, 0, "test").tolist() == [False, True, False, True]
    with pytest.raises(ConfigError, match="both 1"):
        cross_session([1], [(1, 1)])


def test_hdcnn_sheet_skips_splits_a_dataset_cannot_support():
    hd = {"datasets": ["icelab", "csl"], "splits": ["sample", "repetition", "session", "subject"],
          "widths": [0.2, 1], "folds": 3}
    recordings = {"icelab": [(1, 1)], "csl": [(1, 1), (1, 2), (2, 1), (2, 2)]}
    sheet, skipped = hdcnn_sheet(hd, recordings)
    assert len(skipped) == 2 and all("icelab" in s for s in skipped)
    counts = sheet.groupby(["dataset", "split"]).size().to_dict()
    assert counts == {("icelab", "sample"): 6, ("icelab", "repetition"): 6, ("csl", "sample"): 6,
                      ("csl", "repetition"): 6, ("csl", "session"): 4, ("csl", "subject"): 4}
    assert set(sheet["width"]) == {"0.2", "1.0"}
    assert sheet.loc[sheet.split == "sample", "leaky"].all() and not sheet.loc[sheet.split != "sample", "leaky"].any()


def test_sheet_round_trip_and_scores_take_their_keys_from_the_row(tmp_path):
    sheet = crossuser_sheet(CU, "epn612")
    write_sheet(tmp_path / "runs.tsv", sheet)
    back = read_sheet(tmp_path / "runs.tsv")
    assert len(back) == len(sheet) and back["fold"].dtype.kind == "i"
    row = back.iloc[0].to_dict()
    pred = pd.DataFrame({"subject": [5, 5, 6], "y_true": [0, 1, 1], "y_pred": [0, 1, 0]})
    scores = score_predictions(pred, row_keys(row))
    assert list(scores.columns) == SCORE_COLUMNS
    for column in ("train_variant", "test_variant", "model", "protocol"):
        assert set(scores[column]) == {row[column]}


# ---- splits ----------------------------------------------------------------------------------

def _items(subjects=(1, 2), sessions=(1, 2), reps=(0, 1, 2)):
    return pd.DataFrame([(s, k, r) for s in subjects for k in sessions for r in reps],
                        columns=["subject", "session", "repetition"])


def _meta(n_per=4, subjects=(1, 2), sessions=(1, 2), reps=(0, 1, 2)):
    rows = [(s, k, r) for s in subjects for k in sessions for r in reps for _ in range(n_per)]
    return pd.DataFrame(rows, columns=["subject", "session", "repetition"])


def test_split_registry_lists_the_split_types():
    assert SPLITS.names() == ["finetune", "repetition", "sample", "session", "subject"]
    with pytest.raises(ConfigError, match="unknown split 'trial'; known: finetune, repetition, sample, session, subject"):
        SPLITS.get("trial")


def test_session_split_tests_each_session_of_every_subject_and_never_trains_on_it(tmp_path):
    table = SPLITS.build("session", _items())
    write_fold_table(tmp_path / "f.csv", table, unit="session")
    meta = _meta()
    for fold, session in enumerate((1, 2)):
        train, test = select(meta, table, fold, "train"), select(meta, table, fold, "test")
        assert set(meta[test].session) == {session} and session not in set(meta[train].session)
        assert set(meta[test].subject) == {1, 2}


def test_sample_split_cuts_shuffled_items_into_disjoint_parts_and_is_leaky(tmp_path):
    table = SPLITS.build("sample", _items(), k=3, seed=5)
    meta = _meta()
    tests = [select(meta, table, f, "test") for f in range(3)]
    assert np.array_equal(np.sum(tests, axis=0), np.ones(len(meta)))  # every item tested once
    for f in range(3):
        assert not (select(meta, table, f, "train") & tests[f]).any()
    # ... but a repetition lands in train and test: the guard refuses it unless declared leaky
    with pytest.raises(LeakageError):
        write_fold_table(tmp_path / "f.csv", table, unit="repetition")
    assert not (tmp_path / "f.csv").exists()
    write_fold_table(tmp_path / "f.csv", table, unit="repetition", leaky=True)
    back = read_fold_table(tmp_path / "f.csv")
    assert np.array_equal(select(meta, back, 1, "test"), tests[1])
    assert np.array_equal(item_parts(10, 3, 5), item_parts(10, 3, 5))


def test_leakage_guard_names_the_fold_and_the_subject(tmp_path):
    table = leave_one_subject_out([1, 2, 3])
    check_fold_table(table, "subject")
    leaky = pd.concat([table, table[(table.fold == 1) & (table.role == "test")].assign(role="train")])
    with pytest.raises(LeakageError, match=r"fold 1: subject 2"):
        write_fold_table(tmp_path / "f.csv", leaky, unit="subject")
    assert not (tmp_path / "f.csv").exists()


def test_leakage_guard_on_repetitions_of_within_user_folds():
    table = within_user_split([4], n_repetitions=4, train_repetitions=2)
    check_fold_table(table, "repetition")
    overlap = table.copy()
    overlap.loc[overlap.role == "test", "repetitions"] = "1;2;3"
    with pytest.raises(LeakageError, match=r"fold 0: subject 4 session -1 repetitions 0;1 \(train\) / 1;2;3"):
        check_fold_table(overlap, "repetition")
    # a user split by ids: a validation user that is also tested is a leak too
    with pytest.raises(LeakageError, match="subject 3"):
        check_fold_table(user_split([1, 2], [3], [3, 4]), "subject")


def test_normalisation_guard_fires_when_statistics_saw_more_than_the_training_rows():
    import logging

    from myoflow.estimators import build_estimator, check_normalisation_fitted_on, fit_fold

    rng = np.random.default_rng(0)
    meta = pd.DataFrame({"subject": np.repeat([1, 2, 3], 20), "session": 1, "repetition": 0})
    X, y = rng.normal(size=(60, 4)), np.tile([0, 1], 30)
    folds = leave_one_subject_out([1, 2, 3])
    est = fit_fold(build_estimator("lda", {}, seed=0), X, y, meta, folds, 0, logging.getLogger("t"))
    scaler = est.steps[0][1]
    assert scaler.n_samples_seen_ == 40  # the two training subjects only
    np.testing.assert_allclose(scaler.mean_, X[meta.subject.to_numpy() != 1].mean(axis=0))
    est.fit(X, y)  # statistics of every row, the held-out subject included
    with pytest.raises(LeakageError, match="fitted on 60 rows, the fold has 40 training rows"):
        check_normalisation_fitted_on(est, 40, 0)
    leaky = pd.concat([folds, folds[(folds.fold == 0) & (folds.role == "test")].assign(role="train")])
    with pytest.raises(LeakageError, match="fold 0: 20 items are both training and test items"):
        fit_fold(build_estimator("lda", {}, seed=0), X, y, meta, leaky, 0, logging.getLogger("t"))


def test_loss_sweep_trains_each_swept_model_once_per_loss_and_grl_on_the_user_head_model():
    from myoflow.runsheets import crossuser_model_config, crossuser_trained_models

    models = {**CU["models"], "MHCNN": {"input": "windows", "estimator": "torch",
                                        "params": {"model": "MHCNN", "loss": "cvar", "loss_params": {"alpha": 0.5}}}}
    cu = {**CU, "models": models, "loss_sweep": {"models": ["MHCNN"], "losses": ["ce", "cvar", "grl"]},
          "loss_params": {"cvar": {"alpha": 0.3}, "grl": {"ramp_epochs": 50}}}
    assert crossuser_trained_models(cu) == [("LDA", "none", "HTD"), ("MHCNN", "ce", "windows"),
                                            ("MHCNN", "cvar", "windows"), ("MHCNN", "grl", "windows")]
    sheet = crossuser_sheet(cu, "epn612")
    cross = sheet[sheet["protocol"] == "crossuser"]
    assert sorted(cross.loc[cross["model"] == "MHCNN", "loss"].unique()) == ["ce", "cvar", "grl"]
    assert cross["model_file"].str.contains("/windows/MHCNN/grl/fold-0.model").any()
    assert cross["predictions"].is_unique
    # the model's own loss_params win over crossuser.loss_params for its own loss only
    assert crossuser_model_config(cu, "MHCNN", "cvar")["params"]["loss_params"] == {"alpha": 0.5}
    assert crossuser_model_config(cu, "MHCNN", "ce")["params"]["loss_params"] == {}
    grl = crossuser_model_config(cu, "MHCNN", "grl")["params"]
    assert grl["model"] == "mhcnn_grl" and grl["loss_params"] == {"ramp_epochs": 50}
    assert crossuser_model_config(cu, "LDA", "none")["estimator"] == "lda"


def test_feature_grid_trains_each_grid_model_once_per_group():
    from myoflow.runsheets import crossuser_feature_grid, crossuser_model_config, crossuser_trained_models

    models = {**CU["models"], "MLP": {"input": "HTD", "estimator": "torch", "params": {"model": "MLP"}}}
    cu = {**CU, "models": models, "feature_groups": ["HTD", "WENG", "RMS"],
          "feature_grid": {"models": ["LDA", "MLP"], "groups": ["HTD", "WENG"]}}
    assert crossuser_trained_models(cu) == [("LDA", "none", "HTD"), ("LDA", "none", "WENG"),
                                            ("MHCNN", "cvar", "windows"), ("MLP", "ce", "HTD"), ("MLP", "ce", "WENG")]
    sheet = crossuser_sheet(cu, "epn612")
    cross = sheet[sheet["protocol"] == "crossuser"]
    assert set(cross.loc[cross.model == "MLP", "features"]) == {"HTD", "WENG"}
    assert cross["predictions"].is_unique and cross["model_file"].str.contains("/raw/WENG/LDA/none/").any()
    assert set(sheet.loc[sheet.protocol == "within_user", "features"]) == {"HTD"}  # its own input
    assert crossuser_model_config(cu, "MLP", "ce", "WENG")["input"] == "WENG"
    assert crossuser_feature_grid({**cu, "feature_grid": {"models": ["LDA"], "groups": None}})[1] == ["HTD", "WENG", "RMS"]
    with pytest.raises(ConfigError, match="feature_grid.groups: \\['TDPSD'\\] not among crossuser.feature_groups"):
        crossuser_feature_grid({**cu, "feature_grid": {"models": ["LDA"], "groups": ["TDPSD"]}})
    with pytest.raises(ConfigError, match="'MHCNN' takes raw windows"):
        crossuser_feature_grid({**cu, "feature_grid": {"models": ["MHCNN"]}})


def test_loss_sweep_rejects_unknown_or_non_torch_models():
    from myoflow.runsheets import crossuser_model_config, crossuser_trained_models

    with pytest.raises(ValueError, match="loss_sweep.models.*'SVM'"):
        crossuser_trained_models({**CU, "loss_sweep": {"models": ["SVM"], "losses": ["ce"]}})
    with pytest.raises(ValueError, match="only torch models"):
        crossuser_trained_models({**CU, "loss_sweep": {"models": ["LDA"], "losses": ["ce"]}})
    lstm = {**CU, "models": {"LSTM": {"input": "windows", "estimator": "torch", "params": {"model": "LSTM"}}}}
    with pytest.raises(ValueError, match="grl needs a model with a user head"):
        crossuser_model_config(lstm, "LSTM", "grl")


def test_validation_scores_use_the_validation_items_only():
    import logging

    from myoflow.estimators import build_estimator, fit_fold, validation_scores

    rng = np.random.default_rng(0)
    meta = pd.DataFrame({"subject": np.repeat([1, 2, 3, 4], 30), "session": 1, "repetition": 0})
    y = np.tile([0, 1, 2], 40)
    X = rng.normal(size=(120, 3)) + 3 * np.eye(3)[y]
    folds = user_split([1, 2], [3], [4])
    est = fit_fold(build_estimator("lda", {}, seed=0), X, y, meta, folds, 0, logging.getLogger("t"))
    val = validation_scores(est, X, y, meta, folds, 0)
    assert list(val["subject"]) == [3] and val.loc[0, "n_windows"] == 30
    pred = est.predict(X[60:90])
    recalls = [np.mean(pred[y[60:90] == c] == c) for c in range(3)]
    assert val.loc[0, "balanced_accuracy"] == pytest.approx(np.mean(recalls))
    none = validation_scores(est, X, y, meta, user_split([1, 2], [], [3, 4]), 0)
    assert none.empty and list(none.columns) == ["subject", "n_windows", "accuracy", "balanced_accuracy"]


def test_within_user_sweep_rows_carry_r_as_their_key_and_train_models_narrows():
    from myoflow.runsheets import crossuser_trained_models

    cu = {**CU, "variants": ["raw"], "within_user": {"models": ["LDA"], "train_repetitions": [1, 4]}}
    sheet = crossuser_sheet(cu, "epn612")
    within = sheet[sheet.protocol == "within_user"]
    assert set(within["train_repetitions"]) == {"1", "4"}
    assert set(sheet.loc[sheet.protocol == "crossuser", "train_repetitions"]) == {"none"}
    assert within.loc[within.train_repetitions == "4", "model_file"].str.startswith(
        "results/crossuser/models/within_user_r4/raw/HTD/LDA/none/").all()
    assert len(within) == 2  # one per r (one test variant, one job for every user)
    assert [m for m, _, _ in crossuser_trained_models({**cu, "train_models": ["LDA"]})] == ["LDA"]
    with pytest.raises(ConfigError, match=r"crossuser.train_models: \['SVM'\] not among"):
        crossuser_trained_models({**cu, "train_models": ["SVM"]})
    with pytest.raises(ConfigError, match=r"crossuser.within_user.models: \['LDA'\] not among crossuser.train_models"):
        crossuser_trained_models({**cu, "train_models": ["MHCNN"]})


def test_fine_tuned_within_user_models_start_from_their_cross_user_model():
    from myoflow.runsheets import within_user_fine_tuned, within_user_model_config

    cu = {**CU, "variants": ["raw"], "within_user": {"models": ["LDA"], "train_repetitions": [1, 2],
                                                     "fine_tune": ["MHCNN"], "fine_tune_params": {"lr": 1e-4},
                                                     "torch_params": {"batch_size": 128, "lr": 1e-3}}}
    sheet = crossuser_sheet(cu, "epn612")
    tuned = sheet[sheet.protocol == "within_user_finetune"]
    assert set(tuned["train_repetitions"]) == {"1", "2"} and set(tuned["model"]) == {"MHCNN"}
    assert set(tuned["loss"]) == {"cvar"}  # its own loss: the cross-user model it starts from
    assert tuned["model_file"].str.startswith("results/crossuser/models/within_user_finetune_r").all()
    tuned_params = within_user_model_config(cu, "MHCNN", fine_tune=True)["params"]
    assert tuned_params["lr"] == 1e-4 and tuned_params["loss"] == "cvar" and tuned_params["batch_size"] == 128
    scratch = within_user_model_config(cu, "MHCNN", fine_tune=False)["params"]
    assert scratch["lr"] == 1e-3 and scratch["batch_size"] == 128  # torch_params only
    assert within_user_model_config(cu, "LDA", fine_tune=False)["params"] == {}  # not a torch model
    with pytest.raises(ConfigError, match="fine_tune: 'LDA' is a 'lda' estimator"):
        within_user_fine_tuned({**cu, "within_user": {**cu["within_user"], "fine_tune": ["LDA"]}})
    swept = {**cu, "loss_sweep": {"models": ["MHCNN"], "losses": ["ce"]}}  # its own cvar is not trained
    with pytest.raises(ConfigError, match="'MHCNN' with its own loss 'cvar' on 'windows' is not a trained"):
        within_user_fine_tuned(swept)


def test_incremental_cells_become_rows_with_ordering_users_and_repetitions():
    from myoflow.runsheets import incremental_cells

    cu = {**CU, "variants": ["raw"], "incremental": {"model": "LDA", "users": [1, 4], "repetitions": [2],
                                                     "orderings": ["worst_first", "random"]}}
    cells = incremental_cells(cu)
    assert [c["protocol"] for c in cells] == ["incremental_worst_first_u1_r2", "incremental_worst_first_u4_r2",
                                              "incremental_random_u1_r2", "incremental_random_u4_r2"]
    rows = crossuser_sheet(cu, "epn612")
    inc = rows[rows.protocol == "incremental"]
    assert set(map(tuple, inc[["split", "train_users", "train_repetitions"]].to_numpy())) == {
        ("worst_first", "1", "2"), ("worst_first", "4", "2"), ("random", "1", "2"), ("random", "4", "2")}
    assert inc["model_file"].str.startswith("results/crossuser/models/incremental_").all()
    with pytest.raises(ConfigError, match="incremental.model: 'SVM'"):
        incremental_cells({**cu, "incremental": {**cu["incremental"], "model": "SVM"}})
