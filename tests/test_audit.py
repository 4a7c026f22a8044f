"""The protocol audit: defect registry, audit-only sheet rows, pairing, the audit table, the
cross-dataset model and the published-vs-reproduced table (hand-built tables)."""
import numpy as np
import pandas as pd
import pytest

from myoflow.audit import (CROSSUSER_AUDIT, audit_table, crossuser_across_datasets, crossuser_defect_scores,
                           crossuser_pairs, disentangle_pairs, hdcnn_pairs)
from myoflow.defects import DEFECTS, STUDIES, audited_defects, protocol_defects, protocol_names, study_defects
from myoflow.errors import ConfigError
from myoflow.features import GROUPS, libemg_group_as_run
from myoflow.published import RECORDS, published_vs_reproduced
from myoflow.runsheets import disentangle_sheet, hdcnn_sheet, sheet_part


def test_every_study_has_its_defects_each_documented():
    assert set(study_defects("crossuser")) == set(CROSSUSER_AUDIT) == {
        "raw_cropped_to_ground_truth", "relabeled_from_cropped", "metadata_misaligned", "source_reshape",
        "comb_without_ar9"}
    assert set(study_defects("disentangle")) == {"no_adversarial_term", "storage_order_maps", "test_set_epoch",
                                                 "subject_ids_unseen"}
    assert study_defects("disentangle", switch="stats") == ["unpaired_uncorrected_tests"]
    assert set(study_defects("hdcnn", switch=None)) == {"sample_kfold", "storage_order_images",
                                                        "weights_carried_over", "test_set_checkpoint"}
    for name in DEFECTS.names():
        d = DEFECTS.get(name)
        assert d.study in STUDIES and d.source and d.published and d.corrected, name


def test_a_split_defect_is_not_a_protocol():
    assert "sample_kfold" not in protocol_names("hdcnn")
    assert "sample_kfold" not in protocol_defects("hdcnn", "as_published")
    with pytest.raises(ConfigError, match="sample_kfold"):
        protocol_defects("hdcnn", "sample_kfold")


def test_audit_defects_are_checked_and_kept_in_registry_order():
    assert audited_defects(None) == DEFECTS.names()
    assert audited_defects(["test_set_epoch", "sample_kfold"]) == ["sample_kfold", "test_set_epoch"]
    with pytest.raises(ConfigError, match=r"audit.defects: \['leak'\] are not defects"):
        audited_defects(["leak"])


def test_libemg_comb_drops_ar9_and_nothing_else():
    assert libemg_group_as_run("COMB") == ["WL", "SSC", "LD"]
    for group in set(GROUPS) - {"COMB"}:
        assert libemg_group_as_run(group) == GROUPS[group], group


HD = {"datasets": ["csl"], "splits": ["sample", "repetition"], "widths": [0.2, 0.4], "folds": 2}
RECS = {"csl": [(1, 1), (2, 1)]}


def test_hdcnn_audit_protocols_run_on_the_audited_split_and_width_only():
    audit = {"defects": None, "hdcnn": {"split": "repetition", "width": None}}
    sheet, _ = hdcnn_sheet({**HD, "protocols": ["corrected", "test_set_checkpoint"]}, RECS, audit)
    study = sheet_part(sheet, audit_only=False)
    assert set(study["protocol"]) == {"corrected", "test_set_checkpoint"}  # the study's own: full grid
    assert len(study) == 2 * 2 * 2 * 2
    extra = sheet_part(sheet, audit_only=True)
    assert set(extra["protocol"]) == {"storage_order_images", "weights_carried_over"}
    assert set(extra["split"]) == {"repetition"} and set(extra["width"]) == {"0.2"} and len(extra) == 2 * 2
    # the carried-over weights still chain the folds of the audited cell
    carried = extra[extra["protocol"] == "weights_carried_over"].set_index("fold")
    assert carried.loc[0, "init_from"] == "" and "weights_carried_over/csl/repetition/w0.2/fold-0" in carried.loc[1, "init_from"]
    with pytest.raises(ConfigError, match="audit.hdcnn.width"):
        hdcnn_sheet(HD, RECS, {"defects": None, "hdcnn": {"split": "repetition", "width": 0.3}})
    none, _ = hdcnn_sheet(HD, RECS, {"defects": [], "hdcnn": {}})
    assert sheet_part(none, audit_only=True).empty
    # as published, the study runs no corrected protocol: the audit runs it on its cell
    published, _ = hdcnn_sheet({**HD, "as_published": True}, RECS, audit)
    assert set(sheet_part(published, audit_only=False)["protocol"]) == {"as_published"}
    assert set(sheet_part(published, audit_only=True)["protocol"]) == {
        "corrected", "storage_order_images", "weights_carried_over", "test_set_checkpoint"}


