"""The disentanglement study's fold logic: train on one fold, keep latents, classify from them.

A fold's output is an :class:`~myoflow.sets.ArraySet` with, for every sample of the fold (train and
test, marked by the ``part`` column): the pattern latent, the subject latent, the standardised input
and the decoder's reconstructions from the pattern part alone, D([p, 0]), and from the subject part
alone, D([0, s]). Maps are in z units of the training subjects (value minus the training mean, over
the training sd), so what differs between gestures is not drowned by the average map.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from sklearn.neighbors import KNeighborsClassifier

from .evaluation import SCORE_COLUMNS
from .io import atomic_path
from .sets import ArraySet
from .splits import select

# the decoder ends in Tanh: inputs are z-scored with training statistics, then divided by this so
# nearly all values fall inside (-1, 1)
TANH_RANGE_SCALE = 3.0


class FoldModel:
    """A trained disentanglement network with the standardisation it was trained with."""

    def __init__(self, net, mean: np.ndarray, scale: np.ndarray, params: dict, history: list):
        self.net, self.mean, self.scale, self.params, self.history = net, mean, scale, params, history

    def save(self, path: str | os.PathLike) -> None:
        import torch

        with atomic_path(path) as tmp:
            torch.save({"state_dict": self.net.state_dict(), "mean": self.mean, "scale": self.scale,
                        "params": self.params, "history": self.history}, tmp)


def run_disentangle_fold(
    samples: ArraySet, folds: pd.DataFrame, fold: int, params: dict, seed: int, threads: int = 1
) -> tuple[FoldModel, ArraySet]:
    """Train on the fold's training subjects; return the model and the latents of all its samples."""
    from .training import encode_latents, reconstruct, set_seed, train_disentangle

    set_seed(seed, threads=threads)
    X = samples.arrays["samples"].astype(np.float32)
    meta = samples.meta
    train = select(meta, folds, fold, "train")
    test = select(meta, folds, fold, "test")
    if not train.any() or not test.any():
        raise ValueError(f"fold {fold}: {train.sum()} training and {test.sum()} test samples; need both")
    # standardise with statistics of the training subjects only
    mean = X[train].mean(axis=0, keepdims=True)
    scale = TANH_RANGE_SCALE * (X[train].std(axis=0, keepdims=True) + 1e-8)
    Z = (X - mean) / scale
    net, history = train_disentangle(
        Z[train], meta["label"].to_numpy()[train], meta["subject"].to_numpy()[train],
        {**params, "seed": seed, "threads": threads},
    )
    keep = train | test
    Zk = Z[keep]
    xp, xs = encode_latents(net, Zk)
    recon_p = reconstruct(net, xp, xs, "pattern") * TANH_RANGE_SCALE
    recon_s = reconstruct(net, xp, xs, "subject") * TANH_RANGE_SCALE
    m = meta[keep].reset_index(drop=True).copy()
    m["part"] = np.where(train[keep], "train", "test")
    m["fold"] = fold
    latents = ArraySet(
        {"pattern": xp.astype(np.float32), "subject": xs.astype(np.float32),
         "input_z": (Zk * TANH_RANGE_SCALE).astype(np.float32),
         "recon_pattern": recon_p.astype(np.float32), "recon_subject": recon_s.astype(np.float32)},
        m, {**samples.attrs, "fold": fold, "model": params, "seed": seed},
    )
    return FoldModel(net, mean, scale, params, history), latents


def latent_classification(latents: ArraySet, n_neighbors: int = 1) -> pd.DataFrame:
    """Predictions of kNN classifiers on pattern vs subject latents.

    - target ``gesture``: fitted on the training subjects, tested on the held-out subject;
    - target ``subject``: among the training subjects (a held-out subject cannot be identified),
      fitted on the even-numbered gestures and tested on the odd ones. The mirror of the gesture
      test: a subject latent must recognise a person whatever the gesture, a pattern latent should
      not be able to.

    Returns columns: target, latent, subject, label, repetition, y_true, y_pred.
    """
    meta = latents.meta
    train = (meta["part"] == "train").to_numpy()
    test = (meta["part"] == "test").to_numpy()
    reps = meta["repetition"].to_numpy()
    even_gesture = meta["label"].to_numpy() % 2 == 0
    sid_fit = train & even_gesture
    sid_test = train & ~even_gesture
    rows = []
    for latent in ("pattern", "subject"):
        Xl = latents.arrays[latent]
        for target, fit_mask, test_mask, y in (
            ("gesture", train, test, meta["label"].to_numpy()),
            ("subject", sid_fit, sid_test, meta["subject"].to_numpy()),
        ):
            if not fit_mask.any() or not test_mask.any():
                continue
            knn = KNeighborsClassifier(n_neighbors=n_neighbors).fit(Xl[fit_mask], y[fit_mask])
            rows.append(pd.DataFrame({
                "target": target, "latent": latent,
                "subject": meta["subject"].to_numpy()[test_mask],
                "label": meta["label"].to_numpy()[test_mask],
                "repetition": reps[test_mask],
                "y_true": y[test_mask], "y_pred": knn.predict(Xl[test_mask]),
            }))
    return pd.concat(rows, ignore_index=True)


def latent_scores(predictions: pd.DataFrame, keys: dict, model: str = "kNN") -> pd.DataFrame:
    """Per-subject accuracy of each (target, latent) as long score rows.

    ``features`` is ``<latent>_latent``; ``metric`` is ``<target>_accuracy``.
    """
    acc = (predictions.assign(correct=predictions["y_true"] == predictions["y_pred"])
           .groupby(["target", "latent", "subject"], sort=True)["correct"].mean().reset_index())
    rows = pd.DataFrame({
        "study": keys.get("study", "disentangle"), "dataset": keys.get("dataset", "none"),
        "variant": keys.get("variant", "none"), "features": acc["latent"] + "_latent",
        "model": model, "loss": "none", "protocol": keys.get("protocol", "loso"),
        "fold": keys.get("fold", 0), "subject": acc["subject"].astype(int),
        "metric": acc["target"] + "_accuracy", "value": acc["correct"].astype(float),
    })
    return rows[SCORE_COLUMNS]


def gesture_maps(latent_sets: list[ArraySet], array: str = "recon_pattern") -> tuple[np.ndarray, list[int]]:
    """Mean map per gesture over the held-out subjects of all folds -> (gestures, rows, cols).

    ``array``: ``recon_pattern`` (D([p, 0])), ``recon_subject`` or ``input_z`` (the data).
    Values per electrode are averaged over the measure's F values (e.g. RMS frames).
    """
    maps, labels = [], []
    for s in latent_sets:
        test = (s.meta["part"] == "test").to_numpy()
        maps.append(s.arrays[array][test].mean(axis=1))  # (n, rows, cols)
        labels.append(s.meta["label"].to_numpy()[test])
    maps_all, labels_all = np.concatenate(maps), np.concatenate(labels)
    gestures = sorted(int(g) for g in np.unique(labels_all))
    return np.stack([maps_all[labels_all == g].mean(axis=0) for g in gestures]), gestures
