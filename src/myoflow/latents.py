"""The disentanglement study's fold logic: train on one fold, keep latents, classify from them.

A fold's output is an :class:`~myoflow.sets.ArraySet` with, for every sample of the fold (train and
test, marked by the ``part`` column): the pattern latent, the subject latent, the standardised input
and the decoder's reconstructions from the pattern part alone, D([p, 0]), and from the subject part
alone, D([0, s]). Maps are in z units of the training subjects (value minus the training mean, over
the training sd), so what differs between gestures is not drowned by the average map.
"""

from __future__ import annotations

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from .evaluation import SCORE_COLUMNS, grid_keys
from .registry import Registry
from .sets import ArraySet


#: latent classifiers by name: factories ``(seed, **params) -> unfitted scikit-learn classifier``
LATENT_CLASSIFIERS: Registry = Registry("latent classifier")


@LATENT_CLASSIFIERS.register("knn")
def knn_classifier(seed: int, n_neighbors: int = 1):
    """k-nearest neighbours (the source: k = 1) on the raw latents."""
    return KNeighborsClassifier(n_neighbors=n_neighbors)


@LATENT_CLASSIFIERS.register("svm")
def linear_svm_classifier(seed: int, C: float = 1.0, max_iter: int = 5000):
    """Linear SVM on latents standardised with the fitting rows' statistics."""
    return make_pipeline(StandardScaler(), LinearSVC(C=C, max_iter=max_iter, random_state=seed))


@LATENT_CLASSIFIERS.register("rf")
def random_forest_classifier(seed: int, n_estimators: int = 1000, max_features: str = "sqrt"):
    """Random forest (the source: 1000 trees)."""
    return RandomForestClassifier(n_estimators=n_estimators, max_features=max_features,
                                  random_state=seed, n_jobs=1)


def latent_classification(latents: ArraySet, classifier: str = "knn", params: dict | None = None,
                          seed: int = 0) -> pd.DataFrame:
    """Predictions of one latent classifier on pattern vs subject latents.

    - target ``gesture``: fitted on the training subjects, tested on the held-out subject;
    - target ``subject``: among the training subjects (a held-out subject cannot be identified),
      fitted on the even-numbered gestures and tested on the odd ones. The mirror of the gesture
      test: a subject latent must recognise a person whatever the gesture, a pattern latent should
      not be able to.

    Returns columns: target, latent, subject, label, repetition, y_true, y_pred.
    """
    params = LATENT_CLASSIFIERS.check_params(classifier, params or {}, exclude={"seed"},
                                             where=f"disentangle.classifiers.{classifier}")
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
            model = LATENT_CLASSIFIERS.get(classifier)(seed, **params).fit(Xl[fit_mask], y[fit_mask])
            rows.append(pd.DataFrame({
                "target": target, "latent": latent,
                "subject": meta["subject"].to_numpy()[test_mask],
                "label": meta["label"].to_numpy()[test_mask],
                "repetition": reps[test_mask],
                "y_true": y[test_mask], "y_pred": model.predict(Xl[test_mask]),
            }))
    return pd.concat(rows, ignore_index=True)


def latent_scores(predictions: pd.DataFrame, keys: dict) -> pd.DataFrame:
    """Per-subject accuracy of each target from the latent named in ``keys["latent"]``.

    ``keys`` are the grid columns of the run-sheet row; ``metric`` is ``<target>_accuracy``.
    """
    rows = predictions[predictions["latent"] == keys["latent"]]
    acc = (rows.assign(correct=rows["y_true"] == rows["y_pred"])
           .groupby(["target", "subject"], sort=True)["correct"].mean().reset_index())
    table = pd.DataFrame({
        **grid_keys(keys), "subject": acc["subject"].astype(int),
        "metric": acc["target"] + "_accuracy", "value": acc["correct"].astype(float),
    }, index=acc.index)
    return table[SCORE_COLUMNS]