def test_disentangle_audit_protocols_run_on_one_measure_split_and_classifier():
    dis = {"protocols": ["corrected"], "splits": ["loso"], "measures": ["rms", "td"], "classifiers": ["knn", "ann"]}
    audit = {"defects": None, "disentangle": {"measure": None, "split": None, "classifier": "ann"}}
    sheet = disentangle_sheet(dis, "hyser", {1: [1, 2, 3]}, audit)
    extra = sheet_part(sheet, audit_only=True)
    assert set(extra["protocol"]) == {"no_adversarial_term", "storage_order_maps", "test_set_epoch",
                                      "subject_ids_unseen"}
    assert set(extra["measure"]) == {"rms"} and set(extra["classifier"]) == {"ann"}
    # test_set_epoch changes only the classification: it uses the corrected models
    assert set(extra.loc[extra["protocol"] == "test_set_epoch", "model_protocol"]) == {"corrected"}
    assert set(extra.loc[extra["protocol"] == "no_adversarial_term", "model_protocol"]) == {"no_adversarial_term"}
    with pytest.raises(ConfigError, match="audit.disentangle.classifier"):
        disentangle_sheet(dis, "hyser", {1: [1, 2, 3]}, {"defects": None, "disentangle": {"classifier": "svm"}})


def _scores(rows):
    base = {c: "none" for c in ("study", "dataset", "protocol", "split", "measure", "latent", "classifier", "width")}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_hdcnn_pairs_compare_the_sample_split_with_the_corrected_split():
    rows = []
    for subject, (rep, sample, carried) in {1: (0.6, 0.9, 0.7), 2: (0.5, 0.8, 0.5)}.items():
        for fold in (0, 1):
            rows += [{"dataset": "csl", "protocol": "corrected", "split": "repetition", "width": "0.2",
                      "subject": subject, "fold": fold, "metric": "accuracy", "value": rep},
                     {"dataset": "csl", "protocol": "corrected", "split": "sample", "width": "0.2",
                      "subject": subject, "fold": fold, "metric": "accuracy", "value": sample},
                     {"dataset": "csl", "protocol": "weights_carried_over", "split": "repetition", "width": "0.2",
                      "subject": subject, "fold": fold, "metric": "accuracy", "value": carried}]
    pairs = hdcnn_pairs(_scores(rows), {"split": "repetition", "width": "0.2"}, ["sample_kfold", "weights_carried_over"])
    by = pairs.set_index(["defect", "subject"])
    assert by.loc[("sample_kfold", 1), "defect_on"] == 0.9 and by.loc[("sample_kfold", 1), "corrected"] == 0.6
    table = audit_table(pairs, n_boot=200)
    diff = table.set_index("defect")["mean_difference"]
    assert diff["sample_kfold"] == pytest.approx(0.3) and diff["weights_carried_over"] == pytest.approx(0.05)


def test_disentangle_pairs_use_pattern_latent_gesture_accuracy():
    rows = [{"dataset": "hyser", "protocol": p, "split": "loso", "measure": "rms", "latent": latent,
             "classifier": "ann", "subject": s, "fold": s, "metric": "gesture_accuracy", "value": v + s / 100}
            for s in (1, 2, 3) for p, v in (("corrected", 0.5), ("test_set_epoch", 0.6))
            for latent in ("pattern", "subject")]
    pairs = disentangle_pairs(_scores(rows), {"measure": "rms", "split": "loso", "classifier": "ann"},
                              ["test_set_epoch", "storage_order_maps"])
    assert set(pairs["defect"]) == {"test_set_epoch"} and len(pairs) == 3  # a protocol not run has no pairs
    assert np.allclose(pairs["defect_on"] - pairs["corrected"], 0.1)


def test_audit_table_orders_by_study_and_lists_defects_without_pairs():
    rng = np.random.default_rng(0)
    corrected = rng.uniform(0.5, 0.7, 12)
    pairs = pd.concat([
        crossuser_pairs(pd.DataFrame({"subject": range(12), "corrected": corrected, "defect_on": corrected + 0.04}),
                        "epn612", "source_reshape", "LSTM_HCF on HTD"),
        hdcnn_pairs(_scores([{"dataset": "csl", "protocol": "corrected", "split": sp, "width": "0.2", "subject": s,
                              "fold": 0, "metric": "accuracy", "value": v + s / 50}
                             for s in (1, 2, 3) for sp, v in (("repetition", 0.6), ("sample", 0.9))]),
                    {"split": "repetition", "width": "0.2"}, ["sample_kfold"]),
    ])
    table = audit_table(pairs, {("myoarmband", "raw_cropped_to_ground_truth"): "not applicable: no bounds"}, n_boot=500)
    assert list(table["study"]) == ["crossuser", "crossuser", "hdcnn"]
    assert list(table["defect"]) == ["raw_cropped_to_ground_truth", "source_reshape", "sample_kfold"]
    row = table.set_index("defect").loc["source_reshape"]
    assert row["n"] == 12 and row["mean_difference"] == pytest.approx(0.04)
    assert row["ci_low"] == pytest.approx(0.04) and row["p"] < 0.01  # a constant shift: a point CI
    empty = table.set_index("defect").loc["raw_cropped_to_ground_truth"]
    assert empty["n"] == 0 and empty["note"].startswith("not applicable")


