"""The HD-CNN study's protocol pieces: weight reset between folds, fine-tuning with frozen layers,
checkpoint selection, the defect protocols in the run sheet, ONNX export / parity / latency and
the deployment table."""
import json
import os

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from myoflow.defects import DEFECTS, protocol_defects, protocol_names, study_defects
from myoflow.deploy import export_and_check, export_onnx, measure_latency, onnx_parity
from myoflow.errors import ConfigError
from myoflow.evaluation import pareto_mask
from myoflow.estimators import save_estimator
from myoflow.runsheets import hdcnn_sheet
from myoflow.splits import SPLITS, check_fold_table, select
from myoflow.studies.hdcnn import deployment_table, training_params
from myoflow.torch_estimator import TorchClassifier, state_digest

SCHEMA = "workflow/schemas/config.schema.yaml"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def images(seed, n=48):
    """Two separable classes of 1 x 8 x 24 images (class 1 brighter on the left half)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.standard_normal((n, 1, 8, 24)).astype(np.float32)
    X[y == 1, :, :, :12] += 1.5
    return X, y


def mobilenet(**kw):
    params = dict(model="mobilenetv2", model_params={"width": 0.2}, optimizer="adamw", lr=3e-3,
                  batch_size=16, max_epochs=2, patience=None, scheduler=None, seed=5, device="cpu",
                  eval_batch_size=64)
    params.update(kw)
    return TorchClassifier(**params)


# ---- weights are reset between folds ---------------------------------------------------------

def test_fold_initial_weights_do_not_depend_on_the_previous_fold(tmp_path):
    X0, y0 = images(0)
    X1, y1 = images(1)
    fold0 = mobilenet().fit(X0, y0)
    after_fold0 = mobilenet().fit(X1, y1)  # fold 1 trained after fold 0 in the same process
    alone = mobilenet().fit(X1, y1)        # fold 1 trained on its own
    assert after_fold0.initial_digest_ == alone.initial_digest_ == fold0.initial_digest_
    assert state_digest(after_fold0.model_) == state_digest(alone.model_)
    # the as-published defect: fold 1 starts from fold 0's trained weights
    fold0.save(tmp_path / "fold0.model")
    carried = mobilenet(init_from=str(tmp_path / "fold0.model")).fit(X1, y1)
    assert carried.initial_digest_ == state_digest(fold0.model_) != alone.initial_digest_
    # the digest travels with the saved model
    assert TorchClassifier.load(tmp_path / "fold0.model").initial_digest_ == fold0.initial_digest_


def test_init_from_rejects_other_classes_or_architecture(tmp_path):
    X, y = images(0)
    mobilenet().fit(X, y).save(tmp_path / "m.model")
    with pytest.raises(ValueError, match="classes"):
        mobilenet(init_from=str(tmp_path / "m.model")).fit(X, y + 1)
    with pytest.raises(ValueError, match="architecture"):
        mobilenet(init_from=str(tmp_path / "m.model"), model_params={"width": 0.4}).fit(X, y)


def test_finetune_freezes_stem_and_first_block(tmp_path):
    X, y = images(0)
    pre = mobilenet().fit(X, y)
    pre.save(tmp_path / "pre.model")
    frozen = ["stem", "stem_bn", "blocks.0"]
    tuned = mobilenet(init_from=str(tmp_path / "pre.model"), freeze=frozen, lr=1e-2).fit(*images(3))
    before, after = pre.model_.state_dict(), tuned.model_.state_dict()
    for name in before:
        same = torch.equal(before[name], after[name])
        if any(name.startswith(p + ".") for p in frozen):
            assert same, f"{name} changed although frozen"  # weights and BatchNorm statistics
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])
    assert not torch.equal(before["blocks.1.expand.weight"], after["blocks.1.expand.weight"])
    with pytest.raises(ConfigError, match="blocks.99"):
        mobilenet(freeze=["blocks.99"]).fit(X, y)


def test_selection_by_validation_accuracy_and_last():
    X, y = images(0)
    Xv, yv = images(9)
    best = mobilenet(max_epochs=4, selection="val_accuracy").fit(X, y, Xv, yv)
    accs = [h["val_accuracy"] for h in best.history_]
    assert best.best_epoch_ == int(np.argmax(accs))  # first epoch of the best accuracy
    last = mobilenet(max_epochs=4, selection="last").fit(X, y, Xv, yv)
    assert last.best_epoch_ == 3
    with pytest.raises(ConfigError, match="selection"):
        mobilenet(selection="test").fit(X, y)


def test_min_epochs_keeps_training_past_early_stopping():
    X, y = images(0)
    Xv, yv = images(9)
    est = mobilenet(max_epochs=5, patience=1, min_epochs=4).fit(X, y, Xv, yv)
    assert len(est.history_) >= 4 and est.best_epoch_ >= 3


def test_epochs_are_logged_as_they_end(caplog):
    X, y = images(0)
    with caplog.at_level("INFO", logger="myoflow.training"):
        mobilenet(max_epochs=2).fit(X, y)
    lines = [r.getMessage() for r in caplog.records if r.name == "myoflow.training"]
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2") and "ETA" in lines[0]


# ---- the finetune split and the run sheet ------------------------------------------------------

def items(subjects=(1, 2, 3), reps=(0, 1, 2)):
    return pd.DataFrame([{"subject": s, "session": 1, "repetition": r} for s in subjects for r in reps])


def test_finetune_split_adapts_on_first_repetitions_of_the_held_out_subject():
    table = SPLITS.build("finetune", items(), where="test", repetitions=1)
    check_fold_table(table, unit="repetition")
    meta = items()
    for fold, subject in enumerate((1, 2, 3)):  # the subject split's fold numbering
        train = meta[select(meta, table, fold, "train")]
        test = meta[select(meta, table, fold, "test")]
        assert set(train["subject"]) == set(test["subject"]) == {subject}
        assert train["repetition"].tolist() == [0] and test["repetition"].tolist() == [1, 2]
    with pytest.raises(ConfigError, match="repetitions = 3"):
        SPLITS.build("finetune", items(), where="test", repetitions=3)


HD = {"datasets": ["csl"], "splits": ["sample", "subject", "finetune"], "widths": [0.2], "folds": 2}
RECS = {"csl": [(1, 1), (2, 1), (3, 1)]}


def test_sheet_protocols_name_what_each_job_starts_from():
    sheet, _ = hdcnn_sheet({**HD, "protocols": ["corrected", "weights_carried_over", "storage_order_images",
                                                "test_set_checkpoint"]}, RECS)
    assert sheet["protocol"].nunique() == 4
    corrected = sheet[sheet.protocol == "corrected"]
    assert (corrected.loc[corrected.split != "finetune", "init_from"] == "").all()
    assert not corrected["select_on_test"].any()
    assert (corrected["images"] == "results/hdcnn/images/csl/grid.h5").all()
    tune = corrected[corrected.split == "finetune"].set_index("fold")["init_from"]
    subject_models = corrected[corrected.split == "subject"].set_index("fold")["model_file"]
    assert tune.to_dict() == subject_models.to_dict()
    carried = sheet[(sheet.protocol == "weights_carried_over") & (sheet.split == "sample")].set_index("fold")
    assert carried.loc[0, "init_from"] == "" and carried.loc[1, "init_from"] == carried.loc[0, "model_file"]
    assert (sheet.loc[sheet.protocol == "storage_order_images", "images"] == "results/hdcnn/images/csl/storage.h5").all()
    assert sheet.loc[sheet.protocol == "test_set_checkpoint", "select_on_test"].all()
    assert sheet["model_file"].is_unique and sheet["onnx"].is_unique


def test_as_published_switches_every_defect_on_and_unknown_protocols_are_named():
    sheet, _ = hdcnn_sheet({**HD, "as_published": True}, RECS)
    assert set(sheet["protocol"]) == {"as_published"}
    assert sheet["select_on_test"].all() and sheet["images"].str.endswith("storage.h5").all()
    assert protocol_defects("hdcnn", "as_published") == set(study_defects("hdcnn"))
    with pytest.raises(ConfigError, match="'no_such'.*expected one of"):
        hdcnn_sheet({**HD, "protocols": ["no_such"]}, RECS)


@pytest.mark.parametrize("study", ["hdcnn", "disentangle"])
def test_schema_lists_every_protocol_of_the_study(study):
    with open(SCHEMA) as f:
        schema = yaml.safe_load(f)
    enum = schema["properties"][study]["properties"]["protocols"]["items"]["enum"]
    assert sorted(enum) == sorted(protocol_names(study))
    for name in study_defects(study):
        defect = DEFECTS.get(name)
        assert defect.source and defect.published and defect.corrected


def test_training_params_per_split_and_protocol():
    train = {"lr": 3e-4, "max_epochs": 10}
    fine = {"repetitions": 1, "freeze": ["stem"], "train": {"max_epochs": 3}}
    p = training_params(train, 0.4, split="finetune", init_from="m.model", finetune=fine)
    assert p["max_epochs"] == 3 and p["lr"] == 3e-4 and p["freeze"] == ["stem"] and p["init_from"] == "m.model"
    assert p["model_params"] == {"width": 0.4}
    p = training_params(train, 1.0, split="sample", select_on_test=True)
    assert p["selection"] == "val_accuracy" and "init_from" not in p and "freeze" not in p
    with pytest.raises(ValueError, match="pretrained"):
        training_params(train, 1.0, split="finetune", finetune=fine)


# ---- deployment --------------------------------------------------------------------------------

def test_onnx_export_matches_pytorch_and_latency_is_measured(tmp_path):
    X, y = images(0)
    est = mobilenet(max_epochs=1, input_scale=0.5).fit(X, y)
    path = tmp_path / "m.onnx"
    export_onnx(est, path)
    parity = onnx_parity(est, path, X)
    assert parity["max_abs_logit_diff"] < 1e-4 and parity["same_predictions"] == 1.0
    assert parity["n_frames"] == len(X)
    lat = measure_latency(path, (1, 8, 24), runs=30, warmup=3)
    assert 0 < lat["min_ms"] <= lat["p50_ms"] <= lat["p99_ms"] and lat["runs"] == 30 and lat["threads"] == 1
    json.dumps(lat)  # plain values only
    with pytest.raises(ValueError, match="runs"):
        measure_latency(path, (1, 8, 24), runs=0)


def test_export_and_check_converts_every_model_and_refuses_above_the_tolerance(tmp_path):
    X, y = images(0)
    jobs = []
    for fold in (0, 1):
        est = mobilenet(max_epochs=1, seed=fold).fit(X, y)
        save_estimator(tmp_path / f"fold-{fold}.model", est)
        jobs.append({"split": "sample", "fold": fold, "model_file": str(tmp_path / f"fold-{fold}.model"),
                     "onnx": str(tmp_path / "onnx" / f"sample-fold-{fold}.onnx")})
    rows = export_and_check(jobs, X, tolerance=1e-4)
    assert [(r["fold"], r["split"]) for r in rows] == [(0, "sample"), (1, "sample")]
    assert all(r["max_abs_logit_diff"] < 1e-4 and r["tolerance"] == 1e-4 for r in rows)
    assert all(os.path.getsize(j["onnx"]) > 0 for j in jobs)
    # a tolerance no export can meet: the error names each model, and no export is left behind
    with pytest.raises(ValueError, match="sample-fold-0.onnx.*sample-fold-1.onnx"):
        export_and_check(jobs, X, tolerance=-1.0)
    assert not any(os.path.exists(j["onnx"]) for j in jobs)


def test_pareto_mask():
    cost = np.array([1.0, 2.0, 3.0, 2.0])
    acc = np.array([0.5, 0.7, 0.6, 0.7])
    # (3, 0.6) is dominated by (2, 0.7); equal points do not dominate each other
    assert pareto_mask(cost, acc).tolist() == [True, True, False, True]


def test_deployment_table_joins_costs_parity_and_accuracy_per_split():
    scores = pd.DataFrame([
        {"dataset": "csl", "protocol": "corrected", "split": s, "width": "0.2", "subject": sub,
         "metric": "accuracy", "value": v}
        for s, vals in {"sample": (0.9, 1.0), "subject": (0.4, 0.6)}.items() for sub, v in zip((1, 2), vals)
    ] + [{"dataset": "csl", "protocol": "test_set_checkpoint", "split": "sample", "width": "0.2",
          "subject": 1, "metric": "accuracy", "value": 0.99}])
    costs = [{"dataset": "csl", "width": 0.2, "params": 10, "macs": 100, "onnx_bytes": 5, "p50_ms": 1.0,
              "p99_ms": 2.0, "cpu": "x"}]
    parity = [{"dataset": "csl", "width": "0.2", "max_abs_logit_diff": d} for d in (1e-7, 3e-6)]
    table = deployment_table(pd.DataFrame(), scores, costs, parity)
    row = table.iloc[0]
    assert row["accuracy_sample"] == pytest.approx(0.95) and row["accuracy_subject"] == pytest.approx(0.5)
    assert row["accuracy_sample_test_set_checkpoint"] == pytest.approx(0.99)
    assert row["max_abs_logit_diff"] == pytest.approx(3e-6)
