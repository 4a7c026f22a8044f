"""Run sheets: each study's experiments expanded once, from its config section, into a table.

A run sheet has one row per job that produces predictions (what it trains or evaluates), with
every grid dimension as a column (:data:`myoflow.evaluation.GRID_COLUMNS`, ``"none"`` where the
study has no such dimension) and the files the job writes. The workflow takes its wildcards and
params from it, writes it to ``results/<study>/runs.tsv`` so a user can see what will run, and the
score scripts read their keys from it: no key travels by list position or is parsed back from a
file name.

The functions here know nothing of Snakemake: they take the study's config section and what is
known of the data (subjects, sessions) and return a :class:`pandas.DataFrame`.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import pandas as pd

from .errors import ConfigError, DataFormatError
from .evaluation import GRID_COLUMNS, grid_keys
from .io import atomic_path
from .defects import AS_PUBLISHED, CORRECTED, protocol_defects
from .splits import SPLIT_UNITS, n_folds

#: per study: the metric its statistics compare, the sheet columns that identify a pipeline, and
#: the columns of a family (pipelines scored on the same subjects, so paired tests are valid)
STUDY_DESIGN = {
    "crossuser": {
        "metric": "balanced_accuracy",
        "pipeline": ["protocol", "train_variant", "test_variant", "features", "model", "loss", "norm"],
        "family": ["dataset"],
    },
    "disentangle": {
        "metric": "gesture_accuracy",
        "pipeline": ["protocol", "measure", "latent", "classifier"],
        "family": ["dataset", "split"],
    },
    "hdcnn": {
        "metric": "accuracy",
        "pipeline": ["protocol", "split", "width"],
        "family": ["dataset"],
    },
}


def _grid_row(**keys) -> dict:
    """:func:`~myoflow.evaluation.grid_keys` of keyword arguments (the sheets build rows by keyword)."""
    return grid_keys(keys)


def width_key(width: float) -> str:
    """The one text form of a width multiplier (wildcard, file name, score column)."""
    return str(float(width))


# ---- study 1: cross-user ---------------------------------------------------------------------

def crossuser_model_loss(model_cfg: Mapping) -> str:
    """The loss a model trains with (``none`` for estimators without one, e.g. LDA)."""
    if model_cfg["estimator"] != "torch":
        return "none"
    return model_cfg.get("params", {}).get("loss", "ce")


#: models with a user head over the training users, which the ``grl`` loss trains in place of
#: the named model (the spec's MHCNN_GRL: MHCNN + gradient reversal + user head)
USER_HEAD_MODELS = {"mhcnn": "mhcnn_grl"}


def crossuser_trained_models(cu: Mapping) -> list[tuple[str, str]]:
    """(model, loss) of every cross-user model that trains: each model of ``crossuser.models``
    with its own loss, except those of ``crossuser.loss_sweep.models``, which train once per loss
    of ``crossuser.loss_sweep.losses``."""
    sweep = cu.get("loss_sweep") or {}
    swept = list(sweep.get("models") or [])
    unknown = sorted(set(swept) - set(cu["models"]))
    if unknown:
        raise ConfigError(f"crossuser.loss_sweep.models: {unknown} not among crossuser.models ({sorted(cu['models'])})")
    pairs = []
    for name, m in cu["models"].items():
        if name not in swept:
            pairs.append((name, crossuser_model_loss(m)))
            continue
        if m["estimator"] != "torch":
            raise ConfigError(f"crossuser.loss_sweep.models: {name!r} is a {m['estimator']!r} estimator; "
                              "only torch models train with a loss")
        pairs += [(name, loss) for loss in sweep["losses"]]
    return pairs


def crossuser_model_config(cu: Mapping, name: str, loss: str) -> dict:
    """The estimator config of model ``name`` trained with ``loss``: its ``params`` with the loss,
    the loss's parameters (``crossuser.loss_params``, under the model's own ``loss_params``) and,
    for ``grl``, the model's user-head version (:data:`USER_HEAD_MODELS`)."""
    m = cu["models"][name]
    if m["estimator"] != "torch":
        return {**m, "params": dict(m.get("params") or {})}
    params = dict(m.get("params") or {})
    own = dict(params.get("loss_params") or {}) if params.get("loss", "ce") == loss else {}
    params["loss"] = loss
    params["loss_params"] = {**dict((cu.get("loss_params") or {}).get(loss) or {}), **own}
    if loss == "grl":
        arch = str(params.get("model", "")).lower()
        if arch in USER_HEAD_MODELS:
            params["model"] = USER_HEAD_MODELS[arch]
        elif arch not in USER_HEAD_MODELS.values():
            raise ConfigError(f"crossuser.models.{name}: loss grl needs a model with a user head "
                              f"({sorted(USER_HEAD_MODELS.values())}), not {params.get('model')!r}")
    return {**m, "params": params}


