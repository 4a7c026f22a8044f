"""The cross-user study's tables: the loss experiment's table and tests from a hand-built score table."""
import numpy as np
import pandas as pd
import pytest

from myoflow.studies.crossuser import (
    best_feature_groups, factor_table, factor_tests, loss_rows, loss_table, loss_tests, own_variant_rows,
)


def _scores(shift: dict[str, float], n_users=12, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.5, 0.8, n_users)
    rows = []
    for norm in ("none", "ema"):
        for loss, d in shift.items():
            for u in range(n_users):
                for fold_part in (0, 1):  # two rows per user: the table must average them first
                    rows.append({"protocol": "crossuser", "model": "MHCNN", "train_variant": "raw",
                                 "test_variant": "raw", "norm": norm, "loss": loss, "subject": 100 + u,
                                 "fold": fold_part, "metric": "balanced_accuracy",
                                 "value": base[u] + d + (0.01 if fold_part else -0.01)})
    rows.append({**rows[0], "model": "LDA", "loss": "none"})
    return pd.DataFrame(rows)


def test_loss_table_is_mean_and_sd_over_users_of_per_user_means():
    scores = _scores({"ce": 0.0, "cvar": 0.05, "trp": 0.0})
    rows = loss_rows(scores, ["MHCNN"])
    assert set(rows["model"]) == {"MHCNN"}
    table = loss_table(rows, ["ce", "cvar", "trp"])
    assert list(table["loss"].unique()) == ["ce", "cvar", "trp"]
    cell = table[(table["loss"] == "cvar") & (table["norm"] == "none")].iloc[0]
    per_user = rows[(rows["loss"] == "cvar") & (rows["norm"] == "none")].groupby("subject")["value"].mean()
    assert cell["n"] == 12
    assert cell["mean"] == pytest.approx(per_user.mean())
    assert cell["sd"] == pytest.approx(per_user.std(ddof=1))


def test_loss_tests_find_a_consistent_shift_against_ce_and_no_difference_for_an_equal_loss():
    tests, ranks = loss_tests(loss_rows(_scores({"ce": 0.0, "cvar": 0.05, "trp": 0.0}), ["MHCNN"]))
    vs = tests[(tests["comparison"] == "vs_reference") & (tests["norm"] == "none")].set_index("pipeline_a")
    assert vs.loc["cvar", "p_adjusted"] < 0.01 and vs.loc["cvar", "effect"] == pytest.approx(1.0)
    assert vs.loc["trp", "p"] == pytest.approx(1.0)
    assert set(tests["comparison"]) == {"friedman", "pairwise", "vs_reference"}
    first = ranks[ranks["norm"] == "none"].set_index("loss")["mean_rank"]
    assert first.idxmin() == "cvar"


def test_loss_tests_need_two_losses():
    with pytest.raises(ValueError, match="at least two loss levels"):
        loss_tests(loss_rows(_scores({"ce": 0.0}), ["MHCNN"]))


def test_best_feature_group_is_chosen_on_validation_scores_only():
    validation = pd.DataFrame({
        "model": ["LDA"] * 4 + ["MLP"] * 4, "features": ["HTD", "HTD", "WENG", "WENG"] * 2,
        "subject": [1, 2] * 4, "balanced_accuracy": [0.6, 0.7, 0.8, 0.7, 0.9, 0.9, 0.5, 0.6],
    })
    best = best_feature_groups(validation).set_index("model")
    assert best.loc["LDA", "features"] == "WENG" and best.loc["MLP", "features"] == "HTD"
    assert best.loc["LDA", "validation_balanced_accuracy"] == pytest.approx(0.75)
    assert best.loc["LDA", "n_validation_users"] == 2
    with pytest.raises(ValueError, match="no validation scores"):
        best_feature_groups(validation.iloc[:0])


def test_factor_table_and_tests_compare_any_factor():
    scores = _scores({"ce": 0.0, "cvar": 0.05})
    rows = own_variant_rows(scores, "raw").rename(columns={"loss": "features"})
    rows = rows[rows["model"] == "MHCNN"]
    table = factor_table(rows, "features", ["model"], ["cvar", "ce"])
    assert list(table["features"]) == ["cvar", "ce"] and (table["n"] == 12).all()
    assert table.loc[0, "mean"] - table.loc[1, "mean"] == pytest.approx(0.05)
    tests, ranks = factor_tests(rows, "features", [], seed=0)
    assert set(tests["comparison"]) == {"friedman", "pairwise"}
    assert ranks.set_index("features").loc["cvar", "mean_rank"] == 1.0
