"""The disentanglement study's fold logic: train on one fold, keep latents, classify from them.

A fold's output is an :class:`~myoflow.sets.ArraySet` with, for every sample of the fold (train and
test, marked by the ``part`` column): the pattern latent, the subject latent, the standardised input
and the decoder's reconstructions from the pattern part alone, D([p, 0]), and from the subject part
alone, D([0, s]). Maps are in z units of the training subjects (value minus the training mean, over
the training sd), so what differs between gestures is not drowned by the average map.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from .errors import ConfigError
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


#: the network classifiers: trained with a validation split that picks their epoch
NETWORK_CLASSIFIERS = ("ann", "cnn", "lstm")


def _network_classifier(model: str, model_params: dict, seed: int, *, max_epochs: int, lr: float,
                        batch_size: int, weight_decay: float, label_smoothing: float, threads: int):
    """A TorchClassifier with the source's recipe: CE with label smoothing 0.2, Adam 3e-4, cosine.

    Deviation: the source's CosineAnnealingLR had ``T_max = 20`` over 400 epochs (a cyclic rate);
    here the cosine spans the whole run. Latents are standardised with the fitting rows'
    statistics (the source L2-normalised each feature over whichever set it was given, train and
    test separately: named option ``input_normalization: per_set_l2``).
    """
    from .torch_estimator import TorchClassifier  # torch only where a network classifier runs

    return TorchClassifier(model=model, model_params=model_params, optimizer="adam", lr=lr,
                           weight_decay=weight_decay, batch_size=batch_size, max_epochs=max_epochs,
                           patience=None, scheduler="cosine", grad_clip=None, label_smoothing=label_smoothing,
                           seed=seed, threads=threads, device="cpu", amp=False, selection="val_accuracy")


#: the source's recipe, shared by the network classifiers (config keys, with their defaults)
NETWORK_RECIPE = {"max_epochs": 400, "lr": 3e-4, "batch_size": 128, "weight_decay": 1e-6,
                  "label_smoothing": 0.2, "threads": 1, "input_normalization": "standard"}


def _register_network(name: str, model: str, doc: str, **architecture) -> None:
    """Register ``name`` as a factory ``(seed, *, <architecture>, <NETWORK_RECIPE>)`` of a
    TorchClassifier on ``model``; its signature (what config validation reads) lists both."""

    def factory(seed: int, **params):
        unknown = set(params) - set(architecture) - set(NETWORK_RECIPE)
        if unknown:
            raise TypeError(f"latent classifier {name!r}: unknown parameter(s) {sorted(unknown)}")
        values = {**architecture, **NETWORK_RECIPE, **params}
        values.pop("input_normalization")  # applied to the latents by latent_classification
        arch = {k: values.pop(k) for k in architecture}
        return _network_classifier(model, arch, seed, **values)

    kw = inspect.Parameter.KEYWORD_ONLY
    factory.__signature__ = inspect.Signature(
        [inspect.Parameter("seed", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=int)]
        + [inspect.Parameter(k, kw, default=v) for k, v in {**architecture, **NETWORK_RECIPE}.items()]
    )
    factory.__name__ = factory.__qualname__ = f"{name}_classifier"
    factory.__doc__ = doc
    LATENT_CLASSIFIERS.register(name)(factory)


_register_network("ann", "latent_ann", "MLP latent -> hidden -> hidden -> classes (the source's ANNmodel, "
                  "512-256-256-classes).", hidden=256)
_register_network("cnn", "latent_cnn", "CNN on the latent as a (2, s, s) map (the source's CNNmodel on (2, 16, 16)).")
_register_network("lstm", "latent_lstm", "LSTM over the latent as 2 steps of D/2 values (the source's LSTMmodel).",
                  hidden=48)


INPUT_NORMALIZATIONS = ("standard", "per_set_l2")


def _normalize(X_fit: np.ndarray, others: list[np.ndarray], how: str) -> list[np.ndarray]:
    """Network-classifier inputs: ``standard`` = z-scores with the fitting rows' mean and sd;
    ``per_set_l2`` = the source's ``F.normalize(x, dim=0)``, each set by its own column norms."""
    if how == "standard":
        mean, sd = X_fit.mean(0), X_fit.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        return [((x - mean) / sd).astype(np.float32) for x in (X_fit, *others)]
    if how == "per_set_l2":
        return [(x / np.maximum(np.linalg.norm(x, axis=0), 1e-12)).astype(np.float32) for x in (X_fit, *others)]
    raise ConfigError(f"input_normalization {how!r} unknown; expected one of {INPUT_NORMALIZATIONS}")


