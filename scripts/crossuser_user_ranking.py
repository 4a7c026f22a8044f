"""Rule crossuser_user_ranking: each training user's within-user balanced accuracy - the ranking
model fitted on the user's first r repetitions (r: the largest of the within-user sweep) and
tested on its held-out repetitions, as the within-user protocol does - the order the incremental
sweep adds users in. One job for all training users (each fit is small)."""
import logging

import numpy as np
import pandas as pd

from myoflow.estimators import balanced_accuracy, build_estimator, fit_fold
from myoflow.inputs.crossuser import feature_model_inputs
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import repetitions_per_gesture, select, within_user_split

log = log_to_file(snakemake.log[0])
p = snakemake.params
cfg = p.model
data = read_set(snakemake.input.data)
X = data.arrays["windows"] if cfg["input"] == "windows" else feature_model_inputs(data.arrays["features"], p.layout)
y = data.meta["label"].to_numpy()
users = sorted(int(s) for s in p.training_users)
n_reps = int(repetitions_per_gesture(data.meta, users).min())  # the user with the fewest
folds = within_user_split(users, n_reps, p.train_repetitions, validation_repetitions=p.validation_repetitions)
quiet = logging.getLogger("myoflow.ranking")  # per-user fit messages stay out of the job log
rows = []
for fold, subject in enumerate(users):
    est = build_estimator(cfg["estimator"], dict(cfg["params"]), seed=p.seed + fold, threads=snakemake.threads)
    fit_fold(est, X, y, data.meta, folds, fold, quiet)
    test = select(data.meta, folds, fold, "test")
    bacc = balanced_accuracy(y[test], np.asarray(est.predict(X[test])))
    rows.append({"subject": subject, "balanced_accuracy": bacc, "n_test_windows": int(test.sum())})
ranking = pd.DataFrame(rows)
with atomic_path(snakemake.output[0]) as tmp:
    ranking.to_csv(tmp, index=False, float_format="%.6g")
log.info("within-user balanced accuracy of %d training users (first %d repetitions train):\n%s", len(ranking),
         p.train_repetitions, ranking.to_string(index=False))
