"""Statistics pinned on small cases that can be checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from myoflow import stats


def make_scores(values: dict[str, dict[int, list[float]]], metric: str = "bacc") -> pd.DataFrame:
    """Long score table from {model: {subject: [fold values]}}; other design columns constant."""
    rows = []
    for model, by_subject in values.items():
        for subject, folds in by_subject.items():
            for fold, v in enumerate(folds):
                rows.append({**{c: "none" for c in stats.GRID_COLUMNS},
                             **dict(study="s", dataset="d", train_variant="raw", test_variant="raw",
                                    features="HTD", model=model, protocol="crossuser", fold=fold,
                                    subject=subject, metric=metric, value=v)})
    return pd.DataFrame(rows, columns=stats.SCORE_COLUMNS)


def random_scores(k: int = 3, n: int = 12, folds: int = 2, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return make_scores({
        f"M{j}": {s: list(0.6 + 0.05 * j + rng.normal(0, 0.05, folds)) for s in range(n)}
        for j in range(k)
    })


# ------------------------------------------------------------------------------- tables

def test_pipeline_labels_join_default_columns():
    scores = make_scores({"LDA": {0: [0.5]}})
    assert stats.pipeline_labels(scores).tolist() == [
        "crossuser/none/none/none/raw/raw/HTD/LDA/none/none/none/none/none/none"]
    assert stats.pipeline_labels(scores, ["model", "loss"]).tolist() == ["LDA/none"]
    with pytest.raises(ValueError, match="lacks column"):
        stats.pipeline_labels(scores, ["nonexistent"])


def test_per_subject_averages_folds_within_subject_first():
    # Subject 1 has four folds, subject 2 one: the row mean (0.64) would over-weight subject 1.
    scores = make_scores({"A": {1: [0.6, 0.8, 0.6, 0.8], 2: [0.2]}, "B": {1: [0.5], 2: [0.3]}})
    wide = stats.per_subject(scores, "bacc", ["model"])
    assert list(wide.columns) == ["A", "B"]
    assert wide.loc[1, "A"] == pytest.approx(0.7)
    assert wide.loc[2, "A"] == pytest.approx(0.2)
    summary = stats.summarize(scores, "bacc", ["model"])
    assert list(summary.columns) == ["pipeline", "metric", "mean", "sd", "median", "n", "min", "max"]
    a = summary.set_index("pipeline").loc["A"]
    assert a["mean"] == pytest.approx(0.45)  # mean of subject means (0.7 + 0.2) / 2
    assert a["sd"] == pytest.approx(np.std([0.7, 0.2], ddof=1))
    assert a["median"] == pytest.approx(0.45)
    assert a["n"] == 2
    assert (a["min"], a["max"]) == pytest.approx((0.2, 0.7))
    long = stats.per_subject_long(scores, "bacc", ["model"])
    assert list(long.columns) == ["subject", "pipeline", "value"]
    assert len(long) == 4


def test_per_subject_keeps_first_appearance_order_and_missing_cells():
    scores = make_scores({"Z": {0: [0.5], 1: [0.6]}, "A": {0: [0.4]}})
    wide = stats.per_subject(scores, "bacc", ["model"])
    assert list(wide.columns) == ["Z", "A"]
    assert np.isnan(wide.loc[1, "A"])


def test_per_subject_refuses_silent_pooling_of_design_columns():
    scores = make_scores({"A": {0: [0.5]}})
    pooled = pd.concat([scores, scores.assign(dataset="other", value=0.9)])
    with pytest.raises(ValueError, match=r"\['dataset'\]"):
        stats.per_subject(pooled, "bacc", ["model"])
    # Naming the column makes it part of the pipeline: no error.
    wide = stats.per_subject(pooled, "bacc", ["dataset", "model"])
    assert list(wide.columns) == ["d/A", "other/A"]


def test_unknown_metric_lists_known_ones():
    with pytest.raises(ValueError, match="bacc"):
        stats.per_subject(make_scores({"A": {0: [0.5]}}), "f1", ["model"])


# ------------------------------------------------------------------------------- paired tests

def test_sign_flip_exact_all_positive_n5():
    a, b = np.array([1.0, 2.0, 3.0, 4.0, 5.0]) / 10, np.zeros(5)
    two = stats.paired_test(a, b)
    assert two["test"] == "sign-flip permutation"
    assert two["p"] == pytest.approx(2 / 32)
    assert two["n"] == 5
    assert two["statistic"] == pytest.approx(0.3)  # mean difference
    assert stats.paired_test(a, b, alternative="greater")["p"] == pytest.approx(1 / 32)
    assert stats.paired_test(a, b, alternative="less")["p"] == pytest.approx(1.0)
    assert two["effect"] == pytest.approx(1.0)
    assert two["effect_name"] == "rank-biserial"


def test_sign_flip_hand_count_with_tied_sums():
    # d = (0.1, -0.1, 0.2): the 8 signed sums are 0.4, 0.2, 0.2, 0, 0, -0.2, -0.2, -0.4; the
    # observed 0.2 is reached by float sums in different orders, so the tolerance matters.
    d = np.array([0.1, -0.1, 0.2])
    assert stats.sign_flip_p(d, "greater") == pytest.approx(3 / 8)
    assert stats.sign_flip_p(d, "two-sided") == pytest.approx(6 / 8)
    assert stats.sign_flip_p(d, "less") == pytest.approx(7 / 8)


def test_wilcoxon_used_from_threshold_and_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.normal(0.8, 0.05, 16)
    b = a - rng.normal(0.02, 0.03, 16)
    res = stats.paired_test(a, b, alternative="greater")
    assert res["test"] == "wilcoxon"
    assert res["p"] == pytest.approx(sps.wilcoxon(a - b, alternative="greater").pvalue)
    d = a - b
    ranks = sps.rankdata(np.abs(d))
    assert res["statistic"] == pytest.approx(ranks[d > 0].sum())  # W+
    # Same data below the threshold switches to the exact permutation test.
    assert stats.paired_test(a, b, n_permutations_threshold=17)["test"] == "sign-flip permutation"


def test_rank_biserial_hand_examples():
    # |d| ranks 1, 2, 3, 4; R+ = 1 + 2 + 4 = 7, R- = 3 -> (7 - 3) / 10
    assert stats.rank_biserial(np.array([1.0, 2.0, -3.0, 4.0])) == pytest.approx(0.4)
    # Zeros are discarded, as in the Wilcoxon test.
    assert stats.rank_biserial(np.array([0.0, 1.0, 2.0, -3.0, 4.0, 0.0])) == pytest.approx(0.4)
    # Ties: |d| = 1, 1, 2 -> ranks 1.5, 1.5, 3; R+ = 4.5, R- = 1.5 -> 3 / 6
    assert stats.rank_biserial(np.array([1.0, -1.0, 2.0])) == pytest.approx(0.5)
    assert stats.rank_biserial(np.zeros(4)) == 0.0


def test_cohens_dz_hand_example():
    assert stats.cohens_dz(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.0)
    res = stats.paired_test([2.0, 3.0, 4.0], [1.0, 1.0, 1.0])
    assert res["cohens_d"] == pytest.approx(2.0)
    assert (res["mean_a"], res["mean_b"]) == pytest.approx((3.0, 1.0))


def test_paired_test_degenerate_inputs_do_not_crash():
    zero = stats.paired_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert zero["p"] == 1.0 and zero["effect"] == 0.0 and "zero" in zero["note"]
    zero_w = stats.paired_test(np.ones(20), np.ones(20))
    assert zero_w["test"] == "wilcoxon" and zero_w["p"] == 1.0
    one = stats.paired_test([0.5], [0.4])
    assert np.isnan(one["p"]) and one["n"] == 1 and one["note"]
    empty = stats.paired_test([], [])
    assert np.isnan(empty["p"]) and empty["n"] == 0
    const = stats.paired_test([0.6, 0.7, 0.8], [0.5, 0.6, 0.7])  # equal differences: sd 0
    assert np.isnan(const["cohens_d"]) and const["p"] == pytest.approx(2 / 8)
    with pytest.raises(ValueError, match="alternative"):
        stats.paired_test([1, 2], [0, 0], alternative="bigger")
    with pytest.raises(ValueError, match="length"):
        stats.paired_test([1, 2, 3], [0, 0])


def test_paired_test_complete_cases_and_series_alignment():
    a = pd.Series([0.9, 0.8, 0.7, np.nan], index=[1, 2, 3, 4])
    b = pd.Series([0.5, 0.6, 0.4, 0.3], index=[3, 2, 1, 4])  # other order: align on subject
    res = stats.paired_test(a, b)
    assert res["n"] == 3
    assert res["mean_a"] == pytest.approx(0.8)
    assert res["mean_b"] == pytest.approx(0.5)  # subjects 1-3 of b: 0.4, 0.6, 0.5


def test_bootstrap_ci_is_seeded():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.7, 0.1, 30), rng.normal(0.68, 0.1, 30)
    r1 = stats.paired_test(a, b, seed=1)
    r2 = stats.paired_test(a, b, seed=1)
    r3 = stats.paired_test(a, b, seed=2)
    assert (r1["ci_low"], r1["ci_high"]) == (r2["ci_low"], r2["ci_high"])
    assert (r1["ci_low"], r1["ci_high"]) != (r3["ci_low"], r3["ci_high"])
    assert -1 <= r1["ci_low"] <= r1["ci_high"] <= 1
    no_ci = stats.paired_test(a, b, n_boot=0)
    assert np.isnan(no_ci["ci_low"]) and no_ci["p"] == r1["p"]


# ------------------------------------------------------------------------------- k pipelines

def test_holm_adjust_hand_computation():
    # sorted 0.01, 0.03, 0.04 -> 3 * 0.01, 2 * 0.03, 1 * 0.04 -> running max 0.03, 0.06, 0.06
    assert stats.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # NaN (untestable) comparisons are outside the family: m = 2 here.
    out = stats.holm_adjust([0.01, np.nan, 0.04])
    assert out[0] == pytest.approx(0.02) and np.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert stats.holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_compare_pipelines_tables_and_holm_against_hand():
    scores = random_scores(k=4, n=10)
    omnibus, pairwise = stats.compare_pipelines(scores, "bacc", ["model"])
    assert list(omnibus.columns) == stats.OMNIBUS_COLUMNS
    assert list(pairwise.columns) == stats.PAIRWISE_COLUMNS
    for col in ["pipeline_a", "pipeline_b", "test", "alternative", "statistic", "p", "p_adjusted",
                "correction", "effect", "effect_name", "ci_low", "ci_high", "mean_a", "mean_b",
                "n"]:
        assert col in pairwise.columns
    assert len(pairwise) == 6
    assert set(pairwise["correction"]) == {"holm"}
    assert set(pairwise["test"]) == {"sign-flip permutation"}  # 10 subjects < 15
    # Holm by hand.
    p = pairwise["p"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        adj[idx] = running
    assert pairwise["p_adjusted"].to_numpy() == pytest.approx(adj)
    # Each row equals a direct paired test on the per-subject table.
    wide = stats.per_subject(scores, "bacc", ["model"])
    row = pairwise.iloc[0]
    direct = stats.paired_test(wide[row["pipeline_a"]], wide[row["pipeline_b"]])
    assert row["p"] == pytest.approx(direct["p"])
    assert row["effect"] == pytest.approx(direct["effect"])


def test_friedman_matches_scipy():
    scores = random_scores(k=3, n=9)
    omnibus, _ = stats.compare_pipelines(scores, "bacc", ["model"], n_boot=0)
    wide = stats.per_subject(scores, "bacc", ["model"])
    ref = sps.friedmanchisquare(*(wide[c].to_numpy() for c in wide.columns))
    row = omnibus.iloc[0]
    assert row["test"] == "friedman"
    assert row["statistic"] == pytest.approx(ref.statistic)
    assert row["p"] == pytest.approx(ref.pvalue)
    assert (row["k"], row["n"]) == (3, 9)


def test_two_pipelines_omnibus_not_applicable():
    omnibus, pairwise = stats.compare_pipelines(random_scores(k=2, n=6), "bacc", ["model"])
    assert omnibus.iloc[0]["test"] == "not applicable"
    assert len(pairwise) == 1
    # One comparison: Holm changes nothing.
    assert pairwise.iloc[0]["p_adjusted"] == pytest.approx(pairwise.iloc[0]["p"])


def test_missing_subjects_dropped_pairwise():
    scores = make_scores({
        "A": {s: [0.8 + 0.01 * s] for s in range(6)},
        "B": {s: [0.7] for s in range(4)},  # subjects 4, 5 missing
        "C": {s: [0.6] for s in range(6)},
    })
    omnibus, pairwise = stats.compare_pipelines(scores, "bacc", ["model"])
    n = {(r.pipeline_a, r.pipeline_b): r.n for r in pairwise.itertuples()}
    assert n == {("A", "B"): 4, ("A", "C"): 6, ("B", "C"): 4}
    assert omnibus.iloc[0]["n"] == 4  # Friedman needs complete blocks
    assert "dropped" in omnibus.iloc[0]["note"]


def test_degenerate_k_pipelines_do_not_crash():
    tied = make_scores({m: {s: [0.5] for s in range(5)} for m in "ABC"})
    omnibus, pairwise = stats.compare_pipelines(tied, "bacc", ["model"])
    assert omnibus.iloc[0]["p"] == 1.0
    assert (pairwise["p"] == 1.0).all() and (pairwise["p_adjusted"] == 1.0).all()
    single = make_scores({m: {0: [0.5 + 0.1 * i]} for i, m in enumerate("ABC")})
    omnibus, pairwise = stats.compare_pipelines(single, "bacc", ["model"])
    assert np.isnan(omnibus.iloc[0]["p"]) and pairwise["p_adjusted"].isna().all()
    assert (pairwise["n"] == 1).all()
    one = make_scores({"A": {0: [0.5], 1: [0.6]}})
    omnibus, pairwise = stats.compare_pipelines(one, "bacc", ["model"])
    assert omnibus.iloc[0]["test"] == "not applicable" and pairwise.empty
    assert list(pairwise.columns) == stats.PAIRWISE_COLUMNS


def test_reference_mode_compares_each_with_reference():
    scores = random_scores(k=4, n=8)
    _, pairwise = stats.compare_pipelines(scores, "bacc", ["model"], reference="M0",
                                          alternative="greater")
    assert list(zip(pairwise["pipeline_a"], pairwise["pipeline_b"])) == [
        ("M1", "M0"), ("M2", "M0"), ("M3", "M0")]
    assert set(pairwise["alternative"]) == {"greater"}
    with pytest.raises(ValueError, match="reference"):
        stats.compare_pipelines(scores, "bacc", ["model"], reference="nope")


def test_compare_pipelines_is_deterministic():
    scores = random_scores(k=3, n=20)
    o1, p1 = stats.compare_pipelines(scores, "bacc", ["model"])
    o2, p2 = stats.compare_pipelines(scores, "bacc", ["model"])
    pd.testing.assert_frame_equal(o1, o2)
    pd.testing.assert_frame_equal(p1, p2)
    assert set(p1["test"]) == {"wilcoxon"}


def test_mean_ranks_hand_example():
    wide = pd.DataFrame({"A": [0.9, 0.8, 0.7], "B": [0.8, 0.9, 0.6], "C": [0.1, 0.2, 0.7]},
                        index=pd.Index([0, 1, 2], name="subject"))
    # ranks (1 = best): s0 A1 B2 C3; s1 B1 A2 C3; s2 A1.5 C1.5 B3
    ranks = stats.mean_ranks(wide)
    assert list(ranks.index) == ["A", "B", "C"]
    assert ranks.to_numpy() == pytest.approx([4.5 / 3, 6 / 3, 7.5 / 3])
    # lower is better: C ranks 1, 1, then ties A at 0.7 behind B's 0.6 -> 2.5
    assert stats.mean_ranks(wide, higher_is_better=False)["C"] == pytest.approx(
        (1 + 1 + 2.5) / 3)
    with_gap = wide.copy()
    with_gap.loc[2, "C"] = np.nan  # incomplete subject dropped, as in Friedman
    assert stats.mean_ranks(with_gap)["C"] == pytest.approx(3.0)


def test_pairwise_matrix_paired_holm_and_the_source_test():
    rng = np.random.default_rng(4)
    base = rng.normal(0.6, 0.1, 10)  # per-subject ability shared by every measure: pairs matter
    wide = pd.DataFrame({"rms": base + 0.05 + rng.normal(0, 0.01, 10), "wl": base + rng.normal(0, 0.01, 10),
                         "td": base + rng.normal(0, 0.01, 10)})
    paired = stats.pairwise_matrix(wide, "paired_holm")
    assert list(paired.index) == list(paired.columns) == ["rms", "wl", "td"]
    assert np.isnan(np.diag(paired.to_numpy())).all()
    assert paired.loc["rms", "wl"] > 0 and paired.loc["wl", "rms"] == -paired.loc["rms", "wl"]  # sign: rms higher
    # exact sign-flip over 10 subjects (min p 2/1024), Holm over the 3 pairs
    assert abs(paired.loc["rms", "wl"]) == pytest.approx(min(1.0, 3 * 2 / 1024))
    assert abs(paired.loc["wl", "td"]) > 0.05
    # the source ignores the pairing: its unpaired t-test cannot see a 0.05 shift under the 0.1
    # spread between subjects that the paired test finds
    source = stats.pairwise_matrix(wide, "source")
    assert abs(source.loc["rms", "wl"]) > 0.05 and source.loc["rms", "wl"] > 0
    assert sps.ttest_ind(wide.rms, wide.wl, alternative="greater").pvalue == pytest.approx(source.loc["rms", "wl"])
    with pytest.raises(ValueError, match="matrix test 'anova' unknown"):
        stats.pairwise_matrix(wide, "anova")


def test_paired_difference_mean_ci_and_exact_test_by_hand():
    out = stats.paired_difference([1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 1.0, 2.0], n_boot=500, seed=1)
    assert out["mean_difference"] == pytest.approx(1.5) and out["n"] == 4
    assert 1.0 <= out["ci_low"] <= 1.5 <= out["ci_high"] <= 2.0  # resampled means of {1, 1, 2, 2}
    assert out["test"] == "sign-flip permutation"
    assert out["p"] == pytest.approx(2 / 16)  # all 4 differences positive: 1 of 16 flips each side
    assert np.isnan(stats.paired_difference([1.0], [0.0])["p"])


def test_stouffer_weights_by_root_n():
    assert stats.stouffer([1.0, 1.0], [4, 4])["z"] == pytest.approx(2 / np.sqrt(2))
    out = stats.stouffer([2.0, 0.0], [9, 1], alternative="greater")
    assert out["z"] == pytest.approx(6 / np.sqrt(10)) and out["p"] == pytest.approx(sps.norm.sf(6 / np.sqrt(10)))
    assert out["k"] == 2
    assert stats.stouffer([-3.0], [5])["p"] == pytest.approx(2 * sps.norm.sf(3))
    with pytest.raises(ValueError, match="one n per z"):
        stats.stouffer([1.0, 2.0], [3])
    assert stats.signed_z([0.1, 0.2, 0.15, 0.3, 0.05, 0.12]) > 0 > stats.signed_z([-0.1, -0.2, -0.15, -0.3, -0.05])


def test_mixed_model_recovers_a_pipeline_difference_across_datasets():
    rng = np.random.default_rng(0)
    rows = []
    for dataset, offset in (("epn", 0.0), ("uci", 0.15), ("ciil", -0.1)):
        for subject in range(15):
            base = 0.7 + offset + rng.normal(0, 0.08)  # dataset and subject intercepts
            rows.append({"dataset": dataset, "subject": subject, "pipeline": "LDA", "score": base + rng.normal(0, 0.01)})
            rows.append({"dataset": dataset, "subject": subject, "pipeline": "MHCNN",
                         "score": base + 0.05 + rng.normal(0, 0.01)})
    table = stats.mixed_model_table(pd.DataFrame(rows), reference="LDA")
    assert list(table.columns) == stats.MIXED_MODEL_COLUMNS
    effect = table.set_index("term").loc["MHCNN"]
    assert effect["ci_low"] < 0.05 < effect["ci_high"] and effect["coef"] == pytest.approx(0.05, abs=0.01)
    assert effect["p"] < 1e-6 and effect["n_datasets"] == 3 and effect["n_subjects"] == 45
    one = stats.mixed_model_table(pd.DataFrame(rows).query("dataset == 'epn'"), reference="LDA")
    assert one.set_index("term").loc["MHCNN", "coef"] == pytest.approx(0.05, abs=0.01)
    with pytest.raises(ValueError, match="reference pipeline 'SVM'"):
        stats.mixed_model_table(pd.DataFrame(rows), reference="SVM")
