"""Rule crossuser_train: fit one model on one fold of one training variant."""
from myoflow.estimators import build_estimator, fit_fold, save_estimator
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import read_fold_table

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.model
data = read_set(snakemake.input.data)
X = data.arrays["windows" if cfg["input"] == "windows" else "features"]
est = build_estimator(cfg["estimator"], dict(cfg["params"]), seed=snakemake.params.seed,
                      threads=snakemake.threads)
fit_fold(est, X, data.meta["label"].to_numpy(), data.meta, read_fold_table(snakemake.input.folds),
         int(snakemake.wildcards.fold), log)
save_estimator(snakemake.output.model, est)
