"""Estimators by name, fitted on one fold: the glue between fold tables, data sets and models.

Classical and torch estimators share the scikit-learn contract (``fit``/``predict``/
``predict_proba``), so one evaluation path serves both.
"""

from __future__ import annotations

import inspect
import logging
import os
import pickle
from typing import Any

import numpy as np
import pandas as pd
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .errors import ConfigError
from .io import atomic_path
from .splits import select


def build_estimator(estimator: str, params: dict[str, Any], seed: int, threads: int = 1):
    """An unfitted estimator: ``lda`` (standardised with training statistics) or ``torch``."""
    if estimator == "lda":
        # standardisation statistics come from the training users only (fit on the train fold)
        return make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(**params))
    if estimator == "torch":
        from .training import TorchClassifier  # torch imported only where needed

        return TorchClassifier(**params, seed=seed, threads=threads)
    raise ConfigError(f"unknown estimator {estimator!r}; known: lda, torch")


def fit_estimator(est, X_train, y_train, X_val=None, y_val=None):
    """Fit; estimators whose ``fit`` takes a validation set (torch: early stopping) get it."""
    if X_val is not None and len(X_val) and "X_val" in inspect.signature(est.fit).parameters:
        return est.fit(X_train, y_train, X_val, y_val)
    return est.fit(X_train, y_train)


def fit_and_predict_fold(est, X: np.ndarray, y: np.ndarray, meta: pd.DataFrame, folds: pd.DataFrame,
                         fold: int, log: logging.Logger) -> pd.DataFrame:
    """Fit ``est`` on the fold's training items (validation items, if any, for early stopping)
    and return the predictions table of its test items; progress goes to ``log``."""
    train, val, test = (select(meta, folds, fold, role) for role in ("train", "validation", "test"))
    log.info("fold %d: %d train, %d validation, %d test items", fold, train.sum(), val.sum(), test.sum())
    fit_estimator(est, X[train], y[train], X[val], y[val])
    for epoch in getattr(est, "history_", []):
        log.info("epoch %s", epoch)
    table = predictions_table(est, X[test], meta[test], y[test])
    log.info("test accuracy %.3f", (table["y_true"] == table["y_pred"]).mean())
    return table


def save_estimator(path: str | os.PathLike, est) -> None:
    """Torch estimators save their own state; others are pickled. Atomic either way."""
    if hasattr(est, "save"):
        est.save(path)
        return
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(est, f)


def predictions_table(est, X: np.ndarray, meta: pd.DataFrame, y_true: np.ndarray) -> pd.DataFrame:
    """Per-item predictions: identifying metadata, true and predicted label, class scores."""
    proba = est.predict_proba(X)
    classes = np.asarray(getattr(est, "classes_", np.arange(proba.shape[1])))
    table = meta.reset_index(drop=True).copy()
    table["y_true"] = np.asarray(y_true)
    table["y_pred"] = classes[np.argmax(proba, axis=1)]
    for j, c in enumerate(classes):
        table[f"score_{c}"] = proba[:, j].astype(np.float32)
    return table


def write_predictions(path: str | os.PathLike, table: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, compression="gzip", float_format="%.6g")
