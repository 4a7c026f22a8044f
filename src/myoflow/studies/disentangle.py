"""The disentanglement study's tables: the input-measure table beside the published column.

Kept out of the rule scripts so that it is unit-tested; the scripts only read inputs and write
outputs.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["PUBLISHED_MEASURE_ACCURACY", "measure_table"]

#: Yuan et al., J NeuroEng Rehabil 21:233 (2024), table of input measures: the best gesture
#: accuracy from the pattern latent (LOSO, Hyser dynamic, 10 gestures), as a fraction. MAV is an
#: extra of this workflow (no published number).
PUBLISHED_MEASURE_ACCURACY = {
    "raw": 0.5261, "envelope": 0.6752, "stft": 0.7941, "rms": 0.7441, "wl": 0.7623, "td": 0.8251,
    "stft_td": 0.8430,
}

_KEYS = ["protocol", "split", "measure"]


def measure_table(scores: pd.DataFrame, published: dict[str, float] | None = None) -> pd.DataFrame:
    """Gesture accuracy from the pattern latent per (protocol, split, measure) and classifier.

    Each fold's accuracy is first averaged over its test subjects (a LOSO fold has one), then
    mean and sd are taken over folds, as the paper reports them.

    Returns
    -------
    DataFrame
        One row per (protocol, split, measure): ``<classifier>_mean``, ``<classifier>_sd`` and
        ``<classifier>`` (text ``"mean +- sd"`` in %), ``best_classifier``, ``best_mean``,
        ``published`` (fraction, NaN where none) and ``n_folds``.
    """
    published = PUBLISHED_MEASURE_ACCURACY if published is None else published
    rows = scores[(scores["metric"] == "gesture_accuracy") & (scores["latent"] == "pattern")]
    if rows.empty:
        raise ValueError("measure table: no gesture_accuracy rows of the pattern latent in the score table")
    per_fold = rows.groupby([*_KEYS, "classifier", "fold"], sort=False)["value"].mean().reset_index()
    stats = per_fold.groupby([*_KEYS, "classifier"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    stats["std"] = stats["std"].fillna(0.0)
    classifiers = list(dict.fromkeys(stats["classifier"]))
    out = []
    for key, group in stats.groupby(_KEYS, sort=False):
        row = dict(zip(_KEYS, key))
        for r in group.itertuples(index=False):
            row[f"{r.classifier}_mean"] = float(r.mean)
            row[f"{r.classifier}_sd"] = float(r.std)
            row[r.classifier] = f"{100 * r.mean:.2f} +- {100 * r.std:.2f}"
        best = group.loc[group["mean"].idxmax()]
        row.update(best_classifier=best["classifier"], best_mean=float(best["mean"]),
                   published=published.get(row["measure"], float("nan")), n_folds=int(group["count"].max()))
        out.append(row)
    table = pd.DataFrame(out)
    ordered = [*_KEYS, *[c for name in classifiers for c in (name, f"{name}_mean", f"{name}_sd")],
               "best_classifier", "best_mean", "published", "n_folds"]
    return table[[c for c in ordered if c in table]]
