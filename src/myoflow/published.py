"""Published numbers beside the project's on the same protocol: one table per study.

Each :class:`Record` is a number from a seed paper or the field's records, with the protocol and
metric it was measured under and its source, and the score-table rows (``select``) that measure
the same thing here. :func:`published_vs_reproduced` fills in the project's value (mean over
subjects of the selected rows; the best of several pipelines where the record is a best) and
says which data it came from: on the built-in synthetic recordings the two numbers are not
comparable, only the protocol is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from .studies.disentangle import PUBLISHED_MEASURE_ACCURACY
from .studies.hdcnn import PUBLISHED as HD_PUBLISHED

__all__ = ["Record", "RECORDS", "published_vs_reproduced", "PUBLISHED_COLUMNS"]


@dataclass(frozen=True)
class Record:
    """One published number and where the project measures the same thing.

    ``select``: score-table column -> value (text) of the rows that measure it; ``best_over``:
    columns whose best value (by mean over subjects) is taken, for a record that is itself a best
    over pipelines on the test data (the paper's measure table: the best classifier of each
    measure); ``largest``: a column whose largest value is taken (the widest model, the most
    repetitions), a choice that does not look at the scores.
    """

    study: str
    what: str
    protocol: str
    metric: str
    value: float
    source: str
    select: Mapping[str, str]
    best_over: tuple[str, ...] = field(default_factory=tuple)
    largest: str | None = None


_CU = "crossuser"
_CU_NONE = {"protocol": "crossuser", "train_variant": "raw", "test_variant": "raw", "norm": "none"}
#: the cross-user study's proposed pipeline: MHCNN with cross-entropy on raw windows (fixed in
#: advance: the project's number for a record is never the best pipeline on the test users)
_MHCNN = {**_CU_NONE, "model": "MHCNN", "features": "windows", "loss": "ce", "metric": "accuracy"}
RECORDS: list[Record] = [
    Record(_CU, "EMG-EPN-612 user-independent classification (here: MHCNN)", "cross-user, unseen test users",
           "accuracy", 0.812, "Barona-Lopez et al., Sensors 2020 (EMG-EPN-612 benchmark)", _MHCNN),
    Record(_CU, "discrete gesture recognition, cross-user (here: MHCNN)", "cross-user, unseen test users",
           "accuracy", 0.930, "Eddy et al., Front. Bioeng. Biotechnol. 2024", _MHCNN),
    Record(_CU, "source's stated finding: cross-user MHCNN", "cross-user, unseen test users", "accuracy", 0.80,
           "A-R-Hariri/EPN612_Cross_User (stated, ~80 %)", _MHCNN),
    Record(_CU, "source's stated finding: within-user (here: LDA, most repetitions)", "within-user, own repetitions",
           "accuracy", 0.875, "A-R-Hariri/EPN612_Cross_User (stated, ~85-90 %)",
           {"protocol": "within_user", "model": "LDA", "train_variant": "raw", "test_variant": "raw", "norm": "none",
            "metric": "accuracy"}, largest="train_repetitions"),
    *[Record("disentangle", f"input measure {m}: best latent classifier on the test subjects, as the table "
             "reports it", "LOSO, pattern latents",
             "gesture accuracy", v, "the seed paper's input-measure table (Hyser)",
             {"protocol": "corrected", "split": "loso", "measure": m, "latent": "pattern",
              "metric": "gesture_accuracy"}, ("classifier",))
      for m, v in PUBLISHED_MEASURE_ACCURACY.items() if np.isfinite(v)],
    *[Record("hdcnn", f"MobileNetV2 x{w} (ICE Lab)", "sample-level K-fold (leaky, as published)", "accuracy",
             r["accuracy"], "MIC-Laboratory/CNN-HD-sEMG-Classifier (README table)",
             {"protocol": "corrected", "dataset": "icelab", "split": "sample", "width": str(float(w)),
              "metric": "accuracy"})
      for w, r in HD_PUBLISHED.items()],
    Record("hdcnn", "CSL-HDEMG intra-session (here: the widest MobileNetV2)", "intra-session, whole repetitions "
           "held out", "accuracy", 0.968, "Geng et al., Sci. Rep. 2016",
           {"protocol": "corrected", "dataset": "csl", "split": "repetition", "metric": "accuracy"}, largest="width"),
]

PUBLISHED_COLUMNS = ["study", "what", "protocol", "metric", "published", "source", "reproduced", "reproduced_sd",
                     "n_subjects", "pipeline", "data"]


def _reproduce(scores: pd.DataFrame, record: Record) -> tuple[float, float, int, str]:
    rows = scores
    for column, value in record.select.items():
        if column not in rows:
            return np.nan, np.nan, 0, ""
        rows = rows[rows[column].astype(str) == str(value)]
    if rows.empty:
        return np.nan, np.nan, 0, ""
    pipeline = ""
    if record.largest:
        values = pd.to_numeric(rows[record.largest], errors="coerce")
        rows = rows[values == values.max()]
        pipeline = f"{record.largest} {rows[record.largest].iloc[0]}"
    by = list(record.best_over)
    per_subject = rows.groupby([*by, "subject"])["value"].mean()  # folds averaged per subject
    if by:
        means = per_subject.groupby(level=by).mean()
        best = means.idxmax()
        best = best if isinstance(best, tuple) else (best,)
        per_subject = per_subject.xs(best, level=by) if len(by) > 1 else per_subject.xs(best[0], level=by[0])
        pipeline = ", ".join(f"{c} {v}" for c, v in zip(by, best))
    return float(per_subject.mean()), float(per_subject.std(ddof=1)) if len(per_subject) > 1 else np.nan, \
        int(len(per_subject)), pipeline


def published_vs_reproduced(study: str, scores: pd.DataFrame, data: str) -> pd.DataFrame:
    """The ``study``'s records beside the project's value on the same protocol and metric
    (``data``: where the scores' recordings came from, e.g. ``synthetic``). A record the run
    has no rows for (a split or model not configured) keeps NaN."""
    rows = []
    for record in (r for r in RECORDS if r.study == study):
        value, sd, n, pipeline = _reproduce(scores, record)
        rows.append({"study": study, "what": record.what, "protocol": record.protocol, "metric": record.metric,
                     "published": record.value, "source": record.source, "reproduced": value,
                     "reproduced_sd": sd, "n_subjects": n, "pipeline": pipeline, "data": data})
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
