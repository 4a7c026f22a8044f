"""The protocol audit: how much each published defect moved its study's headline number.

For every defect of :data:`myoflow.defects.DEFECTS` the audit pairs the corrected pipeline with
the same pipeline with only that defect switched on, run on the same folds, and takes the
difference per subject (defect minus corrected), its mean, a bootstrap CI over subjects and a
paired test (:func:`myoflow.stats.paired_difference`). A positive difference is what the
defect added to the published number.

- cross-user (:func:`crossuser_defect_scores`): the fixed user split of each audited dataset;
  the window and feature defects on ``audit.crossuser.model`` (LDA on its feature group; COMB for
  ``comb_without_ar9``), ``source_reshape`` on ``audit.crossuser.sequence_model`` (LSTM_HCF);
  per test user balanced accuracy. Both arms are fitted in one job from the same recordings.
- disentanglement (:func:`disentangle_pairs`): the pattern latents' gesture accuracy of
  ``audit.disentangle.classifier`` on one measure and split, per held-out subject.
- HD-CNN (:func:`hdcnn_pairs`): accuracy per subject and fold (the demo's sets have one or two
  subjects) of one width on the corrected split; ``sample_kfold`` compares the sample-level
  split with it.

Everything here takes tables and arrays and returns tables: nothing knows of Snakemake.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .defects import CROSSUSER_AUDIT, DEFECTS, STUDIES
from .errors import ConfigError
from .estimators import balanced_accuracy, build_estimator, fit_estimator
from .features import extract_features, extract_subwindow_features, libemg_group_as_run, resolve_features
from .inputs.crossuser import epn_window_set, feature_model_inputs
from .stats import mixed_model_table, paired_difference, signed_z, stouffer
from .store import Recording

__all__ = ["CROSSUSER_AUDIT", "PAIR_COLUMNS", "AUDIT_COLUMNS", "crossuser_defect_scores", "crossuser_pairs",
           "disentangle_pairs", "test_decisions", "hdcnn_pairs", "audit_table", "crossuser_across_datasets"]

#: the defects that need ground-truth active bounds (no effect on a dataset without them)
NEEDS_GROUND_TRUTH = frozenset({"raw_cropped_to_ground_truth", "relabeled_from_cropped"})

#: one row per (study, dataset, defect, subject): the headline metric under both protocols
PAIR_COLUMNS = ["study", "dataset", "defect", "pipeline", "metric", "subject", "corrected", "defect_on"]

#: one row per (study, dataset, defect) of the audit table
AUDIT_COLUMNS = ["study", "dataset", "defect", "pipeline", "metric", "n", "corrected", "defect_on",
                 "mean_difference", "ci_low", "ci_high", "p", "test", "source", "published", "note"]


def _has_ground_truth(recordings: Sequence[Recording], rest_label: int) -> bool:
    """Whether any active repetition has ground-truth bounds inside it (bounds covering the
    whole repetition, as some readers write for pre-segmented sets, crop nothing)."""
    for rec in recordings:
        t = rec.trials
        if "active_start" not in t:
            continue
        active = (t["label"] != rest_label) & (t["active_start"] >= 0)
        inside = (t["active_start"] > t["start"]) | (t["active_stop"] < t["stop"])
        if (active & inside).any():
            return True
    return False


def _arm_inputs(recordings, split, defect, on, spec, windows, model_cfg, pieces, threads):
    """Inputs, labels and metadata of one arm (defect ``on`` or off)."""
    window_set = epn_window_set(
        recordings, variant=spec["variant"], length=windows["length"], stride=windows["stride"],
        rest_thinning=windows["rest_thinning"],
        crop_raw_to_ground_truth=on and defect == "raw_cropped_to_ground_truth",
        relabel_from_cropped=on and defect == "relabeled_from_cropped",
        misaligned_metadata_groups=([split["train"], split["validation"], split["test"]]
                                    if on and defect == "metadata_misaligned" else None),
        training_subjects=split["train"],
    )
    w, meta, fs = window_set.arrays["windows"], window_set.meta, float(window_set.attrs["fs"])
    group = spec["features"] or model_cfg["input"]
    if group == "windows":
        X = w
    else:
        names = libemg_group_as_run(group) if on and defect == "comb_without_ar9" else resolve_features(group)
        if model_cfg.get("features_over", "window") == "subwindows":
            if on and defect == "source_reshape":
                X = feature_model_inputs(extract_features(w, names, threads=threads, fs=fs)[0], "source_reshape")
            else:
                X = extract_subwindow_features(w, names, pieces=pieces, threads=threads, fs=fs)[0]
        else:
            X = extract_features(w, names, threads=threads, fs=fs)[0]
    return X, meta["label"].to_numpy(), meta


def crossuser_defect_scores(recordings: Sequence[Recording], split: Mapping[str, Sequence[int]], defect: str, *,
                            windows: Mapping, model_cfg: Mapping, seed: int, threads: int = 1, pieces: int = 4,
                            rest_label: int = 0, log: logging.Logger | None = None) -> pd.DataFrame:
    """Per test user balanced accuracy of one cross-user pipeline, corrected and with ``defect``.

    ``split``: ``train`` / ``validation`` / ``test`` subject ids (the validation users early-stop
    a torch model, as in the study). ``model_cfg``: the audited model's estimator config (its
    ``input`` group, or ``features_over: subwindows`` for the temporal feature models). Both arms
    are fitted with the same seed. Returns columns ``subject``, ``corrected``, ``defect_on``
    (test users scored under both); empty, with ``attrs["note"]``, where the defect cannot act on
    this data (the cropping defects on a dataset without ground-truth bounds).
    """
    if defect not in CROSSUSER_AUDIT:
        raise ConfigError(f"{defect!r} is not a cross-user defect; expected one of {sorted(CROSSUSER_AUDIT)}")
    log = log or logging.getLogger("myoflow.audit")
    recordings = list(recordings)
    if defect in NEEDS_GROUND_TRUTH and not _has_ground_truth(recordings, rest_label):
        out = pd.DataFrame(columns=["subject", "corrected", "defect_on"])
        out.attrs["note"] = ("not applicable: the dataset has no ground-truth active bounds inside its "
                             "repetitions to crop to")
        return out
    spec = CROSSUSER_AUDIT[defect]
    if spec["model"] == "sequence_model" and model_cfg.get("features_over", "window") != "subwindows":
        raise ConfigError(f"audit.crossuser.sequence_model: the {defect} audit needs a model with "
                          "features_over: subwindows (LSTM_HCF or CNN_HCF)")
    arms = {}
    for name, on in (("corrected", False), ("defect_on", True)):
        X, y, meta = _arm_inputs(recordings, split, defect, on, spec, windows, model_cfg, pieces, threads)
        subjects = meta["subject"].to_numpy()
        train, val, test = (np.isin(subjects, list(split[k])) for k in ("train", "validation", "test"))
        est = build_estimator(model_cfg["estimator"], dict(model_cfg.get("params") or {}), seed=seed, threads=threads)
        fit_estimator(est, X[train], y[train], X[val], y[val])
        pred = np.asarray(est.predict(X[test]))
        scores = {int(s): balanced_accuracy(y[test][subjects[test] == s], pred[subjects[test] == s])
                  for s in np.unique(subjects[test])}
        log.info("%s %s: %d training / %d test windows, mean balanced accuracy %.4f over %d users",
                 defect, name, int(train.sum()), int(test.sum()), np.mean(list(scores.values())), len(scores))
        arms[name] = pd.Series(scores, name=name)
    both = pd.concat(arms.values(), axis=1, join="inner").rename_axis("subject").reset_index()
    both.attrs["note"] = ""
    return both


def _pairs(frame: pd.DataFrame, study: str, dataset: str, defect: str, pipeline: str, metric: str) -> pd.DataFrame:
    out = frame.assign(study=study, dataset=dataset, defect=defect, pipeline=pipeline, metric=metric)
    return out[PAIR_COLUMNS]


def crossuser_pairs(table: pd.DataFrame, dataset: str, defect: str, pipeline: str) -> pd.DataFrame:
    """A :func:`crossuser_defect_scores` table as audit pair rows."""
    return _pairs(table, "crossuser", dataset, defect, pipeline, "balanced_accuracy")


def _per_subject(scores: pd.DataFrame, keys: Mapping[str, str], metric: str, by: Sequence[str]) -> pd.Series:
    rows = scores[(scores["metric"] == metric)]
    for column, value in keys.items():
        rows = rows[rows[column].astype(str) == str(value)]
    return rows.groupby(list(by))["value"].mean()  # folds averaged per subject


def disentangle_pairs(scores: pd.DataFrame, pipeline: Mapping[str, str], defects: Iterable[str]) -> pd.DataFrame:
    """Pattern-latent gesture accuracy per held-out subject, corrected vs each defect protocol.

    ``scores``: the disentanglement score table with the corrected protocol and the defects'
    (the study's and the audit's rows together); ``pipeline``: measure, split, classifier.
    ``subject_ids_unseen`` changes the subject target, so it is paired on the subject latents'
    subject accuracy, per fold (the corrected protocol scores the training subjects, the defect
    the held-out one: the fold is what both share). Defects of switch ``stats`` have no score
    pairs (:func:`test_decisions`).
    """
    keys = {"measure": pipeline["measure"], "split": pipeline["split"], "classifier": pipeline["classifier"]}
    name = f"{pipeline['classifier']}, {pipeline['measure']}, {pipeline['split']}"
    parts = []
    for defect in defects:
        if DEFECTS.get(defect).switch != "protocol":
            continue
        if defect == "subject_ids_unseen":
            metric, latent, by = "subject_accuracy", "subject", ["dataset", "fold"]
            what = f"{name}: subject accuracy of subject latents, per fold"
        else:
            metric, latent, by = "gesture_accuracy", "pattern", ["dataset", "subject"]
            what = f"{name}: gesture accuracy of pattern latents"
        corrected = _per_subject(scores, {**keys, "latent": latent, "protocol": "corrected"}, metric, by)
        on = _per_subject(scores, {**keys, "latent": latent, "protocol": defect}, metric, by)
        both = pd.concat({"corrected": corrected, "defect_on": on}, axis=1, join="inner").reset_index()
        both = both.rename(columns={"fold": "subject"})
        for dataset, rows in both.groupby("dataset"):
            parts.append(_pairs(rows, "disentangle", dataset, defect, what, metric))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PAIR_COLUMNS)


def test_decisions(measure_tests: pd.DataFrame, classifier: str, split: str, dataset: str,
                   alpha: float = 0.05) -> dict:
    """Defect ``unpaired_uncorrected_tests`` as an audit-table row: the share of measure pairs
    the source's unpaired, uncorrected test declares different at ``alpha`` (``defect_on``)
    beside the paired Holm tests' share (``corrected``), for one latent classifier and split of
    the measure-test table (columns measure_a, measure_b, signed_p, classifier, split, test).
    Not a per-subject score: no CI; ``n`` is the number of measure pairs."""
    rows = measure_tests[(measure_tests["classifier"] == classifier) & (measure_tests["split"] == split)
                         & (measure_tests["protocol"] == "corrected")]
    share = {}
    n = 0
    for test, g in rows.groupby("test"):
        order = {m: i for i, m in enumerate(dict.fromkeys(g["measure_a"]))}
        upper = g[g["measure_a"].map(order) < g["measure_b"].map(order)]
        p = upper["signed_p"].abs().to_numpy(float)
        share[test], n = float(np.mean(p < alpha)) if len(p) else np.nan, len(p)
    d = DEFECTS.get("unpaired_uncorrected_tests")
    corrected, on = share.get("paired_holm", np.nan), share.get("source", np.nan)
    return {"study": "disentangle", "dataset": dataset, "defect": d.name,
            "pipeline": f"measure x measure tests of {classifier} pattern-latent gesture accuracy, {split}",
            "metric": f"share of measure pairs at p < {alpha:g}", "n": n, "corrected": corrected, "defect_on": on,
            "mean_difference": on - corrected, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "test": "",
            "source": d.source, "published": d.published,
            "note": f"not a per-subject score: the share of the {n} measure pairs declared different"}


def hdcnn_pairs(scores: pd.DataFrame, pipeline: Mapping[str, str], defects: Iterable[str]) -> pd.DataFrame:
    """Accuracy of one width on the corrected split, corrected vs each defect.

    A protocol defect runs the same split and folds with the defect on: the unit is one
    subject's test items of one fold (``<subject>/fold-<k>``: the same items under both
    protocols; the demo's sets have one or two subjects). ``sample_kfold`` (a split defect) is
    the corrected protocol's sample-level split, whose folds hold other items: the unit is the
    subject, folds averaged.
    """
    keys = {"width": pipeline["width"]}
    parts = []
    for defect in defects:
        if DEFECTS.get(defect).switch == "split":
            by = ["dataset", "subject"]
            on = _per_subject(scores, {**keys, "protocol": "corrected", "split": "sample"}, "accuracy", by)
            name = f"MobileNetV2 x{pipeline['width']}, sample vs {pipeline['split']} K-fold, per subject"
        else:
            by = ["dataset", "subject", "fold"]
            on = _per_subject(scores, {**keys, "protocol": defect, "split": pipeline["split"]}, "accuracy", by)
            name = f"MobileNetV2 x{pipeline['width']}, {pipeline['split']} split, per subject and fold"
        corrected = _per_subject(scores, {**keys, "protocol": "corrected", "split": pipeline["split"]}, "accuracy", by)
        both = pd.concat({"corrected": corrected, "defect_on": on}, axis=1, join="inner").reset_index()
        if "fold" in by:
            both["subject"] = both["subject"].astype(str) + "/fold-" + both["fold"].astype(str)
        for dataset, rows in both.groupby("dataset"):
            parts.append(_pairs(rows, "hdcnn", dataset, defect, name, "accuracy"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PAIR_COLUMNS)


def audit_table(pairs: pd.DataFrame, notes: Mapping[tuple[str, str], str] | None = None, n_boot: int = 2000,
                seed: int = 0, extra_rows: Sequence[Mapping] = ()) -> pd.DataFrame:
    """One row per (study, dataset, defect): mean corrected and defect-on score, their paired
    difference (defect minus corrected) with a bootstrap CI over subjects and a paired test,
    and the defect's source and published behaviour. ``notes``: (dataset, defect) -> why a
    defect has no pairs there (it is listed with n = 0); ``extra_rows``: rows built elsewhere
    (:func:`test_decisions`)."""
    rows = [dict(r) for r in extra_rows]
    for (study, dataset, defect), g in pairs.groupby(["study", "dataset", "defect"], sort=False):
        diff = paired_difference(g["defect_on"].to_numpy(float), g["corrected"].to_numpy(float), n_boot=n_boot,
                                 seed=seed)
        d = DEFECTS.get(defect)
        rows.append({"study": study, "dataset": dataset, "defect": defect, "pipeline": g["pipeline"].iloc[0],
                     "metric": g["metric"].iloc[0], "n": diff["n"], "corrected": diff["mean_b"],
                     "defect_on": diff["mean_a"], "mean_difference": diff["mean_difference"],
                     "ci_low": diff["ci_low"], "ci_high": diff["ci_high"], "p": diff["p"], "test": diff["test"],
                     "source": d.source, "published": d.published, "note": ""})
    for (dataset, defect), note in (notes or {}).items():
        d = DEFECTS.get(defect)
        rows.append({"study": d.study, "dataset": dataset, "defect": defect, "pipeline": "", "metric": "", "n": 0,
                     "corrected": np.nan, "defect_on": np.nan, "mean_difference": np.nan, "ci_low": np.nan,
                     "ci_high": np.nan, "p": np.nan, "test": "", "source": d.source, "published": d.published,
                     "note": note})
    table = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    order = {s: i for i, s in enumerate(STUDIES)}
    defect_order = {n: i for i, n in enumerate(DEFECTS.names())}
    return (table.assign(_s=table["study"].map(order), _d=table["defect"].map(defect_order))
            .sort_values(["_s", "_d", "dataset"], kind="stable").drop(columns=["_s", "_d"]).reset_index(drop=True))


def crossuser_across_datasets(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per cross-user defect audited on several datasets: the mixed model
    ``score ~ protocol + (1 | dataset / subject)`` (its ``defect_on`` coefficient: the effect
    across datasets, with Wald CI and p) and Stouffer's sqrt(n)-weighted combination of the
    per-dataset paired tests as a check. One row per defect."""
    rows = []
    cu = pairs[pairs["study"] == "crossuser"]
    for defect, g in cu.groupby("defect", sort=False):
        long = pd.concat([g.assign(score=g["corrected"], pipeline="corrected"),
                          g.assign(score=g["defect_on"], pipeline="defect_on")], ignore_index=True)
        per_dataset = [(signed_z(d["defect_on"].to_numpy(float) - d["corrected"].to_numpy(float)), len(d))
                       for _, d in g.groupby("dataset")]
        z = stouffer([v for v, _ in per_dataset], [n for _, n in per_dataset])
        row = {"defect": defect, "datasets": ", ".join(sorted(g["dataset"].unique())),
               "n_datasets": g["dataset"].nunique(), "n_subjects": len(g),
               "stouffer_z": z["z"], "stouffer_p": z["p"]}
        try:
            fit = mixed_model_table(long[["score", "pipeline", "dataset", "subject"]], reference="corrected")
            effect = fit[fit["term"] == "defect_on"].iloc[0]
            row.update(effect=float(effect["coef"]), se=float(effect["se"]), ci_low=float(effect["ci_low"]),
                       ci_high=float(effect["ci_high"]), p=float(effect["p"]), converged=bool(effect["converged"]))
        except (ValueError, np.linalg.LinAlgError) as exc:  # e.g. every difference exactly zero
            row.update(effect=float((g["defect_on"] - g["corrected"]).mean()), se=np.nan, ci_low=np.nan,
                       ci_high=np.nan, p=np.nan, converged=False, note=f"mixed model not fitted: {exc}")
        rows.append({"note": "", **row})
    columns = ["defect", "datasets", "n_datasets", "n_subjects", "effect", "se", "ci_low", "ci_high", "p",
               "converged", "stouffer_z", "stouffer_p", "note"]
    return pd.DataFrame(rows, columns=columns)