def crossuser_model_path(protocol: str, train_variant: str, model: str, loss: str, fold: int) -> str:
    """The trained model file of one (protocol, train variant, model, loss, fold)."""
    return f"results/crossuser/models/{protocol}/{train_variant}/{model}/{loss}/fold-{fold}.model"


def crossuser_test_variants(cu: Mapping) -> list[str]:
    """The variants every trained model is tested on: ``crossuser.test_variants``, else ``variants``."""
    return list(cu.get("test_variants") or cu["variants"])


def crossuser_predictions_path(protocol: str, train_variant: str, model: str, loss: str, test_variant: str,
                               norm: str, fold: int) -> str:
    """Predictions of one model on one test variant under one test-time normalisation."""
    stem = f"results/crossuser/predictions/{protocol}/{train_variant}/{model}/{loss}/test-{test_variant}"
    return f"{stem}/fold-{fold}.csv.gz" if norm == "none" else f"{stem}/{norm}-norm/fold-{fold}.csv.gz"


def crossuser_sheet(cu: Mapping, dataset: str, n_within_folds: int) -> pd.DataFrame:
    """One row per (protocol, train variant, model, fold, test variant, norm) prediction.

    Every model of ``crossuser.models`` trains once on the fixed user split (protocol
    ``crossuser``, fold 0), those of ``crossuser.loss_sweep.models`` once per loss; the models
    named in ``crossuser.within_user.models`` also train one model per test user (protocol
    ``within_user``, with the model's own loss). Each model trained on a variant is tested on
    every variant of ``crossuser.test_variants`` (default: every configured variant), under each
    test-time normalisation of ``crossuser.norms`` (``none``, RunningNorm ``cumulative`` / ``ema``).
    """
    models = cu["models"]
    for key, names in (("crossuser.within_user.models", cu["within_user"]["models"]),):
        unknown = sorted(set(names) - set(models))
        if unknown:
            raise ConfigError(f"{key}: {unknown} not among crossuser.models ({sorted(models)})")
    groups = set(cu["feature_groups"])
    for name, m in models.items():
        if m["input"] != "windows" and m["input"] not in groups:
            raise ConfigError(
                f"crossuser.models.{name}.input: feature group {m['input']!r} is not in "
                f"crossuser.feature_groups {sorted(groups)} (or use 'windows')"
            )
    test_variants = crossuser_test_variants(cu)
    norms = list(cu.get("norms") or ["none"])
    rows = []
    trained = crossuser_trained_models(cu)
    jobs = [("crossuser", name, loss, [0]) for name, loss in trained]
    # within-user models train on one user: with their own loss, not the loss sweep (trp and grl
    # need several users in a batch)
    jobs += [("within_user", name, crossuser_model_loss(models[name]), list(range(n_within_folds)))
             for name in cu["within_user"]["models"]]
    for protocol, name, loss, folds in jobs:
        m = models[name]
        for train_variant in cu["variants"]:
            for fold in folds:
                model_file = crossuser_model_path(protocol, train_variant, name, loss, fold)
                for test_variant in test_variants:
                    for norm in norms:
                        rows.append({
                            **_grid_row(study="crossuser", dataset=dataset, protocol=protocol,
                                        train_variant=train_variant, test_variant=test_variant,
                                        features=m["input"], model=name, loss=loss, norm=norm, fold=fold),
                            "estimator": m["estimator"],
                            "model_file": model_file,
                            "predictions": crossuser_predictions_path(protocol, train_variant, name, loss,
                                                                      test_variant, norm, fold),
                        })
    return pd.DataFrame(rows)


