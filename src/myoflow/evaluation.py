"""Predictions -> the long score table.

Predictions (one table per fold x model): subject, true label, predicted label (and optional class
scores). Scores are computed per subject, the unit of analysis, and written one row per metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, f1_score

#: Every grid dimension of the three studies, one column each (``"none"`` where a study has no such
#: dimension). The run sheets (myoflow.runsheets) carry the same columns, so a pipeline is always
#: identified by named columns, never by a composite string.
GRID_COLUMNS = [
    "study", "dataset", "protocol", "split", "train_users", "train_repetitions", "train_variant", "test_variant",
    "features", "model",
    "loss", "norm", "measure", "latent", "classifier", "width", "fold",
]

#: The long score table: one row per grid point x subject x metric. The one definition.
SCORE_COLUMNS = [*GRID_COLUMNS, "subject", "metric", "value"]


def subject_metrics(y_true: np.ndarray, y_pred: np.ndarray, rest_label: int | None = 0) -> dict[str, float]:
    """accuracy, balanced accuracy (mean per-class recall over classes present in ``y_true``),
    macro F1, and active accuracy (windows whose true class is not rest) where ``rest_label`` given."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    out = {
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=np.unique(y_true),
                                   zero_division=0)),
    }
    if rest_label is not None:
        active = y_true != rest_label
        out["active_accuracy"] = float(np.mean(y_true[active] == y_pred[active])) if active.any() else np.nan
    return out


def score_predictions(
    predictions: pd.DataFrame,
    keys: dict,
    rest_label: int | None = 0,
    subject_column: str = "subject",
) -> pd.DataFrame:
    """Long score rows for one predictions table.

    ``keys`` fills the grid columns (:data:`GRID_COLUMNS`); missing ones become ``"none"``, an
    unknown key is an error (a typo must not silently drop a grid dimension).
    """
    key_values = grid_keys(keys)
    rows = []
    for subject, p in predictions.groupby(subject_column, sort=True):
        for metric, value in subject_metrics(p["y_true"].to_numpy(), p["y_pred"].to_numpy(), rest_label).items():
            rows.append({**key_values, "subject": int(subject), "metric": metric, "value": value})
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def grid_keys(keys: dict) -> dict:
    """``keys`` restricted to :data:`GRID_COLUMNS`, ``"none"`` for the missing ones."""
    unknown = sorted(set(keys) - set(GRID_COLUMNS))
    if unknown:
        raise ValueError(f"unknown score key(s) {unknown}; the grid columns are {GRID_COLUMNS}")
    return {c: keys.get(c, "none") for c in GRID_COLUMNS}


def pareto_mask(cost: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """True where no other point is at least as cheap and as accurate and strictly better in one
    (the Pareto front of accuracy against a cost such as MACs or latency)."""
    cost, accuracy = np.asarray(cost, float), np.asarray(accuracy, float)
    keep = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        better = (cost <= cost[i]) & (accuracy >= accuracy[i]) & ((cost < cost[i]) | (accuracy > accuracy[i]))
        keep[i] = not better.any()
    return keep
