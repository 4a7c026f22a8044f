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
from .defects import AS_PUBLISHED, CORRECTED, audited_defects, protocol_defects, study_defects
from .splits import SPLIT_UNITS, n_folds

#: per study: the metric its statistics compare, the sheet columns that identify a pipeline, and
#: the columns of a family (pipelines scored on the same subjects, so paired tests are valid)
STUDY_DESIGN = {
    "crossuser": {
        "metric": "balanced_accuracy",
        "pipeline": ["protocol", "split", "train_users", "train_repetitions", "train_variant", "test_variant",
                     "features", "model", "loss", "norm"],
        # pipelines scored on the same test items the same way: the models, losses, feature groups
        # and training cells of one protocol on one test variant under one norm (all pairs of the
        # whole grid would be tens of thousands of tests of pipelines tested on different items)
        "family": ["dataset", "protocol", "test_variant", "norm"],
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


def crossuser_feature_grid(cu: Mapping) -> tuple[list[str], list[str]]:
    """(models, groups) of the feature experiment (``crossuser.feature_grid``): each model listed
    trains once per group (groups null: every ``crossuser.feature_groups`` entry)."""
    grid = cu.get("feature_grid") or {}
    models = list(grid.get("models") or [])
    groups = list(grid.get("groups") or cu["feature_groups"]) if models else []
    unknown = sorted(set(models) - set(cu["models"]))
    if unknown:
        raise ConfigError(f"crossuser.feature_grid.models: {unknown} not among crossuser.models ({sorted(cu['models'])})")
    for name in models:
        if cu["models"][name]["input"] == "windows":
            raise ConfigError(f"crossuser.feature_grid.models: {name!r} takes raw windows (input: windows); "
                              "the feature grid varies the feature group of feature models")
    missing = sorted(set(groups) - set(cu["feature_groups"]))
    if missing:
        raise ConfigError(f"crossuser.feature_grid.groups: {missing} not among crossuser.feature_groups "
                          f"{list(cu['feature_groups'])} (the groups extracted)")
    swept = set((cu.get("loss_sweep") or {}).get("models") or [])
    both = sorted(swept & set(models))
    if both:
        raise ConfigError(f"crossuser: {both} both in feature_grid.models and loss_sweep.models; "
                          "a model sweeps one of the two")
    return models, groups


def crossuser_enabled_models(cu: Mapping) -> list[str]:
    """The models of ``crossuser.models`` that train: ``crossuser.train_models`` (null: every
    one). A config file laid over another cannot delete a model entry; it narrows the set here."""
    names = cu.get("train_models")
    if names is None:
        return list(cu["models"])
    unknown = sorted(set(names) - set(cu["models"]))
    if unknown:
        raise ConfigError(f"crossuser.train_models: {unknown} not among crossuser.models ({sorted(cu['models'])})")
    return [n for n in cu["models"] if n in set(names)]


def crossuser_trained_models(cu: Mapping) -> list[tuple[str, str, str]]:
    """(model, loss, features) of every cross-user model that trains.

    Each model of ``crossuser.models`` trains with its own loss on its own input, except those of
    ``crossuser.loss_sweep.models``, which train once per loss of ``crossuser.loss_sweep.losses``,
    and those of ``crossuser.feature_grid.models``, which train once per feature group of the grid.
    """
    sweep = cu.get("loss_sweep") or {}
    swept = list(sweep.get("models") or [])
    unknown = sorted(set(swept) - set(cu["models"]))
    if unknown:
        raise ConfigError(f"crossuser.loss_sweep.models: {unknown} not among crossuser.models ({sorted(cu['models'])})")
    grid_models, grid_groups = crossuser_feature_grid(cu)
    enabled = crossuser_enabled_models(cu)
    for key, names in (("loss_sweep.models", swept), ("feature_grid.models", grid_models),
                       ("architectures.models", list((cu.get("architectures") or {}).get("models") or [])),
                       ("within_user.models", list(cu["within_user"]["models"]))):
        off = sorted(set(names) - set(enabled))
        if off:
            raise ConfigError(f"crossuser.{key}: {off} not among crossuser.train_models {enabled}")
    triples = []
    for name in enabled:
        m = cu["models"][name]
        if name in grid_models:
            triples += [(name, crossuser_model_loss(m), group) for group in grid_groups]
            continue
        if name not in swept:
            triples.append((name, crossuser_model_loss(m), m["input"]))
            continue
        if m["estimator"] != "torch":
            raise ConfigError(f"crossuser.loss_sweep.models: {name!r} is a {m['estimator']!r} estimator; "
                              "only torch models train with a loss")
        triples += [(name, loss, m["input"]) for loss in sweep["losses"]]
    return triples


def crossuser_model_config(cu: Mapping, name: str, loss: str, features: str | None = None) -> dict:
    """The estimator config of model ``name`` trained with ``loss`` on ``features`` (a feature
    group of the feature grid; default the model's own ``input``): its ``params`` with the loss,
    the loss's parameters (``crossuser.loss_params``, under the model's own ``loss_params``) and,
    for ``grl``, the model's user-head version (:data:`USER_HEAD_MODELS`)."""
    m = dict(cu["models"][name])
    if features is not None and features != m["input"]:
        if m["input"] == "windows" or features == "windows":
            raise ConfigError(f"crossuser.models.{name}: input {m['input']!r} cannot be swapped for {features!r}")
        m["input"] = features
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


def crossuser_model_path(protocol: str, train_variant: str, features: str, model: str, loss: str, fold: int) -> str:
    """The trained model file of one (protocol, train variant, features, model, loss, fold)."""
    return f"results/crossuser/models/{protocol}/{train_variant}/{features}/{model}/{loss}/fold-{fold}.model"


def crossuser_validation_path(protocol: str, train_variant: str, features: str, model: str, loss: str,
                              fold: int) -> str:
    """Per-user scores of a trained model on its fold's validation items (what model selection reads)."""
    stem = crossuser_model_path(protocol, train_variant, features, model, loss, fold)
    return stem[: -len(".model")] + ".validation.csv"


def within_user_repetitions(cu: Mapping) -> list[int]:
    """The r values of the within-user sweep (``crossuser.within_user.train_repetitions``)."""
    r = cu["within_user"]["train_repetitions"]
    return [int(v) for v in (r if isinstance(r, (list, tuple)) else [r])]


def within_user_protocol(r: int, fine_tune: bool = False) -> str:
    """The fold-table and folder name of the within-user models trained on r repetitions (the
    sheet's keys are ``protocol`` = ``within_user`` and ``train_repetitions`` = r), or of those
    fine-tuned from the cross-user model (``protocol`` = ``within_user_finetune``)."""
    return f"within_user_finetune_r{int(r)}" if fine_tune else f"within_user_r{int(r)}"


def is_within_user(protocol: str) -> bool:
    """Whether a fold-table / folder name is a within-user one (one model per user, one job)."""
    return protocol.startswith("within_user_")


def is_fine_tuned(protocol: str) -> bool:
    """Whether a fold-table / folder name is that of within-user models fine-tuned from the
    cross-user model (:func:`within_user_protocol` with ``fine_tune``)."""
    return protocol.startswith("within_user_finetune_")


def within_user_fine_tuned(cu: Mapping) -> list[str]:
    """The models of ``crossuser.within_user.fine_tune``, each checked to be a torch model whose
    cross-user version trains (with its own loss on its own input): the weights it starts from."""
    names = list(cu["within_user"].get("fine_tune") or [])
    trained = set(crossuser_trained_models(cu))
    for name in names:
        m = cu["models"].get(name)
        if m is None:
            raise ConfigError(f"crossuser.within_user.fine_tune: {name!r} is not among crossuser.models "
                              f"({sorted(cu['models'])})")
        if m["estimator"] != "torch":
            raise ConfigError(f"crossuser.within_user.fine_tune: {name!r} is a {m['estimator']!r} estimator; "
                              "only torch models start from saved weights")
        if (name, crossuser_model_loss(m), m["input"]) not in trained:
            raise ConfigError(f"crossuser.within_user.fine_tune: {name!r} with its own loss "
                              f"{crossuser_model_loss(m)!r} on {m['input']!r} is not a trained cross-user model "
                              "(add the loss to crossuser.loss_sweep.losses, or the model to train_models)")
    return names


def within_user_model_config(cu: Mapping, name: str, fine_tune: bool) -> dict:
    """A within-user model's estimator config: the model's own (its loss and input); a torch
    model's params get ``crossuser.within_user.torch_params`` laid over them (e.g. the source's
    batch of 128 for one user's few windows), then ``fine_tune_params`` where it fine-tunes."""
    m = crossuser_model_config(cu, name, crossuser_model_loss(cu["models"][name]))
    if m["estimator"] != "torch":
        return m
    within = cu["within_user"]
    params = {**m["params"], **dict(within.get("torch_params") or {})}
    if fine_tune:
        params.update(dict(within.get("fine_tune_params") or {}))
    return {**m, "params": params}


#: user orderings of the incremental sweep
INCREMENTAL_ORDERINGS = ("worst_first", "best_first", "random")


def incremental_cells(cu: Mapping) -> list[dict]:
    """The cells of the incremental sweep (``crossuser.incremental``): one per (ordering,
    training users n, repetitions r), each with its fold-table / folder name ``protocol``.
    Empty when ``crossuser.incremental.model`` is null."""
    inc = cu.get("incremental") or {}
    model = inc.get("model")
    if not model:
        return []
    if model not in cu["models"]:
        raise ConfigError(f"crossuser.incremental.model: {model!r} not among crossuser.models ({sorted(cu['models'])})")
    if model not in crossuser_enabled_models(cu):
        raise ConfigError(f"crossuser.incremental.model: {model!r} not among crossuser.train_models")
    bad = sorted(set(inc["orderings"]) - set(INCREMENTAL_ORDERINGS))
    if bad:
        raise ConfigError(f"crossuser.incremental.orderings: {bad}; expected some of {list(INCREMENTAL_ORDERINGS)}")
    return [{"protocol": f"incremental_{o}_u{int(n)}_r{int(r)}", "ordering": o, "n_users": int(n), "repetitions": int(r)}
            for o in inc["orderings"] for n in inc["users"] for r in inc["repetitions"]]


def crossuser_test_variants(cu: Mapping) -> list[str]:
    """The variants every trained model is tested on: ``crossuser.test_variants``, else ``variants``."""
    return list(cu.get("test_variants") or cu["variants"])


def crossuser_predictions_path(protocol: str, train_variant: str, features: str, model: str, loss: str,
                               test_variant: str, norm: str, fold: int) -> str:
    """Predictions of one model on one test variant under one test-time normalisation."""
    stem = (f"results/crossuser/predictions/{protocol}/{train_variant}/{features}/{model}/{loss}/"
            f"test-{test_variant}")
    return f"{stem}/fold-{fold}.csv.gz" if norm == "none" else f"{stem}/{norm}-norm/fold-{fold}.csv.gz"


def crossuser_sheet(cu: Mapping, dataset: str) -> pd.DataFrame:
    """One row per (protocol, train variant, features, model, loss, fold, test variant, norm) prediction.

    Every model of ``crossuser.models`` trains once on the fixed user split (protocol
    ``crossuser``, fold 0), those of ``crossuser.loss_sweep.models`` once per loss, those of
    ``crossuser.feature_grid.models`` once per feature group (:func:`crossuser_trained_models`); the models
    named in ``crossuser.within_user.models`` also train one model per user in one job (protocol
    ``within_user``, with the model's own loss, per r), and those of ``within_user.fine_tune`` the
    same from their cross-user weights (``within_user_finetune``). Each model trained on a variant is tested on
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
    # (keys of the rows, folder, model, loss, features, folds)
    jobs = [({"protocol": "crossuser"}, "crossuser", name, loss, features, [0]) for name, loss, features in trained]
    # within-user models train on one user: with their own loss and input, not the sweeps (trp
    # and grl need several users in a batch); once per r of the repetition sweep
    jobs += [({"protocol": "within_user", "train_repetitions": str(r)}, within_user_protocol(r), name,
              crossuser_model_loss(models[name]), models[name]["input"], [0])
             for r in within_user_repetitions(cu) for name in cu["within_user"]["models"]]
    jobs += [({"protocol": "within_user_finetune", "train_repetitions": str(r)}, within_user_protocol(r, True),
              name, crossuser_model_loss(models[name]), models[name]["input"], [0])
             for r in within_user_repetitions(cu) for name in within_user_fine_tuned(cu)]
    # the incremental sweep: the model trained on the first n users of an ordering, r repetitions each
    inc_model = (cu.get("incremental") or {}).get("model")
    jobs += [({"protocol": "incremental", "split": c["ordering"], "train_users": str(c["n_users"]),
               "train_repetitions": str(c["repetitions"])}, c["protocol"], inc_model,
              crossuser_model_loss(models[inc_model]), models[inc_model]["input"], [0])
             for c in incremental_cells(cu)]
    for keys, protocol, name, loss, features, folds in jobs:
        m = models[name]
        # the incremental sweep trains on the first variant only (the source's raw); the rest on each
        variants = cu["variants"][:1] if keys["protocol"] == "incremental" else cu["variants"]
        for train_variant in variants:
            for fold in folds:
                model_file = crossuser_model_path(protocol, train_variant, features, name, loss, fold)
                for test_variant in test_variants:
                    for norm in norms:
                        rows.append({
                            **_grid_row(study="crossuser", dataset=dataset, **keys,
                                        train_variant=train_variant, test_variant=test_variant,
                                        features=features, model=name, loss=loss, norm=norm, fold=fold),
                            "estimator": m["estimator"],
                            "model_file": model_file,
                            "validation_file": crossuser_validation_path(protocol, train_variant, features,
                                                                         name, loss, fold),
                            "predictions": crossuser_predictions_path(protocol, train_variant, features, name,
                                                                      loss, test_variant, norm, fold),
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


def disentangle_sheet(dis: Mapping, dataset: str, subjects_by_session: Mapping[int, Sequence[int]],
                      audit: Mapping | None = None) -> pd.DataFrame:
    """One row per (protocol, split, measure, fold, latent classifier, latent).

    With ``audit`` (the config's ``audit`` section), each audited defect that is not already a
    protocol of the study runs on the audited pipeline only (:func:`disentangle_audit_pipeline`),
    its rows marked ``audit_only``.

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
    cells = [(p, dis["splits"], dis["measures"], dis["classifiers"], False) for p in study_protocols(dis)]
    if audit is not None:
        a = disentangle_audit_pipeline(dis, audit)
        cells += [(p, [a["split"]], [a["measure"]], [a["classifier"]], True)
                  for p in audit_only_protocols("disentangle", dis, audit)]
    for protocol, splits, measures, classifiers, audit_only in cells:
        defects = protocol_defects("disentangle", protocol)
        model_protocol = protocol if defects & DISENTANGLE_TRAINING_DEFECTS else CORRECTED
        order = "storage" if "storage_order_maps" in defects else "grid"
        for split in splits:
            folds = disentangle_folds(subjects_by_session, split, dis.get("within_session_folds", 2))
            for measure in measures:
                for f in folds.itertuples(index=False):
                    paths = disentangle_paths(model_protocol, protocol, measure, split, int(f.fold))
                    for classifier in classifiers:
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
                                "subject_on_unseen_ids": "subject_ids_unseen" in defects,
                                "audit_only": audit_only,
                                **paths,
                            })
    return pd.DataFrame(rows)


def audit_only_protocols(study: str, section: Mapping, audit: Mapping) -> list[str]:
    """The audited defects of ``study`` switched on by a protocol (``audit.defects``) that are
    not already among the study's ``protocols``: they run on the audited pipeline only. The
    corrected protocol joins them where the study does not run it (``as_published: true``): each
    defect is compared with it."""
    audited = set(audited_defects(audit.get("defects")))
    if not audited & set(study_defects(study, switch=None)):
        return []
    own = set(study_protocols(section))
    extra = [d for d in study_defects(study) if d in audited and d not in own]
    return ([CORRECTED] if CORRECTED not in own else []) + extra


def disentangle_audit_pipeline(dis: Mapping, audit: Mapping) -> dict:
    """The disentanglement pipeline the audit compares protocols on: ``audit.disentangle``'s
    measure, split (null: the study's first) and latent classifier (null: the study's first
    network classifier, else its first), checked against the study."""
    # here, not at the top: the latent classifiers import scikit-learn's models, which the
    # scripts reading run sheets do not need
    from .latents import NETWORK_CLASSIFIERS

    a = dict(audit.get("disentangle") or {})
    measure = a.get("measure") or dis["measures"][0]
    split = a.get("split") or dis["splits"][0]
    # null: the first network classifier of the study (test_set_epoch acts on those only), else
    # its first classifier
    classifier = a.get("classifier") or next((c for c in dis["classifiers"] if c in NETWORK_CLASSIFIERS),
                                             dis["classifiers"][0])
    for key, value, known in (("measure", measure, dis["measures"]), ("split", split, dis["splits"]),
                              ("classifier", classifier, dis["classifiers"])):
        if value not in known:
            raise ConfigError(f"audit.disentangle.{key}: {value!r} is not among disentangle.{key}s {list(known)}")
    return {"measure": measure, "split": split, "classifier": classifier}


def hdcnn_audit_pipeline(hd: Mapping, audit: Mapping) -> dict:
    """The HD-CNN pipeline the audit compares protocols on: ``audit.hdcnn``'s corrected split,
    width (null: the first of hdcnn.widths) and datasets (null: every one), checked against the
    study."""
    a = dict(audit.get("hdcnn") or {})
    split = a.get("split", "repetition")
    datasets = a.get("datasets") or list(hd["datasets"])
    unknown = sorted(set(datasets) - set(hd["datasets"]))
    if unknown:
        raise ConfigError(f"audit.hdcnn.datasets: {unknown} are not among hdcnn.datasets {list(hd['datasets'])}")
    width = a.get("width")
    width = width_key(hd["widths"][0] if width is None else width)
    if width not in {width_key(w) for w in hd["widths"]}:
        raise ConfigError(f"audit.hdcnn.width: {a.get('width')!r} is not among hdcnn.widths {list(hd['widths'])}")
    if split not in hd["splits"]:
        raise ConfigError(f"audit.hdcnn.split: {split!r} is not among hdcnn.splits {list(hd['splits'])}")
    return {"split": split, "width": width, "datasets": datasets}


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


def hdcnn_sheet(hd: Mapping, recordings: Mapping[str, Sequence[tuple[int, int]]],
                audit: Mapping | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per (protocol, dataset, split, width, fold) training job, and the notes of skipped cells.

    With ``audit`` (the config's ``audit`` section), each audited defect that is not already a
    protocol of the study runs on the audited split and width only (:func:`hdcnn_audit_pipeline`),
    its rows marked ``audit_only`` (not exported to ONNX).

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
    cells = [(p, hd["splits"], hd["widths"], False) for p in study_protocols(hd)]
    if audit is not None:
        a = hdcnn_audit_pipeline(hd, audit)
        cells += [(p, [a["split"]], [float(a["width"])], True, a["datasets"])
                  for p in audit_only_protocols("hdcnn", hd, audit)]
    for protocol, splits, widths, audit_only, *only in cells:
        defects = protocol_defects("hdcnn", protocol)
        order = "storage" if "storage_order_images" in defects else "grid"
        for dataset in (only[0] if only else hd["datasets"]):
            recs = recordings[dataset]
            subjects = sorted({s for s, _ in recs})
            sessions = sorted({ses for _, ses in recs})
            for split in splits:
                if split == "session" and len(sessions) < 2:
                    if audit_only:
                        continue
                    skipped.append(f"hdcnn: split 'session' skipped for dataset {dataset!r}: it has "
                                   f"{len(sessions)} session(s) {sessions}")
                    continue
                if split in ("subject", "finetune") and len(subjects) < 2:
                    if audit_only:
                        continue
                    skipped.append(f"hdcnn: split {split!r} skipped for dataset {dataset!r}: it has "
                                   f"{len(subjects)} subject(s) {subjects}")
                    continue
                unit, leaky = SPLIT_UNITS[split]
                for width in widths:
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
                            "audit_only": audit_only,
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


def sheet_part(sheet: pd.DataFrame, audit_only: bool) -> pd.DataFrame:
    """The rows of the study's own grid (``audit_only`` False) or those run only for the audit
    (True). A sheet without the column is all study rows."""
    if "audit_only" not in sheet.columns:
        return sheet if not audit_only else sheet.iloc[:0]
    flag = sheet["audit_only"].astype(str).str.lower().isin(["true", "1"])
    return sheet[flag == bool(audit_only)]


def row_keys(row: Mapping) -> dict:
    """The grid columns of one sheet row, as score keys."""
    return {c: row[c] for c in GRID_COLUMNS}