def test_across_datasets_recovers_a_shared_effect_and_stouffer_agrees():
    rng = np.random.default_rng(1)
    parts = []
    for k, dataset in enumerate(["epn612", "myoarmband", "uci"]):
        corrected = 0.6 + 0.1 * k + rng.normal(0, 0.05, 15)
        parts.append(crossuser_pairs(pd.DataFrame({"subject": range(15), "corrected": corrected,
                                                   "defect_on": corrected + 0.05 + rng.normal(0, 0.02, 15)}),
                                     dataset, "metadata_misaligned", "LDA on HTD"))
    row = crossuser_across_datasets(pd.concat(parts)).iloc[0]
    assert row["n_datasets"] == 3 and row["n_subjects"] == 45
    assert row["effect"] == pytest.approx(0.05, abs=0.015) and row["ci_low"] > 0 and row["p"] < 1e-3
    assert row["stouffer_z"] > 3 and row["stouffer_p"] < 1e-3


def _flat_recording(subject):
    from myoflow.layouts import myo_ring8
    from myoflow.store import Recording

    rng = np.random.default_rng(subject)
    emg = rng.normal(0, 1, (800, 8)).astype(np.float32)
    emg[500:700] *= 4 + subject % 3  # the active repetition is louder
    trials = pd.DataFrame({"trial": [0, 1, 2, 3], "label": [0, 0, 1, 1], "repetition": [0, 1, 0, 1],
                           "start": [0, 200, 400, 600], "stop": [200, 400, 600, 800], "active_start": -1,
                           "active_stop": -1, "sample_set": "training"})
    return Recording("myoarmband", subject, 1, emg, 200.0, "a.u.", "Myo", myo_ring8(), ["rest", "fist"], trials)


def test_cropping_defects_need_ground_truth_bounds():
    recs = [_flat_recording(s) for s in range(4)]
    split = {"train": [0, 1], "validation": [], "test": [2, 3]}
    model = {"input": "HTD", "estimator": "lda", "params": {}}
    windows = {"length": 40, "stride": 20, "rest_thinning": 1}
    out = crossuser_defect_scores(recs, split, "raw_cropped_to_ground_truth", windows=windows, model_cfg=model, seed=0)
    assert out.empty and out.attrs["note"].startswith("not applicable")
    # bounds covering the whole repetition (a pre-segmented set) crop nothing either
    whole = [_flat_recording(s) for s in range(4)]
    for rec in whole:
        rec.trials["active_start"], rec.trials["active_stop"] = rec.trials["start"], rec.trials["stop"]
    assert crossuser_defect_scores(whole, split, "relabeled_from_cropped", windows=windows, model_cfg=model,
                                   seed=0).empty
    comb = crossuser_defect_scores(recs, split, "comb_without_ar9", windows=windows, model_cfg=model, seed=0)
    assert list(comb["subject"]) == [2, 3] and comb[["corrected", "defect_on"]].notna().all().all()
    with pytest.raises(ConfigError, match="needs a model with features_over: subwindows"):
        crossuser_defect_scores(recs, split, "source_reshape", windows=windows, model_cfg=model, seed=0)
    with pytest.raises(ConfigError, match="not a cross-user defect"):
        crossuser_defect_scores(recs, split, "test_set_epoch", windows=windows, model_cfg=model, seed=0)


def test_published_vs_reproduced_takes_the_best_pipeline_where_the_record_is_a_best():
    rows = [{"study": "hdcnn", "dataset": "csl", "protocol": "corrected", "split": "repetition", "width": w,
             "subject": s, "fold": 0, "metric": "accuracy", "value": v + s / 100}
            for s in (1, 2) for w, v in (("0.2", 0.7), ("0.4", 0.8))]
    table = published_vs_reproduced("hdcnn", _scores(rows), "csl: synthetic").set_index("what")
    csl = table.loc["CSL-HDEMG intra-session (here: the widest MobileNetV2)"]
    assert csl["published"] == 0.968 and csl["reproduced"] == pytest.approx(0.815)
    assert csl["pipeline"] == "width 0.4" and csl["n_subjects"] == 2 and csl["data"] == "csl: synthetic"
    # a record that is a best on the test data (the measure table) takes the best classifier
    dis = [{"study": "disentangle", "dataset": "hyser", "protocol": "corrected", "split": "loso", "measure": "rms",
            "latent": "pattern", "classifier": c, "subject": s, "fold": s, "metric": "gesture_accuracy",
            "value": v + s / 100} for s in (1, 2, 3) for c, v in (("knn", 0.5), ("svm", 0.7))]
    rms = published_vs_reproduced("disentangle", _scores(dis), "synthetic").set_index("what").filter(like="rms", axis=0)
    assert rms["pipeline"].iloc[0] == "classifier svm" and rms["reproduced"].iloc[0] == pytest.approx(0.72)
    # the ICE Lab rows have no icelab scores here: NaN, not a made-up number
    assert np.isnan(table.loc["MobileNetV2 x0.2 (ICE Lab)", "reproduced"])
    assert {r.study for r in RECORDS} == set(STUDIES)
