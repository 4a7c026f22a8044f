"""Rule crossuser_train: fit one model on one fold of one training variant; its per-user scores on
the fold's validation items go beside it (model selection reads those, never the test users).

A within-user protocol's one fold holds every user: the job fits one model per user
(PerSubjectEstimator), each from the cross-user model's weights where it fine-tunes."""
import logging

from myoflow.estimators import PerSubjectEstimator, build_estimator, fit_fold, save_estimator, validation_scores
from myoflow.inputs.crossuser import feature_model_inputs
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import read_fold_table

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.model
data = read_set(snakemake.input.data)
if cfg["input"] == "windows":
    X = data.arrays["windows"]
else:
    X = feature_model_inputs(data.arrays["features"], snakemake.params.layout)
    log.info("features %s, layout %s: input of shape %s", cfg["input"], snakemake.params.layout, X.shape)
params = dict(cfg["params"])
if "init" in snakemake.input.keys():  # fine-tuning: every user's model starts from the cross-user model
    params["init_from"] = snakemake.input.init
    log.info("starting from the weights of %s", snakemake.input.init)
if snakemake.params.per_subject:
    est = PerSubjectEstimator(cfg["estimator"], params, seed=snakemake.params.seed, threads=snakemake.threads,
                              log=log)
    logging.getLogger("myoflow.training").setLevel(logging.WARNING)  # one line per user, not per epoch
else:
    est = build_estimator(cfg["estimator"], params, seed=snakemake.params.seed, threads=snakemake.threads)
y, folds, fold = data.meta["label"].to_numpy(), read_fold_table(snakemake.input.folds), int(snakemake.wildcards.fold)
fit_fold(est, X, y, data.meta, folds, fold, log)
val = validation_scores(est, X, y, data.meta, folds, fold)
if len(val):
    log.info("validation balanced accuracy %.3f over %d users", val["balanced_accuracy"].mean(), len(val))
with atomic_path(snakemake.output.validation) as tmp:
    val.to_csv(tmp, index=False)
save_estimator(snakemake.output.model, est)
