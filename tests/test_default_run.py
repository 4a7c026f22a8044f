"""The default run (README's `make run`) end to end, and the behaviour the synthetic data must show.

This is the slowest test (a few minutes on 2 cores); it checks what a user of the default run sees.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workflow_helpers import make_workdir, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("default"))
    snakemake(workdir)
    return workdir


def _summary(workdir, study):
    return pd.read_csv(workdir / "results" / study / "stats" / "summary.csv").set_index("pipeline")["mean"]


def test_crossuser_above_chance_and_below_within_user(default_run):
    scores = pd.read_csv(default_run / "results" / "crossuser" / "scores.csv")
    own = scores[(scores.metric == "balanced_accuracy") & (scores.test_variant == scores.train_variant)
                 & (scores.norm == "none")]
    ba = own.groupby(["model", "protocol"])["value"].mean()
    chance = 1 / 5
    within = ba[("LDA", "within_user")]
    assert within > 0.8, ba  # within-subject-like accuracy well above chance
    for model in ("LDA", "MHCNN"):
        assert chance + 0.1 < ba[(model, "crossuser")] < within, ba
    # fine-tuned on each test user's first repetitions, MHCNN gains on its cross-user start
    assert ba[("MHCNN", "within_user_finetune")] > ba[("MHCNN", "crossuser")] + 0.05, ba


def test_running_norm_does_not_hurt_cross_user_accuracy(default_run):
    """Synthetic users differ in gain (electrode placement, skin): RunningNorm, started from the
    training users' statistics and reset per test user, recovers accuracy or at least keeps it."""
    scores = pd.read_csv(default_run / "results" / "crossuser" / "scores.csv")
    own = scores[(scores.metric == "balanced_accuracy") & (scores.test_variant == scores.train_variant)
                 & (scores.protocol == "crossuser")]
    ba = own.groupby(["model", "norm"])["value"].mean().unstack("norm")
    assert (ba["cumulative"] >= ba["none"] - 0.01).all() and (ba["ema"] >= ba["none"] - 0.01).all(), ba


def test_pattern_latents_carry_gesture_and_subject_latents_carry_subject(default_run):
    scores = pd.read_csv(default_run / "results" / "disentangle" / "scores.csv")
    # the published pairing (kNN on RMS maps), then on average over every measure and classifier
    for rows in (scores[(scores.measure == "rms") & (scores.classifier == "knn")], scores):
        acc = rows.groupby(["latent", "metric"])["value"].mean()
        assert acc[("pattern", "gesture_accuracy")] > acc[("subject", "gesture_accuracy")], acc
        assert acc[("subject", "subject_accuracy")] > acc[("pattern", "subject_accuracy")], acc
    acc = scores[(scores.measure == "rms") & (scores.classifier == "knn")].groupby(["latent", "metric"])["value"].mean()
    assert acc[("pattern", "gesture_accuracy")] > 1 / 10 + 0.2, acc


def test_correlation_array_diagonal_above_off_diagonal(default_run):
    """The same gesture's pattern maps of two different people correlate more than two gestures'."""
    m = pd.read_csv(default_run / "results" / "disentangle" / "correlation_array.csv", index_col=0)
    gestures = [c for c in m.columns if c != "avg"]
    diagonal = np.mean([m.loc[g, g] for g in gestures])
    assert diagonal > m.loc["avg", "avg"], m
    table = pd.read_csv(default_run / "results" / "disentangle" / "measure_table.csv")
    assert {"knn", "svm", "rf", "ann", "cnn", "lstm"} <= set(table.columns)
    # every measure of the paper's table, each beside its published accuracy
    assert set(table["measure"]) == {"raw", "envelope", "stft", "rms", "wl", "td", "stft_td"}  # the paper's rows
    published = table.set_index("measure")["published"]
    assert published.notna().all(), published


def test_hdcnn_repetition_split_well_above_chance(default_run):
    scores = pd.read_csv(default_run / "results" / "hdcnn" / "scores.csv", dtype={"width": str})
    rep = scores[(scores.metric == "accuracy") & (scores.split == "repetition")]
    assert set(rep["dataset"]) == {"icelab", "csl"}
    acc = rep[rep.dataset == "icelab"]["value"].mean()
    assert acc > 1 / 7 + 0.3


def test_hdcnn_leakage_orders_the_split_types(default_run):
    """The leaky sample split scores at least the repetition split, which scores at least the
    subject split (CSL-HDEMG: the dataset with every split), averaged over widths."""
    scores = pd.read_csv(default_run / "results" / "hdcnn" / "scores.csv", dtype={"width": str})
    acc = scores[(scores.metric == "accuracy") & (scores.dataset == "csl")].groupby("split")["value"].mean()
    assert acc["sample"] >= acc["repetition"] >= acc["subject"], acc


