"""Rule crossuser_train: fit one model on one fold, predict the fold's test windows."""
from myoflow.logutil import log_to_file
from myoflow.pipelines import build_estimator, fit_and_predict_fold, save_estimator, write_predictions
from myoflow.sets import read_set
from myoflow.splits import read_fold_table

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.model
data = read_set(snakemake.input.data)
X = data.arrays["windows" if cfg["input"] == "windows" else "features"]
est = build_estimator(cfg["estimator"], dict(cfg["params"]), seed=snakemake.params.seed,
                      threads=snakemake.threads)
table = fit_and_predict_fold(est, X, data.meta["label"].to_numpy(), data.meta,
                             read_fold_table(snakemake.input.folds), int(snakemake.wildcards.fold), log)
save_estimator(snakemake.output.model, est)
write_predictions(snakemake.output.predictions, table)