# ---- study 2: disentanglement ----------------------------------------------------------------

#: fold schemes of the disentanglement study
DISENTANGLE_SPLITS = ("loso", "cross_session", "within_session")

#: the defects that change the trained model (the others only change the classification), so
#: protocols that differ only in those share the corrected protocol's training jobs
DISENTANGLE_TRAINING_DEFECTS = frozenset({"no_adversarial_term", "storage_order_maps"})


def disentangle_folds(subjects_by_session: Mapping[int, Sequence[int]], split: str,
                      within_session_folds: int = 2) -> pd.DataFrame:
    """(fold, train_session, test_session, test_subject) of a disentanglement split, in fold order.

    ``loso``: within each session (sessions in order), each subject in turn is held out and the
    other subjects of that session train. ``cross_session``: for each ordered pair of sessions
    (a, b), a != b, every subject present in both trains on session a and is tested on session b
    (``test_subject`` = -1: all of them). ``within_session``: within each session,
    ``within_session_folds`` folds over whole repetitions, every subject in training and test
    (the same-session reference for ``cross_session``; the fold job picks the repetitions).
    """
    rows = []
    if split == "loso":
        for session in sorted(subjects_by_session):
            subjects = sorted(subjects_by_session[session])
            if len(subjects) < 2:
                raise ConfigError(f"disentangle: session {session} has {len(subjects)} subject(s); "
                                  "leave-one-subject-out needs at least 2")
            rows += [{"train_session": int(session), "test_session": int(session), "test_subject": int(s)}
                     for s in subjects]
    elif split == "cross_session":
        sessions = sorted(subjects_by_session)
        if len(sessions) < 2:
            raise ConfigError(f"disentangle.splits: cross_session needs at least 2 sessions in "
                              f"disentangle.sessions, got {sessions}")
        for a in sessions:
            for b in sessions:
                if a != b:
                    rows.append({"train_session": int(a), "test_session": int(b), "test_subject": -1})
    elif split == "within_session":
        for session in sorted(subjects_by_session):
            rows += [{"train_session": int(session), "test_session": int(session), "test_subject": -1}
                     for _ in range(int(within_session_folds))]
    else:
        raise ConfigError(f"unknown disentangle split {split!r}; known: {', '.join(DISENTANGLE_SPLITS)}")
    table = pd.DataFrame(rows, columns=["train_session", "test_session", "test_subject"])
    table.insert(0, "fold", range(len(table)))
    return table


def cross_session_subjects(subjects_by_session: Mapping[int, Sequence[int]]) -> list[int]:
    """Subjects recorded in every session (the cross-session split's subjects)."""
    sets = [set(map(int, v)) for v in subjects_by_session.values()]
    return sorted(set.intersection(*sets)) if sets else []


def disentangle_paths(model_protocol: str, protocol: str, measure: str, split: str, fold: int) -> dict[str, str]:
    """The files of one (protocol, measure, split, fold): model and latents under the protocol
    whose training it shares (``model_protocol``); predictions under its own, one file for every
    fold of the (protocol, measure, split)."""
    trained = f"{model_protocol}/{measure}/{split}/fold-{fold}"
    return {"model_file": f"results/disentangle/models/{trained}.pt",
            "latents": f"results/disentangle/latents/{trained}.h5",
            "predictions": f"results/disentangle/predictions/{protocol}/{measure}/{split}.csv.gz"}