def test_hdcnn_deployment_table_and_onnx_parity(default_run):
    table = pd.read_csv(default_run / "results" / "hdcnn" / "deployment.csv", dtype={"width": str})
    assert len(table) == 4  # 2 datasets x 2 widths
    assert (table["max_abs_logit_diff"] < 1e-4).all()
    assert (table.groupby("dataset")["macs"].apply(lambda m: m.is_monotonic_increasing)).all()
    assert (table["p50_ms"] > 0).all() and (table["runs"] >= 1000).all()


def test_audit_shows_the_leaky_split_and_the_test_set_epoch_inflating_accuracy(default_run):
    audit = default_run / "results" / "audit"
    table = pd.read_csv(audit / "table.csv")
    diff = table.set_index(["defect", "dataset"])
    # every registered defect has a row (cross-user on the study's dataset, HD-CNN per dataset)
    from myoflow.defects import DEFECTS
    assert set(table["defect"]) == set(DEFECTS.names()), table[["study", "defect"]]
    # the sample-level split and the epoch chosen on the test set inflate the headline accuracy
    for dataset in ("icelab", "csl"):
        assert diff.loc[("sample_kfold", dataset), "mean_difference"] > 0.03, table
    assert diff.loc[("test_set_epoch", "hyser"), "mean_difference"] > 0, table
    # ... the source's storage-order reshape of the sub-window features destroys the time axis
    assert diff.loc[("source_reshape", "epn612"), "ci_high"] < 0, table
    # defects that should not matter on the synthetic set stay near zero: AR9 adds little to
    # WL/SSC/LD for LDA; misaligned ids move windows between users of one split, not the labels
    for defect in ("comb_without_ar9", "metadata_misaligned"):
        row = diff.loc[(defect, "epn612")]
        assert abs(row["mean_difference"]) < 0.05 and row["ci_low"] <= 0 <= row["ci_high"], table
    # the subject classifier tested on an id it never saw cannot be right
    assert diff.loc[("subject_ids_unseen", "hyser"), "defect_on"] == 0, table
    across = pd.read_csv(audit / "across_datasets.csv")
    assert set(across["defect"]) == {d for d in DEFECTS.names() if DEFECTS.get(d).study == "crossuser"}
    assert (audit / "figures" / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_tables_published_provenance_and_cost(default_run):
    report = default_run / "results" / "report"
    for study in ("crossuser", "disentangle", "hdcnn"):
        table = pd.read_csv(report / f"published_{study}.csv")
        assert table["published"].between(0, 1).all() and table["reproduced"].notna().any(), table
        assert table["data"].str.contains("synthetic").all()
    provenance = pd.read_csv(report / "provenance.csv").set_index("item")["value"]
    assert provenance["torch"].startswith("2.13.0") and provenance["git revision"]
    cost = pd.read_csv(report / "cost.csv")
    assert {"crossuser", "disentangle", "hdcnn", "audit", "data"} <= set(cost["study"])
    assert (cost["cpu_s"] >= 0).all() and cost.iloc[-1]["rule"] == "all"


def test_same_config_gives_the_same_score_table(default_run, tmp_path):
    """Reproducible: a second, independent run of the cross-user study gives identical scores."""
    workdir = make_workdir(tmp_path)
    snakemake(workdir, "results/crossuser/scores.csv")
    a = pd.read_csv(default_run / "results" / "crossuser" / "scores.csv")
    b = pd.read_csv(workdir / "results" / "crossuser" / "scores.csv")
    pd.testing.assert_frame_equal(a, b)


@pytest.fixture(scope="module")
def two_session_run(tmp_path_factory):
    """The default disentanglement setting on two synthetic sessions (RMS, the scikit-learn
    classifiers): LOSO within each session, cross-session both ways, within-session."""
    workdir = make_workdir(tmp_path_factory.mktemp("sessions"))
    snakemake(workdir, "--configfile", "config/config.yaml", "testconfig/two_sessions.yaml", "--",
              "results/disentangle/scores.csv")
    return workdir


def test_cross_session_below_within_session(two_session_run):
    """Synthetic sessions differ by electrode re-placement: trained on one session, the same
    subjects' gestures of the other session are classified worse than held-out repetitions of the
    training session."""
    scores = pd.read_csv(two_session_run / "results" / "disentangle" / "scores.csv")
    gesture = scores[(scores.latent == "pattern") & (scores.metric == "gesture_accuracy")]
    assert dict(gesture.groupby("split")["fold"].nunique()) == {"loso": 6, "cross_session": 2, "within_session": 4}
    by_split = gesture.groupby(["split", "classifier"])["value"].mean().unstack("split")
    assert (by_split["cross_session"] < by_split["within_session"]).all(), by_split
