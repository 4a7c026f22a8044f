"""Predictions -> the long score table.

Predictions (one table per fold x model): subject, true label, predicted label (and optional class
scores). Scores are computed per subject, the unit of analysis, and written one row per metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, f1_score

SCORE_COLUMNS = ["study", "dataset", "variant", "features", "model", "loss", "protocol", "fold",
                 "subject", "metric", "value"]


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

    ``keys`` fills the identifying columns (study, dataset, variant, features, model, loss,
    protocol, fold); missing ones become ``"none"``.
    """
    rows = []
    for subject, p in predictions.groupby(subject_column, sort=True):
        for metric, value in subject_metrics(p["y_true"].to_numpy(), p["y_pred"].to_numpy(), rest_label).items():
            rows.append({**{c: keys.get(c, "none") for c in SCORE_COLUMNS[:8]},
                         "subject": int(subject), "metric": metric, "value": value})
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)