def disentangle_sheet(dis: Mapping, dataset: str, subjects_by_session: Mapping[int, Sequence[int]]) -> pd.DataFrame:
    """One row per (protocol, split, measure, fold, latent classifier, latent).

    One training job per (model protocol, measure, split, fold) writes the fold's latents; one
    classification job per (protocol, measure, split) runs every latent classifier on every fold's
    latents (the torch and scikit-learn start-up, ~5 s, paid once per measure, not once per fold),
    so the rows of one classification job share its predictions file. Each row also says what
    its jobs do: ``samples`` (maps on the physical mosaic, or in storage order under defect
    ``storage_order_maps``), ``adversarial`` (the generator gets the adversarial term; off under
    ``no_adversarial_term``), ``select_on_test`` (network classifiers pick their epoch on the test
    set: ``test_set_epoch``), and ``model_protocol`` (the protocol whose trained models it uses:
    ``corrected`` unless one of its defects changes training).
    """
    rows = []
    for protocol in study_protocols(dis):
        defects = protocol_defects("disentangle", protocol)
        model_protocol = protocol if defects & DISENTANGLE_TRAINING_DEFECTS else CORRECTED
        order = "storage" if "storage_order_maps" in defects else "grid"
        for split in dis["splits"]:
            folds = disentangle_folds(subjects_by_session, split, dis.get("within_session_folds", 2))
            for measure in dis["measures"]:
                for f in folds.itertuples(index=False):
                    paths = disentangle_paths(model_protocol, protocol, measure, split, int(f.fold))
                    for classifier in dis["classifiers"]:
                        for latent in ("pattern", "subject"):
                            rows.append({
                                **_grid_row(study="disentangle", dataset=dataset, protocol=protocol,
                                            split=split, measure=measure, latent=latent,
                                            classifier=classifier, fold=int(f.fold)),
                                "train_session": int(f.train_session), "test_session": int(f.test_session),
                                "test_subject": int(f.test_subject),
                                "model_protocol": model_protocol,
                                "samples": f"results/disentangle/samples/{order}/{measure}.h5",
                                "adversarial": "no_adversarial_term" not in defects,
                                "select_on_test": "test_set_epoch" in defects,
                                **paths,
                            })
    return pd.DataFrame(rows)


# ---- study 3: HD-CNN -------------------------------------------------------------------------

def study_protocols(section: Mapping) -> list[str]:
    """A study section's ``protocols`` list; ``as_published: true`` turns ``corrected`` into
    ``as_published`` (every defect of the study on)."""
    protocols = list(section.get("protocols", [CORRECTED]))
    if section.get("as_published"):
        protocols = [AS_PUBLISHED if p == CORRECTED else p for p in protocols]
    return list(dict.fromkeys(protocols))


def hdcnn_export_paths(protocol: str, dataset: str, width: str) -> dict[str, str]:
    """The files of one ONNX export job: every model of one (protocol, dataset, width), exported
    together so that the torch/onnx start-up is paid once per width, not once per fold."""
    stem = f"results/hdcnn/onnx/{protocol}/{dataset}/w{width}"
    return {"export_dir": stem, "parity": f"{stem}.parity.csv"}


def hdcnn_paths(protocol: str, dataset: str, split: str, width: str, fold: int) -> dict[str, str]:
    """The files of one HD-CNN training job (model, predictions) and where its ONNX export lands."""
    stem = f"{protocol}/{dataset}/{split}/w{width}/fold-{fold}"
    export = hdcnn_export_paths(protocol, dataset, width)
    return {"model_file": f"results/hdcnn/models/{stem}.model",
            "predictions": f"results/hdcnn/predictions/{stem}.csv.gz",
            "onnx": f"{export['export_dir']}/{split}-fold-{fold}.onnx",
            **export}


