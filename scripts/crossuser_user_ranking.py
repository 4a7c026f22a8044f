"""Rule crossuser_user_ranking: each training user's within-user balanced accuracy - the ranking
model fitted on the user's first r repetitions (r: the largest of the within-user sweep) and
tested on its held-out repetitions, as the within-user protocol does - the order the incremental
sweep adds users in. One job for all training users (each fit is small).

Each user's model is built with the same seed (the within-user jobs' seed): seed + fold before,
so the ranking of a torch ranking model differs from the previous release's."""
import logging

import pandas as pd

from myoflow.estimators import PerSubjectEstimator, balanced_accuracy, fit_fold
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
folds = within_user_split(users, n_reps, p.train_repetitions, validation_repetitions=p.validation_repetitions,
                          pooled=True)
quiet = logging.getLogger("myoflow.ranking")  # per-user fit messages stay out of the job log
est = PerSubjectEstimator(cfg["estimator"], dict(cfg["params"]), seed=p.seed, threads=snakemake.threads)
fit_fold(est, X, y, data.meta, folds, 0, quiet)
test = select(data.meta, folds, 0, "test")
subjects, y_test = data.meta["subject"].to_numpy()[test], y[test]
pred = est.predict(X[test], groups=subjects)
rows = [{"subject": s, "balanced_accuracy": balanced_accuracy(y_test[subjects == s], pred[subjects == s]),
         "n_test_windows": int((subjects == s).sum())} for s in users]
ranking = pd.DataFrame(rows)
with atomic_path(snakemake.output[0]) as tmp:
    ranking.to_csv(tmp, index=False, float_format="%.6g")
log.info("within-user balanced accuracy of %d training users (first %d repetitions train):\n%s", len(ranking),
         p.train_repetitions, ranking.to_string(index=False))