def _validation_split(fit_mask: np.ndarray, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split the fitting rows: those whose ``held`` value is the largest among them validate.

    Gesture target: ``held`` = subject (one training subject validates: unseen people, as the
    test subject is); subject target: ``held`` = gesture (one fitting gesture validates: unseen
    gestures, as the test gestures are). With a single value nothing can be held out: the
    fitting rows also validate (the epoch is then chosen on training data, not on the test).
    """
    values = np.unique(held[fit_mask])
    if len(values) < 2:
        return fit_mask, fit_mask.copy()
    val = fit_mask & (held == values[-1])
    return fit_mask & ~val, val


def latent_classification(latents: ArraySet, classifier: str = "knn", params: dict | None = None,
                          seed: int = 0, select_on_test: bool = False,
                          subject_on_unseen_ids: bool = False) -> pd.DataFrame:
    """Predictions of one latent classifier on pattern vs subject latents.

    - target ``gesture``: fitted on the training subjects, tested on the held-out subject;
    - target ``subject``: among the training subjects (a held-out subject cannot be identified),
      fitted on the even-numbered gestures and tested on the odd ones. The mirror of the gesture
      test: a subject latent must recognise a person whatever the gesture, a pattern latent should
      not be able to.

    The network classifiers (:data:`NETWORK_CLASSIFIERS`) keep the epoch of best accuracy on a
    validation split of the fitting rows (:func:`_validation_split`), or, with
    ``select_on_test`` (defect ``test_set_epoch``), on the test rows themselves. (The source
    printed the test-picked "best" accuracy; its ``mdl_best = mdl`` aliased the live model.)

    With ``subject_on_unseen_ids`` (defect ``subject_ids_unseen``), the subject target is fitted
    on every gesture of the training subjects and tested on the held-out subject, as the source
    did: an id no classifier has seen, so the accuracy measures nothing (0 by construction).

    Returns columns: target, latent, subject, label, repetition, y_true, y_pred.
    """
    params = LATENT_CLASSIFIERS.check_params(classifier, params or {}, exclude={"seed"},
                                             where=f"disentangle.classifiers.{classifier}")
    network = classifier in NETWORK_CLASSIFIERS
    normalization = params.pop("input_normalization", "standard") if network else None
    meta = latents.meta
    train = (meta["part"] == "train").to_numpy()
    test = (meta["part"] == "test").to_numpy()
    reps = meta["repetition"].to_numpy()
    gesture, subject = meta["label"].to_numpy(), meta["subject"].to_numpy()
    even_gesture = gesture % 2 == 0
    sid_fit, sid_test = (train, test) if subject_on_unseen_ids else (train & even_gesture, train & ~even_gesture)
    rows = []
    for latent in ("pattern", "subject"):
        Xl = np.asarray(latents.arrays[latent], dtype=np.float32)
        for target, fit_mask, test_mask, y, held in (
            ("gesture", train, test, gesture, subject),
            ("subject", sid_fit, sid_test, subject, gesture),
        ):
            if not fit_mask.any() or not test_mask.any():
                continue
            model = LATENT_CLASSIFIERS.get(classifier)(seed, **params)
            if network:
                fit_rows, val_rows = (fit_mask, test_mask) if select_on_test else _validation_split(fit_mask, held)
                X_fit, X_val, X_test = _normalize(Xl[fit_rows], [Xl[val_rows], Xl[test_mask]], normalization)
                model.fit(X_fit, y[fit_rows], X_val, y[val_rows])
            else:
                X_test = Xl[test_mask]
                model.fit(Xl[fit_mask], y[fit_mask])
            rows.append(pd.DataFrame({
                "target": target, "latent": latent,
                "subject": subject[test_mask], "label": gesture[test_mask],
                "repetition": reps[test_mask],
                "y_true": y[test_mask], "y_pred": model.predict(X_test),
            }))
    return pd.concat(rows, ignore_index=True)


def latent_scores(predictions: pd.DataFrame, keys: dict) -> pd.DataFrame:
    """Per-subject accuracy of each target from the latent named in ``keys["latent"]``.

    ``keys`` are the grid columns of the run-sheet row; ``metric`` is ``<target>_accuracy``.
    """
    mask = predictions["latent"] == keys["latent"]
    if "classifier" in predictions:  # one file holds every classifier ...
        mask &= predictions["classifier"] == keys["classifier"]
    if "fold" in predictions:  # ... and every fold of a (protocol, measure, split)
        mask &= predictions["fold"] == int(keys["fold"])
    rows = predictions[mask]
    acc = (rows.assign(correct=rows["y_true"] == rows["y_pred"])
           .groupby(["target", "subject"], sort=True)["correct"].mean().reset_index())
    table = pd.DataFrame({
        **grid_keys(keys), "subject": acc["subject"].astype(int),
        "metric": acc["target"] + "_accuracy", "value": acc["correct"].astype(float),
    }, index=acc.index)
    return table[SCORE_COLUMNS]