def hdcnn_sheet(hd: Mapping, recordings: Mapping[str, Sequence[tuple[int, int]]]) -> tuple[pd.DataFrame, list[str]]:
    """One row per (protocol, dataset, split, width, fold) training job, and the notes of skipped cells.

    A split a dataset cannot support (``session`` with one session, ``subject`` and ``finetune``
    with one subject) is skipped with a note rather than failing the whole grid; the notes are
    printed at start-up. Each row also names what its job starts from:

    - ``images``: the image set, on the physical grid or (defect ``storage_order_images``) in
      storage order;
    - ``init_from``: empty for a fresh initialisation; the previous fold's model when the
      protocol carries weights over (defect ``weights_carried_over``); for ``finetune``, the
      ``subject`` split's model of the same fold (pretrained on the other subjects);
    - ``select_on_test``: the checkpoint is chosen by test accuracy (defect ``test_set_checkpoint``).
    """
    rows, skipped = [], []
    for protocol in study_protocols(hd):
        defects = protocol_defects("hdcnn", protocol)
        order = "storage" if "storage_order_images" in defects else "grid"
        for dataset in hd["datasets"]:
            recs = recordings[dataset]
            subjects = sorted({s for s, _ in recs})
            sessions = sorted({ses for _, ses in recs})
            for split in hd["splits"]:
                if split == "session" and len(sessions) < 2:
                    skipped.append(f"hdcnn: split 'session' skipped for dataset {dataset!r}: it has "
                                   f"{len(sessions)} session(s) {sessions}")
                    continue
                if split in ("subject", "finetune") and len(subjects) < 2:
                    skipped.append(f"hdcnn: split {split!r} skipped for dataset {dataset!r}: it has "
                                   f"{len(subjects)} subject(s) {subjects}")
                    continue
                unit, leaky = SPLIT_UNITS[split]
                for width in hd["widths"]:
                    w = width_key(width)
                    for fold in range(n_folds(split, subjects, sessions, hd["folds"])):
                        if split == "finetune":
                            init_from = hdcnn_paths(protocol, dataset, "subject", w, fold)["model_file"]
                        elif "weights_carried_over" in defects and fold > 0:
                            init_from = hdcnn_paths(protocol, dataset, split, w, fold - 1)["model_file"]
                        else:
                            init_from = ""
                        rows.append({
                            **_grid_row(study="hdcnn", dataset=dataset, protocol=protocol, split=split,
                                        features="image", model="MobileNetV2", loss="ce", width=w,
                                        fold=fold),
                            "leaky": leaky,
                            "images": f"results/hdcnn/images/{dataset}/{order}.h5",
                            "init_from": init_from,
                            "select_on_test": "test_set_checkpoint" in defects,
                            **hdcnn_paths(protocol, dataset, split, w, fold),
                        })
    if not rows:
        raise ConfigError("hdcnn: no training job left (every split was skipped: " + "; ".join(skipped) + ")")
    return pd.DataFrame(rows), skipped


# ---- files -----------------------------------------------------------------------------------

def write_sheet(path: str | os.PathLike, sheet: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        sheet.to_csv(tmp, sep="\t", index=False)


def read_sheet(path: str | os.PathLike) -> pd.DataFrame:
    """A run sheet as written by :func:`write_sheet`, grid columns as text (``fold`` as int)."""
    try:
        sheet = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{path}: not a readable run sheet ({exc})") from exc
    missing = [c for c in (*GRID_COLUMNS, "predictions") if c not in sheet.columns]
    if missing:
        raise DataFormatError(f"{path}: run sheet lacks column(s) {missing}")
    sheet["fold"] = sheet["fold"].astype(int)
    return sheet


def row_keys(row: Mapping) -> dict:
    """The grid columns of one sheet row, as score keys."""
    return {c: row[c] for c in GRID_COLUMNS}
